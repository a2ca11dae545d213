#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // benchmark setup

//! tollgate and Cedar (`cedar-policy`) side by side on the same
//! role-permission policy set, at 10, 100 and 1,000 rules: time to
//! authorize one request and time to load the policies, in one criterion
//! run, then the ratios. Before timing, both engines must agree on every
//! role × action × status of the set.
//!
//! Run: `cargo bench --manifest-path benches/cedar-compare/Cargo.toml`.

use criterion::{BenchmarkId, Criterion};
use std::hint::black_box;
use std::str::FromStr;

const ROLES: [&str; 4] = ["viewer", "editor", "admin", "owner"];
const SIZES: [usize; 3] = [10, 100, 1000];
const CARD: &str = "[card]\nversion = \"b\"\nprecision = 2\nrounding = \"up\"\n";

/// Rule `i` grants role `ROLES[i % 4]` action `a{i / 4}`; every tenth rule
/// instead forbids it while the organization is suspended.
fn rules(n: usize) -> impl Iterator<Item = (usize, &'static str, usize, bool)> {
    (0..n).map(|i| (i, ROLES[i % 4], i / 4, i % 10 == 9))
}

fn tollgate_policy(n: usize) -> String {
    let mut s = String::from("[roles]\nviewer = {}\neditor = { inherits = [\"viewer\"] }\nadmin = { inherits = [\"editor\"] }\nowner = { inherits = [\"admin\"] }\n[attributes]\n\"org.status\" = \"string\"\n[actions]\n");
    for a in 0..n.div_ceil(4) {
        s.push_str(&format!("\"a{a}\" = {{}}\n"));
    }
    for (i, role, a, forbid) in rules(n) {
        if forbid {
            s.push_str(&format!("[[rules]]\nid = \"r{i}\"\neffect = \"deny\"\nroles = [\"{role}\"]\nactions = [\"a{a}\"]\nwhen = [{{ attr = \"org.status\", eq = \"suspended\" }}]\n"));
        } else {
            s.push_str(&format!("[[rules]]\nid = \"r{i}\"\neffect = \"allow\"\nroles = [\"{role}\"]\nactions = [\"a{a}\"]\n"));
        }
    }
    s
}

fn cedar_policy(n: usize) -> String {
    let mut s = String::new();
    for (i, role, a, forbid) in rules(n) {
        if forbid {
            s.push_str(&format!("@id(\"r{i}\")\nforbid(principal in Role::\"{role}\", action == Action::\"a{a}\", resource) when {{ context.org_status == \"suspended\" }};\n"));
        } else {
            s.push_str(&format!("@id(\"r{i}\")\npermit(principal in Role::\"{role}\", action == Action::\"a{a}\", resource);\n"));
        }
    }
    s
}

fn tollgate_load(text: &str) -> tollgate::Engine {
    tollgate::Engine::from_sources(tollgate::Sources::new().rates("r.toml", CARD).policies("p.toml", text)).unwrap()
}

/// A user in each role; roles inherit as in tollgate (owner in admin in editor in viewer).
fn cedar_entities() -> cedar_policy::Entities {
    let mut list = vec![];
    for (i, role) in ROLES.iter().enumerate() {
        let parents: Vec<_> = ROLES.get(i.wrapping_sub(1)).map(|p| serde_json::json!({"type": "Role", "id": p})).into_iter().collect();
        list.push(serde_json::json!({"uid": {"type": "Role", "id": role}, "attrs": {}, "parents": parents}));
        list.push(serde_json::json!({"uid": {"type": "User", "id": format!("u-{role}")}, "attrs": {}, "parents": [{"type": "Role", "id": role}]}));
    }
    cedar_policy::Entities::from_json_value(serde_json::Value::Array(list), None).unwrap()
}

fn cedar_request(role: &str, action: usize, status: &str) -> cedar_policy::Request {
    let uid = |s: String| cedar_policy::EntityUid::from_str(&s).unwrap();
    let context = cedar_policy::Context::from_json_value(serde_json::json!({"org_status": status}), None).unwrap();
    cedar_policy::Request::new(
        uid(format!("User::\"u-{role}\"")),
        uid(format!("Action::\"a{action}\"")),
        uid("Org::\"acme\"".to_string()),
        context,
        None,
    )
    .unwrap()
}

fn agree(n: usize) {
    let engine = tollgate_load(&tollgate_policy(n));
    let policies = cedar_policy::PolicySet::from_str(&cedar_policy(n)).unwrap();
    let entities = cedar_entities();
    let authorizer = cedar_policy::Authorizer::new();
    for role in ROLES {
        for a in 0..n.div_ceil(4) {
            for status in ["active", "suspended"] {
                let ctx = tollgate::Context::new().with("org.status", status);
                let t = engine.authorize(role, &format!("a{a}"), &ctx).unwrap().allowed();
                let c = authorizer.is_authorized(&cedar_request(role, a, status), &policies, &entities).decision()
                    == cedar_policy::Decision::Allow;
                assert_eq!(t, c, "{n} rules: {role} a{a} {status}");
            }
        }
    }
}

fn benches(c: &mut Criterion) {
    let entities = cedar_entities();
    let authorizer = cedar_policy::Authorizer::new();
    let mut auth = c.benchmark_group("authorize");
    for n in SIZES {
        agree(n);
        let engine = tollgate_load(&tollgate_policy(n));
        let policies = cedar_policy::PolicySet::from_str(&cedar_policy(n)).unwrap();
        // The owner asking for an action granted to a role it inherits.
        let action = n / 8;
        let ctx = tollgate::Context::new().with("org.status", "active");
        let name = format!("a{action}");
        let request = cedar_request("owner", action, "active");
        auth.bench_with_input(BenchmarkId::new("tollgate", n), &n, |b, _| {
            b.iter(|| engine.authorize(black_box("owner"), black_box(&name), black_box(&ctx)).unwrap().allowed())
        });
        auth.bench_with_input(BenchmarkId::new("cedar", n), &n, |b, _| {
            b.iter(|| authorizer.is_authorized(black_box(&request), black_box(&policies), black_box(&entities)).decision())
        });
    }
    auth.finish();
    let mut load = c.benchmark_group("load");
    for n in SIZES {
        let (t, cp) = (tollgate_policy(n), cedar_policy(n));
        load.bench_with_input(BenchmarkId::new("tollgate", n), &n, |b, _| b.iter(|| tollgate_load(black_box(&t))));
        load.bench_with_input(BenchmarkId::new("cedar", n), &n, |b, _| {
            b.iter(|| cedar_policy::PolicySet::from_str(black_box(&cp)).unwrap())
        });
    }
    load.finish();
}

/// The median of one benchmark, from criterion's report of this run.
fn median_ns(group: &str, who: &str, n: usize) -> Option<f64> {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    let path = format!("{dir}/criterion/{group}/{who}/{n}/new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    if !std::env::args().any(|a| a == "--bench") {
        return; // a test run (`cargo test`): nothing was measured
    }
    println!("\n{:<10} {:>6} {:>14} {:>14} {:>12}", "", "rules", "tollgate", "cedar", "cedar / tollgate");
    for group in ["authorize", "load"] {
        for n in SIZES {
            if let (Some(t), Some(c)) = (median_ns(group, "tollgate", n), median_ns(group, "cedar", n)) {
                println!("{group:<10} {n:>6} {:>11.1} ns {:>11.1} ns {:>11.1}x", t, c, c / t);
            }
        }
    }
}
