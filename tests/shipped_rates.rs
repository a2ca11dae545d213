#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! The shipped `rates/` are example data: they load, they cover what the
//! product page promises, and a handful of figures match their stated
//! public sources (1 credit = 0.01 USD).

use std::str::FromStr;
use tollgate::{Decimal, Engine, Run};

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn estimate_total(engine: &Engine, run_toml: &str) -> (Decimal, Decimal) {
    let run = Run::from_toml("run.toml", run_toml).unwrap();
    let e = engine.estimate(&run).unwrap();
    (e.total.low, e.total.high)
}

#[test]
fn shipped_rates_load_and_match_their_sources() {
    let engine = Engine::embedded().unwrap();
    let sheet = engine.rate_sheet();
    assert_eq!(sheet.rates_version, "2026-04-18");

    let text = |m: &str| sheet.text.iter().find(|t| t.model == m).unwrap();
    // GPT-4o: $2.50 / $10.00 / $1.25 per million tokens.
    let gpt4o = text("gpt-4o");
    assert_eq!((gpt4o.batch, gpt4o.input, gpt4o.output, gpt4o.cached_input), (1000, d("0.25"), d("1"), d("0.125")));
    // Claude Sonnet 4: $3 / $15, cache writes $3.75, reads $0.30; over 200K: $6 / $22.50.
    let sonnet = text("claude-sonnet-4");
    assert_eq!((sonnet.input, sonnet.output, sonnet.cache_write), (d("0.3"), d("1.5"), d("0.375")));
    assert_eq!(
        (sonnet.tiers[0].above, sonnet.tiers[0].input, sonnet.tiers[0].output),
        (d("200000"), d("0.6"), d("2.25"))
    );
    // GPT-4o mini: $0.15 / $0.60.
    assert_eq!((text("gpt-4o-mini").input, text("gpt-4o-mini").output), (d("0.015"), d("0.06")));
    // GPT Image 1, medium 1024x1024: $0.042 per image.
    let img = sheet.image.iter().find(|r| r.model == "gpt-image-1" && r.quality == "medium" && r.size == "1024x1024");
    assert_eq!(img.unwrap().per_asset, d("4.2"));
    // Sora 2 at 720p: $0.10 per second.
    let sora = sheet.video.iter().find(|r| r.model == "sora-2" && r.resolution == "720p").unwrap();
    assert_eq!(sora.per_second, d("10"));

    // What the defaults must cover (the floor for sample data).
    assert!(sheet.text.len() >= 6);
    assert!(sheet.text.iter().any(|t| !t.tiers.is_empty()), "a long-context tier");
    assert!(sheet.text.iter().any(|t| t.cache_write != t.input), "cache-write pricing");
    assert!(sheet.text.iter().any(|t| t.partial_batch == "round_up"), "billing per started batch");
    let image_models: std::collections::BTreeSet<_> = sheet.image.iter().map(|r| &r.model).collect();
    assert!(image_models.len() >= 3);
    let video_models: std::collections::BTreeSet<_> = sheet.video.iter().map(|r| &r.model).collect();
    assert!(video_models.len() >= 3);
    assert!(sheet.video.iter().all(|v| v.min_seconds > Decimal::ZERO && v.audio_per_second.is_some()));
    assert!(sheet.tools.len() >= 5);
}

#[test]
fn shipped_rates_price_a_million_tokens_like_the_list_price() {
    let engine = Engine::embedded().unwrap();
    // $2.50 per million input tokens = 250 credits; $10 output = 1,000 credits.
    let (low, high) = estimate_total(
        &engine,
        "[[items]]\nkind = \"text\"\nmodel = \"gpt-4o\"\ninput_tokens = 1000000\noutput_tokens = 1000000\n",
    );
    assert_eq!((low, high), (d("1250"), d("1250")));
    // Mistral Large is billed per started batch: 1 token costs a whole batch.
    let (low, _) = estimate_total(&engine, "[[items]]\nkind = \"text\"\nmodel = \"mistral-large\"\ninput_tokens = 1\n");
    assert_eq!(low, d("0.2"));
    // Veo 3 with audio: $0.40 a second; 5 seconds bill as 6 (2-second steps).
    let (low, _) =
        estimate_total(&engine, "[[items]]\nkind = \"video\"\nmodel = \"veo-3\"\nseconds = 5\naudio = true\n");
    assert_eq!(low, d("240"));
}

/// Every file of `examples/` reads, and answers on the embedded defaults.
#[test]
fn the_examples_answer_on_the_embedded_defaults() {
    let engine = Engine::embedded().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let files = |sub: &str| {
        let mut v: Vec<_> = std::fs::read_dir(root.join(sub)).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v.into_iter().map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).unwrap();
            (name, text)
        })
    };
    let mut seen = 0;
    for (name, text) in files("runs") {
        let run = if name.ends_with(".json") { Run::from_json(&name, &text) } else { Run::from_toml(&name, &text) };
        let e = engine.estimate(&run.unwrap());
        assert!(e.is_ok(), "{name}: {e:?}");
        seen += 1;
    }
    for (name, text) in files("quotes") {
        let q = engine.quote(&tollgate::QuoteRequest::from_toml(&name, &text).unwrap());
        assert!(q.is_ok(), "{name}: {q:?}");
        // The file names say which way each example goes.
        assert_eq!(q.unwrap().verdict == tollgate::Verdict::Denied, name.starts_with("denied"), "{name}");
        seen += 1;
    }
    for (name, text) in files("orgs") {
        let org = tollgate::Org::from_toml(&name, &text).unwrap();
        assert!(engine.visible_billing("owner", &org).is_ok(), "{name}");
        seen += 1;
    }
    assert!(seen >= 6);
}
