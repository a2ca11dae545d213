//! The credit ledger over the tollgate engine: each organization's credits
//! kept in a database, the engine run *inside* every write transaction, so
//! that checking and recording are one atomic step.
//!
//! ```
//! use tollgate::{Decimal, Engine, Run};
//! use tollgate_ledger::{At, Ledger, Reserve, Settle, SqliteStore, TopUp};
//!
//! let ledger = Ledger::new(SqliteStore::open("sqlite::memory:")?, Engine::embedded()?);
//! let at = At::parse("2026-11-30T12:00:00Z")?;
//! ledger.open_org(at, "acme", "pro")?;
//! ledger.top_up(at, &TopUp {
//!     org: "acme".into(), role: "owner".into(), credits: Decimal::from(100),
//!     payment_ref: "pi_1".into(), key: "top-up-1".into(),
//! })?;
//! let run: Run = tollgate::parse_request(r#"{"tool": "storyboard"}"#)?;
//! let reserved = ledger.reserve(at, &Reserve {
//!     org: "acme".into(), role: "editor".into(), run: run.clone(), context: None,
//!     ttl_ms: 15 * 60_000, fingerprint: None, key: "run-1".into(),
//! })?;
//! let hold = reserved.hold.expect("allowed");
//! let receipt = ledger.settle(at, &Settle { hold: hold.id, run, key: "run-1-done".into() })?;
//! assert_eq!(receipt.charged, Decimal::from(5));
//! assert_eq!(ledger.state(at, "acme")?.org.balance, Decimal::from(95));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! From an async service (tokio), the feature `tokio` gives `AsyncLedger`:
//! the same operations, awaited, each run on tokio's blocking pool (SQLite
//! is a blocking library, and a transaction may wait for the file's write
//! lock), so the runtime's workers never stall.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod answer;
mod any;
mod error;
mod ops;
mod postgres;
mod sqlite;
mod store;
mod time;
#[cfg(feature = "tokio")]
mod tokio;

pub use answer::{
    read_payments, Credited, Entry, Expired, Hold, Mismatch, Payment, PriceChanged, Receipt, Reconciliation, Refusal,
    Reserved, State, Statement,
};
pub use any::AnyStore;
pub use error::LedgerError;
pub use ops::{Grant, Ledger, Reserve, Settle, TopUp, GRANT_ACTION};
pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, SCHEMA_VERSION};
pub use store::{HoldRow, KeyRecord, LotRow, OrgRow, PoolRow, Store, Tx};
pub use time::{parse_ttl, At};
#[cfg(feature = "tokio")]
pub use tokio::AsyncLedger;
