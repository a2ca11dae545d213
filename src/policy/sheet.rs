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
        let role_name = |i: &usize| self.roles.get(*i).map_or("", |r| &*r.name);
        PolicySheet {
            roles: self
                .roles
                .iter()
                .map(|r| RoleInfo {
                    role: &r.name,
                    label: &r.label,
                    inherits: r.inherits.iter().map(role_name).collect(),
                })
                .collect(),
            actions: self
                .actions
                .iter()
                .map(|a| ActionInfo { action: &a.name, label: &a.label, mutation: a.mutation })
                .collect(),
            attributes: NameMap::from_sorted(
                self.attributes.iter().map(|(k, t)| (&**k, super::type_name(*t))).collect(),
            ),
            rules: self
                .rules
                .iter()
                .map(|r| RuleInfo {
                    id: &r.id,
                    effect: r.effect,
                    description: r.description.as_deref(),
                    roles: r.roles.iter().flatten().map(role_name).collect(),
                    actions: r.actions.iter().map(String::as_str).collect(),
                    conditional: !r.conditions.is_empty(),
                })
                .collect(),
            plans: self
                .plans
                .values()
                .map(|p| PlanInfo {
                    plan: &p.name,
                    label: &p.label,
                    upgrade_to: p.upgrade_to.as_deref(),
                    limits: NameMap::from_sorted(
                        p.limits
                            .iter()
                            .map(|(k, v)| {
                                let v = match v {
                                    Limit::Count(n) => n.to_string(),
                                    Limit::Unlimited => "unlimited".to_string(),
                                };
                                (&**k, v)
                            })
                            .collect(),
                    ),
                    top_up_increment: p.top_up.as_ref().map(|t| t.increment),
                })
                .collect(),
        }
    }
}
