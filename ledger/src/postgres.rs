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
//!
//! Round trips are what a transaction costs here, so a transaction makes
//! few: `BEGIN` goes with its first statement; reading an organization
//! sends, in one batch, the row's lock and the reads of its open holds,
//! pools, expiring credits and latest entry (each its own statement, so
//! each sees what was committed before the lock was granted), which the
//! transaction then keeps (reading a hold to close it reads its
//! organization so, in the same round trip); writes that return nothing
//! wait for the next batch, at the latest the one that commits. A reserve
//! is three round trips (the key's record is read with the organization),
//! a settle four, a release three.

use crate::answer::Entry;
use crate::store::{dec, month_totals, text, HoldRow, KeyRecord, LotRow, OrgRow, PoolRow, Store, Tx, ENTRY, HOLD, ORG};
use crate::time::At;
use crate::LedgerError;
use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::Statement;
use postgres::{Client, NoTls, Row, SimpleQueryMessage, SimpleQueryRow};
use std::collections::{HashMap, HashSet};
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
  created_at BIGINT NOT NULL,
  charged_month BIGINT NOT NULL DEFAULT 0,
  charged_in_month TEXT NOT NULL DEFAULT '0'
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
    /// Always there, but for the moment `Drop` takes it away.
    pool: Option<r2d2::Pool<Manager>>,
}

impl Drop for PostgresStore {
    /// The pool (and each connection in it) is dropped on a thread of its
    /// own: the driver's client closes a connection by blocking on a
    /// runtime of its own, which a thread of an async runtime refuses (a
    /// panic, or an abort inside another drop). A service drops its store
    /// wherever it holds it, often on one of tokio's workers.
    fn drop(&mut self) {
        let Some(pool) = self.pool.take() else { return };
        // With no thread to be had, the failed spawn drops the pool here.
        if let Ok(closing) = std::thread::Builder::new().name("tollgate-ledger-close".into()).spawn(move || drop(pool))
        {
            // A panic there was the driver's, and is not raised again in a
            // destructor.
            let _ = closing.join();
        }
    }
}

/// A pooled connection: its statements prepared for the extended protocol
/// (each parsed and planned once per connection), and the bundles it knows
/// are kept (a bundle is never removed).
pub struct Conn {
    client: Client,
    kept: Kept,
}

/// What a connection keeps between transactions.
struct Kept {
    statements: HashMap<String, Statement>,
    bundles: HashSet<String>,
    /// A transaction on it was left open by a panic: the pool drops it.
    poisoned: bool,
}

/// Makes the pool's connections (r2d2's interface).
pub struct Manager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        let mut client = self.config.connect(NoTls)?;
        client.batch_execute(&prepared())?;
        Ok(Conn { client, kept: Kept { statements: HashMap::new(), bundles: HashSet::new(), poisoned: false } })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed() || conn.kept.poisoned
    }
}

/// The statements of the operations' common path, prepared on the server
/// once per connection (`PREPARE`) and run by name (`EXECUTE`) in batches
/// of several statements: a batch is one round trip. Their arguments are
/// literals escaped by the driver's own `escape_literal`.
fn prepared() -> String {
    format!(
        "PREPARE tg_key(text) AS SELECT request, answer FROM idempotency WHERE key = $1;
PREPARE tg_org(text) AS SELECT {ORG} FROM orgs WHERE slug = $1;
PREPARE tg_org_lock(text) AS SELECT {ORG} FROM orgs WHERE slug = $1 FOR UPDATE;
PREPARE tg_open_holds(text) AS SELECT {HOLD} FROM holds WHERE org = $1 AND state = 'open' ORDER BY id;
PREPARE tg_pools(text) AS SELECT id, allocated, spent, tools FROM pools WHERE org = $1 ORDER BY seq;
PREPARE tg_lots(text) AS SELECT id, org, entry, remaining, expires_at FROM lots WHERE org = $1 AND remaining != '0' ORDER BY expires_at, id;
PREPARE tg_last_at(text) AS SELECT max(at) FROM entries WHERE org = $1;
PREPARE tg_org_lock_by_hold(bigint) AS SELECT {ORG} FROM orgs
  WHERE slug = (SELECT org FROM holds WHERE id = $1) FOR UPDATE;
PREPARE tg_open_holds_by_hold(bigint) AS SELECT {HOLD} FROM holds
  WHERE org = (SELECT org FROM holds WHERE id = $1) AND state = 'open' ORDER BY id;
PREPARE tg_pools_by_hold(bigint) AS SELECT id, allocated, spent, tools FROM pools
  WHERE org = (SELECT org FROM holds WHERE id = $1) ORDER BY seq;
PREPARE tg_lots_by_hold(bigint) AS SELECT id, org, entry, remaining, expires_at FROM lots
  WHERE org = (SELECT org FROM holds WHERE id = $1) AND remaining != '0' ORDER BY expires_at, id;
PREPARE tg_last_at_by_hold(bigint) AS SELECT max(at) FROM entries WHERE org = (SELECT org FROM holds WHERE id = $1);
PREPARE tg_hold(bigint) AS SELECT {HOLD} FROM holds WHERE id = $1;
PREPARE tg_runs(text, text, bigint) AS SELECT count(*) FROM holds
  WHERE org = $1 AND tool = $2 AND created_at >= $3 AND state IN ('open', 'settled');
PREPARE tg_holds_due(bigint) AS SELECT {HOLD} FROM holds WHERE state = 'open' AND expires_at <= $1 ORDER BY id;
PREPARE tg_insert_hold(text, text, text, bigint, bigint, text, text, text, text) AS
  INSERT INTO holds (org, tool, amount, created_at, expires_at, state, fingerprint, receipt, rates_version)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id;
PREPARE tg_insert_entry(text, bigint, text, text, text, bigint, text, text, text, text, bigint) AS
  INSERT INTO entries (org, at, kind, amount, balance_after, hold_id, payment_ref, price_amount, price_currency, reason, expires_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id;
PREPARE tg_update_org(text, text, text, text, text, text, bigint, text) AS
  UPDATE orgs SET plan = $2, status = $3, balance = $4, usage = $5, spend_cap = $6, charged_month = $7, charged_in_month = $8
  WHERE slug = $1;
PREPARE tg_close_hold(bigint, text, text) AS UPDATE holds SET state = $2, receipt = $3 WHERE id = $1 AND state = 'open';
PREPARE tg_update_lot(bigint, text) AS UPDATE lots SET remaining = $2 WHERE id = $1;
PREPARE tg_insert_lot(text, bigint, text, bigint) AS INSERT INTO lots (org, entry, remaining, expires_at) VALUES ($1, $2, $3, $4);
PREPARE tg_put_pool(text, text, text, text, text) AS
  INSERT INTO pools (org, id, allocated, spent, tools) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (org, id) DO UPDATE SET allocated = $3, spent = $4, tools = $5;
PREPARE tg_put_key(text, text, text, bigint) AS INSERT INTO idempotency (key, request, answer, at) VALUES ($1, $2, $3, $4);"
    )
}

/// A text argument of an `EXECUTE`, quoted by the driver.
fn lit(text: &str) -> String {
    postgres_protocol::escape::escape_literal(text)
}

/// An optional text argument (`NULL` when none).
fn opt(text: Option<&str>) -> String {
    text.map_or_else(|| "NULL".to_string(), lit)
}

/// An optional integer argument.
fn opt_int(n: Option<i64>) -> String {
    n.map_or_else(|| "NULL".to_string(), |n| n.to_string())
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

/// Schema 1 to 2: each organization's row keeps the credits charged in
/// the month of its latest charge (filled in from the journal). Servers
/// opening the ledger at once take turns on the version's row; the first
/// migrates, the others find version 2.
fn migrate_1_to_2(client: &mut Client) -> Result<(), LedgerError> {
    let mut tx = client.transaction().map_err(db)?;
    let version: String =
        tx.query_one("SELECT value FROM tollgate_ledger WHERE key = 'schema' FOR UPDATE", &[]).map_err(db)?.get(0);
    if version == "1" {
        tx.batch_execute(
            "ALTER TABLE orgs ADD COLUMN charged_month BIGINT NOT NULL DEFAULT 0;
             ALTER TABLE orgs ADD COLUMN charged_in_month TEXT NOT NULL DEFAULT '0';",
        )
        .map_err(db)?;
        let charges = tx
            .query("SELECT org, at, amount FROM entries WHERE kind = 'charge' ORDER BY org", &[])
            .map_err(db)?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        for (org, month, charged) in month_totals(charges)? {
            tx.execute(
                "UPDATE orgs SET charged_month = $2, charged_in_month = $3 WHERE slug = $1",
                &[&org, &month.0, &text(charged)],
            )
            .map_err(db)?;
        }
        tx.execute("UPDATE tollgate_ledger SET value = '2' WHERE key = 'schema'", &[]).map_err(db)?;
    }
    tx.commit().map_err(db)
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
            if version == 1 {
                migrate_1_to_2(&mut client)?;
            } else if version < SCHEMA_VERSION {
                return Err(LedgerError::Schema(format!(
                    "this ledger has schema version {version}, which no build wrote"
                )));
            }
        }
        drop(client);
        let config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| LedgerError::Database(e.to_string()))?;
        let pool = r2d2::Pool::builder()
            .max_size(POOL)
            .min_idle(Some(1))
            // No round trip to test a connection at each checkout: a
            // transaction whose connection turns out closed before its
            // commit was sent wrote nothing, and runs again on a new one.
            .test_on_check_out(false)
            .build(Manager { config })
            .map_err(|e| LedgerError::Database(e.to_string()))?;
        Ok(PostgresStore { pool: Some(pool) })
    }

    fn lock(&self) -> Result<r2d2::PooledConnection<Manager>, LedgerError> {
        let pool = self.pool.as_ref().ok_or_else(|| LedgerError::Database("the store is closed".into()))?;
        pool.get().map_err(|e| LedgerError::Database(format!("no connection to the database: {e}")))
    }

    /// Runs `f` in one transaction, and again from the start (after a
    /// growing pause) when the database aborted it or when its connection
    /// closed before a write's commit was sent: it wrote nothing then. A
    /// write whose connection closed after is in doubt: its error goes to
    /// the caller, whose retry with the same key settles it.
    fn run<T>(&self, write: bool, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        let mut last = None;
        let mut conn = self.lock()?;
        for attempt in 0..RETRIES {
            if attempt > 0 {
                backoff(attempt);
            }
            if conn.client.is_closed() {
                // The closed connection goes back first (the pool discards
                // it), then a new one is taken.
                drop(conn);
                conn = self.lock()?;
            }
            let Conn { client, kept } = &mut *conn;
            let mut t = PgTx::new(client, kept, write);
            let out = f(&mut t).and_then(|out| t.commit().map(|()| out));
            let in_doubt = write && t.commit_sent;
            drop(t);
            match out {
                Ok(out) => return Ok(out),
                Err(e) if retryable(&e) => last = Some(e),
                Err(e) if !in_doubt && conn.client.is_closed() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| LedgerError::Database("the transaction was aborted too often".into())))
    }
}

impl Store for PostgresStore {
    fn write<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        self.run(true, f)
    }

    fn read<T>(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<T, LedgerError>) -> Result<T, LedgerError> {
        self.run(false, f)
    }
}

/// One transaction on a connection. It begins with its first statement
/// (`BEGIN` goes in the same batch), its writes that return nothing wait
/// and go with the next batch (the next read, or the commit), and what it
/// read of an organization it locked is kept: nobody else changes that
/// organization until it commits.
struct PgTx<'c> {
    client: &'c mut Client,
    kept: &'c mut Kept,
    /// A write transaction locks the rows of the organizations it reads.
    write: bool,
    begun: bool,
    /// Whether the commit was sent: a failure after it leaves the outcome
    /// unknown, and only the caller's retry with its key may resolve it.
    commit_sent: bool,
    done: bool,
    /// Writes not sent yet, as `EXECUTE` statements.
    pending: Vec<String>,
    /// Organizations read, with what was read of them since.
    orgs: HashMap<String, Loaded>,
    /// Runs the operation said it will count once it reads an
    /// organization (`Tx::will_count_runs`): organization, tool, times.
    runs_hint: Option<(String, String, Vec<At>)>,
}

/// What a transaction read of an organization, kept up to date with its
/// own writes (`None`: read it again from the database).
struct Loaded {
    row: OrgRow,
    holds: Option<Vec<HoldRow>>,
    pools: Option<Vec<PoolRow>>,
    lots: Option<Vec<LotRow>>,
    last_at: Option<Option<At>>,
    /// Runs of a tool since a time, counted with the organization's lock
    /// held; forgotten when a hold of the organization is written.
    runs: HashMap<(String, i64), i64>,
}

/// Which organization to load: by slug, or a hold's.
enum Which<'a> {
    Slug(&'a str),
    Hold(i64),
}

/// The rows of one statement of a batch, and how many rows it changed.
struct Set {
    rows: Vec<SimpleQueryRow>,
    changed: u64,
}

fn int(v: Option<&str>) -> Result<i64, LedgerError> {
    v.unwrap_or_default().parse().map_err(|_| LedgerError::Database(format!("a stored number `{v:?}` does not read")))
}

fn col(r: &SimpleQueryRow, i: usize) -> Option<&str> {
    r.try_get(i).ok().flatten()
}

fn need(r: &SimpleQueryRow, i: usize) -> Result<String, LedgerError> {
    col(r, i).map(String::from).ok_or_else(|| LedgerError::Database(format!("a stored value (column {i}) is missing")))
}

fn org_of(r: &SimpleQueryRow) -> Result<OrgRow, LedgerError> {
    Ok(OrgRow {
        slug: need(r, 0)?,
        plan: need(r, 1)?,
        status: need(r, 2)?,
        balance: dec(&need(r, 3)?)?,
        usage: need(r, 4)?,
        spend_cap: col(r, 5).map(dec).transpose()?,
        charged_month: At(int(col(r, 6))?),
        charged_in_month: dec(&need(r, 7)?)?,
    })
}

fn hold_of(r: &SimpleQueryRow) -> Result<HoldRow, LedgerError> {
    Ok(HoldRow {
        id: int(col(r, 0))?,
        org: need(r, 1)?,
        tool: col(r, 2).map(String::from),
        amount: dec(&need(r, 3)?)?,
        created_at: At(int(col(r, 4))?),
        expires_at: At(int(col(r, 5))?),
        state: need(r, 6)?,
        fingerprint: need(r, 7)?,
        receipt: col(r, 8).map(String::from),
        rates_version: need(r, 9)?,
    })
}

fn pool_of(org: &str, r: &SimpleQueryRow) -> Result<PoolRow, LedgerError> {
    Ok(PoolRow {
        org: org.to_string(),
        id: need(r, 0)?,
        allocated: dec(&need(r, 1)?)?,
        spent: dec(&need(r, 2)?)?,
        tools: serde_json::from_str(&need(r, 3)?)?,
    })
}

fn lot_of(r: &SimpleQueryRow) -> Result<LotRow, LedgerError> {
    Ok(LotRow {
        id: int(col(r, 0))?,
        org: need(r, 1)?,
        entry: int(col(r, 2))?,
        remaining: dec(&need(r, 3)?)?,
        expires_at: At(int(col(r, 4))?),
    })
}

/// A key's record: its request and answer.
fn key_of(set: &Set) -> Result<Option<KeyRecord>, LedgerError> {
    set.rows.first().map(|r| Ok((need(r, 0)?, need(r, 1)?))).transpose()
}

/// A `count(*)`.
fn count_of(set: &Set) -> Result<i64, LedgerError> {
    int(set.rows.first().and_then(|r| col(r, 0)))
}

fn last_at_of(set: &Set) -> Result<Option<At>, LedgerError> {
    set.rows.first().and_then(|r| col(r, 0)).map(|v| int(Some(v)).map(At)).transpose()
}

impl<'c> PgTx<'c> {
    fn new(client: &'c mut Client, kept: &'c mut Kept, write: bool) -> Self {
        PgTx {
            client,
            kept,
            write,
            begun: false,
            commit_sent: false,
            done: false,
            pending: Vec::new(),
            orgs: HashMap::new(),
            runs_hint: None,
        }
    }

    /// Sends, as one batch, `BEGIN` if not yet sent, the pending writes and
    /// `statements`; the rows of each of `statements`.
    fn batch(&mut self, statements: &[String]) -> Result<Vec<Set>, LedgerError> {
        let mut sql = String::new();
        // The results before those of `statements`: BEGIN's, the writes'.
        let mut skip = self.pending.len();
        if !self.begun {
            sql.push_str(if self.write {
                "BEGIN ISOLATION LEVEL READ COMMITTED;"
            } else {
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
            });
            skip += 1;
        }
        for s in self.pending.drain(..).chain(statements.iter().cloned()) {
            sql.push_str(&s);
            sql.push(';');
        }
        self.begun = true;
        let mut sets = Vec::new();
        let mut rows = Vec::new();
        for m in self.client.simple_query(&sql).map_err(db)? {
            match m {
                SimpleQueryMessage::Row(r) => rows.push(r),
                SimpleQueryMessage::CommandComplete(changed) => {
                    sets.push(Set { rows: std::mem::take(&mut rows), changed })
                }
                _ => {}
            }
        }
        Ok(sets.into_iter().skip(skip).collect())
    }

    /// One statement in a batch.
    fn one(&mut self, statement: String) -> Result<Set, LedgerError> {
        self.batch(&[statement])?.pop().ok_or_else(|| LedgerError::Database("the database answered no result".into()))
    }

    /// Begins the transaction and sends pending writes, before a statement
    /// of the extended protocol.
    fn flush(&mut self) -> Result<(), LedgerError> {
        if !self.begun || !self.pending.is_empty() {
            self.batch(&[])?;
        }
        Ok(())
    }

    /// The statement of `sql`, prepared once per connection.
    fn st(&mut self, sql: &str) -> Result<Statement, LedgerError> {
        self.flush()?;
        if let Some(st) = self.kept.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql).map_err(db)?;
        self.kept.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, LedgerError> {
        let st = self.st(sql)?;
        self.client.query(&st, params).map_err(db)
    }

    fn commit(&mut self) -> Result<(), LedgerError> {
        if !self.begun && self.pending.is_empty() {
            self.done = true;
            return Ok(());
        }
        let begin = if self.begun { "" } else { "BEGIN ISOLATION LEVEL READ COMMITTED;" };
        self.begun = true;
        let mut sql: String = begin.to_string();
        sql.extend(self.pending.drain(..).map(|s| s + ";"));
        sql.push_str("COMMIT");
        self.commit_sent = true;
        self.done = true;
        self.client.batch_execute(&sql).map_err(|e| {
            // A write of the batch failed: the rest, COMMIT too, was not run.
            let _ = self.client.batch_execute("ROLLBACK");
            db(e)
        })
    }

    /// Sends `lead`, then an organization's row (locked, when writing) and
    /// what the operations read of it, as statements of their own that see
    /// what was committed before the lock was granted: one round trip. The
    /// transaction keeps what it read; `lead`'s results are returned.
    fn load(&mut self, lead: Vec<String>, which: Which) -> Result<(Vec<Set>, Option<OrgRow>), LedgerError> {
        let (by, arg) = match which {
            Which::Slug(slug) => ("", lit(slug)),
            Which::Hold(id) => ("_by_hold", id.to_string()),
        };
        let lock = if self.write { "tg_org_lock" } else { "tg_org" };
        let mut statements = lead;
        let led = statements.len();
        for name in [lock, "tg_open_holds", "tg_pools", "tg_lots", "tg_last_at"] {
            statements.push(format!("EXECUTE {name}{by}({arg})"));
        }
        // The runs the operation will count, when it said so for this
        // organization: counted after the lock, like the rest.
        let hinted = match (&which, self.runs_hint.take()) {
            (Which::Slug(slug), Some((org, tool, since))) if org == *slug => {
                for t in &since {
                    statements.push(format!("EXECUTE tg_runs({}, {}, {})", lit(&org), lit(&tool), t.0));
                }
                Some((tool, since))
            }
            _ => None,
        };
        let counted = hinted.as_ref().map_or(0, |(_, since)| since.len());
        let mut sets = self.batch(&statements)?;
        if sets.len() != led + 5 + counted {
            return Err(LedgerError::Database("the database answered too few results".into()));
        }
        let counts = sets.split_off(led + 5);
        let rest = sets.split_off(led);
        let lead = sets;
        let [org, holds, pools, lots, last] =
            <[Set; 5]>::try_from(rest).map_err(|_| LedgerError::Database("too few results".into()))?;
        let mut runs = HashMap::new();
        if let Some((tool, since)) = hinted {
            for (t, set) in since.iter().zip(&counts) {
                runs.insert((tool.clone(), t.0), count_of(set)?);
            }
        }
        let Some(row) = org.rows.first().map(org_of).transpose()? else {
            return Ok((lead, None));
        };
        let loaded = Loaded {
            row: row.clone(),
            holds: Some(holds.rows.iter().map(hold_of).collect::<Result<_, _>>()?),
            pools: Some(pools.rows.iter().map(|r| pool_of(&row.slug, r)).collect::<Result<_, _>>()?),
            lots: Some(lots.rows.iter().map(lot_of).collect::<Result<_, _>>()?),
            last_at: Some(last_at_of(&last)?),
            runs,
        };
        self.orgs.insert(row.slug.clone(), loaded);
        Ok((lead, Some(row)))
    }

    /// The organization's record of this transaction, if it read it.
    fn loaded(&mut self, org: &str) -> Option<&mut Loaded> {
        self.orgs.get_mut(org)
    }
}

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        // Not while a panic unwinds (a second panic would abort): the
        // connection is marked, so the pool closes it, which ends the
        // transaction on the server.
        if self.begun && !self.done && std::thread::panicking() {
            self.kept.poisoned = true;
        } else if self.begun && !self.done {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

impl Tx for PgTx<'_> {
    fn org(&mut self, slug: &str) -> Result<Option<OrgRow>, LedgerError> {
        if let Some(l) = self.orgs.get(slug) {
            return Ok(Some(l.row.clone()));
        }
        let (_, row) = self.load(Vec::new(), Which::Slug(slug))?;
        Ok(row)
    }

    fn insert_org(&mut self, org: &OrgRow, at: At) -> Result<(), LedgerError> {
        self.query(
            "INSERT INTO orgs (slug, plan, status, balance, usage, spend_cap, created_at, charged_month, charged_in_month)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &org.slug,
                &org.plan,
                &org.status,
                &text(org.balance),
                &org.usage,
                &org.spend_cap.map(text),
                &at.0,
                &org.charged_month.0,
                &text(org.charged_in_month),
            ],
        )?;
        Ok(())
    }

    fn update_org(&mut self, org: &OrgRow) -> Result<(), LedgerError> {
        self.pending.push(format!(
            "EXECUTE tg_update_org({}, {}, {}, {}, {}, {}, {}, {})",
            lit(&org.slug),
            lit(&org.plan),
            lit(&org.status),
            lit(&text(org.balance)),
            lit(&org.usage),
            opt(org.spend_cap.map(text).as_deref()),
            org.charged_month.0,
            lit(&text(org.charged_in_month))
        ));
        if let Some(l) = self.loaded(&org.slug) {
            l.row = org.clone();
        }
        Ok(())
    }

    fn org_slugs(&mut self) -> Result<Vec<String>, LedgerError> {
        Ok(self.query("SELECT slug FROM orgs ORDER BY slug", &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn insert_entry(&mut self, e: &Entry) -> Result<Entry, LedgerError> {
        let set = self.one(format!(
            "EXECUTE tg_insert_entry({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            lit(&e.org),
            e.at.0,
            lit(&e.kind),
            lit(&text(e.amount)),
            lit(&text(e.balance_after)),
            opt_int(e.hold_id),
            opt(e.payment_ref.as_deref()),
            opt(e.price.as_ref().map(|p| text(p.amount)).as_deref()),
            opt(e.price.as_ref().map(|p| p.currency.as_str())),
            opt(e.reason.as_deref()),
            opt_int(e.expires_at.map(|a| a.0)),
        ))?;
        let mut out = e.clone();
        out.id = int(set.rows.first().and_then(|r| col(r, 0)))?;
        if let Some(Some(known)) = self.loaded(&e.org).map(|l| &mut l.last_at) {
            *known = Some(known.map_or(e.at, |last| last.max(e.at)));
        }
        Ok(out)
    }

    fn entries(&mut self, org: &str, from: Option<At>, to: Option<At>) -> Result<Vec<Entry>, LedgerError> {
        let sql = format!("SELECT {ENTRY} FROM entries WHERE org = $1 AND at >= $2 AND at < $3 ORDER BY id");
        let (from, to) = (from.map_or(i64::MIN, |a| a.0), to.map_or(i64::MAX, |a| a.0));
        self.query(&sql, &[&org, &from, &to])?.iter().map(entry).collect()
    }

    fn last_entry_at(&mut self, org: &str) -> Result<Option<At>, LedgerError> {
        if let Some(at) = self.orgs.get(org).and_then(|l| l.last_at) {
            return Ok(at);
        }
        let set = self.one(format!("EXECUTE tg_last_at({})", lit(org)))?;
        last_at_of(&set)
    }

    fn balance_before(&mut self, org: &str, at: At) -> Result<Decimal, LedgerError> {
        let rows = self.query(
            "SELECT balance_after FROM entries WHERE org = $1 AND at < $2 ORDER BY id DESC LIMIT 1",
            &[&org, &at.0],
        )?;
        rows.first().map_or(Ok(Decimal::ZERO), |r| dec(&r.get::<_, String>(0)))
    }

    fn charged_since(&mut self, org: &str, since: At) -> Result<Decimal, LedgerError> {
        let rows = self
            .query("SELECT amount FROM entries WHERE org = $1 AND kind = 'charge' AND at >= $2", &[&org, &since.0])?;
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
        self.query(&sql, &[&org])?.iter().map(entry).collect()
    }

    fn top_up_by_ref(&mut self, org: &str, payment_ref: &str) -> Result<Option<i64>, LedgerError> {
        Ok(self
            .query(
                "SELECT id FROM entries WHERE org = $1 AND kind = 'top_up' AND payment_ref = $2",
                &[&org, &payment_ref],
            )?
            .first()
            .map(|r| r.get(0)))
    }

    fn insert_hold(&mut self, h: &HoldRow) -> Result<i64, LedgerError> {
        let set = self.one(format!(
            "EXECUTE tg_insert_hold({}, {}, {}, {}, {}, {}, {}, {}, {})",
            lit(&h.org),
            opt(h.tool.as_deref()),
            lit(&text(h.amount)),
            h.created_at.0,
            h.expires_at.0,
            lit(&h.state),
            lit(&h.fingerprint),
            opt(h.receipt.as_deref()),
            lit(&h.rates_version),
        ))?;
        let id = int(set.rows.first().and_then(|r| col(r, 0)))?;
        if let Some(l) = self.loaded(&h.org) {
            l.runs.clear();
            if let Some(holds) = l.holds.as_mut() {
                holds.push(HoldRow { id, ..h.clone() });
            }
        }
        Ok(id)
    }

    fn hold(&mut self, id: i64) -> Result<Option<HoldRow>, LedgerError> {
        // An open hold of an organization this transaction read is as it
        // read it; any other is read from the database.
        let known = self.orgs.values().flat_map(|l| l.holds.iter().flatten()).find(|h| h.id == id);
        if let Some(h) = known {
            return Ok(Some(h.clone()));
        }
        if !self.write {
            return self.one(format!("EXECUTE tg_hold({id})"))?.rows.first().map(hold_of).transpose();
        }
        // A write reads a hold to close it: its organization is locked and
        // read in the same round trip (the operation reads it next).
        let (sets, _) = self.load(vec![format!("EXECUTE tg_hold({id})")], Which::Hold(id))?;
        sets.first().and_then(|set| set.rows.first()).map(hold_of).transpose()
    }

    fn close_hold(&mut self, id: i64, state: &str, receipt: &str) -> Result<(), LedgerError> {
        let statement = format!("EXECUTE tg_close_hold({id}, {}, {})", lit(state), lit(receipt));
        let known = self.orgs.values_mut().find_map(|l| {
            let holds = l.holds.as_mut()?;
            let at = holds.iter().position(|h| h.id == id)?;
            l.runs.clear();
            Some(holds.remove(at))
        });
        if known.is_none() {
            // Its organization is not known: no count is trusted.
            self.orgs.values_mut().for_each(|l| l.runs.clear());
        }
        // A hold read open with its organization locked is open: the
        // update can wait for the commit. Any other is checked now.
        if known.is_some() && self.write {
            self.pending.push(statement);
            return Ok(());
        }
        if self.one(statement)?.changed != 1 {
            return Err(LedgerError::Database(format!("hold {id} was not open when closed")));
        }
        Ok(())
    }

    fn open_holds(&mut self, org: &str) -> Result<Vec<HoldRow>, LedgerError> {
        if let Some(holds) = self.orgs.get(org).and_then(|l| l.holds.as_ref()) {
            return Ok(holds.clone());
        }
        self.one(format!("EXECUTE tg_open_holds({})", lit(org)))?.rows.iter().map(hold_of).collect()
    }

    fn runs_since(&mut self, org: &str, tool: &str, since: At) -> Result<i64, LedgerError> {
        if let Some(n) = self.orgs.get(org).and_then(|l| l.runs.get(&(tool.to_string(), since.0))) {
            return Ok(*n);
        }
        count_of(&self.one(format!("EXECUTE tg_runs({}, {}, {})", lit(org), lit(tool), since.0))?)
    }

    fn holds_due(&mut self, at: At) -> Result<Vec<HoldRow>, LedgerError> {
        self.one(format!("EXECUTE tg_holds_due({})", at.0))?.rows.iter().map(hold_of).collect()
    }

    fn insert_lot(&mut self, lot: &LotRow) -> Result<(), LedgerError> {
        self.pending.push(format!(
            "EXECUTE tg_insert_lot({}, {}, {}, {})",
            lit(&lot.org),
            lot.entry,
            lit(&text(lot.remaining)),
            lot.expires_at.0
        ));
        // Its id is the database's: the lots are read again if needed.
        if let Some(l) = self.loaded(&lot.org) {
            l.lots = None;
        }
        Ok(())
    }

    fn lots(&mut self, org: &str) -> Result<Vec<LotRow>, LedgerError> {
        if let Some(lots) = self.orgs.get(org).and_then(|l| l.lots.as_ref()) {
            return Ok(lots.clone());
        }
        self.one(format!("EXECUTE tg_lots({})", lit(org)))?.rows.iter().map(lot_of).collect()
    }

    fn update_lot(&mut self, id: i64, remaining: Decimal) -> Result<(), LedgerError> {
        self.pending.push(format!("EXECUTE tg_update_lot({id}, {})", lit(&text(remaining))));
        for lots in self.orgs.values_mut().filter_map(|l| l.lots.as_mut()) {
            if let Some(lot) = lots.iter_mut().find(|l| l.id == id) {
                lot.remaining = remaining;
            }
            lots.retain(|l| !l.remaining.is_zero());
        }
        Ok(())
    }

    fn pools(&mut self, org: &str) -> Result<Vec<PoolRow>, LedgerError> {
        if let Some(pools) = self.orgs.get(org).and_then(|l| l.pools.as_ref()) {
            return Ok(pools.clone());
        }
        self.one(format!("EXECUTE tg_pools({})", lit(org)))?.rows.iter().map(|r| pool_of(org, r)).collect()
    }

    fn put_pool(&mut self, pool: &PoolRow) -> Result<(), LedgerError> {
        let tools = serde_json::to_string(&pool.tools)?;
        self.pending.push(format!(
            "EXECUTE tg_put_pool({}, {}, {}, {}, {})",
            lit(&pool.org),
            lit(&pool.id),
            lit(&text(pool.allocated)),
            lit(&text(pool.spent)),
            lit(&tools)
        ));
        if let Some(pools) = self.loaded(&pool.org).and_then(|l| l.pools.as_mut()) {
            match pools.iter_mut().find(|p| p.id == pool.id) {
                Some(p) => *p = pool.clone(),
                None => pools.push(pool.clone()),
            }
        }
        Ok(())
    }

    fn put_bundle(&mut self, fingerprint: &str, bytes: &[u8]) -> Result<(), LedgerError> {
        self.query(
            "INSERT INTO bundles (fingerprint, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&fingerprint, &bytes],
        )?;
        Ok(())
    }

    fn has_bundle(&mut self, fingerprint: &str) -> Result<bool, LedgerError> {
        if self.kept.bundles.contains(fingerprint) {
            return Ok(true);
        }
        let kept = !self.query("SELECT 1 FROM bundles WHERE fingerprint = $1", &[&fingerprint])?.is_empty();
        if kept {
            self.kept.bundles.insert(fingerprint.to_string());
        }
        Ok(kept)
    }

    fn bundle(&mut self, fingerprint: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self.query("SELECT bytes FROM bundles WHERE fingerprint = $1", &[&fingerprint])?.first().map(|r| r.get(0)))
    }

    fn key(&mut self, key: &str) -> Result<Option<KeyRecord>, LedgerError> {
        key_of(&self.one(format!("EXECUTE tg_key({})", lit(key)))?)
    }

    fn key_and_org(&mut self, key: &str, slug: &str) -> Result<(Option<KeyRecord>, Option<OrgRow>), LedgerError> {
        if self.orgs.contains_key(slug) {
            return Ok((self.key(key)?, self.org(slug)?));
        }
        let (sets, row) = self.load(vec![format!("EXECUTE tg_key({})", lit(key))], Which::Slug(slug))?;
        let found = match sets.first() {
            Some(set) => key_of(set)?,
            None => None,
        };
        Ok((found, row))
    }

    fn will_count_runs(&mut self, org: &str, tool: &str, since: &[At]) {
        if self.write && !self.orgs.contains_key(org) {
            self.runs_hint = Some((org.to_string(), tool.to_string(), since.to_vec()));
        }
    }

    fn key_and_hold(&mut self, key: &str, id: i64) -> Result<(Option<KeyRecord>, Option<HoldRow>), LedgerError> {
        // In a write that read nothing yet (a settle's or release's start):
        // the key, the hold, and the hold's organization locked and read,
        // in one round trip.
        if !self.write || !self.orgs.is_empty() {
            return Ok((self.key(key)?, self.hold(id)?));
        }
        let (sets, _) = self
            .load(vec![format!("EXECUTE tg_key({})", lit(key)), format!("EXECUTE tg_hold({id})")], Which::Hold(id))?;
        let [found, hold] = <[Set; 2]>::try_from(sets)
            .map_err(|_| LedgerError::Database("the database answered too few results".into()))?;
        Ok((key_of(&found)?, hold.rows.first().map(hold_of).transpose()?))
    }

    fn put_key(&mut self, key: &str, request: &str, answer: &str, at: At) -> Result<(), LedgerError> {
        self.pending.push(format!("EXECUTE tg_put_key({}, {}, {}, {})", lit(key), lit(request), lit(answer), at.0));
        Ok(())
    }
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
