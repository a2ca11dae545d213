// The TypeScript types against reality: every golden vector's request and
// expected answer is written out as a TypeScript value that must `satisfy`
// the declared type (excess or missing fields and wrong literals are
// compile errors), and an example program compiles; `tsc --strict`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { consumer, tool, vectors, web } from "./helpers.mjs";

/** `tsc --strict --noEmit` over `files`, in one of the two setups users
 *  have: a browser project (the DOM library, no @types), or a Node.js one
 *  (no DOM library, only @types/node). */
function tsc(dir, files, setup = "browser") {
  const common = { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext" };
  const env =
    setup === "browser"
      ? { types: [] }
      : { lib: ["es2022"], types: ["node"], typeRoots: [join(web, "node_modules", "@types")] };
  const config = { compilerOptions: { ...common, ...env }, files };
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(config));
  return execFileSync(tool("tsc"), ["-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
}

const types = {
  estimate: ["Run", "Estimate"],
  authorize: ["AuthorizeRequest", "Decision"],
  checkLimit: ["LimitRequest", "LimitCheck"],
  quoteTopUp: ["TopUpRequest", "TopUpQuote"],
  quote: ["QuoteRequest", "Quote"],
  visibleBilling: ["BillingRequest", "BillingView"],
  rateSheet: [null, "RateSheet"],
  policySheet: [null, "PolicySheet"],
};

test("every golden vector satisfies the declared types, and the examples of both entries compile, with and without the DOM library", () => {
  const dir = consumer();
  const lines = [
    'import type * as T from "tollgate";',
    "type Failure = { error: T.Problem & { problems?: T.Problem[] } };",
  ];
  let checked = 0;
  for (const { name, vector, expected } of vectors()) {
    const [request, answer] = types[vector.op];
    const id = name.replace(/[^a-zA-Z0-9]/g, "_");
    // Error vectors feed malformed requests on purpose, and one vector uses
    // the snake_case keys the engine accepts but the types do not advertise.
    if (request && !name.startsWith("error-") && !name.includes("snake-case")) {
      lines.push(`export const ${id}_request = (${JSON.stringify(vector.input)}) satisfies T.${request};`);
      checked++;
    }
    if (vector.sources) lines.push(`export const ${id}_sources = (${JSON.stringify(vector.sources)}) satisfies T.SourceTexts;`);
    lines.push(`export const ${id}_answer = (${expected.trim()}) satisfies ${name.startsWith("error-") ? "Failure" : `T.${answer}`};`);
    checked++;
  }
  writeFileSync(join(dir, "vectors.ts"), lines.join("\n") + "\n");
  copyFileSync(join(web, "examples", "quote.ts"), join(dir, "quote.ts"));
  copyFileSync(join(web, "examples", "editor.ts"), join(dir, "editor.ts"));
  for (const setup of ["browser", "node"]) {
    try {
      tsc(dir, ["vectors.ts", "quote.ts", "editor.ts"], setup);
    } catch (e) {
      assert.fail(`tsc (${setup} setup) failed:\n${e.stdout}${e.stderr}`);
    }
  }
  assert.ok(checked >= 80, `only ${checked} values checked`);
});

test("a wrong answer shape is caught by the same check", () => {
  const dir = consumer();
  writeFileSync(
    join(dir, "wrong.ts"),
    'import type * as T from "tollgate";\nexport const q = ({ verdict: "maybe", estimate: null, reasons: [] }) satisfies T.Quote;\n',
  );
  assert.throws(() => tsc(dir, ["wrong.ts"]), (e) => /verdict|maybe/.test(e.stdout));
});
