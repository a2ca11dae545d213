#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code

//! Safe reload under load: reader threads answer continuously while good
//! and bad reloads alternate; every answer must come from one consistent
//! engine, and a bad reload must leave the serving engine in place.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tollgate::{Decimal, Engine, Run, SharedEngine, Sources};

/// Engine `v` prices the tool `t` at `v` credits and says so in its version.
fn sources(v: u32) -> Sources {
    let rates = format!("[card]\nversion = \"v{v}\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = {v}\n");
    Sources::new().rates("rates.toml", &rates)
}

#[test]
fn readers_always_see_one_consistent_engine_while_reloads_alternate() {
    let shared = Arc::new(SharedEngine::new(Engine::from_sources(sources(1)).unwrap()));
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let run = Run { tool: Some("t".into()), items: vec![] };

    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (shared, stop, answered, run) =
                (Arc::clone(&shared), Arc::clone(&stop), Arc::clone(&answered), run.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let engine = shared.load();
                    let estimate = engine.estimate(&run).unwrap();
                    let sheet = engine.rate_sheet();
                    // Version, sheet and price all from the same engine.
                    let v: u32 = estimate.rates_version.trim_start_matches('v').parse().unwrap();
                    assert_eq!(sheet.rates_version, estimate.rates_version);
                    assert_eq!(estimate.total.low, Decimal::from(v));
                    assert_eq!(sheet.tools[0].per_run, Decimal::from(v));
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    let mut serving = 1;
    for round in 2..400u32 {
        if round % 2 == 0 {
            shared.reload(sources(round)).unwrap();
            serving = round;
        } else {
            // A bad reload: negative price. It must fail and change nothing.
            let bad = Sources::new().rates(
                "rates.toml",
                "[card]\nversion = \"bad\"\nprecision = 2\nrounding = \"up\"\n[tools.t]\nper_run = -1\n",
            );
            let err = shared.reload(bad).unwrap_err();
            assert_eq!(err.problems()[0].code(), "negative");
        }
        assert_eq!(shared.load().rate_sheet().rates_version, format!("v{serving}"));
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.join().unwrap();
    }
    assert!(answered.load(Ordering::Relaxed) > 100, "readers answered throughout");
}
