#![allow(clippy::panic)] // benchmark setup: bad fixtures should stop the run

//! What the largest and most hostile inputs within the bounds cost
//! (criterion). Goals, on the reference 2-core machine: any policy set
//! within the bounds loads in ≤ 1 s (or is refused at once naming the bound
//! it exceeds); `validate` of 30,000 rules ≤ 2 s; a request of the largest
//! size answered in ≤ 20 ms. Run: `cargo bench --bench bounds`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tollgate::{AuthorizeRequest, Engine, Sources};

const RATES: &str = "[card]\nversion = \"b\"\nprecision = 2\nrounding = \"up\"\n";

/// `roles` roles, `actions` actions `a.N`, a number attribute, then `rules`.
fn policy(roles: usize, actions: usize, rules: &str) -> String {
    let mut s = String::from("[roles]\n");
    for r in 0..roles {
        s.push_str(&format!("r{r} = {{}}\n"));
    }
    s.push_str("[attributes]\n\"n\" = \"number\"\n[actions]\n");
    for a in 0..actions {
        s.push_str(&format!("\"a.{a}\" = {{}}\n"));
    }
    s.push_str(rules);
    s
}

/// Rules `x{from}…` with a condition each, one in seven a deny, until the
/// text is `bytes` long.
fn rules_of(from: usize, bytes: usize) -> String {
    let mut s = String::new();
    let mut i = from;
    while s.len() < bytes {
        let effect = if i.is_multiple_of(7) { "deny" } else { "allow" };
        s.push_str(&format!(
            "[[rules]]\nid = \"x{i}\"\neffect = \"{effect}\"\nroles = [\"r{}\"]\nactions = [\"a.{}\"]\nwhen = [{{ attr = \"n\", lt = {i} }}]\n",
            i % 100,
            i % 1000
        ));
        i += 1;
    }
    s
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("bounds");
    g.sample_size(10);

    // 1,000 roles × 1,000 actions × 100 rules over `a.*`: 100 million index
    // entries, refused before anything is built.
    let globs: String =
        (0..100).map(|i| format!("[[rules]]\nid = \"g{i}\"\neffect = \"allow\"\nactions = [\"a.*\"]\n")).collect();
    let hostile = policy(1000, 1000, &globs);
    g.bench_function("load/index_over_bound_refused", |b| {
        b.iter(|| {
            let r = Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", black_box(&hostile)));
            assert!(r.is_err());
        })
    });

    // One rule listing `a.*` 10,000 times over 10,000 actions.
    let repeated = policy(
        1,
        10_000,
        &format!("[[rules]]\nid = \"x\"\neffect = \"allow\"\nactions = [{}]\n", vec!["\"a.*\""; 10_000].join(", ")),
    );
    g.bench_function("load/glob_listed_10000_times", |b| {
        b.iter(|| Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", black_box(&repeated))))
    });

    // As many bytes of rules as the bounds allow: a file at its own bound
    // and a second one up to the bound of all files.
    let first = policy(100, 1000, &rules_of(0, 4 * 1024 * 1024 - 40_000));
    let second = rules_of(1_000_000, 2 * 1024 * 1024 - 40_000);
    let largest = || Sources::new().rates("r.toml", RATES).policies("a.toml", &first).policies("b.toml", &second);
    if let Err(e) = Engine::from_sources(largest()) {
        panic!("the largest policy set: {e}");
    }
    g.bench_function("load/largest_policy_set", |b| b.iter(|| Engine::from_sources(black_box(largest()))));

    // `validate` (load and every lint) of 30,000 rules.
    let mut thirty = policy(50, 1000, "");
    for i in 0..30_000 {
        let effect = if i % 7 == 0 { "deny" } else { "allow" };
        thirty.push_str(&format!(
            "[[rules]]\nid = \"v{i}\"\neffect = \"{effect}\"\nroles = [\"r{}\"]\nactions = [\"a.{}\"]\n",
            i % 50,
            i % 1000
        ));
    }
    g.bench_function("validate/30000_rules", |b| {
        b.iter(|| tollgate::validate(Sources::new().rates("r.toml", RATES).policies("p.toml", black_box(&thirty))))
    });

    // A request of the largest size: a context of floats near the top of
    // the decimal range (refused as undeclared after it is read).
    let mut request = String::from(r#"{"role":"owner","action":"billing.view","context":{"#);
    let mut k = 0;
    while request.len() < 1024 * 1024 - 40 {
        if k > 0 {
            request.push(',');
        }
        request.push_str(&format!("\"k{k}\":7.922816251426433e28"));
        k += 1;
    }
    request.push_str("}}");
    g.bench_function("request/1_mib_of_floats", |b| {
        b.iter(|| tollgate::parse_request::<AuthorizeRequest>(black_box(&request)).is_ok())
    });
    g.finish();
}

criterion_group!(bounds, benches);
criterion_main!(bounds);
