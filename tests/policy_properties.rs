#![allow(clippy::arithmetic_side_effects)] // tests: a panic is a failure
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! Properties of decisions and quotes (proptest): over random policy sets,
//! adding a deny never turns a deny into an allow and adding an allow never
//! turns an allow into a deny; over random organizations, a quote is denied
//! whenever any of its checks is.

use proptest::prelude::*;
use tollgate::{AttrValue, Context, Decimal, Engine, Org, QuoteRequest, Run, Sources, Verdict};

const RATES: &str = "[card]\nversion = \"p\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = 1\n";
const ROLES: [&str; 4] = ["r0", "r1", "r2", "r3"];
const ACTIONS: [&str; 4] = ["a.x", "a.y", "a.y.z", "b.w"];

fn condition() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..10).prop_map(|v| format!("{{ attr = \"n\", gt = {v} }}")),
        (0i64..10).prop_map(|v| format!("{{ attr = \"n\", lte = {v} }}")),
        (0i64..10).prop_map(|v| format!("{{ attr = \"n\", gte = \"{v}\" }}")),
        (0i64..10).prop_map(|v| format!("{{ attr = \"n\", lt = {v} }}")),
        prop::sample::select(vec!["p", "q", "r"]).prop_map(|v| format!("{{ attr = \"s\", eq = \"{v}\" }}")),
        prop::sample::select(vec!["p", "q", "r"]).prop_map(|v| format!("{{ attr = \"s\", ne = \"{v}\" }}")),
        Just("{ attr = \"s\", in = [\"p\", \"q\"] }".to_string()),
        any::<bool>().prop_map(|b| format!("{{ attr = \"f\", eq = {b} }}")),
        any::<bool>().prop_map(|b| format!("{{ attr = \"f\", exists = {b} }}")),
    ]
}

fn rule(id: usize, effect: &'static str) -> impl Strategy<Value = String> {
    let roles = prop_oneof![Just(None), prop::sample::subsequence(ROLES.to_vec(), 1..3).prop_map(Some)];
    let actions = prop::sample::subsequence(vec!["a.x", "a.y", "a.y.z", "b.w", "a.*", "a.y.*"], 1..3);
    (roles, actions, prop::collection::vec(condition(), 0..3)).prop_map(move |(roles, actions, when)| {
        let q = |v: &[&str]| v.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
        let mut s = format!("[[rules]]\nid = \"rule{id}\"\neffect = \"{effect}\"\nactions = [{}]\n", q(&actions));
        if let Some(r) = roles {
            s.push_str(&format!("roles = [{}]\n", q(&r)));
        }
        s.push_str(&format!("when = [{}]\n", when.join(", ")));
        s
    })
}

fn header() -> impl Strategy<Value = String> {
    // Acyclic inheritance: a role may inherit only from roles before it.
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(a, b, c)| {
        let mut s = String::from("[roles]\nr0 = {}\n");
        s.push_str(if a { "r1 = { inherits = [\"r0\"] }\n" } else { "r1 = {}\n" });
        s.push_str(if b { "r2 = { inherits = [\"r1\"] }\n" } else { "r2 = { inherits = [\"r0\"] }\n" });
        s.push_str(if c { "r3 = { inherits = [\"r2\", \"r0\"] }\n" } else { "r3 = {}\n" });
        s.push_str("[actions]\n\"a.x\" = {}\n\"a.y\" = {}\n\"a.y.z\" = {}\n\"b.w\" = {}\n");
        s.push_str("[attributes]\nn = \"number\"\ns = \"string\"\nf = \"bool\"\n");
        s
    })
}

fn policies() -> impl Strategy<Value = String> {
    let rules = prop::collection::vec(any::<bool>(), 0..8).prop_flat_map(|effects| {
        effects
            .into_iter()
            .enumerate()
            .map(|(i, allow)| rule(i, if allow { "allow" } else { "deny" }).boxed())
            .collect::<Vec<_>>()
    });
    (header(), rules).prop_map(|(h, rules)| format!("{h}{}", rules.join("")))
}

fn context() -> impl Strategy<Value = Context> {
    (
        prop::option::of(0i64..10),
        prop::option::of(prop::sample::select(vec!["p", "q", "r"])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(n, s, f)| {
            let mut c = Context::new();
            if let Some(n) = n {
                c.insert("n", AttrValue::Number(Decimal::from(n)));
            }
            if let Some(s) = s {
                c.insert("s", s);
            }
            if let Some(f) = f {
                c.insert("f", f);
            }
            c
        })
}

fn engine(policy: &str) -> Engine {
    Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", policy)).unwrap()
}

/// Every (role, action) decision of an engine under a context.
fn decisions(e: &Engine, ctx: &Context) -> Vec<bool> {
    let mut out = Vec::new();
    for role in ROLES {
        for action in ACTIONS {
            out.push(e.authorize(role, action, ctx).unwrap().allowed());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn adding_a_deny_never_turns_a_deny_into_an_allow(base in policies(), extra in rule(99, "deny"), ctx in context()) {
        let before = decisions(&engine(&base), &ctx);
        let after = decisions(&engine(&format!("{base}{extra}")), &ctx);
        for (b, a) in before.iter().zip(&after) {
            prop_assert!(*b || !*a, "a deny became an allow");
        }
    }

    #[test]
    fn adding_an_allow_never_turns_an_allow_into_a_deny(base in policies(), extra in rule(99, "allow"), ctx in context()) {
        let before = decisions(&engine(&base), &ctx);
        let after = decisions(&engine(&format!("{base}{extra}")), &ctx);
        for (b, a) in before.iter().zip(&after) {
            prop_assert!(!*b || *a, "an allow became a deny");
        }
    }
}

fn org() -> impl Strategy<Value = Org> {
    (
        prop::sample::select(vec!["free", "pro", "team", "enterprise"]),
        0i64..400,
        prop::sample::select(vec![None, Some("active"), Some("suspended")]),
        0i64..60,
        prop::option::of((0i64..600, 0i64..600)),
        prop::option::of((0i64..300, 0i64..300)),
    )
        .prop_map(|(plan, balance, status, runs, spend, pool)| {
            let mut t = format!("[org]\nslug = \"acme\"\nplan = \"{plan}\"\nbalance = \"{balance}\"\n");
            if let Some(s) = status {
                t.push_str(&format!("status = \"{s}\"\n"));
            }
            if let Some((a, s)) = pool {
                t.push_str(&format!(
                    "[[org.pools]]\nid = \"p\"\nallocated = \"{a}\"\nspent = \"{s}\"\ntools = [\"storyboard\"]\n"
                ));
            }
            if let Some((cap, spent)) = spend {
                t.push_str(&format!("[org.spend_controls]\nmonthly_cap = \"{cap}\"\nspent_this_month = \"{spent}\"\n"));
            }
            t.push_str("[org.usage]\n");
            for w in ["runs_this_hour", "runs_today", "runs_this_month"] {
                t.push_str(&format!("\"tools.storyboard.{w}\" = {runs}\n"));
            }
            Org::from_toml("org.toml", &t).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_quote_is_denied_whenever_any_check_is(
        org in org(),
        role in prop::sample::select(vec!["owner", "admin", "editor", "viewer"]),
        images in 0u64..30,
    ) {
        let engine = Engine::embedded().unwrap();
        let run_toml = format!("tool = \"storyboard\"\n[[items]]\nkind = \"image\"\nmodel = \"gpt-image-1\"\ncount = {images}\n");
        let run = Run::from_toml("run.toml", &run_toml).unwrap();
        let req = QuoteRequest { role: role.to_string(), org: org.clone(), run: run.clone(), context: None };
        let q = engine.quote(&req).unwrap();
        let cost = engine.estimate(&run).unwrap().charged.high;

        let mut ctx = Context::new().with("org.plan", org.plan.as_str());
        if let Some(s) = &org.status {
            ctx.insert("org.status", s.as_str());
        }
        let checks = [
            !engine.authorize(role, "tools.run", &ctx).unwrap().allowed(),
            org.status == Some(tollgate::OrgStatus::Suspended),
            cost > org.balance,
            org.spend_controls.as_ref().is_some_and(|s| cost > s.monthly_cap - s.spent_this_month),
        ];
        if checks.iter().any(|c| *c) {
            prop_assert_eq!(q.verdict, Verdict::Denied);
        }
        // And the verdict is exactly "no reasons".
        prop_assert_eq!(q.verdict == Verdict::Allowed, q.reasons.is_empty());
        // A shortfall of credits always comes with its top-up, when one is sold.
        if cost > org.balance {
            prop_assert!(q.reasons.iter().any(|r| r.code == tollgate::ReasonCode::InsufficientCredits));
        }
    }
}
