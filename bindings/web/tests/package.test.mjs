// The packed npm package in real Node.js: installed like a dependency,
// both entries (the query-only default and `tollgate/editor`) imported
// through its `exports` map, each replaying every golden vector byte for
// byte; bad input and bad bundles throw and the engine keeps answering; a
// bundler resolves the browser entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { answer, consumer, out, root, tool, vectors } from "./helpers.mjs";

const dir = consumer();
// Import through Node's resolver from inside the consumer project.
const entry = join(dir, "entry.mjs");
writeFileSync(entry, 'export * from "tollgate";\nexport { default } from "tollgate";\n');
const tollgate = await import(pathToFileURL(entry).href);
const editorEntry = join(dir, "editor-entry.mjs");
writeFileSync(editorEntry, 'export * from "tollgate/editor";\nexport { default } from "tollgate/editor";\n');
const editor = await import(pathToFileURL(editorEntry).href);
/** A bundle of `sources`, compiled by the editor module. */
const compile = (sources) => {
  const engine = editor.Engine.fromSources(sources);
  const bytes = engine.toBundle();
  engine.free();
  return bytes;
};
const native = join(root, "target", "debug", "tollgate");

test("the package resolves and answers in Node.js", async () => {
  await tollgate.default();
  const engine = new tollgate.Engine();
  const d = engine.authorize({ role: "owner", action: "billing.top_up", context: { "org.status": "active" } });
  assert.equal(d.decision, "allow");
  assert.deepEqual(d.rules, ["owner-billing-mutations"]);
});

test("golden vectors: byte-identical answers from both entries of the packed package", () => {
  const all = vectors();
  assert.ok(all.length >= 40);
  for (const module of [tollgate, editor]) {
    const differ = all.filter(({ vector, expected }) => answer(module, vector, compile) !== expected).map((v) => v.name);
    assert.deepEqual(differ, []);
  }
});

test("the default entry is query-only; the editor entry loads, validates and bundles", () => {
  assert.equal(tollgate.Engine.fromSources, undefined);
  assert.equal(tollgate.Engine.validate, undefined);
  assert.equal(typeof editor.Engine.fromSources, "function");
  const rates = { "r.toml": '[card]\nversion = "own"\nprecision = 2\nrounding = "up"\n[tools.t]\nper_run = "3"\n' };
  // validate: every problem with its position, no engine built.
  const report = editor.Engine.validate({ rates: { "r.toml": "[card]\nversion = 1\n", "s.toml": "[tools.x]\nper_run = \"-1\"\n" } });
  // Both files' problems in one report (a file that does not parse does
  // not hide the other's), each at its line and column.
  assert.deepEqual(
    report.errors.map((p) => [p.code, p.file, p.line, p.column]),
    [["syntax", "r.toml", 2, 11], ["negative", "s.toml", 2, 11]],
  );
  assert.ok(report.errors.every((p) => p.message && p.help));
  assert.deepEqual(editor.Engine.validate({ rates }), { errors: [], warnings: [] });
  // A bundle made in the browser loads in the query-only module, answers
  // alike, and is the very bundle `tollgate build` writes natively.
  const own = editor.Engine.fromSources({ rates });
  const bytes = own.toBundle();
  assert.ok(bytes instanceof Uint8Array);
  const loaded = tollgate.Engine.fromBundle(bytes);
  assert.equal(loaded.fingerprint(), own.fingerprint());
  assert.equal(JSON.stringify(loaded.estimate({ tool: "t" })), JSON.stringify(own.estimate({ tool: "t" })));
  assert.equal(loaded.estimate({ tool: "t" }).fingerprint, own.fingerprint());
  const shipped = join(out, "shipped.bundle");
  execFileSync(native, ["build", "-o", shipped]);
  const built = readFileSync(shipped);
  assert.deepEqual(new editor.Engine().toBundle(), new Uint8Array(built));
  // From an ArrayBuffer (as `fetch(...).arrayBuffer()` gives), and from a
  // view into a larger buffer.
  const buffer = built.buffer.slice(built.byteOffset, built.byteOffset + built.byteLength);
  assert.equal(tollgate.Engine.fromBundle(buffer).fingerprint(), new tollgate.Engine().fingerprint());
  const padded = new Uint8Array(built.length + 10);
  padded.set(built, 5);
  assert.equal(tollgate.Engine.fromBundle(padded.subarray(5, 5 + built.length)).fingerprint(), new tollgate.Engine().fingerprint());
});

test("each kind of bad bundle throws its code, and engines keep answering", () => {
  const engine = new tollgate.Engine();
  const run = { tool: "storyboard" };
  const before = JSON.stringify(engine.estimate(run));
  const good = new Uint8Array(readFileSync(join(out, "shipped.bundle")));
  const newer = good.slice();
  newer[8] = 3;
  const altered = good.slice();
  altered[good.length - 1] ^= 1;
  const cases = [
    [new Uint8Array(0), "bad_bundle"],
    [new TextEncoder().encode('{"rates":{}}'), "bad_bundle"],
    [good.subarray(0, good.length - 1), "bad_bundle"],
    [altered, "bad_bundle"],
    [newer, "bundle_version"],
    ["TOLLGATE", "bad_bundle"],
    [null, "bad_bundle"],
    [[1, 2, 3], "bad_bundle"],
  ];
  for (const [bytes, code] of cases) {
    assert.throws(() => tollgate.Engine.fromBundle(bytes), (e) => e instanceof Error && e.code === code && e.message.length > 0, code);
  }
  assert.throws(() => tollgate.Engine.fromBundle(newer), (e) => /format 3; this engine reads format 2/.test(e.message));
  assert.equal(JSON.stringify(engine.estimate(run)), before);
});

test("bad input throws an Error with a code, and the same engine keeps answering", () => {
  const engine = new tollgate.Engine();
  const run = { items: [{ kind: "text", model: "gpt-4o", inputTokens: 1000 }] };
  const before = JSON.stringify(engine.estimate(run));
  const cyclic = {};
  cyclic.self = cyclic;
  const huge = { items: Array.from({ length: 2000 }, () => ({ kind: "text", model: "gpt-4o", inputTokens: 9e15 })) };
  const cases = [
    [undefined, "bad_request"],
    [null, "bad_request"],
    ["run", "bad_request"],
    [42, "bad_request"],
    [cyclic, "bad_request"],
    [{ items: [{ kind: "text", model: "gpt-4o", inputTokens: 10n }] }, "bad_request"],
    [{ items: [{ kind: "text", model: "gpt-4o", inputTokens: Number.NaN }] }, "bad_request"],
    [{ items: [{ kind: "text", model: "gpt-4o", inputTokens: 1e300 }] }, "bad_request"],
    [{ items: [{ kind: "text", model: "gpt-4o", inputToken: 5 }] }, "bad_request"],
    [{ items: [{ kind: "text", model: "nope", inputTokens: 1 }] }, "unknown_model"],
    [{ items: [{ kind: "video", model: "sora-2", seconds: "79228162514264337593543950335" }] }, "overflow"],
  ];
  for (const [input, code] of cases) {
    assert.throws(() => engine.estimate(input), (e) => e instanceof Error && e.code === code && e.message.length > 0, String(code));
  }
  // A large valid run still answers (its text is written in a second step:
  // it does not fit the module's request buffer).
  assert.equal(engine.estimate(huge).lines.length, 2000);
  // Text beyond ASCII arrives intact, also when it outgrows the buffer.
  for (const model of ["gpt-4o ☕ 🚀", "東".repeat(3000)]) {
    assert.throws(
      () => engine.estimate({ items: [{ kind: "text", model, inputTokens: 1 }] }),
      (e) => e.code === "unknown_model" && e.message.includes(model),
    );
  }
  // Over the request size limit (1 MiB): refused before the module makes
  // room for it, with the native message.
  const tooLarge = { items: [{ kind: "text", model: "m".repeat(1 << 20), inputTokens: 1 }] };
  assert.throws(
    () => engine.estimate(tooLarge),
    (e) => e.code === "too_large" && e.message === `the request has ${JSON.stringify(tooLarge).length} bytes; the limit is ${1 << 20}`,
  );
  // A request whose toJSON calls the engine: both calls answer.
  let inner;
  const reentrant = { toJSON: () => ((inner = engine.estimate(run)), run) };
  assert.equal(JSON.stringify(engine.estimate(reentrant)), before);
  assert.equal(JSON.stringify(inner), before);
  for (const method of ["authorize", "checkLimit", "quote", "quoteTopUp", "visibleBilling"]) {
    assert.throws(() => engine[method]({}), (e) => e.code === "bad_request", method);
  }
  assert.throws(
    () => editor.Engine.fromSources({ rates: { "r.toml": "[card]\nversion = 1\n" } }),
    (e) => e.code === "syntax" && e.file === "r.toml" && e.line === 2 && e.column === 11,
  );
  assert.equal(JSON.stringify(engine.estimate(run)), before);
});

test("a bundler resolves the browser entry; Node gets the Node entry", () => {
  const src = join(dir, "app.mjs");
  writeFileSync(src, 'import init, { Engine } from "tollgate";\nawait init();\nconsole.log(new Engine().rateSheet().ratesVersion);\n');
  const bundle = (platform) => {
    const file = join(out, `bundle-${platform}.js`);
    execFileSync(tool("esbuild"), [src, "--bundle", "--format=esm", `--platform=${platform}`, `--outfile=${file}`], { cwd: dir });
    return readFileSync(file, "utf8");
  };
  const browser = bundle("browser");
  assert.match(browser, /tollgate_wasm_bg\.wasm/);
  assert.doesNotMatch(browser, /readFileSync/);
  assert.match(bundle("node"), /readFileSync/);
});

test("a trap is an Error with code internal, and every engine answers on a fresh instance", () => {
  const shipped = new tollgate.Engine();
  const own = tollgate.Engine.fromBundle(
    compile({ rates: { "r.toml": '[card]\nversion = "own"\nprecision = 2\nrounding = "up"\n[tools.t]\nper_run = "3"\n' } }),
  );
  const authoring = editor.Engine.fromSources({ rates: { "r.toml": '[card]\nversion = "x"\nprecision = 2\nrounding = "up"\n[tools.t]\nper_run = "4"\n' } });
  const run = { items: [{ kind: "text", model: "gpt-4o", inputTokens: 1000 }] };
  const before = JSON.stringify(shipped.estimate(run));
  // Far more traps than the ~200 after which a trapped instance failed every call.
  for (let i = 0; i < 300; i++) {
    assert.throws(
      () => (i % 2 ? own : shipped).__trapForTests(),
      (e) => e instanceof Error && !(e instanceof WebAssembly.RuntimeError) && e.code === "internal" && /trapped/.test(e.message),
    );
  }
  assert.equal(JSON.stringify(shipped.estimate(run)), before);
  assert.equal(own.estimate({ tool: "t" }).total.high, "3");
  // The editor module is an instance of its own: its engines were untouched.
  assert.equal(authoring.estimate({ tool: "t" }).total.high, "4");
  assert.throws(() => authoring.__trapForTests(), (e) => e.code === "internal");
  assert.equal(authoring.estimate({ tool: "t" }).total.high, "4");
  assert.equal(new tollgate.Engine().authorize({ role: "owner", action: "billing.view" }).decision, "allow");
  // The golden vectors still come out byte for byte after the traps.
  for (const module of [tollgate, editor]) {
    const differ = vectors().filter(({ vector, expected }) => answer(module, vector, compile) !== expected).map((v) => v.name);
    assert.deepEqual(differ, []);
  }
});

test("a call on a freed engine throws an Error with code freed", () => {
  for (const engine of [new tollgate.Engine(), new editor.Engine()]) {
    engine.free();
    engine.free(); // a second free is nothing
    assert.throws(() => engine.estimate({ tool: "storyboard" }), (e) => e instanceof Error && e.code === "freed");
  }
});
