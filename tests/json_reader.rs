#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code

//! The engine's JSON reader (`parse_request`) against serde's derives
//! (`serde_json::from_str`), which the request types keep for Rust callers:
//! over every golden vector's request and thousands of variations of it,
//! both must read the same value, or both refuse it with the same message.
//!
//! These differences are allowed, and asserted as such:
//! - serde reads a struct from an array of its fields in order; the engine
//!   refuses an array where it wants an object;
//! - an item's `kind` that is not a string: the engine says `invalid type:
//!   …, expected enum ItemKind`, serde_json `expected value` (or, for an
//!   object, reads its first key as the kind);
//! - a float in a message is written as the request wrote it (`1e300`;
//!   serde_json's float prints all 301 digits).

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt::Debug;
use std::fs;
use tollgate::{
    AuthorizeRequest, BillingRequest, LimitRequest, QuoteRequest, Request, Run, SourceTexts, Sources, TopUpRequest,
};

/// How the two readers disagree on `text`, if they do.
fn disagreement<T: Request + DeserializeOwned + PartialEq + Debug>(text: &str) -> Option<String> {
    let ours = tollgate::parse_request::<T>(text).map_err(|e| e.message);
    let serde = serde_json::from_str::<T>(text)
        .map_err(|e| e.to_string().rsplit_once(" at line ").map_or(e.to_string(), |(m, _)| m.to_string()));
    match (&ours, &serde) {
        (Ok(a), Ok(b)) if a == b => None,
        (Err(a), Err(b)) if a == b => None,
        (Err(a), Err(b))
            if a.starts_with("invalid type: floating point `") && b.starts_with("invalid type: floating point `") =>
        {
            None
        }
        (Err(a), _) if a.starts_with("invalid type: sequence, expected struct ") => None,
        (Err(a), Err(b))
            if a.ends_with("` is out of range")
                && b.ends_with("` is out of range")
                && a.split('`').nth(1).is_some_and(|n| text.contains(n)) =>
        {
            None
        }
        (Err(a), Err(b))
            if (a.ends_with(", expected enum ItemKind") || a == "number out of range")
                && (b == "expected value" || b.starts_with("unknown variant `")) =>
        {
            None
        }
        _ => Some(format!("{text}\n  engine: {ours:?}\n  serde:  {serde:?}")),
    }
}

/// `Sources` read from the same JSON as `SourceTexts` (the WebAssembly
/// package reads it so) holds the same files, or fails with the same words.
fn sources_disagreement(text: &str) -> Option<String> {
    let direct = tollgate::parse_request::<Sources>(text).map(|s| format!("{s:?}")).map_err(|e| e.message);
    let via =
        tollgate::parse_request::<SourceTexts>(text).map(|t| format!("{:?}", Sources::from(&t))).map_err(|e| e.message);
    (direct != via).then(|| format!("{text}\n  Sources:     {direct:?}\n  SourceTexts: {via:?}"))
}

fn disagreement_for(op: &str, text: &str) -> Option<String> {
    match op {
        "estimate" => disagreement::<Run>(text),
        "authorize" => disagreement::<AuthorizeRequest>(text),
        "checkLimit" => disagreement::<LimitRequest>(text),
        "quoteTopUp" => disagreement::<TopUpRequest>(text),
        "quote" => disagreement::<QuoteRequest>(text),
        "visibleBilling" => disagreement::<BillingRequest>(text),
        "sources" => disagreement::<SourceTexts>(text).or_else(|| sources_disagreement(text)),
        other => panic!("unknown op `{other}`"),
    }
}

/// Every request of the golden vectors, with its op.
fn requests() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in fs::read_dir("tests/vectors").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.ends_with(".expected.json") {
            continue;
        }
        let vector: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        if let Some(s) = vector.get("sources") {
            out.push(("sources".to_string(), s.clone()));
        }
        let op = vector["op"].as_str().unwrap();
        if let (Some(input), false) = (vector.get("input"), op.ends_with("Sheet")) {
            out.push((op.to_string(), input.clone()));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.to_string().cmp(&b.1.to_string())));
    out
}

/// JSON texts put where a value was.
const VALUES: &[&str] = &[
    "5",
    "-5",
    "0",
    "-0",
    "1.5",
    "-1.5",
    "1e2",
    "1E-2",
    "2.5e+3",
    "1e400",
    "1e300",
    "-1e-300",
    "1e-7",
    "123.456e-5",
    "79228162514264337593543950336",
    "0.30000000000000001",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "\"x\"",
    "\"\"",
    "\"0.25\"",
    "\"-3\"",
    "\"1e5\"",
    "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"",
    "\"\\u00e9\\n\"",
    "\"\\ud83d\\ude00\"",
    "\"é😀\"",
    "true",
    "false",
    "null",
    "[]",
    "{}",
    "[1]",
    "[\"x\", \"y\"]",
    "{\"min\": 1, \"max\": 2}",
    "{\"min\": \"1\", \"max\": 2.5}",
    "{\"min\": 1}",
    "{\"min\": 1, \"max\": {\"min\": 1, \"max\": 2}}",
    "{\"min\": 1, \"max\": 2, \"step\": 1}",
    "{\"a\": 1}",
    "{\"a\": \"b\"}",
    "\"text\"",
    "\"image\"",
    "\"video\"",
    "\"suspended\"",
];

const HOLE: &str = "\"@@hole@@\"";

/// Every path (keys and indexes) to a value inside `v`.
fn paths(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(Value::String(k.clone()));
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(Value::from(i));
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
    path.iter().fold(v, |v, step| match step {
        Value::String(k) => &mut v[k.as_str()],
        _ => &mut v[step.as_u64().unwrap() as usize],
    })
}

fn snake(camel: &str) -> String {
    camel
        .chars()
        .flat_map(|c| if c.is_ascii_uppercase() { vec!['_', c.to_ascii_lowercase()] } else { vec![c] })
        .collect()
}

/// The request's text after `f` changed the object at `path`.
fn edit(request: &Value, path: &[Value], f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut copy = request.clone();
    if let Value::Object(m) = at_mut(&mut copy, path) {
        f(m);
    }
    copy.to_string()
}

/// Variations of one request: each value replaced by each of [`VALUES`],
/// each key dropped, renamed to snake_case, repeated, and joined by an
/// unknown one.
fn variations(request: &Value) -> Vec<String> {
    let mut all = Vec::new();
    let mut at = Vec::new();
    let mut every = Vec::new();
    paths(request, &mut at, &mut every);
    for path in &every {
        let mut holed = request.clone();
        *at_mut(&mut holed, path) = Value::String("@@hole@@".into());
        let text = holed.to_string();
        all.extend(VALUES.iter().map(|v| text.replace(HOLE, v)));
        if let Value::Object(m) = at_mut(&mut request.clone(), path) {
            for (key, value) in m.iter() {
                all.push(edit(request, path, |m| drop(m.remove(key))));
                all.push(edit(request, path, |m| {
                    m.remove(key);
                    m.insert(snake(key), value.clone());
                }));
                // The same key twice: written by hand, as a map cannot hold it.
                let member = format!("{}:{}", Value::String(key.clone()), value);
                let twice = edit(request, path, |m| {
                    m.remove(key);
                    m.insert("@@twice@@".into(), Value::Null);
                });
                all.push(twice.replace("\"@@twice@@\":null", &format!("{member},{member}")));
            }
            all.push(edit(request, path, |m| drop(m.insert("unknownField".into(), Value::from(1)))));
        }
    }
    all
}

#[test]
fn every_vector_request_reads_the_same() {
    let requests = requests();
    assert!(requests.len() >= 58, "{} requests", requests.len());
    let wrong: Vec<String> =
        requests.iter().filter_map(|(op, input)| disagreement_for(op, &input.to_string())).collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_variation_reads_the_same() {
    let tried = all_agree(variations);
    assert!(tried > 10_000, "only {tried} variations");
}

/// Checks every text `texts` makes of each vector request; how many.
fn all_agree(texts: impl Fn(&Value) -> Vec<String>) -> usize {
    let mut tried = 0;
    let mut wrong = Vec::new();
    for (op, input) in requests() {
        for text in texts(&input) {
            tried += 1;
            wrong.extend(disagreement_for(&op, &text));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {tried} differ:\n{}",
        wrong.len(),
        wrong.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
    tried
}

#[test]
fn broken_text_gets_the_same_message() {
    let tried = all_agree(|input| {
        let text = serde_json::to_string_pretty(input).unwrap();
        // Cut short at every character, and a few common slips.
        let mut broken: Vec<String> = text.char_indices().map(|(i, _)| text[..i].to_string()).collect();
        broken.push(text.replacen(':', " ", 1));
        broken.push(text.replacen(',', "", 1));
        broken.push(text.replacen('"', "'", 2));
        broken.push(text.replace('}', ",}"));
        broken.push(text.replace(']', ",]"));
        broken.push(format!("{text} x"));
        broken.push(format!("{text}{text}"));
        broken.push(format!("\n\t {text} \r\n"));
        broken.push(text.replacen("\": ", "\": \\", 1));
        broken.push(text.replacen("\": \"", "\": \"\u{1}", 1));
        broken.push(text.replacen("\": \"", "\": \"\\x", 1));
        broken.push(text.replacen("\": \"", "\": \"\\ud800", 1));
        broken.push(text.replacen("\": \"", "\": \"\\ud800\\u0041", 1));
        broken.push(text.replacen("\": \"", "\": \"\\u12", 1));
        broken.push(text.replacen("\": \"", "\": \"\\uZZZZ", 1));
        broken.push(text.replacen("\": \"", "\": \"\\udc00", 1));
        broken.push(text.replacen(": ", ": 01", 1));
        broken.push(text.replacen(": ", ": -", 1));
        broken.push(text.replacen(": ", ": 1.", 1));
        broken.push(text.replacen(": ", ": 1e", 1));
        broken.push(text.replacen(": ", ": tru", 1));
        broken.push(text.replacen(": ", ": nul", 1));
        broken.push(text.replacen(": ", ": +1", 1));
        broken.push(text.replacen(": ", ": .5", 1));
        broken
    });
    assert!(tried > 10_000, "only {tried} broken texts");
}

#[test]
fn nesting_is_bounded() {
    // A range whose ends are ranges, 10,000 deep: an error, not a stack overflow.
    let deep = format!(
        "{{\"items\":[{{\"kind\":\"video\",\"model\":\"m\",\"seconds\":{}1{}}}]}}",
        "{\"min\":".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(tollgate::parse_request::<Run>(&deep).unwrap_err().message, "recursion limit exceeded");
    assert_eq!(disagreement::<Run>(&deep), None);
    // At the bound: 127 levels are read (and found wrong for what they
    // hold), 128 are refused, by both readers alike. The run, its items and
    // the item are 3 of them.
    let nested = |ranges: usize| {
        format!(
            "{{\"items\":[{{\"kind\":\"video\",\"model\":\"m\",\"seconds\":{}1{}}}]}}",
            "{\"min\":".repeat(ranges),
            "}".repeat(ranges)
        )
    };
    for (ranges, refused) in [(123, false), (124, false), (125, true), (126, true)] {
        let message = tollgate::parse_request::<Run>(&nested(ranges)).unwrap_err().message;
        assert_eq!(message == "recursion limit exceeded", refused, "{ranges}: {message}");
        assert_eq!(disagreement::<Run>(&nested(ranges)), None, "{ranges}");
    }
}

/// A name written twice in a map is an error, as a repeated field is: in a
/// context, in `usage`, and in the files of `Sources`. Both readers agree.
#[test]
fn repeated_names_are_errors() {
    let texts = [
        ("authorize", r#"{"role":"owner","action":"billing.view","context":{"b":1,"a":true,"b":"x","a":false}}"#),
        (
            "checkLimit",
            r#"{"org":{"slug":"s","plan":"free","balance":"0","usage":{"seats":1,"seats":2}},"limit":"seats"}"#,
        ),
        ("sources", r#"{"rates":{"b.toml":"1","a.toml":"2","b.toml":"3"},"policies":{"p":"4","p":"5"}}"#),
    ];
    for (op, text) in texts {
        assert_eq!(disagreement_for(op, text), None);
    }
    let e = tollgate::parse_request::<AuthorizeRequest>(texts[0].1).unwrap_err();
    assert_eq!(e.message, "duplicate key `a`");
    let e = tollgate::parse_request::<tollgate::LimitRequest>(texts[1].1).unwrap_err();
    assert_eq!(e.message, "duplicate key `seats`");
    let e = tollgate::parse_request::<Sources>(texts[2].1).unwrap_err();
    assert_eq!(e.message, "duplicate key `b.toml`");
}
