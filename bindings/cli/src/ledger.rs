//! `tollgate ledger --db URL COMMAND`: the credit ledger from the command
//! line. Exit 0 done or allowed, 1 denied, 2 bad input or a ledger error
//! (its code named on stderr: `error[HOLD_CLOSED]: …`).

use crate::{fail, is_json, read_text, to_json, Answer, Failure};
use clap::Subcommand;
use std::path::PathBuf;
use tollgate::{Decimal, Engine, Run, Verdict};
use tollgate_ledger::{AnyStore, At, Grant, Ledger, LedgerError, Reserve, Settle, TopUp};

#[derive(Subcommand)]
pub(crate) enum LedgerOp {
    /// Create the ledger's tables in a new database, or check an existing
    /// one's schema (a newer one is refused); prints the schema version.
    Migrate,
    /// Open an organization on a plan, with no credits.
    Open {
        #[arg(long)]
        org: String,
        #[arg(long)]
        plan: String,
    },
    /// Record a top-up the payment provider charged (role needs `billing.top_up`).
    TopUp {
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        credits: String,
        /// The payment provider's reference.
        #[arg(long)]
        payment_ref: String,
        /// Idempotency key: a retry with the same key changes nothing.
        #[arg(long)]
        key: String,
    },
    /// Add (or, below zero, take) credits with a reason (role needs `billing.grant`).
    Grant {
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: String,
        #[arg(long, allow_hyphen_values = true)]
        credits: String,
        #[arg(long)]
        reason: String,
        /// When the granted credits expire (RFC 3339); they are spent first.
        #[arg(long)]
        expires_at: Option<String>,
        #[arg(long)]
        key: String,
    },
    /// Set a count the host owns (`seats`, `projects_per_org`…).
    SetUsage {
        #[arg(long)]
        org: String,
        #[arg(long)]
        limit: String,
        #[arg(long)]
        count: String,
    },
    /// Set (or with `none`, remove) the monthly spend cap.
    SetSpendCap {
        #[arg(long)]
        org: String,
        #[arg(long)]
        cap: String,
    },
    /// Earmark credits for some tools' runs (plans with allocation pools).
    SetPool {
        #[arg(long)]
        org: String,
        #[arg(long)]
        pool: String,
        #[arg(long)]
        allocated: String,
        /// The tools whose runs draw on it, comma-separated.
        #[arg(long, value_delimiter = ',')]
        tools: Vec<String>,
    },
    /// Quote a run on the ledger's state and hold its cost. Exit 1 denied.
    Reserve {
        #[arg(long)]
        org: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        key: String,
        /// How long the hold lives: `90s`, `15m`, `2h`.
        #[arg(long, default_value = "15m")]
        ttl: String,
        /// The fingerprint of the engine the caller priced with; another one
        /// is `PRICE_CHANGED`, with the current quote.
        #[arg(long)]
        fingerprint: Option<String>,
        /// The run (TOML or JSON; `-` reads stdin).
        run: PathBuf,
    },
    /// Charge what actually ran against a hold; the rest is released.
    Settle {
        #[arg(long)]
        hold: i64,
        #[arg(long)]
        key: String,
        /// What ran (TOML or JSON; `-` reads stdin).
        run: PathBuf,
    },
    /// Release a hold whose run did not happen.
    Release {
        #[arg(long)]
        hold: i64,
        #[arg(long)]
        key: String,
    },
    /// Release holds past their time to live; take expired granted credits.
    Expire,
    /// The organization's state (ready for `quote`) and what is available.
    State {
        #[arg(long)]
        org: String,
    },
    /// Journal entries with the running balance.
    Statement {
        #[arg(long)]
        org: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// The receipt of a settled, released or expired hold.
    Receipt {
        #[arg(long)]
        hold: i64,
    },
    /// Top-ups against the payment provider's records (CSV or JSON).
    Reconcile {
        #[arg(long)]
        org: String,
        /// The payments file.
        payments: PathBuf,
    },
}

fn ledger_error(e: LedgerError) -> Failure {
    Failure(format!("error[{}]: {e}", e.code()))
}

fn decimal(what: &str, text: &str) -> Result<Decimal, Failure> {
    tollgate::parse_decimal(text).map_err(|e| fail(format!("--{what}: {e}")))
}

fn read_run(path: &std::path::Path) -> Result<Run, Failure> {
    let (name, text) = read_text(path)?;
    let run = if is_json(&name, &text) { Run::from_json(&name, &text) } else { Run::from_toml(&name, &text) };
    run.map_err(fail)
}

pub(crate) fn run(engine: Engine, db: &str, at: Option<&str>, op: &LedgerOp, json: bool) -> Result<Answer, Failure> {
    let at = match at {
        Some(text) => At::parse(text).map_err(|e| fail(format!("--at: {e}")))?,
        None => At::now(),
    };
    let ledger = Ledger::new(AnyStore::open(db).map_err(ledger_error)?, engine);
    let e = ledger_error;
    let show = |value: &dyn erased::Show, allowed: bool| -> Result<Answer, Failure> {
        let out = if json { value.json()? } else { value.text() };
        Ok(Answer::verdict(out, allowed))
    };
    match op {
        LedgerOp::Migrate => {
            let out = if json {
                to_json(&serde_json::json!({ "schema": tollgate_ledger::SCHEMA_VERSION }))?
            } else {
                format!("the ledger's schema is version {}\n", tollgate_ledger::SCHEMA_VERSION)
            };
            Ok(Answer::verdict(out, true))
        }
        LedgerOp::Open { org, plan } => show(&ledger.open_org(at, org, plan).map_err(e)?, true),
        LedgerOp::TopUp { org, role, credits, payment_ref, key } => {
            let req = TopUp {
                org: org.clone(),
                role: role.clone(),
                credits: decimal("credits", credits)?,
                payment_ref: payment_ref.clone(),
                key: key.clone(),
            };
            let done = ledger.top_up(at, &req).map_err(e)?;
            show(&done, done.verdict == Verdict::Allowed)
        }
        LedgerOp::Grant { org, role, credits, reason, expires_at, key } => {
            let expires_at = expires_at.as_deref().map(At::parse).transpose().map_err(e)?;
            let req = Grant {
                org: org.clone(),
                role: role.clone(),
                credits: decimal("credits", credits)?,
                reason: reason.clone(),
                expires_at,
                key: key.clone(),
            };
            let done = ledger.grant(at, &req).map_err(e)?;
            show(&done, done.verdict == Verdict::Allowed)
        }
        LedgerOp::SetUsage { org, limit, count } => {
            show(&ledger.set_usage(at, org, limit, decimal("count", count)?).map_err(e)?, true)
        }
        LedgerOp::SetSpendCap { org, cap } => {
            let cap = if cap == "none" { None } else { Some(decimal("cap", cap)?) };
            show(&ledger.set_spend_cap(at, org, cap).map_err(e)?, true)
        }
        LedgerOp::SetPool { org, pool, allocated, tools } => {
            show(&ledger.set_pool(at, org, pool, decimal("allocated", allocated)?, tools).map_err(e)?, true)
        }
        LedgerOp::Reserve { org, role, key, ttl, fingerprint, run } => {
            let req = Reserve {
                org: org.clone(),
                role: role.clone(),
                run: read_run(run)?,
                context: None,
                ttl_ms: tollgate_ledger::parse_ttl(ttl).map_err(e)?,
                fingerprint: fingerprint.clone(),
                key: key.clone(),
            };
            let done = ledger.reserve(at, &req).map_err(e)?;
            show(&done, done.verdict == Verdict::Allowed)
        }
        LedgerOp::Settle { hold, key, run } => {
            let req = Settle { hold: *hold, run: read_run(run)?, key: key.clone() };
            show(&ledger.settle(at, &req).map_err(e)?, true)
        }
        LedgerOp::Release { hold, key } => show(&ledger.release(at, *hold, key).map_err(e)?, true),
        LedgerOp::Expire => show(&ledger.expire(at).map_err(e)?, true),
        LedgerOp::State { org } => show(&ledger.state(at, org).map_err(e)?, true),
        LedgerOp::Statement { org, from, to } => {
            let from = from.as_deref().map(At::parse).transpose().map_err(e)?;
            let to = to.as_deref().map(At::parse).transpose().map_err(e)?;
            show(&ledger.statement(org, from, to).map_err(e)?, true)
        }
        LedgerOp::Receipt { hold } => show(&ledger.receipt(*hold).map_err(e)?, true),
        LedgerOp::Reconcile { org, payments } => {
            let (name, text) = read_text(payments)?;
            let payments = tollgate_ledger::read_payments(&name, &text).map_err(e)?;
            let r = ledger.reconcile(org, &payments).map_err(e)?;
            let clean =
                r.missing_in_ledger.is_empty() && r.missing_at_provider.is_empty() && r.amount_differs.is_empty();
            show(&r, clean)
        }
    }
}

/// One way to print every answer: its JSON, or lines for people.
mod erased {
    use super::*;
    use tollgate_ledger::{Credited, Expired, Receipt, Reconciliation, Reserved, State, Statement};

    pub(crate) trait Show {
        fn json(&self) -> Result<String, Failure>;
        fn text(&self) -> String;
    }

    fn n(d: Decimal) -> String {
        d.normalize().to_string()
    }

    macro_rules! json_of {
        ($($t:ty),*) => {$(
            impl Show for $t {
                fn json(&self) -> Result<String, Failure> {
                    to_json(self)
                }
                fn text(&self) -> String {
                    self.lines()
                }
            }
        )*};
    }
    json_of!(Credited, Expired, Receipt, Reconciliation, Reserved, State, Statement);

    trait Text {
        fn lines(&self) -> String;
    }

    impl Text for State {
        fn lines(&self) -> String {
            format!(
                "{} on {}: balance {}, held {}, available {}\n",
                self.org.slug,
                self.org.plan,
                n(self.org.balance),
                n(self.held),
                n(self.available)
            )
        }
    }

    impl Text for Credited {
        fn lines(&self) -> String {
            match (&self.entry, &self.refusal) {
                (Some(e), _) => format!(
                    "{} {} credits (entry {}): balance {}, available {}\n",
                    e.kind,
                    n(e.amount),
                    e.id,
                    n(self.balance),
                    n(self.available)
                ),
                (None, Some(r)) => format!("denied: {} at {} [{}]\n", r.message, r.billing_link, r.code),
                (None, None) => "nothing written\n".into(),
            }
        }
    }

    impl Text for Reserved {
        fn lines(&self) -> String {
            if let Some(p) = &self.price_changed {
                return format!(
                    "denied: the price changed (priced with {}, now {}); the current quote charges up to {} [{}]\n",
                    p.priced_with,
                    p.current,
                    n(self.quote.estimate.charged.high),
                    p.code
                );
            }
            match &self.hold {
                Some(h) => format!("held {} credits: hold {} until {}\n", n(h.amount), h.id, h.expires_at),
                None => self
                    .quote
                    .reasons
                    .iter()
                    .map(|r| format!("denied: {} at {} [{:?}]\n", r.message, r.billing_link, r.code))
                    .collect(),
            }
        }
    }

    impl Text for Receipt {
        fn lines(&self) -> String {
            let mut out = format!(
                "hold {} {}: reserved {}, charged {}, released {}, uncollected {}; balance {} -> {}\n",
                self.hold_id,
                self.state,
                n(self.reserved),
                n(self.charged),
                n(self.released),
                n(self.uncollected),
                n(self.balance_before),
                n(self.balance_after)
            );
            for l in &self.lines {
                out.push_str(&format!("  {} {:?}: {}\n", l.model, l.component, n(l.high)));
            }
            out
        }
    }

    impl Text for Expired {
        fn lines(&self) -> String {
            format!("expired {} holds and {} grants of credits\n", self.holds.len(), self.entries.len())
        }
    }

    impl Text for Statement {
        fn lines(&self) -> String {
            let mut out = format!("{}: opening {}\n", self.org, n(self.opening));
            for e in &self.entries {
                out.push_str(&format!(
                    "  {} {:>5} {:<8} {:>12} -> {}\n",
                    e.at,
                    e.id,
                    e.kind,
                    n(e.amount),
                    n(e.balance_after)
                ));
            }
            out.push_str(&format!("closing {}\n", n(self.closing)));
            out
        }
    }

    impl Text for Reconciliation {
        fn lines(&self) -> String {
            let mut out = format!("matched {}\n", self.matched.len());
            for p in &self.missing_in_ledger {
                out.push_str(&format!("missing in the ledger: {} {} {}\n", p.reference, n(p.amount), p.currency));
            }
            for e in &self.missing_at_provider {
                out.push_str(&format!(
                    "missing at the provider: entry {} ({})\n",
                    e.id,
                    e.payment_ref.as_deref().unwrap_or("")
                ));
            }
            for m in &self.amount_differs {
                out.push_str(&format!(
                    "amount differs: {}: ledger {}, provider {} {}\n",
                    m.payment.reference,
                    m.entry.price.as_ref().map_or(String::new(), |p| format!("{} {}", n(p.amount), p.currency)),
                    n(m.payment.amount),
                    m.payment.currency
                ));
            }
            out
        }
    }
}
