// The golden vectors' answers from a module of the package, in the form of
// the expected files. No Node.js imports: the Chromium tests load this very
// file in the page (served at /tests/answer.mjs).

/** The thrown error as `{"error": {...}}` in the field order of the engine's ErrorInfo. */
export function thrown(e) {
  const info = {};
  for (const key of ["code", "message", "file", "line", "column", "help", "problems"]) {
    if (e[key] !== undefined) info[key] = e[key];
  }
  return { error: info };
}

/** The engine a vector names, from the given module: its own sources
 *  through `fromSources` where the module has it (`tollgate/editor`), else
 *  through the bundle `compile` makes of them (the query-only entry). */
function engineOf(tollgate, vector, compile) {
  if (!vector.sources) return new tollgate.Engine();
  if (tollgate.Engine.fromSources) return tollgate.Engine.fromSources(vector.sources);
  return tollgate.Engine.fromBundle(compile(vector.sources));
}

/** Calls the operation a vector names on an engine of the given module;
 *  `compile(sources)` gives a bundle's bytes, for a module that reads none. */
export function answer(tollgate, vector, compile) {
  try {
    const engine = engineOf(tollgate, vector, compile);
    const ops = {
      estimate: (i) => engine.estimate(i),
      authorize: (i) => engine.authorize(i),
      checkLimit: (i) => engine.checkLimit(i),
      quoteTopUp: (i) => engine.quoteTopUp(i),
      quote: (i) => engine.quote(i),
      visibleBilling: (i) => engine.visibleBilling(i),
      rateSheet: () => engine.rateSheet(),
      policySheet: () => engine.policySheet(),
    };
    const result = ops[vector.op](vector.input);
    engine.free();
    return JSON.stringify(result, null, 2) + "\n";
  } catch (e) {
    return JSON.stringify(thrown(e), null, 2) + "\n";
  }
}
