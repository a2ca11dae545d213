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

    /// Any decimal of the whole range, negatives and fractions included:
    /// 96 bits of digits, a sign and a scale.
    pub fn any(d: (u32, u32, u32, bool, u8)) -> String {
        tollgate::Decimal::from_parts(d.0, d.1, d.2, d.3, u32::from(d.4 % 29)).to_string()
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
    /// Organization values over the whole decimal range, for the states
    /// a host should never send (every check must refuse them, not panic).
    wild: Option<Wild>,
}

#[derive(Arbitrary, Debug)]
struct Wild {
    balance: (u32, u32, u32, bool, u8),
    cap: (u32, u32, u32, bool, u8),
    spent: (u32, u32, u32, bool, u8),
    allocated: (u32, u32, u32, bool, u8),
    pool_spent: (u32, u32, u32, bool, u8),
    runs: (u32, u32, u32, bool, u8),
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
    let sum = |a: Decimal, b: Decimal| a.checked_add(b).expect("the total holds the sum");
    let (low, high) = est.lines.iter().fold((Decimal::ZERO, Decimal::ZERO), |(l, h), x| (sum(l, x.low), sum(h, x.high)));
    assert_eq!((low, high), (est.total.low, est.total.high), "lines add up to the total");
    assert!(est.total.low <= est.total.high && est.charged.low <= est.charged.high, "low ≤ high");
    assert_eq!(serde_json::to_string(&est).ok(), serde_json::to_string(&engine.estimate(&run).ok()).ok(), "same bytes");

    let role = ["owner", "admin", "editor", "viewer"][usize::from(spec.role % 4)];
    let plan = ["free", "pro", "team", "enterprise"][usize::from(spec.plan % 4)];
    let status = if spec.suspended { "suspended" } else { "active" };
    let mut org_toml = match &spec.wild {
        None => format!("[org]\nslug = \"f\"\nplan = \"{plan}\"\nbalance = \"{}\"\nstatus = \"{status}\"\n", dec(spec.balance)),
        Some(w) => format!(
            "[org]\nslug = \"f\"\nplan = \"{plan}\"\nbalance = \"{}\"\nstatus = \"{status}\"\n[[org.pools]]\nid = \"p\"\nallocated = \"{}\"\nspent = \"{}\"\ntools = [\"storyboard\"]\n",
            any(w.balance),
            any(w.allocated),
            any(w.pool_spent)
        ),
    };
    match (&spec.wild, spec.cap) {
        (Some(w), _) => org_toml.push_str(&format!("[org.spend_controls]\nmonthly_cap = \"{}\"\nspent_this_month = \"{}\"\n", any(w.cap), any(w.spent))),
        (None, Some((cap, spent))) => org_toml.push_str(&format!("[org.spend_controls]\nmonthly_cap = \"{}\"\nspent_this_month = \"{}\"\n", dec(cap), dec(spent))),
        (None, None) => {}
    }
    org_toml.push_str("[org.usage]\n");
    let runs = spec.wild.as_ref().map_or(spec.runs.to_string(), |w| format!("\"{}\"", any(w.runs)));
    for w in ["runs_this_hour", "runs_today", "runs_this_month", "seats"] {
        let name = if w == "seats" { w.to_string() } else { format!("tools.storyboard.{w}") };
        org_toml.push_str(&format!("\"{name}\" = {runs}\n"));
    }
    let org = tollgate::Org::from_toml("org.toml", &org_toml).expect("generated org reads");
    let req = QuoteRequest { role: role.into(), org: org.clone(), run: run.clone(), context: None };
    // Every check refuses a state that `Org::validate` refuses, and none panics.
    let valid = org.validate().is_ok();
    let bad = |code: Option<&str>| code == Some("bad_org");
    assert_eq!(bad(engine.check_limit(&org, "seats", Decimal::ONE).err().as_ref().map(|e| e.code())), !valid);
    assert_eq!(bad(engine.quote_top_up(&org, Decimal::from(100)).err().as_ref().map(|e| e.code())), !valid);
    assert_eq!(bad(engine.visible_billing(role, &org).err().as_ref().map(|e| e.code())), !valid);
    assert_eq!(bad(engine.quote(&req).err().as_ref().map(|e| e.code())), !valid);
    let Ok(q) = engine.quote(&req) else { return };
    assert_eq!(q.verdict == Verdict::Allowed, q.reasons.is_empty());
    if q.verdict == Verdict::Allowed {
        let ctx = Context::new().with("org.status", org.status.map_or("", |s| s.as_str())).with("org.plan", plan);
        assert!(engine.authorize(role, "tools.run", &ctx).expect("known").allowed());
        assert!(q.estimate.charged.high <= org.balance, "an allowed quote is affordable");
        assert!(!org.is_suspended());
        if let Some(s) = &org.spend_controls {
            // What is left under the cap; nothing once the month's spending
            // reached it (a run that costs nothing still fits).
            let left = s.monthly_cap.checked_sub(s.spent_this_month).expect("both at least zero").max(Decimal::ZERO);
            assert!(q.estimate.charged.high <= left, "an allowed quote fits the spend cap");
        }
    }
    assert_eq!(serde_json::to_string(&q).ok(), serde_json::to_string(&engine.quote(&req).ok()).ok(), "same bytes");
});
