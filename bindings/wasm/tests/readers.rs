//! The readers of `js/boundary.js` against the Rust answer types, natively:
//! each reader builds its object with the fields in the order the Rust type
//! serializes them (the tape carries values, not names, so a reader out of
//! step would put values under the wrong keys). Every object of every
//! golden vector's expected answer (the native JSON, fields in their Rust
//! order) is held to the keys its reader names: the same keys, in the same
//! order, but for optional ones it leaves out. The vectors replayed in
//! WebAssembly check the values too; this check needs no WebAssembly build.
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // test code

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

include!(concat!(env!("OUT_DIR"), "/vectors.rs"));

/// JSON with the order of every object's keys kept.
enum Json {
    Object(Vec<(String, Json)>),
    Array(Vec<Json>),
    Scalar,
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut fields = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    // serde_json's own number token is a scalar, not an object.
                    if key == "$serde_json::private::Number" {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        return Ok(Json::Scalar);
                    }
                    fields.push((key, map.next_value()?));
                }
                Ok(Json::Object(fields))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            fn visit_str<E>(self, _: &str) -> Result<Json, E> {
                Ok(Json::Scalar)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
                Ok(Json::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
                Ok(Json::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
                Ok(Json::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Scalar)
            }
        }
        d.deserialize_any(V)
    }
}

/// The keys each reader of `boundary.js` names, in its order: those of its
/// object literal, then those it sets afterwards (`opt(o, "key", …)`,
/// `o.key = …`) in the order they come.
fn readers(js: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (name, start) in js.match_indices("const ").chain(js.match_indices("function ")).map(|(i, kw)| {
        let rest = &js[i + kw.len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        (name, i)
    }) {
        // The reader's text: from its first `{` to the matching `}` of the
        // statement (an arrow function's literal, or a function's body).
        let Some(open) = js[start..].find('{').map(|o| start + o) else { continue };
        let mut depth = 0;
        let mut end = open;
        for (i, c) in js[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let body = &js[open..=end];
        // The object literal: the first `{` of an arrow reader, the `{`
        // after `const o =` in a function reader.
        let literal_at = match body.find("const o = {") {
            Some(i) => i + "const o = ".len(),
            None if js[start..open].contains("=> (") => 0,
            None => continue,
        };
        let mut keys = Vec::new();
        let mut depth = 0;
        let mut word = String::new();
        let mut after_literal = body.len();
        for (i, c) in body[literal_at..].char_indices() {
            match c {
                '{' | '(' | '[' => depth += 1,
                '}' | ')' | ']' => {
                    depth -= 1;
                    if depth == 0 {
                        after_literal = literal_at + i;
                        break;
                    }
                }
                ':' if depth == 1 && !word.is_empty() => keys.push(std::mem::take(&mut word)),
                c if c.is_alphanumeric() || c == '_' => {
                    word.push(c);
                    continue;
                }
                _ => {}
            }
            if !c.is_whitespace() {
                word.clear();
            }
        }
        // Fields set after the literal, in order.
        let tail = &body[after_literal..];
        let mut later: Vec<(usize, String)> = Vec::new();
        for (i, _) in tail.match_indices("opt(o, \"") {
            let key: String = tail[i + 8..].chars().take_while(|c| *c != '"').collect();
            later.push((i, key));
        }
        for (i, _) in tail.match_indices("o.") {
            let key: String = tail[i + 2..].chars().take_while(|c| c.is_alphanumeric()).collect();
            if tail[i + 2 + key.len()..].trim_start().starts_with('=') {
                later.push((i, key));
            }
        }
        later.sort();
        keys.extend(later.into_iter().map(|(_, k)| k));
        if !keys.is_empty() {
            out.insert(name, keys);
        }
    }
    out
}

/// Which reader reads the object at `path` of the answer of `op`.
fn reader_of(op: &str, path: &[&str]) -> Option<&'static str> {
    Some(match (op, path) {
        ("estimate", []) | ("quote", ["estimate"]) => "estimateOf",
        (_, [.., "lines", "*"]) => "line",
        (_, [.., "total" | "charged" | "quantity" | "rate"]) => "bounds",
        ("authorize", []) => "decisionOf",
        ("checkLimit", []) => "limitCheckOf",
        ("quote", []) => "quoteOf",
        ("quoteTopUp", []) | (_, [.., "topUp"]) => "topUpOf",
        ("visibleBilling", []) => "billingViewOf",
        (_, [.., "reasons", "*"]) | ("checkLimit", ["reason"]) => "denial",
        (_, [.., "upgrade"]) | ("visibleBilling", ["plan"]) => "upgrade",
        (_, ["pools", "*"]) => "pool",
        (_, ["limits", "*"]) => "limitView",
        _ => return None,
    })
}

/// Every object of `value` with a reader, checked against it.
fn check(
    op: &str,
    path: &mut Vec<String>,
    value: &Json,
    readers: &BTreeMap<String, Vec<String>>,
    seen: &mut usize,
    bad: &mut Vec<String>,
) {
    match value {
        Json::Object(fields) => {
            let at: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(reader) = reader_of(op, &at) {
                let named = &readers[reader];
                let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
                let expected: Vec<&str> = named.iter().map(String::as_str).filter(|k| keys.contains(k)).collect();
                if keys != expected {
                    bad.push(format!("{op} {path:?} ({reader}): the answer has {keys:?}, the reader names {named:?}"));
                }
                *seen += 1;
            }
            for (k, v) in fields {
                // Only keys of answers: a map's keys (`can`) are data.
                if k == "can" {
                    continue;
                }
                path.push(k.clone());
                check(op, path, v, readers, seen, bad);
                path.pop();
            }
        }
        Json::Array(items) => {
            path.push("*".to_string());
            for item in items {
                check(op, path, item, readers, seen, bad);
            }
            path.pop();
        }
        Json::Scalar => {}
    }
}

#[test]
fn boundary_readers_name_the_rust_fields_in_their_order() {
    let js = include_str!("../js/boundary.js");
    let readers = readers(js);
    for name in [
        "estimateOf",
        "line",
        "bounds",
        "decisionOf",
        "limitCheckOf",
        "quoteOf",
        "topUpOf",
        "billingViewOf",
        "denial",
        "upgrade",
        "pool",
        "limitView",
    ] {
        assert!(readers.contains_key(name), "no reader `{name}` found in boundary.js: {:?}", readers.keys());
    }
    assert_eq!(readers["estimateOf"], ["ratesVersion", "fingerprint", "lines", "total", "charged"]);
    assert_eq!(readers["limitView"], ["limit", "current", "max"]);
    let (mut seen, mut bad) = (0, Vec::new());
    for (_, input, expected) in VECTORS {
        let op = serde_json::from_str::<serde_json::Value>(input).unwrap()["op"].as_str().unwrap().to_string();
        if expected.starts_with("{\n  \"error\"") || op.ends_with("Sheet") {
            continue;
        }
        let answer: Json = serde_json::from_str(expected).unwrap();
        check(&op, &mut Vec::new(), &answer, &readers, &mut seen, &mut bad);
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(seen > 200, "only {seen} objects checked");
}

/// The check fails when a reader falls out of step: two fields swapped.
#[test]
fn a_reader_out_of_order_is_caught() {
    let js = include_str!("../js/boundary.js")
        .replace("ratesVersion: next(), fingerprint: next()", "fingerprint: next(), ratesVersion: next()");
    let readers = readers(&js);
    let (mut seen, mut bad) = (0, Vec::new());
    let (_, _, expected) = VECTORS.iter().find(|(name, _, _)| *name == "estimate-text").unwrap();
    check("estimate", &mut Vec::new(), &serde_json::from_str(expected).unwrap(), &readers, &mut seen, &mut bad);
    assert_eq!(bad.len(), 1, "{bad:?}");
}
