#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! Explanations: every rule appears, and each says which of role, action or
//! condition decided it; the decision is the one `authorize` gives.

use tollgate::{Context, Engine};

#[test]
fn every_rule_is_traced_with_what_decided_it() {
    let engine = Engine::embedded().unwrap();
    let ctx = Context::new().with("org.status", "suspended");
    let x = engine.explain("admin", "billing.top_up", &ctx).unwrap();
    assert_eq!(x.decision, engine.authorize("admin", "billing.top_up", &ctx).unwrap());
    assert_eq!(x.rules.len(), engine.policy_sheet().rules.len());
    let by_id = |id: &str| x.rules.iter().find(|r| r.id == id).unwrap();

    let owner_rule = by_id("owner-billing-mutations");
    assert!(!owner_rule.role_matches && owner_rule.action_matches && !owner_rule.applies);
    assert_eq!(owner_rule.why, "role `admin` is not among its roles");

    let deny = by_id("no-top-ups-while-suspended");
    assert!(deny.applies);
    assert_eq!(
        (deny.conditions[0].attr, deny.conditions[0].test.as_str(), deny.conditions[0].outcome),
        ("org.status", "eq \"suspended\"", "holds")
    );

    let read = by_id("members-read-billing");
    assert_eq!(read.why, "action `billing.top_up` is not among its actions");

    // Conditions that fail are named as the reason.
    let active = engine.explain("owner", "billing.top_up", &Context::new().with("org.status", "active")).unwrap();
    let deny = active.rules.iter().find(|r| r.id == "no-top-ups-while-suspended").unwrap();
    assert!(!deny.applies);
    assert_eq!(deny.why, "condition `org.status eq \"suspended\"` fails");
    assert!(active.decision.allowed());
}

#[test]
fn explanations_refuse_unknown_names_like_authorize() {
    let engine = Engine::embedded().unwrap();
    assert_eq!(engine.explain("root", "billing.view", &Context::new()).unwrap_err().code(), "unknown_role");
}
