//! The document form of policy files: what serde reads from TOML, with spans.

use crate::money::Number;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Name = Spanned<String>;

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyDoc {
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, RoleDoc>"))]
    pub(crate) roles: BTreeMap<Name, Spanned<RoleDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, ActionDoc>"))]
    pub(crate) actions: BTreeMap<Name, Spanned<ActionDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, AttrType>"))]
    pub(crate) attributes: BTreeMap<Name, Spanned<AttrType>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<RuleDoc>"))]
    pub(crate) rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, PlanDoc>"))]
    pub(crate) plans: BTreeMap<Name, Spanned<PlanDoc>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleDoc {
    pub(crate) label: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) inherits: Vec<Name>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionDoc {
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) mutation: bool,
}

/// The type of a context attribute.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AttrType {
    String,
    Number,
    Bool,
}

/// A rule's effect, and a decision's outcome.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Permits the action.
    Allow,
    /// Forbids the action; beats any allow.
    Deny,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) id: Name,
    pub(crate) effect: Effect,
    pub(crate) description: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<String>>"))]
    pub(crate) roles: Option<Vec<Name>>,
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) actions: Vec<Name>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<ConditionDoc>"))]
    pub(crate) when: Vec<Spanned<ConditionDoc>>,
}

/// A condition as written: `attr` and exactly one operator.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionDoc {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) attr: Name,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) eq: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) ne: Option<Spanned<CondValue>>,
    #[serde(rename = "in")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) in_: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) gt: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) gte: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) lt: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) lte: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<bool>"))]
    pub(crate) exists: Option<Spanned<CondValue>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) upgrade_to: Option<Name>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, bool>"))]
    pub(crate) features: BTreeMap<Name, bool>,
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, LimitDoc>"))]
    pub(crate) limits: Spanned<BTreeMap<Name, Spanned<LimitDoc>>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, PlanToolDoc>"))]
    pub(crate) tools: BTreeMap<Name, Spanned<PlanToolDoc>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<TopUpDoc>"))]
    pub(crate) top_up: Option<Spanned<TopUpDoc>>,
}

/// A limit: a count, or the word `"unlimited"`.
#[derive(Debug)]
pub(crate) enum LimitDoc {
    Count(i64),
    Word(String),
}

impl<'de> Deserialize<'de> for LimitDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = LimitDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number or \"unlimited\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LimitDoc, E> {
                Ok(LimitDoc::Count(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LimitDoc, E> {
                i64::try_from(v).map(LimitDoc::Count).map_err(|_| E::custom("limit out of range"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LimitDoc, E> {
                Ok(LimitDoc::Word(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanToolDoc {
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    #[cfg_attr(feature = "schema", schemars(with = "Option<u64>"))]
    pub(crate) runs_per_hour: Option<Spanned<i64>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<u64>"))]
    pub(crate) runs_per_day: Option<Spanned<i64>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<u64>"))]
    pub(crate) runs_per_month: Option<Spanned<i64>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<Number>"))]
    pub(crate) max_credits_per_run: Option<Spanned<Number>>,
}

fn yes() -> bool {
    true
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopUpDoc {
    #[cfg_attr(feature = "schema", schemars(with = "u64"))]
    pub(crate) increment: Spanned<i64>,
    #[cfg_attr(feature = "schema", schemars(with = "u64"))]
    pub(crate) min: Spanned<i64>,
    #[cfg_attr(feature = "schema", schemars(with = "u64"))]
    pub(crate) max: Spanned<i64>,
    #[cfg_attr(feature = "schema", schemars(with = "PriceDoc"))]
    pub(crate) price_per_increment: Spanned<PriceDoc>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceDoc {
    #[cfg_attr(feature = "schema", schemars(with = "Number"))]
    pub(crate) amount: Spanned<Number>,
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) currency: Spanned<String>,
}

/// A condition's value as written: what TOML can say of a string, number
/// or bool attribute (and lists of them, for `in`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CondValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Array(Vec<CondValue>),
}

impl CondValue {
    pub(crate) fn type_str(&self) -> &'static str {
        match self {
            CondValue::String(_) => "string",
            CondValue::Integer(_) => "integer",
            CondValue::Float(_) => "float",
            CondValue::Boolean(_) => "boolean",
            CondValue::Array(_) => "array",
        }
    }
}

impl<'de> Deserialize<'de> for CondValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CondValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, a number, a bool, or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<CondValue, E> {
                Ok(CondValue::String(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<CondValue, E> {
                Ok(CondValue::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<CondValue, E> {
                i64::try_from(v).map(CondValue::Integer).map_err(|_| E::custom("number out of range"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<CondValue, E> {
                Ok(CondValue::Float(v))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<CondValue, E> {
                Ok(CondValue::Boolean(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<CondValue, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<CondValue>()? {
                    items.push(item);
                }
                Ok(CondValue::Array(items))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for LimitDoc {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Limit".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A count, or \"unlimited\" written out",
            "anyOf": [{ "type": "integer", "minimum": 0 }, { "const": "unlimited" }]
        })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for CondValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConditionValue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A value of the attribute's type; a list of them for `in`",
            "anyOf": [
                { "type": ["string", "number", "boolean"] },
                { "type": "array", "items": { "type": ["string", "number", "boolean"] } }
            ]
        })
    }
}
