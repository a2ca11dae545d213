#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

//! The same ledger on PostgreSQL: a throwaway cluster (tests/common), the
//! whole scenario corpus giving the very transcripts SQLite gives, threads
//! with their own connections racing on one organization, and the schema
//! checks. When the cluster cannot be started the tests fail: they never
//! skip.

mod common;

use common::scenario::{play, scenarios};
use common::Cluster;
use tollgate::{Decimal, Engine, Run, Verdict};
use tollgate_ledger::{At, Grant, HoldRow, Ledger, LedgerError, PostgresStore, Reserve, Settle, Store};

/// One throwaway cluster for all the checks, stopped when this test ends,
/// whether they pass or fail (`Drop` runs while a failure unwinds).
#[test]
fn the_ledger_on_postgres() {
    let cluster = Cluster::start();
    the_scenario_corpus_gives_the_same_transcripts_on_postgres(&cluster);
    connections_racing_on_one_organization_win_exactly_what_fits(&cluster);
    one_store_shared_by_threads_uses_its_pool(&cluster);
    foreign_and_newer_databases_are_refused(&cluster);
    run_counts_told_ahead_answer_as_counted(&cluster);
}

fn the_scenario_corpus_gives_the_same_transcripts_on_postgres(cluster: &Cluster) {
    let mut differ = Vec::new();
    for (n, path) in scenarios().iter().enumerate() {
        let url = cluster.database(&format!("scenario{n}"));
        let got = play(path, PostgresStore::open(&url).unwrap());
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        if got != expected {
            differ.push(format!("{}:\n{got}", path.display()));
        }
    }
    assert!(differ.is_empty(), "{} scenarios differ on PostgreSQL:\n{}", differ.len(), differ.join("\n"));
}

fn connections_racing_on_one_organization_win_exactly_what_fits(cluster: &Cluster) {
    let url = cluster.database("race");
    let at = At::parse("2026-11-30T12:00:00Z").unwrap();
    let setup = Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap());
    setup.open_org(at, "acme", "pro").unwrap();
    let grant = Grant {
        org: "acme".into(),
        role: "support".into(),
        credits: Decimal::from(60),
        reason: "test".into(),
        expires_at: None,
        key: "g".into(),
    };
    setup.grant(at, &grant).unwrap();
    let run: Run = tollgate::parse_request(r#"{"tool":"storyboard"}"#).unwrap();
    // Sixteen servers, each its own connection; twelve runs of 5 fit.
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (url, run) = (url.clone(), run.clone());
            std::thread::spawn(move || {
                let ledger = Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap());
                let mut won = 0;
                for j in 0..3 {
                    let req = Reserve {
                        org: "acme".into(),
                        role: "editor".into(),
                        run: run.clone(),
                        context: None,
                        ttl_ms: 60_000,
                        fingerprint: None,
                        key: format!("r{i}-{j}"),
                    };
                    if ledger.reserve(at, &req).unwrap().verdict == Verdict::Allowed {
                        won += 1;
                    }
                }
                won
            })
        })
        .collect();
    let won: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(won, 12, "60 credits hold twelve runs of 5");
    let state = setup.state(at, "acme").unwrap();
    assert_eq!((state.held, state.available), (Decimal::from(60), Decimal::ZERO));
    assert!(setup.audit().unwrap().is_empty());
}

fn foreign_and_newer_databases_are_refused(cluster: &Cluster) {
    let foreign = cluster.database("foreign");
    let mut client = postgres::Client::connect(&foreign, postgres::NoTls).unwrap();
    client.batch_execute("CREATE TABLE users (name TEXT)").unwrap();
    let e = PostgresStore::open(&foreign).err().expect("refused");
    assert!(matches!(e, LedgerError::Schema(_)), "{e}");
    assert!(e.to_string().starts_with("this database is not a tollgate ledger"), "{e}");

    let newer = cluster.database("newer");
    drop(PostgresStore::open(&newer).unwrap());
    let mut client = postgres::Client::connect(&newer, postgres::NoTls).unwrap();
    client.batch_execute("UPDATE tollgate_ledger SET value = '99' WHERE key = 'schema'").unwrap();
    let e = PostgresStore::open(&newer).err().expect("refused");
    assert_eq!(e.to_string(), "this ledger has schema version 99; this build knows up to 2: use a newer tollgate");
}

/// One `Ledger` shared by many threads: each transaction takes a connection
/// of the store's pool, and they run at once, the database keeping them apart.
fn one_store_shared_by_threads_uses_its_pool(cluster: &Cluster) {
    let url = cluster.database("pool");
    let at = At::parse("2026-11-30T12:00:00Z").unwrap();
    let ledger = std::sync::Arc::new(Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap()));
    for org in ["a", "b", "c", "d"] {
        ledger.open_org(at, org, "pro").unwrap();
        let grant = Grant {
            org: org.into(),
            role: "support".into(),
            credits: Decimal::from(25),
            reason: "test".into(),
            expires_at: None,
            key: format!("g-{org}"),
        };
        ledger.grant(at, &grant).unwrap();
    }
    let run: Run = tollgate::parse_request(r#"{"tool":"storyboard"}"#).unwrap();
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let (ledger, run) = (std::sync::Arc::clone(&ledger), run.clone());
            std::thread::spawn(move || {
                let req = Reserve {
                    org: ["a", "b", "c", "d"][i % 4].into(),
                    role: "editor".into(),
                    run,
                    context: None,
                    ttl_ms: 60_000,
                    fingerprint: None,
                    key: format!("p{i}"),
                };
                ledger.reserve(at, &req).unwrap().verdict == Verdict::Allowed
            })
        })
        .collect();
    let won = handles.into_iter().map(|h| h.join().unwrap()).filter(|w| *w).count();
    assert_eq!(won, 20, "25 credits hold five runs of 5 in each of four organizations");
    assert!(ledger.audit().unwrap().is_empty());
}

/// A write may say ahead which runs it will count (`Tx::will_count_runs`),
/// and the store counts them as it reads the organization: `runs_since`
/// answers as it would have, for a time it was told and for one it was not,
/// and counts the transaction's own new hold.
fn run_counts_told_ahead_answer_as_counted(cluster: &Cluster) {
    let url = cluster.database("counts");
    let ledger = Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap());
    let t = |s: &str| At::parse(&format!("2026-11-30T{s}:00Z")).unwrap();
    ledger.open_org(t("12:00"), "acme", "pro").unwrap();
    let grant = Grant {
        org: "acme".into(),
        role: "support".into(),
        credits: Decimal::from(100),
        reason: "test".into(),
        expires_at: None,
        key: "g".into(),
    };
    ledger.grant(t("12:00"), &grant).unwrap();
    let summarize: Run = tollgate::parse_request(r#"{"tool":"summarize"}"#).unwrap();
    let mut holds = Vec::new();
    for (n, at) in ["12:10", "13:05", "13:10", "13:15"].into_iter().enumerate() {
        let req = Reserve {
            org: "acme".into(),
            role: "editor".into(),
            run: summarize.clone(),
            context: None,
            ttl_ms: 3_600_000,
            fingerprint: None,
            key: format!("r{n}"),
        };
        holds.push(ledger.reserve(t(at), &req).unwrap().hold.expect("allowed").id);
    }
    // Settled runs count, a released one does not: 12:10, 13:05 (settled)
    // and 13:10 today; the two last since 13:00.
    ledger.settle(t("13:20"), &Settle { hold: holds[1], run: summarize.clone(), key: "s".into() }).unwrap();
    ledger.release(t("13:20"), holds[3], "x").unwrap();
    let (hour, day) = (t("13:00"), At::parse("2026-11-30T00:00:00Z").unwrap());

    let store = PostgresStore::open(&url).unwrap();
    let counted = |told: &[At]| {
        store
            .write(&mut |tx| {
                if !told.is_empty() {
                    tx.will_count_runs("acme", "summarize", told);
                }
                tx.org("acme")?.expect("acme");
                Ok((tx.runs_since("acme", "summarize", hour)?, tx.runs_since("acme", "summarize", day)?))
            })
            .unwrap()
    };
    assert_eq!(counted(&[]), (2, 3));
    assert_eq!(counted(&[hour]), (2, 3), "told the hour only");
    assert_eq!(counted(&[hour, day]), (2, 3), "told both");

    // With a hold of its own, rolled back after.
    let mut seen = None;
    let e = store
        .write(&mut |tx| {
            tx.will_count_runs("acme", "summarize", &[hour]);
            tx.org("acme")?.expect("acme");
            let before = tx.runs_since("acme", "summarize", hour)?;
            tx.insert_hold(&HoldRow {
                id: 0,
                org: "acme".into(),
                tool: Some("summarize".into()),
                amount: Decimal::ONE,
                created_at: t("13:30"),
                expires_at: t("14:30"),
                state: "open".into(),
                fingerprint: "f".into(),
                rates_version: "v".into(),
                receipt: None,
            })?;
            seen = Some((before, tx.runs_since("acme", "summarize", hour)?));
            Err::<(), _>(LedgerError::BadInput("rolled back".into()))
        })
        .unwrap_err();
    assert_eq!(e.to_string(), "rolled back");
    assert_eq!(seen, Some((2, 3)));
    assert_eq!(counted(&[hour]), (2, 3), "the hold was rolled back");
}
