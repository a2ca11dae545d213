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

mod common;

use common::scenario::{play, scenarios};
use std::fs;
use tollgate_ledger::SqliteStore;

#[test]
fn scenario_corpus() {
    let bless = std::env::var_os("TOLLGATE_BLESS").is_some();
    let mut failures = Vec::new();
    let all = scenarios();
    for path in &all {
        let got = play(path, SqliteStore::open("sqlite::memory:").unwrap());
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
