//! One store type for a database named by URL: `sqlite:…` or `postgres://…`.

use crate::postgres::PostgresStore;
use crate::sqlite::SqliteStore;
use crate::store::{Store, Tx};
use crate::LedgerError;

/// The store a URL names.
pub enum AnyStore {
    /// `sqlite:PATH`, `sqlite::memory:`.
    Sqlite(SqliteStore),
    /// `postgres://…` (or `postgresql://…`).
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens the database `url` names.
    pub fn open(url: &str) -> Result<AnyStore, LedgerError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return PostgresStore::open(url).map(AnyStore::Postgres);
        }
        if url.starts_with("sqlite:") {
            return SqliteStore::open(url).map(AnyStore::Sqlite);
        }
        Err(LedgerError::BadInput(format!(
            "`{url}` is no database URL this ledger opens: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`"
        )))
    }
}

impl Store for AnyStore {
    fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        match self {
            AnyStore::Sqlite(s) => s.write(f),
            AnyStore::Postgres(s) => s.write(f),
        }
    }

    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        match self {
            AnyStore::Sqlite(s) => s.read(f),
            AnyStore::Postgres(s) => s.read(f),
        }
    }
}
