//! The golden vectors replayed through the JavaScript API in WebAssembly:
//! each request is parsed by `JSON.parse`, passed as a plain object, and the
//! answer (or the thrown error) is printed with `JSON.stringify(v, null, 2)`
//! and must equal the expected file byte for byte, as the native test
//! requires of the native answer. Runs under Node.js, and in headless
//! Chromium with `WASM_BINDGEN_USE_BROWSER=1` (see `scripts/test-wasm`).
//! Built with the `editor` feature (the module of `tollgate/editor`), so a
//! vector's own sources can be loaded; each is also replayed from the
//! bundle of its engine, as the query-only module loads one.
#![cfg(all(target_arch = "wasm32", feature = "editor"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

use js_sys::{Reflect, JSON};
use tollgate_wasm::Engine;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn pretty(v: &JsValue) -> String {
    JSON::stringify_with_replacer_and_space(v, &JsValue::NULL, &JsValue::from(2))
        .map(String::from)
        .unwrap_or_else(|_| "<not JSON>".to_string())
}

/// `{"error": {code, message, file?, line?, column?, help?, problems?}}`
/// from a thrown `Error`, in the field order of the engine's `ErrorInfo`.
fn thrown(e: &JsValue) -> JsValue {
    let info = js_sys::Object::new();
    for key in ["code", "message", "file", "line", "column", "help", "problems"] {
        let v = get(e, key);
        if !v.is_undefined() {
            let _ = Reflect::set(&info, &JsValue::from_str(key), &v);
        }
    }
    let wrapper = js_sys::Object::new();
    let _ = Reflect::set(&wrapper, &JsValue::from_str("error"), &info);
    wrapper.into()
}

fn answer(vector: &JsValue, via_bundle: bool) -> Result<JsValue, JsValue> {
    let sources = get(vector, "sources");
    let engine = if sources.is_undefined() { Engine::new()? } else { Engine::from_sources(sources)? };
    let engine = if via_bundle { Engine::from_bundle(&engine.to_bundle())? } else { engine };
    let input = get(vector, "input");
    match get(vector, "op").as_string().unwrap_or_default().as_str() {
        "estimate" => engine.estimate(input),
        "authorize" => engine.authorize(input),
        "checkLimit" => engine.check_limit(input),
        "quoteTopUp" => engine.quote_top_up(input),
        "quote" => engine.quote(input),
        "visibleBilling" => engine.visible_billing(input),
        "rateSheet" => engine.rate_sheet(),
        "policySheet" => engine.policy_sheet(),
        other => panic!("unknown op `{other}`"),
    }
}

#[wasm_bindgen_test]
fn golden_vectors_in_webassembly() {
    assert!(VECTORS.len() >= 40, "only {} vectors", VECTORS.len());
    let mut failures = Vec::new();
    for (name, input, expected) in VECTORS {
        let vector = JSON::parse(input).unwrap_or_else(|_| panic!("{name}: not JSON"));
        for via_bundle in [false, true] {
            let got = match answer(&vector, via_bundle) {
                Ok(v) => pretty(&v),
                Err(e) => pretty(&thrown(&e)),
            } + "\n";
            if got != *expected {
                failures.push(format!("{name} (bundle: {via_bundle}):\n--- expected\n{expected}--- got\n{got}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors differ:\n{}", failures.len(), VECTORS.len(), failures.join("\n"));
}

/// Bad input of every kind throws an `Error` with a code, and the same
/// engine answers correctly afterwards: nothing panics, traps or changes.
#[wasm_bindgen_test]
fn bad_input_throws_and_the_engine_keeps_answering() {
    let engine = Engine::new().unwrap();
    let good = JSON::parse(r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1000}]}"#).unwrap();
    let before = pretty(&engine.estimate(good.clone()).unwrap());
    let bad: Vec<(JsValue, &str)> = vec![
        (JsValue::NULL, "bad_request"),
        (JsValue::UNDEFINED, "bad_request"),
        (JsValue::from(42), "bad_request"),
        (JsValue::from_str("run"), "bad_request"),
        (JSON::parse(r#"{"items": 5}"#).unwrap(), "bad_request"),
        (JSON::parse(r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":"1e999"}]}"#).unwrap(), "bad_request"),
        (JSON::parse(r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1e300}]}"#).unwrap(), "bad_request"),
        (
            JSON::parse(r#"{"items":[{"kind":"video","model":"sora-2","seconds":"79228162514264337593543950335"}]}"#)
                .unwrap(),
            "overflow",
        ),
        (JSON::parse(r#"{"items":[{"kind":"text","model":"nope","inputTokens":1}]}"#).unwrap(), "unknown_model"),
        (JSON::parse(r#"{}"#).unwrap(), "empty_run"),
    ];
    for (input, code) in bad {
        let err = engine.estimate(input.clone()).expect_err("bad input must throw");
        assert!(err.is_instance_of::<js_sys::Error>(), "{:?} threw a non-Error", input);
        assert_eq!(get(&err, "code").as_string().as_deref(), Some(code), "{:?}", pretty(&thrown(&err)));
        assert!(!get(&err, "message").as_string().unwrap_or_default().is_empty());
    }
    for input in [
        JsValue::NULL,
        JSON::parse(r#"{"role":"owner"}"#).unwrap(),
        JSON::parse(r#"{"role":"x","action":"y"}"#).unwrap(),
    ] {
        assert!(engine.authorize(input).is_err());
        assert!(engine.quote(JsValue::from(1)).is_err());
        assert!(engine.check_limit(JsValue::NULL).is_err());
        assert!(engine.quote_top_up(JsValue::NULL).is_err());
        assert!(engine.visible_billing(JsValue::NULL).is_err());
    }
    let err = Engine::from_sources(JSON::parse(r#"{"rates":{"r.toml":"[card\n"}}"#).unwrap()).err().unwrap();
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("syntax"));
    assert_eq!((get(&err, "file").as_string().as_deref(), get(&err, "line").as_f64()), (Some("r.toml"), Some(1.0)));
    assert_eq!(pretty(&engine.estimate(good).unwrap()), before, "the engine changed after bad input");
}

/// How a request reaches the module, in this runtime (Node.js, or Chromium
/// with `WASM_BINDGEN_USE_BROWSER=1`): text beyond ASCII intact in and
/// beyond the module's 4 KiB request buffer; over the 1 MiB limit refused
/// with the native message; a `toJSON` that calls the engine answered
/// twice over.
#[wasm_bindgen_test]
fn requests_of_every_size_and_a_reentrant_to_json() {
    let engine = Engine::new().unwrap();
    let run = |model: &str| {
        let text = serde_json::json!({"items": [{"kind": "text", "model": model, "inputTokens": 1}]}).to_string();
        JSON::parse(&text).unwrap()
    };
    for model in ["gpt-4o ☕ 🚀".to_string(), "東".repeat(3000)] {
        let err = engine.estimate(run(&model)).expect_err("unknown model");
        assert_eq!(get(&err, "code").as_string().as_deref(), Some("unknown_model"));
        assert!(get(&err, "message").as_string().unwrap_or_default().contains(&model));
    }
    let huge = run(&"m".repeat(1 << 20));
    let bytes = JSON::stringify(&huge).map(String::from).unwrap().len();
    let err = engine.estimate(huge).expect_err("too large");
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("too_large"));
    assert_eq!(
        get(&err, "message").as_string().unwrap_or_default(),
        format!("the request has {bytes} bytes; the limit is {}", 1 << 20)
    );

    let good = JSON::parse(r#"{"items":[{"kind":"text","model":"gpt-4o","inputTokens":1000}]}"#).unwrap();
    let before = pretty(&engine.estimate(good.clone()).unwrap());
    // `toJSON` runs inside the outer call's reading of its request.
    let inner = js_sys::Array::new();
    let engine = std::rc::Rc::new(engine);
    let (e, g, i) = (engine.clone(), good.clone(), inner.clone());
    let to_json = Closure::<dyn Fn() -> JsValue>::new(move || {
        i.push(&e.estimate(g.clone()).unwrap());
        g.clone()
    });
    let reentrant = js_sys::Object::new();
    Reflect::set(&reentrant, &JsValue::from_str("toJSON"), to_json.as_ref()).unwrap();
    assert_eq!(pretty(&engine.estimate(reentrant.into()).unwrap()), before);
    assert_eq!(pretty(&inner.get(0)), before);
}

/// Bytes that are no bundle, a bundle of another format, and a truncated or
/// altered one each throw an `Error` with a code; the good bundle loads.
#[wasm_bindgen_test]
fn bad_bundles_throw_coded_errors() {
    let good = Engine::new().unwrap().to_bundle();
    let code = |bytes: &[u8]| match Engine::from_bundle(bytes) {
        Ok(_) => "ok".to_string(),
        Err(e) => get(&e, "code").as_string().unwrap_or_default(),
    };
    assert_eq!(code(&good), "ok");
    assert_eq!(code(b""), "bad_bundle");
    assert_eq!(code(&good[..good.len() - 1]), "bad_bundle");
    let mut other = good.clone();
    other[8] = 9;
    assert_eq!(code(&other), "bundle_version");
    let mut altered = good.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert_eq!(code(&altered), "bad_bundle");
    assert_eq!(Engine::from_bundle(&good).unwrap().fingerprint(), Engine::new().unwrap().fingerprint());
}
