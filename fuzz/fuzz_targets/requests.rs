//! Any text as a request of every kind, through the JSON and TOML readers,
//! answered by the shipped engine: errors or answers, never a panic; the
//! same request answers with the same bytes twice. A request that reads
//! writes back to JSON that reads to the same request (numbers are exact
//! both ways).
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

/// A request read from `text` writes back to JSON that reads as the same
/// request: no number is rounded on the way in or out.
fn round_trips<T: tollgate::Request + serde::Serialize + PartialEq + std::fmt::Debug>(text: &str) {
    if let Ok(first) = parse_request::<T>(text) {
        let json = serde_json::to_string(&first).expect("a request writes as JSON");
        let again = parse_request::<T>(&json).unwrap_or_else(|e| panic!("{json}: {}", e.message));
        assert_eq!(first, again, "{text:?} -> {json}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    round_trips::<Run>(text);
    round_trips::<AuthorizeRequest>(text);
    round_trips::<QuoteRequest>(text);
    round_trips::<LimitRequest>(text);
    round_trips::<SourceTexts>(text);
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
