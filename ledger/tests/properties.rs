#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code

//! Random sequences of operations on a few organizations keep every
//! invariant of the ledger: replaying the journal gives each balance, the
//! balance never goes below zero or below its open holds, a hold closes
//! once, a retry with the same key changes nothing, and a refused
//! operation writes nothing. Amounts are decimals end to end. On SQLite
//! and, with fewer cases (a database each), on PostgreSQL.

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tollgate::{Decimal, Engine, Run};
use tollgate_ledger::{
    At, Grant, Ledger, LedgerError, PostgresStore, Reserve, Settle, SqliteStore, Statement, Store, TopUp,
};

#[derive(Debug, Clone)]
enum Op {
    TopUp { org: usize, blocks: u32 },
    Grant { org: usize, credits: i32, expires_in_h: Option<u8> },
    Reserve { org: usize, run: usize, ttl_m: u8 },
    Settle { hold: usize, run: usize },
    Release { hold: usize },
    Expire,
    Retry { index: usize },
    Later { minutes: u16 },
}

const ORGS: [&str; 2] = ["acme", "beta"];

/// Runs by tool (a hold is settled with a run of its own tool).
const RUNS: [&str; 5] = [
    r#"{"tool":"storyboard"}"#,
    r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1000,"outputTokens":{"min":0,"max":20000}}]}"#,
    r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1000,"outputTokens":7000}]}"#,
    r#"{"tool":"video-gen"}"#,
    r#"{"items":[{"kind":"image","model":"gpt-image-1","count":2}]}"#,
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..2usize, 10..40u32).prop_map(|(org, blocks)| Op::TopUp { org, blocks }),
        (0..2usize, -80..120i32, proptest::option::of(1..72u8)).prop_map(|(org, credits, expires_in_h)| Op::Grant {
            org,
            credits,
            expires_in_h
        }),
        (0..2usize, 0..RUNS.len(), 1..30u8).prop_map(|(org, run, ttl_m)| Op::Reserve { org, run, ttl_m }),
        (0..12usize, 0..RUNS.len()).prop_map(|(hold, run)| Op::Settle { hold, run }),
        (0..12usize).prop_map(|hold| Op::Release { hold }),
        Just(Op::Expire),
        (0..40usize).prop_map(|index| Op::Retry { index }),
        (1..600u16).prop_map(|minutes| Op::Later { minutes }),
    ]
}

fn run(i: usize) -> Run {
    tollgate::parse_request(RUNS[i % RUNS.len()]).unwrap()
}

/// A write, kept to retry: the closure replays it with its key.
type Write<S> = Box<dyn Fn(&Ledger<S>, At) -> Result<String, LedgerError>>;

fn statements<S: Store>(ledger: &Ledger<S>) -> Vec<Statement> {
    ORGS.iter().map(|o| ledger.statement(o, None, None).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_invariant(ops in proptest::collection::vec(op(), 1..60)) {
        let ledger = Ledger::new(SqliteStore::open("sqlite::memory:").unwrap(), Engine::embedded().unwrap());
        keep_every_invariant(&ledger, &ops)?;
    }
}

/// The same on PostgreSQL: one throwaway cluster, a new database per case.
#[test]
fn random_operations_keep_every_invariant_on_postgres() {
    let cluster = common::Cluster::start();
    let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
    let n = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&proptest::collection::vec(op(), 1..60), |ops| {
        let case = n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = cluster.database(&format!("case{case}"));
        let ledger = Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap());
        keep_every_invariant(&ledger, &ops)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn keep_every_invariant<S: Store + 'static>(ledger: &Ledger<S>, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut at = At::parse("2026-11-30T12:00:00Z").unwrap();
    for org in ORGS {
        ledger.open_org(at, org, "pro").unwrap();
    }
    // A monthly spend cap on one of them (the runs cross into December).
    ledger.set_spend_cap(at, "beta", Some(Decimal::from(300))).unwrap();
    let mut writes: Vec<(Write<S>, Result<String, String>)> = Vec::new();
    let mut holds: Vec<i64> = Vec::new();
    for (n, op) in ops.iter().enumerate() {
        let key = format!("k{n}");
        let write: Option<Write<S>> = match op.clone() {
            Op::TopUp { org, blocks } => Some(Box::new(move |l: &Ledger<S>, at| {
                let req = TopUp {
                    org: ORGS[org].into(),
                    role: "owner".into(),
                    credits: Decimal::from(blocks * 10),
                    payment_ref: format!("pay-{key}"),
                    key: key.clone(),
                };
                l.top_up(at, &req).map(|a| serde_json::to_string(&a).unwrap())
            })),
            Op::Grant { org, credits, expires_in_h } => {
                // Fixed when first asked: a retry is the same request.
                let expires_at =
                    expires_in_h.filter(|_| credits > 0).map(|h| at.plus(i64::from(h) * 3_600_000).unwrap());
                Some(Box::new(move |l: &Ledger<S>, at: At| {
                    let req = Grant {
                        org: ORGS[org].into(),
                        role: "support".into(),
                        credits: Decimal::from(credits),
                        reason: "property".into(),
                        expires_at,
                        key: key.clone(),
                    };
                    l.grant(at, &req).map(|a| serde_json::to_string(&a).unwrap())
                }))
            }
            Op::Reserve { org, run: r, ttl_m } => Some(Box::new(move |l: &Ledger<S>, at| {
                let req = Reserve {
                    org: ORGS[org].into(),
                    role: "editor".into(),
                    run: run(r),
                    context: None,
                    ttl_ms: i64::from(ttl_m) * 60_000,
                    fingerprint: None,
                    key: key.clone(),
                };
                l.reserve(at, &req).map(|a| serde_json::to_string(&a).unwrap())
            })),
            Op::Settle { hold, run: r } => {
                let id = holds.get(hold).copied().unwrap_or(999);
                Some(Box::new(move |l: &Ledger<S>, at| {
                    let req = Settle { hold: id, run: run(r), key: key.clone() };
                    l.settle(at, &req).map(|a| serde_json::to_string(&a).unwrap())
                }))
            }
            Op::Release { hold } => {
                let id = holds.get(hold).copied().unwrap_or(999);
                Some(Box::new(move |l: &Ledger<S>, at| {
                    l.release(at, id, &key).map(|a| serde_json::to_string(&a).unwrap())
                }))
            }
            Op::Expire => {
                ledger.expire(at).unwrap();
                None
            }
            Op::Retry { index } => {
                if let Some((w, first)) = writes.get(index % writes.len().max(1)) {
                    let before = statements(ledger);
                    let again = w(ledger, at).map_err(|e| e.code().to_string());
                    // A write that was done answers as it did and changes
                    // nothing; one that failed fails again or, the state
                    // having moved on, may now be done.
                    if first.is_ok() {
                        prop_assert_eq!(&again, first);
                        prop_assert_eq!(statements(ledger), before);
                    }
                }
                None
            }
            Op::Later { minutes } => {
                at = at.plus(i64::from(minutes) * 60_000).unwrap();
                None
            }
        };
        if let Some(w) = write {
            let before = statements(ledger);
            let result = w(ledger, at).map_err(|e| e.code().to_string());
            match &result {
                Ok(answer) => {
                    if let Ok(v) = serde_json::from_str::<serde_json::Value>(answer) {
                        if let Some(id) = v.get("hold").and_then(|h| h.get("id")).and_then(|i| i.as_i64()) {
                            holds.push(id);
                        }
                        // A denial writes nothing.
                        if v.get("verdict").and_then(|x| x.as_str()) == Some("denied") {
                            prop_assert_eq!(statements(ledger), before.clone());
                        }
                    }
                }
                // An error writes nothing.
                Err(_) => prop_assert_eq!(statements(ledger), before.clone()),
            }
            writes.push((w, result));
        }
        let wrong = ledger.audit().unwrap();
        prop_assert!(wrong.is_empty(), "after {:?}: {:?}", op, wrong);
        for s in statements(ledger) {
            let sum = s.entries.iter().try_fold(s.opening, |acc, e| acc.checked_add(e.amount)).unwrap();
            prop_assert_eq!(sum, s.closing);
            prop_assert!(s.closing >= Decimal::ZERO);
        }
    }
    Ok(())
}
