#![allow(clippy::unwrap_used, clippy::panic)] // test code: a failure should stop the test loudly

//! Data-file corpora, driven by one runner (see tests/fixtures/README.md).
//!
//! - `fixtures/estimate/NAME.{toml,json}`: a run estimated against the rates
//!   in `fixtures/rates/`; the answer is compared with `NAME.expected`
//!   (pretty JSON of the estimate, or the error text).
//! - `fixtures/rates-invalid/NAME.toml` or `NAME/` (several files): rate
//!   sources that must fail to load; the error text is compared with
//!   `NAME.expected`.
//!
//! - `fixtures/checks/NAME.toml`: one request, `[authorize]`, `[check]`,
//!   `[top_up]`, `[quote]` or `[billing]`, answered by the engine on
//!   `fixtures/rates/` and `fixtures/policies/`; `NAME.expected` holds the
//!   JSON answer or the error text.
//! - `fixtures/policies-invalid/NAME.toml` or `NAME/`: policy sources that
//!   must fail to load, with the full error text in `NAME.expected`.
//!
//! - `fixtures/lints/NAME.toml` (a policy file, with `fixtures/rates/`) or
//!   `NAME/` (`*.rates.toml` are rate files, the rest policy files): sources
//!   that load; `NAME.expected` holds every lint (`clean*` cases: none).
//!
//! `TOLLGATE_BLESS=1 cargo test --test fixtures` rewrites the expected files;
//! review the diff before committing it.

use serde::Deserialize;
use std::fs;
use std::path::{Path, PathBuf};
use tollgate::{validate, Context, Decimal, Engine, Org, QuoteRequest, Run, Sources};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Compares (or, when blessing, writes) every case; fails once listing all.
fn check_all(cases: Vec<(PathBuf, String)>) {
    let bless = std::env::var_os("TOLLGATE_BLESS").is_some();
    let mut failures = Vec::new();
    for (expected_path, got) in &cases {
        if bless {
            fs::write(expected_path, got).unwrap();
            continue;
        }
        match fs::read_to_string(expected_path) {
            Ok(want) if &want == got => {}
            Ok(want) => failures.push(format!("{}:\n--- expected\n{want}\n--- got\n{got}", expected_path.display())),
            Err(_) => failures.push(format!("{}: missing; got\n{got}", expected_path.display())),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

fn sorted_entries(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(d).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

fn estimate_answer(engine: &Engine, path: &Path) -> String {
    let name = file_name(path);
    let text = fs::read_to_string(path).unwrap();
    let run = if name.ends_with(".json") { Run::from_json(&name, &text) } else { Run::from_toml(&name, &text) };
    let run = match run {
        Ok(run) => run,
        Err(e) => return format!("error: {e}\n"),
    };
    match engine.estimate(&run) {
        Ok(estimate) => serde_json::to_string_pretty(&estimate).unwrap() + "\n",
        Err(e) => format!("error: {e}\n"),
    }
}

#[test]
fn estimate_corpus() {
    let engine = Engine::from_rates_dir(dir("rates")).unwrap();
    let mut cases = Vec::new();
    let (mut valid, mut invalid) = (0, 0);
    for path in sorted_entries(&dir("estimate")) {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if ext != "toml" && ext != "json" {
            continue;
        }
        let answer = estimate_answer(&engine, &path);
        if answer.starts_with("error: ") {
            invalid += 1;
        } else {
            valid += 1;
        }
        // An `err-` case must fail and any other must succeed, so a case
        // cannot quietly change sides when expectations are re-blessed.
        assert_eq!(file_name(&path).starts_with("err-"), answer.starts_with("error: "), "{}: {answer}", path.display());
        cases.push((path.with_extension("expected"), answer));
    }
    assert!(valid >= 25 && invalid >= 20, "corpus too small: {valid} valid, {invalid} invalid");
    check_all(cases);
}

/// Each case of an invalid corpus (a `.toml` file, or a folder of them) as
/// named sources added by `add` to `base`; the full error text of the load,
/// which must fail, is compared with `NAME.expected`.
fn invalid_corpus(corpus: &str, base: impl Fn() -> Sources, add: fn(Sources, &str, &str) -> Sources, at_least: usize) {
    let mut cases = Vec::new();
    for path in sorted_entries(&dir(corpus)) {
        let files = if path.is_dir() {
            sorted_entries(&path).into_iter().filter(|p| p.extension().is_some_and(|e| e == "toml")).collect()
        } else if path.extension().is_some_and(|e| e == "toml") {
            vec![path.clone()]
        } else {
            continue;
        };
        let mut sources = base();
        for f in &files {
            let name = if path.is_dir() { format!("{}/{}", file_name(&path), file_name(f)) } else { file_name(f) };
            sources = add(sources, &name, &fs::read_to_string(f).unwrap());
        }
        let got = match Engine::from_sources(sources) {
            Ok(_) => panic!("{} loaded but must fail", path.display()),
            Err(e) => format!("{e:#}\n"),
        };
        cases.push((path.with_extension("expected"), got));
    }
    assert!(cases.len() >= at_least, "{corpus}: corpus too small: {}", cases.len());
    check_all(cases);
}

#[test]
fn invalid_rates_corpus() {
    invalid_corpus("rates-invalid", Sources::new, |s, name, text| s.rates(name, text), 20);
}

/// One check case: exactly one of the tables is present.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckCase {
    authorize: Option<AuthorizeCase>,
    check: Option<LimitCase>,
    top_up: Option<TopUpCase>,
    quote: Option<QuoteRequest>,
    billing: Option<BillingCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeCase {
    role: String,
    action: String,
    #[serde(default)]
    context: Context,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitCase {
    org: Org,
    limit: String,
    adding: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TopUpCase {
    org: Org,
    credits: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BillingCase {
    role: String,
    org: Org,
}

fn answer<T: serde::Serialize, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap() + "\n",
        Err(e) => format!("error: {e}\n"),
    }
}

fn check_answer(engine: &Engine, path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let case: CheckCase = tollgate::from_toml_str(&path.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let mut answers = Vec::new();
    if let Some(a) = case.authorize {
        answers.push(answer(engine.authorize(&a.role, &a.action, &a.context)));
    }
    if let Some(c) = case.check {
        answers.push(answer(engine.check_limit(&c.org, &c.limit, c.adding.as_deref().map_or(Decimal::ONE, d))));
    }
    if let Some(t) = case.top_up {
        answers.push(answer(engine.quote_top_up(&t.org, d(&t.credits))));
    }
    if let Some(q) = case.quote {
        answers.push(answer(engine.quote(&q)));
    }
    if let Some(b) = case.billing {
        answers.push(answer(engine.visible_billing(&b.role, &b.org)));
    }
    assert_eq!(answers.len(), 1, "{}: exactly one request table", path.display());
    answers.remove(0)
}

#[test]
fn checks_corpus() {
    let engine = Engine::from_dirs(dir("rates"), dir("policies")).unwrap();
    let mut cases = Vec::new();
    for path in sorted_entries(&dir("checks")) {
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let got = check_answer(&engine, &path);
        assert_eq!(file_name(&path).starts_with("err-"), got.starts_with("error: "), "{}: {got}", path.display());
        cases.push((path.with_extension("expected"), got));
    }
    assert!(cases.len() >= 40, "corpus too small: {}", cases.len());
    check_all(cases);
}

#[test]
fn invalid_policies_corpus() {
    let rates = fs::read_to_string(dir("rates").join("rates.toml")).unwrap();
    invalid_corpus(
        "policies-invalid",
        || Sources::new().rates("rates.toml", &rates),
        |s, name, text| s.policies(name, text),
        15,
    );
}

#[test]
fn lints_corpus() {
    let fixture_rates = fs::read_to_string(dir("rates").join("rates.toml")).unwrap();
    let mut cases = Vec::new();
    let mut linted = 0;
    for path in sorted_entries(&dir("lints")) {
        let mut sources = Sources::new();
        if path.is_dir() {
            for f in sorted_entries(&path) {
                let name = format!("{}/{}", file_name(&path), file_name(&f));
                let text = fs::read_to_string(&f).unwrap();
                sources = if name.ends_with(".rates.toml") {
                    sources.rates(&name, &text)
                } else {
                    sources.policies(&name, &text)
                };
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            sources = sources
                .rates("rates.toml", &fixture_rates)
                .policies(&file_name(&path), &fs::read_to_string(&path).unwrap());
        } else {
            continue;
        }
        let v = validate(sources);
        assert!(v.errors.is_empty(), "{}: lint cases must load: {:?}", path.display(), v.errors);
        let clean = file_name(&path).starts_with("clean");
        assert_eq!(clean, v.warnings.is_empty(), "{}: {:?}", path.display(), v.warnings);
        linted += usize::from(!clean);
        let got: String = v.warnings.iter().map(|w| format!("{w}\n  help: {}\n", w.help)).collect();
        cases.push((path.with_extension("expected"), got));
    }
    assert!(linted >= 10, "only {linted} lint cases");
    check_all(cases);
}

#[test]
fn the_shipped_defaults_validate_clean() {
    let v = validate(Sources::embedded());
    assert!(v.is_clean(), "{:?} {:?}", v.errors, v.warnings);
}
