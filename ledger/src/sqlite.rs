//! The SQLite store: a file (in WAL mode, so readers do not wait for the
//! writer) or memory. Write transactions begin `IMMEDIATE`, taking the
//! database's write lock before reading: two processes reserving on one
//! file queue on the lock instead of both reading the same balance.

use crate::answer::Entry;
use crate::store::{dec, month_totals, text, HoldRow, KeyRecord, LotRow, OrgRow, PoolRow, Store, Tx, ENTRY, HOLD, ORG};
use crate::time::At;
use crate::LedgerError;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use std::sync::Mutex;
use std::time::Duration;
use tollgate::{Decimal, Money};

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 2;

/// The application id in the database header (`PRAGMA application_id`):
/// "TLGT", so that a file is known to be a ledger before a table is read.
const APPLICATION_ID: i64 = 0x544C_4754;

const SCHEMA: &str = "
CREATE TABLE orgs (
  slug TEXT PRIMARY KEY,
  plan TEXT NOT NULL,
  status TEXT NOT NULL,
  balance TEXT NOT NULL,
  usage TEXT NOT NULL,
  spend_cap TEXT,
  created_at INTEGER NOT NULL,
  charged_month INTEGER NOT NULL DEFAULT 0,
  charged_in_month TEXT NOT NULL DEFAULT '0'
);
CREATE TABLE entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL REFERENCES orgs(slug),
  at INTEGER NOT NULL,
  kind TEXT NOT NULL,
  amount TEXT NOT NULL,
  balance_after TEXT NOT NULL,
  hold_id INTEGER,
  payment_ref TEXT,
  price_amount TEXT,
  price_currency TEXT,
  reason TEXT,
  expires_at INTEGER
);
CREATE INDEX entries_by_org ON entries(org, at, id);
CREATE INDEX top_ups ON entries(org, payment_ref) WHERE kind = 'top_up';
CREATE TABLE holds (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL REFERENCES orgs(slug),
  tool TEXT,
  amount TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  rates_version TEXT NOT NULL,
  receipt TEXT
);
-- Open holds only (a partial index): what a reserve, a settle and `expire`
-- read, however long the history.
CREATE INDEX holds_open ON holds(org) WHERE state = 'open';
CREATE INDEX holds_by_tool ON holds(org, tool, created_at);
CREATE TABLE lots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  org TEXT NOT NULL REFERENCES orgs(slug),
  entry INTEGER NOT NULL REFERENCES entries(id),
  remaining TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE pools (
  org TEXT NOT NULL REFERENCES orgs(slug),
  id TEXT NOT NULL,
  allocated TEXT NOT NULL,
  spent TEXT NOT NULL,
  tools TEXT NOT NULL,
  UNIQUE (org, id)
);
CREATE INDEX lots_left ON lots(org, expires_at) WHERE remaining != '0';
CREATE TABLE bundles (
  fingerprint TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
);
CREATE TABLE idempotency (
  key TEXT PRIMARY KEY,
  request TEXT NOT NULL,
  answer TEXT NOT NULL,
  at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Schema 1 to 2: each organization's row keeps the credits charged in
/// the month of its latest charge (filled in from the journal).
const MIGRATE_1_TO_2: &str = "
ALTER TABLE orgs ADD COLUMN charged_month INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orgs ADD COLUMN charged_in_month TEXT NOT NULL DEFAULT '0';
";

/// A ledger in one SQLite database.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens `sqlite:PATH` or `sqlite::memory:` (creating the file and its
    /// tables when new). A file that is not a ledger, or of a newer schema,
    /// is refused and left untouched.
    pub fn open(url: &str) -> Result<SqliteStore, LedgerError> {
        let conn = match url.strip_prefix("sqlite:") {
            Some(":memory:") => Connection::open_in_memory()?,
            Some(path) if !path.is_empty() => Connection::open(path)?,
            _ => {
                return Err(LedgerError::BadInput(format!(
                    "`{url}` is no database URL this ledger opens: `sqlite:PATH` or `sqlite::memory:`"
                )))
            }
        };
        conn.busy_timeout(Duration::from_secs(60))?;
        let store = SqliteStore { conn: Mutex::new(conn) };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), LedgerError> {
        let mut conn = self.lock()?;
        let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if app == 0 && tables == 0 {
            // A new database: WAL (a file only; memory ignores it), then the
            // schema, in one transaction.
            let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(SCHEMA)?;
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
            tx.commit()?;
            return Ok(());
        }
        if app != APPLICATION_ID {
            return Err(LedgerError::Schema(
                "this database is not a tollgate ledger (it holds other tables); nothing was changed".into(),
            ));
        }
        if version > SCHEMA_VERSION {
            return Err(LedgerError::Schema(format!(
                "this ledger has schema version {version}; this build knows up to {SCHEMA_VERSION}: use a newer tollgate"
            )));
        }
        if version == 1 {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated it meanwhile.
            let now: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if now == 1 {
                tx.execute_batch(MIGRATE_1_TO_2)?;
                let charges = {
                    let mut st =
                        tx.prepare("SELECT org, at, amount FROM entries WHERE kind = 'charge' ORDER BY org")?;
                    let rows = st
                        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
                    rows.collect::<rusqlite::Result<Vec<_>>>()?
                };
                for (org, month, charged) in month_totals(charges)? {
                    tx.execute(
                        "UPDATE orgs SET charged_month = ?2, charged_in_month = ?3 WHERE slug = ?1",
                        params![org, month.0, text(charged)],
                    )?;
                }
                tx.execute_batch("PRAGMA user_version = 2;")?;
            }
            tx.commit()?;
            return Ok(());
        }
        if version < SCHEMA_VERSION {
            return Err(LedgerError::Schema(format!("this ledger has schema version {version}, which no build wrote")));
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, LedgerError> {
        self.conn.lock().map_err(|_| LedgerError::Database("a thread failed holding the connection".into()))
    }
}

impl Store for SqliteStore {
    fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut t = SqliteTx { tx };
        let out = f(&mut t)?;
        t.tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let mut t = SqliteTx { tx };
        f(&mut t)
        // Dropped without a commit: rolled back, nothing was written anyway.
    }
}

/// One row of a cached statement (parsed once per connection).
fn row<T, P: rusqlite::Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
    tx: &Transaction<'_>,
    sql: &str,
    params: P,
    f: F,
) -> rusqlite::Result<T> {
    tx.prepare_cached(sql)?.query_row(params, f)
}

struct SqliteTx<'c> {
    tx: Transaction<'c>,
}

fn entry(r: &Row<'_>) -> rusqlite::Result<(Entry, String, String, Option<String>)> {
    let e = Entry {
        id: r.get(0)?,
        org: r.get(1)?,
        at: At(r.get(2)?),
        kind: r.get(3)?,
        amount: Decimal::ZERO,
        balance_after: Decimal::ZERO,
        hold_id: r.get(6)?,
        payment_ref: r.get(7)?,
        price: None,
        reason: r.get(10)?,
        expires_at: r.get::<_, Option<i64>>(11)?.map(At),
    };
    let price: Option<String> = r.get(8)?;
    let currency: Option<String> = r.get(9)?;
    Ok((e, r.get(4)?, r.get(5)?, price.zip(currency).map(|(a, c)| format!("{a} {c}"))))
}

/// An entry with its amounts read exactly.
fn finish((mut e, amount, after, price): (Entry, String, String, Option<String>)) -> Result<Entry, LedgerError> {
    e.amount = dec(&amount)?;
    e.balance_after = dec(&after)?;
    if let Some((a, c)) = price.as_deref().and_then(|p| p.split_once(' ')) {
        e.price = Some(Money::new(dec(a)?, c));
    }
    Ok(e)
}

fn hold(r: &Row<'_>) -> rusqlite::Result<(HoldRow, String)> {
    Ok((
        HoldRow {
            id: r.get(0)?,
            org: r.get(1)?,
            tool: r.get(2)?,
            amount: Decimal::ZERO,
            created_at: At(r.get(4)?),
            expires_at: At(r.get(5)?),
            state: r.get(6)?,
            fingerprint: r.get(7)?,
            receipt: r.get(8)?,
            rates_version: r.get(9)?,
        },
        r.get(3)?,
    ))
}

fn finish_hold((mut h, amount): (HoldRow, String)) -> Result<HoldRow, LedgerError> {
    h.amount = dec(&amount)?;
    Ok(h)
}

impl Tx for SqliteTx<'_> {
    fn org(&mut self, slug: &str) -> Result<Option<OrgRow>, LedgerError> {
        let row = row(&self.tx, &format!("SELECT {ORG} FROM orgs WHERE slug = ?1"), [slug], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?),
                (r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, Option<String>>(5)?),
                (r.get::<_, i64>(6)?, r.get::<_, String>(7)?),
            ))
        })
        .optional()?;
        row.map(|((slug, plan, status), (balance, usage, cap), (month, charged))| {
            Ok(OrgRow {
                slug,
                plan,
                status,
                balance: dec(&balance)?,
                usage,
                spend_cap: cap.as_deref().map(dec).transpose()?,
                charged_month: At(month),
                charged_in_month: dec(&charged)?,
            })
        })
        .transpose()
    }

    fn insert_org(&mut self, org: &OrgRow, at: At) -> Result<(), LedgerError> {
        self.tx.prepare_cached("INSERT INTO orgs (slug, plan, status, balance, usage, spend_cap, created_at, charged_month, charged_in_month) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?.execute(
            params![org.slug, org.plan, org.status, text(org.balance), org.usage, org.spend_cap.map(text), at.0, org.charged_month.0, text(org.charged_in_month)],
        )?;
        Ok(())
    }

    fn update_org(&mut self, org: &OrgRow) -> Result<(), LedgerError> {
        self.tx
            .prepare_cached(
                "UPDATE orgs SET plan = ?2, status = ?3, balance = ?4, usage = ?5, spend_cap = ?6, charged_month = ?7, charged_in_month = ?8 WHERE slug = ?1",
            )?
            .execute(params![
                org.slug,
                org.plan,
                org.status,
                text(org.balance),
                org.usage,
                org.spend_cap.map(text),
                org.charged_month.0,
                text(org.charged_in_month)
            ])?;
        Ok(())
    }

    fn org_slugs(&mut self) -> Result<Vec<String>, LedgerError> {
        let mut st = self.tx.prepare_cached("SELECT slug FROM orgs ORDER BY slug")?;
        let rows = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    fn insert_entry(&mut self, e: &Entry) -> Result<Entry, LedgerError> {
        self.tx.prepare_cached("INSERT INTO entries (org, at, kind, amount, balance_after, hold_id, payment_ref, price_amount, price_currency, reason, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(
            params![
                e.org,
                e.at.0,
                e.kind,
                text(e.amount),
                text(e.balance_after),
                e.hold_id,
                e.payment_ref,
                e.price.as_ref().map(|p| text(p.amount)),
                e.price.as_ref().map(|p| p.currency.clone()),
                e.reason,
                e.expires_at.map(|a| a.0),
            ],
        )?;
        let mut out = e.clone();
        out.id = self.tx.last_insert_rowid();
        Ok(out)
    }

    fn entries(&mut self, org: &str, from: Option<At>, to: Option<At>) -> Result<Vec<Entry>, LedgerError> {
        let sql = format!("SELECT {ENTRY} FROM entries WHERE org = ?1 AND at >= ?2 AND at < ?3 ORDER BY id");
        let mut st = self.tx.prepare_cached(&sql)?;
        let rows = st
            .query_map(params![org, from.map_or(i64::MIN, |a| a.0), to.map_or(i64::MAX, |a| a.0)], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    fn last_entry_at(&mut self, org: &str) -> Result<Option<At>, LedgerError> {
        let at: Option<i64> = row(&self.tx, "SELECT max(at) FROM entries WHERE org = ?1", [org], |r| r.get(0))?;
        Ok(at.map(At))
    }

    fn balance_before(&mut self, org: &str, at: At) -> Result<Decimal, LedgerError> {
        let last: Option<String> = row(
            &self.tx,
            "SELECT balance_after FROM entries WHERE org = ?1 AND at < ?2 ORDER BY id DESC LIMIT 1",
            params![org, at.0],
            |r| r.get(0),
        )
        .optional()?;
        last.as_deref().map_or(Ok(Decimal::ZERO), dec)
    }

    fn charged_since(&mut self, org: &str, since: At) -> Result<Decimal, LedgerError> {
        let mut st =
            self.tx.prepare_cached("SELECT amount FROM entries WHERE org = ?1 AND kind = 'charge' AND at >= ?2")?;
        let amounts =
            st.query_map(params![org, since.0], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
        let mut sum = Decimal::ZERO;
        for a in amounts {
            // Charges are written below zero.
            sum = sum.checked_sub(dec(&a)?).ok_or_else(|| LedgerError::Database("charges overflow".into()))?;
        }
        Ok(sum)
    }

    fn top_ups(&mut self, org: &str) -> Result<Vec<Entry>, LedgerError> {
        let sql = format!("SELECT {ENTRY} FROM entries WHERE org = ?1 AND kind = 'top_up' ORDER BY id");
        let mut st = self.tx.prepare_cached(&sql)?;
        let rows = st.query_map([org], entry)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    fn top_up_by_ref(&mut self, org: &str, payment_ref: &str) -> Result<Option<i64>, LedgerError> {
        Ok(row(
            &self.tx,
            "SELECT id FROM entries WHERE org = ?1 AND kind = 'top_up' AND payment_ref = ?2",
            [org, payment_ref],
            |r| r.get(0),
        )
        .optional()?)
    }

    fn insert_hold(&mut self, h: &HoldRow) -> Result<i64, LedgerError> {
        self.tx.prepare_cached("INSERT INTO holds (org, tool, amount, created_at, expires_at, state, fingerprint, receipt, rates_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?.execute(
            params![h.org, h.tool, text(h.amount), h.created_at.0, h.expires_at.0, h.state, h.fingerprint, h.receipt, h.rates_version],
        )?;
        Ok(self.tx.last_insert_rowid())
    }

    fn hold(&mut self, id: i64) -> Result<Option<HoldRow>, LedgerError> {
        let sql = format!("SELECT {HOLD} FROM holds WHERE id = ?1");
        let row = row(&self.tx, &sql, [id], hold).optional()?;
        row.map(finish_hold).transpose()
    }

    fn close_hold(&mut self, id: i64, state: &str, receipt: &str) -> Result<(), LedgerError> {
        let n = self
            .tx
            .prepare_cached("UPDATE holds SET state = ?2, receipt = ?3 WHERE id = ?1 AND state = 'open'")?
            .execute(params![id, state, receipt])?;
        if n != 1 {
            return Err(LedgerError::Database(format!("hold {id} was not open when closed")));
        }
        Ok(())
    }

    fn open_holds(&mut self, org: &str) -> Result<Vec<HoldRow>, LedgerError> {
        let sql = format!("SELECT {HOLD} FROM holds WHERE org = ?1 AND state = 'open' ORDER BY id");
        let mut st = self.tx.prepare_cached(&sql)?;
        let rows = st.query_map([org], hold)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_hold).collect()
    }

    fn runs_since(&mut self, org: &str, tool: &str, since: At) -> Result<i64, LedgerError> {
        Ok(row(&self.tx,
            "SELECT count(*) FROM holds WHERE org = ?1 AND tool = ?2 AND created_at >= ?3 AND state IN ('open', 'settled')",
            params![org, tool, since.0],
            |r| r.get(0),
        )?)
    }

    fn holds_due(&mut self, at: At) -> Result<Vec<HoldRow>, LedgerError> {
        let sql = format!("SELECT {HOLD} FROM holds WHERE state = 'open' AND expires_at <= ?1 ORDER BY id");
        let mut st = self.tx.prepare_cached(&sql)?;
        let rows = st.query_map([at.0], hold)?.collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish_hold).collect()
    }

    fn insert_lot(&mut self, lot: &LotRow) -> Result<(), LedgerError> {
        self.tx
            .prepare_cached("INSERT INTO lots (org, entry, remaining, expires_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![lot.org, lot.entry, text(lot.remaining), lot.expires_at.0])?;
        Ok(())
    }

    fn lots(&mut self, org: &str) -> Result<Vec<LotRow>, LedgerError> {
        let mut st = self.tx.prepare(
            "SELECT id, org, entry, remaining, expires_at FROM lots WHERE org = ?1 AND remaining != '0' ORDER BY expires_at, id",
        )?;
        let rows = st
            .query_map([org], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, org, entry, remaining, expires)| {
                Ok(LotRow { id, org, entry, remaining: dec(&remaining)?, expires_at: At(expires) })
            })
            .collect()
    }

    fn update_lot(&mut self, id: i64, remaining: Decimal) -> Result<(), LedgerError> {
        self.tx
            .prepare_cached("UPDATE lots SET remaining = ?2 WHERE id = ?1")?
            .execute(params![id, text(remaining)])?;
        Ok(())
    }

    fn put_bundle(&mut self, fingerprint: &str, bytes: &[u8]) -> Result<(), LedgerError> {
        self.tx
            .prepare_cached("INSERT OR IGNORE INTO bundles (fingerprint, bytes) VALUES (?1, ?2)")?
            .execute(params![fingerprint, bytes])?;
        Ok(())
    }

    fn pools(&mut self, org: &str) -> Result<Vec<PoolRow>, LedgerError> {
        let mut st =
            self.tx.prepare_cached("SELECT id, allocated, spent, tools FROM pools WHERE org = ?1 ORDER BY rowid")?;
        let rows = st
            .query_map([org], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, allocated, spent, tools)| {
                Ok(PoolRow {
                    org: org.to_string(),
                    id,
                    allocated: dec(&allocated)?,
                    spent: dec(&spent)?,
                    tools: serde_json::from_str(&tools)?,
                })
            })
            .collect()
    }

    fn put_pool(&mut self, pool: &PoolRow) -> Result<(), LedgerError> {
        let tools = serde_json::to_string(&pool.tools)?;
        self.tx
            .prepare_cached(
                "INSERT INTO pools (org, id, allocated, spent, tools) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (org, id) DO UPDATE SET allocated = ?3, spent = ?4, tools = ?5",
            )?
            .execute(params![pool.org, pool.id, text(pool.allocated), text(pool.spent), tools])?;
        Ok(())
    }

    fn has_bundle(&mut self, fingerprint: &str) -> Result<bool, LedgerError> {
        Ok(row(&self.tx, "SELECT 1 FROM bundles WHERE fingerprint = ?1", [fingerprint], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn bundle(&mut self, fingerprint: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(row(&self.tx, "SELECT bytes FROM bundles WHERE fingerprint = ?1", [fingerprint], |r| r.get(0)).optional()?)
    }

    fn key(&mut self, key: &str) -> Result<Option<KeyRecord>, LedgerError> {
        Ok(row(&self.tx, "SELECT request, answer FROM idempotency WHERE key = ?1", [key], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
    }

    fn put_key(&mut self, key: &str, request: &str, answer: &str, at: At) -> Result<(), LedgerError> {
        self.tx
            .prepare_cached("INSERT INTO idempotency (key, request, answer, at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![key, request, answer, at.0])?;
        Ok(())
    }
}
