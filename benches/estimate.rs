#![allow(clippy::panic)] // benchmark setup: bad fixtures should stop the run

//! Estimate and load benchmarks (criterion). Goals, on the reference
//! 2-core machine: one text item ≤ 150 ns, a 3-item run ≤ 500 ns, loading
//! the shipped tables ≤ 1 ms. Run: `cargo bench --bench estimate`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tollgate::{Engine, Run, Sources};

fn run(toml: &str) -> Run {
    match Run::from_toml("bench.toml", toml) {
        Ok(r) => r,
        Err(e) => panic!("bench run: {e}"),
    }
}

fn engine() -> Engine {
    match Engine::embedded() {
        Ok(e) => e,
        Err(e) => panic!("embedded rates: {e}"),
    }
}

fn benches(c: &mut Criterion) {
    let engine = engine();
    let text = run("[[items]]\nkind = \"text\"\nmodel = \"gpt-4o\"\ninput_tokens = 12000\noutput_tokens = 3000\n");
    let mixed = run(include_str!("../examples/runs/storyboard.toml"));
    assert_eq!(mixed.items.len(), 3);

    c.bench_function("estimate/text_item", |b| b.iter(|| engine.estimate(black_box(&text))));
    c.bench_function("estimate/three_item_run", |b| b.iter(|| engine.estimate(black_box(&mixed))));
    c.bench_function("load/shipped_rates", |b| b.iter(|| Engine::from_sources(black_box(Sources::embedded()))));

    // What the JavaScript package does per call, minus the JS side: read
    // the request from JSON text, answer, write the answer as JSON text.
    let json = r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":12000,"outputTokens":3000}]}"#;
    c.bench_function("json/estimate_text_item", |b| {
        b.iter(|| {
            let run: Run = tollgate::parse_request(black_box(json)).ok()?;
            serde_json::to_string(&engine.estimate(&run).ok()?).ok()
        })
    });
}

criterion_group!(estimate, benches);
criterion_main!(estimate);
