//! The PostgreSQL store, for several application servers sharing one
//! ledger, over a pool of connections. Correctness comes from the
//! database's row locks, never from a lock of this process: a write
//! transaction reads an organization's row `FOR UPDATE` before anything of
//! that organization it decides on (the operations keep to that order), so
//! writers of one organization queue on its row, and each, once it holds
//! the lock, reads what the one before committed (`READ COMMITTED`: every
//! statement sees the latest commits). A transaction the database aborts
//! (serialization or deadlock, SQLSTATE 40001, 40P01), or that lost a race
//! to insert the same idempotency key (23505), is run again from the start,
//! so the operation reads the state anew.

use crate::answer::Entry;
use crate::store::{dec, text, HoldRow, LotRow, OrgRow, PoolRow, Store, Tx, ENTRY, HOLD};
use crate::time::At;
use crate::LedgerError;
use postgres::error::SqlState;
use postgres::Statement;
use postgres::{Client, IsolationLevel, NoTls, Row, Transaction};
use std::collections::HashMap;
use tollgate::{Decimal, Money};

/// The schema version this build writes and reads (as SQLite's).
const SCHEMA_VERSION: i64 = crate::sqlite::SCHEMA_VERSION;

/// How many times a transaction the database aborted is run again.
const RETRIES: usize = 64;

const SCHEMA: &str = "
CREATE TABLE tollgate_ledger (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE orgs (
  slug TEXT PRIMARY KEY,
  plan TEXT NOT NULL,
  status TEXT NOT NULL,
  balance TEXT NOT NULL,
  usage TEXT NOT NULL,
  spend_cap TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE entries (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org TEXT NOT NULL REFERENCES orgs(slug),
  at BIGINT NOT NULL,
  kind TEXT NOT NULL,
  amount TEXT NOT NULL,
  balance_after TEXT NOT NULL,
  hold_id BIGINT,
  payment_ref TEXT,
  price_amount TEXT,
  price_currency TEXT,
  reason TEXT,
  expires_at BIGINT
);
CREATE INDEX entries_by_org ON entries(org, at, id);
CREATE INDEX top_ups ON entries(org, payment_ref) WHERE kind = 'top_up';
CREATE TABLE holds (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org TEXT NOT NULL REFERENCES orgs(slug),
  tool TEXT,
  amount TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  state TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  receipt TEXT,
  rates_version TEXT NOT NULL
);
CREATE INDEX holds_open ON holds(org) WHERE state = 'open';
CREATE INDEX holds_by_tool ON holds(org, tool, created_at);
CREATE TABLE lots (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  org TEXT NOT NULL REFERENCES orgs(slug),
  entry BIGINT NOT NULL REFERENCES entries(id),
  remaining TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX lots_left ON lots(org, expires_at) WHERE remaining != '0';
CREATE TABLE pools (
  seq BIGINT GENERATED ALWAYS AS IDENTITY,
  org TEXT NOT NULL REFERENCES orgs(slug),
  id TEXT NOT NULL,
  allocated TEXT NOT NULL,
  spent TEXT NOT NULL,
  tools TEXT NOT NULL,
  UNIQUE (org, id)
);
CREATE TABLE bundles (fingerprint TEXT PRIMARY KEY, bytes BYTEA NOT NULL);
CREATE TABLE idempotency (key TEXT PRIMARY KEY, request TEXT NOT NULL, answer TEXT NOT NULL, at BIGINT NOT NULL);
";

/// Connections a store keeps at most (each thread or task holds one for
/// the length of a transaction).
const POOL: u32 = 16;

/// A ledger in one PostgreSQL database, over a pool of connections.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
}

/// A pooled connection, with the statements it has prepared (each is parsed
/// and planned once per connection, not once per query).
pub struct Conn {
    client: Client,
    cache: HashMap<String, Statement>,
}

/// Makes the pool's connections (r2d2's interface).
pub struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn { client: self.config.connect(NoTls)?, cache: HashMap::new() })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

fn db(e: postgres::Error) -> LedgerError {
    // The server's own words and SQLSTATE, not just "db error".
    let text = match e.as_db_error() {
        Some(d) => format!("{} ({})", d.message(), d.code().code()),
        None => e.to_string(),
    };
    match e.code() {
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::UNIQUE_VIOLATION =>
        {
            LedgerError::Database(format!("{RETRY_MARK}{text}"))
        }
        _ => LedgerError::Database(text),
    }
}

/// A pause before running an aborted transaction again: growing with the
/// attempt (up to 64 ms), and random, so racing writers spread out.
fn backoff(attempt: usize) {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(attempt);
    let cap = 1_u64 << attempt.min(6);
    let micros = h.finish() % (cap * 1000);
    std::thread::sleep(std::time::Duration::from_micros(micros));
}

/// Marks an error whose transaction is worth running again.
const RETRY_MARK: &str = "(retryable) ";

fn retryable(e: &LedgerError) -> bool {
    matches!(e, LedgerError::Database(m) if m.starts_with(RETRY_MARK))
}

impl PostgresStore {
    /// Connects to `postgres://…` (creating the schema in an empty
    /// database). A database that holds other tables, or a ledger of a
    /// newer schema, is refused and left untouched.
    pub fn open(url: &str) -> Result<PostgresStore, LedgerError> {
        let mut client = Client::connect(url, NoTls).map_err(|e| LedgerError::Database(e.to_string()))?;
        let tables: i64 = client
            .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()", &[])
            .map_err(db)?
            .get(0);
        let ours: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'tollgate_ledger'",
                &[],
            )
            .map_err(db)?
            .get(0);
        if tables == 0 {
            let mut tx = client.transaction().map_err(db)?;
            tx.batch_execute(SCHEMA).map_err(db)?;
            tx.execute(
                "INSERT INTO tollgate_ledger (key, value) VALUES ('schema', $1)",
                &[&SCHEMA_VERSION.to_string()],
            )
            .map_err(db)?;
            tx.commit().map_err(db)?;
        } else if ours == 0 {
            return Err(LedgerError::Schema(
                "this database is not a tollgate ledger (it holds other tables); nothing was changed".into(),
            ));
        } else {
            let version: String =
                client.query_one("SELECT value FROM tollgate_ledger WHERE key = 'schema'", &[]).map_err(db)?.get(0);
            let version: i64 = version.parse().unwrap_or(i64::MAX);
            if version > SCHEMA_VERSION {
                return Err(LedgerError::Schema(format!(
                    "this ledger has schema version {version}; this build knows up to {SCHEMA_VERSION}: use a newer tollgate"
                )));
            }
        }
        drop(client);
        let config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| LedgerError::Database(e.to_string()))?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL)
            .min_idle(Some(1))
            .build(Manager { config })
            .map_err(|e| LedgerError::Database(e.to_string()))?;
        Ok(PostgresStore { pool })
    }

    fn lock(&self) -> Result<r2d2::PooledConnection<Manager>, LedgerError> {
        self.pool.get().map_err(|e| LedgerError::Database(format!("no connection to the database: {e}")))
    }
}

impl Store for PostgresStore {
    fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        let mut conn = self.lock()?;
        let Conn { client, cache } = &mut *conn;
        let mut last = None;
        for attempt in 0..RETRIES {
            if attempt > 0 {
                backoff(attempt);
            }
            let tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start().map_err(db)?;
            let mut t = PgTx { tx, cache: &mut *cache, write: true };
            match f(&mut t).and_then(|out| t.tx.commit().map_err(db).map(|()| out)) {
                Ok(out) => return Ok(out),
                Err(e) if retryable(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| LedgerError::Database("the transaction was aborted too often".into())))
    }

    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        let mut conn = self.lock()?;
        let Conn { client, cache } = &mut *conn;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?;
        let mut t = PgTx { tx, cache: &mut *cache, write: false };
        f(&mut t)
    }
}

struct PgTx<'c> {
    tx: Transaction<'c>,
    cache: &'c mut HashMap<String, Statement>,
    /// A write transaction locks the rows of the organizations it reads,
    /// so that writers of one organization queue rather than abort.
    write: bool,
}

fn entry(r: &Row) -> Result<Entry, LedgerError> {
    let price: Option<String> = r.get(8);
    let currency: Option<String> = r.get(9);
    let price = match (price, currency) {
        (Some(a), Some(c)) => Some(Money::new(dec(&a)?, c)),
        _ => None,
    };
    Ok(Entry {
        id: r.get(0),
        org: r.get(1),
        at: At(r.get(2)),
        kind: r.get(3),
        amount: dec(&r.get::<_, String>(4))?,
        balance_after: dec(&r.get::<_, String>(5))?,
        hold_id: r.get(6),
        payment_ref: r.get(7),
        price,
        reason: r.get(10),
        expires_at: r.get::<_, Option<i64>>(11).map(At),
    })
}

fn hold(r: &Row) -> Result<HoldRow, LedgerError> {
    Ok(HoldRow {
        id: r.get(0),
        org: r.get(1),
        tool: r.get(2),
        amount: dec(&r.get::<_, String>(3))?,
        created_at: At(r.get(4)),
        expires_at: At(r.get(5)),
        state: r.get(6),
        fingerprint: r.get(7),
        receipt: r.get(8),
        rates_version: r.get(9),
    })
}

impl PgTx<'_> {
    /// The statement of `sql`, prepared once per connection.
    fn st(&mut self, sql: &str) -> Result<Statement, LedgerError> {
        if let Some(st) = self.cache.get(sql) {
            return Ok(st.clone());
        }
        let st = self.tx.prepare(sql).map_err(db)?;
        self.cache.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl Tx for PgTx<'_> {
    fn org(&mut self, slug: &str) -> Result<Option<OrgRow>, LedgerError> {
        let sql = if self.write {
            "SELECT slug, plan, status, balance, usage, spend_cap FROM orgs WHERE slug = $1 FOR UPDATE"
        } else {
            "SELECT slug, plan, status, balance, usage, spend_cap FROM orgs WHERE slug = $1"
        };
        let row = self.st(sql).and_then(|st| self.tx.query_opt(&st, &[&slug]).map_err(db))?;
        row.map(|r| {
            let cap: Option<String> = r.get(5);
            Ok(OrgRow {
                slug: r.get(0),
                plan: r.get(1),
                status: r.get(2),
                balance: dec(&r.get::<_, String>(3))?,
                usage: r.get(4),
                spend_cap: cap.as_deref().map(dec).transpose()?,
            })
        })
        .transpose()
    }

    fn insert_org(&mut self, org: &OrgRow, at: At) -> Result<(), LedgerError> {
        self.st("INSERT INTO orgs (slug, plan, status, balance, usage, spend_cap, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)").and_then(|st| self.tx.execute(&st,
                &[&org.slug, &org.plan, &org.status, &text(org.balance), &org.usage, &org.spend_cap.map(text), &at.0],
            ).map_err(db))?;
        Ok(())
    }

    fn update_org(&mut self, org: &OrgRow) -> Result<(), LedgerError> {
        self.st("UPDATE orgs SET plan = $2, status = $3, balance = $4, usage = $5, spend_cap = $6 WHERE slug = $1")
            .and_then(|st| {
                self.tx
                    .execute(
                        &st,
                        &[&org.slug, &org.plan, &org.status, &text(org.balance), &org.usage, &org.spend_cap.map(text)],
                    )
                    .map_err(db)
            })?;
        Ok(())
    }

    fn org_slugs(&mut self) -> Result<Vec<String>, LedgerError> {
        Ok(self
            .st("SELECT slug FROM orgs ORDER BY slug")
            .and_then(|st| self.tx.query(&st, &[]).map_err(db))?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn insert_entry(&mut self, e: &Entry) -> Result<Entry, LedgerError> {
        let row = self.st("INSERT INTO entries (org, at, kind, amount, balance_after, hold_id, payment_ref, price_amount, price_currency, reason, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id").and_then(|st| self.tx.query_one(&st,
                &[
                    &e.org,
                    &e.at.0,
                    &e.kind,
                    &text(e.amount),
                    &text(e.balance_after),
                    &e.hold_id,
                    &e.payment_ref,
                    &e.price.as_ref().map(|p| text(p.amount)),
                    &e.price.as_ref().map(|p| p.currency.clone()),
                    &e.reason,
                    &e.expires_at.map(|a| a.0),
                ],
            ).map_err(db))?;
        let mut out = e.clone();
        out.id = row.get(0);
        Ok(out)
    }

    fn entries(&mut self, org: &str, from: Option<At>, to: Option<At>) -> Result<Vec<Entry>, LedgerError> {
        let sql = format!("SELECT {ENTRY} FROM entries WHERE org = $1 AND at >= $2 AND at < $3 ORDER BY id");
        let (from, to) = (from.map_or(i64::MIN, |a| a.0), to.map_or(i64::MAX, |a| a.0));
        self.st(&sql).and_then(|st| self.tx.query(&st, &[&org, &from, &to]).map_err(db))?.iter().map(entry).collect()
    }

    fn last_entry_at(&mut self, org: &str) -> Result<Option<At>, LedgerError> {
        let at: Option<i64> = self
            .st("SELECT max(at) FROM entries WHERE org = $1")
            .and_then(|st| self.tx.query_one(&st, &[&org]).map_err(db))?
            .get(0);
        Ok(at.map(At))
    }

    fn balance_before(&mut self, org: &str, at: At) -> Result<Decimal, LedgerError> {
        let row = self
            .st("SELECT balance_after FROM entries WHERE org = $1 AND at < $2 ORDER BY id DESC LIMIT 1")
            .and_then(|st| self.tx.query_opt(&st, &[&org, &at.0]).map_err(db))?;
        row.map_or(Ok(Decimal::ZERO), |r| dec(&r.get::<_, String>(0)))
    }

    fn charged_since(&mut self, org: &str, since: At) -> Result<Decimal, LedgerError> {
        let rows = self
            .st("SELECT amount FROM entries WHERE org = $1 AND kind = 'charge' AND at >= $2")
            .and_then(|st| self.tx.query(&st, &[&org, &since.0]).map_err(db))?;
        let mut sum = Decimal::ZERO;
        for r in rows {
            sum = sum
                .checked_sub(dec(&r.get::<_, String>(0))?)
                .ok_or_else(|| LedgerError::Database("charges overflow".into()))?;
        }
        Ok(sum)
    }

    fn top_ups(&mut self, org: &str) -> Result<Vec<Entry>, LedgerError> {
        let sql = format!("SELECT {ENTRY} FROM entries WHERE org = $1 AND kind = 'top_up' ORDER BY id");
        self.st(&sql).and_then(|st| self.tx.query(&st, &[&org]).map_err(db))?.iter().map(entry).collect()
    }

    fn top_up_by_ref(&mut self, org: &str, payment_ref: &str) -> Result<Option<i64>, LedgerError> {
        Ok(self
            .st("SELECT id FROM entries WHERE org = $1 AND kind = 'top_up' AND payment_ref = $2")
            .and_then(|st| self.tx.query_opt(&st, &[&org, &payment_ref]).map_err(db))?
            .map(|r| r.get(0)))
    }

    fn insert_hold(&mut self, h: &HoldRow) -> Result<i64, LedgerError> {
        Ok(self.st("INSERT INTO holds (org, tool, amount, created_at, expires_at, state, fingerprint, receipt, rates_version)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id").and_then(|st| self.tx.query_one(&st,
                &[
                    &h.org,
                    &h.tool,
                    &text(h.amount),
                    &h.created_at.0,
                    &h.expires_at.0,
                    &h.state,
                    &h.fingerprint,
                    &h.receipt,
                    &h.rates_version,
                ],
            ).map_err(db))?
            .get(0))
    }

    fn hold(&mut self, id: i64) -> Result<Option<HoldRow>, LedgerError> {
        let sql = format!("SELECT {HOLD} FROM holds WHERE id = $1");
        self.st(&sql).and_then(|st| self.tx.query_opt(&st, &[&id]).map_err(db))?.as_ref().map(hold).transpose()
    }

    fn close_hold(&mut self, id: i64, state: &str, receipt: &str) -> Result<(), LedgerError> {
        let n = self
            .st("UPDATE holds SET state = $2, receipt = $3 WHERE id = $1 AND state = 'open'")
            .and_then(|st| self.tx.execute(&st, &[&id, &state, &receipt]).map_err(db))?;
        if n != 1 {
            return Err(LedgerError::Database(format!("hold {id} was not open when closed")));
        }
        Ok(())
    }

    fn open_holds(&mut self, org: &str) -> Result<Vec<HoldRow>, LedgerError> {
        let sql = format!("SELECT {HOLD} FROM holds WHERE org = $1 AND state = 'open' ORDER BY id");
        self.st(&sql).and_then(|st| self.tx.query(&st, &[&org]).map_err(db))?.iter().map(hold).collect()
    }

    fn runs_since(&mut self, org: &str, tool: &str, since: At) -> Result<i64, LedgerError> {
        Ok(self.st("SELECT count(*) FROM holds WHERE org = $1 AND tool = $2 AND created_at >= $3 AND state IN ('open', 'settled')").and_then(|st| self.tx.query_one(&st,
                &[&org, &tool, &since.0],
            ).map_err(db))?
            .get(0))
    }

    fn holds_due(&mut self, at: At) -> Result<Vec<HoldRow>, LedgerError> {
        let sql = format!("SELECT {HOLD} FROM holds WHERE state = 'open' AND expires_at <= $1 ORDER BY id");
        self.st(&sql).and_then(|st| self.tx.query(&st, &[&at.0]).map_err(db))?.iter().map(hold).collect()
    }

    fn insert_lot(&mut self, lot: &LotRow) -> Result<(), LedgerError> {
        self.st("INSERT INTO lots (org, entry, remaining, expires_at) VALUES ($1, $2, $3, $4)").and_then(|st| {
            self.tx.execute(&st, &[&lot.org, &lot.entry, &text(lot.remaining), &lot.expires_at.0]).map_err(db)
        })?;
        Ok(())
    }

    fn lots(&mut self, org: &str) -> Result<Vec<LotRow>, LedgerError> {
        let rows = self.st("SELECT id, org, entry, remaining, expires_at FROM lots WHERE org = $1 AND remaining != '0' ORDER BY expires_at, id").and_then(|st| self.tx.query(&st,
                &[&org],
            ).map_err(db))?;
        rows.iter()
            .map(|r| {
                Ok(LotRow {
                    id: r.get(0),
                    org: r.get(1),
                    entry: r.get(2),
                    remaining: dec(&r.get::<_, String>(3))?,
                    expires_at: At(r.get(4)),
                })
            })
            .collect()
    }

    fn update_lot(&mut self, id: i64, remaining: Decimal) -> Result<(), LedgerError> {
        self.st("UPDATE lots SET remaining = $2 WHERE id = $1")
            .and_then(|st| self.tx.execute(&st, &[&id, &text(remaining)]).map_err(db))?;
        Ok(())
    }

    fn pools(&mut self, org: &str) -> Result<Vec<PoolRow>, LedgerError> {
        let rows = self
            .st("SELECT id, allocated, spent, tools FROM pools WHERE org = $1 ORDER BY seq")
            .and_then(|st| self.tx.query(&st, &[&org]).map_err(db))?;
        rows.iter()
            .map(|r| {
                Ok(PoolRow {
                    org: org.to_string(),
                    id: r.get(0),
                    allocated: dec(&r.get::<_, String>(1))?,
                    spent: dec(&r.get::<_, String>(2))?,
                    tools: serde_json::from_str(&r.get::<_, String>(3))?,
                })
            })
            .collect()
    }

    fn put_pool(&mut self, pool: &PoolRow) -> Result<(), LedgerError> {
        let tools = serde_json::to_string(&pool.tools)?;
        self.st("INSERT INTO pools (org, id, allocated, spent, tools) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (org, id) DO UPDATE SET allocated = $3, spent = $4, tools = $5")
            .and_then(|st| {
                self.tx
                    .execute(&st, &[&pool.org, &pool.id, &text(pool.allocated), &text(pool.spent), &tools])
                    .map_err(db)
            })?;
        Ok(())
    }

    fn put_bundle(&mut self, fingerprint: &str, bytes: &[u8]) -> Result<(), LedgerError> {
        self.st("INSERT INTO bundles (fingerprint, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .and_then(|st| self.tx.execute(&st, &[&fingerprint, &bytes]).map_err(db))?;
        Ok(())
    }

    fn has_bundle(&mut self, fingerprint: &str) -> Result<bool, LedgerError> {
        Ok(self
            .st("SELECT 1 FROM bundles WHERE fingerprint = $1")
            .and_then(|st| self.tx.query_opt(&st, &[&fingerprint]).map_err(db))?
            .is_some())
    }

    fn bundle(&mut self, fingerprint: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .st("SELECT bytes FROM bundles WHERE fingerprint = $1")
            .and_then(|st| self.tx.query_opt(&st, &[&fingerprint]).map_err(db))?
            .map(|r| r.get(0)))
    }

    fn key(&mut self, key: &str) -> Result<Option<(String, String)>, LedgerError> {
        Ok(self
            .st("SELECT request, answer FROM idempotency WHERE key = $1")
            .and_then(|st| self.tx.query_opt(&st, &[&key]).map_err(db))?
            .map(|r| (r.get(0), r.get(1))))
    }

    fn put_key(&mut self, key: &str, request: &str, answer: &str, at: At) -> Result<(), LedgerError> {
        self.st("INSERT INTO idempotency (key, request, answer, at) VALUES ($1, $2, $3, $4)")
            .and_then(|st| self.tx.execute(&st, &[&key, &request, &answer, &at.0]).map_err(db))?;
        Ok(())
    }
}
