#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code

//! `tollgate ledger` end to end, with separate processes racing on one
//! SQLite file: exactly the reserves that fit win, a frequency cap is never
//! passed, retries with one key make one hold; the same races on PostgreSQL
//! (a throwaway cluster); and the README walkthrough.

#[path = "../../../ledger/tests/common/cluster.rs"]
mod cluster;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const AT: &str = "2026-11-30T12:00:00Z";

fn tollgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate")).current_dir(dir).args(args).output().unwrap()
}

fn spawn(dir: &Path, args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A folder with a ledger file and a run file; `db` is its URL.
struct Place {
    dir: tempfile::TempDir,
    db: String,
}

impl Place {
    fn new(plan: &str) -> Place {
        Place::on(None, plan)
    }

    /// A place whose ledger is at `db` (a new SQLite file when none).
    fn on(db: Option<String>, plan: &str) -> Place {
        let dir = tempfile::tempdir().unwrap();
        let db = db.unwrap_or_else(|| format!("sqlite:{}", dir.path().join("ledger.db").display()));
        std::fs::write(dir.path().join("storyboard.toml"), "tool = \"storyboard\"\n").unwrap();
        std::fs::write(dir.path().join("video.toml"), "tool = \"video-gen\"\n").unwrap();
        let p = Place { dir, db };
        p.ok(&["open", "--org", "acme", "--plan", plan]);
        p
    }

    fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    fn args(&self, op: &[&str]) -> Vec<String> {
        let mut a: Vec<String> =
            ["ledger", "--db", &self.db, "--at", AT, "--json"].iter().map(|s| s.to_string()).collect();
        a.extend(op.iter().map(|s| s.to_string()));
        a
    }

    fn run(&self, op: &[&str]) -> Output {
        let args = self.args(op);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        tollgate(self.dir.path(), &refs)
    }

    fn ok(&self, op: &[&str]) -> serde_json::Value {
        let out = self.run(op);
        assert_eq!(out.status.code(), Some(0), "{op:?}: {}{}", text(&out.stdout), text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Starts `n` reserves at once, key `key(i)`; waits for all; returns
    /// each one's exit code and answer.
    fn race(&self, n: usize, run: &str, key: impl Fn(usize) -> String) -> Vec<(i32, serde_json::Value)> {
        let children: Vec<Child> = (0..n)
            .map(|i| {
                spawn(
                    &self.path(),
                    &self.args(&["reserve", "--org", "acme", "--role", "editor", "--key", &key(i), run]),
                )
            })
            .collect();
        children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().unwrap();
                let code = out.status.code().unwrap();
                assert!(code == 0 || code == 1, "exit {code}: {}", text(&out.stderr));
                (code, serde_json::from_slice(&out.stdout).unwrap())
            })
            .collect()
    }
}

fn decimal(v: &serde_json::Value) -> tollgate::Decimal {
    tollgate::parse_decimal(v.as_str().unwrap()).unwrap()
}

#[test]
fn racing_processes_win_exactly_what_the_balance_holds() {
    win_exactly_what_the_balance_holds(&Place::new("pro"));
}

fn win_exactly_what_the_balance_holds(place: &Place) {
    // 50 credits: ten storyboard runs of 5; sixteen processes race for them.
    place.ok(&["grant", "--org", "acme", "--role", "support", "--credits", "50", "--reason", "test", "--key", "g"]);
    let results = place.race(16, "storyboard.toml", |i| format!("run-{i}"));
    let won: Vec<&serde_json::Value> = results.iter().filter(|(c, _)| *c == 0).map(|(_, v)| v).collect();
    assert_eq!(won.len(), 10, "winners");
    for (code, v) in &results {
        if *code == 1 {
            let codes: Vec<&str> =
                v["quote"]["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
            assert_eq!(codes, ["INSUFFICIENT_CREDITS"]);
            assert!(v["hold"].is_null());
        }
    }
    let mut ids: Vec<i64> = won.iter().map(|v| v["hold"]["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 10, "ten distinct holds");
    let state = place.ok(&["state", "--org", "acme"]);
    assert_eq!((decimal(&state["held"]), decimal(&state["available"])), (50.into(), 0.into()));
}

#[test]
fn racing_processes_never_pass_a_frequency_cap() {
    // Free runs video-gen at most 5 times a day; the balance is no limit.
    let place = Place::new("free");
    place.ok(&[
        "top-up",
        "--org",
        "acme",
        "--role",
        "owner",
        "--credits",
        "1000",
        "--payment-ref",
        "pi_1",
        "--key",
        "t",
    ]);
    let results = place.race(16, "video.toml", |i| format!("video-{i}"));
    let won = results.iter().filter(|(c, _)| *c == 0).count();
    assert_eq!(won, 5);
    for (code, v) in &results {
        if *code == 1 {
            assert_eq!(v["quote"]["reasons"][0]["code"], "FREQUENCY_CAP", "{v}");
        }
    }
    let state = place.ok(&["state", "--org", "acme"]);
    assert_eq!(state["usage"]["tools.video-gen.runs_today"], "5");
    assert_eq!(decimal(&state["held"]), 200.into());
}

#[test]
fn retries_with_one_key_make_one_hold() {
    one_key_makes_one_hold(&Place::new("pro"));
}

/// The same races on PostgreSQL, each process on its own connection, and
/// `migrate` on its schema.
#[test]
fn the_races_on_postgres() {
    let cluster = cluster::Cluster::start();
    let place = Place::on(Some(cluster.database("race")), "pro");
    assert_eq!(place.ok(&["migrate"]), serde_json::json!({ "schema": 2 }));
    win_exactly_what_the_balance_holds(&place);
    one_key_makes_one_hold(&Place::on(Some(cluster.database("retries")), "pro"));
}

fn one_key_makes_one_hold(place: &Place) {
    place.ok(&["grant", "--org", "acme", "--role", "support", "--credits", "50", "--reason", "test", "--key", "g"]);
    let results = place.race(8, "storyboard.toml", |_| "the-same-request".to_string());
    assert!(results.iter().all(|(c, _)| *c == 0));
    let first = &results[0].1;
    assert!(results.iter().all(|(_, v)| v == first), "every retry answers as the first");
    let state = place.ok(&["state", "--org", "acme"]);
    assert_eq!(decimal(&state["held"]), 5.into());
    // The same key for another request is refused, naming the code.
    let out = place.run(&[
        "top-up",
        "--org",
        "acme",
        "--role",
        "owner",
        "--credits",
        "100",
        "--payment-ref",
        "p",
        "--key",
        "the-same-request",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with(
            "error[IDEMPOTENCY_CONFLICT]: key `the-same-request` was used for another request (a reserve)"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exit_codes_are_0_done_1_denied_2_errors_with_the_code() {
    let place = Place::new("pro");
    let out = place.run(&["reserve", "--org", "acme", "--role", "editor", "--key", "r", "storyboard.toml"]);
    assert_eq!(out.status.code(), Some(1), "denied: no credits");
    let out = place.run(&["settle", "--hold", "7", "--key", "s", "storyboard.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "error[HOLD_NOT_FOUND]: no hold 7 in the ledger\n");
    let out = place.run(&["state", "--org", "nobody"]);
    assert_eq!(text(&out.stderr), "error[ORG_NOT_FOUND]: no organization `nobody` in the ledger\n");
    let out = tollgate(&place.path(), &["ledger", "--db", "mysql://x", "state", "--org", "acme"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error[BAD_INPUT]: `mysql://x` is no database URL"), "{}", text(&out.stderr));
    let out = place.run(&[
        "reserve",
        "--org",
        "acme",
        "--role",
        "editor",
        "--key",
        "r",
        "--ttl",
        "15 minutes",
        "storyboard.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is no duration"), "{}", text(&out.stderr));
}

/// A file that is not a ledger, a ledger of a newer schema and a file that
/// is no database are refused, and left as they were.
#[test]
fn foreign_and_newer_databases_are_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let state = |path: &Path| {
        tollgate(dir.path(), &["ledger", "--db", &format!("sqlite:{}", path.display()), "state", "--org", "a"])
    };

    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE users (name TEXT)").unwrap();
    let before = std::fs::read(&foreign).unwrap();
    let out = state(&foreign);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).starts_with("error[SCHEMA]: this database is not a tollgate ledger"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read(&foreign).unwrap(), before);

    let newer = dir.path().join("newer.db");
    let place_db = format!("sqlite:{}", newer.display());
    assert_eq!(
        tollgate(dir.path(), &["ledger", "--db", &place_db, "open", "--org", "a", "--plan", "pro"]).status.code(),
        Some(0)
    );
    rusqlite::Connection::open(&newer).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let out = state(&newer);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error[SCHEMA]: this ledger has schema version 99; this build knows up to 2: use a newer tollgate\n"
    );

    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "not a database at all, just some text that is long enough to have a header").unwrap();
    let before = std::fs::read(&text_file).unwrap();
    let out = state(&text_file);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error[DATABASE]:"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&text_file).unwrap(), before);
}

#[test]
fn the_readme_walkthrough_runs() {
    let place = Place::new("pro");
    assert_eq!(place.ok(&["migrate"]), serde_json::json!({ "schema": 2 }));
    let done = place.ok(&[
        "top-up",
        "--org",
        "acme",
        "--role",
        "owner",
        "--credits",
        "100",
        "--payment-ref",
        "pi_1",
        "--key",
        "t1",
    ]);
    assert_eq!(done["balance"], "100");
    let reserved = place.ok(&["reserve", "--org", "acme", "--role", "editor", "--key", "r1", "storyboard.toml"]);
    assert_eq!(reserved["hold"]["amount"], "5");
    let receipt = place.ok(&["settle", "--hold", "1", "--key", "s1", "storyboard.toml"]);
    assert_eq!((receipt["charged"].as_str(), receipt["balanceAfter"].as_str()), (Some("5"), Some("95")));
    let statement = place.ok(&["statement", "--org", "acme"]);
    assert_eq!((statement["opening"].as_str(), statement["closing"].as_str()), (Some("0"), Some("95")));
    assert_eq!(statement["entries"].as_array().unwrap().len(), 2);
    let out = tollgate(&place.path(), &["ledger", "--db", &place.db, "statement", "--org", "acme"]);
    assert!(text(&out.stdout).ends_with("closing 95\n"), "{}", text(&out.stdout));
}
