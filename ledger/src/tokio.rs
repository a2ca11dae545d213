//! The ledger from an async service (feature `tokio`): every operation runs
//! on tokio's blocking pool (`spawn_blocking`), so a transaction waiting for
//! the database's write lock never stalls the runtime's workers.

use crate::answer::{Credited, Expired, Payment, Receipt, Reconciliation, Reserved, State, Statement};
use crate::ops::{Grant, Ledger, Reserve, Settle, TopUp};
use crate::store::Store;
use crate::time::At;
use crate::LedgerError;
use std::sync::Arc;

/// A [`Ledger`] shared by the tasks of a tokio runtime: cheap to clone,
/// each call awaited.
pub struct AsyncLedger<S: Store + 'static> {
    inner: Arc<Ledger<S>>,
}

impl<S: Store + 'static> Clone for AsyncLedger<S> {
    fn clone(&self) -> Self {
        AsyncLedger { inner: Arc::clone(&self.inner) }
    }
}

impl<S: Store + 'static> AsyncLedger<S> {
    /// Shares `ledger` with the runtime's tasks.
    pub fn new(ledger: Ledger<S>) -> Self {
        AsyncLedger { inner: Arc::new(ledger) }
    }

    /// Opens the store on the blocking pool and shares a ledger over it:
    /// the way to open one from inside the runtime. (PostgreSQL's client
    /// blocks on a runtime of its own, and tokio refuses that on one of its
    /// workers: `PostgresStore::open` called directly in an async function
    /// panics.)
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use tollgate_ledger::{AsyncLedger, PostgresStore};
    /// let ledger = AsyncLedger::open(
    ///     || PostgresStore::open("postgres://ledger@db.internal/ledger"),
    ///     tollgate::Engine::embedded()?,
    /// )
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn open(
        store: impl FnOnce() -> Result<S, LedgerError> + Send + 'static,
        engine: tollgate::Engine,
    ) -> Result<Self, LedgerError> {
        let ledger = tokio::task::spawn_blocking(move || store().map(|s| Ledger::new(s, engine)))
            .await
            .map_err(|e| LedgerError::Database(format!("opening the ledger failed: {e}")))??;
        Ok(AsyncLedger::new(ledger))
    }

    /// The ledger itself, for plain (blocking) code.
    pub fn blocking(&self) -> &Ledger<S> {
        &self.inner
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Ledger<S>) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, LedgerError> {
        let ledger = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&ledger))
            .await
            .map_err(|e| LedgerError::Database(format!("the ledger's task failed: {e}")))?
    }

    /// [`Ledger::open_org`].
    pub async fn open_org(&self, at: At, slug: String, plan: String) -> Result<State, LedgerError> {
        self.run(move |l| l.open_org(at, &slug, &plan)).await
    }

    /// [`Ledger::top_up`].
    pub async fn top_up(&self, at: At, req: TopUp) -> Result<Credited, LedgerError> {
        self.run(move |l| l.top_up(at, &req)).await
    }

    /// [`Ledger::grant`].
    pub async fn grant(&self, at: At, req: Grant) -> Result<Credited, LedgerError> {
        self.run(move |l| l.grant(at, &req)).await
    }

    /// [`Ledger::reserve`].
    pub async fn reserve(&self, at: At, req: Reserve) -> Result<Reserved, LedgerError> {
        self.run(move |l| l.reserve(at, &req)).await
    }

    /// [`Ledger::settle`].
    pub async fn settle(&self, at: At, req: Settle) -> Result<Receipt, LedgerError> {
        self.run(move |l| l.settle(at, &req)).await
    }

    /// [`Ledger::release`].
    pub async fn release(&self, at: At, hold: i64, key: String) -> Result<Receipt, LedgerError> {
        self.run(move |l| l.release(at, hold, &key)).await
    }

    /// [`Ledger::expire`].
    pub async fn expire(&self, at: At) -> Result<Expired, LedgerError> {
        self.run(move |l| l.expire(at)).await
    }

    /// [`Ledger::state`].
    pub async fn state(&self, at: At, slug: String) -> Result<State, LedgerError> {
        self.run(move |l| l.state(at, &slug)).await
    }

    /// [`Ledger::statement`].
    pub async fn statement(&self, slug: String, from: Option<At>, to: Option<At>) -> Result<Statement, LedgerError> {
        self.run(move |l| l.statement(&slug, from, to)).await
    }

    /// [`Ledger::receipt`].
    pub async fn receipt(&self, hold: i64) -> Result<Receipt, LedgerError> {
        self.run(move |l| l.receipt(hold)).await
    }

    /// [`Ledger::audit`].
    pub async fn audit(&self) -> Result<Vec<String>, LedgerError> {
        self.run(|l| l.audit()).await
    }

    /// [`Ledger::reconcile`].
    pub async fn reconcile(&self, slug: String, payments: Vec<Payment>) -> Result<Reconciliation, LedgerError> {
        self.run(move |l| l.reconcile(&slug, &payments)).await
    }
}
