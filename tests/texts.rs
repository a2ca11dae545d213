#![allow(clippy::unwrap_used, clippy::panic)] // test code

//! The policies' own words: a `[billing] link` template and `[messages]`
//! replace the shipped link and wording in every answer, from sources and
//! from a bundle of them; what they leave out keeps the shipped wording.

use tollgate::{Engine, QuoteRequest, Sources};

const TEXTS: &str = r#"
[billing]
link = "https://app.example/o/{slug}/abrechnung"

[messages]
ORG_SUSPENDED = "Organisation {slug} ist gesperrt"
ROLE_NOT_PERMITTED = "{role} darf {action} nicht ({decision})"
FREQUENCY_CAP = "{tool}: höchstens {cap} Läufe pro {window} in {plan} ({used} genutzt)"
INSUFFICIENT_CREDITS = "Kosten bis {cost}, Guthaben {balance}, es fehlen {short}"
top_up = " — {credits} Credits für {price} {currency} kaufen"
ask_top_up = " — nur {roles} können Credits kaufen"
ask_upgrade = " — {roles}: Upgrade auf {plan}"
"#;

fn engine() -> Engine {
    let mut sources = Sources::embedded();
    sources = sources.policies("texts.toml", TEXTS);
    Engine::from_sources(sources).unwrap()
}

fn request(role: &str, balance: &str, suspended: bool) -> QuoteRequest {
    let status = if suspended { "suspended" } else { "active" };
    let json = format!(
        r#"{{"role": "{role}", "org": {{"slug": "acme co", "plan": "free", "balance": "{balance}", "status": "{status}",
            "usage": {{"tools.video-gen.runs_today": 5}}}},
            "run": {{"tool": "video-gen", "items": [{{"kind": "video", "model": "sora-2-pro", "seconds": 8, "resolution": "1080p"}}]}}}}"#
    );
    tollgate::parse_request(&json).unwrap()
}

fn messages(engine: &Engine, req: &QuoteRequest) -> Vec<(String, String)> {
    let q = engine.quote(req).unwrap();
    q.reasons.iter().map(|r| (r.message.clone(), r.billing_link.clone())).collect()
}

#[test]
fn the_policies_word_every_reason_and_link() {
    let engine = engine();
    let link = "https://app.example/o/acme%20co/abrechnung";
    let got = messages(&engine, &request("viewer", "1", true));
    let want = [
        "Organisation acme co ist gesperrt",
        "viewer darf tools.run nicht (`viewer` may not `tools.run` (no rule allows it))",
        "video-gen: höchstens 5 Läufe pro day in Free (5 genutzt) — owner: Upgrade auf Pro",
        // Not replaced: the shipped wording, with the replaced next step.
        "this run may cost up to 440 credits; Free allows at most 200 per video-gen run — owner: Upgrade auf Pro",
        "Kosten bis 440, Guthaben 1, es fehlen 439 — nur  können Credits kaufen",
        "this run may cost up to 440 credits; 0 remain under the monthly cap of 10",
    ];
    let got_messages: Vec<&str> = got.iter().map(|(m, _)| m.as_str()).collect();
    // The spend cap reason needs spend controls; this org has none.
    assert_eq!(got_messages, want[..5].to_vec());
    assert!(got.iter().all(|(_, l)| l == link), "{got:?}");
    // The owner is offered the top-up, in the policies' words.
    let owner = messages(&engine, &request("owner", "1", false));
    let credits = owner.iter().find(|(m, _)| m.starts_with("Kosten")).unwrap();
    assert!(credits.0.starts_with("Kosten bis 440, Guthaben 1, es fehlen 439 — "), "{owner:?}");
    assert!(credits.0.ends_with(" USD kaufen"), "{owner:?}");
    // An editor is told which roles can buy, as a list of role names.
    let editor = messages(&engine, &request("editor", "1", false));
    assert!(editor.iter().any(|(m, _)| m.ends_with("— nur owner können Credits kaufen")), "{editor:?}");
}

#[test]
fn a_bundle_keeps_the_policies_words_and_the_link_reaches_every_answer() {
    let engine = engine();
    let again = Engine::from_bundle(&engine.to_bundle()).unwrap();
    let req = request("viewer", "1", true);
    assert_eq!(tollgate::to_json(&engine.quote(&req).unwrap()), tollgate::to_json(&again.quote(&req).unwrap()));
    assert_ne!(engine.fingerprint(), Engine::embedded().unwrap().fingerprint());
    let billing = again.visible_billing("owner", &req.org).unwrap();
    assert_eq!(billing.billing_link, "https://app.example/o/acme%20co/abrechnung");
    assert_eq!(again.billing_link(&req.org), billing.billing_link);
    // The shipped policies keep the shipped link.
    assert_eq!(Engine::embedded().unwrap().billing_link(&req.org), "/org/acme%20co/billing");
}
