#![allow(clippy::unwrap_used, clippy::panic, clippy::result_large_err)] // test code

//! Golden vectors (`tests/vectors/`): one request per file
//! (`NAME.json`: `{op, input, sources?}`), and the answer the engine must
//! give, byte for byte, in `NAME.expected.json` — natively here, and in
//! WebAssembly under Node.js and Chromium (`bindings/wasm/tests`).
//!
//! Regenerate the answers with `TOLLGATE_BLESS=1 cargo test --test vectors`
//! (what `scripts/test` does before checking that git sees no change).

use serde::Serialize;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tollgate::{
    AuthorizeRequest, BillingRequest, Engine, ErrorInfo, LimitRequest, QuoteRequest, Run, SourceTexts, Sources,
    TopUpRequest,
};

/// The request as the WebAssembly package reads it: from its JSON text.
fn parse<T: tollgate::Request>(input: &Value) -> Result<T, ErrorInfo> {
    tollgate::parse_request::<T>(&serde_json::to_string(input).unwrap())
}

/// The answer as pretty JSON, fields in the order the types serialize them
/// (as a JavaScript object built from them keeps them).
fn ok<T: Serialize>(answer: T) -> Result<String, ErrorInfo> {
    Ok(serde_json::to_string_pretty(&answer).unwrap())
}

/// How a vector's engine is made: from its TOML sources, or from a bundle
/// of them (the embedded one when the vector names no sources).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    Sources,
    Bundle,
}

/// The answer to one vector, as the JavaScript API would give it.
fn answer(vector: &Value, way: Way) -> Result<String, ErrorInfo> {
    let sources = match vector.get("sources") {
        Some(s) => Some(Sources::from(&parse::<SourceTexts>(s)?)),
        None => None,
    };
    let engine = match (sources, way) {
        (Some(s), Way::Sources) => Engine::from_sources(s).map_err(|e| ErrorInfo::from(&e))?,
        (Some(s), Way::Bundle) => {
            let built = Engine::from_sources(s).map_err(|e| ErrorInfo::from(&e))?;
            Engine::from_bundle(&built.to_bundle()).unwrap()
        }
        (None, Way::Sources) => Engine::from_sources(Sources::embedded()).unwrap(),
        (None, Way::Bundle) => Engine::embedded().unwrap(),
    };
    let input = &vector["input"];
    match vector["op"].as_str().unwrap() {
        "estimate" => ok(engine.estimate(&parse::<Run>(input)?).map_err(|e| ErrorInfo::from(&e))?),
        "authorize" => {
            let r: AuthorizeRequest = parse(input)?;
            ok(engine.authorize(&r.role, &r.action, &r.context).map_err(|e| ErrorInfo::from(&e))?)
        }
        "checkLimit" => {
            let r: LimitRequest = parse(input)?;
            ok(engine.check_limit(&r.org, &r.limit, r.adding).map_err(|e| ErrorInfo::from(&e))?)
        }
        "quoteTopUp" => {
            let r: TopUpRequest = parse(input)?;
            ok(engine.quote_top_up(&r.org, r.credits).map_err(|e| ErrorInfo::from(&e))?)
        }
        "quote" => ok(engine.quote(&parse::<QuoteRequest>(input)?).map_err(|e| ErrorInfo::from(&e))?),
        "visibleBilling" => {
            let r: BillingRequest = parse(input)?;
            ok(engine.visible_billing(&r.role, &r.org).map_err(|e| ErrorInfo::from(&e))?)
        }
        "rateSheet" => ok(engine.rate_sheet()),
        "policySheet" => ok(engine.policy_sheet()),
        other => panic!("unknown op `{other}`"),
    }
}

/// The expected file's text: the answer, or `{"error": …}`, pretty-printed
/// (the same text `JSON.stringify(value, null, 2)` gives in JavaScript).
fn render(result: Result<String, ErrorInfo>) -> String {
    #[derive(Serialize)]
    struct Failed {
        error: ErrorInfo,
    }
    match result {
        Ok(text) => text + "\n",
        Err(error) => serde_json::to_string_pretty(&Failed { error }).unwrap() + "\n",
    }
}

fn vectors() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".expected.json")
        })
        .collect();
    v.sort();
    v
}

/// The answer made owned (`into_owned`), the engine dropped before it is
/// written, then read back from its JSON (`Deserialize`) and written again:
/// what a service that keeps or forwards answers does.
fn owned_answer(vector: &Value) -> Option<String> {
    use serde::de::DeserializeOwned;
    fn again<T: Serialize + DeserializeOwned>(answer: T, engine: Engine) -> Option<String> {
        drop(engine);
        let text = serde_json::to_string_pretty(&answer).unwrap();
        let read: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        Some(serde_json::to_string_pretty(&read).unwrap())
    }
    let engine = match vector.get("sources") {
        Some(s) => Engine::from_sources(Sources::from(&parse::<SourceTexts>(s).ok()?)).ok()?,
        None => Engine::embedded().unwrap(),
    };
    let input = &vector["input"];
    match vector["op"].as_str().unwrap() {
        "estimate" => {
            let a = engine.estimate(&parse::<Run>(input).ok()?).ok()?.into_owned();
            again(a, engine)
        }
        "authorize" => {
            let r: AuthorizeRequest = parse(input).ok()?;
            let a = engine.authorize(&r.role, &r.action, &r.context).ok()?.into_owned();
            again(a, engine)
        }
        "checkLimit" => {
            let r: LimitRequest = parse(input).ok()?;
            let a = engine.check_limit(&r.org, &r.limit, r.adding).ok()?.into_owned();
            again(a, engine)
        }
        "quoteTopUp" => {
            let r: TopUpRequest = parse(input).ok()?;
            let a = engine.quote_top_up(&r.org, r.credits).ok()?;
            again(a, engine)
        }
        "quote" => {
            let a = engine.quote(&parse::<QuoteRequest>(input).ok()?).ok()?.into_owned();
            again(a, engine)
        }
        "visibleBilling" => {
            let r: BillingRequest = parse(input).ok()?;
            let a = engine.visible_billing(&r.role, &r.org).ok()?.into_owned();
            again(a, engine)
        }
        _ => None,
    }
}

#[test]
fn owned_answers_outlive_the_engine_and_read_back_byte_for_byte() {
    let (mut checked, mut answers) = (0, 0);
    for path in vectors() {
        let vector: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let sheet = vector["op"].as_str().is_some_and(|op| op.ends_with("Sheet"));
        answers += usize::from(!name.starts_with("error-") && !sheet);
        let Some(again) = owned_answer(&vector) else { continue };
        let expected = fs::read_to_string(path.with_extension("expected.json")).unwrap();
        assert_eq!(again + "\n", expected, "{}", path.display());
        checked += 1;
    }
    // Every vector that is not an error or a reference sheet.
    assert_eq!(checked, answers, "answers read back");
    assert!(checked >= 35, "{checked} answers");
}

/// An owned quote crosses to another thread (as to `tokio::spawn`) and is
/// still there after the engine it came from is gone.
#[test]
fn an_owned_quote_is_send_and_static() {
    let engine = Engine::embedded().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/quote-insufficient-credits.json");
    let vector: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let quote = engine.quote(&parse::<QuoteRequest>(&vector["input"]).unwrap()).unwrap().into_owned();
    drop(engine);
    let moved = std::thread::spawn(move || quote).join().unwrap();
    assert_eq!(moved.verdict, tollgate::Verdict::Denied);
    assert_eq!(moved.estimate.fingerprint, Engine::embedded().unwrap().fingerprint());
}

#[test]
fn golden_vectors_native() {
    let bless = std::env::var_os("TOLLGATE_BLESS").is_some();
    let (mut failures, mut errors) = (Vec::new(), 0);
    let paths = vectors();
    for path in &paths {
        let vector: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        let got = render(answer(&vector, Way::Sources));
        let from_bundle = render(answer(&vector, Way::Bundle));
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        assert_eq!(got, from_bundle, "{name}: the answer from a bundle differs from the answer from sources");
        // `error-*` vectors must fail and all others succeed.
        assert_eq!(name.starts_with("error-"), got.starts_with("{\n  \"error\""), "{name}: {got}");
        errors += usize::from(name.starts_with("error-"));
        let expected = path.with_extension("expected.json");
        if bless {
            // Only a changed answer is written, as a new file moved into
            // place: the test that reads these files meanwhile (the owned
            // answers) sees the old or the new one, never half of one.
            if fs::read_to_string(&expected).ok().as_deref() != Some(got.as_str()) {
                let new = expected.with_extension("json.new");
                fs::write(&new, &got).unwrap();
                fs::rename(&new, &expected).unwrap();
            }
        } else if fs::read_to_string(&expected).ok().as_deref() != Some(got.as_str()) {
            failures.push(format!("{name}:\n{got}"));
        }
    }
    assert!(paths.len() >= 40 && errors >= 10, "{} vectors, {errors} errors", paths.len());
    assert!(failures.is_empty(), "{} vectors differ:\n{}", failures.len(), failures.join("\n"));
}
