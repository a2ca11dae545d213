#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)] // test code

//! The fault checker, in the spirit of Jepsen's bank test.
//!
//! Client processes run random operations (top-ups, grants, reserves,
//! settles with what ran below and above the hold, releases, expiry sweeps)
//! on a few organizations, while the checker injects faults: a client killed
//! with `kill -9` (one, or all at once), and on PostgreSQL every connection
//! dropped and the server restarted with `pg_ctl restart -m immediate`. A
//! client retries an operation the database failed with the same
//! idempotency key; a client killed mid-operation, when started again,
//! either retries it with the same key or abandons it.
//!
//! Each client writes what it is about to do, and then what it was
//! answered, to its own log. At the end the checker reads the database's
//! tables directly and checks: every invariant (`Ledger::audit`), that the
//! journal replayed gives every balance and never goes below zero, that
//! every acknowledged operation is in the journal exactly once (and an
//! acknowledged error nowhere), that no unacknowledged one was applied
//! twice, that every hold has one charge if settled and none otherwise, and
//! that every acknowledged operation sent again with its key answers the
//! same, byte for byte, and writes nothing; and that concurrent reserves
//! never took a tool past its plan's runs in a window, nor a month past
//! its spend cap.
//!
//! `cargo test -p tollgate-ledger --test faults` runs the short plan (SQLite
//! and PostgreSQL with faults, then 32 clients on one organization for a
//! minute); `scripts/faults --store postgres --seed 7 --duration 600` runs
//! one long run. The seed fixes every choice of the clients and of the
//! faults; the interleaving is the machine's.

mod common;

use common::Cluster;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tollgate::{Decimal, Engine, Run};
use tollgate_ledger::{AnyStore, At, Grant, Ledger, LedgerError, Reserve, Settle, TopUp};

/// How long a client keeps retrying an operation after the run's end.
const GRACE_MS: i64 = 30_000;

/// About how many acknowledged operations the checker sends again (besides
/// every retried or resumed one): all of them in short runs.
const RESEND: usize = 20_000;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Db {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
struct Plan {
    db: Db,
    seed: u64,
    secs: u64,
    clients: usize,
    /// One organization, fixed-price runs, no faults: the overspend check.
    hot: bool,
    faults: bool,
    /// Afterwards, spoil copies of the database and require the checker
    /// to see each spoilage (SQLite): the checks can fail.
    sabotage: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--client") {
        client(&args[1..]);
        return;
    }
    let plans = match plans(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("faults: {e}\nusage: faults [--store sqlite|postgres|both] [--seed N] [--duration SECS] [--clients N] [--hot] [--no-faults] [--sabotage]");
            std::process::exit(2);
        }
    };
    let mut failed = false;
    for plan in &plans {
        let report = run(plan);
        println!("{report}");
        failed |= !report.violations.is_empty();
    }
    if failed {
        eprintln!("faults: violations found");
        std::process::exit(1);
    }
}

/// The plans the arguments name; none (as under `cargo test`): the short plan.
fn plans(args: &[String]) -> Result<Vec<Plan>, String> {
    // `cargo test` may pass the test harness's own flags: ignored.
    let ours = ["--store", "--seed", "--duration", "--clients", "--hot", "--no-faults", "--sabotage"];
    if !args.iter().any(|a| ours.contains(&a.as_str())) {
        let short =
            |db, secs, clients, hot| Plan { db, seed: 20_261_130, secs, clients, hot, faults: !hot, sabotage: false };
        return Ok(vec![
            Plan { sabotage: true, ..short(Db::Sqlite, 3, 4, false) },
            short(Db::Sqlite, 15, 8, false),
            short(Db::Postgres, 20, 8, false),
            short(Db::Postgres, 60, 32, true),
        ]);
    }
    let mut stores = vec![Db::Sqlite, Db::Postgres];
    let mut plan = Plan { db: Db::Sqlite, seed: 1, secs: 60, clients: 8, hot: false, faults: true, sabotage: false };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        let number = |v: &String| v.parse::<u64>().map_err(|_| format!("{a}: `{v}` is not a whole number"));
        match a.as_str() {
            "--store" => {
                stores = match value()?.as_str() {
                    "sqlite" => vec![Db::Sqlite],
                    "postgres" => vec![Db::Postgres],
                    "both" => vec![Db::Sqlite, Db::Postgres],
                    other => return Err(format!("--store: `{other}` is not sqlite, postgres or both")),
                }
            }
            "--seed" => plan.seed = number(value()?)?,
            "--duration" => plan.secs = number(value()?)?.max(1),
            "--clients" => plan.clients = usize::try_from(number(value()?)?).unwrap_or(1).clamp(1, 128),
            "--hot" => plan.hot = true,
            "--no-faults" => plan.faults = false,
            "--sabotage" => plan.sabotage = true,
            _ => {}
        }
    }
    Ok(stores.into_iter().map(|db| Plan { db, ..plan.clone() }).collect())
}

// ---------------------------------------------------------------- clients

/// One acknowledged-or-not operation, as the client logs it.
fn log_line(file: &mut std::fs::File, line: Value) {
    // One write per line: a kill leaves at most the last line cut short,
    // which the checker ignores (as if it was never written).
    let mut text = line.to_string();
    text.push('\n');
    file.write_all(text.as_bytes()).unwrap();
}

struct MyHold {
    id: i64,
    /// The run reserved: a tool's name, or the text run's most output tokens.
    tool: Option<String>,
    max_out: u64,
}

fn client(args: &[String]) {
    let [url, id, seed, log, until, orgs, hot] = args else { panic!("client arguments: {args:?}") };
    let id: usize = id.parse().unwrap();
    let until: i64 = until.parse().unwrap();
    let hot = hot == "1";
    let orgs: Vec<String> = orgs.split(',').map(String::from).collect();
    let mut rng = StdRng::seed_from_u64(seed.parse().unwrap());
    // What an earlier life of this client did: its keys, its holds, and
    // the operation it was in when it was killed.
    let earlier = std::fs::read_to_string(log).unwrap_or_default();
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    let mut seq = 0_u64;
    let mut holds: Vec<MyHold> = Vec::new();
    let mut intents: HashMap<String, Value> = HashMap::new();
    let mut pending: Option<(String, Value)> = None;
    for line in earlier.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        let key = line["key"].as_str().unwrap_or_default().to_string();
        match line["t"].as_str().unwrap_or_default() {
            "intent" => {
                seq += 1;
                intents.insert(key.clone(), line["op"].clone());
                pending = Some((key, line["op"].clone()));
            }
            "ok" | "err" | "abandon" | "gaveup" => {
                if let Some(op) = intents.get(&key) {
                    track(&mut holds, op, &line);
                }
                pending = None;
            }
            _ => {}
        }
    }
    let ledger = loop {
        match AnyStore::open(url) {
            Ok(store) => break Ledger::new(store, Engine::embedded().unwrap()),
            Err(_) if At::now().millis() < until + GRACE_MS => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("client {id}: cannot open the ledger: {e}"),
        }
    };
    if let Some((key, op)) = pending {
        if rng.random_bool(0.5) {
            log_line(&mut file, json!({"t": "resume", "key": key}));
            let line = perform_logged(&ledger, &mut file, &mut rng, &key, &op, until);
            track(&mut holds, &op, &line);
        } else {
            log_line(&mut file, json!({"t": "abandon", "key": key}));
        }
    }
    while At::now().millis() < until {
        seq += 1;
        let key = format!("c{id}-{seq}");
        let op = next_op(&mut rng, &orgs, &holds, hot);
        log_line(&mut file, json!({"t": "intent", "key": key, "op": op}));
        let line = perform_logged(&ledger, &mut file, &mut rng, &key, &op, until);
        track(&mut holds, &op, &line);
    }
}

/// Keeps the client's list of its open holds up to date with an outcome.
fn track(holds: &mut Vec<MyHold>, op: &Value, line: &Value) {
    match (op["op"].as_str(), line["t"].as_str()) {
        (Some("reserve"), Some("ok")) => {
            if let Some(id) = line["answer"]["hold"]["id"].as_i64() {
                let run = &op["run"];
                let tool = run["tool"].as_str().map(String::from);
                let max_out = run["items"][0]["outputTokens"]["max"].as_u64().unwrap_or(0);
                holds.push(MyHold { id, tool, max_out });
            }
        }
        (Some("settle" | "release"), Some("ok" | "err")) => {
            let id = op["hold"].as_i64();
            holds.retain(|h| Some(h.id) != id);
        }
        _ => {}
    }
}

fn text_run(output: Value) -> Value {
    json!({"items": [{"kind": "text", "model": "gpt-4o", "inputTokens": 1000, "outputTokens": output}]})
}

fn next_op(rng: &mut StdRng, orgs: &[String], holds: &[MyHold], hot: bool) -> Value {
    let org = orgs[rng.random_range(0..orgs.len())].clone();
    let roll = rng.random_range(0..100);
    let hold = (!holds.is_empty()).then(|| &holds[rng.random_range(0..holds.len())]);
    if hot {
        // Fixed-price runs on one organization with little money: most
        // reserves race for the last credits.
        return match (roll, hold) {
            // 2 in 100 operations add 100 credits; 48 reserve 5 each: the
            // balance drains, and reserves race for what is left.
            (0..=1, _) => json!({"op": "top_up", "org": org, "credits": "100"}),
            (2..=49, _) | (_, None) => {
                json!({"op": "reserve", "org": org, "run": {"tool": "storyboard"}, "ttl_ms": 60_000})
            }
            (50..=89, Some(h)) => json!({"op": "settle", "hold": h.id, "run": {"tool": "storyboard"}}),
            (_, Some(h)) => json!({"op": "release", "hold": h.id}),
        };
    }
    match (roll, hold) {
        (0..=9, _) => json!({"op": "top_up", "org": org, "credits": (rng.random_range(10..=50_u32) * 10).to_string()}),
        (10..=13, _) => {
            let expires = At::now().millis() + rng.random_range(2_000..8_000);
            json!({"op": "grant", "org": org, "credits": rng.random_range(5..=80_u32).to_string(), "expires_at": expires})
        }
        (14..=17, _) => {
            json!({"op": "grant", "org": org, "credits": format!("-{}", rng.random_range(1..=40_u32)), "expires_at": null})
        }
        (18..=24, _) => json!({"op": "expire"}),
        (25..=59, _) | (_, None) => {
            let ttl = rng.random_range(2_000..10_000);
            let run = if org == "team" && rng.random_bool(0.5) {
                json!({"tool": if rng.random_bool(0.5) { "video-gen" } else { "image-gen" }})
            } else if org == "pro" && rng.random_bool(0.4) {
                // Pro counts summarize runs by the hour (200): reserves
                // race for the last runs of the hour.
                json!({"tool": "summarize"})
            } else {
                text_run(json!({"min": 0, "max": rng.random_range(1..=20_u64) * 1000}))
            };
            json!({"op": "reserve", "org": org, "run": run, "ttl_ms": ttl})
        }
        (60..=89, Some(h)) => {
            let run = match &h.tool {
                Some(tool) => json!({"tool": tool}),
                // What ran: anything from nothing to half again the hold's most.
                None => text_run(json!(rng.random_range(0..=h.max_out * 3 / 2))),
            };
            json!({"op": "settle", "hold": h.id, "run": run})
        }
        (_, Some(h)) => json!({"op": "release", "hold": h.id}),
    }
}

/// Performs `op`, retrying with the same key while the database fails, and
/// logs the outcome (also returned).
fn perform_logged(
    ledger: &Ledger<AnyStore>,
    file: &mut std::fs::File,
    rng: &mut StdRng,
    key: &str,
    op: &Value,
    until: i64,
) -> Value {
    loop {
        let line = match perform(ledger, op, key) {
            Ok(answer) => json!({"t": "ok", "key": key, "answer": answer}),
            Err(LedgerError::Database(message)) => {
                if At::now().millis() > until + GRACE_MS {
                    json!({"t": "gaveup", "key": key, "message": message})
                } else {
                    log_line(file, json!({"t": "retry", "key": key, "message": message}));
                    std::thread::sleep(Duration::from_millis(rng.random_range(10..60)));
                    continue;
                }
            }
            Err(e) => json!({"t": "err", "key": key, "code": e.code(), "message": e.to_string()}),
        };
        log_line(file, line.clone());
        return line;
    }
}

fn perform(ledger: &Ledger<AnyStore>, op: &Value, key: &str) -> Result<Value, LedgerError> {
    let at = At::now();
    let text = |v: &Value| v.as_str().unwrap().to_string();
    let amount = |v: &Value| Decimal::from_str_exact(v.as_str().unwrap()).unwrap();
    let run = |v: &Value| -> Run { tollgate::parse_request(&v.to_string()).unwrap() };
    let hold = op["hold"].as_i64().unwrap_or(0);
    let answer = match op["op"].as_str().unwrap() {
        "top_up" => serde_json::to_value(ledger.top_up(
            at,
            &TopUp {
                org: text(&op["org"]),
                role: "owner".into(),
                credits: amount(&op["credits"]),
                payment_ref: key.into(),
                key: key.into(),
            },
        )?),
        "grant" => serde_json::to_value(ledger.grant(
            at,
            &Grant {
                org: text(&op["org"]),
                role: "support".into(),
                credits: amount(&op["credits"]),
                reason: format!("fault {key}"),
                expires_at: op["expires_at"].as_i64().map(|ms| At::from_millis(ms).unwrap()),
                key: key.into(),
            },
        )?),
        "reserve" => serde_json::to_value(ledger.reserve(
            at,
            &Reserve {
                org: text(&op["org"]),
                role: "editor".into(),
                run: run(&op["run"]),
                context: None,
                ttl_ms: op["ttl_ms"].as_i64().unwrap(),
                fingerprint: None,
                key: key.into(),
            },
        )?),
        "settle" => serde_json::to_value(ledger.settle(at, &Settle { hold, run: run(&op["run"]), key: key.into() })?),
        "release" => serde_json::to_value(ledger.release(at, hold, key)?),
        "expire" => serde_json::to_value(ledger.expire(at)?),
        other => panic!("no operation `{other}`"),
    };
    Ok(answer.unwrap())
}

// ------------------------------------------------------------ the checker

struct Report {
    plan: Plan,
    orgs: usize,
    started: u64,
    answered: u64,
    errors: u64,
    resumed: u64,
    abandoned: u64,
    gave_up: u64,
    retries: u64,
    /// The database errors retried, by kind.
    retry_kinds: BTreeMap<String, u64>,
    /// The errors answered, by operation and code.
    error_codes: BTreeMap<String, u64>,
    faults: BTreeMap<&'static str, u64>,
    checks: u64,
    violations: Vec<String>,
    reserves: (u64, u64),
    entries: usize,
    /// Acknowledged operations sent again, of all acknowledged.
    resent: (usize, usize),
    /// Spoilages the checker saw, of those made.
    sabotage: Option<(usize, usize)>,
    /// How close each cap came: the most in one window, of the cap.
    caps: Vec<String>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.plan;
        writeln!(
            f,
            "fault run: {:?}, seed {}, {} clients, {} organization(s), {} s{}",
            p.db,
            p.seed,
            p.clients,
            self.orgs,
            p.secs,
            if p.hot { ", one hot organization" } else { "" }
        )?;
        writeln!(
            f,
            "  operations: {} started; acknowledged: {} answers, {} errors; reserves allowed {} / denied {}",
            self.started, self.answered, self.errors, self.reserves.0, self.reserves.1
        )?;
        for (code, n) in &self.error_codes {
            writeln!(f, "    {n} × {code}")?;
        }
        writeln!(
            f,
            "  killed mid-operation: {} (then retried with the same key: {}, abandoned: {}); gave up: {}; retries after a database error: {}",
            self.resumed + self.abandoned,
            self.resumed,
            self.abandoned,
            self.gave_up,
            self.retries
        )?;
        for (words, n) in &self.retry_kinds {
            writeln!(f, "    {n} × {words}")?;
        }
        let faults: Vec<String> = self.faults.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        writeln!(f, "  faults: {}", if faults.is_empty() { "none".into() } else { faults.join(", ") })?;
        writeln!(
            f,
            "  sent again with their keys: {} of {} acknowledged (every one retried or resumed, the rest a seeded sample)",
            self.resent.0, self.resent.1
        )?;
        writeln!(
            f,
            "  journal entries: {}; checks: {}; violations: {}",
            self.entries,
            self.checks,
            self.violations.len()
        )?;
        if !self.caps.is_empty() {
            writeln!(f, "  caps, the most in one window: {}", self.caps.join("; "))?;
        }
        if let Some((seen, made)) = self.sabotage {
            writeln!(f, "  spoiled copies of the database the checker caught: {seen} of {made}")?;
        }
        for v in self.violations.iter().take(40) {
            writeln!(f, "  VIOLATION: {v}")?;
        }
        Ok(())
    }
}

struct Proc {
    child: Child,
    lives: u64,
}

fn spawn(url: &str, dir: &Path, i: usize, lives: u64, plan: &Plan, until: i64, orgs: &[&str]) -> Child {
    let seed = plan.seed ^ ((i as u64) << 32) ^ lives.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let err = std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("client{i}.err"))).unwrap();
    Command::new(std::env::current_exe().unwrap())
        .arg("--client")
        .args([
            url.to_string(),
            i.to_string(),
            seed.to_string(),
            dir.join(format!("client{i}.log")).display().to_string(),
            until.to_string(),
            orgs.join(","),
            if plan.hot { "1" } else { "0" }.into(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap()
}

fn run(plan: &Plan) -> Report {
    let dir = tempfile::tempdir().unwrap();
    let cluster = (plan.db == Db::Postgres).then(Cluster::start);
    let url = match &cluster {
        Some(c) => c.database("faults"),
        None => format!("sqlite:{}", dir.path().join("ledger.db").display()),
    };
    let orgs: Vec<&str> = if plan.hot { vec!["hot"] } else { vec!["pro", "team", "enterprise"] };
    set_up(&url, &orgs, plan.hot);

    let start = Instant::now();
    let until = At::now().millis() + i64::try_from(plan.secs).unwrap() * 1000;
    let mut procs: Vec<Proc> = (0..plan.clients)
        .map(|i| Proc { child: spawn(&url, dir.path(), i, 0, plan, until, &orgs), lives: 0 })
        .collect();
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut faults: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut violations = Vec::new();
    let mut last_restart = Instant::now();
    let end = start + Duration::from_secs(plan.secs);
    let respawn = |procs: &mut Vec<Proc>, i: usize| {
        let p = &mut procs[i];
        p.lives += 1;
        p.child = spawn(&url, dir.path(), i, p.lives, plan, until, &orgs);
    };
    while Instant::now() < end {
        std::thread::sleep(
            Duration::from_millis(rng.random_range(300..1500)).min(end.saturating_duration_since(Instant::now())),
        );
        for (i, p) in procs.iter_mut().enumerate() {
            if let Ok(Some(status)) = p.child.try_wait() {
                if At::now().millis() < until {
                    violations.push(format!("client {i} ended on its own ({status}): see its stderr"));
                }
            }
        }
        if !plan.faults || Instant::now() >= end {
            continue;
        }
        let kind = rng.random_range(0..10);
        match (kind, &cluster) {
            (6..=7, Some(c)) => {
                c.drop_connections("faults");
                *faults.entry("connections dropped").or_default() += 1;
            }
            (8..=9, Some(c)) if last_restart.elapsed() > Duration::from_secs(4) => {
                c.restart_immediate();
                last_restart = Instant::now();
                *faults.entry("server restarted (pg_ctl restart -m immediate)").or_default() += 1;
            }
            (5, _) => {
                for p in procs.iter_mut() {
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                }
                for i in 0..procs.len() {
                    respawn(&mut procs, i);
                }
                *faults.entry("every client killed (kill -9)").or_default() += 1;
            }
            _ => {
                let i = rng.random_range(0..procs.len());
                let _ = procs[i].child.kill();
                let _ = procs[i].child.wait();
                respawn(&mut procs, i);
                *faults.entry("one client killed (kill -9)").or_default() += 1;
            }
        }
    }
    // Every client ends by itself once the time is up and its last
    // operation is answered (or given up after the grace period).
    let deadline = Instant::now() + Duration::from_millis(u64::try_from(GRACE_MS).unwrap() * 2);
    for (i, p) in procs.iter_mut().enumerate() {
        loop {
            match p.child.try_wait().unwrap() {
                Some(status) if status.success() => break,
                Some(status) => {
                    violations.push(format!("client {i} failed ({status})"));
                    break;
                }
                None if Instant::now() > deadline => {
                    let _ = p.child.kill();
                    violations.push(format!("client {i} did not finish"));
                    break;
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    for i in 0..plan.clients {
        let err = std::fs::read_to_string(dir.path().join(format!("client{i}.err"))).unwrap_or_default();
        if err.contains("panicked") {
            violations.push(format!("client {i} panicked: {}", err.lines().take(3).collect::<Vec<_>>().join(" ")));
        }
    }
    let logs: Vec<String> = (0..plan.clients)
        .map(|i| std::fs::read_to_string(dir.path().join(format!("client{i}.log"))).unwrap_or_default())
        .collect();
    let mut report = check(&url, &logs, plan);
    report.orgs = orgs.len();
    report.faults = faults;
    violations.append(&mut report.violations);
    report.violations = violations;
    if plan.sabotage && report.violations.is_empty() {
        let (seen, missed) = sabotage(dir.path(), &logs, plan);
        report.sabotage = Some((seen, seen + missed.len()));
        report.violations.extend(missed);
    }
    drop(cluster);
    report
}

/// Each spoilage a fault could cause, made on a copy of a sound SQLite
/// ledger, and what the checker must then say; the ones it missed.
fn sabotage(dir: &Path, logs: &[String], plan: &Plan) -> (usize, Vec<String>) {
    let spoilages = [
        (
            "an acknowledged top-up applied twice",
            "INSERT INTO entries (org, at, kind, amount, balance_after, hold_id, payment_ref, price_amount, price_currency, reason, expires_at) \
             SELECT org, (SELECT max(at) FROM entries), kind, amount, balance_after, hold_id, payment_ref, price_amount, price_currency, reason, expires_at \
             FROM entries WHERE kind = 'top_up' AND payment_ref LIKE 'c%' ORDER BY id LIMIT 1",
            "in the journal 2 times",
        ),
        (
            "an acknowledged settle's key lost",
            "DELETE FROM idempotency WHERE key = (SELECT key FROM idempotency WHERE answer LIKE '@receipt:%' ORDER BY key LIMIT 1)",
            "has no key recorded",
        ),
        ("a settled hold open again", "UPDATE holds SET state = 'open' WHERE id = (SELECT min(id) FROM holds WHERE state = 'settled')", "charge entries"),
        ("a balance that is not its journal's", "UPDATE orgs SET balance = '999999' WHERE slug = 'pro'", "the journal sums to"),
        ("a charge entry lost", "DELETE FROM entries WHERE id = (SELECT max(id) FROM entries WHERE kind = 'charge')", "charge entries"),
        ("a hold made twice", "INSERT INTO holds (org, tool, amount, created_at, expires_at, state, fingerprint, rates_version) \
             SELECT org, tool, amount, created_at, expires_at, 'released', fingerprint, rates_version FROM holds ORDER BY id LIMIT 1", "no reserve key made"),
        (
            "runs past the plan's cap in an hour",
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
             INSERT INTO holds (org, tool, amount, created_at, expires_at, state, fingerprint, rates_version) \
             SELECT h.org, h.tool, h.amount, h.created_at, h.expires_at, 'open', h.fingerprint, h.rates_version \
             FROM n, (SELECT * FROM holds WHERE tool = 'summarize' ORDER BY id LIMIT 1) AS h",
            "summarize runs counting in one window",
        ),
        (
            "a hold past the spend cap",
            "INSERT INTO holds (org, tool, amount, created_at, expires_at, state, fingerprint, rates_version) \
             SELECT org, tool, '5000', created_at, expires_at, 'open', fingerprint, rates_version \
             FROM holds WHERE org = 'enterprise' ORDER BY id DESC LIMIT 1",
            "past the spend cap",
        ),
    ];
    let source = dir.join("ledger.db");
    {
        let conn = rusqlite::Connection::open(&source).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).unwrap();
    }
    let mut seen = 0;
    let mut missed = Vec::new();
    for (n, (what, sql, says)) in spoilages.iter().enumerate() {
        let copy = dir.join(format!("spoiled{n}.db"));
        std::fs::copy(&source, &copy).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let changed = conn.execute(sql, []).unwrap();
        drop(conn);
        let report = check(&format!("sqlite:{}", copy.display()), logs, plan);
        if changed > 0 && report.violations.iter().any(|v| v.contains(says)) {
            seen += 1;
        } else {
            missed.push(format!("the checker missed {what} ({changed} rows changed): {:?}", report.violations));
        }
    }
    (seen, missed)
}

fn set_up(url: &str, orgs: &[&str], hot: bool) {
    let ledger = Ledger::new(AnyStore::open(url).unwrap(), Engine::embedded().unwrap());
    let at = At::now();
    for org in orgs {
        let plan = if hot { "enterprise" } else { org };
        ledger.open_org(at, org, plan).unwrap();
        let credits = Decimal::from(if hot { 100 } else { 1000 });
        let req = TopUp {
            org: org.to_string(),
            role: "owner".into(),
            credits,
            payment_ref: format!("setup-{org}"),
            key: format!("setup-{org}"),
        };
        ledger.top_up(at, &req).unwrap();
    }
    if !hot {
        let tools = vec!["video-gen".to_string(), "image-gen".to_string()];
        ledger.set_pool(at, "team", "media", Decimal::from(400), &tools).unwrap();
        // A monthly spend cap: reserves read the month's charges the
        // organization's row keeps (and `audit` checks them on the journal).
        ledger.set_spend_cap(at, "enterprise", Some(Decimal::from(2000))).unwrap();
    }
}

/// Rows of a query, every column as text (or NULL), read straight from
/// the database: the checker does not trust the ledger's own readers.
fn rows(url: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    if let Some(path) = url.strip_prefix("sqlite:") {
        let conn = rusqlite::Connection::open(path).unwrap();
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        let out = st
            .query_map([], |r| (0..n).map(|i| r.get::<_, Option<String>>(i)).collect::<Result<Vec<_>, _>>())
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        out
    } else {
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        client
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|r| (0..r.len()).map(|i| r.get::<_, Option<String>>(i)).collect())
            .collect()
    }
}

fn dec(v: &Option<String>) -> Decimal {
    Decimal::from_str_exact(v.as_deref().unwrap_or("0")).unwrap()
}

fn answer_dec(v: &Value) -> Decimal {
    Decimal::from_str_exact(v.as_str().unwrap_or("0")).unwrap()
}

/// One operation, as the logs tell it.
#[derive(Default)]
struct Record {
    op: Value,
    /// `ok` or `err` (acknowledged), or none.
    outcome: Option<Value>,
    /// Retried after a database error, or resumed after a kill.
    eventful: bool,
}

struct Checks {
    count: u64,
    violations: Vec<String>,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.count += 1;
        if !ok {
            self.violations.push(what());
        }
    }
}

/// Frequency caps and spend caps, never exceeded by concurrent reserves.
///
/// Runs: a hold counts while open or settled, and a hold only ever leaves
/// those states. So the holds counting at the end of a window's reserves
/// all counted when the last of them was allowed, which needed fewer than
/// the cap before it: in every window a plan counts (each UTC hour, day or
/// month), at most the cap's runs of the tool are open or settled.
///
/// Spend: the last reserve allowed in a month saw, under the organization's
/// lock, the month's charges and every open hold, plus its own amount, at
/// most the cap. Each hold made that month counted there at least as
/// `amount` if open, `min(charged, amount)` if settled (settled before, it
/// was charged; open then, it was held), and 0 if released or expired. So
/// that sum is at most the cap (a settle may charge past its hold: the
/// cap bounds reserves, not what ran).
fn caps_held(
    url: &str,
    charges: &HashMap<i64, Vec<usize>>,
    entries: &[Vec<Option<String>>],
    c: &mut Checks,
) -> Vec<String> {
    let policies: toml::Table = toml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/plans.toml")).unwrap(),
    )
    .unwrap();
    let orgs: HashMap<String, (String, Option<Decimal>)> = rows(url, "SELECT slug, plan, spend_cap FROM orgs")
        .into_iter()
        .map(|r| {
            (
                r[0].clone().unwrap(),
                (r[1].clone().unwrap(), r[2].as_deref().map(|t| Decimal::from_str_exact(t).unwrap())),
            )
        })
        .collect();
    let holds = rows(url, "SELECT CAST(id AS TEXT), org, tool, CAST(created_at AS TEXT), state, amount FROM holds");
    let month_of = |ms: i64| {
        let date = jiff::tz::TimeZone::UTC.to_datetime(jiff::Timestamp::from_millisecond(ms).unwrap()).date();
        i64::from(date.year()) * 12 + i64::from(date.month())
    };
    // (org, tool, window, bucket) → runs counting; (org, month) → spend.
    let mut runs: BTreeMap<(String, String, &str, i64), u64> = BTreeMap::new();
    let mut spend: BTreeMap<(String, i64), Decimal> = BTreeMap::new();
    for h in &holds {
        let (id, org, state): (i64, String, &str) =
            (h[0].as_deref().unwrap().parse().unwrap(), h[1].clone().unwrap(), h[4].as_deref().unwrap());
        let created: i64 = h[3].as_deref().unwrap().parse().unwrap();
        let amount = dec(&h[5]);
        if let Some(tool) = &h[2] {
            if state == "open" || state == "settled" {
                for (window, bucket) in [
                    ("runs_per_hour", created / 3_600_000),
                    ("runs_per_day", created / 86_400_000),
                    ("runs_per_month", month_of(created)),
                ] {
                    *runs.entry((org.clone(), tool.clone(), window, bucket)).or_insert(0) += 1;
                }
            }
        }
        let counted = match state {
            "open" => amount,
            "settled" => {
                let charge = charges.get(&id).and_then(|v| v.first()).map(|n| &entries[*n]);
                let charged = charge.map_or(Decimal::ZERO, |e| Decimal::ZERO.checked_sub(dec(&e[3])).unwrap());
                charged.min(amount)
            }
            _ => Decimal::ZERO,
        };
        let sum = spend.entry((org, month_of(created))).or_insert(Decimal::ZERO);
        *sum = sum.checked_add(counted).unwrap();
    }
    // How close each cap came: the most in one window, of the cap.
    let mut closest = Vec::new();
    let mut most_runs: BTreeMap<(&str, &str, &str), (u64, i64)> = BTreeMap::new();
    for ((org, tool, window, bucket), n) in &runs {
        let plan = &orgs[org].0;
        let cap = policies["plans"][plan.as_str()]
            .get("tools")
            .and_then(|t| t.get(tool.as_str()))
            .and_then(|t| t.get(*window));
        if let Some(cap) = cap.and_then(toml::Value::as_integer) {
            c.check(*n <= u64::try_from(cap).unwrap(), || {
                format!("{org}: {n} {tool} runs counting in one window of {window} = {cap} (window {bucket})")
            });
            let most = most_runs.entry((org, tool, window)).or_insert((0, cap));
            most.0 = most.0.max(*n);
        }
    }
    for ((org, tool, window), (most, cap)) in most_runs {
        closest.push(format!("{org} {tool} {window}: {most} of {cap}"));
    }
    let mut most_spend: BTreeMap<&str, (Decimal, Decimal)> = BTreeMap::new();
    for ((org, month), sum) in &spend {
        if let Some(cap) = orgs[org].1 {
            c.check(*sum <= cap, || format!("{org}: reserves of month {month} hold {sum} past the spend cap {cap}"));
            let most = most_spend.entry(org).or_insert((Decimal::ZERO, cap));
            most.0 = most.0.max(*sum);
        }
    }
    for (org, (most, cap)) in most_spend {
        closest.push(format!("{org} spend in a month: {most} of {cap}"));
    }
    closest
}

fn check(url: &str, logs: &[String], plan: &Plan) -> Report {
    let mut c = Checks { count: 0, violations: Vec::new() };
    let mut records: BTreeMap<String, Record> = BTreeMap::new();
    let (mut started, mut resumed, mut abandoned, mut gave_up, mut retries) = (0, 0, 0, 0, 0);
    let mut retry_kinds: BTreeMap<String, u64> = BTreeMap::new();
    for log in logs {
        for line in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
            let key = line["key"].as_str().unwrap_or_default().to_string();
            match line["t"].as_str().unwrap_or_default() {
                "intent" => {
                    started += 1;
                    c.check(!records.contains_key(&key), || format!("key {key} was used twice by the clients"));
                    records.insert(key, Record { op: line["op"].clone(), outcome: None, eventful: false });
                }
                "ok" | "err" => {
                    if let Some(r) = records.get_mut(&key) {
                        r.outcome = Some(line);
                    }
                }
                "resume" => {
                    resumed += 1;
                    if let Some(r) = records.get_mut(&key) {
                        r.eventful = true;
                    }
                }
                "abandon" => abandoned += 1,
                "gaveup" => gave_up += 1,
                "retry" => {
                    retries += 1;
                    if let Some(r) = records.get_mut(&key) {
                        r.eventful = true;
                    }
                    // The database's words, without the numbers that vary.
                    let words: String = line["message"]
                        .as_str()
                        .unwrap_or_default()
                        .chars()
                        .filter(|ch| !ch.is_ascii_digit())
                        .collect();
                    *retry_kinds.entry(words).or_insert(0_u64) += 1;
                }
                _ => {}
            }
        }
    }

    let ledger = Ledger::new(AnyStore::open(url).unwrap(), Engine::embedded().unwrap());
    let audit = ledger.audit().unwrap();
    c.check(audit.is_empty(), || format!("audit: {}", audit.join("; ")));

    let entries = rows(
        url,
        "SELECT CAST(id AS TEXT), org, kind, amount, balance_after, CAST(hold_id AS TEXT), payment_ref, reason, CAST(at AS TEXT) FROM entries ORDER BY entries.id",
    );
    let balances: HashMap<String, Decimal> =
        rows(url, "SELECT slug, balance FROM orgs").iter().map(|r| (r[0].clone().unwrap(), dec(&r[1]))).collect();
    // Replaying the journal gives every balance, entry by entry and at the
    // end; no balance is ever below zero; time never goes back.
    let mut replay: HashMap<String, (Decimal, i64)> = HashMap::new();
    // Journal entries (their index in `entries`) by payment reference, by
    // reason and by hold.
    let mut by_ref: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_reason: HashMap<String, Vec<usize>> = HashMap::new();
    let mut charges: HashMap<i64, Vec<usize>> = HashMap::new();
    for (n, e) in entries.iter().enumerate() {
        let org = e[1].clone().unwrap();
        let (sum, last) = replay.entry(org.clone()).or_insert((Decimal::ZERO, i64::MIN));
        *sum = sum.checked_add(dec(&e[3])).unwrap();
        let at: i64 = e[8].as_deref().unwrap().parse().unwrap();
        let (id, after) = (e[0].clone().unwrap(), dec(&e[4]));
        c.check(*sum == after, || format!("entry {id}: balance after {after}, the journal gives {sum}"));
        c.check(!after.is_sign_negative() || after.is_zero(), || format!("entry {id}: balance below zero ({after})"));
        c.check(at >= *last, || format!("entry {id}: time goes back"));
        *last = at;
        match e[2].as_deref() {
            Some("top_up") => by_ref.entry(e[6].clone().unwrap_or_default()).or_default().push(n),
            Some("grant") => by_reason.entry(e[7].clone().unwrap_or_default()).or_default().push(n),
            Some("charge") => charges.entry(e[5].as_deref().unwrap().parse().unwrap()).or_default().push(n),
            _ => {}
        }
    }
    for (org, balance) in &balances {
        let sum = replay.get(org).map_or(Decimal::ZERO, |r| r.0);
        c.check(sum == *balance, || format!("{org}: balance {balance}, the journal sums to {sum}"));
    }
    for p in rows(url, "SELECT org, id, allocated, spent FROM pools") {
        let (allocated, spent) = (dec(&p[2]), dec(&p[3]));
        c.check(spent <= allocated, || format!("pool {:?}: spent {spent} of {allocated}", p[1]));
    }

    let caps = caps_held(url, &charges, &entries, &mut c);

    let holds: HashMap<i64, (String, Decimal)> = rows(url, "SELECT CAST(id AS TEXT), state, amount FROM holds")
        .iter()
        .map(|r| (r[0].as_deref().unwrap().parse().unwrap(), (r[1].clone().unwrap(), dec(&r[2]))))
        .collect();
    let keys: HashMap<String, String> = rows(url, "SELECT key, answer FROM idempotency")
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    // Every hold: one charge when settled, none otherwise.
    for (id, (state, _)) in &holds {
        let n = charges.get(id).map_or(0, Vec::len);
        c.check(n == usize::from(state == "settled"), || format!("hold {id} ({state}) has {n} charge entries"));
    }
    // Every hold was made by exactly one reserve key: none applied twice.
    let mut keyed_holds = HashSet::new();
    for (key, r) in &records {
        if r.op["op"] == "reserve" {
            if let Some(answer) = keys.get(key) {
                let stored: Value = serde_json::from_str(answer).unwrap();
                if let Some(id) = stored["hold"]["id"].as_i64() {
                    c.check(keyed_holds.insert(id), || format!("hold {id} answers two reserve keys"));
                }
            }
        }
    }
    let unkeyed: Vec<&i64> = holds.keys().filter(|id| !keyed_holds.contains(id)).collect();
    c.check(unkeyed.is_empty(), || format!("holds no reserve key made (a reserve applied twice?): {unkeyed:?}"));

    let (mut answered, mut errors, mut allowed, mut denied) = (0, 0, 0, 0);
    let mut error_codes: BTreeMap<String, u64> = BTreeMap::new();
    for (key, r) in &records {
        let op = r.op["op"].as_str().unwrap_or_default();
        // The journal entries a top-up or grant of this key made (found by
        // its payment reference, or its reason), and how many.
        let journaled: Option<&[usize]> = match op {
            "top_up" => Some(by_ref.get(key).map_or(&[], Vec::as_slice)),
            "grant" => Some(by_reason.get(&format!("fault {key}")).map_or(&[], Vec::as_slice)),
            _ => None,
        };
        let applied = journaled.map(<[usize]>::len);
        match r.outcome.as_ref().map(|o| (o["t"].as_str().unwrap_or_default(), o)) {
            None => {
                if let Some(n) = applied {
                    c.check(n <= 1, || format!("{key}: an unacknowledged {op} is in the journal {n} times"));
                }
            }
            Some(("err", o)) => {
                errors += 1;
                let code = o["code"].as_str().unwrap_or_default();
                *error_codes.entry(format!("{op} {code}")).or_insert(0_u64) += 1;
                // What a client can meet: a hold an expiry sweep closed first, a
                // grant taking more than is free, an expiry that passed
                // before a resumed grant ran.
                let expected = ["HOLD_CLOSED", "BELOW_ZERO", "BAD_INPUT"].contains(&code);
                c.check(expected, || format!("{key}: {op} failed with {code}: {}", o["message"]));
                if op != "expire" {
                    c.check(!keys.contains_key(key), || {
                        format!("{key}: an error was answered, yet the key is recorded")
                    });
                }
                if let Some(n) = applied {
                    c.check(n == 0, || format!("{key}: a {op} answered an error is in the journal {n} times"));
                }
            }
            Some((_, o)) => {
                answered += 1;
                let answer = &o["answer"];
                if op != "expire" {
                    c.check(keys.contains_key(key), || format!("{key}: an acknowledged {op} has no key recorded"));
                }
                match op {
                    "top_up" | "grant" => {
                        let want = usize::from(answer["verdict"] == "allowed");
                        let n = applied.unwrap_or(0);
                        c.check(n == want, || {
                            format!("{key}: an acknowledged {op} is in the journal {n} times, not {want}")
                        });
                        if let Some(&first) = journaled.and_then(<[usize]>::first).filter(|_| want == 1) {
                            let e = &entries[first];
                            c.check(
                                e[0].as_deref() == answer["entry"]["id"].as_i64().map(|i| i.to_string()).as_deref(),
                                || format!("{key}: entry id differs from the answer"),
                            );
                            c.check(dec(&e[3]) == answer_dec(&r.op["credits"]), || {
                                format!("{key}: entry amount differs from the request")
                            });
                        }
                    }
                    "reserve" => {
                        if let Some(id) = answer["hold"]["id"].as_i64() {
                            allowed += 1;
                            let amount = answer_dec(&answer["hold"]["amount"]);
                            c.check(holds.get(&id).map(|h| h.1) == Some(amount), || {
                                format!("{key}: hold {id} of {amount} is not in the ledger as answered")
                            });
                        } else {
                            denied += 1;
                        }
                    }
                    "settle" | "release" => {
                        let id = r.op["hold"].as_i64().unwrap();
                        let state = if op == "settle" { "settled" } else { "released" };
                        c.check(holds.get(&id).map(|h| h.0.as_str()) == Some(state), || {
                            format!("{key}: hold {id} is not {state}")
                        });
                        if op == "settle" {
                            let entry = charges.get(&id).and_then(|v| v.first()).map(|n| &entries[*n]);
                            let charged = answer_dec(&answer["charged"]);
                            c.check(
                                entry.is_some_and(|e| dec(&e[3]) == Decimal::ZERO.checked_sub(charged).unwrap()),
                                || format!("{key}: the charge of hold {id} differs from its receipt"),
                            );
                            if plan.hot {
                                let uncollected = answer_dec(&answer["uncollected"]);
                                c.check(uncollected.is_zero(), || {
                                    format!("{key}: {uncollected} credits uncollected (an overspend)")
                                });
                            }
                        }
                    }
                    "expire" => {
                        for id in answer["holds"].as_array().into_iter().flatten().filter_map(Value::as_i64) {
                            c.check(holds.get(&id).map(|h| h.0.as_str()) == Some("expired"), || {
                                format!("hold {id} was answered expired, but is not")
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    // Acknowledged operations sent again with their keys: the same
    // answer, byte for byte, and nothing written. Every one that was
    // retried or resumed, and of the rest a seeded sample of about
    // `RESEND` (all of them in short runs).
    let before = (entries.len(), holds.len());
    let acknowledged = records.values().filter(|r| r.outcome.as_ref().is_some_and(|o| o["t"] == "ok")).count();
    let share = (RESEND as f64 / acknowledged.max(1) as f64).min(1.0);
    let mut sample = StdRng::seed_from_u64(plan.seed);
    let mut resent = 0;
    for (key, r) in &records {
        let Some(o) = r.outcome.as_ref().filter(|o| o["t"] == "ok") else { continue };
        if r.op["op"] == "expire" || !(r.eventful || sample.random_bool(share)) {
            continue;
        }
        resent += 1;
        match perform(&ledger, &r.op, key) {
            Ok(again) => c
                .check(serde_json::to_vec(&again).unwrap() == serde_json::to_vec(&o["answer"]).unwrap(), || {
                    format!("{key}: sent again, {} answered\n    {again}\n    first {}", r.op["op"], o["answer"])
                }),
            Err(e) => c.check(false, || format!("{key}: sent again, {} failed: {e}", r.op["op"])),
        }
    }
    let after = (
        rows(url, "SELECT CAST(id AS TEXT) FROM entries").len(),
        rows(url, "SELECT CAST(id AS TEXT) FROM holds").len(),
    );
    c.check(before == after, || {
        format!("sending acknowledged operations again wrote: entries and holds {before:?} -> {after:?}")
    });

    Report {
        plan: plan.clone(),
        orgs: 0,
        started,
        answered,
        errors,
        resumed,
        abandoned,
        gave_up,
        retries,
        retry_kinds,
        error_codes,
        faults: BTreeMap::new(),
        checks: c.count,
        violations: c.violations,
        reserves: (allowed, denied),
        entries: entries.len(),
        resent: (resent, acknowledged),
        sabotage: None,
        caps,
    }
}
