#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! The command line end to end: output, exit codes and stderr (docs/formats.md, "Interfaces").

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate")).current_dir(root()).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn estimate_prints_lines_total_and_charged() {
    let out = tollgate(&["estimate", "examples/runs/storyboard.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("Estimate (rates 2026-04-18)"), "{s}");
    assert!(s.contains("charged  155.05 – 159.05 credits"), "{s}");
    assert!(s.contains("gpt-image-1"), "{s}");
}

#[test]
fn estimate_json_is_the_library_answer() {
    let out = tollgate(&["estimate", "examples/runs/storyboard.toml", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let engine = tollgate::Engine::embedded().unwrap();
    let run_text = std::fs::read_to_string(root().join("examples/runs/storyboard.toml")).unwrap();
    let run = tollgate::Run::from_toml("storyboard.toml", &run_text).unwrap();
    let want = serde_json::to_string_pretty(&engine.estimate(&run).unwrap()).unwrap() + "\n";
    assert_eq!(text(&out.stdout), want);
}

#[test]
fn bad_run_exits_2_with_position_on_stderr() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = dir.join("bad.toml");
    std::fs::write(&run, "[[items]]\nkind = \"text\"\nmodel = \"gpt-4o\"\ninput_tokens = \"many\"\n").unwrap();
    let out = tollgate(&["estimate", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("bad.toml:4:16: `many` is not a decimal number"), "{err}");

    std::fs::write(&run, "[[items]]\nkind = \"text\"\nmodel = \"gpt-5o\"\ninput_tokens = 1\n").unwrap();
    let out = tollgate(&["estimate", run.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown text model `gpt-5o` (did you mean `gpt-4o`? known: claude-3.5-haiku,"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_rates_folder_lists_every_problem_with_help() {
    let out = tollgate(&[
        "estimate",
        "examples/runs/storyboard.toml",
        "--rates",
        "tests/fixtures/rates-invalid/duplicate-across-files",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("b.toml:4:7: text model `gpt-4o` is defined twice (first at "), "{err}");
    assert!(err.contains("  help: rename or remove one of the two definitions"), "{err}");

    let out = tollgate(&["rates", "--rates", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read `no/such/dir`"));
}

#[test]
fn rates_by_kind_as_tables_and_json() {
    let out = tollgate(&["rates", "video"]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(s.contains("Video — credits per second") && s.contains("sora-2"), "{s}");
    assert!(!s.contains("Text —"), "{s}");

    let out = tollgate(&["rates", "tools", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ratesVersion"], "2026-04-18");
    assert!(v["text"].as_array().unwrap().is_empty());
    assert!(v["tools"].as_array().unwrap().iter().any(|t| t["tool"] == "storyboard" && t["perRun"] == "5"));
}

#[test]
fn estimate_reads_json_from_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["estimate", "-", "--json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"items":[{"kind":"image","model":"dall-e-3","count":2,"quality":"hd"}]}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["low"], "16");
}

#[test]
fn authorize_exits_0_when_allowed_and_1_when_denied() {
    let out = tollgate(&["authorize", "--role", "owner", "--action", "billing.top_up", "--ctx", "org.status=active"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "allowed: `owner` may `billing.top_up` (allowed by `owner-billing-mutations`)\n");

    let out = tollgate(&["authorize", "--role", "viewer", "--action", "billing.checkout", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["reason"], "no_rule_allows");

    let out = tollgate(&["authorize", "--role", "intern", "--action", "billing.view"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error: unknown role `intern` (known: admin, editor, owner, support, viewer)")
    );

    let out = tollgate(&["authorize", "--role", "owner", "--action", "billing.view", "--ctx", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected NAME=VALUE"));
}

#[test]
fn check_reads_like_the_product_page() {
    let out = tollgate(&["check", "--org", "examples/orgs/acme-free.toml", "--limit", "seats"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "denied: seats limit reached on Free (3 of 3) — upgrade to Pro at /org/acme/billing\n"
    );
    let out = tollgate(&["check", "--org", "examples/orgs/acme-free.toml", "--limit", "projects_per_org", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["allowed"].as_bool(), v["remaining"].as_str()), (Some(true), Some("1")));
}

#[test]
fn quote_lists_every_reason_and_exits_1_when_denied() {
    let out = tollgate(&["quote", "examples/quotes/editor-storyboard.toml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).ends_with("allowed: every check passed\n"));

    let out = tollgate(&["quote", "examples/quotes/denied-every-reason.toml", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["FREQUENCY_CAP", "INSUFFICIENT_CREDITS", "SPEND_CAP_REACHED"]);
    assert_eq!(v["reasons"][1]["billingLink"], "/org/acme/billing");
    // An editor may not buy credits: no top-up is offered, and the message
    // says who can; the owner, asking the same, is offered the top-up.
    assert_eq!(v["topUp"], serde_json::Value::Null);
    assert!(v["reasons"][1]["message"].as_str().unwrap().ends_with(" — the owner can add credits"), "{v}");
    let text_of = std::fs::read_to_string(root().join("examples/quotes/denied-every-reason.toml")).unwrap();
    let as_owner = text_of.replacen("role = \"editor\"", "role = \"owner\"", 1);
    assert_ne!(as_owner, text_of, "the example is an editor's");
    let file = std::env::temp_dir().join(format!("tollgate-owner-{}.toml", std::process::id()));
    std::fs::write(&file, as_owner).unwrap();
    let out = tollgate(&["quote", file.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["topUp"]["credits"], "100");
    assert!(v["reasons"].as_array().unwrap().iter().any(|r| r["upgrade"]["plan"] == "pro"), "{v}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn top_up_rounds_to_blocks_and_rejects_out_of_range() {
    let out = tollgate(&["top-up", "--org", "examples/orgs/acme-free.toml", "--credits", "101"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "top-up: 110 credits (11 blocks) for 1.10 USD\n");
    let out = tollgate(&["top-up", "--org", "examples/orgs/acme-free.toml", "--credits", "1000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("above the maximum top-up of 5000"), "{}", text(&out.stderr));
}

#[test]
fn bad_policies_folder_exits_2_with_positions() {
    let out = tollgate(&[
        "authorize",
        "--role",
        "a",
        "--action",
        "x.do",
        "--policies",
        "tests/fixtures/policies-invalid/duplicate-role-across-files",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("b.toml:3:1: role `a` is defined twice (first at "), "{err}");
}

/// The full diagnostic text of `tollgate validate` for every invalid rate
/// and policy fixture, and for every lint fixture: snapshots beside them
/// (`NAME.diagnostic`). `TOLLGATE_BLESS=1` rewrites them.
#[test]
fn validate_diagnostics_snapshots() {
    let fixtures = root().join("tests/fixtures");
    let bless = std::env::var_os("TOLLGATE_BLESS").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    for (corpus, flag, other) in [
        ("rates-invalid", "--rates", None),
        ("policies-invalid", "--policies", Some(("--rates", "tests/fixtures/rates"))),
        ("lints", "--policies", Some(("--rates", "tests/fixtures/rates"))),
    ] {
        let mut entries: Vec<_> =
            std::fs::read_dir(fixtures.join(corpus)).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for path in entries {
            let is_case = path.extension().is_some_and(|e| e == "toml") || path.is_dir();
            if !is_case || (corpus == "lints" && path.is_dir()) {
                continue;
            }
            let rel = format!("tests/fixtures/{corpus}/{}", path.file_name().unwrap().to_string_lossy());
            let mut args = vec!["validate", flag, rel.as_str()];
            if let Some((f, v)) = other {
                args.extend([f, v]);
            }
            let out = tollgate(&args);
            let want_code = if corpus == "lints" { 0 } else { 2 };
            assert_eq!(out.status.code(), Some(want_code), "{rel}: {}", text(&out.stdout));
            let got = text(&out.stdout);
            let snapshot = path.with_extension("diagnostic");
            count += 1;
            if bless {
                std::fs::write(&snapshot, &got).unwrap();
            } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(got.as_str()) {
                failures.push(format!("{rel}:\n{got}"));
            }
        }
    }
    assert!(count >= 60, "only {count} snapshots");
    assert!(failures.is_empty(), "{} diagnostics differ:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn validate_json_and_deny_warnings() {
    let out = tollgate(&["validate", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["errors"].as_array().unwrap().len(), v["warnings"].as_array().unwrap().len()), (0, 0));

    let args =
        ["validate", "--rates", "tests/fixtures/rates", "--policies", "tests/fixtures/lints/duplicate-rule.toml"];
    assert_eq!(tollgate(&args).status.code(), Some(0), "warnings alone pass");
    let mut strict = args.to_vec();
    strict.extend(["--deny-warnings", "--json"]);
    let out = tollgate(&strict);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &v["warnings"][0];
    assert_eq!(
        (w["code"].as_str(), w["line"].as_u64(), w["column"].as_u64()),
        (Some("duplicate_rule"), Some(25), Some(6))
    );
}

#[test]
fn test_command_passes_on_the_shipped_suite_and_reports_failures() {
    let out = tollgate(&["test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).ends_with(" passed, 0 failed\nrule coverage: 8 of 8 rules exercised\n"),
        "{}",
        text(&out.stdout)
    );

    let out = tollgate(&["test", "tests/fixtures/policy-tests/failing.toml"]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(s.contains("FAIL tests/fixtures/policy-tests/failing.toml:9:1 wrong: admins cannot top up: expected allow, got deny by []"), "{s}");
    assert!(s.contains("expected allow by [some-other-rule], got allow by [owner-billing-mutations]"), "{s}");
    assert!(s.contains("got error: unknown role `intern`"), "{s}");
    assert_eq!(s.lines().filter(|l| l.starts_with("FAIL ")).count(), 6);
    assert!(s.contains("1 passed, 6 failed\nrule coverage: "), "{s}");
    assert!(s.contains("  not exercised: `admins-see-balance` at policies/roles.toml:"), "{s}");
    let out = tollgate(&["test", "tests/fixtures/policy-tests/failing.toml", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["coverage"]["rules"], 8);
    assert!(v["coverage"]["notExercised"][0]["at"].as_str().unwrap().starts_with("policies/roles.toml:"), "{v}");
}

#[test]
fn authorize_and_quote_explain_every_rule() {
    let out = tollgate(&["authorize", "--role", "owner", "--action", "billing.top_up", "--explain"]);
    assert_eq!(out.status.code(), Some(1));
    let s = text(&out.stdout);
    assert!(
        s.contains(
            "applies deny  no-top-ups-while-suspended       `org.status` is missing: a deny fails closed and applies"
        ),
        "{s}"
    );
    assert!(s.contains("org.status eq \"suspended\" -> missing"), "{s}");
    assert_eq!(s.lines().filter(|l| l.starts_with("  applies") || l.starts_with("  skipped")).count(), 8);

    let out = tollgate(&["quote", "examples/quotes/editor-storyboard.toml", "--explain", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["quote"]["verdict"], "allowed");
    let applied: Vec<&str> = v["explanation"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["applies"] == true)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(applied, ["editors-run-tools"]);
}

#[test]
fn schema_prints_each_format_and_refuses_unknown_ones() {
    for kind in ["rates", "policies", "run", "quote", "tests"] {
        let out = tollgate(&["schema", kind]);
        assert_eq!(out.status.code(), Some(0));
        let committed = std::fs::read_to_string(root().join(format!("schemas/{kind}.schema.json"))).unwrap();
        assert_eq!(text(&out.stdout), committed, "{kind}");
    }
    let out = tollgate(&["schema", "plans"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown schema `plans` (known: rates, policies, run, quote, tests)"));
}

/// Command-line numbers are read as the files' numbers are: exact decimal
/// text, or exit 2 naming the flag. No exponents, no `_`, no silent rounding.
#[test]
fn number_flags_are_read_exactly_or_refused() {
    let org = root().join("examples/orgs/acme-free.toml");
    let org = org.to_str().unwrap();
    for (flag, value, says) in [
        ("--adding", "1e3", "`1e3` is not a decimal number"),
        ("--adding", "0_1", "`0_1` is not a decimal number"),
        ("--adding", "0.00000000000000000000000000001", "is out of range"),
    ] {
        let out = tollgate(&["check", "--org", org, "--limit", "seats", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(
            text(&out.stderr).contains(&format!("{flag}: ")) && text(&out.stderr).contains(says),
            "{}",
            text(&out.stderr)
        );
    }
    let out = tollgate(&["top-up", "--org", org, "--credits", "1e2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--credits: `1e2` is not a decimal number"), "{}", text(&out.stderr));
}

/// `validate` quotes the text it loaded: an embedded file's excerpt comes
/// from the embedded text, not from a file of that name in the current
/// folder.
#[test]
fn validate_quotes_the_loaded_text_not_a_file_of_that_name() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-decoy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("plans.toml"), "DECOY\n".repeat(40)).unwrap();
    let rates = root().join("tests/fixtures/rates");
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["validate", "--rates", rates.to_str().unwrap()])
        .current_dir(&dir)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let report = text(&out.stdout);
    assert!(report.contains("[plans.free.tools.\"summarize\"]") && !report.contains("DECOY"), "{report}");
}

/// `build` writes the bundle the library writes and says its fingerprint;
/// every query answers from it as from the files; a bad bundle, or a bundle
/// beside `--rates`, is bad input (exit 2) with the reason on stderr.
#[test]
fn build_writes_a_bundle_that_answers_as_the_files_do() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shipped.bundle");
    let path = file.to_str().unwrap();
    let out = tollgate(&["build", "--rates", "rates", "--policies", "policies", "-o", path, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let engine = tollgate::Engine::embedded().unwrap();
    assert_eq!(report["fingerprint"], engine.fingerprint());
    assert_eq!(report["format"], tollgate::BUNDLE_FORMAT);
    assert_eq!(report["ratesVersion"], "2026-04-18");
    assert_eq!(std::fs::read(&file).unwrap(), engine.to_bundle());
    assert_eq!(report["bytes"], engine.to_bundle().len());
    let human = tollgate(&["build", "-o", path]);
    assert!(text(&human.stdout).contains(&format!("fingerprint {}", engine.fingerprint())), "{}", text(&human.stdout));

    for args in [
        &["estimate", "examples/runs/storyboard.toml", "--json"][..],
        &["quote", "examples/quotes/editor-storyboard.toml", "--json"],
    ] {
        let from_files = tollgate(args);
        let from_bundle = tollgate(&[args, &["--bundle", path]].concat());
        assert_eq!(from_bundle.status.code(), from_files.status.code());
        assert_eq!(text(&from_bundle.stdout), text(&from_files.stdout));
    }

    let mut altered = std::fs::read(&file).unwrap();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let bad = dir.join("altered.bundle");
    std::fs::write(&bad, altered).unwrap();
    let out = tollgate(&["estimate", "examples/runs/storyboard.toml", "--bundle", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("truncated or altered"), "{}", text(&out.stderr));
    let out = tollgate(&["estimate", "examples/runs/storyboard.toml", "--bundle", path, "--rates", "rates"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--bundle replaces --rates and --policies"), "{}", text(&out.stderr));
    std::fs::remove_file(&file).unwrap();
    let out = tollgate(&[
        "build",
        "--policies",
        "tests/fixtures/policies-invalid/deny-with-unusable-numbers.toml",
        "-o",
        path,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("error["), "{}", text(&out.stdout));
    assert!(!file.exists(), "files with errors: no bundle written");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// In a folder with its own `policies/` and `rates/`, the obvious commands
/// check those files, not the embedded defaults, and say which they
/// checked; a test folder inside a policies folder tests those policies
/// from anywhere. (A rule renamed on purpose must fail the shipped tests.)
#[test]
fn author_files_are_checked_and_named() {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-author-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for folder in ["rates", "policies", "policies/tests"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(folder).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    let roles = dir.join("policies/roles.toml");
    let original = std::fs::read_to_string(&roles).unwrap();
    std::fs::write(&roles, original.replace("id = \"owner-billing-mutations\"", "id = \"owner-billing-renamed\""))
        .unwrap();
    let run = |cwd: &std::path::Path, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tollgate")).current_dir(cwd).args(args).output().unwrap()
    };
    let out = run(&dir, &["test"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let s = text(&out.stdout);
    assert!(s.starts_with("checked rates in rates (4 files) and policies in policies (2 files)\n"), "{s}");
    assert!(s.contains("got allow by [owner-billing-renamed]"), "{s}");
    // From elsewhere, by the test folder's path.
    let out = run(&std::env::temp_dir(), &["test", dir.join("policies/tests").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("owner-billing-renamed"), "{}", text(&out.stdout));
    // validate names what it checked, and sees a broken file.
    std::fs::write(dir.join("policies/plans.toml"), "[plans.free]\nlimits = 3\n").unwrap();
    let out = run(&dir, &["validate"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("checked rates in rates (4 files) and policies in policies (2 files)\n"));
    let out = run(&dir, &["validate", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["checked"], "checked rates in rates (4 files) and policies in policies (2 files)");
    assert!(!json["errors"].as_array().unwrap().is_empty());
    // Where there are no such folders: the embedded defaults, said so.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&empty, &["validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("checked the embedded rates and the embedded policies\n"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `test --json` is the report as JSON (every case, every failure, what was
/// checked); `--junit FILE` writes JUnit XML for CI: a suite per file, a
/// case per test, a failure with what was expected and what came out.
#[test]
fn test_reports_as_json_and_junit() {
    let junit = std::env::temp_dir().join(format!("tollgate-junit-{}.xml", std::process::id()));
    let out =
        tollgate(&["test", "tests/fixtures/policy-tests/failing.toml", "--json", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["passed"], 1);
    assert_eq!(json["failed"], 6);
    assert_eq!(json["cases"].as_array().unwrap().len(), 7);
    assert_eq!(json["failures"][0]["at"], "tests/fixtures/policy-tests/failing.toml:9:1");
    assert_eq!(json["failures"][0]["expected"], "allow");
    assert!(json["checked"].as_str().unwrap().starts_with("checked rates in rates"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tollgate test\" tests=\"7\" failures=\"6\" errors=\"0\">"), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), 7);
    assert_eq!(xml.matches("<failure ").count(), 6);
    assert!(xml.contains("<failure message=\"expected allow, got deny by [] (`admin` may not `billing.top_up` (no rule allows it))\"/>"), "{xml}");
    // A file that is not a test file is an error case of its own.
    let out = tollgate(&["test", "tests/fixtures/rates/rates.toml", "--junit", junit.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("errors=\"1\"") && xml.contains("<error message="), "{xml}");
    std::fs::remove_file(&junit).unwrap();
}

/// Every code the engine can give (the arms of each error's `code()`, the
/// lints, the reason codes, the codes of the JavaScript boundary) has its
/// section in docs/codes.md, which `tollgate explain` prints; an unknown
/// code exits 2 with the list.
#[test]
fn every_code_is_explained() {
    let read = |p: &str| std::fs::read_to_string(root().join(p)).unwrap();
    let mut codes: Vec<String> = Vec::new();
    for line in read("src/error.rs").lines().chain(read("src/checks.rs").lines()) {
        if let Some((_, rest)) = line.split_once("=> \"") {
            if let Some((code, _)) = rest.split_once('"') {
                // Codes, not the help texts of the same match shape.
                if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                    codes.push(code.to_string());
                }
            }
        }
    }
    let validate = read("src/validate.rs");
    for (i, _) in validate.match_indices("warn(") {
        let after = &validate[i..];
        if let Some(start) = after.find('"') {
            let code: String = after[start + 1..].chars().take_while(|c| *c != '"').collect();
            if code.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                codes.push(code);
            }
        }
    }
    let checks = read("src/checks.rs");
    let reasons = checks.split("pub enum ReasonCode {").nth(1).unwrap().split('}').next().unwrap();
    for variant in reasons.lines().map(str::trim).filter(|l| l.ends_with(',') && !l.starts_with("//")) {
        let name = variant.trim_end_matches(',');
        let mut screaming = String::new();
        for (i, c) in name.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                screaming.push('_');
            }
            screaming.push(c.to_ascii_uppercase());
        }
        codes.push(screaming);
    }
    codes.extend(["bad_request", "too_large", "internal", "load", "freed", "bad_org", "bad_bundle"].map(String::from));
    // The ledger's codes (`LedgerError::code`), and PRICE_CHANGED of a reserve.
    for line in read("ledger/src/error.rs").lines() {
        if let Some((_, rest)) = line.split_once("=> \"") {
            if let Some((code, _)) = rest.split_once('"') {
                codes.push(code.to_string());
            }
        }
    }
    codes.push("PRICE_CHANGED".into());
    assert!(codes.iter().any(|c| c == "HOLD_CLOSED"), "the ledger's codes are read");
    codes.sort();
    codes.dedup();
    assert!(codes.len() > 60, "only {} codes found: {codes:?}", codes.len());
    let mut missing = Vec::new();
    for code in &codes {
        let out = tollgate(&["explain", code]);
        if out.status.code() != Some(0) || !text(&out.stdout).contains("What to do:") {
            missing.push(code.clone());
        }
    }
    assert!(missing.is_empty(), "codes without a section in docs/codes.md: {missing:?}");
    let out = tollgate(&["explain", "NOT_A_CODE"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unknown code `NOT_A_CODE` (known: ORG_SUSPENDED,"), "{}", text(&out.stderr));
}

/// The usage counters a plan's checks read, from the library and the
/// command line; a quote without one of them names it.
#[test]
fn counters_of_a_plan_are_listed() {
    let engine = tollgate::Engine::embedded().unwrap();
    let counters = engine.counters("free").unwrap();
    assert!(
        counters.contains(&"seats".to_string()) && counters.contains(&"tools.storyboard.runs_today".to_string()),
        "{counters:?}"
    );
    let out = tollgate(&["counters", "--plan", "free", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let listed: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed, counters);
    let out = tollgate(&["counters", "--plan", "fre"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `free`?"), "{}", text(&out.stderr));
    // Every counter listed is one a quote reads: without the tool's, it fails naming it.
    let org: tollgate::Org = serde_json::from_str(r#"{"slug":"a","plan":"free","balance":"500"}"#).unwrap();
    let q: tollgate::QuoteRequest =
        serde_json::from_value(serde_json::json!({"role": "owner", "org": org, "run": {"tool": "storyboard"}}))
            .unwrap();
    let e = engine.quote(&q).unwrap_err();
    assert!(e.to_string().contains("tools.storyboard.runs_today"), "{e}");
}
