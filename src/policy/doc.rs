//! The document form of policy files: what `read` takes out of the TOML
//! tree, with spans. (The serde attributes shape the JSON Schema only.)

use crate::format::document::{invalid, variant, whole, Entries, Node, Read, Result, Table};
use crate::money::Number;
#[cfg(feature = "schema")]
use std::collections::BTreeMap;
use toml::de::DeValue;
use toml::Spanned;

pub(crate) type Name = Spanned<String>;

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct PolicyDoc {
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, RoleDoc>"))]
    pub(crate) roles: Entries<Spanned<RoleDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, ActionDoc>"))]
    pub(crate) actions: Entries<Spanned<ActionDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, AttrType>"))]
    pub(crate) attributes: Entries<Spanned<AttrType>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "Vec<RuleDoc>"))]
    pub(crate) rules: Vec<Spanned<RuleDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, PlanDoc>"))]
    pub(crate) plans: Entries<Spanned<PlanDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "Option<BillingDoc>"))]
    pub(crate) billing: Option<Spanned<BillingDoc>>,
    /// Message templates by reason code or next step.
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, String>"))]
    pub(crate) messages: Entries<Spanned<String>>,
}

/// `[billing]`: where the billing page is.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct BillingDoc {
    /// The billing link's template, `{slug}` for the organization.
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) link: Spanned<String>,
}

impl Read for BillingDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["link"])?;
        Ok(BillingDoc { link: t.req("link")? })
    }
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug, Default)]
pub(crate) struct RoleDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "Vec<String>"))]
    pub(crate) inherits: Vec<Name>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug, Default)]
pub(crate) struct ActionDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", serde(default))]
    pub(crate) mutation: bool,
}

/// The type of a context attribute.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(rename_all = "lowercase"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum AttrType {
    String,
    Number,
    Bool,
}

/// A rule's effect, and a decision's outcome.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Permits the action.
    Allow,
    /// Forbids the action; beats any allow.
    Deny,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct RuleDoc {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) id: Name,
    pub(crate) effect: Effect,
    pub(crate) description: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<Vec<String>>"))]
    pub(crate) roles: Option<Vec<Name>>,
    #[cfg_attr(feature = "schema", schemars(with = "Vec<String>"))]
    pub(crate) actions: Vec<Name>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "Vec<ConditionDoc>"))]
    pub(crate) when: Vec<Spanned<ConditionDoc>>,
}

/// A condition as written: `attr` and exactly one operator.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct ConditionDoc {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) attr: Name,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) eq: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<CondValue>"))]
    pub(crate) ne: Option<Spanned<CondValue>>,
    #[cfg_attr(feature = "schema", serde(rename = "in"), schemars(with = "Option<CondValue>"))]
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
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct PlanDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) upgrade_to: Option<Name>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, bool>"))]
    pub(crate) features: Entries<bool>,
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, LimitDoc>"))]
    pub(crate) limits: Spanned<Entries<Spanned<LimitDoc>>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, PlanToolDoc>"))]
    pub(crate) tools: Entries<Spanned<PlanToolDoc>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<TopUpDoc>"))]
    pub(crate) top_up: Option<Spanned<TopUpDoc>>,
}

/// A limit: a count, or the word `"unlimited"`.
#[derive(Debug)]
pub(crate) enum LimitDoc {
    Count(i64),
    Word(String),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct PlanToolDoc {
    #[cfg_attr(feature = "schema", serde(default = "yes"))]
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

#[cfg(feature = "schema")]
fn yes() -> bool {
    true
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
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
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
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
    /// A float as written (its text, read exactly when compiled).
    Float(String),
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

impl Read for PolicyDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["roles", "actions", "attributes", "rules", "plans", "billing", "messages"])?;
        Ok(PolicyDoc {
            roles: t.or_default("roles")?,
            actions: t.or_default("actions")?,
            attributes: t.or_default("attributes")?,
            rules: t.or_default("rules")?,
            plans: t.or_default("plans")?,
            billing: t.opt("billing")?,
            messages: t.or_default("messages")?,
        })
    }
}

impl Read for RoleDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["label", "inherits"])?;
        Ok(RoleDoc { label: t.opt("label")?, inherits: t.or_default("inherits")? })
    }
}

impl Read for ActionDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["label", "mutation"])?;
        Ok(ActionDoc { label: t.opt("label")?, mutation: t.or_default("mutation")? })
    }
}

impl Read for AttrType {
    fn read(node: &Node<'_>) -> Result<Self> {
        variant(node, &[("string", AttrType::String), ("number", AttrType::Number), ("bool", AttrType::Bool)])
    }
}

impl Read for Effect {
    fn read(node: &Node<'_>) -> Result<Self> {
        variant(node, &[("allow", Effect::Allow), ("deny", Effect::Deny)])
    }
}

impl Read for RuleDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["id", "effect", "description", "roles", "actions", "when"])?;
        Ok(RuleDoc {
            id: t.req("id")?,
            effect: t.req("effect")?,
            description: t.opt("description")?,
            roles: t.opt("roles")?,
            actions: t.req("actions")?,
            when: t.or_default("when")?,
        })
    }
}

impl Read for ConditionDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["attr", "eq", "ne", "in", "gt", "gte", "lt", "lte", "exists"])?;
        Ok(ConditionDoc {
            attr: t.req("attr")?,
            eq: t.opt("eq")?,
            ne: t.opt("ne")?,
            in_: t.opt("in")?,
            gt: t.opt("gt")?,
            gte: t.opt("gte")?,
            lt: t.opt("lt")?,
            lte: t.opt("lte")?,
            exists: t.opt("exists")?,
        })
    }
}

impl Read for PlanDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["label", "upgrade_to", "features", "limits", "tools", "top_up"])?;
        Ok(PlanDoc {
            label: t.opt("label")?,
            upgrade_to: t.opt("upgrade_to")?,
            features: t.or_default("features")?,
            limits: t.req("limits")?,
            tools: t.or_default("tools")?,
            top_up: t.opt("top_up")?,
        })
    }
}

impl Read for LimitDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            DeValue::Integer(_) => whole(node, || "limit out of range".into()).map(LimitDoc::Count),
            DeValue::String(s) => Ok(LimitDoc::Word(s.to_string())),
            _ => Err(invalid(node, "a whole number or \"unlimited\"")),
        }
    }
}

impl Read for PlanToolDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t =
            Table::new(node, &["enabled", "runs_per_hour", "runs_per_day", "runs_per_month", "max_credits_per_run"])?;
        Ok(PlanToolDoc {
            enabled: t.opt("enabled")?.unwrap_or(true),
            runs_per_hour: t.opt("runs_per_hour")?,
            runs_per_day: t.opt("runs_per_day")?,
            runs_per_month: t.opt("runs_per_month")?,
            max_credits_per_run: t.opt("max_credits_per_run")?,
        })
    }
}

impl Read for TopUpDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["increment", "min", "max", "price_per_increment"])?;
        Ok(TopUpDoc {
            increment: t.req("increment")?,
            min: t.req("min")?,
            max: t.req("max")?,
            price_per_increment: t.req("price_per_increment")?,
        })
    }
}

impl Read for PriceDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["amount", "currency"])?;
        Ok(PriceDoc { amount: t.req("amount")?, currency: t.req("currency")? })
    }
}

/// A string, number or bool as written, or a list of them (for `in`).
impl Read for CondValue {
    fn read(node: &Node<'_>) -> Result<Self> {
        Ok(match node.get_ref() {
            DeValue::String(s) => CondValue::String(s.to_string()),
            DeValue::Integer(_) => CondValue::Integer(whole(node, || "number out of range".into())?),
            DeValue::Float(f) => CondValue::Float(f.as_str().to_string()),
            DeValue::Boolean(b) => CondValue::Boolean(*b),
            DeValue::Array(items) => CondValue::Array(items.iter().map(CondValue::read).collect::<Result<_>>()?),
            _ => return Err(invalid(node, "a string, a number, a bool, or a list of them")),
        })
    }
}
