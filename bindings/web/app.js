// The pre-checkout page: builds a quote request from the form and shows,
// live, the estimate, the verdict with every reason, the top-up that would
// cover a shortfall, and the billing buttons this role may use.
import init, { Engine } from "tollgate";

await init();
const engine = new Engine();
const rates = engine.rateSheet();
const policies = engine.policySheet();

const $ = (id) => document.getElementById(id);
const el = (tag, { dataset = {}, ...props } = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  Object.assign(node.dataset, dataset);
  node.append(...children);
  return node;
};
const options = (select, values, selected) => {
  select.replaceChildren(...values.map(([value, label]) => el("option", { value, textContent: label, selected: value === selected })));
};
const unique = (xs) => [...new Set(xs)];

// ---- the form ----

options($("tool"), [["", "no tool"], ...rates.tools.map((t) => [t.tool, `${t.label} (${t.perRun} credits a run)`])], "storyboard");
options($("role"), policies.roles.map((r) => [r.role, r.label]), "editor");
options($("plan"), policies.plans.map((p) => [p.plan, p.label]), "free");

const models = {
  text: rates.text.map((m) => m.model),
  image: unique(rates.image.map((r) => r.model)),
  video: unique(rates.video.map((r) => r.model)),
};

/** A quantity field: exact when "max" is empty, else a range. */
function quantity(name, min, max = "") {
  const box = el("span", { className: "qty" });
  box.append(
    el("input", { type: "number", min: "0", step: "any", value: min, dataset: { q: name, end: "min" }, ariaLabel: `${name} (min)` }),
    el("span", { className: "muted", textContent: "to" }),
    el("input", { type: "number", min: "0", step: "any", value: max, placeholder: "same", dataset: { q: name, end: "max" }, ariaLabel: `${name} (max)` }),
  );
  return el("label", { className: "field" }, name, box);
}

function itemRow(kind, preset = {}) {
  const row = el("div", { className: "item", dataset: { kind } });
  const model = el("select", { className: "model", ariaLabel: "model" });
  options(model, models[kind].map((m) => [m, m]), preset.model ?? models[kind][0]);
  const fields = el("div", { className: "fields" });
  const refresh = () => {
    fields.replaceChildren();
    const m = model.value;
    if (kind === "text") {
      fields.append(quantity("inputTokens", preset.inputTokens ?? 12000), quantity("outputTokens", preset.outputTokens?.[0] ?? 0, preset.outputTokens?.[1] ?? 4000));
    } else if (kind === "image") {
      const rows = rates.image.filter((r) => r.model === m);
      const q = el("select", { className: "quality", ariaLabel: "quality" });
      options(q, unique(rows.map((r) => r.quality)).map((v) => [v, v]), rows.find((r) => r.default)?.quality);
      const s = el("select", { className: "size", ariaLabel: "size" });
      options(s, unique(rows.map((r) => r.size)).map((v) => [v, v]), rows.find((r) => r.default)?.size);
      fields.append(quantity("count", preset.count ?? 4), el("label", { className: "field" }, "quality", q), el("label", { className: "field" }, "size", s));
    } else {
      const rows = rates.video.filter((r) => r.model === m);
      const res = el("select", { className: "resolution", ariaLabel: "resolution" });
      options(res, rows.map((r) => [r.resolution, r.resolution]), rows.find((r) => r.default)?.resolution);
      const audio = el("input", { type: "checkbox", className: "audio" });
      fields.append(quantity("seconds", preset.seconds ?? 6.5), el("label", { className: "field" }, "resolution", res), el("label", { className: "field check" }, audio, "audio"));
    }
  };
  model.addEventListener("change", () => { refresh(); update(); });
  refresh();
  const remove = el("button", { type: "button", className: "remove", textContent: "×", title: "remove", onclick: () => { row.remove(); update(); } });
  row.append(el("span", { className: "kind", textContent: kind }), model, fields, remove);
  $("items").append(row);
}

for (const button of document.querySelectorAll("[data-add]")) {
  button.addEventListener("click", () => { itemRow(button.dataset.add); update(); });
}
itemRow("text", { model: "gpt-4o" });
itemRow("image", { model: "gpt-image-1" });
itemRow("video", { model: "sora-2" });

$("capOn").addEventListener("change", () => { $("capFields").hidden = !$("capOn").checked; });
$("poolOn").addEventListener("change", () => { $("poolFields").hidden = !$("poolOn").checked; });
$("form").addEventListener("input", () => update());
$("form").addEventListener("change", () => update());

// ---- the request ----

/** Form numbers cross as decimal strings: exact, whatever the float. */
const num = (input) => (input.value.trim() === "" ? null : input.value.trim());

function request() {
  const items = [...document.querySelectorAll(".item")].map((row) => {
    const item = { kind: row.dataset.kind, model: row.querySelector(".model").value };
    const qs = {};
    for (const input of row.querySelectorAll("[data-q]")) (qs[input.dataset.q] ??= {})[input.dataset.end] = num(input);
    for (const [name, { min, max }] of Object.entries(qs)) {
      if (min === null) continue;
      item[name] = max === null || max === min ? min : { min, max };
    }
    for (const cls of ["quality", "size", "resolution"]) {
      const s = row.querySelector(`.${cls}`);
      if (s) item[cls] = s.value;
    }
    const audio = row.querySelector(".audio");
    if (audio?.checked) item.audio = true;
    return item;
  });
  const tool = $("tool").value;
  const org = { slug: "acme", plan: $("plan").value, balance: num($("balance")) ?? "0", status: $("status").value };
  if (tool) {
    const runs = num($("runs")) ?? "0";
    org.usage = Object.fromEntries(["runs_this_hour", "runs_today", "runs_this_month"].map((w) => [`tools.${tool}.${w}`, runs]));
    if ($("poolOn").checked) org.pools = [{ id: "pool", allocated: num($("poolAllocated")) ?? "0", spent: num($("poolSpent")) ?? "0", tools: [tool] }];
  }
  if ($("capOn").checked) org.spendControls = { monthlyCap: num($("cap")) ?? "0", spentThisMonth: num($("spent")) ?? "0" };
  const run = tool ? { tool, items } : { items };
  return { role: $("role").value, org, run };
}

// ---- the answer ----

const range = ({ low, high }) => (low === high ? low : `${low} – ${high}`);
/** Money with at least two decimals ("2.6" → "2.60"), by string, never float. */
const money = (amount) => {
  const [whole, fraction = ""] = amount.split(".");
  return `${whole}.${fraction.padEnd(2, "0")}`;
};

function update() {
  const req = request();
  $("request").textContent = JSON.stringify(req, null, 2);
  $("error").hidden = true;
  let quote;
  let billing;
  try {
    quote = engine.quote(req);
    billing = engine.visibleBilling({ role: req.role, org: req.org });
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = `${e.code}: ${e.message}`;
    $("result").dataset.state = "error";
    return;
  }
  const { estimate } = quote;
  $("charged").textContent = range(estimate.charged);
  $("total").textContent = `(exact total ${range(estimate.total)})`;
  $("version").textContent = estimate.ratesVersion;
  $("result").dataset.state = quote.verdict;
  $("verdict").textContent = quote.verdict === "allowed" ? "Allowed — every check passed" : "Denied";
  $("reasons").replaceChildren(
    ...quote.reasons.map((r) => {
      const next = r.topUp ? `Add ${r.topUp.credits} credits` : r.upgrade ? `Upgrade to ${r.upgrade.label}` : "Open billing";
      return el(
        "li",
        { dataset: { code: r.code } },
        el("code", { textContent: r.code }),
        el("span", { className: "message", textContent: r.message }),
        el("a", { href: r.billingLink, textContent: next }),
      );
    }),
  );
  const topUp = quote.topUp;
  $("topup").hidden = !topUp;
  $("topup").textContent = topUp ? `Top-up that covers it: ${topUp.credits} credits (${topUp.blocks} blocks) for ${money(topUp.price.amount)} ${topUp.price.currency}` : "";
  $("btnAddCredits").disabled = !billing.buttons.addCredits;
  $("btnManageBilling").disabled = !billing.buttons.manageBilling;
  $("btnUpgrade").disabled = !billing.buttons.upgrade;
  $("lines").tBodies[0].replaceChildren(
    ...estimate.lines.map((l) =>
      el(
        "tr",
        {},
        el("td", { textContent: l.item === null ? "tool" : String(l.item) }),
        el("td", { textContent: l.model }),
        el("td", { textContent: l.component }),
        el("td", { textContent: `${range(l.quantity)} × ${l.unit}` }),
        el("td", { className: "num", textContent: range(l.rate) }),
        el("td", { className: "num low", textContent: l.low }),
        el("td", { className: "num high", textContent: l.high }),
      ),
    ),
  );
}

update();
document.body.dataset.ready = "true";
