#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)] // benchmark code

//! The ledger on PostgreSQL beside the database's own cost: a reserve +
//! settle pair against a bare one-row `UPDATE` transaction on the same
//! server (a throwaway cluster with fsync on), with 1 and 8 clients, on one
//! hot organization and on 1,000. Criterion reports the time per operation
//! of all clients together, so pairs per second are 1 / that time.
//!
//! `cargo bench -p tollgate-ledger --bench postgres`

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tollgate::{Decimal, Engine, Run};
use tollgate_ledger::{At, Grant, Ledger, PostgresStore, Reserve, Settle};

const ORGS: usize = 1000;

fn bench(c: &mut Criterion) {
    let cluster = common::Cluster::start_with(true);
    let url = cluster.database("bench");
    let at = At::parse("2026-11-30T12:00:00Z").unwrap();
    let ledger = Arc::new(Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap()));
    for o in 0..ORGS {
        let org = format!("o{o}");
        ledger.open_org(at, &org, "pro").unwrap();
        let grant = Grant {
            org: org.clone(),
            role: "support".into(),
            credits: Decimal::from(1_000_000_000_i64),
            reason: "benchmark".into(),
            expires_at: None,
            key: format!("g{o}"),
        };
        ledger.grant(at, &grant).unwrap();
    }
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin.batch_execute("CREATE TABLE bench_counter (id INT PRIMARY KEY, n BIGINT NOT NULL)").unwrap();
    admin.batch_execute("INSERT INTO bench_counter SELECT g, 0 FROM generate_series(0, 999) g").unwrap();
    let run: Run = tollgate::parse_request(
        r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":{"min":0,"max":4000}}]}"#,
    )
    .unwrap();
    let ran: Run = tollgate::parse_request(
        r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":900}]}"#,
    )
    .unwrap();
    let counter = Arc::new(AtomicU64::new(0));

    let mut group = c.benchmark_group("postgres");
    group.sample_size(10).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(2));
    for clients in [1_usize, 8] {
        for orgs in [1_usize, ORGS] {
            let name = format!(
                "{clients}_clients_{}",
                if orgs == 1 { "1_hot_org".to_string() } else { format!("{orgs}_orgs") }
            );
            let url2 = url.clone();
            group.bench_function(format!("bare_update/{name}"), |b| {
                b.iter_custom(|iters| {
                    let per = (iters as usize).div_ceil(clients);
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for t in 0..clients {
                            let url = url2.clone();
                            s.spawn(move || {
                                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                                let st = client.prepare("UPDATE bench_counter SET n = n + 1 WHERE id = $1").unwrap();
                                for i in 0..per {
                                    let id = ((t * per + i) % orgs) as i32;
                                    client.execute(&st, &[&id]).unwrap();
                                }
                            });
                        }
                    });
                    start.elapsed()
                })
            });
            group.bench_function(format!("reserve_settle_pair/{name}"), |b| {
                b.iter_custom(|iters| pairs(&ledger, &counter, (&run, &ran), clients, orgs, iters))
            });
        }
    }
    // A run of a tool whose runs the plan counts (Pro: storyboard, 200 a
    // day): the reserve also counts the day's runs. Only on 1,000
    // organizations, where the bench's runs stay under the cap.
    let run: Run = tollgate::parse_request(
        r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":{"min":0,"max":4000}}]}"#,
    )
    .unwrap();
    let ran: Run = tollgate::parse_request(
        r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":900}]}"#,
    )
    .unwrap();
    group.bench_function("reserve_settle_pair_of_a_counted_tool/1_clients_1000_orgs", |b| {
        b.iter_custom(|iters| pairs(&ledger, &counter, (&run, &ran), 1, ORGS, iters))
    });
    group.finish();
    drop(cluster);
}

/// `iters` reserve + settle pairs by `clients` threads on `orgs`
/// organizations, each reserving `run` and settling what `ran`.
fn pairs(
    ledger: &Arc<Ledger<PostgresStore>>,
    counter: &Arc<AtomicU64>,
    (run, ran): (&Run, &Run),
    clients: usize,
    orgs: usize,
    iters: u64,
) -> Duration {
    let at = At::parse("2026-11-30T12:00:00Z").unwrap();
    let per = (iters as usize).div_ceil(clients);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..clients {
            s.spawn(move || {
                for i in 0..per {
                    let k = counter.fetch_add(1, Ordering::Relaxed);
                    let reserve = Reserve {
                        org: format!("o{}", (t * per + i) % orgs),
                        role: "editor".into(),
                        run: run.clone(),
                        context: None,
                        ttl_ms: 900_000,
                        fingerprint: None,
                        key: format!("r{k}"),
                    };
                    let hold = ledger.reserve(at, &reserve).unwrap().hold.expect("allowed");
                    ledger.settle(at, &Settle { hold: hold.id, run: ran.clone(), key: format!("s{k}") }).unwrap();
                }
            });
        }
    });
    start.elapsed()
}

criterion_group!(benches, bench);
criterion_main!(benches);
