//! A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary
//! folder (as the `postgres` user when run as root: the server refuses
//! root), a free port on 127.0.0.1, `pg_ctl -w start`; stopped when the
//! value is dropped, also when a test fails. It is an error, never a skip,
//! when the cluster cannot be started. (Shared by the ledger's tests and
//! benchmarks and the command line's tests.)

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    root: bool,
    /// The server's options, for a restart.
    opts: String,
}

/// The newest PostgreSQL's programs: `/usr/lib/postgresql/N/bin`, or PATH.
fn bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_default()
}

impl Cluster {
    /// A cluster for tests: fsync off (a crash of the test machine loses
    /// nothing anyone needs).
    pub fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// A cluster; `durable`: fsync on, as a production server (benchmarks).
    pub fn start_with(durable: bool) -> Cluster {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let bin = bin();
        let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        if root {
            let ok =
                Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap().success();
            assert!(ok, "cannot give the cluster's folder to the postgres user");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync={} -c max_connections=300",
            dir.path().display(),
            if durable { "on" } else { "off" }
        );
        let c = Cluster { dir, bin, port, root, opts };
        let data = c.data();
        c.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        let log = c.log().display().to_string();
        c.run("pg_ctl", &["-D", &data, "-o", &c.opts, "-l", &log, "-w", "-t", "60", "start"]);
        c
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn program(&self, name: &str) -> PathBuf {
        let path = self.bin.join(name);
        if path.exists() {
            path
        } else {
            PathBuf::from(name)
        }
    }

    /// A crash of the server and its recovery: `pg_ctl restart -m
    /// immediate` (every backend dies without a checkpoint; the server
    /// replays its write-ahead log when it starts again).
    pub fn restart_immediate(&self) {
        // `restart` has no `-l`: the new server writes to pg_ctl's output,
        // which goes to the log file (a pipe would be held open by it).
        let out = || std::fs::OpenOptions::new().append(true).open(self.log()).unwrap();
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "-o", self.opts.as_str(), "-w", "-t", "60", "restart"];
        let mut cmd = if self.root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.program("pg_ctl"));
            c
        } else {
            Command::new(self.program("pg_ctl"))
        };
        let status = cmd.args(args).stdout(out()).stderr(out()).status().unwrap();
        assert!(status.success(), "pg_ctl restart failed: see {}", self.log().display());
    }

    /// Drops every connection to `database` (the server ends their
    /// backends, as a network failure or an administrator would).
    pub fn drop_connections(&self, database: &str) -> u64 {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the cluster");
        let row = client
            .query_one(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()) AS t",
                &[&database],
            )
            .expect("end the backends");
        u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, program: &str, args: &[&str]) {
        let program = self.program(program);
        let out = if self.root {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&program).args(args).output()
        } else {
            Command::new(&program).args(args).output()
        }
        .unwrap_or_else(|e| {
            panic!("cannot run {}: {e} (install PostgreSQL: apt-get install postgresql)", program.display())
        });
        assert!(
            out.status.success(),
            "{} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new, empty database of the cluster; its URL.
    pub fn database(&self, name: &str) -> String {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the cluster");
        client.batch_execute(&format!("CREATE DATABASE \"{name}\"")).expect("create a database");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.program("pg_ctl");
        let _ = if self.root {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&program)
                .args(["-D", &data, "-m", "immediate", "stop"])
                .output()
        } else {
            Command::new(&program).args(["-D", &data, "-m", "immediate", "stop"]).output()
        };
    }
}
