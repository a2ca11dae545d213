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

/// A follower reloads when the followed files change, keeps the serving
/// engine (and says why) when they do not load, does not retry the same
/// broken files, and follows a bundle file too; `follow_every` does it on a
/// thread that ends with the engine.
#[test]
fn a_follower_reloads_on_change_and_keeps_the_old_engine_on_error() {
    use tollgate::{Follower, ReloadError, SharedEngine};
    let dir = std::env::temp_dir().join(format!("tollgate-follow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for folder in ["rates", "policies"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
        for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/").to_string() + folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(folder).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    let tools = dir.join("rates/tools.toml");
    let original = std::fs::read_to_string(&tools).unwrap();
    assert!(original.contains("per_run = \"5\""), "the storyboard costs 5");
    let storyboard = |shared: &SharedEngine| {
        let run = tollgate::Run::from_toml("r.toml", "tool = \"storyboard\"").unwrap();
        shared.load().estimate(&run).unwrap().total.high.to_string()
    };
    let shared = std::sync::Arc::new(SharedEngine::new(tollgate::Engine::embedded().unwrap()));
    let mut follower = Follower::dirs(dir.join("rates"), dir.join("policies"));
    assert_eq!(shared.follow(&mut follower), Ok(true), "the first look loads");
    assert_eq!(shared.follow(&mut follower), Ok(false), "nothing changed");
    std::fs::write(&tools, original.replacen("per_run = \"5\"", "per_run = \"7.5\"", 1)).unwrap();
    assert_eq!(shared.follow(&mut follower), Ok(true));
    assert_eq!(storyboard(&shared), "7.5");
    // Broken: the old engine keeps serving, and says why, once.
    std::fs::write(&tools, original.replacen("per_run = \"5\"", "per_run = \"-1\"", 1)).unwrap();
    let kept = shared.follow(&mut follower);
    assert!(matches!(&kept, Err(ReloadError::Load(e)) if e.to_string().contains("negative")), "{kept:?}");
    assert_eq!(storyboard(&shared), "7.5");
    assert_eq!(shared.follow(&mut follower), Ok(false), "the same broken files are not tried again");
    std::fs::write(&tools, &original).unwrap();
    assert_eq!(shared.follow(&mut follower), Ok(true));
    assert_eq!(storyboard(&shared), "5");

    // A bundle file.
    let bundle = dir.join("pricing.bundle");
    let cheaper = tollgate::Engine::from_sources(
        tollgate::Sources::new()
            .rates("tools.toml", &original.replacen("per_run = \"5\"", "per_run = \"2\"", 1))
            .rates("text.toml", include_str!("../rates/text.toml")),
    );
    std::fs::write(&bundle, cheaper.unwrap().to_bundle()).unwrap();
    let mut follower = Follower::bundle(&bundle);
    assert_eq!(shared.follow(&mut follower), Ok(true));
    assert_eq!(storyboard(&shared), "2");
    std::fs::write(&bundle, b"TOLLGATE not a bundle").unwrap();
    assert!(matches!(shared.follow(&mut follower), Err(ReloadError::Bundle(_))));
    assert_eq!(storyboard(&shared), "2");

    // On a thread: a change is picked up; the thread ends with the engine.
    let mut follower = Follower::dirs(dir.join("rates"), dir.join("policies"));
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = shared.follow_every(follower.clone(), std::time::Duration::from_millis(20), move |outcome| {
        let _ = tx.send(outcome);
    });
    assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap(), Ok(true));
    assert_eq!(storyboard(&shared), "5");
    assert_eq!(shared.follow(&mut follower), Ok(true), "a follower of its own sees the files for the first time");
    drop(shared);
    handle.join().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
