// JavaScript-side benchmarks of the npm package: the median time per call
// over many rounds (engine reused) in Node.js and in headless Chromium
// (Debian's, through playwright-core; `--node` skips it), and the size of
// the optimized .wasm raw and gzip-compressed. `npm run bench` after
// scripts/build-wasm. Goals: ≤ 150 KB gzipped; authorize ≤ 2 µs, estimate of
// one text item ≤ 3 µs, quote of a 3-item run ≤ 10 µs, new Engine() ≤ 2 ms.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Engine } from "../wasm/pkg/node.js";
import { measure } from "./bench-calls.js";
import { serve } from "./serve.mjs";

const pkg = join(import.meta.dirname, "..", "wasm", "pkg");
const wasm = readFileSync(join(pkg, "tollgate_wasm_bg.wasm"));
const editorWasm = readFileSync(join(pkg, "tollgate_editor_bg.wasm"));
// The shipped bundle (what `tollgate build` writes for the shipped files).
const bundle = new Uint8Array(readFileSync(join(import.meta.dirname, "..", "..", "src", "default.bundle")));

/** The same calls in headless Chromium, the package served on localhost. */
async function inChromium() {
  const { chromium } = await import("playwright-core");
  const server = await serve(0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/bench-calls.js`);
    const version = await browser.version();
    const times = await page.evaluate(async (bytes) => {
      const { default: init, Engine } = await import("/tollgate/index.js");
      await init();
      const { measure } = await import("/bench-calls.js");
      return measure(Engine, new Uint8Array(bytes), 5);
    }, [...bundle]);
    return { version, times };
  } finally {
    await browser.close();
    server.close();
  }
}

const node = measure(Engine, bundle);
const chromium = process.argv.includes("--node") ? null : await inChromium();

const us = (t) => `${t.call.toFixed(2)} µs (JSON.stringify of the request alone ${t.stringify.toFixed(2)})`;
const rows = [
  ["new Engine()", (t) => `${(t.engine / 1000).toFixed(2)} ms`, "≤ 2 ms"],
  ["Engine.fromBundle", (t) => `${(t.fromBundle / 1000).toFixed(3)} ms`, "≤ 0.3 ms (Node)"],
  ["authorize", (t) => us(t.authorize), "≤ 2 µs"],
  ["estimate, one text item", (t) => us(t.estimate), "≤ 3 µs"],
  ["quote, 3-item run", (t) => us(t.quote), "≤ 10 µs"],
];
// Bytes, and KB of 1,000 bytes (the stricter reading of the goal). zlib at
// level 9 here; `gzip -9` writes a few hundred bytes less.
const kb = (n) => `${n.toLocaleString("en")} bytes (${(n / 1000).toFixed(1)} KB)`;
const size = (w) => `${kb(w.length)} raw, ${kb(gzipSync(w, { level: 9 }).length)} zlib -9`;
console.log(`median per call, engine reused; Node ${process.version}${chromium ? `; Chromium ${chromium.version} (headless)` : ""}`);
console.log(`${"query-only module".padEnd(24)} ${size(wasm)}   goal ≤ 130 KB (130,000 bytes) gzipped`);
console.log(`${"editor module".padEnd(24)} ${size(editorWasm)}   (reported)`);
for (const [what, show, goal] of rows) {
  console.log(`${what.padEnd(24)} Node: ${show(node).padEnd(56)} ${chromium ? `Chromium: ${show(chromium.times).padEnd(56)} ` : ""}goal ${goal}`);
}
