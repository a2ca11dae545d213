#![allow(clippy::panic, clippy::indexing_slicing)] // benchmark setup: bad fixtures should stop the run

//! Policy benchmarks (criterion). Goals, on the reference 2-core machine:
//! authorize ≤ 100 ns at 10 rules and ≤ 200 ns at 1,000 rules,
//! check_limit ≤ 100 ns, quote of a 3-item run ≤ 2 µs, loading policies of
//! 1,000 rules ≤ 3 ms. Run: `cargo bench --bench policy`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tollgate::{Context, Decimal, Engine, Org, QuoteRequest, Sources};

/// A role-permission policy of `n` rules over 4 roles and n/4 + 15 actions:
/// the shipped vocabulary plus generated `app.*` actions, one allow rule per
/// action and role, every tenth a conditional deny.
fn policy_of(n: usize) -> String {
    let roles = ["viewer", "editor", "admin", "owner"];
    let mut s = String::from(include_str!("../policies/plans.toml"));
    s.push_str("\n[roles]\nviewer = {}\neditor = { inherits = [\"viewer\"] }\nadmin = { inherits = [\"editor\"] }\nowner = { inherits = [\"admin\"] }\n");
    s.push_str("[attributes]\n\"org.status\" = \"string\"\n\"org.plan\" = \"string\"\n\"user.mfa\" = \"bool\"\n[actions]\n\"tools.run\" = {}\n");
    let actions = n.div_ceil(4);
    for a in 0..actions {
        s.push_str(&format!("\"app.a{a}\" = {{}}\n"));
    }
    s.push_str("[[rules]]\nid = \"run\"\neffect = \"allow\"\nroles = [\"editor\"]\nactions = [\"tools.run\"]\n");
    for i in 0..n.saturating_sub(1) {
        let (a, role) = (i / 4, roles[i % 4]);
        if i % 10 == 9 {
            s.push_str(&format!(
                "[[rules]]\nid = \"r{i}\"\neffect = \"deny\"\nroles = [\"{role}\"]\nactions = [\"app.a{a}\"]\nwhen = [{{ attr = \"org.status\", eq = \"suspended\" }}]\n"
            ));
        } else {
            s.push_str(&format!(
                "[[rules]]\nid = \"r{i}\"\neffect = \"allow\"\nroles = [\"{role}\"]\nactions = [\"app.a{a}\"]\n"
            ));
        }
    }
    s
}

/// The shipped rates with the given policy.
fn engine_of(policy: &str) -> Engine {
    let mut sources = Sources::new();
    for (name, text) in [
        ("image.toml", include_str!("../rates/image.toml")),
        ("text.toml", include_str!("../rates/text.toml")),
        ("tools.toml", include_str!("../rates/tools.toml")),
        ("video.toml", include_str!("../rates/video.toml")),
    ] {
        sources = sources.rates(name, text);
    }
    match Engine::from_sources(sources.policies("bench.toml", policy)) {
        Ok(e) => e,
        Err(e) => panic!("bench policy: {e}"),
    }
}

fn benches(c: &mut Criterion) {
    let small = engine_of(&policy_of(10));
    let large = engine_of(&policy_of(1000));
    let ctx = Context::new().with("org.status", "active").with("org.plan", "pro");
    c.bench_function("authorize/10_rules", |b| {
        b.iter(|| small.authorize(black_box("owner"), black_box("app.a1"), black_box(&ctx)))
    });
    c.bench_function("authorize/1000_rules", |b| {
        b.iter(|| large.authorize(black_box("owner"), black_box("app.a200"), black_box(&ctx)))
    });

    let shipped = match Engine::embedded() {
        Ok(e) => e,
        Err(e) => panic!("embedded: {e}"),
    };
    let org = match Org::from_toml("org.toml", include_str!("../examples/orgs/acme-free.toml")) {
        Ok(o) => o,
        Err(e) => panic!("org: {e}"),
    };
    c.bench_function("check_limit", |b| {
        b.iter(|| shipped.check_limit(black_box(&org), black_box("projects_per_org"), black_box(Decimal::ONE)))
    });
    let req = match QuoteRequest::from_toml("q.toml", include_str!("../examples/quotes/editor-storyboard.toml")) {
        Ok(r) => r,
        Err(e) => panic!("quote: {e}"),
    };
    c.bench_function("quote/three_item_run", |b| b.iter(|| shipped.quote(black_box(&req))));

    c.bench_function("validate/shipped", |b| b.iter(|| tollgate::validate(black_box(Sources::embedded()))));
    let big = policy_of(1000);
    c.bench_function("validate/1000_rules", |b| {
        b.iter(|| tollgate::validate(Sources::new().rates("r.toml", RATES).policies("p.toml", black_box(&big))))
    });

    let text = policy_of(1000);
    // Loads are timed without dropping what they built (`iter_with_large_drop`).
    c.bench_function("load/policies_1000_rules", |b| {
        b.iter_with_large_drop(|| {
            Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", black_box(&text)))
        })
    });
    // The same engine from its bundle: no TOML, no validation.
    let bundle = match Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", &text)) {
        Ok(e) => e.to_bundle(),
        Err(e) => panic!("bench policy: {e}"),
    };
    c.bench_function("load/bundle_1000_rules", |b| b.iter_with_large_drop(|| Engine::from_bundle(black_box(&bundle))));
    c.bench_function("load/shipped_bundle", |b| b.iter_with_large_drop(Engine::embedded));
}

const RATES: &str = "[card]\nversion = \"b\"\nprecision = 2\nrounding = \"up\"\n";

criterion_group!(policy, benches);
criterion_main!(policy);
