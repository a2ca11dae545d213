#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code

//! Reading requests: JSON through serde_json (`parse_request`, the same
//! reader as `serde_json::from_str`), TOML through the `toml` crate, and
//! numbers in both read exactly from their text. What each kind of bad
//! request gets is said here.

use serde_json::Value;
use std::fs;
use tollgate::{
    AuthorizeRequest, Decimal, LimitRequest, Quantity, QuoteRequest, Run, SourceTexts, Sources, TopUpRequest,
};

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

/// The message `parse_request` gives `text` as the request of `op`, or None.
fn refusal(op: &str, text: &str) -> Option<String> {
    fn one<T: tollgate::Request>(text: &str) -> Option<String> {
        tollgate::parse_request::<T>(text).err().map(|e| {
            assert_eq!(e.code, "bad_request", "{text}");
            e.message
        })
    }
    match op {
        "estimate" => one::<Run>(text),
        "authorize" => one::<AuthorizeRequest>(text),
        "checkLimit" => one::<LimitRequest>(text),
        "quoteTopUp" => one::<TopUpRequest>(text),
        "quote" => one::<QuoteRequest>(text),
        "visibleBilling" => one::<tollgate::BillingRequest>(text),
        "sources" => one::<SourceTexts>(text).or_else(|| one::<Sources>(text)),
        other => panic!("unknown op `{other}`"),
    }
}

/// Every golden vector's request reads; the ones a vector expects refused
/// are refused by the engine, not by the reader, unless they are malformed.
#[test]
fn every_vector_request_reads() {
    let mut read = 0;
    for (op, input) in requests() {
        let text = serde_json::to_string(&input).unwrap();
        if refusal(&op, &text).is_none() {
            read += 1;
        }
    }
    assert!(read > 50, "only {read} vector requests read");
}

/// Broken JSON of every kind: cut short at every character, and common
/// slips. Each gets a `bad_request` message with no position appended (the
/// text may be machine-made), never a panic.
#[test]
fn broken_text_is_refused_with_a_message() {
    let mut tried = 0;
    for (op, input) in requests() {
        let text = serde_json::to_string_pretty(&input).unwrap();
        let mut broken: Vec<String> = text.char_indices().skip(1).map(|(i, _)| text[..i].to_string()).collect();
        broken.push(text.replacen(':', " ", 1));
        broken.push(text.replace('}', ",}"));
        broken.push(format!("{text} x"));
        broken.push(format!("{text}{text}"));
        broken.push(text.replacen("\": \"", "\": \"\\ud800", 1));
        broken.push(text.replacen("\": \"", "\": \"\\uZZZZ", 1));
        broken.push(text.replacen(": ", ": 01", 1));
        broken.push(text.replacen(": ", ": +1", 1));
        broken.push(text.replacen(": ", ": .5", 1));
        for b in broken {
            let Some(message) = refusal(&op, &b) else { continue };
            assert!(!message.is_empty() && !message.contains(" at line "), "{b}: {message}");
            tried += 1;
        }
    }
    assert!(tried > 5_000, "only {tried} broken texts");
}

/// The messages of the usual mistakes, as serde_json words them.
#[test]
fn each_kind_of_bad_request_gets_its_message() {
    let cases = [
        (r#"{"role":"owner"}"#, "missing field `action`"),
        (r#"{"role":"owner","action":"a","extra":1}"#, "unknown field `extra`, expected one of `role`, `action`, `context`"),
        (r#"{"role":5,"action":"a"}"#, "invalid type: integer `5`, expected a string"),
        (r#"{"role":1.5,"action":"a"}"#, "invalid type: number, expected a string"),
        (r#"{"role":"owner","action":"a","context":{"x":null}}"#, "invalid type: null, expected a string, a number or a bool"),
        (r#"{"role":"owner","action":"a","context":{"x":1e999}}"#, "`1e+999` is out of range"),
        (
            r#"{"role":"\ud800","action":"a"}"#,
            "unexpected end of hex escape: a string holds a lone surrogate (\\ud800 to \\udfff not in a pair), which is no character",
        ),
        (
            r#"{"role":"\ud800\u0041","action":"a"}"#,
            "lone leading surrogate in hex escape: a string holds a lone surrogate (\\ud800 to \\udfff not in a pair), which is no character",
        ),
        (r#"{"role":"owner","action":"a""#, "EOF while parsing an object"),
        ("", "EOF while parsing a value"),
    ];
    for (text, message) in cases {
        assert_eq!(refusal("authorize", text).as_deref(), Some(message), "{text}");
    }
}

/// A JSON number is read exactly from its text, whatever its form: no
/// binary floating point, so `0.30000000000000001` is not 0.3, and a
/// number a decimal cannot hold exactly is refused, never rounded.
#[test]
fn json_numbers_are_read_exactly() {
    let exact = [
        ("0.1", "0.1"),
        ("0.30000000000000001", "0.30000000000000001"),
        ("1e-7", "0.0000001"),
        ("2.5E+3", "2500"),
        ("7.922816251426433e28", "79228162514264330000000000000"),
        ("18446744073709551616", "18446744073709551616"),
        ("79228162514264337593543950335", "79228162514264337593543950335"),
        ("-0", "0"),
        ("1.10", "1.1"),
    ];
    for (written, value) in exact {
        let text = format!(r#"{{"items":[{{"kind":"video","model":"m","seconds":{written}}}]}}"#);
        let run = tollgate::parse_request::<Run>(&text).unwrap();
        let tollgate::Item::Video(v) = &run.items[0] else { panic!() };
        assert_eq!(v.seconds, Quantity::Exact(value.parse::<Decimal>().unwrap()), "{written}");
        let ctx = format!(r#"{{"role":"owner","action":"a","context":{{"n":{written}}}}}"#);
        let r = tollgate::parse_request::<AuthorizeRequest>(&ctx).unwrap();
        assert_eq!(r.context.get("n"), Some(&tollgate::AttrValue::Number(value.parse().unwrap())), "{written}");
    }
    for (written, message) in [
        ("1e29", "items[0].seconds: `1e+29` is out of range"),
        ("1e-29", "items[0].seconds: `1e-29` is out of range"),
        ("0.00000000000000000000000000001", "items[0].seconds: `0.00000000000000000000000000001` is out of range"),
        ("79228162514264337593543950336", "items[0].seconds: `79228162514264337593543950336` is out of range"),
        ("1e400", "items[0].seconds: `1e+400` is out of range"),
    ] {
        let text = format!(r#"{{"items":[{{"kind":"video","model":"m","seconds":{written}}}]}}"#);
        assert_eq!(refusal("estimate", &text).as_deref(), Some(message), "{written}");
    }
}

/// The same numbers in a TOML request read as in a JSON one.
#[test]
fn toml_numbers_are_read_exactly_as_json_ones() {
    for written in ["0.1", "0.30000000000000001", "1e-7", "2.5e+3", "7.922816251426433e28", "1_000.5", "12", "+3.0"] {
        let toml =
            Run::from_toml("run.toml", &format!("[[items]]\nkind = \"video\"\nmodel = \"m\"\nseconds = {written}\n"))
                .unwrap();
        let json = tollgate::parse_request::<Run>(&format!(
            r#"{{"items":[{{"kind":"video","model":"m","seconds":{}}}]}}"#,
            written.replace('_', "").trim_start_matches('+')
        ))
        .unwrap();
        assert_eq!(toml, json, "{written}");
    }
    let e = Run::from_toml("run.toml", "[[items]]\nkind = \"video\"\nmodel = \"m\"\nseconds = 1e29\n").unwrap_err();
    assert_eq!(e.to_string(), "run.toml:4:11: `1e29` is out of range");
    let e = Run::from_toml("run.toml", "[[items]]\nkind = \"video\"\nmodel = \"m\"\nseconds = nan\n").unwrap_err();
    assert_eq!(e.to_string(), "run.toml:4:11: `nan` is not a decimal number");
}

/// A request of a million bytes of long float literals is read (exactly).
#[test]
fn a_megabyte_of_floats_is_read() {
    let one = r#"{"items":[{"kind":"video","model":"m","seconds":7.922816251426433e28}]}"#;
    let mut values = Vec::new();
    while values.len() * 22 < 1_000_000 {
        values.push("7.922816251426433e27");
    }
    let text = format!(r#"{{"role":"owner","action":"a","context":{{"n":[{}]}}}}"#, values.join(","));
    // A list is no attribute value: refused, after every number was read.
    assert_eq!(
        refusal("authorize", &text).as_deref(),
        Some("invalid type: sequence, expected a string, a number or a bool")
    );
    assert!(refusal("estimate", one).is_none());
}

#[test]
fn nesting_is_bounded() {
    // A range whose ends are ranges, 10,000 deep: an error, not a stack overflow.
    let deep = format!(
        "{{\"items\":[{{\"kind\":\"video\",\"model\":\"m\",\"seconds\":{}1{}}}]}}",
        "{\"min\":".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_eq!(
        tollgate::parse_request::<Run>(&deep).unwrap_err().message,
        "items[0].seconds: recursion limit exceeded"
    );
    // At serde_json's bound: 127 levels are read (and found wrong for what
    // they hold), 128 are refused. The run, its items and the item are 3 of them.
    let nested = |ranges: usize| {
        format!(
            "{{\"items\":[{{\"kind\":\"video\",\"model\":\"m\",\"seconds\":{}1{}}}]}}",
            "{\"min\":".repeat(ranges),
            "}".repeat(ranges)
        )
    };
    for (ranges, refused) in [(123, false), (124, false), (125, true), (126, true)] {
        let message = tollgate::parse_request::<Run>(&nested(ranges)).unwrap_err().message;
        assert_eq!(message == "items[0].seconds: recursion limit exceeded", refused, "{ranges}: {message}");
    }
}

/// What is wrong with an item is said of the item's own kind, with the
/// path of the field in JSON (whose text may be machine-made and is read
/// without positions by the JavaScript package); TOML errors point at the
/// line.
#[test]
fn item_errors_name_the_path_and_the_kinds_own_fields() {
    let json = |items: &str| tollgate::parse_request::<Run>(&format!(r#"{{"items":[{items}]}}"#)).unwrap_err().message;
    let text = r#"{"kind":"text","model":"m","inputTokens":1}"#;
    for (items, message) in [
        (r#"{"kind":"text","model":"m","inputTokens":"12k"}"#, "items[0].inputTokens: `12k` is not a decimal number"),
        (
            &format!(r#"{text},{{"kind":"text","model":"m","outputTokens":{{"min":1,"max":true}}}}"#),
            "items[1].outputTokens: invalid type: boolean `true`, expected a number, a decimal string, or a range `{ min, max }`",
        ),
        (
            r#"{"kind":"image","model":"m","cuont":2}"#,
            "items[0]: unknown field `cuont` of an image item (did you mean `count`?); it takes `kind`, `model`, `count`, `quality`, `size`",
        ),
        (
            r#"{"kind":"text","model":"m","seconds":2}"#,
            "items[0]: `seconds` does not apply to a text item; it takes `kind`, `model`, `inputTokens`, `outputTokens`, `cachedInputTokens`, `cacheWriteTokens`",
        ),
        // A key before the kind is judged once the kind is read.
        (
            r#"{"seconds":2,"kind":"image","model":"m","count":1}"#,
            "items[0]: `seconds` does not apply to an image item; it takes `kind`, `model`, `count`, `quality`, `size`",
        ),
        (
            r#"{"kind":"video","model":"m","cache_write_tokens":1}"#,
            "items[0]: `cache_write_tokens` does not apply to a video item; it takes `kind`, `model`, `seconds`, `resolution`, `audio`",
        ),
        (r#"{"kind":"video","model":"m"}"#, "items[0]: missing field `seconds` for a video item"),
        (r#"{"model":"m"}"#, "items[0]: missing field `kind`"),
        (r#"{"kind":"text"}"#, "items[0]: missing field `model`"),
        (r#"{"kind":"text","model":"m","model":"n"}"#, "items[0]: duplicate field `model`"),
        (r#"{"kind":"sound","model":"m"}"#, "items[0].kind: unknown variant `sound`, expected one of `text`, `image`, `video`"),
        (r#"{"kind":"video","model":"m","seconds":1,"audio":"yes"}"#, "items[0].audio: invalid type: string \"yes\", expected a boolean"),
    ] {
        assert_eq!(json(items), message, "{items}");
    }
    // TOML: the line of the key, and the same words.
    let e = Run::from_toml("run.toml", "[[items]]\nkind = \"image\"\nmodel = \"m\"\nsizes = \"1024\"\ncount = 1\n")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "run.toml:4:1: items[0]: unknown field `sizes` of an image item (did you mean `size`?); it takes `kind`, `model`, `count`, `quality`, `size`"
    );
}

/// A name written twice in a map is an error, as a repeated field is: in a
/// context, in `usage`, and in the files of `Sources`.
#[test]
fn repeated_names_are_errors() {
    let e = tollgate::parse_request::<AuthorizeRequest>(
        r#"{"role":"owner","action":"billing.view","context":{"b":1,"a":true,"b":"x","a":false}}"#,
    )
    .unwrap_err();
    assert_eq!(e.message, "duplicate key `a`");
    let e = tollgate::parse_request::<LimitRequest>(
        r#"{"org":{"slug":"s","plan":"free","balance":"0","usage":{"seats":1,"seats":2}},"limit":"seats"}"#,
    )
    .unwrap_err();
    assert_eq!(e.message, "duplicate key `seats`");
    let e = tollgate::parse_request::<Sources>(r#"{"rates":{"b.toml":"1","a.toml":"2","b.toml":"3"},"policies":{}}"#)
        .unwrap_err();
    assert_eq!(e.message, "duplicate key `b.toml`");
}

/// A reader that hands over binary floats (`toml::from_str` of a type that
/// holds a tollgate type) is refused with what to do instead, never rounded.
#[test]
fn binary_floats_are_refused_with_the_way_out() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Own {
        ctx: tollgate::Context,
    }
    let e = toml::from_str::<Own>("ctx = { amount = 0.1 }").unwrap_err();
    assert!(e.message().contains("write the number as a string"), "{e}");
    assert!(e.message().contains("tollgate::from_toml_str"), "{e}");
    let own: Own = tollgate::from_toml_str("own.toml", "ctx = { amount = 0.1 }").unwrap();
    assert_eq!(own.ctx.get("amount"), Some(&tollgate::AttrValue::Number("0.1".parse().unwrap())));
}
