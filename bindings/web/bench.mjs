// JavaScript-side benchmarks of the npm package (Node.js, engine reused):
// prints the median time per call over many rounds, and the size of the
// optimized .wasm raw and gzip-compressed. `npm run bench` after
// scripts/build-wasm. Goals: ≤ 150 KB gzipped; authorize ≤ 2 µs, estimate of
// one text item ≤ 3 µs, quote of a 3-item run ≤ 10 µs, new Engine() ≤ 2 ms.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { Engine } from "../wasm/pkg/node.js";

const pkg = join(import.meta.dirname, "..", "wasm", "pkg");
const wasm = readFileSync(join(pkg, "tollgate_wasm_bg.wasm"));

/** Median per-call time in µs: `rounds` rounds of `batch` calls each. */
function median(fn, { batch = 2000, rounds = 41 } = {}) {
  for (let i = 0; i < batch; i++) fn(); // warm up
  const per = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    per.push(((performance.now() - t0) * 1000) / batch);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

const engine = new Engine();
const authorize = { role: "owner", action: "billing.top_up", context: { "org.status": "active" } };
const text = { items: [{ kind: "text", model: "gpt-4o", inputTokens: 12000, outputTokens: 3000 }] };
const quote = {
  role: "editor",
  org: { slug: "acme", plan: "free", balance: "500", status: "active", usage: { "tools.storyboard.runs_today": 3 } },
  run: {
    tool: "storyboard",
    items: [
      { kind: "text", model: "gpt-4o", inputTokens: 12000, cachedInputTokens: 2000, outputTokens: { min: 0, max: 4000 } },
      { kind: "image", model: "gpt-image-1", count: 4, quality: "high" },
      { kind: "video", model: "sora-2", seconds: 6.5 },
    ],
  },
};
// The answers are real: fail loudly rather than time an error path.
if (engine.authorize(authorize).decision !== "allow" || engine.quote(quote).verdict !== "allowed") throw new Error("bench inputs");

/** What every call pays before the module runs: the request to JSON text. */
const stringify = (request) => median(() => JSON.stringify(request));

const call = (fn, request, opts) =>
  `${median(() => fn(request), opts).toFixed(2)} µs (JSON.stringify of the request alone ${stringify(request).toFixed(2)} µs)`;

const rows = [
  ["wasm size (optimized)", `${(wasm.length / 1024).toFixed(1)} KiB raw, ${(gzipSync(wasm, { level: 9 }).length / 1024).toFixed(1)} KiB gzip -9`, "≤ 150 KB gzip"],
  ["new Engine()", `${median(() => new Engine().free(), { batch: 20, rounds: 21 }).toFixed(1)} µs`, "≤ 2 ms"],
  ["authorize", call((r) => engine.authorize(r), authorize), "≤ 2 µs"],
  ["estimate, one text item", call((r) => engine.estimate(r), text), "≤ 3 µs"],
  ["quote, 3-item run", call((r) => engine.quote(r), quote, { batch: 500 }), "≤ 10 µs"],
];
console.log(`Node ${process.version}, median per call, engine reused`);
for (const [what, value, goal] of rows) console.log(`${what.padEnd(26)} ${value.padEnd(58)} goal ${goal}`);
