//! What a ledger operation refuses, and why. A denial (the engine's "no",
//! with its reasons) is an answer, not an error: see [`crate::Reserved`].

use tollgate::Decimal;

/// Why a ledger operation failed. Nothing is written when one is returned:
/// every operation is one transaction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// No organization has this slug.
    #[error("no organization `{slug}` in the ledger")]
    OrgNotFound {
        /// The slug asked for.
        slug: String,
    },
    /// `open` of a slug the ledger already has.
    #[error("organization `{slug}` is already open")]
    OrgExists {
        /// The slug.
        slug: String,
    },
    /// No hold has this id.
    #[error("no hold {id} in the ledger")]
    HoldNotFound {
        /// The id asked for.
        id: i64,
    },
    /// The hold was already settled, released or expired.
    #[error("hold {id} is already {state}")]
    HoldClosed {
        /// The hold.
        id: i64,
        /// `settled`, `released` or `expired`.
        state: String,
    },
    /// The idempotency key was used for another request.
    #[error("key `{key}` was used for another request ({first})")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// What the key was first used for.
        first: String,
    },
    /// A request the ledger cannot carry out as given.
    #[error("{0}")]
    BadInput(String),
    /// The change would take the balance (or what open holds leave of it)
    /// below zero.
    #[error("{what} would take the available credits below zero (available {available})")]
    BelowZero {
        /// The operation.
        what: String,
        /// Credits available: balance less open holds.
        available: Decimal,
    },
    /// The engine refused the request (an unknown plan, role or model…).
    #[error("{message}")]
    Engine {
        /// The engine's error code (`unknown_plan`…).
        code: String,
        /// Its message.
        message: String,
    },
    /// The database is not a tollgate ledger, or of a newer schema.
    #[error("{0}")]
    Schema(String),
    /// The database failed (I/O, locking, corruption).
    #[error("database: {0}")]
    Database(String),
}

impl LedgerError {
    /// The stable code: `ORG_NOT_FOUND`, `HOLD_CLOSED`, `IDEMPOTENCY_CONFLICT`…
    pub fn code(&self) -> &str {
        match self {
            LedgerError::OrgNotFound { .. } => "ORG_NOT_FOUND",
            LedgerError::OrgExists { .. } => "ORG_EXISTS",
            LedgerError::HoldNotFound { .. } => "HOLD_NOT_FOUND",
            LedgerError::HoldClosed { .. } => "HOLD_CLOSED",
            LedgerError::IdempotencyConflict { .. } => "IDEMPOTENCY_CONFLICT",
            LedgerError::BadInput(_) => "BAD_INPUT",
            LedgerError::BelowZero { .. } => "BELOW_ZERO",
            LedgerError::Engine { code, .. } => code,
            LedgerError::Schema(_) => "SCHEMA",
            LedgerError::Database(_) => "DATABASE",
        }
    }

    /// An engine error, with its code.
    pub(crate) fn engine(code: &str, e: impl std::fmt::Display) -> Self {
        LedgerError::Engine { code: code.to_string(), message: e.to_string() }
    }
}

impl From<rusqlite::Error> for LedgerError {
    fn from(e: rusqlite::Error) -> Self {
        LedgerError::Database(e.to_string())
    }
}

impl From<serde_json::Error> for LedgerError {
    fn from(e: serde_json::Error) -> Self {
        LedgerError::Database(format!("a stored record does not read back: {e}"))
    }
}
