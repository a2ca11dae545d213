//! The scenario corpus's runner, shared by the SQLite and PostgreSQL runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};
use tollgate::{Decimal, Engine, OrgStatus, Run, Sources};
use tollgate_ledger::{At, Grant, Ledger, LedgerError, Payment, Reserve, Settle, Store, TopUp};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    step: Vec<Step>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Step {
    #[serde(rename = "do")]
    op: String,
    at: Option<String>,
    org: Option<String>,
    plan: Option<String>,
    role: Option<String>,
    credits: Option<String>,
    payment_ref: Option<String>,
    reason: Option<String>,
    expires_at: Option<String>,
    key: Option<String>,
    run: Option<toml::Value>,
    ttl: Option<String>,
    fingerprint: Option<String>,
    hold: Option<i64>,
    limit: Option<String>,
    count: Option<String>,
    cap: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    payments: Option<Vec<toml::Value>>,
    csv: Option<String>,
    rates: Option<String>,
    pool: Option<String>,
    allocated: Option<String>,
    tools: Option<Vec<String>>,
}

fn text(v: &Option<String>, what: &str) -> String {
    v.clone().unwrap_or_else(|| panic!("the step needs `{what}`"))
}

fn dec(v: &Option<String>, what: &str) -> Decimal {
    tollgate::parse_decimal(&text(v, what)).unwrap()
}

fn run_of(step: &Step) -> Run {
    let value = step.run.clone().expect("the step needs `run`");
    let json = serde_json::to_string(&value).unwrap();
    tollgate::parse_request(&json).unwrap()
}

fn show<T: serde::Serialize>(r: Result<T, LedgerError>) -> String {
    match r {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap(),
        Err(e) => format!("error[{}]: {e}", e.code()),
    }
}

fn engine_with_rates(rates: &str) -> Engine {
    let mut sources = Sources::new().rates("replaced.toml", rates);
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    sources = sources.policies_dir(&shipped).unwrap();
    Engine::from_sources(sources).unwrap()
}

/// Runs a scenario; returns the transcript.
pub fn play<S: Store>(path: &Path, store: S) -> String {
    let scenario: Scenario = toml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let mut ledger = Some(Ledger::new(store, Engine::embedded().unwrap()));
    let mut at = At::parse("2026-11-30T12:00:00Z").unwrap();
    let mut out = String::new();
    for (i, step) in scenario.step.iter().enumerate() {
        if let Some(t) = &step.at {
            at = At::parse(t).unwrap();
        }
        if step.op == "reload" {
            // The same store, a new engine: open holds keep their rates.
            let store = ledger.take().unwrap().into_store();
            let engine = engine_with_rates(&text(&step.rates, "rates"));
            let fp = engine.fingerprint().to_string();
            ledger = Some(Ledger::new(store, engine));
            out.push_str(&format!("## step {}: {} at {at}\nreloaded: fingerprint {fp}\n", i + 1, step.op));
            continue;
        }
        let l = ledger.as_ref().unwrap();
        let org = || text(&step.org, "org");
        let key = || text(&step.key, "key");
        let answer = match step.op.as_str() {
            "open" => show(l.open_org(at, &org(), &text(&step.plan, "plan"))),
            "set_usage" => show(l.set_usage(at, &org(), &text(&step.limit, "limit"), dec(&step.count, "count"))),
            "set_spend_cap" => {
                show(l.set_spend_cap(at, &org(), step.cap.as_ref().map(|c| tollgate::parse_decimal(c).unwrap())))
            }
            "set_status" => {
                let status =
                    if text(&step.status, "status") == "suspended" { OrgStatus::Suspended } else { OrgStatus::Active };
                show(l.set_status(at, &org(), status))
            }
            "set_plan" => show(l.set_plan(at, &org(), &text(&step.plan, "plan"))),
            "set_pool" => show(l.set_pool(
                at,
                &org(),
                &text(&step.pool, "pool"),
                dec(&step.allocated, "allocated"),
                &step.tools.clone().unwrap_or_default(),
            )),
            "top_up" => show(l.top_up(
                at,
                &TopUp {
                    org: org(),
                    role: text(&step.role, "role"),
                    credits: dec(&step.credits, "credits"),
                    payment_ref: text(&step.payment_ref, "payment_ref"),
                    key: key(),
                },
            )),
            "grant" => show(l.grant(
                at,
                &Grant {
                    org: org(),
                    role: text(&step.role, "role"),
                    credits: dec(&step.credits, "credits"),
                    reason: text(&step.reason, "reason"),
                    expires_at: step.expires_at.as_deref().map(|t| At::parse(t).unwrap()),
                    key: key(),
                },
            )),
            "reserve" => show(tollgate_ledger::parse_ttl(step.ttl.as_deref().unwrap_or("15m")).and_then(|ttl_ms| {
                l.reserve(
                    at,
                    &Reserve {
                        org: org(),
                        role: text(&step.role, "role"),
                        run: run_of(step),
                        context: None,
                        ttl_ms,
                        fingerprint: step.fingerprint.clone(),
                        key: key(),
                    },
                )
            })),
            "settle" => show(l.settle(at, &Settle { hold: step.hold.expect("hold"), run: run_of(step), key: key() })),
            "release" => show(l.release(at, step.hold.expect("hold"), &key())),
            "expire" => show(l.expire(at)),
            "state" => show(l.state(at, &org())),
            "statement" => {
                let from = step.from.as_deref().map(|t| At::parse(t).unwrap());
                let to = step.to.as_deref().map(|t| At::parse(t).unwrap());
                show(l.statement(&org(), from, to))
            }
            "receipt" => show(l.receipt(step.hold.expect("hold"))),
            "reconcile" => {
                let payments: Result<Vec<Payment>, LedgerError> = match (&step.payments, &step.csv) {
                    (Some(list), _) => Ok(list
                        .iter()
                        .map(|p| serde_json::from_value(serde_json::to_value(p).unwrap()).unwrap())
                        .collect()),
                    (None, Some(csv)) => tollgate_ledger::read_payments("payments.csv", csv),
                    (None, None) => panic!("reconcile needs payments or csv"),
                };
                show(payments.and_then(|p| l.reconcile(&org(), &p)))
            }
            other => panic!("step {}: unknown operation `{other}`", i + 1),
        };
        let wrong = l.audit().unwrap();
        assert!(wrong.is_empty(), "{}: after step {} ({}): {wrong:?}", path.display(), i + 1, step.op);
        out.push_str(&format!("## step {}: {} at {at}\n{answer}\n", i + 1, step.op));
    }
    out
}

pub fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}
