//! The storage interface: what one transaction can read and write. The
//! operations (`ops.rs`) are written once over [`Tx`]; each database is one
//! implementation of [`Store`] (SQLite: `sqlite.rs`). Amounts cross as
//! decimals and are stored as their exact text; times as milliseconds.

use crate::answer::Entry;
use crate::time::At;
use crate::LedgerError;
use tollgate::Decimal;

/// A database that runs transactions.
pub trait Store: Send + Sync {
    /// Runs `f` in one write transaction, which commits when `f` returns
    /// `Ok` and rolls back (writing nothing) when it returns `Err`.
    /// Concurrent writers of one organization must queue rather than both
    /// read the same balance: SQLite takes the file's write lock first;
    /// PostgreSQL locks the organization's row when it is read (see
    /// [`Tx::org`]).
    fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError>;

    /// Runs `f` in a read-only transaction (one consistent snapshot).
    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError>;
}

/// An organization's row.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgRow {
    /// The slug.
    pub slug: String,
    /// The plan.
    pub plan: String,
    /// `active` or `suspended`.
    pub status: String,
    /// Credits: Σ entries.
    pub balance: Decimal,
    /// Host-owned counts (seats, projects…), as JSON of name → count.
    pub usage: String,
    /// The monthly spend cap, if set.
    pub spend_cap: Option<Decimal>,
    /// The start of the UTC month of the latest charge (the epoch before
    /// any).
    pub charged_month: At,
    /// Credits charged from `charged_month` on: what a spend cap compares
    /// with, kept on the row so that a reserve reads one row, not the
    /// month's charges.
    pub charged_in_month: Decimal,
}

/// A hold's row.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldRow {
    /// Its id (0 before it is written).
    pub id: i64,
    /// The organization.
    pub org: String,
    /// The tool run, if any.
    pub tool: Option<String>,
    /// Credits held.
    pub amount: Decimal,
    /// When made.
    pub created_at: At,
    /// When released if not settled.
    pub expires_at: At,
    /// `open`, `settled`, `released` or `expired`.
    pub state: String,
    /// The fingerprint of the engine that priced it.
    pub fingerprint: String,
    /// `[card] version` of the rates that priced it.
    pub rates_version: String,
    /// The receipt, as JSON, once closed.
    pub receipt: Option<String>,
}

/// An earmarked pool of credits: some tools' runs draw on it.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolRow {
    /// The organization.
    pub org: String,
    /// The pool's name.
    pub id: String,
    /// Credits earmarked.
    pub allocated: Decimal,
    /// Credits charged to it.
    pub spent: Decimal,
    /// The tools whose runs draw on it.
    pub tools: Vec<String>,
}

/// Granted credits that expire: what is left of them.
#[derive(Debug, Clone, PartialEq)]
pub struct LotRow {
    /// Its id.
    pub id: i64,
    /// The organization.
    pub org: String,
    /// The grant entry that made it.
    pub entry: i64,
    /// Credits left.
    pub remaining: Decimal,
    /// When they expire.
    pub expires_at: At,
}

/// What an idempotency key recorded: the request (its operation and
/// SHA-256) and the first answer.
pub type KeyRecord = (String, String);

/// What one transaction can do.
pub trait Tx {
    /// The organization, if the ledger has it. In a write transaction this
    /// read locks the organization until the transaction ends, and the
    /// operations read it before anything of the organization they decide
    /// on (its holds, pools, expiring credits, journal), so what they read
    /// next is what the writer before them committed.
    fn org(&mut self, slug: &str) -> Result<Option<OrgRow>, LedgerError>;
    /// Adds an organization.
    fn insert_org(&mut self, org: &OrgRow, at: At) -> Result<(), LedgerError>;
    /// Writes an organization's plan, status, balance, usage and cap.
    fn update_org(&mut self, org: &OrgRow) -> Result<(), LedgerError>;
    /// Every organization's slug, sorted.
    fn org_slugs(&mut self) -> Result<Vec<String>, LedgerError>;

    /// Appends a journal entry (`id` is assigned) and returns it.
    fn insert_entry(&mut self, entry: &Entry) -> Result<Entry, LedgerError>;
    /// The organization's entries with `from ≤ at < to`, in order.
    fn entries(&mut self, org: &str, from: Option<At>, to: Option<At>) -> Result<Vec<Entry>, LedgerError>;
    /// The time of the organization's latest entry, if any.
    fn last_entry_at(&mut self, org: &str) -> Result<Option<At>, LedgerError>;
    /// The balance after the last entry before `at` (0 if none).
    fn balance_before(&mut self, org: &str, at: At) -> Result<Decimal, LedgerError>;
    /// Credits charged to the organization at or after `since`.
    fn charged_since(&mut self, org: &str, since: At) -> Result<Decimal, LedgerError>;
    /// The top-up entries of the organization.
    fn top_ups(&mut self, org: &str) -> Result<Vec<Entry>, LedgerError>;

    /// The top-up entry of a payment reference, if one was recorded.
    fn top_up_by_ref(&mut self, org: &str, payment_ref: &str) -> Result<Option<i64>, LedgerError>;

    /// Adds a hold; returns its id.
    fn insert_hold(&mut self, hold: &HoldRow) -> Result<i64, LedgerError>;
    /// A hold by id.
    fn hold(&mut self, id: i64) -> Result<Option<HoldRow>, LedgerError>;
    /// Closes a hold: its state, and its receipt.
    fn close_hold(&mut self, id: i64, state: &str, receipt: &str) -> Result<(), LedgerError>;
    /// The organization's open holds.
    fn open_holds(&mut self, org: &str) -> Result<Vec<HoldRow>, LedgerError>;
    /// Holds of a tool made at or after `since` that are open or settled
    /// (a run in flight or done; a released one never ran).
    fn runs_since(&mut self, org: &str, tool: &str, since: At) -> Result<i64, LedgerError>;
    /// A hint, given before the organization is read: once it is, the
    /// operation will count the runs of `tool` since each of `since`
    /// ([`Tx::runs_since`]). A store may count them when it reads the
    /// organization, in the same round trip, and must then answer
    /// `runs_since` as it would have; by default the hint is ignored.
    fn will_count_runs(&mut self, _org: &str, _tool: &str, _since: &[At]) {}
    /// Open holds whose time ran out at `at`.
    fn holds_due(&mut self, at: At) -> Result<Vec<HoldRow>, LedgerError>;

    /// Adds expiring credits.
    fn insert_lot(&mut self, lot: &LotRow) -> Result<(), LedgerError>;
    /// The organization's expiring credits with some left, soonest first.
    fn lots(&mut self, org: &str) -> Result<Vec<LotRow>, LedgerError>;
    /// Sets what is left of a lot.
    fn update_lot(&mut self, id: i64, remaining: Decimal) -> Result<(), LedgerError>;

    /// The organization's pools, in the order they were first set.
    fn pools(&mut self, org: &str) -> Result<Vec<PoolRow>, LedgerError>;
    /// Adds a pool, or sets its allocation, tools and spent credits.
    fn put_pool(&mut self, pool: &PoolRow) -> Result<(), LedgerError>;

    /// Keeps a bundle (the engine a hold was priced with), once.
    fn put_bundle(&mut self, fingerprint: &str, bytes: &[u8]) -> Result<(), LedgerError>;
    /// Whether a bundle is kept.
    fn has_bundle(&mut self, fingerprint: &str) -> Result<bool, LedgerError>;
    /// A kept bundle.
    fn bundle(&mut self, fingerprint: &str) -> Result<Option<Vec<u8>>, LedgerError>;

    /// The request and answer first recorded under an idempotency key.
    fn key(&mut self, key: &str) -> Result<Option<KeyRecord>, LedgerError>;
    /// A key's record and the organization, as [`Tx::key`] and [`Tx::org`]
    /// give them: a store may read both in one round trip.
    fn key_and_org(&mut self, key: &str, slug: &str) -> Result<(Option<KeyRecord>, Option<OrgRow>), LedgerError> {
        Ok((self.key(key)?, self.org(slug)?))
    }

    /// A key's record and a hold, as [`Tx::key`] and [`Tx::hold`] give
    /// them: a store may read both in one round trip.
    fn key_and_hold(&mut self, key: &str, id: i64) -> Result<(Option<KeyRecord>, Option<HoldRow>), LedgerError> {
        Ok((self.key(key)?, self.hold(id)?))
    }

    /// Records a key's request and answer.
    fn put_key(&mut self, key: &str, request: &str, answer: &str, at: At) -> Result<(), LedgerError>;
}

/// A stored amount: the exact text written, read back exactly.
pub(crate) fn dec(text: &str) -> Result<Decimal, LedgerError> {
    Decimal::from_str_exact(text).map_err(|e| LedgerError::Database(format!("stored amount `{text}`: {e}")))
}

/// What an organization's row keeps of its `charges` (each a time and the
/// credits charged, in any order): the UTC month of the latest, and the
/// credits charged from that month's start on. Schema migrations and
/// `audit` derive it from the journal.
pub(crate) fn month_charged(charges: &[(At, Decimal)]) -> Result<(At, Decimal), LedgerError> {
    let Some(last) = charges.iter().map(|(at, _)| *at).max() else {
        return Ok((At(0), Decimal::ZERO));
    };
    let [_, _, month] = last.window_starts()?;
    let mut sum = Decimal::ZERO;
    for (at, credits) in charges {
        if *at >= month {
            sum = sum.checked_add(*credits).ok_or_else(|| LedgerError::Database("charges overflow".into()))?;
        }
    }
    Ok((month, sum))
}

/// [`month_charged`] of each organization, from charge entries as stored
/// (organization, time, amount: a charge's amount is negative), grouped by
/// organization.
pub(crate) fn month_totals(rows: Vec<(String, i64, String)>) -> Result<Vec<(String, At, Decimal)>, LedgerError> {
    let mut out = Vec::new();
    let mut charges = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some((org, at, amount)) = rows.next() {
        let charged =
            Decimal::ZERO.checked_sub(dec(&amount)?).ok_or_else(|| LedgerError::Database("charges overflow".into()))?;
        charges.push((At(at), charged));
        if rows.peek().is_none_or(|(next, _, _)| *next != org) {
            let (month, sum) = month_charged(&charges)?;
            out.push((org, month, sum));
            charges.clear();
        }
    }
    Ok(out)
}

/// An amount as stored: its normalized text.
pub(crate) fn text(d: Decimal) -> String {
    d.normalize().to_string()
}

/// The columns of an entry, in the order the stores read them.
pub(crate) const ENTRY: &str =
    "id, org, at, kind, amount, balance_after, hold_id, payment_ref, price_amount, price_currency, reason, expires_at";

/// The columns of an organization, in the order the stores read them.
pub(crate) const ORG: &str = "slug, plan, status, balance, usage, spend_cap, charged_month, charged_in_month";

/// The columns of a hold, in the order the stores read them.
pub(crate) const HOLD: &str =
    "id, org, tool, amount, created_at, expires_at, state, fingerprint, receipt, rates_version";
