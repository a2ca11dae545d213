//! Any bytes as a bundle, and any bytes as a bundle's content under a
//! header with the right format and fingerprint (so the content is read,
//! not refused at the fingerprint): an engine or a `BundleError`, never a
//! panic; an engine that loads answers every kind of request without one,
//! and the bundle it writes reads back and writes the same bytes again (a
//! crafted content need not be written as `tollgate build` writes it: a
//! location's folders are dropped, for one).
#![no_main]
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tollgate::{Context, Engine, Org, QuoteRequest, Run};

fn exercise(engine: &Engine) {
    let written = engine.to_bundle();
    let again = Engine::from_bundle(&written).expect("a written bundle reads back");
    assert_eq!(again.to_bundle(), written, "a written bundle writes back to its own bytes");
    let run: Run = serde_json::from_str(r#"{"tool":"storyboard","items":[{"kind":"text","model":"gpt-4o","inputTokens":1200,"outputTokens":{"min":0,"max":900}}]}"#)
        .expect("a run");
    let _ = engine.estimate(&run);
    let _ = engine.authorize("owner", "billing.top_up", &Context::new());
    let _ = engine.explain("viewer", "tools.run", &Context::new());
    let org: Org = serde_json::from_str(r#"{"slug":"a","plan":"free","balance":"500","usage":{"seats":1}}"#).expect("an org");
    let _ = engine.check_limit(&org, "seats", 1.into());
    let _ = engine.quote_top_up(&org, 100.into());
    let _ = engine.visible_billing("owner", &org);
    let q: QuoteRequest = serde_json::from_value(serde_json::json!({"role": "owner", "org": org, "run": run})).expect("a quote");
    let _ = engine.quote(&q);
    let _ = serde_json::to_string(&engine.rate_sheet());
    let _ = serde_json::to_string(&engine.policy_sheet());
}

fuzz_target!(|data: &[u8]| {
    if let Ok(engine) = Engine::from_bundle(data) {
        exercise(&engine);
    }
    let mut bundle = b"TOLLGATE".to_vec();
    bundle.extend_from_slice(&tollgate::BUNDLE_FORMAT.to_le_bytes());
    bundle.extend_from_slice(&Sha256::digest(data));
    bundle.extend_from_slice(data);
    if let Ok(engine) = Engine::from_bundle(&bundle) {
        exercise(&engine);
    }
});
