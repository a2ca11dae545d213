//! The document form of policy files: what serde reads from TOML, with spans.

use crate::money::Number;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Name = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyDoc {
    #[serde(default)]
    pub(crate) roles: BTreeMap<Name, Spanned<RoleDoc>>,
    #[serde(default)]
    pub(crate) actions: BTreeMap<Name, Spanned<ActionDoc>>,
    #[serde(default)]
    pub(crate) attributes: BTreeMap<Name, Spanned<AttrType>>,
    #[serde(default)]
    pub(crate) rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    pub(crate) plans: BTreeMap<Name, Spanned<PlanDoc>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleDoc {
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) inherits: Vec<Name>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionDoc {
    pub(crate) label: Option<String>,
    #[serde(default)]
    pub(crate) mutation: bool,
}

/// The type of a context attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AttrType {
    String,
    Number,
    Bool,
}

/// A rule's effect, and a decision's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Permits the action.
    Allow,
    /// Forbids the action; beats any allow.
    Deny,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    pub(crate) id: Name,
    pub(crate) effect: Effect,
    pub(crate) description: Option<String>,
    pub(crate) roles: Option<Vec<Name>>,
    pub(crate) actions: Vec<Name>,
    #[serde(default)]
    pub(crate) when: Vec<Spanned<ConditionDoc>>,
}

/// A condition as written: `attr` and exactly one operator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionDoc {
    pub(crate) attr: Name,
    pub(crate) eq: Option<Spanned<CondValue>>,
    pub(crate) ne: Option<Spanned<CondValue>>,
    #[serde(rename = "in")]
    pub(crate) in_: Option<Spanned<CondValue>>,
    pub(crate) gt: Option<Spanned<CondValue>>,
    pub(crate) gte: Option<Spanned<CondValue>>,
    pub(crate) lt: Option<Spanned<CondValue>>,
    pub(crate) lte: Option<Spanned<CondValue>>,
    pub(crate) exists: Option<Spanned<CondValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanDoc {
    pub(crate) label: Option<String>,
    pub(crate) upgrade_to: Option<Name>,
    #[serde(default)]
    pub(crate) features: BTreeMap<Name, bool>,
    pub(crate) limits: Spanned<BTreeMap<Name, Spanned<LimitDoc>>>,
    #[serde(default)]
    pub(crate) tools: BTreeMap<Name, Spanned<PlanToolDoc>>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlanToolDoc {
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    pub(crate) runs_per_hour: Option<Spanned<i64>>,
    pub(crate) runs_per_day: Option<Spanned<i64>>,
    pub(crate) runs_per_month: Option<Spanned<i64>>,
    pub(crate) max_credits_per_run: Option<Spanned<Number>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopUpDoc {
    pub(crate) increment: Spanned<i64>,
    pub(crate) min: Spanned<i64>,
    pub(crate) max: Spanned<i64>,
    pub(crate) price_per_increment: Spanned<PriceDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceDoc {
    pub(crate) amount: Spanned<Number>,
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
