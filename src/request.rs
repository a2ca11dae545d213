//! Requests of the checks (docs/formats.md, "Organization state"): an organization's current state, a
//! context of attributes, and the pre-checkout quote request. TOML uses
//! snake_case keys, JSON camelCase (snake_case accepted too).

use crate::error::{InputError, OrgError};
use crate::money::{self, normalized};
use crate::run::Run;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// An organization's current state, as the host knows it. The engine
/// stores nothing; every check reads what is passed here.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Org {
    /// URL slug, used in billing links (`/org/{slug}/billing`).
    pub slug: String,
    /// The plan the organization is on.
    pub plan: String,
    /// Credit balance of the organization.
    #[serde(with = "money::decimal")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub balance: Decimal,
    /// `active` or `suspended`; absent means active. Any other text
    /// (`"SUSPENDED"`, `"suspended "`) is bad input, never read as active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrgStatus>,
    /// Earmarked allocations (plans with `allocation_pools`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<Pool>,
    /// The monthly spend cap, if one is set.
    #[serde(default, alias = "spend_controls", skip_serializing_if = "Option::is_none")]
    pub spend_controls: Option<SpendControls>,
    /// Current counts: limit names (`seats`) and tool runs per cap window
    /// (`tools.video-gen.runs_today`).
    #[serde(default, skip_serializing_if = "Usage::is_empty")]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, crate::money::Number>"))]
    pub usage: Usage,
}

impl Org {
    /// Whether `status` says the organization is suspended.
    pub fn is_suspended(&self) -> bool {
        self.status == Some(OrgStatus::Suspended)
    }

    /// Checks every value of the state a check reads: amounts (balance,
    /// pools, spend controls) are not negative, usage counts are whole
    /// numbers of zero or more. Every check runs this first, so no check
    /// reads a state another would refuse. The first problem, in field
    /// order, is the error.
    pub fn validate(&self) -> Result<(), OrgError> {
        let amount = |field: &dyn Fn() -> String, v: Decimal| {
            if v.is_sign_negative() && !v.is_zero() {
                Err(OrgError::Negative { field: field(), value: normalized(v).to_string() })
            } else {
                Ok(())
            }
        };
        amount(&|| "balance".into(), self.balance)?;
        for (i, p) in self.pools.iter().enumerate() {
            amount(&|| format!("pools[{i}].allocated"), p.allocated)?;
            amount(&|| format!("pools[{i}].spent"), p.spent)?;
        }
        if let Some(s) = &self.spend_controls {
            amount(&|| "spendControls.monthlyCap".into(), s.monthly_cap)?;
            amount(&|| "spendControls.spentThisMonth".into(), s.spent_this_month)?;
        }
        for (name, v) in self.usage.iter() {
            amount(&|| format!("usage.{name}"), *v)?;
            if !crate::money::is_whole(*v) {
                return Err(OrgError::NotWhole { field: format!("usage.{name}"), value: normalized(*v).to_string() });
            }
        }
        Ok(())
    }
}

/// The status of an organization: a closed set. Suspended organizations may
/// not run tools (`ORG_SUSPENDED`) and, in the shipped policies, not top up.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrgStatus {
    /// In good standing.
    Active,
    /// Suspended: no tool runs.
    Suspended,
}

impl OrgStatus {
    /// Its name, as written in requests (`active`, `suspended`).
    pub fn as_str(self) -> &'static str {
        match self {
            OrgStatus::Active => "active",
            OrgStatus::Suspended => "suspended",
        }
    }
}

impl<'de> Deserialize<'de> for OrgStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let all = [OrgStatus::Active, OrgStatus::Suspended];
        crate::format::unit_variant(d, &["active", "suspended"], &all)
    }
}

impl fmt::Display for OrgStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An earmarked allocation of credits.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pool {
    /// Pool name.
    pub id: String,
    /// Credits earmarked.
    #[serde(with = "money::decimal")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub allocated: Decimal,
    /// Credits already spent from it.
    #[serde(with = "money::decimal")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub spent: Decimal,
    /// Runs of these tools draw on this pool.
    #[serde(default)]
    pub tools: Vec<String>,
}

/// The organization's monthly spend cap.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpendControls {
    /// Credits that may be spent in a month.
    #[serde(with = "money::decimal", alias = "monthly_cap")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub monthly_cap: Decimal,
    /// Credits spent so far this month.
    #[serde(with = "money::decimal", alias = "spent_this_month")]
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub spent_this_month: Decimal,
}

/// A context attribute's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttrValue {
    /// Text.
    String(String),
    /// A number, compared as a decimal.
    Number(Decimal),
    /// True or false.
    Bool(bool),
}

impl AttrValue {
    /// The name of its type: `string`, `number` or `bool`.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttrValue::String(_) => "string",
            AttrValue::Number(_) => "number",
            AttrValue::Bool(_) => "bool",
        }
    }
}

impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        AttrValue::String(s.to_string())
    }
}

impl From<bool> for AttrValue {
    fn from(b: bool) -> Self {
        AttrValue::Bool(b)
    }
}

impl From<Decimal> for AttrValue {
    fn from(d: Decimal) -> Self {
        AttrValue::Number(d)
    }
}

impl From<i64> for AttrValue {
    fn from(n: i64) -> Self {
        AttrValue::Number(Decimal::from(n))
    }
}

impl fmt::Display for AttrValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttrValue::String(s) => write!(f, "\"{s}\""),
            AttrValue::Number(n) => write!(f, "{}", normalized(*n)),
            AttrValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Serialize for AttrValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AttrValue::String(v) => s.serialize_str(v),
            // Numbers stay JSON numbers (a string would read back as text),
            // written with their exact digits: whole numbers as integers,
            // others as serde_json's number of their normalized text.
            AttrValue::Number(n) => match i64::try_from(*n) {
                Ok(i) if crate::money::is_whole(*n) => s.serialize_i64(i),
                _ => match normalized(*n).to_string().parse::<serde_json::Number>() {
                    Ok(number) => number.serialize(s),
                    Err(e) => Err(serde::ser::Error::custom(e)),
                },
            },
            AttrValue::Bool(b) => s.serialize_bool(*b),
        }
    }
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttrValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, a number or a bool")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AttrValue, E> {
                Ok(AttrValue::String(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<AttrValue, E> {
                Ok(AttrValue::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<AttrValue, E> {
                Ok(AttrValue::Number(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<AttrValue, E> {
                Ok(AttrValue::Number(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<AttrValue, E> {
                Err(money::float_refused())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<AttrValue, A::Error> {
                let key = map.next_key::<String>()?.unwrap_or_default();
                match money::number_text(&key, &mut map)? {
                    Some(text) => money::decimal_from_literal(&text)
                        .map(AttrValue::Number)
                        .map_err(|e| de::Error::custom(money::decimal_message(e))),
                    None => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// Values by name, sorted by name, names unique: what `Context` and
/// `Usage` hold. A sorted list rather than a `BTreeMap`: each B-tree type
/// costs the WebAssembly module kilobytes, for maps of a few entries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pairs<V>(Vec<(String, V)>);

impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

/// `pairs` sorted by name; a repeated name is an error naming it, as a
/// repeated field is: a map that says two things of one name is a mistake,
/// not a choice of the last.
pub(crate) fn sorted_unique<V>(mut pairs: Vec<(String, V)>) -> Result<Vec<(String, V)>, String> {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = pairs.windows(2).find(|w| matches!(w, [a, b] if a.0 == b.0)) {
        let name = w.first().map_or("", |p| p.0.as_str());
        return Err(format!("duplicate key `{name}`"));
    }
    Ok(pairs)
}

/// Reads a map into pairs sorted by name, refusing a repeated name
/// ([`sorted_unique`]).
pub(crate) fn deserialize_pairs<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<Vec<(String, V)>, D::Error> {
    struct PairsVisitor<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut pairs = Vec::new();
            while let Some(entry) = map.next_entry::<String, V>()? {
                pairs.push(entry);
            }
            sorted_unique(pairs).map_err(de::Error::custom)
        }
    }
    d.deserialize_map(PairsVisitor(std::marker::PhantomData))
}

impl<V> Pairs<V> {
    fn insert(&mut self, name: &str, value: V) {
        match crate::names::search(&self.0, name) {
            Ok(i) => {
                if let Some((_, v)) = self.0.get_mut(i) {
                    *v = value;
                }
            }
            Err(i) => self.0.insert(i, (name.to_string(), value)),
        }
    }

    fn get(&self, name: &str) -> Option<&V> {
        let i = crate::names::search(&self.0, name).ok()?;
        self.0.get(i).map(|(_, v)| v)
    }

    fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Attributes a rule's conditions may read (`org.status`, `user.mfa`),
/// each declared with its type in the policies' `[attributes]`.
///
/// Held as pairs sorted by name (in JSON, an object).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context(Pairs<AttrValue>);

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Context::default()
    }

    /// This context with one more attribute.
    pub fn with(mut self, name: &str, value: impl Into<AttrValue>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets an attribute.
    pub fn insert(&mut self, name: &str, value: impl Into<AttrValue>) {
        self.0.insert(name, value.into());
    }

    /// An attribute's value.
    pub fn get(&self, name: &str) -> Option<&AttrValue> {
        self.0.get(name)
    }

    /// Every attribute, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &AttrValue)> {
        self.0.iter()
    }
}

impl Serialize for Context {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_pairs::<D, AttrValue>(d).map(|p| Context(Pairs(p)))
    }
}

/// An organization's current counts by name: limit names (`seats`) and
/// tool runs per cap window (`tools.video-gen.runs_today`). Sorted by name;
/// in JSON and TOML a table of numbers or decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage(Pairs<Decimal>);

impl Usage {
    /// No counts.
    pub fn new() -> Self {
        Usage::default()
    }

    /// These counts with one more.
    pub fn with(mut self, name: &str, count: impl Into<Decimal>) -> Self {
        self.insert(name, count);
        self
    }

    /// Sets a count.
    pub fn insert(&mut self, name: &str, count: impl Into<Decimal>) {
        self.0.insert(name, count.into());
    }

    /// A count.
    pub fn get(&self, name: &str) -> Option<&Decimal> {
        self.0.get(name)
    }

    /// Every count, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Decimal)> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0 .0.is_empty()
    }
}

impl From<BTreeMap<String, Decimal>> for Usage {
    fn from(m: BTreeMap<String, Decimal>) -> Self {
        Usage(Pairs(m.into_iter().collect()))
    }
}

impl FromIterator<(String, Decimal)> for Usage {
    /// A repeated name keeps its last value, as [`Usage::insert`] does.
    fn from_iter<I: IntoIterator<Item = (String, Decimal)>>(iter: I) -> Self {
        let mut usage = Usage::new();
        for (name, count) in iter {
            usage.insert(&name, count);
        }
        usage
    }
}

impl Serialize for Usage {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter().map(|(k, v)| (k, money::DecimalStr(*v))))
    }
}

impl<'de> Deserialize<'de> for Usage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let pairs = deserialize_pairs::<D, money::DecimalValue>(d)?;
        Ok(Usage(Pairs(pairs.into_iter().map(|(k, v)| (k, v.0)).collect())))
    }
}

/// The pre-checkout request: who, for which organization, runs
/// what.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QuoteRequest {
    /// The member's role.
    pub role: String,
    /// The organization's current state.
    pub org: Org,
    /// The run to price and check.
    pub run: Run,
    /// Further context attributes for the `tools.run` authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
}

/// A file holding one `[org]` table (the CLI's `--org ORG`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrgFile {
    org: Org,
}

impl Org {
    /// Reads a TOML document whose `[org]` table is the state.
    pub fn from_toml(name: &str, text: &str) -> Result<Org, InputError> {
        crate::format::toml_request::from_toml::<OrgFile>(name, text).map(|f| f.org)
    }

    /// Reads a JSON document `{"org": {…}}`.
    pub fn from_json(name: &str, text: &str) -> Result<Org, InputError> {
        crate::format::json::from_json::<OrgFile>(name, text).map(|f| f.org)
    }
}

impl QuoteRequest {
    /// Reads a quote request from TOML.
    pub fn from_toml(name: &str, text: &str) -> Result<QuoteRequest, InputError> {
        crate::format::toml_request::from_toml(name, text)
    }

    /// Reads a quote request from JSON.
    pub fn from_json(name: &str, text: &str) -> Result<QuoteRequest, InputError> {
        crate::format::json::from_json(name, text)
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Context {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Context".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Context attributes, as the policies declare them",
            "type": "object",
            "additionalProperties": { "type": ["string", "number", "boolean"] }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::{Context, Usage};
    use rust_decimal::Decimal;
    use std::collections::BTreeMap;

    #[test]
    fn usage_is_a_sorted_map_whose_last_value_wins() {
        let d = |n: i64| Decimal::from(n);
        let usage: Usage =
            [("seats", 1), ("a.b", 2), ("seats", 3)].map(|(k, v)| (k.to_string(), d(v))).into_iter().collect();
        assert_eq!(usage.iter().map(|(k, v)| (k, *v)).collect::<Vec<_>>(), [("a.b", d(2)), ("seats", d(3))]);
        assert_eq!((usage.get("seats"), usage.get("seat"), usage.is_empty()), (Some(&d(3)), None, false));
        let built = Usage::new().with("seats", 5).with("a.b", 2).with("seats", 3);
        assert_eq!(built, usage);
        assert_eq!(Usage::from(BTreeMap::from([("seats".to_string(), d(3)), ("a.b".to_string(), d(2))])), usage);
        // JSON: decimals as strings out; numbers or strings in.
        let json = serde_json::to_string(&usage).unwrap();
        assert_eq!(json, r#"{"a.b":"2","seats":"3"}"#);
        assert_eq!(serde_json::from_str::<Usage>(r#"{"seats": 3, "a.b": "2"}"#).unwrap(), usage);
        assert!(Usage::default().is_empty());
        let ctx = Context::new().with("b", true).with("a", "x").with("b", false);
        assert_eq!(serde_json::to_string(&ctx).unwrap(), r#"{"a":"x","b":false}"#);
        assert_eq!(serde_json::from_str::<Context>(r#"{"b":false,"a":"x"}"#).unwrap(), ctx);
    }
}
