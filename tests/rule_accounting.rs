#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

//! Every declared rule is compiled or reported: over every policy corpus
//! of the repository (the shipped policies, the fixtures, the lint and the
//! invalid cases), a set that loads holds each rule it declares, and a set
//! that fails names its reasons — never the catch-all `rule_not_compiled`,
//! which is there only so that a rule cannot vanish without a word.

use std::path::{Path, PathBuf};
use tollgate::{Engine, Sources};

/// Each case: the policy files of one set.
fn cases() -> Vec<Vec<PathBuf>> {
    let mut out = vec![toml_files(Path::new("policies")), toml_files(Path::new("tests/fixtures/policies"))];
    for corpus in ["tests/fixtures/policies-invalid", "tests/fixtures/lints"] {
        for entry in std::fs::read_dir(corpus).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.push(toml_files(&path));
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(vec![path]);
            }
        }
    }
    out
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// The rule ids a file declares, read by the toml crate (none when the
/// file is no TOML at all, or its rules are not a list of tables).
fn declared(text: &str) -> Vec<String> {
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let Some(toml::Value::Array(rules)) = doc.get("rules") else { return Vec::new() };
    rules.iter().filter_map(|r| r.get("id")?.as_str().map(str::to_string)).collect()
}

#[test]
fn every_declared_rule_is_compiled_or_reported() {
    let rates = "[card]\nversion = \"v\"\nprecision = 2\nrounding = \"up\"\n[tools.storyboard]\nper_run = 1\n";
    let cases = cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let (mut loaded, mut failed, mut rules) = (0, 0, 0);
    for files in cases {
        let mut sources = Sources::new().rates("r.toml", rates);
        let mut ids = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            ids.extend(declared(&text));
            sources = sources.policies(&f.display().to_string(), &text);
        }
        rules += ids.len();
        match Engine::from_sources(sources) {
            Ok(engine) => {
                loaded += 1;
                let sheet = engine.policy_sheet();
                let mut compiled: Vec<&str> = sheet.rules.iter().map(|r| r.id).collect();
                compiled.sort_unstable();
                ids.sort();
                assert_eq!(compiled, ids, "{files:?}: a declared rule is missing from the loaded set");
            }
            Err(e) => {
                failed += 1;
                assert!(e.problems().iter().all(|p| p.code() != "rule_not_compiled"), "{files:?}: {e}");
            }
        }
    }
    assert!(loaded >= 10 && failed >= 25 && rules >= 60, "{loaded} loaded, {failed} failed, {rules} rules");
}
