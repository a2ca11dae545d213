// A pre-checkout flow in TypeScript against the package's types: compiled
// with `tsc --strict --noEmit` by the tests, so the types stay usable.
import init, { Engine, type Quote, type QuoteRequest, type TollgateError } from "tollgate";

export async function preCheckout(request: QuoteRequest): Promise<string> {
  await init();
  const engine = new Engine();
  try {
    const quote: Quote = engine.quote(request);
    const { low, high } = quote.estimate.charged;
    if (quote.verdict === "allowed") {
      return `this run costs ${low === high ? low : `${low}–${high}`} credits`;
    }
    const steps = quote.reasons.map((r) => {
      const next = r.topUp
        ? `add ${r.topUp.credits} credits for ${r.topUp.price.amount} ${r.topUp.price.currency}`
        : r.upgrade
          ? `upgrade to ${r.upgrade.label}`
          : "see billing";
      return `${r.code}: ${r.message} (${next} at ${r.billingLink})`;
    });
    return steps.join("\n");
  } catch (e) {
    const err = e as TollgateError;
    return err.file ? `${err.file}:${err.line}:${err.column}: ${err.message}` : `${err.code}: ${err.message}`;
  } finally {
    engine.free();
  }
}

export function buttons(engine: Engine, role: string): string[] {
  const view = engine.visibleBilling({ role, org: { slug: "acme", plan: "pro", balance: 120 } });
  const shown: string[] = [];
  if (view.buttons.addCredits) shown.push("Add credits");
  if (view.buttons.manageBilling) shown.push("Manage billing");
  if (view.buttons.upgrade) shown.push("Upgrade");
  return shown;
}

export function perSecond(engine: Engine): Record<string, string> {
  return Object.fromEntries(engine.rateSheet().video.map((v) => [`${v.model} ${v.resolution}`, v.perSecond]));
}
