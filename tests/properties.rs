#![allow(clippy::arithmetic_side_effects)] // tests: a panic is a failure
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! Properties of estimates (proptest), over runs drawn at random from the
//! fixture rates (tiers, whole batches, minimums, increments, audio) and the
//! shipped rates.

use proptest::prelude::*;
use tollgate::{Decimal, Engine, ImageItem, Item, Quantity, Run, TextItem, VideoItem};

fn engines() -> Vec<Engine> {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rates");
    vec![Engine::from_rates_dir(fixture).unwrap(), Engine::embedded().unwrap()]
}

fn tokens() -> impl Strategy<Value = Option<Quantity>> {
    prop_oneof![
        Just(None),
        (0u64..3_000_000).prop_map(|n| Some(Quantity::from(n))),
        (0u64..1_500_000, 0u64..1_500_000)
            .prop_map(|(a, b)| Some(Quantity::Range { min: Decimal::from(a.min(b)), max: Decimal::from(a.max(b)) })),
    ]
}

fn seconds() -> impl Strategy<Value = Quantity> {
    // Tenths of a second, exact or as a range.
    prop_oneof![
        (0i64..600).prop_map(|t| Quantity::Exact(Decimal::new(t, 1))),
        (0i64..600, 0i64..600)
            .prop_map(|(a, b)| Quantity::Range { min: Decimal::new(a.min(b), 1), max: Decimal::new(a.max(b), 1) }),
    ]
}

/// A random item priced by `engine` (model names taken from its sheet).
fn item(engine: &Engine) -> impl Strategy<Value = Item> {
    let sheet = engine.rate_sheet();
    let text: Vec<String> = sheet.text.iter().map(|t| t.model.clone()).collect();
    let image: Vec<(String, String, String)> =
        sheet.image.iter().map(|r| (r.model.clone(), r.quality.clone(), r.size.clone())).collect();
    let video: Vec<(String, String, bool)> =
        sheet.video.iter().map(|r| (r.model.clone(), r.resolution.clone(), r.audio_per_second.is_some())).collect();
    prop_oneof![
        (prop::sample::select(text), tokens(), tokens(), tokens(), tokens())
            .prop_filter("a text item needs a count", |(_, a, b, c, d)| a.is_some()
                || b.is_some()
                || c.is_some()
                || d.is_some())
            .prop_map(|(model, i, o, c, w)| Item::Text(TextItem {
                model,
                input_tokens: i,
                output_tokens: o,
                cached_input_tokens: c,
                cache_write_tokens: w,
            })),
        (prop::sample::select(image), 0u64..50).prop_map(|((model, q, s), n)| Item::Image(ImageItem {
            model,
            count: Quantity::from(n),
            quality: Some(q),
            size: Some(s),
        })),
        (prop::sample::select(video), seconds(), any::<bool>()).prop_map(|((model, r, has_audio), s, a)| {
            Item::Video(VideoItem { model, seconds: s, resolution: Some(r), audio: a && has_audio })
        }),
    ]
}

fn run(engine: &Engine) -> impl Strategy<Value = Run> {
    let tools: Vec<Option<String>> =
        std::iter::once(None).chain(engine.rate_sheet().tools.iter().map(|t| Some(t.tool.clone()))).collect();
    (prop::sample::select(tools), prop::collection::vec(item(engine), 1..5))
        .prop_map(|(tool, items)| Run { tool, items })
}

/// An engine index with a run for it.
fn case() -> impl Strategy<Value = (usize, Run)> {
    let all = engines();
    (0..all.len()).prop_flat_map(move |i| (Just(i), run(&all[i])))
}

/// Adds `extra` to the high end (and, for exact amounts, both ends).
fn grow(q: Quantity, extra: Decimal) -> Quantity {
    match q {
        Quantity::Exact(v) => Quantity::Exact(v + extra),
        Quantity::Range { min, max } => Quantity::Range { min, max: max + extra },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lines_add_up_to_total_and_low_is_at_most_high((e, run) in case()) {
        let engine = &engines()[e];
        let est = engine.estimate(&run).unwrap();
        let low: Decimal = est.lines.iter().map(|l| l.low).sum();
        let high: Decimal = est.lines.iter().map(|l| l.high).sum();
        prop_assert_eq!(low, est.total.low);
        prop_assert_eq!(high, est.total.high);
        prop_assert!(est.total.low <= est.total.high);
        prop_assert!(est.charged.low <= est.charged.high);
        for l in &est.lines {
            prop_assert!(l.low <= l.high);
            prop_assert_eq!(l.low, l.quantity.low * l.rate.low);
        }
    }

    #[test]
    fn a_run_costs_the_sum_of_its_items_alone((e, run) in case()) {
        let engine = &engines()[e];
        let whole = engine.estimate(&run).unwrap().total;
        let mut low = Decimal::ZERO;
        let mut high = Decimal::ZERO;
        if let Some(tool) = &run.tool {
            let t = engine.estimate(&Run { tool: Some(tool.clone()), items: vec![] }).unwrap().total;
            low += t.low;
            high += t.high;
        }
        for item in &run.items {
            let t = engine.estimate(&Run { tool: None, items: vec![item.clone()] }).unwrap().total;
            low += t.low;
            high += t.high;
        }
        prop_assert_eq!((whole.low, whole.high), (low, high));
    }

    #[test]
    fn more_of_any_quantity_never_costs_less(
        (e, run) in case(),
        which in any::<prop::sample::Index>(),
        field in any::<prop::sample::Index>(),
        extra in 1u64..500_000,
    ) {
        let engine = &engines()[e];
        let before = engine.estimate(&run).unwrap().total;
        let mut more = run.clone();
        let i = which.index(more.items.len());
        let extra = Decimal::from(extra);
        match &mut more.items[i] {
            Item::Text(t) => {
                // Grow one of the counts the item has.
                let mut present: Vec<&mut Option<Quantity>> =
                    [&mut t.input_tokens, &mut t.output_tokens, &mut t.cached_input_tokens, &mut t.cache_write_tokens]
                        .into_iter()
                        .filter(|q| q.is_some())
                        .collect();
                let k = field.index(present.len());
                let q = &mut present[k];
                **q = q.map(|v| grow(v, extra));
            }
            Item::Image(m) => m.count = grow(m.count, extra),
            Item::Video(v) => v.seconds = grow(v.seconds, extra / Decimal::from(1000)),
        }
        let after = engine.estimate(&more).unwrap().total;
        prop_assert!(after.low >= before.low, "low {} -> {}", before.low, after.low);
        prop_assert!(after.high >= before.high, "high {} -> {}", before.high, after.high);
    }

    #[test]
    fn same_input_same_bytes((e, run) in case()) {
        let a = serde_json::to_string(&engines()[e].estimate(&run).unwrap()).unwrap();
        // A separately loaded engine, and the run through its JSON form.
        let reread = Run::from_json("run.json", &serde_json::to_string(&run).unwrap()).unwrap();
        prop_assert_eq!(&reread, &run);
        let b = serde_json::to_string(&engines()[e].estimate(&reread).unwrap()).unwrap();
        prop_assert_eq!(a, b);
    }
}
