// In-browser authoring against the editor entry's types: check files as a
// person types them, then hand the compiled bundle to the query-only entry.
// Compiled with `tsc --strict --noEmit` by the tests.
import initEditor, { Engine as Editor, type Validation } from "tollgate/editor";
import init, { Engine, type Estimate } from "tollgate";

export async function tryRates(text: string): Promise<string> {
  await initEditor();
  await init();
  const report: Validation = Editor.validate({ rates: { "rates.toml": text } });
  if (report.errors.length > 0) {
    return report.errors.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`).join("\n");
  }
  const bundle: Uint8Array = Editor.fromSources({ rates: { "rates.toml": text } }).toBundle();
  const engine = Engine.fromBundle(bundle);
  const estimate: Estimate = engine.estimate({ tool: "storyboard" });
  return `${estimate.charged.high} credits (tables ${engine.fingerprint().slice(0, 12)})`;
}
