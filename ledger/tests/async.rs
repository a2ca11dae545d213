#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

//! `AsyncLedger` from a tokio runtime: many tasks reserving at once on one
//! SQLite file, or on PostgreSQL, win exactly what the balance holds, and
//! the runtime keeps serving other tasks meanwhile.

use tollgate::{Decimal, Engine, Run, Verdict};
use tollgate_ledger::{AsyncLedger, At, Grant, Ledger, PostgresStore, Reserve, SqliteStore, Store};

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_reserving_at_once_win_exactly_what_fits() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("ledger.db").display());
    win_exactly_what_fits(AsyncLedger::new(Ledger::new(SqliteStore::open(&url).unwrap(), Engine::embedded().unwrap())))
        .await;
}

/// The same on PostgreSQL (a throwaway cluster): the store's pool serves
/// the tasks, each transaction on its own connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_on_postgres_win_exactly_what_fits() {
    let (cluster, url) = cluster("tasks").await;
    // Opened on the blocking pool (PostgreSQL's blocking client cannot
    // connect on a worker); dropped at the end of this function, on one.
    let ledger = AsyncLedger::open(move || PostgresStore::open(&url), Engine::embedded().unwrap()).await.unwrap();
    win_exactly_what_fits(ledger).await;
    tokio::task::spawn_blocking(move || drop(cluster)).await.unwrap();
}

/// A PostgreSQL store dropped on one of the runtime's workers, the way a
/// service drops what it holds at shutdown: its connections close (the
/// driver's client blocks on a runtime of its own to close, which a worker
/// refuses: the store closes them on a thread of its own), and the runtime
/// goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_dropped_on_a_worker_closes_its_connections() {
    let (cluster, url) = cluster("dropped").await;
    let opened = url.clone();
    let ledger = tokio::task::spawn_blocking(move || {
        let ledger = Ledger::new(PostgresStore::open(&opened).unwrap(), Engine::embedded().unwrap());
        ledger.open_org(At::parse("2026-11-30T12:00:00Z").unwrap(), "acme", "pro").unwrap();
        ledger
    })
    .await
    .unwrap();
    // Dropped here, on a worker, with its pool's connections open.
    drop(ledger);
    let other = tokio::spawn(async { 41 + 1 });
    assert_eq!(other.await.unwrap(), 42);
    // Every connection it had is gone from the server. Each was told to
    // close before the drop returned; the server ends its side on its own
    // time, so this waits (up to ten seconds) for the count to reach 0.
    let left = tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut left = -1;
        for _ in 0..200 {
            left = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                )
                .unwrap()
                .get::<_, i64>(0);
            if left == 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        drop(client);
        drop(cluster);
        left
    })
    .await
    .unwrap();
    assert_eq!(left, 0, "the dropped store's connections are closed");
}

/// A throwaway cluster and a database on it, started on the blocking pool
/// (starting it blocks: not on a worker of the runtime).
async fn cluster(database: &'static str) -> (common::Cluster, String) {
    tokio::task::spawn_blocking(move || {
        let cluster = common::Cluster::start();
        let url = cluster.database(database);
        (cluster, url)
    })
    .await
    .unwrap()
}

async fn win_exactly_what_fits<S: Store + 'static>(ledger: AsyncLedger<S>) {
    let at = At::parse("2026-11-30T12:00:00Z").unwrap();
    ledger.open_org(at, "acme".into(), "pro".into()).await.unwrap();
    let grant = Grant {
        org: "acme".into(),
        role: "support".into(),
        credits: Decimal::from(35),
        reason: "test".into(),
        expires_at: None,
        key: "g".into(),
    };
    ledger.grant(at, grant).await.unwrap();
    let run: Run = tollgate::parse_request(r#"{"tool":"storyboard"}"#).unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let ledger = ledger.clone();
            let run = run.clone();
            tokio::spawn(async move {
                let req = Reserve {
                    org: "acme".into(),
                    role: "editor".into(),
                    run,
                    context: None,
                    ttl_ms: 60_000,
                    fingerprint: None,
                    key: format!("r{i}"),
                };
                ledger.reserve(at, req).await.unwrap().verdict
            })
        })
        .collect();
    // The runtime answers other tasks while the reserves run.
    let other = tokio::spawn(async { 41 + 1 });
    assert_eq!(other.await.unwrap(), 42);
    let mut allowed = 0;
    for t in tasks {
        if t.await.unwrap() == Verdict::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 7, "35 credits hold seven runs of 5");
    let state = ledger.state(at, "acme".into()).await.unwrap();
    assert_eq!((state.held, state.available), (Decimal::from(35), Decimal::ZERO));
    assert!(ledger.audit().await.unwrap().is_empty());
}
