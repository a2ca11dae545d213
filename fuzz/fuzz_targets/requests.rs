//! Any text as a request of every kind, through the JSON and TOML readers,
//! answered by the shipped engine: errors or answers, never a panic; the
//! same request answers with the same bytes twice. The engine's JSON reader
//! (`parse_request`) and serde's derive (`serde_json`) read the same text to
//! the same value, or both refuse it (but for the differences README,
//! "Reading requests", lists).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tollgate::{
    parse_request, AuthorizeRequest, BillingRequest, Engine, LimitRequest, QuoteRequest, Run, SourceTexts, Sources,
    TopUpRequest,
};

fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| Engine::embedded().expect("embedded defaults load"))
}

fn same_twice<T: serde::Serialize, E>(f: impl Fn() -> Result<T, E>) {
    if let (Ok(a), Ok(b)) = (f(), f()) {
        assert_eq!(serde_json::to_string(&a).ok(), serde_json::to_string(&b).ok());
    }
}

/// Both readers agree on `text`, but where the engine refuses a struct
/// written as an array (serde reads its fields in order), or a number has
/// more digits than a float keeps (serde_json may round it one unit off).
fn readers_agree<T: tollgate::Request + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(text: &str) {
    let ours = parse_request::<T>(text);
    let serde = serde_json::from_str::<T>(text);
    let long_number = text.split(|c: char| !c.is_ascii_digit()).any(|digits| digits.len() > 15);
    match (&ours, &serde) {
        (Ok(a), Ok(b)) => assert!(a == b || long_number, "{text:?}: {a:?} / {b:?}"),
        (Err(_), Err(_)) => {}
        (Err(e), Ok(_)) => assert!(
            e.message.starts_with("invalid type: sequence, expected struct ") || long_number,
            "{text:?}: the engine refused ({}) what serde read",
            e.message
        ),
        (Ok(a), Err(e)) => assert!(long_number, "{text:?}: the engine read {a:?}, serde refused: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    readers_agree::<Run>(text);
    readers_agree::<AuthorizeRequest>(text);
    readers_agree::<QuoteRequest>(text);
    readers_agree::<LimitRequest>(text);
    readers_agree::<SourceTexts>(text);
    // `Sources` reads the JSON of `SourceTexts` straight into the files.
    let direct = parse_request::<Sources>(text).map(|s| format!("{s:?}")).map_err(|e| e.message);
    let via = parse_request::<SourceTexts>(text).map(|t| format!("{:?}", Sources::from(&t))).map_err(|e| e.message);
    assert_eq!(direct, via, "{text:?}");
    let e = engine();
    for run in [Run::from_json("f.json", text).ok(), Run::from_toml("f.toml", text).ok()].into_iter().flatten() {
        same_twice(|| e.estimate(&run));
    }
    if let Ok(q) = QuoteRequest::from_json("q.json", text) {
        same_twice(|| e.quote(&q));
    }
    if let Ok(q) = QuoteRequest::from_toml("q.toml", text) {
        same_twice(|| e.quote(&q));
    }
    if let Ok(r) = parse_request::<AuthorizeRequest>(text) {
        same_twice(|| e.authorize(&r.role, &r.action, &r.context));
    }
    if let Ok(r) = parse_request::<LimitRequest>(text) {
        same_twice(|| e.check_limit(&r.org, &r.limit, r.adding));
    }
    if let Ok(r) = parse_request::<TopUpRequest>(text) {
        same_twice(|| e.quote_top_up(&r.org, r.credits));
    }
    if let Ok(r) = parse_request::<BillingRequest>(text) {
        same_twice(|| e.visible_billing(&r.role, &r.org));
    }
});
