// The calls timed by bench.mjs, the same in Node.js and in Chromium: median
// time per call over many rounds, engine reused. No Node.js APIs here: the
// browser run imports this file from the page's server.

/** Median per-call time in µs: `rounds` rounds of `batch` calls each. */
export function median(fn, { batch = 2000, rounds = 41 } = {}) {
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

export const authorize = { role: "owner", action: "billing.top_up", context: { "org.status": "active" } };
export const text = { items: [{ kind: "text", model: "gpt-4o", inputTokens: 12000, outputTokens: 3000 }] };
export const quote = {
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

/** Every timed call, in µs: `{engine, fromBundle, authorize, estimate,
 *  quote}`, and what `JSON.stringify` of each request alone costs. `bundle`
 *  is the shipped bundle's bytes. `scale` multiplies the batch sizes
 *  (browsers coarsen `performance.now()`, so their rounds must be longer). */
export function measure(Engine, bundle, scale = 1) {
  const engine = new Engine();
  // The answers are real: fail loudly rather than time an error path.
  if (engine.authorize(authorize).decision !== "allow" || engine.quote(quote).verdict !== "allowed") {
    throw new Error("bench inputs");
  }
  const call = (fn, request, batch) => ({
    call: median(() => fn(request), { batch: batch * scale }),
    stringify: median(() => JSON.stringify(request), { batch: batch * scale }),
  });
  return {
    engine: median(() => new Engine().free(), { batch: 20 * scale, rounds: 21 }),
    fromBundle: median(() => Engine.fromBundle(bundle).free(), { batch: 20 * scale, rounds: 21 }),
    authorize: call((r) => engine.authorize(r), authorize, 2000),
    estimate: call((r) => engine.estimate(r), text, 2000),
    quote: call((r) => engine.quote(r), quote, 500),
  };
}
