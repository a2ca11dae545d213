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
use tollgate_ledger::{At, Grant, Ledger, LedgerError, PostgresStore, Reserve};

/// One throwaway cluster for all the checks, stopped when this test ends,
/// whether they pass or fail (`Drop` runs while a failure unwinds).
#[test]
fn the_ledger_on_postgres() {
    let cluster = Cluster::start();
    the_scenario_corpus_gives_the_same_transcripts_on_postgres(&cluster);
    connections_racing_on_one_organization_win_exactly_what_fits(&cluster);
    one_store_shared_by_threads_uses_its_pool(&cluster);
    foreign_and_newer_databases_are_refused(&cluster);
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
