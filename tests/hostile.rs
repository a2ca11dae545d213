#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! What hostile or careless input gets: a clear error, never a panic, an
//! inexact answer, an allow that should have been a deny, or a load that
//! takes unbounded time and memory. One test per kind of input.

use tollgate::{Decimal, Engine, Org, QuoteRequest, Run, Sources, Verdict};

const MAX: &str = "79228162514264337593543950335";

fn quote_json(org: &str) -> String {
    format!(
        r#"{{"role":"owner","org":{org},"run":{{"tool":"storyboard","items":[{{"kind":"text","model":"gpt-4o","inputTokens":1000}}]}}}}"#
    )
}

/// Every check of the state: quote, check_limit, quote_top_up, visible_billing.
fn every_check(engine: &Engine, org: &Org) -> Vec<Result<(), String>> {
    let req = QuoteRequest {
        role: "owner".into(),
        org: org.clone(),
        run: Run::from_toml("r", "tool = \"storyboard\"").unwrap(),
        context: None,
    };
    vec![
        engine.quote(&req).map(drop).map_err(|e| format!("{}: {e}", e.code())),
        engine.check_limit(org, "seats", Decimal::ONE).map(drop).map_err(|e| format!("{}: {e}", e.code())),
        engine.quote_top_up(org, Decimal::from(100)).map(drop).map_err(|e| format!("{}: {e}", e.code())),
        engine.visible_billing("owner", org).map(drop).map_err(|e| format!("{}: {e}", e.code())),
    ]
}

/// Amounts at the ends of the decimal range, negatives included: each is
/// refused by every check with `bad_org` naming the field, never a panic.
#[test]
fn impossible_organization_values_are_refused_by_every_check() {
    let engine = Engine::embedded().unwrap();
    let usage = r#""usage":{"seats":1,"tools.storyboard.runs_today":0,"tools.storyboard.runs_this_hour":0,"tools.storyboard.runs_this_month":0}"#;
    let cases = [
        (format!(r#"{{"slug":"a","plan":"team","balance":"-{MAX}",{usage}}}"#), "org.balance is negative"),
        (
            format!(
                r#"{{"slug":"a","plan":"team","balance":"1","pools":[{{"id":"p","allocated":"{MAX}","spent":"-{MAX}","tools":["storyboard"]}}],{usage}}}"#
            ),
            "org.pools[0].spent is negative",
        ),
        (
            format!(
                r#"{{"slug":"a","plan":"team","balance":"1","pools":[{{"id":"p","allocated":"-1","spent":"0"}}],{usage}}}"#
            ),
            "org.pools[0].allocated is negative",
        ),
        (
            format!(
                r#"{{"slug":"a","plan":"team","balance":"1","spendControls":{{"monthlyCap":"{MAX}","spentThisMonth":"-{MAX}"}},{usage}}}"#
            ),
            "org.spendControls.spentThisMonth is negative",
        ),
        (
            format!(
                r#"{{"slug":"a","plan":"team","balance":"1","spendControls":{{"monthlyCap":"-5","spentThisMonth":"0"}},{usage}}}"#
            ),
            "org.spendControls.monthlyCap is negative",
        ),
        (
            r#"{"slug":"a","plan":"team","balance":"1","usage":{"seats":1,"tools.storyboard.runs_today":-3}}"#
                .to_string(),
            "org.usage.tools.storyboard.runs_today is negative",
        ),
        (
            r#"{"slug":"a","plan":"team","balance":"1","usage":{"seats":1.5}}"#.to_string(),
            "org.usage.seats must be a whole number",
        ),
    ];
    for (org, message) in cases {
        let req: QuoteRequest = tollgate::parse_request(&quote_json(&org)).unwrap();
        for (i, answer) in every_check(&engine, &req.org).into_iter().enumerate() {
            let e = answer.unwrap_err();
            assert!(e.starts_with("bad_org: ") && e.contains(message), "check {i} of {org}: {e}");
        }
    }
    // At the top of the range, positive, nothing overflows: the answers are answers.
    let org = format!(
        r#"{{"slug":"a","plan":"team","balance":"{MAX}","pools":[{{"id":"p","allocated":"{MAX}","spent":"0","tools":["storyboard"]}}],"spendControls":{{"monthlyCap":"{MAX}","spentThisMonth":"0"}},{usage}}}"#
    );
    let req: QuoteRequest = tollgate::parse_request(&quote_json(&org)).unwrap();
    for answer in every_check(&engine, &req.org) {
        answer.unwrap();
    }
    assert_eq!(engine.quote(&req).unwrap().verdict, Verdict::Allowed);
}

/// Status is a closed set: anything but `active` or `suspended` is bad input
/// in JSON and TOML, never read as active.
#[test]
fn an_unknown_status_is_bad_input_never_active() {
    for status in ["SUSPENDED", "suspended ", "suspended\u{200b}", "Active", "", "closed"] {
        let org = format!(
            r#"{{"slug":"a","plan":"free","balance":"100","status":{}}}"#,
            serde_json::to_string(status).unwrap()
        );
        let e = tollgate::parse_request::<QuoteRequest>(&quote_json(&org)).unwrap_err();
        assert_eq!(e.code, "bad_request", "{status:?}");
        assert!(e.message.contains("expected `active` or `suspended`"), "{status:?}: {}", e.message);
        let toml = format!(
            "[org]\nslug = \"a\"\nplan = \"free\"\nbalance = \"1\"\nstatus = {}\n",
            serde_json::to_string(status).unwrap()
        );
        let e = Org::from_toml("org.toml", &toml).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{status:?}: {e}");
    }
    let org =
        r#"{"slug":"a","plan":"free","balance":"100","status":"suspended","usage":{"tools.storyboard.runs_today":0}}"#;
    let req: QuoteRequest = tollgate::parse_request(&quote_json(org)).unwrap();
    let engine = Engine::embedded().unwrap();
    let q = engine.quote(&req).unwrap();
    assert_eq!(q.verdict, Verdict::Denied);
    assert_eq!(q.reasons[0].code, tollgate::ReasonCode::OrgSuspended);
}

/// A map that names a key twice is an error, as a repeated field is.
#[test]
fn a_repeated_context_or_usage_key_is_an_error() {
    let e = tollgate::parse_request::<tollgate::AuthorizeRequest>(
        r#"{"role":"owner","action":"billing.top_up","context":{"org.status":"suspended","org.status":"active"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.message, "duplicate key `org.status`");
    let e =
        Org::from_json("org.json", r#"{"org":{"slug":"a","plan":"free","balance":"1","usage":{"seats":9,"seats":0}}}"#)
            .unwrap_err();
    assert!(e.to_string().contains("duplicate key `seats`"), "{e}");
}

fn card_with(tool: &str, image: &str) -> String {
    format!(
        "[card]\nversion = \"v\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = \"{tool}\"\n\
         [image.i]\ndefault_size = \"s\"\ndefault_quality = \"q\"\n[image.i.per_asset]\nq = {{ s = \"{image}\" }}\n"
    )
}

/// A total whose exact value needs more than 28 significant digits is an
/// error, never a rounded total (which charged 0.00 or 0.01 short).
#[test]
fn totals_are_exact_or_an_error() {
    let engine =
        Engine::from_sources(Sources::new().rates("r.toml", &card_with("1000000000", "0.0000000000000000000001")))
            .unwrap();
    let run = Run::from_toml("r", "tool = \"t\"\n[[items]]\nkind = \"image\"\nmodel = \"i\"\ncount = 1\n").unwrap();
    let e = engine.estimate(&run).unwrap_err();
    assert_eq!(e.code(), "not_exact", "{e}");
    // Within 28 digits the same run is exact, and rounding up charges the fraction.
    let engine =
        Engine::from_sources(Sources::new().rates("r.toml", &card_with("1000000000", "0.000000000000000001"))).unwrap();
    let est = engine.estimate(&run).unwrap();
    assert_eq!(est.total.high.to_string(), "1000000000.000000000000000001");
    assert_eq!(est.charged.high.to_string(), "1000000000.01");
    // A product beyond 28 places is refused too.
    let engine =
        Engine::from_sources(Sources::new().rates("r.toml", &card_with("1", "0.0000000000000000000001"))).unwrap();
    let run = Run::from_toml("r", "[[items]]\nkind = \"image\"\nmodel = \"i\"\ncount = \"0.0000000001\"\n").unwrap();
    assert!(matches!(engine.estimate(&run).unwrap_err().code(), "not_exact" | "bad_quantity"));
}

fn policy(roles: usize, actions: usize, rules: &str) -> String {
    let mut p = String::from("[roles]\n");
    for r in 0..roles {
        p.push_str(&format!("r{r} = {{}}\n"));
    }
    p.push_str("[actions]\n");
    for a in 0..actions {
        p.push_str(&format!("\"a.{a}\" = {{}}\n"));
    }
    p.push_str(rules);
    p
}

const RATES: &str = "[card]\nversion = \"v\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = 1\n";

/// 1,000 roles × 1,000 actions × 100 rules over `a.*` would be 100 million
/// index entries: refused at once, naming the bound.
#[test]
fn an_index_over_its_bound_is_refused_naming_it() {
    let mut rules = String::new();
    for i in 0..100 {
        rules.push_str(&format!("[[rules]]\nid = \"x{i}\"\neffect = \"allow\"\nactions = [\"a.*\"]\n"));
    }
    let e = Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", &policy(1000, 1000, &rules)))
        .unwrap_err();
    assert!(e.to_string().contains("rule × role × action index entries exceeds the limit of 4000000"), "{e}");
}

/// One rule listing `a.*` 10,000 times over 10,000 actions expands it once.
#[test]
fn a_repeated_glob_is_expanded_once() {
    let globs = vec!["\"a.*\""; 10_000].join(", ");
    let rules = format!("[[rules]]\nid = \"x\"\neffect = \"allow\"\nactions = [{globs}]\n");
    let engine =
        Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", &policy(1, 10_000, &rules)))
            .unwrap();
    assert!(engine.authorize("r0", "a.9999", &tollgate::Context::new()).unwrap().allowed());
}

/// Rules that together name more actions (globs expanded) than the bound
/// are refused, naming it, before more is built.
#[test]
fn rules_naming_too_many_actions_are_refused() {
    let mut rules = String::new();
    for i in 0..201 {
        rules.push_str(&format!("[[rules]]\nid = \"x{i}\"\neffect = \"allow\"\nroles = []\nactions = [\"a.*\"]\n"));
    }
    let e = Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", &policy(1, 10_000, &rules)))
        .unwrap_err();
    assert!(e.to_string().contains("actions named by rules (globs expanded) exceeds the limit of 2000000"), "{e}");
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-hostile-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A rate file over the size bound is refused after reading one byte past
/// the bound: a sparse 100 MB file is never read whole.
#[test]
fn a_file_over_the_size_bound_is_refused_without_reading_it() {
    let dir = temp_dir("big");
    let file = std::fs::File::create(dir.join("big.toml")).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let e = Engine::from_dirs(&dir, "policies").unwrap_err();
    assert!(
        e.to_string().contains("big.toml:1:1: bytes of the file exceeds the limit of 4194304 (has 104857600)"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Text that is not UTF-8 is refused at its line and column.
#[test]
fn invalid_utf8_is_refused_at_its_position() {
    let dir = temp_dir("utf8");
    std::fs::write(dir.join("r.toml"), b"[card]\nversion = \"v\xff\"\n").unwrap();
    let e = Engine::from_dirs(&dir, "policies").unwrap_err();
    let p = &e.problems()[0];
    let at = p.location().unwrap();
    assert_eq!((at.line(), at.column()), (2, 13), "{e}");
    assert!(e.to_string().contains("invalid UTF-8"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Integers between 2^63 and 2^64 are exact decimals, in JSON and TOML,
/// as smaller and larger ones within the decimal range are.
#[test]
fn integers_above_two_to_the_63_are_read_exactly() {
    for n in ["9223372036854775808", "18446744073709551615"] {
        let json = format!(r#"{{"org":{{"slug":"a","plan":"free","balance":{n}}}}}"#);
        assert_eq!(Org::from_json("org.json", &json).unwrap().balance.to_string(), n);
        let req = format!(r#"{{"items":[{{"kind":"image","model":"gpt-image-1","count":{n}}}]}}"#);
        let run: Run = tollgate::parse_request(&req).unwrap();
        let tollgate::Item::Image(image) = &run.items[0] else { panic!("an image item") };
        assert_eq!(image.count, tollgate::Quantity::Exact(n.parse().unwrap()));
    }
    let toml = "[org]\nslug = \"a\"\nplan = \"free\"\nbalance = 9223372036854775807\n";
    assert_eq!(Org::from_toml("org.toml", toml).unwrap().balance.to_string(), "9223372036854775807");
}

/// An unknown name lists at most 20 of the known ones, and how many more;
/// the error's own list keeps them all.
#[test]
fn an_unknown_name_lists_a_few_known_names_and_counts_the_rest() {
    let engine =
        Engine::from_sources(Sources::new().rates("r.toml", RATES).policies("p.toml", &policy(1, 1_000, ""))).unwrap();
    let e = engine.authorize("r0", "a.x", &tollgate::Context::new()).unwrap_err();
    let text = e.to_string();
    assert!(text.ends_with(", and 980 more)"), "{text}");
    assert_eq!(text.matches(", ").count(), 20, "{text}");
    let tollgate::AuthorizeError::UnknownAction { known, .. } = e else { panic!("unknown action") };
    assert_eq!(known.len(), 1_000);
}

/// A TOML request whose key has 300,000 dotted parts: the toml crate's
/// "recursion limit", placed at the key.
#[test]
fn a_key_of_too_many_parts_is_refused_at_its_position() {
    let text = format!("tool = \"storyboard\"\n[{}]\n", vec!["a"; 300_000].join("."));
    let e = Run::from_toml("deep.toml", &text).unwrap_err();
    let at = e.location().unwrap();
    assert_eq!((at.line(), at.column()), (2, 2), "{e}");
    assert!(e.to_string().contains("recursion limit: a key of 80 or more dotted parts"), "{e}");
}

/// An engine built from rate files alone has no plans, roles or actions;
/// asking for one says so, rather than "known: none".
#[test]
fn an_engine_without_policies_says_it_has_none() {
    let rates = "[card]\nversion = \"r\"\nprecision = 2\nrounding = \"up\"\n\n[tools.t]\nper_run = \"1\"\n";
    let engine = tollgate::Engine::from_sources(tollgate::Sources::new().rates("r.toml", rates)).unwrap();
    let org: tollgate::Org = serde_json::from_str(r#"{"slug":"a","plan":"free","balance":"5"}"#).unwrap();
    let e = engine.check_limit(&org, "seats", tollgate::Decimal::ONE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown plan `free` (the policies define no plans: an engine built from rate files alone has none; load policies too)"
    );
    let e = engine.authorize("owner", "billing.view", &tollgate::Context::new()).unwrap_err();
    assert!(e.to_string().contains("the policies define no roles"), "{e}");
}
