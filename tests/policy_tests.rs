#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! The declarative policy tests from Rust, as a backend runs them in its
//! own `cargo test`.

use tollgate::{testing, Engine};

#[test]
fn the_shipped_policy_tests_pass() {
    let engine = Engine::embedded().unwrap();
    let report = testing::run_dir(&engine, concat!(env!("CARGO_MANIFEST_DIR"), "/policies/tests"));
    report.assert_ok();
    assert!(report.passed >= 15);
}

/// Rule coverage: the shipped tests exercise every shipped rule; a test
/// file that leaves rules out names each, at its line.
#[test]
fn coverage_names_every_rule_no_case_exercised() {
    let engine = Engine::embedded().unwrap();
    let report = testing::run_dir(&engine, concat!(env!("CARGO_MANIFEST_DIR"), "/policies/tests"));
    let full = testing::coverage(&engine, &report);
    assert_eq!((full.exercised, full.rules), (8, 8), "{:?}", full.not_exercised);
    let one = testing::run_text(
        &engine,
        "one.toml",
        "[[authorize]]\nname = \"editors run tools\"\nrole = \"editor\"\naction = \"tools.run\"\nexpect = \"allow\"\n",
    );
    one.assert_ok();
    let partial = testing::coverage(&engine, &one);
    assert_eq!((partial.exercised, partial.rules), (1, 8));
    let ids: Vec<&str> = partial.not_exercised.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids[0], "members-read-billing");
    assert!(!ids.contains(&"editors-run-tools"));
    assert!(partial.not_exercised[0].at.starts_with("roles.toml:"), "{}", partial.not_exercised[0].at);
    // A deny rule counts when it applies (it decided the case).
    let deny = testing::run_text(
        &engine,
        "deny.toml",
        "[[authorize]]\nname = \"suspended\"\nrole = \"owner\"\naction = \"billing.top_up\"\ncontext = { \"org.status\" = \"suspended\" }\nexpect = \"deny\"\n",
    );
    deny.assert_ok();
    assert!(deny.exercised.contains("no-top-ups-while-suspended"), "{:?}", deny.exercised);
}

#[test]
fn a_failing_file_gives_a_readable_report() {
    let engine = Engine::embedded().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy-tests/failing.toml");
    let report = testing::run_path(&engine, path);
    assert!(!report.ok());
    assert_eq!((report.passed, report.failures.len()), (1, 6));
    assert_eq!(report.failures[0].name, "wrong: admins cannot top up");
    assert!(report.failures[0].at.ends_with("failing.toml:9:1"));
    let text = report.to_string();
    assert!(text.ends_with("1 passed, 6 failed"), "{text}");
    let panicked = std::panic::catch_unwind(|| report.assert_ok()).unwrap_err();
    let message = panicked.downcast_ref::<String>().unwrap();
    assert!(message.starts_with("policy tests failed:\nFAIL "), "{message}");
}

#[test]
fn unreadable_test_files_are_failures_with_positions() {
    let engine = Engine::embedded().unwrap();
    let report = testing::run_text(
        &engine,
        "bad.toml",
        "[[authorize]]\nname = \"x\"\nrole = \"owner\"\naction = \"billing.view\"\nexpect = \"maybe\"\n",
    );
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].starts_with("bad.toml:5:10: unknown variant `maybe`"), "{:?}", report.errors);
    assert!(!report.ok());
}
