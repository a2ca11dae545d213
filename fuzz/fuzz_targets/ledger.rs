#![no_main]
//! Arbitrary sequences of ledger operations on a fresh in-memory ledger:
//! nothing panics, every answer or error is one the ledger gives, and after
//! every step the ledger's invariants hold (`Ledger::audit`). Payments files
//! of arbitrary text are read without a panic.

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tollgate::{Decimal, Engine, Run};
use tollgate_ledger::{At, Grant, Ledger, Reserve, Settle, SqliteStore, TopUp};

#[derive(Arbitrary, Debug)]
enum Op {
    TopUp { org: bool, blocks: u16, role: u8 },
    Grant { org: bool, credits: i32, scale: u8, expires_h: Option<u8> },
    Reserve { org: bool, run: u8, ttl_s: u16, key: u8 },
    Settle { hold: u8, run: u8, key: u8 },
    Release { hold: u8, key: u8 },
    Expire,
    Later { minutes: u16 },
    Payments(String),
    SetCap { org: bool, cap: Option<u16> },
    SetPool { org: bool, allocated: u16, tools: u8 },
}

const RUNS: [&str; 6] = [
    r#"{"tool":"storyboard"}"#,
    r#"{"tool":"video-gen"}"#,
    r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1000,"outputTokens":{"min":0,"max":20000}}]}"#,
    r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1000,"outputTokens":70000}]}"#,
    r#"{"items":[{"kind":"image","model":"gpt-image-1","count":2}]}"#,
    r#"{"tool":"image-gen"}"#,
];
const ROLES: [&str; 4] = ["owner", "editor", "viewer", "support"];
const TOOLS: [&str; 3] = ["video-gen", "image-gen", "storyboard"];

fuzz_target!(|ops: Vec<Op>| {
    let Ok(store) = SqliteStore::open("sqlite::memory:") else { return };
    let Ok(engine) = Engine::embedded() else { return };
    let ledger = Ledger::new(store, engine);
    let Ok(mut at) = At::parse("2026-11-30T12:00:00Z") else { return };
    let org = |b: bool| if b { "acme" } else { "beta" };
    let _ = ledger.open_org(at, "acme", "team");
    let _ = ledger.open_org(at, "beta", "free");
    let run = |i: u8| -> Run { tollgate::parse_request(RUNS[usize::from(i) % RUNS.len()]).unwrap() };
    let mut holds: Vec<i64> = Vec::new();
    for (n, op) in ops.iter().take(64).enumerate() {
        match op {
            Op::TopUp { org: o, blocks, role } => {
                let req = TopUp {
                    org: org(*o).into(),
                    role: ROLES[usize::from(*role) % ROLES.len()].into(),
                    credits: Decimal::from(u32::from(*blocks) * 10),
                    payment_ref: format!("p{n}"),
                    key: format!("k{n}"),
                };
                let _ = ledger.top_up(at, &req);
            }
            Op::Grant { org: o, credits, scale, expires_h } => {
                let credits = Decimal::try_from_i128_with_scale(i128::from(*credits), u32::from(*scale % 6)).unwrap();
                let expires_at = expires_h.and_then(|h| at.plus(i64::from(h) * 3_600_000).ok());
                let req =
                    Grant { org: org(*o).into(), role: "support".into(), credits, reason: "fuzz".into(), expires_at, key: format!("k{n}") };
                let _ = ledger.grant(at, &req);
            }
            Op::Reserve { org: o, run: r, ttl_s, key } => {
                let req = Reserve {
                    org: org(*o).into(),
                    role: "editor".into(),
                    run: run(*r),
                    context: None,
                    ttl_ms: i64::from(*ttl_s) * 1000,
                    fingerprint: None,
                    key: format!("r{key}"),
                };
                if let Ok(answer) = ledger.reserve(at, &req) {
                    if let Some(h) = answer.hold {
                        holds.push(h.id);
                    }
                }
            }
            Op::Settle { hold, run: r, key } => {
                let id = holds.get(usize::from(*hold)).copied().unwrap_or(i64::from(*hold));
                let _ = ledger.settle(at, &Settle { hold: id, run: run(*r), key: format!("s{key}") });
            }
            Op::Release { hold, key } => {
                let id = holds.get(usize::from(*hold)).copied().unwrap_or(i64::from(*hold));
                let _ = ledger.release(at, id, &format!("x{key}"));
            }
            Op::Expire => {
                let _ = ledger.expire(at);
            }
            Op::Later { minutes } => {
                if let Ok(later) = at.plus(i64::from(*minutes) * 60_000) {
                    at = later;
                }
            }
            Op::Payments(text) => {
                if let Ok(p) = tollgate_ledger::read_payments("fuzz", text) {
                    let _ = ledger.reconcile("acme", &p);
                }
            }
            Op::SetCap { org: o, cap } => {
                let _ = ledger.set_spend_cap(at, org(*o), cap.map(Decimal::from));
            }
            Op::SetPool { org: o, allocated, tools } => {
                let tools: Vec<String> =
                    TOOLS.iter().enumerate().filter(|(i, _)| tools & (1 << i) != 0).map(|(_, t)| t.to_string()).collect();
                let _ = ledger.set_pool(at, org(*o), "pool", Decimal::from(*allocated), &tools);
            }
        }
        let wrong = ledger.audit().unwrap();
        assert!(wrong.is_empty(), "after {op:?}: {wrong:?}");
    }
});
