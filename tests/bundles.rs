#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)] // test code

//! Bundles: the compiled engine as bytes. Deterministic, versioned, and
//! refused with a clear error when they are not what `tollgate build`
//! wrote: another format version, truncated, altered, or not a bundle at
//! all. What each kind of bad bundle gets is said here.

use tollgate::{BundleError, Engine, Run, Sources};

fn shipped() -> Vec<u8> {
    Engine::from_sources(Sources::embedded()).unwrap().to_bundle()
}

fn estimate_text(engine: &Engine) -> String {
    let run =
        Run::from_toml("run.toml", "[[items]]\nkind = \"text\"\nmodel = \"gpt-4o\"\ninput_tokens = 1200\n").unwrap();
    serde_json::to_string(&engine.estimate(&run).unwrap()).unwrap()
}

#[test]
fn the_same_sources_give_the_same_bytes() {
    let a = shipped();
    assert_eq!(a, shipped());
    // Read from the folders rather than the embedded copies: the same bytes
    // (a bundle names files without their folders, and holds no byte spans).
    let from_dirs = Engine::from_dirs(
        concat!(env!("CARGO_MANIFEST_DIR"), "/rates"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/policies"),
    )
    .unwrap();
    assert_eq!(from_dirs.to_bundle(), a);
    let read = Engine::from_bundle(&a).unwrap();
    assert_eq!(read.to_bundle(), a);
    assert_eq!(read.fingerprint(), from_dirs.fingerprint());
}

#[test]
fn a_bundle_answers_as_its_sources_do_and_names_its_fingerprint() {
    let sources = Engine::from_sources(Sources::embedded()).unwrap();
    let bundled = Engine::from_bundle(&shipped()).unwrap();
    assert_eq!(estimate_text(&sources), estimate_text(&bundled));
    let fingerprint = bundled.fingerprint();
    assert_eq!(fingerprint.len(), 64);
    assert!(fingerprint.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(estimate_text(&bundled).contains(&format!("\"fingerprint\":\"{fingerprint}\"")));
    // Other prices, another fingerprint.
    let other =
        Engine::from_sources(Sources::new().rates(
            "r.toml",
            "[card]\nversion = \"x\"\nprecision = 2\nrounding = \"up\"\n\n[tools.t]\nper_run = \"2\"\n",
        ))
        .unwrap();
    assert_ne!(other.fingerprint(), fingerprint);
}

#[test]
fn each_kind_of_bad_bundle_gets_its_error() {
    let good = shipped();
    // Not a bundle at all.
    for bytes in [&b""[..], b"TOLLGAT", b"{\"rates\":{}}", &good[1..]] {
        assert_eq!(Engine::from_bundle(bytes).unwrap_err(), BundleError::NotABundle);
    }
    // Another format version: both versions named.
    let mut newer = good.clone();
    newer[8] = 3;
    let e = Engine::from_bundle(&newer).unwrap_err();
    assert_eq!(e, BundleError::Version { found: 3, expected: tollgate::BUNDLE_FORMAT });
    assert_eq!(e.code(), "bundle_version");
    assert!(e.to_string().contains("format 3; this engine reads format 2"), "{e}");
    // Truncated anywhere, or with bytes added: its content no longer
    // matches its fingerprint (or the header is incomplete).
    for len in 0..good.len() {
        let e = Engine::from_bundle(&good[..len]).unwrap_err();
        assert!(matches!(e, BundleError::NotABundle | BundleError::Altered { .. }), "{len}: {e}");
        assert_eq!(e.code(), "bad_bundle");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(Engine::from_bundle(&longer).unwrap_err(), BundleError::Altered { .. }));
    // Any one byte of the content altered: refused.
    for i in 42..good.len() {
        let mut altered = good.clone();
        altered[i] ^= 0x20;
        let e = Engine::from_bundle(&altered).unwrap_err();
        assert!(matches!(e, BundleError::Altered { .. }), "byte {i}: {e}");
        assert!(e.to_string().contains("truncated or altered"), "{e}");
    }
    // Too large, refused before reading.
    let huge = vec![0u8; tollgate::limits::MAX_BUNDLE_BYTES + 1];
    assert!(matches!(Engine::from_bundle(&huge).unwrap_err(), BundleError::TooLarge { .. }));
}

/// The command line writes the bundle, says its fingerprint, and answers
/// from it with the bytes it answers from the files.
#[test]
fn embedded_engine_is_the_bundle_of_the_shipped_files() {
    let embedded = Engine::embedded().unwrap();
    assert_eq!(embedded.to_bundle(), shipped());
}
