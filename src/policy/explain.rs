//! Why a decision came out as it did: every rule of the policy set, and
//! for each whether its role, action and conditions matched.

use super::{authorize::eval, pattern_matches, Condition, Effect, Op, PolicySet, Value};
use crate::error::AuthorizeError;
use crate::policy::Decision;
use crate::request::Context;
use serde::Serialize;

/// A decision with the trace of every rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Explanation<'e> {
    /// The decision itself.
    pub decision: Decision<'e>,
    /// Every rule, in file order.
    pub rules: Vec<RuleTrace<'e>>,
}

/// How one rule met the request.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RuleTrace<'e> {
    /// The rule's id.
    pub id: &'e str,
    /// Allow or deny.
    pub effect: Effect,
    /// Whether the rule names the role (or a role it inherits, or no role).
    pub role_matches: bool,
    /// Whether one of the rule's actions or globs covers the action.
    pub action_matches: bool,
    /// Each condition and its outcome, when role and action match.
    pub conditions: Vec<ConditionTrace<'e>>,
    /// Whether the rule applies to this request.
    pub applies: bool,
    /// One line: why it applies or not.
    pub why: String,
}

/// One condition's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ConditionTrace<'e> {
    /// The attribute read.
    pub attr: &'e str,
    /// The condition as written: `eq "suspended"`.
    pub test: String,
    /// `holds`, `fails`, or `missing` (absent or of the wrong type).
    pub outcome: &'static str,
}

fn show(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        Value::Num(n) => n.normalize().to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

fn test(c: &Condition) -> String {
    match &c.op {
        Op::Eq(v) => format!("eq {}", show(v)),
        Op::Ne(v) => format!("ne {}", show(v)),
        Op::In(vs) => format!("in [{}]", vs.iter().map(show).collect::<Vec<_>>().join(", ")),
        Op::Gt(n) => format!("gt {}", n.normalize()),
        Op::Gte(n) => format!("gte {}", n.normalize()),
        Op::Lt(n) => format!("lt {}", n.normalize()),
        Op::Lte(n) => format!("lte {}", n.normalize()),
        Op::Exists(b) => format!("exists {b}"),
    }
}

impl PolicySet {
    /// The decision for `role` and `action`, with every rule's trace.
    pub(crate) fn explain(&self, role: &str, action: &str, ctx: &Context) -> Result<Explanation<'_>, AuthorizeError> {
        let (r, a) = self.resolve(role, action, ctx)?;
        let decision = self.decide(r, a, ctx);
        let action_name = self.actions.get(a).map_or("", |x| &*x.name);
        let rules = self
            .rules
            .iter()
            .map(|rule| {
                let role_matches = rule.roles.as_ref().is_none_or(|rs| rs.iter().any(|&x| self.lineage.contains(r, x)));
                let action_matches = rule.actions.iter().any(|p| pattern_matches(p, action_name));
                let conditions: Vec<ConditionTrace<'_>> = if role_matches && action_matches {
                    rule.conditions
                        .iter()
                        .map(|c| ConditionTrace {
                            attr: &c.attr,
                            test: test(c),
                            outcome: match eval(c, ctx) {
                                Some(true) => "holds",
                                Some(false) => "fails",
                                None => "missing",
                            },
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                let fails = conditions.iter().find(|c| c.outcome == "fails");
                let missing = conditions.iter().find(|c| c.outcome == "missing");
                let (applies, why) = if !role_matches {
                    (false, format!("role `{role}` is not among its roles"))
                } else if !action_matches {
                    (false, format!("action `{action}` is not among its actions"))
                } else if let Some(c) = fails {
                    (false, format!("condition `{} {}` fails", c.attr, c.test))
                } else if let Some(c) = missing {
                    match rule.effect {
                        Effect::Allow => (false, format!("`{}` is missing: an allow fails closed", c.attr)),
                        Effect::Deny => (true, format!("`{}` is missing: a deny fails closed and applies", c.attr)),
                    }
                } else if conditions.is_empty() {
                    (true, "role and action match".to_string())
                } else {
                    (true, "role and action match, every condition holds".to_string())
                };
                RuleTrace { id: &rule.id, effect: rule.effect, role_matches, action_matches, conditions, applies, why }
            })
            .collect();
        Ok(Explanation { decision, rules })
    }
}
