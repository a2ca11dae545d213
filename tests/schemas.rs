#![cfg(feature = "schema")]
#![allow(clippy::unwrap_used, clippy::panic)] // test code

//! The JSON Schemas: the committed `schemas/` equal what the types generate
//! (`TOLLGATE_BLESS=1` rewrites them), and every shipped file, example,
//! fixture and golden-vector request validates against its schema — while
//! a file with an unknown key does not.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use tollgate::schema::{schema, SchemaKind};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &str, pick: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && pick(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    v.sort();
    v
}

fn as_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap();
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_json::to_value(toml::from_str::<toml::Value>(&text).unwrap()).unwrap()
    }
}

fn errors(kind: SchemaKind, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema(kind)).unwrap();
    validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn committed_schemas_are_the_generated_ones() {
    let bless = std::env::var_os("TOLLGATE_BLESS").is_some();
    for kind in SchemaKind::ALL {
        let path = root().join("schemas").join(format!("{}.schema.json", kind.name()));
        let want = serde_json::to_string_pretty(&schema(kind)).unwrap() + "\n";
        if bless {
            fs::write(&path, &want).unwrap();
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), want, "{} is stale: run tollgate schema {0}", path.display());
    }
}

#[test]
fn every_shipped_and_fixture_file_validates() {
    let toml = |n: &str| n.ends_with(".toml");
    let runs =
        |n: &str| (n.ends_with(".toml") || n.ends_with(".json")) && !n.starts_with("err-") && !n.ends_with(".expected");
    let sets: Vec<(SchemaKind, Vec<PathBuf>)> = vec![
        (SchemaKind::Rates, [files("rates", toml), files("tests/fixtures/rates", toml)].concat()),
        (
            SchemaKind::Policies,
            [files("policies", toml), files("tests/fixtures/policies", toml), files("tests/fixtures/lints", toml)]
                .concat(),
        ),
        (SchemaKind::Tests, [files("policies/tests", toml), files("tests/fixtures/policy-tests", toml)].concat()),
        (SchemaKind::Run, [files("examples/runs", runs), files("tests/fixtures/estimate", runs)].concat()),
        (SchemaKind::Quote, files("examples/quotes", toml)),
    ];
    let mut checked = 0;
    let mut failures = Vec::new();
    for (kind, paths) in sets {
        for path in paths {
            let errs = errors(kind, &as_json(&path));
            if !errs.is_empty() {
                failures.push(format!("{} ({}): {}", path.display(), kind.name(), errs.join("; ")));
            }
            checked += 1;
        }
    }
    // The golden vectors' requests, in their JSON (camelCase) form.
    for path in
        files("tests/vectors", |n| n.ends_with(".json") && !n.ends_with(".expected.json") && !n.starts_with("error-"))
    {
        let v = as_json(&path);
        let kind = match v["op"].as_str().unwrap() {
            "estimate" => SchemaKind::Run,
            "quote" => SchemaKind::Quote,
            _ => continue,
        };
        let errs = errors(kind, &v["input"]);
        if !errs.is_empty() {
            failures.push(format!("{}: {}", path.display(), errs.join("; ")));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 60, "only {checked} files");
}

#[test]
fn unknown_keys_fail_the_schema() {
    for (kind, file) in [
        (SchemaKind::Rates, "tests/fixtures/rates-invalid/unknown-model-key.toml"),
        (SchemaKind::Rates, "tests/fixtures/rates-invalid/unknown-top-level-key.toml"),
        (SchemaKind::Policies, "tests/fixtures/policies-invalid/unknown-rule-key.toml"),
        (SchemaKind::Policies, "tests/fixtures/policies-invalid/unknown-effect.toml"),
    ] {
        assert!(!errors(kind, &as_json(&root().join(file))).is_empty(), "{file} passed its schema");
    }
}
