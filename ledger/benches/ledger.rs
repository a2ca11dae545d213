#![allow(clippy::expect_used, clippy::unwrap_used, clippy::arithmetic_side_effects)] // benchmark code: a failure should stop it loudly

//! The ledger's cost against the database's own: a reserve + settle pair
//! (two write transactions, the engine inside each) beside a bare one-row
//! `UPDATE` transaction, on the same SQLite file (WAL, the default
//! synchronous setting), measured side by side in one run.
//!
//! `cargo bench -p tollgate-ledger --bench ledger`

use criterion::{criterion_group, criterion_main, Criterion};
use std::cell::Cell;
use std::hint::black_box;
use tollgate::{Decimal, Engine, Run};
use tollgate_ledger::{At, Grant, Ledger, Reserve, Settle, SqliteStore};

fn pair(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("bench.db");
    let url = format!("sqlite:{}", path.display());
    let ledger = Ledger::new(SqliteStore::open(&url).expect("the ledger"), Engine::embedded().expect("the engine"));
    let at = At::parse("2026-11-30T12:00:00Z").expect("a time");
    ledger.open_org(at, "acme", "pro").expect("open");
    let grant = Grant {
        org: "acme".into(),
        role: "support".into(),
        credits: Decimal::from(1_000_000_000_i64),
        reason: "benchmark".into(),
        expires_at: None,
        key: "g".into(),
    };
    ledger.grant(at, &grant).expect("grant");
    // A run with no tool: no frequency cap ends the benchmark early.
    let run: Run = tollgate::parse_request(
        r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":{"min":0,"max":4000}}]}"#,
    )
    .expect("a run");
    let ran: Run = tollgate::parse_request(
        r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":900}]}"#,
    )
    .expect("a run");

    let bare = rusqlite::Connection::open(&path).expect("a second connection");
    bare.execute_batch("CREATE TABLE IF NOT EXISTS bench_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT OR IGNORE INTO bench_counter VALUES (1, 0);")
        .expect("the counter");

    let mut group = c.benchmark_group("sqlite_file");
    group.bench_function("bare_one_row_update_transaction", |b| {
        b.iter(|| {
            bare.execute_batch("BEGIN IMMEDIATE; UPDATE bench_counter SET n = n + 1 WHERE id = 1; COMMIT;")
                .expect("update")
        })
    });
    let n = Cell::new(0_u64);
    group.bench_function("reserve_settle_pair", |b| {
        b.iter(|| {
            let i = n.get();
            n.set(i + 1);
            let reserve = Reserve {
                org: "acme".into(),
                role: "editor".into(),
                run: run.clone(),
                context: None,
                ttl_ms: 900_000,
                fingerprint: None,
                key: format!("r{i}"),
            };
            let hold = ledger.reserve(at, &reserve).expect("reserve").hold.expect("allowed");
            black_box(
                ledger.settle(at, &Settle { hold: hold.id, run: ran.clone(), key: format!("s{i}") }).expect("settle"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, pair);
criterion_main!(benches);
