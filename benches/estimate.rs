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
}

criterion_group!(estimate, benches);
criterion_main!(estimate);
