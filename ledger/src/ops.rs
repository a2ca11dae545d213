//! The operations: each one transaction of the store, the engine run inside
//! it on the state it reads, so checking and recording are one step.

use crate::answer::{
    Credited, Entry, Expired, Hold, Payment, PriceChanged, Receipt, Reconciliation, Refusal, Reserved, State, Statement,
};
use crate::store::{month_charged, HoldRow, LotRow, OrgRow, PoolRow, Store, Tx};
use crate::time::At;
use crate::LedgerError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, OnceLock};
use tollgate::{
    Context, Decimal, Engine, Item, Org, OrgStatus, Pool, Quantity, QuoteRequest, Run, SpendControls, Usage, Verdict,
};

/// The billing action a grant needs.
pub const GRANT_ACTION: &str = "billing.grant";

/// `top_up`: credits bought, as the payment provider charged them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TopUp {
    /// The organization.
    pub org: String,
    /// The member's role (needs `billing.top_up`).
    pub role: String,
    /// Credits bought: whole blocks of the plan's increment.
    #[serde(with = "crate::answer::amount")]
    pub credits: Decimal,
    /// The payment provider's reference.
    pub payment_ref: String,
    /// The idempotency key.
    pub key: String,
}

/// `grant`: a signed adjustment (promotion, refund, correction).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    /// The organization.
    pub org: String,
    /// The role (needs `billing.grant`).
    pub role: String,
    /// Credits added; below zero, taken.
    #[serde(with = "crate::answer::amount")]
    pub credits: Decimal,
    /// Why, for the journal.
    pub reason: String,
    /// When granted credits expire (added credits only).
    pub expires_at: Option<At>,
    /// The idempotency key.
    pub key: String,
}

/// `reserve`: hold credits for a run about to start.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reserve {
    /// The organization.
    pub org: String,
    /// The member's role (needs `tools.run`).
    pub role: String,
    /// The run, as the quote prices it (ranges allowed: the hold is the high end).
    pub run: Run,
    /// Further context attributes for the authorization.
    pub context: Option<Context>,
    /// How long the hold lives, in milliseconds.
    pub ttl_ms: i64,
    /// The fingerprint of the engine the caller priced with, if it says.
    pub fingerprint: Option<String>,
    /// The idempotency key.
    pub key: String,
}

/// `settle`: charge what actually ran against a hold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settle {
    /// The hold.
    pub hold: i64,
    /// What ran: exact quantities.
    pub run: Run,
    /// The idempotency key.
    pub key: String,
}

/// A ledger over a store, with the engine that prices and authorizes.
pub struct Ledger<S: Store> {
    store: S,
    engine: Engine,
    bundle: OnceLock<Vec<u8>>,
    /// Engines of earlier rates, by fingerprint, for settling holds made
    /// under them.
    earlier: Mutex<HashMap<String, Engine>>,
    /// The plan each organization was last seen on (at most
    /// [`PLANS_KEPT`]), to name ahead the run windows a reserve counts.
    plans: Mutex<HashMap<String, String>>,
}

fn bad(message: impl Into<String>) -> LedgerError {
    LedgerError::BadInput(message.into())
}

fn overflow() -> LedgerError {
    bad("the amount is out of range")
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, LedgerError> {
    a.checked_add(b).ok_or_else(overflow)
}

fn sub(a: Decimal, b: Decimal) -> Result<Decimal, LedgerError> {
    a.checked_sub(b).ok_or_else(overflow)
}

/// Text kept in the database as given has no NUL character (PostgreSQL's
/// text cannot hold one; both stores refuse it alike).
fn no_nul(what: &str, text: &str) -> Result<(), LedgerError> {
    if text.contains('\0') {
        return Err(bad(format!("{what} cannot contain a NUL character")));
    }
    Ok(())
}

fn json<T: Serialize>(value: &T) -> Result<String, LedgerError> {
    serde_json::to_string(value).map_err(|e| LedgerError::Database(e.to_string()))
}

/// What a key remembers of a request: the operation and the SHA-256 of
/// the request's JSON (`reserve:9f86…`), small beside the request itself.
fn request_id(op: &str, request: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(request.as_bytes());
    let mut id = String::with_capacity(op.len().saturating_add(65));
    id.push_str(op);
    id.push(':');
    for b in digest {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// What a key keeps of an answer that is a hold's receipt: a pointer to it
/// (the receipt is kept once, with the hold).
fn receipt_of(hold: i64) -> String {
    format!("@receipt:{hold}")
}

/// The first answer of an idempotency key, if it was used for this very
/// request (an error if it was used for another), with the organization's
/// row read in the same step (locked, in a write transaction): the
/// operations on one organization start so.
fn replay_on<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    key: &str,
    request: &str,
    org: &str,
) -> Result<(Option<T>, Option<OrgRow>), LedgerError> {
    check_key(key)?;
    let (found, row) = tx.key_and_org(key, org)?;
    Ok((first_answer(tx, key, request, found)?, row))
}

/// The same, with a hold read in the same step (and its organization
/// locked, in a write transaction): settle and release start so.
fn replay_on_hold<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    key: &str,
    request: &str,
    id: i64,
) -> Result<(Option<T>, Option<HoldRow>), LedgerError> {
    check_key(key)?;
    let (found, hold) = tx.key_and_hold(key, id)?;
    Ok((first_answer(tx, key, request, found)?, hold))
}

fn check_key(key: &str) -> Result<(), LedgerError> {
    if key.is_empty() {
        return Err(bad("an idempotency key is required (any unique text, such as a request id)"));
    }
    no_nul("an idempotency key", key)
}

/// What a key's record (`found`) answers to `request`.
fn first_answer<T: DeserializeOwned>(
    tx: &mut dyn Tx,
    key: &str,
    request: &str,
    found: Option<(String, String)>,
) -> Result<Option<T>, LedgerError> {
    match found {
        None => Ok(None),
        Some((first, answer)) if first == request => {
            let text = match answer.strip_prefix("@receipt:").and_then(|id| id.parse::<i64>().ok()) {
                Some(id) => tx.hold(id)?.and_then(|h| h.receipt).ok_or_else(|| {
                    LedgerError::Database(format!("key `{key}` points at the receipt of hold {id}, which has none"))
                })?,
                None => answer,
            };
            Ok(Some(serde_json::from_str(&text)?))
        }
        Some((first, _)) => {
            let op = first.split_once(':').map_or("another operation", |(op, _)| op);
            Err(LedgerError::IdempotencyConflict { key: key.to_string(), first: format!("a {op}") })
        }
    }
}

/// Organizations whose plan a ledger remembers ([`Ledger::windows_seen`]).
const PLANS_KEPT: usize = 100_000;

impl<S: Store> Ledger<S> {
    /// A ledger over `store`, pricing and authorizing with `engine`.
    pub fn new(store: S, engine: Engine) -> Self {
        Ledger {
            store,
            engine,
            bundle: OnceLock::new(),
            earlier: Mutex::new(HashMap::new()),
            plans: Mutex::new(HashMap::new()),
        }
    }

    /// The engine new holds are priced with.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, to go on with another engine (after a reload): holds made
    /// under the old one settle at its rates, kept in the store.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Opens an organization on `plan`, with no credits.
    pub fn open_org(&self, at: At, slug: &str, plan: &str) -> Result<State, LedgerError> {
        if slug.is_empty() || slug.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!("`{slug}` is no slug: non-empty, without spaces or control characters")));
        }
        self.engine.counters(plan).map_err(|e| LedgerError::engine(e.code(), e))?;
        self.store.write(&mut |tx| {
            if tx.org(slug)?.is_some() {
                return Err(LedgerError::OrgExists { slug: slug.to_string() });
            }
            let row = OrgRow {
                slug: slug.to_string(),
                plan: plan.to_string(),
                status: "active".into(),
                balance: Decimal::ZERO,
                usage: "{}".into(),
                spend_cap: None,
                charged_month: At(0),
                charged_in_month: Decimal::ZERO,
            };
            tx.insert_org(&row, at)?;
            self.state_of(tx, &row, at)
        })
    }

    /// Sets a count the host owns (`seats`, `projects_per_org`…). Tool-run
    /// windows are the ledger's own and cannot be set.
    pub fn set_usage(&self, at: At, slug: &str, limit: &str, count: Decimal) -> Result<State, LedgerError> {
        if limit.starts_with("tools.") {
            return Err(bad(format!("`{limit}`: the ledger counts tool runs itself, from its holds")));
        }
        if count.is_sign_negative() || !count.fract().is_zero() {
            return Err(bad(format!("a count is a whole number of zero or more, not {count}")));
        }
        self.store.write(&mut |tx| {
            let mut row = org_row(tx, slug)?;
            let known = self.engine.counters(&row.plan).map_err(|e| LedgerError::engine(e.code(), e))?;
            if !known.iter().any(|k| k == limit) {
                let limits: Vec<&str> = known.iter().map(String::as_str).filter(|k| !k.starts_with("tools.")).collect();
                return Err(bad(format!("plan `{}` has no limit `{limit}` (limits: {})", row.plan, limits.join(", "))));
            }
            let mut usage: Usage = serde_json::from_str(&row.usage)?;
            usage.insert(limit, count);
            row.usage = json(&usage)?;
            tx.update_org(&row)?;
            self.state_of(tx, &row, at)
        })
    }

    /// Sets the status (`active`, `suspended`).
    pub fn set_status(&self, at: At, slug: &str, status: OrgStatus) -> Result<State, LedgerError> {
        self.store.write(&mut |tx| {
            let mut row = org_row(tx, slug)?;
            row.status = status.as_str().to_string();
            tx.update_org(&row)?;
            self.state_of(tx, &row, at)
        })
    }

    /// Moves the organization to another plan.
    pub fn set_plan(&self, at: At, slug: &str, plan: &str) -> Result<State, LedgerError> {
        self.engine.counters(plan).map_err(|e| LedgerError::engine(e.code(), e))?;
        self.store.write(&mut |tx| {
            let mut row = org_row(tx, slug)?;
            row.plan = plan.to_string();
            tx.update_org(&row)?;
            self.state_of(tx, &row, at)
        })
    }

    /// Sets (or, with `None`, removes) the monthly spend cap.
    pub fn set_spend_cap(&self, at: At, slug: &str, cap: Option<Decimal>) -> Result<State, LedgerError> {
        if cap.is_some_and(|c| c.is_sign_negative() && !c.is_zero()) {
            return Err(bad("a spend cap is zero or more"));
        }
        self.store.write(&mut |tx| {
            let mut row = org_row(tx, slug)?;
            row.spend_cap = cap;
            tx.update_org(&row)?;
            self.state_of(tx, &row, at)
        })
    }

    /// Earmarks `allocated` credits for the runs of `tools` (a pool the plan's
    /// `allocation_pools` feature applies), or changes an earmark; what was
    /// charged to it stays. A run draws on the first pool that lists its tool.
    pub fn set_pool(
        &self,
        at: At,
        slug: &str,
        id: &str,
        allocated: Decimal,
        tools: &[String],
    ) -> Result<State, LedgerError> {
        if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(format!("`{id}` is no pool name")));
        }
        if allocated.is_sign_negative() && !allocated.is_zero() {
            return Err(bad("a pool's allocation is zero or more"));
        }
        let known: Vec<String> = self.engine.rate_sheet().tools.iter().map(|t| t.tool.clone()).collect();
        if let Some(t) = tools.iter().find(|t| !known.contains(t)) {
            return Err(bad(format!("unknown tool `{t}` (tools: {})", known.join(", "))));
        }
        self.store.write(&mut |tx| {
            let row = org_row(tx, slug)?;
            let spent = tx.pools(slug)?.into_iter().find(|p| p.id == id).map_or(Decimal::ZERO, |p| p.spent);
            tx.put_pool(&PoolRow {
                org: row.slug.clone(),
                id: id.to_string(),
                allocated,
                spent,
                tools: tools.to_vec(),
            })?;
            self.state_of(tx, &row, at)
        })
    }

    /// Records a top-up: the role may `billing.top_up`, and the credits are
    /// whole blocks of the plan's increment within its min and max.
    pub fn top_up(&self, at: At, req: &TopUp) -> Result<Credited, LedgerError> {
        if req.credits <= Decimal::ZERO {
            return Err(bad(format!("a top-up adds credits: {} is not above zero", req.credits)));
        }
        if req.payment_ref.trim().is_empty() {
            return Err(bad("a top-up needs the payment provider's reference"));
        }
        no_nul("a payment reference", &req.payment_ref)?;
        let request = request_id("top_up", &json(&serde_json::json!({ "request": req }))?);
        self.store.write(&mut |tx| {
            let (done, row) = replay_on(tx, &req.key, &request, &req.org)?;
            if let Some(done) = done {
                return Ok(done);
            }
            let mut row = row.ok_or_else(|| LedgerError::OrgNotFound { slug: req.org.clone() })?;
            let (org, held) = self.org_of(tx, &row, at)?;
            if let Some(refusal) = self.refuse(&org, &req.role, "billing.top_up")? {
                let done = answer_credited(&row, held, None, Some(refusal))?;
                tx.put_key(&req.key, &request, &json(&done)?, at)?;
                return Ok(done);
            }
            let quote = self.engine.quote_top_up(&org, req.credits).map_err(|e| LedgerError::engine(e.code(), e))?;
            if quote.credits != req.credits {
                return Err(bad(format!(
                    "top-ups are sold in whole blocks: {} credits is not one (the next is {})",
                    req.credits.normalize(),
                    quote.credits.normalize()
                )));
            }
            if let Some(first) = tx.top_up_by_ref(&row.slug, &req.payment_ref)? {
                return Err(bad(format!("payment `{}` is already recorded (entry {first})", req.payment_ref)));
            }
            row.balance = add(row.balance, req.credits)?;
            let entry = journal(
                tx,
                Entry {
                    payment_ref: Some(req.payment_ref.clone()),
                    price: Some(quote.price.clone()),
                    ..Entry::new(row.slug.clone(), at, "top_up", req.credits, row.balance)
                },
            )?;
            tx.update_org(&row)?;
            let done = answer_credited(&row, held, Some(entry), None)?;
            tx.put_key(&req.key, &request, &json(&done)?, at)?;
            Ok(done)
        })
    }

    /// Records a grant: credits added (optionally expiring) or taken, never
    /// below what open holds need.
    pub fn grant(&self, at: At, req: &Grant) -> Result<Credited, LedgerError> {
        if req.credits.is_zero() {
            return Err(bad("a grant of zero credits changes nothing"));
        }
        if req.reason.trim().is_empty() {
            return Err(bad("a grant needs a reason, for the journal"));
        }
        no_nul("a reason", &req.reason)?;
        if req.expires_at.is_some() && req.credits.is_sign_negative() {
            return Err(bad("only added credits expire"));
        }
        let request = request_id("grant", &json(&serde_json::json!({ "request": req }))?);
        self.store.write(&mut |tx| {
            let (done, row) = replay_on(tx, &req.key, &request, &req.org)?;
            if let Some(done) = done {
                return Ok(done);
            }
            // After the key: a retry of a grant done is its first answer,
            // even once its credits have expired.
            if let Some(e) = req.expires_at.filter(|e| *e <= at) {
                return Err(bad(format!("credits expiring at {e} would be expired already")));
            }
            let mut row = row.ok_or_else(|| LedgerError::OrgNotFound { slug: req.org.clone() })?;
            let (org, held) = self.org_of(tx, &row, at)?;
            if let Some(refusal) = self.refuse(&org, &req.role, GRANT_ACTION)? {
                let done = answer_credited(&row, held, None, Some(refusal))?;
                tx.put_key(&req.key, &request, &json(&done)?, at)?;
                return Ok(done);
            }
            let after = add(row.balance, req.credits)?;
            if after < held {
                return Err(LedgerError::BelowZero { what: "this grant".into(), available: sub(row.balance, held)? });
            }
            if req.credits.is_sign_negative() {
                spend_lots(tx, &row.slug, req.credits.abs())?;
            }
            row.balance = after;
            let entry = journal(
                tx,
                Entry {
                    reason: Some(req.reason.clone()),
                    expires_at: req.expires_at,
                    ..Entry::new(row.slug.clone(), at, "grant", req.credits, row.balance)
                },
            )?;
            if let Some(expires_at) = req.expires_at {
                let lot = LotRow { id: 0, org: row.slug.clone(), entry: entry.id, remaining: req.credits, expires_at };
                tx.insert_lot(&lot)?;
            }
            tx.update_org(&row)?;
            let done = answer_credited(&row, held, Some(entry), None)?;
            tx.put_key(&req.key, &request, &json(&done)?, at)?;
            Ok(done)
        })
    }

    /// Quotes the run on the state read in this transaction and, when
    /// allowed, holds its charged high estimate. A denial holds nothing;
    /// like every answer it is kept under its key (a retry gets it again:
    /// ask anew with a new key).
    pub fn reserve(&self, at: At, req: &Reserve) -> Result<Reserved, LedgerError> {
        if !crate::time::TTL_MS.contains(&req.ttl_ms) {
            return Err(bad("a hold lives from 1s to 720h"));
        }
        let expires_at = at.plus(req.ttl_ms)?;
        let request = request_id("reserve", &json(&serde_json::json!({ "request": req }))?);
        let fingerprint = self.engine.fingerprint();
        self.store.write(&mut |tx| {
            if let Some(tool) = req.run.tool.as_deref() {
                let since = self.windows_seen(&req.org, tool, at);
                if !since.is_empty() {
                    tx.will_count_runs(&req.org, tool, &since);
                }
            }
            let (done, row) = replay_on(tx, &req.key, &request, &req.org)?;
            if let Some(done) = done {
                return Ok(done);
            }
            let row = row.ok_or_else(|| LedgerError::OrgNotFound { slug: req.org.clone() })?;
            self.seen(&row);
            let (mut org, held) = self.org_counting(tx, &row, at, Some(req.run.tool.as_deref()))?;
            // The quote sees what open holds leave of the balance.
            org.balance = sub(row.balance, held)?;
            let quote_req =
                QuoteRequest { role: req.role.clone(), org, run: req.run.clone(), context: req.context.clone() };
            let quote = self.engine.quote(&quote_req).map_err(|e| LedgerError::engine(e.code(), e))?.into_owned();
            if let Some(seen) = req.fingerprint.as_deref().filter(|f| *f != fingerprint) {
                let changed = PriceChanged {
                    code: "PRICE_CHANGED".into(),
                    priced_with: seen.to_string(),
                    current: fingerprint.to_string(),
                };
                let done = Reserved { verdict: Verdict::Denied, hold: None, quote, price_changed: Some(changed) };
                tx.put_key(&req.key, &request, &json(&done)?, at)?;
                return Ok(done);
            }
            if quote.verdict != Verdict::Allowed {
                let done = Reserved { verdict: Verdict::Denied, hold: None, quote, price_changed: None };
                tx.put_key(&req.key, &request, &json(&done)?, at)?;
                return Ok(done);
            }
            let amount = quote.estimate.charged.high;
            if !tx.has_bundle(fingerprint)? {
                tx.put_bundle(fingerprint, self.bundle.get_or_init(|| self.engine.to_bundle()))?;
            }
            let id = tx.insert_hold(&HoldRow {
                id: 0,
                org: row.slug.clone(),
                tool: req.run.tool.clone(),
                amount,
                created_at: at,
                expires_at,
                state: "open".into(),
                fingerprint: fingerprint.to_string(),
                rates_version: quote.estimate.rates_version.to_string(),
                receipt: None,
            })?;
            let done = Reserved {
                verdict: Verdict::Allowed,
                hold: Some(Hold { id, amount, expires_at }),
                quote,
                price_changed: None,
            };
            tx.put_key(&req.key, &request, &json(&done)?, at)?;
            Ok(done)
        })
    }

    /// Charges what actually ran against a hold, at the rates it was
    /// reserved under; the rest of the hold is released. What the balance
    /// cannot pay is `uncollected` on the receipt.
    pub fn settle(&self, at: At, req: &Settle) -> Result<Receipt, LedgerError> {
        let request = request_id("settle", &json(&serde_json::json!({ "request": req }))?);
        self.store.write(&mut |tx| {
            let (done, first) = replay_on_hold(tx, &req.key, &request, req.hold)?;
            if let Some(done) = done {
                return Ok(done);
            }
            let (hold, mut row) = lock_open_hold(tx, req.hold, first)?;
            if req.run.tool != hold.tool {
                return Err(bad(format!(
                    "hold {} is for {}; the run settled must be the same tool",
                    hold.id,
                    hold.tool.as_deref().map_or("no tool".to_string(), |t| format!("tool `{t}`"))
                )));
            }
            if let Some(item) = ranged_item(&req.run) {
                return Err(bad(format!("settle charges what ran: item {item} gives a range, not what it used")));
            }
            let engine = self.engine_of(tx, &hold.fingerprint)?;
            let estimate = engine.estimate(&req.run).map_err(|e| LedgerError::engine(e.code(), e))?.into_owned();
            let cost = estimate.charged.high;
            let others = held_except(tx, &row.slug, hold.id)?;
            // What the balance can pay, once the other holds keep theirs.
            let payable = sub(row.balance, others)?.max(Decimal::ZERO);
            let charged = cost.min(payable);
            let uncollected = sub(cost, charged)?;
            let before = row.balance;
            row.balance = sub(row.balance, charged)?;
            let [_, _, month] = at.window_starts()?;
            match month.cmp(&row.charged_month) {
                Ordering::Equal => row.charged_in_month = add(row.charged_in_month, charged)?,
                Ordering::Greater => (row.charged_month, row.charged_in_month) = (month, charged),
                // Dated before the month kept: not part of its sum.
                Ordering::Less => {}
            }
            spend_lots(tx, &row.slug, charged)?;
            if let Some(tool) = &hold.tool {
                if let Some(mut pool) = tx.pools(&row.slug)?.into_iter().find(|p| p.tools.contains(tool)) {
                    pool.spent = add(pool.spent, charged)?;
                    tx.put_pool(&pool)?;
                }
            }
            let entry = journal(
                tx,
                Entry {
                    hold_id: Some(hold.id),
                    ..Entry::new(row.slug.clone(), at, "charge", sub(Decimal::ZERO, charged)?, row.balance)
                },
            )?;
            tx.update_org(&row)?;
            let receipt = Receipt {
                id: hold.id,
                hold_id: hold.id,
                org: row.slug.clone(),
                state: "settled".into(),
                tool: hold.tool.clone(),
                reserved_at: hold.created_at,
                closed_at: at,
                reserved: hold.amount,
                charged,
                released: sub(hold.amount, charged)?.max(Decimal::ZERO),
                uncollected,
                balance_before: before,
                balance_after: row.balance,
                rates_version: estimate.rates_version.to_string(),
                fingerprint: hold.fingerprint.clone(),
                lines: estimate.lines.clone(),
                total: Some(estimate.total),
                entries: vec![entry.id],
            };
            let text = json(&receipt)?;
            tx.close_hold(hold.id, "settled", &text)?;
            tx.put_key(&req.key, &request, &receipt_of(hold.id), at)?;
            Ok(receipt)
        })
    }

    /// Releases a hold whose run did not happen: nothing is charged.
    pub fn release(&self, at: At, hold_id: i64, key: &str) -> Result<Receipt, LedgerError> {
        let request = request_id("release", &json(&serde_json::json!({ "hold": hold_id }))?);
        self.store.write(&mut |tx| {
            let (done, first) = replay_on_hold(tx, key, &request, hold_id)?;
            if let Some(done) = done {
                return Ok(done);
            }
            let (hold, _) = lock_open_hold(tx, hold_id, first)?;
            let receipt = close_unused(tx, &hold, "released", at)?;
            tx.put_key(key, &request, &receipt_of(hold.id), at)?;
            Ok(receipt)
        })
    }

    /// Releases every hold past its time to live, and takes from the
    /// balance granted credits past their expiry (as far as open holds
    /// leave them: what a hold needs expires once it is settled or released).
    pub fn expire(&self, at: At) -> Result<Expired, LedgerError> {
        self.store.write(&mut |tx| {
            // Which organizations have something due, read before any
            // lock; each is then locked, in slug order (two sweeps never
            // wait on each other crosswise), and read again.
            let mut due: BTreeSet<String> = tx.holds_due(at)?.into_iter().map(|h| h.org).collect();
            for slug in tx.org_slugs()? {
                if !due.contains(&slug) && tx.lots(&slug)?.iter().any(|l| l.expires_at <= at) {
                    due.insert(slug);
                }
            }
            let mut holds = Vec::new();
            let mut entries = Vec::new();
            for slug in due {
                let mut row = org_row(tx, &slug)?;
                for hold in tx.open_holds(&slug)?.into_iter().filter(|h| h.expires_at <= at) {
                    close_unused(tx, &hold, "expired", at)?;
                    holds.push(hold.id);
                }
                let lots: Vec<LotRow> = tx.lots(&slug)?.into_iter().filter(|l| l.expires_at <= at).collect();
                if lots.is_empty() {
                    continue;
                }
                let held = held_except(tx, &slug, 0)?;
                for lot in lots {
                    let available = sub(row.balance, held)?.max(Decimal::ZERO);
                    let gone = lot.remaining.min(available);
                    if gone.is_zero() {
                        continue;
                    }
                    row.balance = sub(row.balance, gone)?;
                    tx.update_lot(lot.id, sub(lot.remaining, gone)?)?;
                    entries.push(journal(
                        tx,
                        Entry {
                            reason: Some(format!("credits of entry {} expired at {}", lot.entry, lot.expires_at)),
                            ..Entry::new(slug.clone(), at, "expire", sub(Decimal::ZERO, gone)?, row.balance)
                        },
                    )?);
                }
                tx.update_org(&row)?;
            }
            holds.sort_unstable();
            Ok(Expired { holds, entries })
        })
    }

    /// The organization's state (ready for `quote`), with what open holds
    /// leave of its balance.
    pub fn state(&self, at: At, slug: &str) -> Result<State, LedgerError> {
        self.store.read(&mut |tx| {
            let row = org_row(tx, slug)?;
            self.state_of(tx, &row, at)
        })
    }

    /// The journal of `slug` with `from ≤ at < to`: every entry with the
    /// balance after it; `opening + Σ amount = closing`.
    pub fn statement(&self, slug: &str, from: Option<At>, to: Option<At>) -> Result<Statement, LedgerError> {
        self.store.read(&mut |tx| {
            let row = org_row(tx, slug)?;
            let opening = match from {
                Some(f) => tx.balance_before(&row.slug, f)?,
                None => Decimal::ZERO,
            };
            let entries = tx.entries(&row.slug, from, to)?;
            let closing = entries.last().map_or(opening, |e| e.balance_after);
            Ok(Statement { org: row.slug, opening, closing, entries })
        })
    }

    /// The receipt of a closed hold.
    pub fn receipt(&self, hold_id: i64) -> Result<Receipt, LedgerError> {
        self.store.read(&mut |tx| {
            let hold = tx.hold(hold_id)?.ok_or(LedgerError::HoldNotFound { id: hold_id })?;
            match &hold.receipt {
                Some(text) => Ok(serde_json::from_str(text)?),
                None => Err(bad(format!("hold {hold_id} is still open: no receipt until it is settled or released"))),
            }
        })
    }

    /// The organization's top-ups against the payment provider's records.
    pub fn reconcile(&self, slug: &str, payments: &[Payment]) -> Result<Reconciliation, LedgerError> {
        let top_ups = self.store.read(&mut |tx| {
            let row = org_row(tx, slug)?;
            tx.top_ups(&row.slug)
        })?;
        let mut out = Reconciliation {
            matched: Vec::new(),
            missing_in_ledger: Vec::new(),
            missing_at_provider: Vec::new(),
            amount_differs: Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        for p in payments {
            if !seen.insert(p.reference.as_str()) {
                return Err(bad(format!("payment `{}` is listed twice", p.reference)));
            }
        }
        for entry in &top_ups {
            let payment = payments.iter().find(|p| entry.payment_ref.as_deref() == Some(p.reference.as_str()));
            match (payment, &entry.price) {
                (None, _) => out.missing_at_provider.push(entry.clone()),
                (Some(p), Some(price)) if p.amount == price.amount && p.currency == price.currency => {
                    out.matched.push(entry.clone())
                }
                (Some(p), _) => {
                    out.amount_differs.push(crate::answer::Mismatch { entry: entry.clone(), payment: p.clone() })
                }
            }
        }
        for p in payments {
            if !top_ups.iter().any(|e| e.payment_ref.as_deref() == Some(p.reference.as_str())) {
                out.missing_in_ledger.push(p.clone());
            }
        }
        Ok(out)
    }

    /// Checks every invariant of the ledger and returns what it found
    /// wrong (nothing, when sound): for each organization, replaying the
    /// journal gives its balance entry by entry; the balance is at least
    /// zero and at least its open holds; expiring credits left are at least
    /// zero and within the balance; every closed hold has a receipt, every
    /// settled one a charge entry.
    pub fn audit(&self) -> Result<Vec<String>, LedgerError> {
        self.store.read(&mut |tx| {
            let mut wrong = Vec::new();
            for slug in tx.org_slugs()? {
                let row = org_row(tx, &slug)?;
                let mut balance = Decimal::ZERO;
                let mut charges = Vec::new();
                for e in tx.entries(&slug, None, None)? {
                    if e.kind == "charge" {
                        charges.push((e.at, sub(Decimal::ZERO, e.amount)?));
                    }
                    balance = add(balance, e.amount)?;
                    if balance != e.balance_after {
                        wrong.push(format!(
                            "{slug}: entry {} says {} after, the journal gives {balance}",
                            e.id, e.balance_after
                        ));
                    }
                    if e.balance_after.is_sign_negative() && !e.balance_after.is_zero() {
                        wrong.push(format!("{slug}: entry {} leaves the balance below zero", e.id));
                    }
                }
                if balance != row.balance {
                    wrong.push(format!("{slug}: balance {} but the journal sums to {balance}", row.balance));
                }
                let (month, charged) = month_charged(&charges)?;
                if (month, charged) != (row.charged_month, row.charged_in_month) {
                    wrong.push(format!(
                        "{slug}: {} charged from {} on, but the journal gives {charged} from {month} on",
                        row.charged_in_month, row.charged_month
                    ));
                }
                let held = held_except(tx, &slug, 0)?;
                if held > row.balance {
                    wrong.push(format!("{slug}: open holds of {held} exceed the balance {}", row.balance));
                }
                let mut lots = Decimal::ZERO;
                for lot in tx.lots(&slug)? {
                    if lot.remaining.is_sign_negative() {
                        wrong.push(format!("{slug}: lot {} below zero", lot.id));
                    }
                    lots = add(lots, lot.remaining)?;
                }
                for pool in tx.pools(&slug)? {
                    if pool.spent.is_sign_negative() && !pool.spent.is_zero() {
                        wrong.push(format!("{slug}: pool `{}` spent below zero", pool.id));
                    }
                }
                if lots > row.balance {
                    wrong.push(format!("{slug}: expiring credits {lots} exceed the balance {}", row.balance));
                }
            }
            Ok(wrong)
        })
    }

    /// Whether `role` may take `action` on the organization; the refusal
    /// when not.
    fn refuse(&self, org: &Org, role: &str, action: &str) -> Result<Option<Refusal>, LedgerError> {
        let view = self.engine.visible_billing(role, org).map_err(|e| LedgerError::engine(e.code(), e))?;
        if view.can.get(action).copied().unwrap_or(false) {
            return Ok(None);
        }
        let message = if view.can.contains_key(action) {
            // The decision's own sentence names the rules, with the context
            // the engine derives from the organization (when the policies
            // declare those attributes).
            let status = org.status.map_or("active", OrgStatus::as_str);
            let ctx = Context::new().with("org.status", status).with("org.plan", org.plan.as_str());
            match self.engine.authorize(role, action, &ctx) {
                Ok(d) if !d.allowed() => d.message(),
                _ => format!("`{role}` may not `{action}`"),
            }
        } else {
            format!("the policies declare no `{action}` action, so no role may take it")
        };
        Ok(Some(Refusal { code: "ROLE_NOT_PERMITTED".into(), message, billing_link: self.engine.billing_link(org) }))
    }

    /// The engine a hold was priced with: the current one, or the one kept
    /// in the store under its fingerprint.
    fn engine_of(&self, tx: &mut dyn Tx, fingerprint: &str) -> Result<Engine, LedgerError> {
        if fingerprint == self.engine.fingerprint() {
            return Ok(self.engine.clone());
        }
        let mut earlier =
            self.earlier.lock().map_err(|_| LedgerError::Database("a thread failed holding engines".into()))?;
        if let Some(e) = earlier.get(fingerprint) {
            return Ok(e.clone());
        }
        let bytes = tx
            .bundle(fingerprint)?
            .ok_or_else(|| LedgerError::Database(format!("the rates of fingerprint {fingerprint} are not kept")))?;
        let engine =
            Engine::from_bundle(&bytes).map_err(|e| LedgerError::Database(format!("kept rates {fingerprint}: {e}")))?;
        earlier.insert(fingerprint.to_string(), engine.clone());
        Ok(engine)
    }

    /// The engine's organization for a row at `at` (the real balance), and
    /// the credits in open holds.
    fn org_of(&self, tx: &mut dyn Tx, row: &OrgRow, at: At) -> Result<(Org, Decimal), LedgerError> {
        self.org_counting(tx, row, at, None)
    }

    /// The starts of the run windows of `tool` that the organization's
    /// plan counts at `at`, if this ledger has seen its plan: a store may
    /// count them as it reads the organization. Only a hint: a plan changed
    /// meanwhile costs a count too many or a round trip more, never a
    /// different answer.
    fn windows_seen(&self, slug: &str, tool: &str, at: At) -> Vec<At> {
        let plan = match self.plans.lock() {
            Ok(plans) => plans.get(slug).cloned(),
            Err(_) => None,
        };
        let (Some(plan), Ok(starts)) = (plan, at.window_starts()) else { return Vec::new() };
        let Ok(counters) = self.engine.counters(&plan) else { return Vec::new() };
        counters
            .iter()
            .filter_map(|c| tool_window(c))
            .filter(|(t, _)| *t == tool)
            .map(|(_, window)| window_start(window, starts))
            .collect()
    }

    /// Remembers the organization's plan, for [`Ledger::windows_seen`].
    fn seen(&self, row: &OrgRow) {
        if let Ok(mut plans) = self.plans.lock() {
            if plans.get(&row.slug) != Some(&row.plan) {
                // Bounded: past this many organizations it starts again.
                if plans.len() >= PLANS_KEPT {
                    plans.clear();
                }
                plans.insert(row.slug.clone(), row.plan.clone());
            }
        }
    }

    /// The same, counting the run windows of one tool only (`Some(None)`:
    /// of none) — all a quote of a run of that tool reads.
    fn org_counting(
        &self,
        tx: &mut dyn Tx,
        row: &OrgRow,
        at: At,
        only: Option<Option<&str>>,
    ) -> Result<(Org, Decimal), LedgerError> {
        let open = tx.open_holds(&row.slug)?;
        let held = open.iter().try_fold(Decimal::ZERO, |sum, h| add(sum, h.amount))?;
        let mut usage: Usage = serde_json::from_str(&row.usage)?;
        let [hour, day, month] = at.window_starts()?;
        let counters = self.engine.counters(&row.plan).map_err(|e| LedgerError::engine(e.code(), e))?;
        for counter in counters {
            let Some((tool, window)) = tool_window(&counter) else {
                continue;
            };
            if only.is_some_and(|t| t != Some(tool)) {
                continue;
            }
            let since = window_start(window, [hour, day, month]);
            usage.insert(&counter, Decimal::from(tx.runs_since(&row.slug, tool, since)?));
        }
        let spend_controls = match row.spend_cap {
            Some(cap) => Some(SpendControls {
                monthly_cap: cap,
                spent_this_month: add(charged_since_month(tx, row, month)?, held)?,
            }),
            None => None,
        };
        // A pool as a quote sees it: what was charged to it, and what the
        // open holds of its tools keep (a run draws on the first pool that
        // lists its tool).
        let rows = tx.pools(&row.slug)?;
        let mut pools = Vec::with_capacity(rows.len());
        for (i, p) in rows.iter().enumerate() {
            let mut spent = p.spent;
            for h in &open {
                let drawn = h.tool.as_ref().and_then(|t| rows.iter().position(|q| q.tools.contains(t)));
                if drawn == Some(i) {
                    spent = add(spent, h.amount)?;
                }
            }
            pools.push(Pool { id: p.id.clone(), allocated: p.allocated, spent, tools: p.tools.clone() });
        }
        let status = match row.status.as_str() {
            "suspended" => OrgStatus::Suspended,
            _ => OrgStatus::Active,
        };
        let org = Org {
            slug: row.slug.clone(),
            plan: row.plan.clone(),
            balance: row.balance,
            status: Some(status),
            pools,
            spend_controls,
            usage,
        };
        Ok((org, held))
    }

    fn state_of(&self, tx: &mut dyn Tx, row: &OrgRow, at: At) -> Result<State, LedgerError> {
        let (org, held) = self.org_of(tx, row, at)?;
        Ok(State { available: sub(row.balance, held)?, held, org })
    }
}

/// Appends an entry to the journal. Its time never goes back: an entry
/// stamped before the organization's latest (another server's clock, a
/// caller's `at`) is recorded at the latest's time, so that statements by
/// time add up.
fn journal(tx: &mut dyn Tx, mut entry: Entry) -> Result<Entry, LedgerError> {
    if let Some(last) = tx.last_entry_at(&entry.org)? {
        entry.at = entry.at.max(last);
    }
    tx.insert_entry(&entry)
}

/// The first item of a run that gives a range (`{min, max}`) anywhere.
fn ranged_item(run: &Run) -> Option<usize> {
    let ranged = |q: &Option<Quantity>| matches!(q, Some(Quantity::Range { .. }));
    run.items.iter().position(|item| match item {
        Item::Text(t) => {
            ranged(&t.input_tokens)
                || ranged(&t.output_tokens)
                || ranged(&t.cached_input_tokens)
                || ranged(&t.cache_write_tokens)
        }
        Item::Image(i) => matches!(i.count, Quantity::Range { .. }),
        Item::Video(v) => matches!(v.seconds, Quantity::Range { .. }),
    })
}

/// Credits charged from `month`'s start on: the organization's row keeps
/// them for the month of its latest charge (none since, for a later month);
/// an earlier month (a state read in the past) is summed from the journal.
fn charged_since_month(tx: &mut dyn Tx, row: &OrgRow, month: At) -> Result<Decimal, LedgerError> {
    match month.cmp(&row.charged_month) {
        Ordering::Equal => Ok(row.charged_in_month),
        Ordering::Greater => Ok(Decimal::ZERO),
        Ordering::Less => tx.charged_since(&row.slug, month),
    }
}

/// The tool and window of a run counter (`tools.summarize.runs_today`).
fn tool_window(counter: &str) -> Option<(&str, &str)> {
    counter.strip_prefix("tools.").and_then(|c| c.rsplit_once('.'))
}

/// When a run window (`runs_this_hour`, `runs_today`, `runs_this_month`)
/// began, of the hour, day and month starts.
fn window_start(window: &str, [hour, day, month]: [At; 3]) -> At {
    match window {
        "runs_this_hour" => hour,
        "runs_today" => day,
        _ => month,
    }
}

fn org_row(tx: &mut dyn Tx, slug: &str) -> Result<OrgRow, LedgerError> {
    tx.org(slug)?.ok_or_else(|| LedgerError::OrgNotFound { slug: slug.to_string() })
}

/// An open hold and its organization's row, the hold read again once the
/// row is read: a write transaction's read of an organization's row locks
/// it until commit (on PostgreSQL; SQLite's writer holds the whole file),
/// and whoever closes a hold holds that lock, so a hold another server
/// closed meanwhile reads as closed, never as open.
fn lock_open_hold(tx: &mut dyn Tx, id: i64, first: Option<HoldRow>) -> Result<(HoldRow, OrgRow), LedgerError> {
    let first = first.ok_or(LedgerError::HoldNotFound { id })?;
    let row = org_row(tx, &first.org)?;
    Ok((open_hold(tx, id)?, row))
}

fn open_hold(tx: &mut dyn Tx, id: i64) -> Result<HoldRow, LedgerError> {
    let hold = tx.hold(id)?.ok_or(LedgerError::HoldNotFound { id })?;
    if hold.state != "open" {
        return Err(LedgerError::HoldClosed { id, state: hold.state });
    }
    Ok(hold)
}

/// Credits in the organization's open holds, but hold `except`.
fn held_except(tx: &mut dyn Tx, slug: &str, except: i64) -> Result<Decimal, LedgerError> {
    let mut sum = Decimal::ZERO;
    for h in tx.open_holds(slug)? {
        if h.id != except {
            sum = add(sum, h.amount)?;
        }
    }
    Ok(sum)
}

/// Takes `amount` from expiring credits first, soonest expiry first; the
/// rest comes from paid credits (the balance less every lot).
fn spend_lots(tx: &mut dyn Tx, slug: &str, mut amount: Decimal) -> Result<(), LedgerError> {
    for lot in tx.lots(slug)? {
        if amount.is_zero() {
            break;
        }
        let take = lot.remaining.min(amount);
        tx.update_lot(lot.id, sub(lot.remaining, take)?)?;
        amount = sub(amount, take)?;
    }
    Ok(())
}

/// Closes a hold nothing was charged against.
fn close_unused(tx: &mut dyn Tx, hold: &HoldRow, state: &str, at: At) -> Result<Receipt, LedgerError> {
    let row = org_row(tx, &hold.org)?;
    let receipt = Receipt {
        id: hold.id,
        hold_id: hold.id,
        org: hold.org.clone(),
        state: state.to_string(),
        tool: hold.tool.clone(),
        reserved_at: hold.created_at,
        closed_at: at,
        reserved: hold.amount,
        charged: Decimal::ZERO,
        released: hold.amount,
        uncollected: Decimal::ZERO,
        balance_before: row.balance,
        balance_after: row.balance,
        rates_version: hold.rates_version.clone(),
        fingerprint: hold.fingerprint.clone(),
        lines: Vec::new(),
        total: None,
        entries: Vec::new(),
    };
    tx.close_hold(hold.id, state, &json(&receipt)?)?;
    Ok(receipt)
}

fn answer_credited(
    row: &OrgRow,
    held: Decimal,
    entry: Option<Entry>,
    refusal: Option<Refusal>,
) -> Result<Credited, LedgerError> {
    let verdict = if refusal.is_some() { Verdict::Denied } else { Verdict::Allowed };
    Ok(Credited { verdict, entry, refusal, balance: row.balance, available: sub(row.balance, held)? })
}
