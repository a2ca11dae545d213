//! `tollgate`: the command line over the tollgate engine (docs/formats.md, "Interfaces").
//!
//! Exit codes: 0 allowed/ok, 1 denied, 2 bad input. Errors go to stderr
//! with file:line:column.

mod ledger;
mod render;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tollgate::{AttrValue, Context, Decimal, Engine, LoadError, Org, QuoteRequest, Run, Sources, Verdict};

#[derive(Parser)]
#[command(name = "tollgate", version, about = "Deterministic policy-and-rating engine for credit-funded AI tool runs")]
struct Cli {
    /// Rate tables folder (every *.toml in it); default: the embedded rates.
    #[arg(long, global = true, value_name = "DIR")]
    rates: Option<PathBuf>,
    /// Policies folder (every *.toml in it); default: the embedded policies.
    #[arg(long, global = true, value_name = "DIR")]
    policies: Option<PathBuf>,
    /// A bundle made by `tollgate build`, instead of --rates and --policies.
    #[arg(long, global = true, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// Print the answer as JSON (the same fields as the JavaScript API).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Estimate what a run will cost (a TOML or JSON file; `-` reads stdin).
    Estimate {
        /// The run file.
        run: PathBuf,
    },
    /// May a role do an action? Exit 0 allowed, 1 denied.
    Authorize {
        /// The role.
        #[arg(long)]
        role: String,
        /// The action, such as `billing.top_up`.
        #[arg(long)]
        action: String,
        /// A context attribute, `name=value`, typed as the policies declare it.
        #[arg(long = "ctx", value_name = "NAME=VALUE")]
        ctx: Vec<String>,
        /// Show every rule and why it applied or not.
        #[arg(long)]
        explain: bool,
    },
    /// Does the plan allow more of a limit? Exit 0 allowed, 1 denied.
    Check {
        /// A TOML or JSON file with the organization's `[org]` state.
        #[arg(long)]
        org: PathBuf,
        /// The limit, such as `seats`.
        #[arg(long)]
        limit: String,
        /// How many the request adds.
        #[arg(long, default_value = "1")]
        adding: String,
    },
    /// The pre-checkout quote of a request (role, [org], [run]). Exit 0 allowed, 1 denied.
    Quote {
        /// The request file (TOML or JSON; `-` reads stdin).
        request: PathBuf,
        /// Also show every rule and why it applied or not to `tools.run`.
        #[arg(long)]
        explain: bool,
    },
    /// The top-up that sells at least N credits, in whole blocks.
    TopUp {
        /// A TOML or JSON file with the organization's `[org]` state.
        #[arg(long)]
        org: PathBuf,
        /// Credits wanted.
        #[arg(long)]
        credits: String,
    },
    /// Check rate and policy files: every error and every lint, with the
    /// source line and a caret. Exit 0 clean, 1 warnings with
    /// --deny-warnings, 2 errors.
    Validate {
        /// Fail (exit 1) when there are warnings.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Run declarative policy tests (TOML files or folders of them; default
    /// policies/tests). Exit 0 when all pass, 1 on any failure.
    Test {
        /// Test files or folders.
        paths: Vec<PathBuf>,
        /// Also write a JUnit XML report to FILE (for CI).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Validate the rate and policy files (every error, as `validate`) and
    /// write them compiled as a bundle: deterministic, versioned, loaded
    /// without TOML (`--bundle`, `Engine::from_bundle`, `Engine.fromBundle`).
    /// Prints its fingerprint (SHA-256). Exit 0 written, 2 errors.
    Build {
        /// Where to write the bundle.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
    /// The usage counters an organization on a plan must pass (`usage`
    /// keys): its limits and its tools' run counters.
    Counters {
        /// The plan.
        #[arg(long)]
        plan: String,
    },
    /// What a reason, error or lint code means, its usual causes and what
    /// to do (docs/codes.md). An unknown code exits 2 with the list.
    Explain {
        /// The code, such as `INSUFFICIENT_CREDITS` or `unknown_model`.
        code: String,
    },
    /// Print the JSON Schema of a file format: rates, policies, run, quote, tests.
    Schema {
        /// The format.
        kind: String,
    },
    /// The credit ledger: organizations' credits kept in a database, each
    /// write one transaction with the engine inside (`tollgate ledger --help`).
    Ledger {
        /// The database: `sqlite:PATH` (created when new) or `sqlite::memory:`.
        #[arg(long, value_name = "URL")]
        db: String,
        /// The time of the operation (RFC 3339); default: now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        #[command(subcommand)]
        op: ledger::LedgerOp,
    },
    /// Show the rate tables as reference tables.
    Rates {
        /// Only this kind of rates.
        kind: Option<Kind>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Text,
    Image,
    Video,
    Tools,
}

/// What to print and how to exit.
struct Answer {
    out: String,
    code: u8,
}

impl Answer {
    fn ok(out: String) -> Self {
        Answer { out, code: 0 }
    }

    fn verdict(out: String, allowed: bool) -> Self {
        Answer { out, code: if allowed { 0 } else { 1 } }
    }
}

/// A failure, already formatted for stderr; always exit 2 (bad input).
struct Failure(String);

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let lines: Vec<String> = e.problems().iter().map(|p| format!("error: {p}\n  help: {}", p.help())).collect();
        Failure(lines.join("\n"))
    }
}

fn fail(e: impl std::fmt::Display) -> Failure {
    Failure(format!("error: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(answer) => {
            print!("{}", answer.out);
            ExitCode::from(answer.code)
        }
        Err(Failure(message)) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

/// Where the rate and policy files come from: `--rates` / `--policies`;
/// else, for `test`, the policies its test folder sits in (`P/tests` tests
/// `P`, with a `rates/` beside `P`); else a `rates/` or `policies/` folder
/// of the current directory; else the embedded defaults (`None`).
#[derive(Default)]
struct Origin {
    rates: Option<PathBuf>,
    policies: Option<PathBuf>,
}

fn origin(cli: &Cli) -> Origin {
    let here = |name: &str| Some(PathBuf::from(name)).filter(|p| p.is_dir());
    let beside = match &cli.command {
        Command::Test { paths, .. } => paths.iter().find_map(|p| policies_of_tests(p)),
        _ => None,
    };
    let rates_beside = beside.as_ref().and_then(|p| p.parent()).map(|p| p.join("rates")).filter(|p| p.is_dir());
    Origin {
        policies: cli.policies.clone().or(beside).or_else(|| here("policies")),
        rates: cli.rates.clone().or(rates_beside).or_else(|| here("rates")),
    }
}

/// The policies folder a test path belongs to: `P` for `P/tests` or a file
/// in it, when `P` holds `*.toml` files.
fn policies_of_tests(path: &Path) -> Option<PathBuf> {
    let tests = if path.is_dir() { path } else { path.parent()? };
    if tests.file_name()? != "tests" {
        return None;
    }
    let policies = tests.parent()?;
    let policies = if policies.as_os_str().is_empty() { Path::new(".") } else { policies };
    let has_toml = std::fs::read_dir(policies)
        .ok()?
        .filter_map(Result::ok)
        .any(|e| e.path().is_file() && e.path().extension().is_some_and(|x| x == "toml"));
    has_toml.then(|| policies.to_path_buf())
}

/// What a report says it checked: `rates/ (4 files)` or `the embedded rates`.
fn checked(origin: &Origin) -> String {
    let one = |what: &str, path: &Option<PathBuf>| match path {
        None => format!("the embedded {what}"),
        Some(p) if p.is_dir() => {
            let n = std::fs::read_dir(p)
                .map(|rd| {
                    rd.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "toml")).count()
                })
                .unwrap_or(0);
            format!("{what} in {} ({n} file{})", p.display(), if n == 1 { "" } else { "s" })
        }
        Some(p) => format!("{what} in {}", p.display()),
    };
    format!("checked {} and {}", one("rates", &origin.rates), one("policies", &origin.policies))
}

fn engine(cli: &Cli) -> Result<Engine, Failure> {
    if let Some(path) = &cli.bundle {
        if cli.rates.is_some() || cli.policies.is_some() {
            return Err(fail("--bundle replaces --rates and --policies: give one or the others"));
        }
        let name = path.display().to_string();
        let bytes = read_bounded(path, tollgate::limits::MAX_BUNDLE_BYTES)?;
        return Engine::from_bundle(&bytes).map_err(|e| fail(format!("{name}: {e}")));
    }
    let origin = origin(cli);
    if origin.rates.is_none() && origin.policies.is_none() {
        return Engine::embedded().map_err(fail);
    }
    Ok(Engine::from_sources(sources(cli)?)?)
}

/// A file's bytes, read no further than one byte past `limit`.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, Failure> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read `{name}`: {e}")))?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read `{name}`: {e}")))?;
    if bytes.len() > limit {
        return Err(fail(format!("{name}: more than {limit} bytes, the bound of a bundle")));
    }
    Ok(bytes)
}

fn sources(cli: &Cli) -> Result<Sources, Failure> {
    if cli.bundle.is_some() {
        return Err(fail("this command reads rate and policy files (--rates, --policies), not a bundle"));
    }
    let origin = origin(cli);
    let mut sources = Sources::embedded();
    if let Some(dir) = &origin.rates {
        sources = sources.rates_dir(dir)?;
    }
    if let Some(dir) = &origin.policies {
        sources = sources.policies_dir(dir)?;
    }
    Ok(sources)
}

fn run(cli: &Cli) -> Result<Answer, Failure> {
    if let Command::Schema { kind } = &cli.command {
        let names: Vec<&str> = tollgate::schema::SchemaKind::ALL.iter().map(|k| k.name()).collect();
        let kind = tollgate::schema::SchemaKind::from_name(kind)
            .ok_or_else(|| fail(format!("unknown schema `{kind}` (known: {})", names.join(", "))))?;
        return Ok(Answer::ok(to_json(&tollgate::schema::schema(kind))?));
    }
    if let Command::Explain { code } = &cli.command {
        return explain(code);
    }
    if let Command::Validate { deny_warnings } = &cli.command {
        let sources = sources(cli)?;
        let v = tollgate::validate(sources.clone());
        let out = report(cli, &v, &sources)?;
        let code = if !v.errors.is_empty() {
            2
        } else if *deny_warnings && !v.warnings.is_empty() {
            1
        } else {
            0
        };
        return Ok(Answer { out, code });
    }
    if let Command::Build { output } = &cli.command {
        return build(cli, output);
    }
    let engine = engine(cli)?;
    let json = cli.json;
    if let Command::Ledger { db, at, op } = &cli.command {
        return ledger::run(engine, db, at.as_deref(), op, json);
    }
    match &cli.command {
        Command::Estimate { run } => {
            let (name, text) = read_text(run)?;
            let run = if is_json(&name, &text) { Run::from_json(&name, &text) } else { Run::from_toml(&name, &text) };
            let estimate = engine.estimate(&run.map_err(fail)?).map_err(fail)?;
            Ok(Answer::ok(if json { to_json(&estimate)? } else { render::estimate(&estimate) }))
        }
        Command::Authorize { role, action, ctx, explain } => {
            let context = context(&engine, ctx)?;
            if *explain {
                let x = engine.explain(role, action, &context).map_err(fail)?;
                let out = if json { to_json(&x)? } else { render::decision(&x.decision) + &render::explanation(&x) };
                return Ok(Answer::verdict(out, x.decision.allowed()));
            }
            let d = engine.authorize(role, action, &context).map_err(fail)?;
            let out = if json { to_json(&d)? } else { render::decision(&d) };
            Ok(Answer::verdict(out, d.allowed()))
        }
        Command::Check { org, limit, adding } => {
            let org = read_org(org)?;
            let adding = decimal("--adding", adding)?;
            let c = engine.check_limit(&org, limit, adding).map_err(fail)?;
            let out = if json { to_json(&c)? } else { render::limit(&c) };
            Ok(Answer::verdict(out, c.allowed))
        }
        Command::Quote { request, explain } => {
            let (name, text) = read_text(request)?;
            let req = if is_json(&name, &text) {
                QuoteRequest::from_json(&name, &text)
            } else {
                QuoteRequest::from_toml(&name, &text)
            }
            .map_err(fail)?;
            let q = engine.quote(&req).map_err(fail)?;
            let allowed = q.verdict == Verdict::Allowed;
            if *explain {
                let x = engine.explain_quote(&req).map_err(fail)?;
                let out = if json {
                    to_json(&serde_json::json!({ "quote": q, "explanation": x }))?
                } else {
                    format!(
                        "{}\ntools.run: {}{}",
                        render::quote(&q),
                        render::decision(&x.decision),
                        render::explanation(&x)
                    )
                };
                return Ok(Answer::verdict(out, allowed));
            }
            let out = if json { to_json(&q)? } else { render::quote(&q) };
            Ok(Answer::verdict(out, allowed))
        }
        Command::TopUp { org, credits } => {
            let org = read_org(org)?;
            let credits = decimal("--credits", credits)?;
            let t = engine.quote_top_up(&org, credits).map_err(fail)?;
            Ok(Answer::ok(if json { to_json(&t)? } else { render::top_up(&t) }))
        }
        Command::Validate { .. }
        | Command::Ledger { .. }
        | Command::Schema { .. }
        | Command::Build { .. }
        | Command::Explain { .. } => Err(fail("answered before loading")),
        Command::Test { paths, junit } => {
            // No paths: the tests beside the policies checked.
            let origin = origin(cli);
            let tests = origin.policies.as_ref().map_or_else(|| PathBuf::from("policies/tests"), |p| p.join("tests"));
            let paths = if paths.is_empty() { vec![tests] } else { paths.clone() };
            let mut report = tollgate::testing::TestReport::default();
            for path in &paths {
                report.extend(tollgate::testing::run_path(&engine, path));
            }
            let checked = checked(&origin);
            if let Some(file) = junit {
                std::fs::write(file, render::junit(&report))
                    .map_err(|e| fail(format!("cannot write `{}`: {e}", file.display())))?;
            }
            let failed = report.failures.len() + report.errors.len();
            let coverage = tollgate::testing::coverage(&engine, &report);
            let out = if json {
                let mut value = serde_json::to_value(&report).map_err(|e| fail(format!("cannot write JSON: {e}")))?;
                if let Some(map) = value.as_object_mut() {
                    map.insert("checked".into(), checked.into());
                    map.insert("failed".into(), failed.into());
                    let coverage =
                        serde_json::to_value(&coverage).map_err(|e| fail(format!("cannot write JSON: {e}")))?;
                    map.insert("coverage".into(), coverage);
                }
                to_json(&value)?
            } else {
                format!("{checked}\n{report}\n{}", render::coverage(&coverage))
            };
            Ok(Answer::verdict(out, failed == 0))
        }
        Command::Counters { plan } => {
            let counters = engine.counters(plan).map_err(fail)?;
            Ok(Answer::ok(if json { to_json(&counters)? } else { counters.join("\n") + "\n" }))
        }
        Command::Rates { kind } => {
            let mut sheet = engine.rate_sheet();
            if let Some(kind) = kind {
                let keep = |k: Kind| std::mem::discriminant(&k) == std::mem::discriminant(kind);
                if !keep(Kind::Text) {
                    sheet.text.clear();
                }
                if !keep(Kind::Image) {
                    sheet.image.clear();
                }
                if !keep(Kind::Video) {
                    sheet.video.clear();
                }
                if !keep(Kind::Tools) {
                    sheet.tools.clear();
                }
            }
            Ok(Answer::ok(if json { to_json(&sheet)? } else { render::rates(&sheet) }))
        }
    }
}

/// The text of docs/codes.md, compiled in: `explain` prints its sections.
const CODES: &str = include_str!("../../../docs/codes.md");

/// `tollgate explain CODE`: the code's section of docs/codes.md.
fn explain(code: &str) -> Result<Answer, Failure> {
    let sections: Vec<(&str, &str)> = CODES
        .split("\n## `")
        .skip(1)
        .filter_map(|s| s.split_once("`\n").map(|(name, body)| (name, body.trim())))
        .collect();
    match sections.iter().find(|(name, _)| *name == code) {
        Some((name, body)) => Ok(Answer::ok(format!("{name}\n\n{body}\n"))),
        None => {
            let names: Vec<&str> = sections.iter().map(|(name, _)| *name).collect();
            Err(fail(format!("unknown code `{code}` (known: {})", names.join(", "))))
        }
    }
}

/// A validation as `validate` prints it: which files it checked, then every
/// problem (`--json`: `{checked, errors, warnings}`).
fn report(cli: &Cli, v: &tollgate::Validation, sources: &Sources) -> Result<String, Failure> {
    let checked = checked(&origin(cli));
    if cli.json {
        let mut value = serde_json::to_value(v).map_err(|e| fail(format!("cannot write JSON: {e}")))?;
        if let Some(map) = value.as_object_mut() {
            map.insert("checked".into(), checked.into());
        }
        return to_json(&value);
    }
    Ok(format!("{checked}\n{}", render::validation(v, sources)))
}

/// `tollgate build`: validate, then write the bundle and say what it is.
fn build(cli: &Cli, output: &Path) -> Result<Answer, Failure> {
    let sources = sources(cli)?;
    let v = tollgate::validate(sources.clone());
    if !v.errors.is_empty() {
        return Ok(Answer { out: report(cli, &v, &sources)?, code: 2 });
    }
    if !v.warnings.is_empty() && !cli.json {
        eprint!("{}", report(cli, &v, &sources)?);
    }
    let engine = Engine::from_sources(sources)?;
    let bundle = engine.to_bundle();
    let name = output.display().to_string();
    std::fs::write(output, &bundle).map_err(|e| fail(format!("cannot write `{name}`: {e}")))?;
    let rates_version = engine.rate_sheet().rates_version;
    let sheet = engine.policy_sheet();
    let out = if cli.json {
        to_json(&serde_json::json!({
            "file": name,
            "fingerprint": engine.fingerprint(),
            "bytes": bundle.len(),
            "format": tollgate::BUNDLE_FORMAT,
            "ratesVersion": rates_version,
            "roles": sheet.roles.len(),
            "actions": sheet.actions.len(),
            "rules": sheet.rules.len(),
            "plans": sheet.plans.len(),
            "warnings": v.warnings.len(),
        }))?
    } else {
        format!(
            "wrote {name}: {} bytes, bundle format {}, rates version {rates_version}\nfingerprint {}\n",
            bundle.len(),
            tollgate::BUNDLE_FORMAT,
            engine.fingerprint()
        )
    };
    Ok(Answer::ok(out))
}

/// `--ctx name=value` pairs, each value typed as the policies declare the
/// attribute (`number`, `bool` or `string`).
fn context(engine: &Engine, pairs: &[String]) -> Result<Context, Failure> {
    let sheet = engine.policy_sheet();
    let mut ctx = Context::new();
    for pair in pairs {
        let (name, value) = pair.split_once('=').ok_or_else(|| fail(format!("--ctx `{pair}`: expected NAME=VALUE")))?;
        let value = match sheet.attributes.get(name).copied() {
            Some("number") => AttrValue::Number(decimal(&format!("--ctx {name}"), value)?),
            Some("bool") => match value {
                "true" => AttrValue::Bool(true),
                "false" => AttrValue::Bool(false),
                _ => return Err(fail(format!("--ctx {name}: `{value}` is not true or false"))),
            },
            // Unknown names pass through; the engine reports them with the declared list.
            _ => AttrValue::String(value.to_string()),
        };
        ctx.insert(name, value);
    }
    Ok(ctx)
}

fn decimal(what: &str, s: &str) -> Result<Decimal, Failure> {
    // The engine's own reading, as in files: exact, or refused.
    tollgate::parse_decimal(s).map_err(|e| fail(format!("{what}: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value).map(|s| s + "\n").map_err(|e| fail(format!("cannot write JSON: {e}")))
}

fn is_json(name: &str, text: &str) -> bool {
    name.ends_with(".json") || text.trim_start().starts_with('{')
}

/// Reads a request file (`-` is stdin).
fn read_text(path: &Path) -> Result<(String, String), Failure> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| fail(format!("cannot read stdin: {e}")))?;
        return Ok(("<stdin>".into(), text));
    }
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read `{name}`: {e}")))?;
    Ok((name, text))
}

fn read_org(path: &Path) -> Result<Org, Failure> {
    let (name, text) = read_text(path)?;
    if is_json(&name, &text) { Org::from_json(&name, &text) } else { Org::from_toml(&name, &text) }.map_err(fail)
}
