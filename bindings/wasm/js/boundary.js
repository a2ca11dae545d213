// The JavaScript half of the module's boundary (bindings/wasm/src/lib.rs).
//
// Requests cross as their JSON text, written straight into the module's
// memory and read there by serde_json, as natively.
//
// The answers of the per-call methods are read from their tapes
// (bindings/wasm/src/tape.rs): the answer's values in the order the Rust
// type serializes them, each after a NUL; U+0001 for a missing value; a
// list's or map's length before its elements; a string that holds U+0000,
// U+0001 or U+0002 as U+0002 and then its JSON string literal. One object
// literal per type, keys in the Rust order, so `JSON.stringify` of what
// these return is byte for byte the native crate's JSON (the golden vectors
// check it under Node.js and in Chromium). `JSON.parse` of the keyed JSON
// did the same job at several times the cost.
//
// When a Rust answer type gains, loses or reorders a field, its reader here
// changes with it; the vectors fail until it does.

let memory;
let view = new Uint8Array(0);
let pending;
const encoder = new TextEncoder();

/** The module's memory, handed over once by the module. */
export function useMemory(m) {
  memory = m;
}

/** `JSON.stringify(value)` as UTF-8 into the module's memory (`cap` bytes
 *  at `ptr`, one `encodeInto`: wasm-bindgen's own string passing copies
 *  char by char, much slower for a quote's request). Returns the bytes
 *  written; -1 when it throws (a cycle, a BigInt) or gives no text
 *  (`undefined`, a function): the module then throws `bad_request`; or
 *  `-2 - n` when the text needs `n` bytes, more than `cap`: the module
 *  makes room and calls `takePending`. */
export function requestInto(value, ptr, cap) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    return -1;
  }
  if (typeof text !== "string") return -1;
  if (text.length <= cap) {
    if (view.buffer !== memory.buffer || view.byteOffset !== ptr || view.length !== cap) {
      view = new Uint8Array(memory.buffer, ptr, cap);
    }
    const { read, written } = encoder.encodeInto(text, view);
    if (read === text.length) return written;
  }
  pending = encoder.encode(text);
  // (Only engines that allow strings of over 700 million chars can pass
  // 2^31 bytes here; the clamp keeps the answer an i32, still far above
  // the size limit.)
  return -2 - Math.min(pending.length, 0x7ffffff0);
}

/** Writes the text `requestInto` had no room for. */
export function takePending(ptr) {
  new Uint8Array(memory.buffer, ptr, pending.length).set(pending);
  pending = undefined;
}

/** Forgets it (a request too large to read). */
export function dropPending() {
  pending = undefined;
}

/** The tape being read, and where its next token starts. Tokens are cut
 *  out one at a time as the readers ask for them: no array of them all
 *  (`split` cost more). */
let tape = "";
let at = 0;

/** The next token (an escaped one read back). */
function next() {
  const end = tape.indexOf("\0", at);
  let token;
  if (end < 0) {
    token = tape.slice(at);
    at = tape.length;
  } else {
    token = tape.slice(at, end);
    at = end + 1;
  }
  return token.charCodeAt(0) === 2 ? JSON.parse(token.slice(1)) : token;
}

/** Whether the next token is U+0001 (a missing value); skips it if so. No
 *  other token holds U+0001. */
function missing() {
  if (tape.charCodeAt(at) !== 1) return false;
  at += 2;
  return true;
}

const str = next;
const num = () => +next();
const bool = () => next() === "1";
/** A value that may be missing: `null` if it is. */
const nullable = (read) => (missing() ? null : read());

function list(read) {
  const n = +next();
  const a = new Array(n);
  for (let k = 0; k < n; k++) a[k] = read();
  return a;
}

/** A map: keys as they come (as `JSON.parse` would set them). */
function map(read) {
  const n = +next();
  const o = {};
  for (let k = 0; k < n; k++) {
    const key = next();
    if (key === "__proto__") Object.defineProperty(o, key, { value: read(), enumerable: true, writable: true, configurable: true });
    else o[key] = read();
  }
  return o;
}

/** Sets `o[key]` unless the field was skipped (U+0001 in its place). */
function opt(o, key, read) {
  if (!missing()) o[key] = read();
}

const bounds = () => ({ low: next(), high: next() });

const line = () => ({
  item: nullable(num),
  kind: next(),
  model: next(),
  component: next(),
  quantity: bounds(),
  unit: next(),
  rate: bounds(),
  low: next(),
  high: next(),
});

const estimateOf = () => ({ ratesVersion: next(), fingerprint: next(), lines: list(line), total: bounds(), charged: bounds() });

const upgrade = () => ({ plan: next(), label: next() });

const topUpOf = () => ({ blocks: num(), credits: next(), price: { amount: next(), currency: next() } });

function denial() {
  const o = { code: next(), message: next(), billingLink: next() };
  opt(o, "rules", () => list(str));
  opt(o, "upgrade", upgrade);
  opt(o, "topUp", topUpOf);
  return o;
}

function decisionOf() {
  const o = { role: next(), action: next(), decision: next(), rules: list(str), reason: next(), message: next() };
  opt(o, "missingAttributes", () => list(str));
  return o;
}

function limitCheckOf() {
  const o = { allowed: bool(), limit: next(), plan: next(), current: next(), adding: next(), max: next(), remaining: next() };
  opt(o, "upgrade", upgrade);
  opt(o, "reason", denial);
  return o;
}

function quoteOf() {
  const o = { verdict: next(), estimate: estimateOf(), reasons: list(denial) };
  opt(o, "topUp", topUpOf);
  return o;
}

const pool = () => ({ id: next(), allocated: next(), spent: next(), remaining: next(), tools: list(str) });

function limitView() {
  const o = { limit: next() };
  opt(o, "current", str);
  o.max = next();
  return o;
}

function billingViewOf() {
  const o = {
    role: next(),
    plan: upgrade(),
    billingLink: next(),
    can: map(bool),
    buttons: { addCredits: bool(), manageBilling: bool(), upgrade: bool() },
  };
  opt(o, "balance", str);
  opt(o, "pools", () => list(pool));
  opt(o, "spend", () => ({ monthlyCap: next(), spentThisMonth: next(), remaining: next() }));
  opt(o, "limits", () => list(limitView));
  return o;
}

/** Reads one answer from its tape (which starts with NUL). */
function read(text, answer) {
  tape = text;
  at = 1;
  const value = answer();
  tape = "";
  return value;
}

/** The reference sheets: their keyed JSON. */
export const keyed = (text) => JSON.parse(text);

/** The thrown `Error` of an `ErrorInfo`'s keyed JSON: its `message`, and
 *  `code`, `file`, `line`, `column`, `help`, `problems` as the error has
 *  them, in that order. */
export function error(text) {
  const { message, ...fields } = JSON.parse(text);
  return Object.assign(new Error(message), fields);
}

/** `Engine.estimate`. */
export const estimate = (text) => read(text, estimateOf);
/** `Engine.authorize`. */
export const decision = (text) => read(text, decisionOf);
/** `Engine.checkLimit`. */
export const limitCheck = (text) => read(text, limitCheckOf);
/** `Engine.quote`. */
export const quote = (text) => read(text, quoteOf);
/** `Engine.quoteTopUp`. */
export const topUp = (text) => read(text, topUpOf);
/** `Engine.visibleBilling`. */
export const billingView = (text) => read(text, billingViewOf);
