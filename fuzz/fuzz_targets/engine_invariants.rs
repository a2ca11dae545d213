//! Random engines and requests, built from structured input: rate tables
//! (text models with tiers and whole batches, a tool), the shipped
//! policies, runs with ranges, and organizations. Checks the invariants:
//! no panic; lines add up to the total; low ≤ high; a quote is allowed
//! exactly when it has no reasons, and an allowed quote passes every check;
//! the same input gives the same bytes.
#![no_main]
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rust_decimal_free::*;
use tollgate::{Context, Decimal, Engine, Item, Quantity, QuoteRequest, Run, Sources, TextItem, Verdict};

mod rust_decimal_free {
    /// Ten-thousandths as a decimal string: 12345 -> "1.2345".
    pub fn dec(n: u32) -> String {
        format!("{}.{:04}", n / 10_000, n % 10_000)
    }
}

#[derive(Arbitrary, Debug)]
struct Model {
    batch: u16,
    input: u32,
    output: u32,
    cached: Option<u32>,
    round_up: bool,
    tier: Option<(u32, u16, u16)>,
}

#[derive(Arbitrary, Debug)]
struct Spec {
    precision: u8,
    rounding: u8,
    models: Vec<Model>,
    tool: u32,
    items: Vec<(u8, Option<(u32, u32)>, Option<(u32, u32)>, Option<u32>)>,
    with_tool: bool,
    role: u8,
    plan: u8,
    balance: u32,
    runs: u16,
    cap: Option<(u32, u32)>,
    suspended: bool,
}

fn quantity((a, b): (u32, u32)) -> Quantity {
    let (lo, hi) = (a.min(b), a.max(b));
    if lo == hi {
        Quantity::from(u64::from(lo))
    } else {
        Quantity::Range { min: Decimal::from(lo), max: Decimal::from(hi) }
    }
}

fuzz_target!(|spec: Spec| {
    let rounding = ["up", "down", "half_up", "half_even"][usize::from(spec.rounding % 4)];
    let mut rates = format!("[card]\nversion = \"fuzz\"\nprecision = {}\nrounding = \"{rounding}\"\n", spec.precision % 29);
    rates.push_str(&format!("[tools.storyboard]\nper_run = \"{}\"\n", dec(spec.tool)));
    let models: Vec<&Model> = spec.models.iter().take(4).collect();
    for (i, m) in models.iter().enumerate() {
        rates.push_str(&format!(
            "[text.m{i}]\nbatch = {}\ninput = \"{}\"\noutput = \"{}\"\npartial_batch = \"{}\"\n",
            u32::from(m.batch).max(1),
            dec(m.input),
            dec(m.output),
            if m.round_up { "round_up" } else { "prorate" }
        ));
        if let Some(c) = m.cached {
            rates.push_str(&format!("cached_input = \"{}\"\n", dec(c)));
        }
        if let Some((above, di, do_)) = m.tier {
            // Tiers never lower a rate, so the file is valid by construction.
            let cached = m.cached.unwrap_or(m.input).saturating_add(u32::from(di));
            rates.push_str(&format!(
                "[[text.m{i}.tiers]]\nabove = {above}\ninput = \"{}\"\noutput = \"{}\"\ncached_input = \"{}\"\ncache_write = \"{}\"\n",
                dec(m.input.saturating_add(u32::from(di))),
                dec(m.output.saturating_add(u32::from(do_))),
                dec(cached),
                dec(m.input.saturating_add(u32::from(di))),
            ));
        }
    }
    let sources = Sources::new()
        .rates("fuzz.toml", &rates)
        .policies("roles.toml", include_str!("../../policies/roles.toml"))
        .policies("plans.toml", include_str!("../../policies/plans.toml"));
    let engine = match Engine::from_sources(sources) {
        Ok(e) => e,
        Err(e) => panic!("generated rates must load: {e}\n{rates}"),
    };
    if models.is_empty() {
        return;
    }
    let items: Vec<Item> = spec
        .items
        .iter()
        .take(8)
        .map(|(m, input, output, cached)| {
            Item::Text(TextItem {
                model: format!("m{}", usize::from(*m) % models.len()),
                input_tokens: input.map(quantity),
                output_tokens: output.map(quantity),
                cached_input_tokens: cached.map(|c| Quantity::from(u64::from(c))),
                cache_write_tokens: None,
            })
        })
        .collect();
    let run = Run { tool: spec.with_tool.then(|| "storyboard".to_string()), items };
    let Ok(est) = engine.estimate(&run) else { return };
    let (low, high) = est.lines.iter().fold((Decimal::ZERO, Decimal::ZERO), |(l, h), x| (l + x.low, h + x.high));
    assert_eq!((low, high), (est.total.low, est.total.high), "lines add up to the total");
    assert!(est.total.low <= est.total.high && est.charged.low <= est.charged.high, "low ≤ high");
    assert_eq!(serde_json::to_string(&est).ok(), serde_json::to_string(&engine.estimate(&run).ok()).ok(), "same bytes");

    let role = ["owner", "admin", "editor", "viewer"][usize::from(spec.role % 4)];
    let plan = ["free", "pro", "team", "enterprise"][usize::from(spec.plan % 4)];
    let mut org_toml = format!("[org]\nslug = \"f\"\nplan = \"{plan}\"\nbalance = \"{}\"\nstatus = \"{}\"\n", dec(spec.balance), if spec.suspended { "suspended" } else { "active" });
    if let Some((cap, spent)) = spec.cap {
        org_toml.push_str(&format!("[org.spend_controls]\nmonthly_cap = \"{}\"\nspent_this_month = \"{}\"\n", dec(cap), dec(spent)));
    }
    org_toml.push_str("[org.usage]\n");
    for w in ["runs_this_hour", "runs_today", "runs_this_month"] {
        org_toml.push_str(&format!("\"tools.storyboard.{w}\" = {}\n", spec.runs));
    }
    let org = tollgate::Org::from_toml("org.toml", &org_toml).expect("generated org reads");
    let req = QuoteRequest { role: role.into(), org: org.clone(), run: run.clone(), context: None };
    let Ok(q) = engine.quote(&req) else { return };
    assert_eq!(q.verdict == Verdict::Allowed, q.reasons.is_empty());
    if q.verdict == Verdict::Allowed {
        let ctx = Context::new().with("org.status", org.status.as_deref().unwrap_or("")).with("org.plan", plan);
        assert!(engine.authorize(role, "tools.run", &ctx).expect("known").allowed());
        assert!(q.estimate.charged.high <= org.balance, "an allowed quote is affordable");
        assert!(!org.is_suspended());
        if let Some(s) = &org.spend_controls {
            assert!(q.estimate.charged.high <= s.monthly_cap - s.spent_this_month);
        }
    }
    assert_eq!(serde_json::to_string(&q).ok(), serde_json::to_string(&engine.quote(&req).ok()).ok(), "same bytes");
});
