#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

//! Scenario corpus: `tests/scenarios/NAME.toml` is a list of `[[step]]`s run
//! against a fresh ledger (in memory, the embedded rates and policies);
//! `NAME.expected` is what each step answered (its JSON, or its error code
//! and message). After every step the ledger's invariants are audited.
//!
//! A step: `do` (the operation), `at` (RFC 3339; default: the previous
//! step's, the first `2026-11-30T12:00:00Z`) and the operation's fields:
//! - `open`: org, plan; `set_usage`: org, limit, count; `set_spend_cap`:
//!   org, cap (or absent); `set_status`: org, status; `set_plan`: org, plan;
//!   `set_pool`: org, pool, allocated, tools
//! - `top_up`: org, role, credits, payment_ref, key
//! - `grant`: org, role, credits, reason, expires_at?, key
//! - `reserve`: org, role, run, key, ttl? (`15m`), fingerprint?
//! - `settle`: hold, run, key; `release`: hold, key; `expire`
//! - `state`: org; `statement`: org, from?, to?; `receipt`: hold
//! - `reconcile`: org, payments (a list of {ref, amount, currency}) or csv
//! - `reload`: rates (the text of one rate file replacing the shipped rates)
//!
//! `TOLLGATE_BLESS=1 cargo test -p tollgate-ledger --test scenarios`
//! rewrites the expected files; review the diff before committing it.

use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};
use tollgate::{Decimal, Engine, OrgStatus, Run, Sources};
use tollgate_ledger::{At, Grant, Ledger, LedgerError, Payment, Reserve, Settle, SqliteStore, TopUp};

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
fn play(path: &Path) -> String {
    let scenario: Scenario = toml::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let mut ledger = Ledger::new(SqliteStore::open("sqlite::memory:").unwrap(), Engine::embedded().unwrap());
    let mut at = At::parse("2026-11-30T12:00:00Z").unwrap();
    let mut out = String::new();
    for (i, step) in scenario.step.iter().enumerate() {
        if let Some(t) = &step.at {
            at = At::parse(t).unwrap();
        }
        let org = || text(&step.org, "org");
        let key = || text(&step.key, "key");
        let answer = match step.op.as_str() {
            "open" => show(ledger.open_org(at, &org(), &text(&step.plan, "plan"))),
            "set_usage" => show(ledger.set_usage(at, &org(), &text(&step.limit, "limit"), dec(&step.count, "count"))),
            "set_spend_cap" => {
                show(ledger.set_spend_cap(at, &org(), step.cap.as_ref().map(|c| tollgate::parse_decimal(c).unwrap())))
            }
            "set_status" => {
                let status =
                    if text(&step.status, "status") == "suspended" { OrgStatus::Suspended } else { OrgStatus::Active };
                show(ledger.set_status(at, &org(), status))
            }
            "set_plan" => show(ledger.set_plan(at, &org(), &text(&step.plan, "plan"))),
            "set_pool" => show(ledger.set_pool(
                at,
                &org(),
                &text(&step.pool, "pool"),
                dec(&step.allocated, "allocated"),
                &step.tools.clone().unwrap_or_default(),
            )),
            "top_up" => show(ledger.top_up(
                at,
                &TopUp {
                    org: org(),
                    role: text(&step.role, "role"),
                    credits: dec(&step.credits, "credits"),
                    payment_ref: text(&step.payment_ref, "payment_ref"),
                    key: key(),
                },
            )),
            "grant" => show(ledger.grant(
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
                ledger.reserve(
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
            "settle" => {
                show(ledger.settle(at, &Settle { hold: step.hold.expect("hold"), run: run_of(step), key: key() }))
            }
            "release" => show(ledger.release(at, step.hold.expect("hold"), &key())),
            "expire" => show(ledger.expire(at)),
            "state" => show(ledger.state(at, &org())),
            "statement" => {
                let from = step.from.as_deref().map(|t| At::parse(t).unwrap());
                let to = step.to.as_deref().map(|t| At::parse(t).unwrap());
                show(ledger.statement(&org(), from, to))
            }
            "receipt" => show(ledger.receipt(step.hold.expect("hold"))),
            "reconcile" => {
                let payments: Result<Vec<Payment>, LedgerError> = match (&step.payments, &step.csv) {
                    (Some(list), _) => Ok(list
                        .iter()
                        .map(|p| serde_json::from_value(serde_json::to_value(p).unwrap()).unwrap())
                        .collect()),
                    (None, Some(csv)) => tollgate_ledger::read_payments("payments.csv", csv),
                    (None, None) => panic!("reconcile needs payments or csv"),
                };
                show(payments.and_then(|p| ledger.reconcile(&org(), &p)))
            }
            "reload" => {
                // The same store, a new engine: open holds keep their rates.
                let store = std::mem::replace(
                    &mut ledger,
                    Ledger::new(SqliteStore::open("sqlite::memory:").unwrap(), Engine::embedded().unwrap()),
                );
                let engine = engine_with_rates(&text(&step.rates, "rates"));
                let fp = engine.fingerprint().to_string();
                ledger = Ledger::new(into_store(store), engine);
                format!("reloaded: fingerprint {fp}")
            }
            other => panic!("step {}: unknown operation `{other}`", i + 1),
        };
        let wrong = ledger.audit().unwrap();
        assert!(wrong.is_empty(), "{}: after step {} ({}): {wrong:?}", path.display(), i + 1, step.op);
        out.push_str(&format!("## step {}: {} at {at}\n{answer}\n", i + 1, step.op));
    }
    out
}

fn into_store(ledger: Ledger<SqliteStore>) -> SqliteStore {
    ledger.into_store()
}

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

#[test]
fn scenario_corpus() {
    let bless = std::env::var_os("TOLLGATE_BLESS").is_some();
    let mut failures = Vec::new();
    let all = scenarios();
    for path in &all {
        let got = play(path);
        let expected = path.with_extension("expected");
        if bless {
            fs::write(&expected, &got).unwrap();
        } else if fs::read_to_string(&expected).ok().as_deref() != Some(got.as_str()) {
            failures.push(format!("{}:\n{got}", expected.display()));
        }
    }
    assert!(all.len() >= 10, "{} scenarios", all.len());
    assert!(failures.is_empty(), "{} scenarios differ:\n{}", failures.len(), failures.join("\n"));
}
