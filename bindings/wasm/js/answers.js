// The answers of the per-call methods, built from their positional JSON
// (bindings/wasm/src/answer.rs): each struct arrives as an array of its
// field values in the order the Rust type declares them, `null` where the
// keyed JSON leaves a field out; maps arrive as objects. One object literal
// per type, keys in the Rust order, so `JSON.stringify` of what these return
// is byte for byte the native crate's JSON (the golden vectors check it
// under Node.js and in Chromium). `JSON.parse` of the keyed text did the
// same job at two to four times the cost.
//
// When a Rust answer type gains, loses or reorders a field, the builder here
// changes with it; the vectors fail until it does.

const bounds = (a) => ({ low: a[0], high: a[1] });

/** Sets `key` when the positional value is not `null` (a skipped field). */
function opt(o, key, v, build) {
  if (v !== null) o[key] = build === undefined ? v : build(v);
  return o;
}

const line = (a) => ({
  item: a[0],
  kind: a[1],
  model: a[2],
  component: a[3],
  quantity: bounds(a[4]),
  unit: a[5],
  rate: bounds(a[6]),
  low: a[7],
  high: a[8],
});

const estimateOf = (a) => ({ ratesVersion: a[0], lines: a[1].map(line), total: bounds(a[2]), charged: bounds(a[3]) });

const upgrade = (a) => ({ plan: a[0], label: a[1] });

const topUpOf = (a) => ({ blocks: a[0], credits: a[1], price: { amount: a[2][0], currency: a[2][1] } });

function denial(a) {
  const o = { code: a[0], message: a[1], billingLink: a[2] };
  opt(o, "rules", a[3]);
  opt(o, "upgrade", a[4], upgrade);
  return opt(o, "topUp", a[5], topUpOf);
}

const pool = (a) => ({ id: a[0], allocated: a[1], spent: a[2], remaining: a[3], tools: a[4] });

function limitView(a) {
  const o = { limit: a[0] };
  opt(o, "current", a[1]);
  o.max = a[2];
  return o;
}

/** `Engine.estimate`. */
export const estimate = (text) => estimateOf(JSON.parse(text));

/** `Engine.authorize`. */
export function decision(text) {
  const a = JSON.parse(text);
  const o = { decision: a[0], rules: a[1], reason: a[2], message: a[3] };
  return opt(o, "missingAttributes", a[4]);
}

/** `Engine.checkLimit`. */
export function limitCheck(text) {
  const a = JSON.parse(text);
  const o = { allowed: a[0], limit: a[1], plan: a[2], current: a[3], adding: a[4], max: a[5], remaining: a[6] };
  opt(o, "upgrade", a[7], upgrade);
  return opt(o, "reason", a[8], denial);
}

/** `Engine.quote`. */
export function quote(text) {
  const a = JSON.parse(text);
  const o = { verdict: a[0], estimate: estimateOf(a[1]), reasons: a[2].map(denial) };
  return opt(o, "topUp", a[3], topUpOf);
}

/** `Engine.quoteTopUp`. */
export const topUp = (text) => topUpOf(JSON.parse(text));

/** `Engine.visibleBilling`. */
export function billingView(text) {
  const a = JSON.parse(text);
  const b = a[4];
  const o = {
    role: a[0],
    plan: upgrade(a[1]),
    billingLink: a[2],
    can: a[3],
    buttons: { addCredits: b[0], manageBilling: b[1], upgrade: b[2] },
  };
  opt(o, "balance", a[5]);
  opt(o, "pools", a[6], (p) => p.map(pool));
  opt(o, "spend", a[7], (s) => ({ monthlyCap: s[0], spentThisMonth: s[1], remaining: s[2] }));
  return opt(o, "limits", a[8], (l) => l.map(limitView));
}
