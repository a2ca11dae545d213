#![allow(clippy::unwrap_used)] // test code

//! Security review of decisions: default deny everywhere; unknown names are
//! errors, never allows; a context cannot supply or change the role; under
//! the shipped policies no one but the owner reaches a billing mutation,
//! whatever the context says.

use proptest::prelude::*;
use tollgate::{AttrValue, Context, Engine, QuoteRequest, Sources, Verdict};

const CARD: &str = "[card]\nversion = \"v\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = 1\n";

#[test]
fn without_rules_everything_is_denied() {
    let policy =
        "[roles]\na = {}\nb = { inherits = [\"a\"] }\n[actions]\n\"x.one\" = {}\n\"x.two\" = { mutation = true }\n";
    let engine = Engine::from_sources(Sources::new().rates("r.toml", CARD).policies("p.toml", policy)).unwrap();
    for role in ["a", "b"] {
        for action in ["x.one", "x.two"] {
            let d = engine.authorize(role, action, &Context::new()).unwrap();
            assert!(!d.allowed() && d.rules.is_empty(), "{role} {action}: {}", d.message());
            assert_eq!(d.reason, tollgate::Reason::NoRuleAllows);
        }
    }
}

#[test]
fn unknown_names_are_errors_never_decisions() {
    let engine = Engine::embedded().unwrap();
    let ctx = Context::new().with("org.status", "active");
    for (role, action, code) in [
        ("Owner", "billing.top_up", "unknown_role"),
        ("owner ", "billing.top_up", "unknown_role"),
        ("", "billing.view", "unknown_role"),
        ("owner", "billing.*", "unknown_action"),
        ("owner", "billing.top_up.extra", "unknown_action"),
        ("owner", "", "unknown_action"),
    ] {
        assert_eq!(engine.authorize(role, action, &ctx).unwrap_err().code(), code, "{role:?} {action:?}");
    }
    // The quote refuses an unknown role too, instead of treating it as anyone.
    let q: QuoteRequest = tollgate::parse_request(
        r#"{"role":"superuser","org":{"slug":"a","plan":"free","balance":"9999"},"run":{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1}]}}"#,
    )
    .unwrap();
    assert_eq!(engine.quote(&q).unwrap_err().code(), "unknown_role");
}

#[test]
fn a_context_attribute_named_role_does_not_change_the_role() {
    // Even a policy set that declares a `role` attribute cannot be talked
    // into another role by it: rules match the role argument.
    let policy = "[roles]\nviewer = {}\nowner = {}\n[actions]\n\"billing.top_up\" = { mutation = true }\n[attributes]\nrole = \"string\"\n[[rules]]\nid = \"owner-tops-up\"\neffect = \"allow\"\nroles = [\"owner\"]\nactions = [\"billing.top_up\"]\n";
    let engine = Engine::from_sources(Sources::new().rates("r.toml", CARD).policies("p.toml", policy)).unwrap();
    let ctx = Context::new().with("role", "owner");
    assert!(!engine.authorize("viewer", "billing.top_up", &ctx).unwrap().allowed());
    assert!(engine.authorize("owner", "billing.top_up", &Context::new()).unwrap().allowed());
}

fn any_value() -> impl Strategy<Value = AttrValue> {
    prop_oneof![
        prop::sample::select(vec!["active", "suspended", "owner", "", "free", "enterprise", "*"])
            .prop_map(AttrValue::from),
        any::<i64>().prop_map(AttrValue::from),
        any::<bool>().prop_map(AttrValue::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the declared attributes hold (or lack), only the owner
    /// reaches a billing mutation, and a viewer reaches no mutation at all.
    #[test]
    fn only_the_owner_reaches_billing_mutations(status in prop::option::of(any_value()), plan in prop::option::of(any_value())) {
        let engine = Engine::embedded().unwrap();
        let mut ctx = Context::new();
        if let Some(v) = status { ctx.insert("org.status", v); }
        if let Some(v) = plan { ctx.insert("org.plan", v); }
        let sheet = engine.policy_sheet();
        for action in sheet.actions.iter().filter(|a| a.mutation) {
            for role in ["admin", "editor", "viewer"] {
                prop_assert!(!engine.authorize(role, action.action, &ctx).unwrap().allowed(), "{role} reached {}", action.action);
            }
        }
    }

    /// A viewer's quote is always denied, whatever the organization holds.
    #[test]
    fn a_viewer_never_runs_a_tool(balance in 0u32..100_000, suspended in any::<bool>(), plan in prop::sample::select(vec!["free", "pro", "team", "enterprise"])) {
        let engine = Engine::embedded().unwrap();
        let q: QuoteRequest = tollgate::parse_request(&format!(
            r#"{{"role":"viewer","org":{{"slug":"a","plan":"{plan}","balance":"{balance}","status":"{}"}},"run":{{"items":[{{"kind":"text","model":"gpt-4o","inputTokens":1}}]}},"context":{{"org.status":"active","org.plan":"enterprise"}}}}"#,
            if suspended { "suspended" } else { "active" }
        ))
        .unwrap();
        let quote = engine.quote(&q).unwrap();
        prop_assert_eq!(quote.verdict, Verdict::Denied);
        prop_assert!(quote.reasons.iter().any(|r| r.code == tollgate::ReasonCode::RoleNotPermitted));
    }
}
