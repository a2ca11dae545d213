// The `Engine` class of both entries (index.js: query-only; editor.js: the
// loader too), over the glue wasm-bindgen generates for each module, kept
// alive across a trap.
//
// The engine is written and linted not to trap on any input. Should a trap
// happen all the same (a bug), the module instance it happened in is not
// used again: its stack and heap may be half-way through a call, and after
// some hundreds of traps every call of every engine failed with "memory
// access out of bounds". Instead the call throws an `Error` with code
// `internal`, the compiled module is instantiated afresh, and every engine
// rebuilds itself on the fresh instance at its next call, from what it was
// built from (the embedded defaults, a copy of its bundle, or a copy of its
// sources).
//
// After `free()`, a call throws an `Error` with code `freed`.

/** Bytes of a bundle as the module takes them: a copy, so the caller may
 *  reuse its buffer, and a rebuild after a trap reads the same bytes. */
function bundleBytes(bytes) {
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes.slice(0));
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  throw Object.assign(new Error("Engine.fromBundle takes the bundle's bytes: an ArrayBuffer or a Uint8Array"), {
    code: "bad_bundle",
  });
}

/** The `Engine` class over one module's glue: `Raw` (the generated class)
 *  and `freshInstance` (scripts/build-wasm adds it to the glue). `extra`
 *  names further instance methods of the raw engine to offer. */
export function engineClass(Raw, freshInstance, extra = []) {
  /** Instances made so far after a trap; an engine built on an older one rebuilds. */
  let generation = 0;
  /** The raw engines alive, weakly: their finalizers must not free into a fresh instance. */
  let live = new Set();
  let made = 0;

  /** Lets a raw engine of a dead instance go without its finalizer, which
   *  would free its pointer into the fresh instance's memory. */
  function forget(raw) {
    if (raw !== null) raw.__destroy_into_raw();
  }

  function track(raw) {
    live.add(new WeakRef(raw));
    if (++made % 1024 === 0) live = new Set([...live].filter((r) => r.deref() !== undefined));
    return raw;
  }

  /** The error a call throws: a trap starts a fresh instance first. */
  function failure(e) {
    if (!(e instanceof WebAssembly.RuntimeError)) return e;
    for (const r of live) {
      const raw = r.deref();
      if (raw !== undefined) forget(raw);
    }
    live = new Set();
    freshInstance();
    generation += 1;
    return Object.assign(
      new Error(`internal error: the engine trapped (${e.message}); a fresh instance replaces it, please report the request`),
      { code: "internal" },
    );
  }

  /** `f()` on the module: a trap becomes a coded error and a fresh instance. */
  function guard(f) {
    try {
      return f();
    } catch (e) {
      throw failure(e);
    }
  }

  const token = Symbol("tollgate.Engine");

  class Engine {
    #make;
    #raw;
    #generation;

    /** The engine on the shipped rates and policies. */
    constructor(make, secret) {
      this.#make = secret === token ? make : () => new Raw();
      this.#raw = null;
      this.#build();
    }

    #build() {
      this.#raw = guard(() => track(this.#make()));
      this.#generation = generation;
    }

    /** The engine of this instance: rebuilt after a trap, an error once freed. */
    #engine() {
      if (this.#generation !== generation) {
        if (this.#make === null) {
          throw Object.assign(new Error("this engine was freed; make a new one"), { code: "freed" });
        }
        this.#raw = null;
        this.#build();
      }
      return this.#raw;
    }

    /** `name(arg)` of the engine; a trap becomes a coded error and a fresh instance. */
    __call(name, arg) {
      return this.#call(name, arg);
    }

    #call(name, arg) {
      const raw = this.#engine();
      return guard(() => raw[name](arg));
    }

    estimate(run) {
      return this.#call("estimate", run);
    }

    authorize(request) {
      return this.#call("authorize", request);
    }

    checkLimit(request) {
      return this.#call("checkLimit", request);
    }

    quote(request) {
      return this.#call("quote", request);
    }

    quoteTopUp(request) {
      return this.#call("quoteTopUp", request);
    }

    visibleBilling(request) {
      return this.#call("visibleBilling", request);
    }

    rateSheet() {
      return this.#call("rateSheet");
    }

    policySheet() {
      return this.#call("policySheet");
    }

    /** The SHA-256 of the compiled rates and policies (lowercase hex), as
     *  every estimate carries it. */
    fingerprint() {
      return this.#call("fingerprint");
    }

    /** Not part of the API: makes the module trap, for the tests of the recovery. */
    __trapForTests() {
      return this.#call("__trapForTests");
    }

    /** Releases the engine's memory now rather than at garbage collection. */
    free() {
      if (this.#make === null) return;
      if (this.#generation === generation && this.#raw !== null) this.#raw.free();
      this.#raw = null;
      this.#make = null;
      this.#generation = -1;
    }
  }

  /** An engine on a bundle made by `tollgate build` (or `toBundle()` of
   *  the editor module): its bytes, as an ArrayBuffer or a Uint8Array. */
  Engine.fromBundle = function fromBundle(bytes) {
    const copy = bundleBytes(bytes);
    return new Engine(() => Raw.fromBundle(copy), token);
  };

  /** Calls `f` on the module: a trap becomes a coded error and a fresh instance. */
  Engine.__guard = guard;

  /** A new engine made by `make` (a function returning a raw engine). */
  Engine.__make = function make(f) {
    return new Engine(f, token);
  };

  for (const name of extra) {
    Engine.prototype[name] = function call(arg) {
      return this.__call(name, arg);
    };
  }
  if (Symbol.dispose) Engine.prototype[Symbol.dispose] = Engine.prototype.free;
  return Engine;
}
