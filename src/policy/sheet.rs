//! The loaded policies as a listing: roles, actions, rules and plans, for
//! pages that offer a role picker or show the permission matrix.

use super::{Effect, Limit, PolicySet};
use crate::names::NameMap;
use serde::Serialize;

/// Every role, action, rule and plan, sorted by name (rules in file order).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PolicySheet<'e> {
    /// Roles.
    pub roles: Vec<RoleInfo<'e>>,
    /// Actions.
    pub actions: Vec<ActionInfo<'e>>,
    /// Context attributes and their types (`string`, `number`, `bool`).
    pub attributes: NameMap<'e, &'static str>,
    /// Rules.
    pub rules: Vec<RuleInfo<'e>>,
    /// Plans.
    pub plans: Vec<PlanInfo<'e>>,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RoleInfo<'e> {
    /// Name.
    pub role: &'e str,
    /// Label.
    pub label: &'e str,
    /// Roles it inherits the rules of, directly.
    pub inherits: Vec<&'e str>,
}

/// An action of the vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ActionInfo<'e> {
    /// Name.
    pub action: &'e str,
    /// Label.
    pub label: &'e str,
    /// Whether it changes billing state.
    pub mutation: bool,
}

/// A rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleInfo<'e> {
    /// Id.
    pub id: &'e str,
    /// Allow or deny.
    pub effect: Effect,
    /// What it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'e str>,
    /// Roles it names (empty: every role).
    pub roles: Vec<&'e str>,
    /// Actions and globs it names.
    pub actions: Vec<&'e str>,
    /// Whether it has `when` conditions.
    pub conditional: bool,
}

/// A plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlanInfo<'e> {
    /// Name.
    pub plan: &'e str,
    /// Label.
    pub label: &'e str,
    /// The plan a limit denial points to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_to: Option<&'e str>,
    /// Limits: a count as a string, or `"unlimited"`.
    pub limits: NameMap<'e, String>,
    /// Top-up block size in credits, when the plan sells top-ups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_up_increment: Option<u64>,
}

impl PolicySet {
    pub(crate) fn sheet(&self) -> PolicySheet<'_> {
        // Plain loops: iterator chains of this shape cost the WebAssembly
        // module several times the code.
        let role_name = |i: usize| self.roles.get(i).map_or("", |r| &*r.name);
        let mut roles = Vec::with_capacity(self.roles.len());
        for r in &self.roles {
            let mut inherits = Vec::with_capacity(r.inherits.len());
            for &i in &r.inherits {
                inherits.push(role_name(i));
            }
            roles.push(RoleInfo { role: &r.name, label: &r.label, inherits });
        }
        let mut actions = Vec::with_capacity(self.actions.len());
        for a in &self.actions {
            actions.push(ActionInfo { action: &a.name, label: &a.label, mutation: a.mutation });
        }
        let mut attributes = Vec::new();
        for (k, t) in self.attributes.iter() {
            attributes.push((std::borrow::Cow::Borrowed(&**k), super::type_name(*t)));
        }
        let mut rules = Vec::with_capacity(self.rules.len());
        for r in &self.rules {
            let mut names = Vec::new();
            for &i in r.roles.iter().flatten() {
                names.push(role_name(i));
            }
            let mut actions = Vec::with_capacity(r.actions.len());
            for a in &r.actions {
                actions.push(a.as_str());
            }
            rules.push(RuleInfo {
                id: &r.id,
                effect: r.effect,
                description: r.description.as_deref(),
                roles: names,
                actions,
                conditional: !r.conditions.is_empty(),
            });
        }
        let mut plans = Vec::new();
        for p in self.plans.values() {
            let mut limits = Vec::new();
            for (k, v) in p.limits.iter() {
                let v = match v {
                    Limit::Count(n) => n.to_string(),
                    Limit::Unlimited => "unlimited".to_string(),
                };
                limits.push((std::borrow::Cow::Borrowed(&**k), v));
            }
            plans.push(PlanInfo {
                plan: &p.name,
                label: &p.label,
                upgrade_to: p.upgrade_to.as_deref(),
                limits: NameMap::from_sorted(limits),
                top_up_increment: p.top_up.as_ref().map(|t| t.increment),
            });
        }
        PolicySheet { roles, actions, attributes: NameMap::from_sorted(attributes), rules, plans }
    }
}
