#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code

//! The shipped `policies/` against the product page: the whole role ×
//! action matrix from a data file, the plan guardrails, and the security
//! properties of the defaults.

use std::collections::BTreeSet;
use tollgate::{AttrValue, Context, Decimal, Engine, Org};

/// Walks `tests/fixtures/shipped-matrix.txt` and checks every cell.
#[test]
fn role_action_matrix_matches_the_product_page() {
    let engine = Engine::embedded().unwrap();
    let sheet = engine.policy_sheet();
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shipped-matrix.txt")).unwrap();
    let mut ctx = Context::new();
    let mut roles: Vec<String> = Vec::new();
    let mut section_actions = BTreeSet::new();
    let (mut checked, mut wrong) = (0, Vec::new());
    let vocabulary: BTreeSet<&str> = sheet.actions.iter().map(|a| a.action).collect();
    let close_section = |seen: &mut BTreeSet<String>| {
        if !seen.is_empty() {
            let seen_refs: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
            assert_eq!(seen_refs, vocabulary, "a section must list every action of the vocabulary");
        }
        seen.clear();
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "context" => {
                close_section(&mut section_actions);
                ctx = Context::new();
                for pair in &words[1..] {
                    let (k, v) = pair.split_once('=').unwrap();
                    ctx.insert(k, AttrValue::String(v.to_string()));
                }
            }
            "action" => roles = words[1..].iter().map(|s| s.to_string()).collect(),
            action => {
                section_actions.insert(action.to_string());
                assert_eq!(words.len(), roles.len() + 1, "{line}");
                for (role, want) in roles.iter().zip(&words[1..]) {
                    let d = engine.authorize(role, action, &ctx).unwrap();
                    let got = if d.allowed() { "allow" } else { "deny" };
                    checked += 1;
                    if got != *want {
                        wrong.push(format!("{role} {action} {ctx:?}: want {want}, got {got} ({})", d.message()));
                    }
                }
            }
        }
    }
    close_section(&mut section_actions);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(checked, 2 * 16 * 5);
}

/// Whatever the context says, no member role but the owner reaches a
/// billing mutation, and a viewer reaches nothing that changes anything;
/// the platform's support reaches grants alone.
#[test]
fn only_the_owner_reaches_billing_mutations_whatever_the_context() {
    let engine = Engine::embedded().unwrap();
    let sheet = engine.policy_sheet();
    let contexts = [
        Context::new(),
        Context::new().with("org.status", "active"),
        Context::new().with("org.status", "suspended").with("org.plan", "enterprise"),
        Context::new().with("org.plan", "free").with("org.status", ""),
    ];
    let mutations: Vec<&str> = sheet.actions.iter().filter(|a| a.mutation).map(|a| a.action).collect();
    assert_eq!(mutations.len(), 6);
    for role in ["admin", "editor", "viewer", "support"] {
        for action in mutations.iter().filter(|a| !(role == "support" && **a == "billing.grant")) {
            for ctx in &contexts {
                let d = engine.authorize(role, action, ctx).unwrap();
                assert!(!d.allowed(), "{role} reached {action} with {ctx:?}");
            }
        }
    }
    // A context can never name the role: role is its own argument, and an
    // undeclared attribute such as `role` is rejected outright.
    let err = engine.authorize("viewer", "billing.top_up", &Context::new().with("role", "owner")).unwrap_err();
    assert_eq!(err.code(), "unknown_attribute");
}

#[test]
fn plans_state_every_limit_and_sell_top_ups_in_blocks_of_ten() {
    let engine = Engine::embedded().unwrap();
    let sheet = engine.policy_sheet();
    let names: Vec<&str> = sheet.plans.iter().map(|p| p.plan).collect();
    assert_eq!(names, ["enterprise", "free", "pro", "team"]);
    let limits = ["orgs_joined", "orgs_owned", "pending_invitations", "projects_per_org", "seats"];
    let tools: Vec<String> = engine.rate_sheet().tools.iter().map(|t| t.tool.clone()).collect();
    for plan in &sheet.plans {
        assert_eq!(plan.limits.keys().collect::<Vec<_>>(), limits, "{}", plan.plan);
        assert_eq!(plan.top_up_increment, Some(10), "{}", plan.plan);
    }
    // The upgrade path climbs to the top plan, which has none.
    let up = |p: &str| sheet.plans.iter().find(|x| x.plan == p).unwrap().upgrade_to;
    assert_eq!(
        (up("free"), up("pro"), up("team"), up("enterprise")),
        (Some("pro"), Some("team"), Some("enterprise"), None)
    );

    // Every shipped tool has a rule on every plan: a Free quote for each needs its counter.
    for tool in &tools {
        let org = Org::from_toml("org.toml", "[org]\nslug = \"a\"\nplan = \"free\"\nbalance = \"100000\"\n").unwrap();
        let req = tollgate::QuoteRequest {
            role: "owner".into(),
            org,
            run: tollgate::Run { tool: Some(tool.clone()), items: vec![] },
            context: None,
        };
        match engine.quote(&req) {
            Err(e) => assert_eq!(e.code(), "missing_counter", "{tool}: {e}"),
            Ok(q) => assert!(
                q.reasons.iter().any(|r| r.code == tollgate::ReasonCode::ToolNotInPlan),
                "{tool} on Free has no cap, so it must be disabled"
            ),
        }
    }
}

#[test]
fn free_plan_guardrail_reads_like_the_product_page() {
    let engine = Engine::embedded().unwrap();
    let org = Org::from_toml(
        "org.toml",
        "[org]\nslug = \"acme\"\nplan = \"free\"\nbalance = \"0\"\n[org.usage]\nseats = 3\n",
    )
    .unwrap();
    let c = engine.check_limit(&org, "seats", Decimal::ONE).unwrap();
    assert!(!c.allowed);
    let reason = c.reason.unwrap();
    assert_eq!(reason.message, "seats limit reached on Free (3 of 3) — upgrade to Pro");
    assert_eq!(reason.billing_link, "/org/acme/billing");
    // Top-ups: blocks of ten credits.
    let t = engine.quote_top_up(&org, Decimal::from(101)).unwrap();
    assert_eq!((t.blocks, t.credits), (11, Decimal::from(110)));
}
