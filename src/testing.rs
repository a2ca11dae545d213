//! Declarative policy tests: TOML files that policy authors keep beside
//! their policies (`policies/tests/*.toml`), run by `tollgate test` and, from
//! a backend's own `cargo test`, by [`run_dir`]:
//!
//! ```toml
//! [[authorize]]
//! name = "only the owner tops up"
//! role = "admin"
//! action = "billing.top_up"
//! context = { "org.status" = "active" }
//! expect = "deny"
//! rules = []                          # optional: the rules expected to decide
//!
//! [[check_limit]]
//! name = "a fourth seat on Free"
//! org = { slug = "acme", plan = "free", balance = "0", usage = { seats = 3 } }
//! limit = "seats"
//! expect = "deny"                     # allow | deny
//!
//! [[estimate]]
//! name = "a storyboard run"
//! run = { tool = "storyboard" }
//! total = { low = "5", high = "5" }   # optional; charged likewise
//!
//! [[quote]]
//! name = "short of credits"
//! request = { role = "editor", org = { slug = "a", plan = "free", balance = "1" }, run = { tool = "summarize" } }
//! expect = "denied"                   # allowed | denied
//! reasons = ["INSUFFICIENT_CREDITS"]  # optional: exactly these codes
//! ```

use crate::api::LimitRequest;
use crate::engine::Engine;
use crate::request::{Context, Org, QuoteRequest};
use crate::run::Run;
use crate::source::Source;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestFile {
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<AuthorizeCase>"))]
    authorize: Vec<Spanned<AuthorizeCase>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<LimitCase>"))]
    check_limit: Vec<Spanned<LimitCase>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<EstimateCase>"))]
    estimate: Vec<Spanned<EstimateCase>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<QuoteCase>"))]
    quote: Vec<Spanned<QuoteCase>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeCase {
    name: String,
    role: String,
    action: String,
    #[serde(default)]
    context: Context,
    expect: AllowDeny,
    rules: Option<Vec<String>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum AllowDeny {
    Allow,
    Deny,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitCase {
    name: String,
    org: Org,
    limit: String,
    #[serde(default = "one", with = "crate::money::decimal")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    adding: Decimal,
    expect: AllowDeny,
}

fn one() -> Decimal {
    Decimal::ONE
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EstimateCase {
    name: String,
    run: Run,
    total: Option<Range>,
    charged: Option<Range>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Range {
    #[serde(with = "crate::money::decimal")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    low: Decimal,
    #[serde(with = "crate::money::decimal")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    high: Decimal,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteCase {
    name: String,
    request: QuoteRequest,
    expect: crate::checks::Verdict,
    reasons: Option<Vec<String>>,
}

/// One failed case: where, what was expected, what came out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TestFailure {
    /// `file:line:column` of the case.
    pub at: String,
    /// The case's name.
    pub name: String,
    /// What the case expects.
    pub expected: String,
    /// What the engine answered.
    pub got: String,
}

impl fmt::Display for TestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAIL {} {}: expected {}, got {}", self.at, self.name, self.expected, self.got)
    }
}

/// One case run: its file, position and name, and whether it passed (for
/// reports that list every case, such as JUnit XML).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TestCase {
    /// The test file.
    pub file: String,
    /// `file:line:column` of the case.
    pub at: String,
    /// The case's name.
    pub name: String,
    /// Whether it passed (its failure is in `failures` otherwise).
    pub passed: bool,
}

/// The outcome of running test files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct TestReport {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed, in file order.
    pub failures: Vec<TestFailure>,
    /// Files that could not be read (with the reason), counted as failures.
    pub errors: Vec<String>,
    /// Every case run, in file order.
    pub cases: Vec<TestCase>,
    /// The rules that applied in some case (an authorization, or the
    /// `tools.run` authorization of a quote), sorted: [`coverage`] tells
    /// which rules of the policies no case exercised.
    pub exercised: std::collections::BTreeSet<String>,
}

/// Rule coverage of a test run: which rules of the policies applied in some
/// case, and which in none (as `opa test --coverage` tells).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Coverage {
    /// How many rules the policies have.
    pub rules: usize,
    /// How many applied in some case.
    pub exercised: usize,
    /// The rules no case exercised, in file order, each with where it is.
    pub not_exercised: Vec<UncoveredRule>,
}

/// A rule no test case exercised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct UncoveredRule {
    /// Its id.
    pub id: String,
    /// `file:line:column` of its id.
    pub at: String,
}

/// Which rules of `engine`'s policies the cases of `report` exercised.
pub fn coverage(engine: &Engine, report: &TestReport) -> Coverage {
    let rules = &engine.policies().rules;
    let not_exercised: Vec<UncoveredRule> = rules
        .iter()
        .filter(|r| !report.exercised.contains(&*r.id))
        .map(|r| UncoveredRule { id: r.id.to_string(), at: r.location.to_string() })
        .collect();
    Coverage { rules: rules.len(), exercised: rules.len().saturating_sub(not_exercised.len()), not_exercised }
}

impl TestReport {
    /// Adds another report's cases after this one's.
    pub fn extend(&mut self, other: TestReport) {
        self.passed += other.passed;
        self.failures.extend(other.failures);
        self.errors.extend(other.errors);
        self.cases.extend(other.cases);
        self.exercised.extend(other.exercised);
    }
}

impl TestReport {
    /// Whether every case passed and every file was read.
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.errors.is_empty()
    }

    /// Panics with the readable report unless every case passed: for a
    /// backend's own `#[test]`.
    #[allow(clippy::panic)] // the purpose: fail the calling test
    pub fn assert_ok(&self) {
        if !self.ok() {
            panic!("policy tests failed:\n{self}");
        }
    }
}

/// One line per failure, then `N passed, N failed`.
impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "ERROR {e}")?;
        }
        for x in &self.failures {
            writeln!(f, "{x}")?;
        }
        write!(f, "{} passed, {} failed", self.passed, self.failures.len() + self.errors.len())
    }
}

/// Runs every `*.toml` test file of a folder (sorted by name) against `engine`.
pub fn run_dir(engine: &Engine, dir: impl AsRef<Path>) -> TestReport {
    let dir = dir.as_ref();
    let mut report = TestReport::default();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => {
            rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect()
        }
        Err(e) => {
            report.errors.push(format!("{}: {e}", dir.display()));
            return report;
        }
    };
    files.sort();
    for file in files {
        run_file_into(engine, &file, &mut report);
    }
    report
}

/// Runs one test file (or every file of a folder) against `engine`.
pub fn run_path(engine: &Engine, path: impl AsRef<Path>) -> TestReport {
    let path = path.as_ref();
    if path.is_dir() {
        return run_dir(engine, path);
    }
    let mut report = TestReport::default();
    run_file_into(engine, path, &mut report);
    report
}

/// Runs test cases from text; `name` labels positions.
pub fn run_text(engine: &Engine, name: &str, text: &str) -> TestReport {
    let mut report = TestReport::default();
    run_source(engine, &Source::new(name, text), &mut report);
    report
}

fn run_file_into(engine: &Engine, path: &Path, report: &mut TestReport) {
    match std::fs::read_to_string(path) {
        Ok(text) => run_source(engine, &Source::new(path.display().to_string(), text), report),
        Err(e) => report.errors.push(format!("{}: {e}", path.display())),
    }
}

fn run_source(engine: &Engine, src: &Source, report: &mut TestReport) {
    let file: TestFile = match crate::format::toml_request::read_toml(&src.text) {
        Ok(f) => f,
        Err(e) => {
            let at = e.span().map(|s| src.locate(s).to_string()).unwrap_or_else(|| src.name.to_string());
            report.errors.push(format!("{at}: {}", e.message().trim()));
            return;
        }
    };
    let mut outcomes: Vec<(usize, TestCase, Option<TestFailure>)> = Vec::new();
    let mut record = |span: std::ops::Range<usize>, name: &str, expected: String, got: Option<String>| {
        let at = src.locate(span.clone()).to_string();
        let case =
            TestCase { file: src.name.to_string(), at: at.clone(), name: name.to_string(), passed: got.is_none() };
        let failure = got.map(|got| TestFailure { at, name: name.to_string(), expected, got });
        outcomes.push((span.start, case, failure));
    };
    for case in &file.authorize {
        let c = case.get_ref();
        let want = match c.expect {
            AllowDeny::Allow => "allow",
            AllowDeny::Deny => "deny",
        };
        let expected = match &c.rules {
            Some(r) => format!("{want} by [{}]", r.join(", ")),
            None => want.to_string(),
        };
        if let Ok(x) = engine.explain(&c.role, &c.action, &c.context) {
            report.exercised.extend(x.rules.iter().filter(|t| t.applies).map(|t| t.id.to_string()));
        }
        let got = match engine.authorize(&c.role, &c.action, &c.context) {
            Err(e) => Some(format!("error: {e}")),
            Ok(d) => {
                let verdict = if d.allowed() { "allow" } else { "deny" };
                let rules_match =
                    c.rules.as_ref().is_none_or(|r| r.iter().map(String::as_str).eq(d.rules.iter().map(|r| &**r)));
                (verdict != want || !rules_match)
                    .then(|| format!("{verdict} by [{}] ({})", d.rules.join(", "), d.message()))
            }
        };
        record(case.span(), &c.name, expected, got);
    }
    for case in &file.check_limit {
        let c = case.get_ref();
        let want = c.expect == AllowDeny::Allow;
        let r = LimitRequest { org: c.org.clone(), limit: c.limit.clone(), adding: c.adding };
        let got = match engine.check_limit(&r.org, &r.limit, r.adding) {
            Err(e) => Some(format!("error: {e}")),
            Ok(x) if x.allowed == want => None,
            Ok(x) => Some(format!(
                "{} ({} of {}{})",
                if x.allowed { "allow" } else { "deny" },
                x.current.normalize(),
                x.max,
                x.reason.map(|r| format!("; {}", r.message)).unwrap_or_default()
            )),
        };
        record(case.span(), &c.name, if want { "allow".into() } else { "deny".into() }, got);
    }
    for case in &file.estimate {
        let c = case.get_ref();
        let show = |r: &Range| format!("{}..{}", r.low.normalize(), r.high.normalize());
        let expected = [("total", &c.total), ("charged", &c.charged)]
            .iter()
            .filter_map(|(k, r)| r.as_ref().map(|r| format!("{k} {}", show(r))))
            .collect::<Vec<_>>()
            .join(", ");
        let got = match engine.estimate(&c.run) {
            Err(e) => Some(format!("error: {e}")),
            Ok(e) => {
                let same = |want: &Option<Range>, b: crate::estimate::Bounds| {
                    want.as_ref().is_none_or(|w| w.low == b.low && w.high == b.high)
                };
                (!same(&c.total, e.total) || !same(&c.charged, e.charged)).then(|| {
                    format!(
                        "total {}..{}, charged {}..{}",
                        e.total.low.normalize(),
                        e.total.high.normalize(),
                        e.charged.low.normalize(),
                        e.charged.high.normalize()
                    )
                })
            }
        };
        record(case.span(), &c.name, if expected.is_empty() { "an estimate".into() } else { expected }, got);
    }
    for case in &file.quote {
        let c = case.get_ref();
        let verdict =
            |v: crate::checks::Verdict| if v == crate::checks::Verdict::Allowed { "allowed" } else { "denied" };
        let expected = match &c.reasons {
            Some(r) => format!("{} [{}]", verdict(c.expect), r.join(", ")),
            None => verdict(c.expect).to_string(),
        };
        if let Ok(x) = engine.explain_quote(&c.request) {
            report.exercised.extend(x.rules.iter().filter(|t| t.applies).map(|t| t.id.to_string()));
        }
        let got = match engine.quote(&c.request) {
            Err(e) => Some(format!("error: {e}")),
            Ok(q) => {
                let codes: Vec<String> = q
                    .reasons
                    .iter()
                    .map(|r| {
                        serde_json::to_value(r.code)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default()
                    })
                    .collect();
                let reasons_match = c.reasons.as_ref().is_none_or(|r| *r == codes);
                (q.verdict != c.expect || !reasons_match).then(|| {
                    let messages: Vec<&str> = q.reasons.iter().map(|r| r.message.as_str()).collect();
                    format!("{} [{}] ({})", verdict(q.verdict), codes.join(", "), messages.join("; "))
                })
            }
        };
        record(case.span(), &c.name, expected, got);
    }
    outcomes.sort_by_key(|(start, _, _)| *start);
    for (_, case, failure) in outcomes {
        report.cases.push(case);
        match failure {
            Some(f) => report.failures.push(f),
            None => report.passed += 1,
        }
    }
}
