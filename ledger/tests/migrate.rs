#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

//! Schema 1 to 2, on both stores. A ledger of schema 1 is made from one of
//! schema 2 by dropping the columns schema 2 added (it appended them) and
//! setting the version back. Opened again, it is migrated: the month of
//! charges each organization's row now keeps is filled in from the
//! journal, so every state (spend caps included) reads as before, the
//! audit finds nothing, and the ledger goes on charging.

mod common;

use tollgate::{Decimal, Engine, Run};
use tollgate_ledger::{At, Grant, Ledger, PostgresStore, Reserve, Settle, SqliteStore, Store};

#[test]
fn a_schema_1_sqlite_ledger_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
    let before = history(&Ledger::new(SqliteStore::open(&url).unwrap(), Engine::embedded().unwrap()));
    let path = dir.path().join("ledger.db");
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(
        "ALTER TABLE orgs DROP COLUMN charged_in_month;
         ALTER TABLE orgs DROP COLUMN charged_month;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(db);
    let ledger = Ledger::new(SqliteStore::open(&url).unwrap(), Engine::embedded().unwrap());
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, 2);
    goes_on_as_before(&ledger, &before);
}

#[test]
fn a_schema_1_postgres_ledger_is_migrated() {
    let cluster = common::Cluster::start();
    let url = cluster.database("migrate");
    let before = history(&Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap()));
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute(
        "ALTER TABLE orgs DROP COLUMN charged_in_month;
         ALTER TABLE orgs DROP COLUMN charged_month;
         UPDATE tollgate_ledger SET value = '1' WHERE key = 'schema';",
    )
    .unwrap();
    // Two servers opening it at once: one migrates, the other waits for it
    // and finds schema 2.
    let opened: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStore::open(&url).map(drop))
        })
        .collect();
    for o in opened {
        o.join().unwrap().unwrap();
    }
    let version: String = db.query_one("SELECT value FROM tollgate_ledger WHERE key = 'schema'", &[]).unwrap().get(0);
    assert_eq!(version, "2");
    drop(db);
    let ledger = Ledger::new(PostgresStore::open(&url).unwrap(), Engine::embedded().unwrap());
    goes_on_as_before(&ledger, &before);
}

fn at(text: &str) -> At {
    At::parse(text).unwrap()
}

fn run() -> Run {
    tollgate::parse_request(r#"{"tool":"storyboard"}"#).unwrap()
}

/// Charges in October and November on one organization with a spend cap,
/// none on another; the states read at four times.
fn history<S: Store>(ledger: &Ledger<S>) -> Vec<String> {
    let start = at("2026-10-01T09:00:00Z");
    for slug in ["acme", "idle"] {
        ledger.open_org(start, slug, "pro").unwrap();
        let grant = Grant {
            org: slug.into(),
            role: "support".into(),
            credits: Decimal::from(1000),
            reason: "test".into(),
            expires_at: None,
            key: format!("g-{slug}"),
        };
        ledger.grant(start, &grant).unwrap();
    }
    ledger.set_spend_cap(start, "acme", Some(Decimal::from(100))).unwrap();
    for (n, time) in ["2026-10-20T10:00:00Z", "2026-11-03T10:00:00Z", "2026-11-10T10:00:00Z"].iter().enumerate() {
        charge(ledger, at(time), n);
    }
    states(ledger)
}

fn charge<S: Store>(ledger: &Ledger<S>, when: At, n: usize) {
    let reserve = Reserve {
        org: "acme".into(),
        role: "editor".into(),
        run: run(),
        context: None,
        ttl_ms: 60_000,
        fingerprint: None,
        key: format!("r{n}"),
    };
    let hold = ledger.reserve(when, &reserve).unwrap().hold.expect("allowed");
    ledger.settle(when, &Settle { hold: hold.id, run: run(), key: format!("s{n}") }).unwrap();
}

fn states<S: Store>(ledger: &Ledger<S>) -> Vec<String> {
    let mut out = Vec::new();
    for time in ["2026-10-25T00:00:00Z", "2026-11-30T00:00:00Z", "2026-12-01T00:00:00Z"] {
        for slug in ["acme", "idle"] {
            out.push(serde_json::to_string(&ledger.state(at(time), slug).unwrap()).unwrap());
        }
    }
    out
}

fn goes_on_as_before<S: Store>(ledger: &Ledger<S>, before: &[String]) {
    // November's month is read from the row, December's has nothing yet;
    // October's (a state read in the past, index 0) is summed from the
    // journal, as before the migration.
    for (i, spent) in [(2, "10"), (4, "0")] {
        let field = format!(r#""spentThisMonth":"{spent}""#);
        assert!(before[i].contains(&field), "{field} in {}", before[i]);
    }
    assert_eq!(states(ledger), before);
    assert_eq!(ledger.audit().unwrap(), Vec::<String>::new());
    // And it goes on: a charge in November adds to the month kept.
    charge(ledger, at("2026-11-20T10:00:00Z"), 3);
    let state = serde_json::to_string(&ledger.state(at("2026-11-30T00:00:00Z"), "acme").unwrap()).unwrap();
    assert!(state.contains(r#""spentThisMonth":"15""#), "{state}");
    assert_eq!(ledger.audit().unwrap(), Vec::<String>::new());
}
