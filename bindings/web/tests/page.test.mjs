// The pre-checkout page in a real headless Chromium (Debian's, driven by
// playwright-core): served on localhost with the packed package, driven
// like a person would (change inputs, switch role), and every number shown
// compared with the native engine's answer to the same request (the
// `tollgate` command line). Screenshots go to test-output/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serve } from "../serve.mjs";
import { consumer, out, root, tool, vectors } from "./helpers.mjs";

const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
let server, browser, page;
const pageErrors = [];

before(async () => {
  server = await serve(0, join(consumer(), "node_modules", "tollgate"));
  // The shipped bundle, written by the native command line, for a page to fetch.
  execFileSync(join(root, "target", "debug", "tollgate"), ["build", "-o", join(out, "shipped.bundle")]);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 20000 });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** The native engine's answer to the request the page shows it sent. */
function native(request) {
  const bin = join(root, "target", "debug", process.platform === "win32" ? "tollgate.exe" : "tollgate");
  if (!existsSync(bin)) execFileSync("cargo", ["build", "-q", "-p", "tollgate-cli"], { cwd: root, stdio: "inherit" });
  try {
    return JSON.parse(execFileSync(bin, ["quote", "-", "--json"], { input: JSON.stringify(request), encoding: "utf8" }));
  } catch (e) {
    // Exit code 1 is a denial: the answer is still on stdout.
    if (e.status === 1) return JSON.parse(e.stdout);
    throw e;
  }
}

const range = ({ low, high }) => (low === high ? low : `${low} – ${high}`);
const money = (amount) => {
  const [whole, fraction = ""] = amount.split(".");
  return `${whole}.${fraction.padEnd(2, "0")}`;
};

/** Everything the page shows, read from the DOM. */
async function shown() {
  return page.evaluate(() => ({
    request: JSON.parse(document.getElementById("request").textContent),
    charged: document.getElementById("charged").textContent,
    total: document.getElementById("total").textContent,
    verdict: document.getElementById("result").dataset.state,
    reasons: [...document.querySelectorAll("#reasons li")].map((li) => ({ code: li.dataset.code, message: li.querySelector(".message").textContent })),
    topUp: document.getElementById("topup").hidden ? null : document.getElementById("topup").textContent,
    lines: [...document.querySelectorAll("#lines tbody tr")].map((tr) => [tr.querySelector(".low").textContent, tr.querySelector(".high").textContent]),
    buttons: ["btnAddCredits", "btnManageBilling", "btnUpgrade"].map((id) => !document.getElementById(id).disabled),
    error: document.getElementById("error").hidden ? null : document.getElementById("error").textContent,
  }));
}

/** Asserts the page shows exactly the native answer; returns both. */
async function matchesNative(label) {
  const s = await shown();
  assert.equal(s.error, null, label);
  const n = native(s.request);
  assert.equal(s.charged, range(n.estimate.charged), `${label}: charged`);
  assert.equal(s.total, `(exact total ${range(n.estimate.total)})`, `${label}: total`);
  assert.equal(s.verdict, n.verdict, `${label}: verdict`);
  assert.deepEqual(s.reasons, n.reasons.map((r) => ({ code: r.code, message: r.message })), `${label}: reasons`);
  assert.deepEqual(s.lines, n.estimate.lines.map((l) => [l.low, l.high]), `${label}: lines`);
  if (n.topUp) {
    assert.equal(s.topUp, `Top-up that covers it: ${n.topUp.credits} credits (${n.topUp.blocks} blocks) for ${money(n.topUp.price.amount)} ${n.topUp.price.currency}`);
  } else {
    assert.equal(s.topUp, null, `${label}: no top-up`);
  }
  return { s, n };
}

test("the default request: an editor's storyboard run on Free is allowed", async () => {
  const { s, n } = await matchesNative("default");
  assert.equal(n.verdict, "allowed");
  assert.equal(s.lines.length, 5, "tool, input, output, images, video");
  await page.screenshot({ path: join(out, "precheckout-allowed.png"), fullPage: true });
});

test("a short balance is denied; the owner is offered the top-up that covers it, an editor is told who can buy", async () => {
  await page.fill("#balance", "100");
  const editor = await matchesNative("balance 100, editor");
  assert.deepEqual(editor.n.reasons.map((r) => r.code), ["INSUFFICIENT_CREDITS"]);
  assert.equal(editor.n.topUp, undefined);
  assert.match(editor.n.reasons[0].message, / — the owner can add credits$/);
  await page.selectOption("#role", "owner");
  const owner = await matchesNative("balance 100, owner");
  assert.ok(owner.n.topUp);
  await page.screenshot({ path: join(out, "precheckout-short.png"), fullPage: true });
  await page.selectOption("#role", "editor");
});

test("ranges, a spend cap and a used-up daily cap show every reason", async () => {
  await page.fill(".item[data-kind=text] [data-q=outputTokens][data-end=max]", "250000");
  await page.check("#capOn");
  await page.fill("#cap", "300");
  await page.fill("#spent", "250");
  await page.fill("#runs", "10");
  const { n } = await matchesNative("every reason");
  assert.deepEqual(n.reasons.map((r) => r.code), ["FREQUENCY_CAP", "CEILING_EXCEEDED", "INSUFFICIENT_CREDITS", "SPEND_CAP_REACHED"]);
  await page.screenshot({ path: join(out, "precheckout-denied.png"), fullPage: true });
});

test("switching role changes the verdict and the billing buttons", async () => {
  await page.fill("#runs", "0");
  await page.fill("#balance", "5000");
  await page.uncheck("#capOn");
  await page.fill(".item[data-kind=text] [data-q=outputTokens][data-end=max]", "4000");
  await page.selectOption("#role", "viewer");
  const viewer = await matchesNative("viewer");
  assert.deepEqual(viewer.n.reasons.map((r) => r.code), ["ROLE_NOT_PERMITTED"]);
  assert.deepEqual(viewer.s.buttons, [false, false, false]);

  await page.selectOption("#role", "owner");
  const owner = await matchesNative("owner");
  assert.equal(owner.n.verdict, "allowed");
  assert.deepEqual(owner.s.buttons, [true, true, true], "Add credits, Manage billing, Upgrade");

  await page.selectOption("#status", "suspended");
  const suspended = await matchesNative("owner, suspended");
  assert.deepEqual(suspended.s.buttons, [false, true, true], "no top-ups while suspended");
  assert.deepEqual(suspended.n.reasons.map((r) => r.code), ["ORG_SUSPENDED"]);
  await page.selectOption("#status", "active");
});

test("items can be added and removed, and the page keeps matching", async () => {
  await page.click("[data-add=video]");
  await page.selectOption(".item[data-kind=video]:last-of-type .model", "veo-3");
  await page.check(".item[data-kind=video]:last-of-type .audio");
  await page.fill(".item[data-kind=video]:last-of-type [data-q=seconds][data-end=max]", "12");
  await matchesNative("with veo-3 audio range");
  await page.click(".item[data-kind=image] .remove");
  await page.selectOption("#plan", "team");
  await page.check("#poolOn");
  await page.fill("#poolAllocated", "50");
  const pooled = await matchesNative("team pool");
  assert.ok(pooled.n.reasons.some((r) => r.code === "POOL_EXHAUSTED"));
  await page.screenshot({ path: join(out, "precheckout-pool.png"), fullPage: true });
});

test("in Chromium too, a trap is a coded Error and the engines answer on a fresh instance", async () => {
  const outcome = await page.evaluate(async () => {
    const { Engine } = await import("tollgate");
    const engine = new Engine();
    const run = { tool: "storyboard" };
    const before = JSON.stringify(engine.estimate(run));
    const codes = new Set();
    for (let i = 0; i < 300; i++) {
      try {
        engine.__trapForTests();
      } catch (e) {
        codes.add(e instanceof WebAssembly.RuntimeError ? "RuntimeError" : e.code);
      }
    }
    return { codes: [...codes], same: JSON.stringify(engine.estimate(run)) === before, fresh: new Engine().estimate(run).total.high };
  });
  assert.deepEqual(outcome, { codes: ["internal"], same: true, fresh: "5" });
});

test("in Chromium, both entries replay every golden vector, and a fetched bundle loads", async () => {
  const all = vectors();
  const outcome = await page.evaluate(async (all) => {
    const { answer } = await import("/tests/answer.mjs");
    const query = await import("/tollgate/index.js");
    const editor = await import("/tollgate/editor.js");
    await query.default();
    await editor.default();
    const compile = (sources) => editor.Engine.fromSources(sources).toBundle();
    const differ = [];
    for (const module of [query, editor]) {
      for (const { name, vector, expected } of all) {
        if (answer(module, vector, compile) !== expected) differ.push(name);
      }
    }
    // The shipped bundle, fetched as a page would fetch its own.
    const bytes = await (await fetch("/test-output/shipped.bundle")).arrayBuffer();
    const fetched = query.Engine.fromBundle(bytes);
    return {
      differ,
      count: all.length,
      fetched: fetched.fingerprint() === new query.Engine().fingerprint(),
      editorOnly: [typeof query.Engine.fromSources, typeof editor.Engine.fromSources, typeof editor.Engine.validate],
    };
  }, all);
  assert.deepEqual(outcome, { differ: [], count: all.length, fetched: true, editorOnly: ["undefined", "function", "function"] });
});

test("a page bundled by esbuild loads the module and estimates in Chromium (the one line: the .wasm as a file)", async () => {
  // The consumer project, as a frontend developer has it: the package
  // installed, an app importing it, esbuild bundling it for the browser.
  const project = join(out, "consumer");
  const app = join(project, "app.js");
  writeFileSync(
    app,
    [
      'import init, { Engine } from "tollgate";',
      '// The one line esbuild needs: the module as a file it emits (--loader:.wasm=file).',
      'import wasm from "tollgate/tollgate_wasm_bg.wasm";',
      "await init({ module_or_path: wasm });",
      'document.body.dataset.total = new Engine().estimate({ tool: "storyboard" }).total.high;',
    ].join("\n"),
  );
  const dist = join(out, "esbuild-app");
  mkdirSync(dist, { recursive: true });
  execFileSync(tool("esbuild"), [app, "--bundle", "--format=esm", "--loader:.wasm=file", `--outdir=${dist}`], { cwd: project });
  writeFileSync(join(dist, "index.html"), '<!doctype html><html><body><script type="module" src="./app.js"></script></body></html>\n');
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  await tab.goto(`http://127.0.0.1:${server.address().port}/test-output/esbuild-app/index.html`);
  await tab.waitForSelector("body[data-total]", { state: "attached", timeout: 20000 });
  assert.equal(await tab.evaluate(() => document.body.dataset.total), "5");
  assert.deepEqual(errors, []);
  await tab.close();
});

test("a page bundled by Vite loads the module and estimates in Chromium (no line needed: Vite emits the .wasm)", async () => {
  // Vite sees the package's `new URL("tollgate_wasm_bg.wasm", import.meta.url)`,
  // emits the module as an asset and rewrites the URL: a plain `init()` works.
  const project = join(out, "consumer");
  const src = join(project, "vite-app");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "index.html"), '<!doctype html><html><body><script type="module" src="./app.js"></script></body></html>\n');
  writeFileSync(
    join(src, "app.js"),
    [
      'import init, { Engine } from "tollgate";',
      "await init();",
      'document.body.dataset.total = new Engine().estimate({ tool: "storyboard" }).total.high;',
    ].join("\n"),
  );
  const dist = join(out, "vite-app");
  execFileSync(tool("vite"), ["build", src, "--outDir", dist, "--emptyOutDir", "--base", "./", "--logLevel", "warn"], {
    cwd: project,
  });
  const emitted = readdirSync(join(dist, "assets"));
  assert.ok(emitted.some((f) => f.endsWith(".wasm")), `Vite emitted the module: ${emitted}`);
  const tab = await browser.newPage();
  const errors = [];
  tab.on("pageerror", (e) => errors.push(String(e)));
  await tab.goto(`http://127.0.0.1:${server.address().port}/test-output/vite-app/index.html`);
  await tab.waitForSelector("body[data-total]", { state: "attached", timeout: 20000 });
  assert.equal(await tab.evaluate(() => document.body.dataset.total), "5");
  assert.deepEqual(errors, []);
  await tab.close();
});

test("the page raised no errors", () => {
  assert.deepEqual(pageErrors, []);
});
