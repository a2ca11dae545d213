//! JSON Schemas of the file formats, generated from the types that read
//! them, for editors (Taplo / Even Better TOML read `#:schema` comments)
//! and validators. `tollgate schema KIND` prints them; `schemas/` holds the
//! committed copies the shipped files point at.

use serde_json::Value;

/// A file format with a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaKind {
    /// A rate file (`rates/*.toml`).
    Rates,
    /// A policy file (`policies/*.toml`).
    Policies,
    /// A run (TOML or JSON).
    Run,
    /// A pre-checkout quote request.
    Quote,
    /// A declarative policy test file (`policies/tests/*.toml`).
    Tests,
}

impl SchemaKind {
    /// Every kind, in order.
    pub const ALL: [SchemaKind; 5] =
        [SchemaKind::Rates, SchemaKind::Policies, SchemaKind::Run, SchemaKind::Quote, SchemaKind::Tests];

    /// Its name: `rates`, `policies`, `run`, `quote`, `tests`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaKind::Rates => "rates",
            SchemaKind::Policies => "policies",
            SchemaKind::Run => "run",
            SchemaKind::Quote => "quote",
            SchemaKind::Tests => "tests",
        }
    }

    /// The kind of a name.
    pub fn from_name(name: &str) -> Option<SchemaKind> {
        SchemaKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The JSON Schema of a file format.
pub fn schema(kind: SchemaKind) -> Value {
    let mut s = match kind {
        SchemaKind::Rates => serde_json::to_value(schemars::schema_for!(crate::rates::RatesDocSchema)),
        SchemaKind::Policies => serde_json::to_value(schemars::schema_for!(crate::policy::PolicyDocSchema)),
        SchemaKind::Run => serde_json::to_value(schemars::schema_for!(crate::run::Run)),
        SchemaKind::Quote => serde_json::to_value(schemars::schema_for!(crate::request::QuoteRequest)),
        SchemaKind::Tests => serde_json::to_value(schemars::schema_for!(crate::testing::TestFile)),
    }
    .unwrap_or(Value::Null);
    // Requests read camelCase and snake_case keys alike (TOML files use
    // snake_case): the schema lists both spellings.
    add_snake_case(&mut s);
    if let Value::Object(map) = &mut s {
        map.insert("title".into(), Value::String(format!("tollgate {} file", kind.name())));
    }
    s
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn add_snake_case(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                let extra: Vec<(String, Value)> = props
                    .iter()
                    .filter(|(k, _)| k.chars().any(|c| c.is_ascii_uppercase()))
                    .map(|(k, v)| (snake(k), v.clone()))
                    .collect();
                for (k, v) in extra {
                    props.entry(k).or_insert(v);
                }
            }
            // A required camelCase field may come in either spelling.
            let either: Vec<(String, String)> = match map.get("required") {
                Some(Value::Array(req)) if map.contains_key("properties") => req
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|k| k.chars().any(|c| c.is_ascii_uppercase()))
                    .map(|k| (k.to_string(), snake(k)))
                    .collect(),
                _ => Vec::new(),
            };
            if !either.is_empty() {
                if let Some(Value::Array(req)) = map.get_mut("required") {
                    req.retain(|k| !either.iter().any(|(camel, _)| k.as_str() == Some(camel)));
                }
                let all: Vec<Value> = either
                    .iter()
                    .map(|(camel, snake)| serde_json::json!({ "anyOf": [{ "required": [camel] }, { "required": [snake] }] }))
                    .collect();
                map.insert("allOf".into(), Value::Array(all));
            }
            for child in map.values_mut() {
                add_snake_case(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(add_snake_case),
        _ => {}
    }
}
