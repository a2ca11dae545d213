//! Validation for policy authors: every load error, and lints — warnings
//! about rules and plans that load but cannot mean what they say.

use crate::engine::{Engine, Sources};
use crate::error::LoadProblem;
use crate::policy::{Effect, Limit, PolicySet};
use crate::rates::RateCard;
use crate::source::Location;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A warning about sources that load but do not do what they seem to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lint {
    /// Stable code, such as `shadowed_allow`.
    pub code: &'static str,
    /// One line.
    pub message: String,
    /// Where, when it sits in a file.
    pub location: Option<Location>,
    /// What to do about it.
    pub help: &'static str,
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.location {
            write!(f, "{at}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The outcome of validating sources: errors (the engine does not load)
/// and warnings (it loads; see the lints). Both in file order, the same
/// text on every run.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Validation {
    /// Load errors; when there are any, no lint runs.
    pub errors: Vec<LoadProblem>,
    /// Lints of sources that load.
    pub warnings: Vec<Lint>,
}

/// As JSON: `{errors: [...], warnings: [...]}`, each an [`crate::ErrorInfo`]
/// (code, message, file, line, column, help), as `tollgate validate --json`
/// prints it and the editor module's `validate` returns it.
impl serde::Serialize for Validation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let errors: Vec<crate::ErrorInfo> = self.errors.iter().map(crate::ErrorInfo::from).collect();
        let warnings: Vec<crate::ErrorInfo> = self.warnings.iter().map(crate::ErrorInfo::from).collect();
        let mut st = s.serialize_struct("Validation", 2)?;
        st.serialize_field("errors", &errors)?;
        st.serialize_field("warnings", &warnings)?;
        st.end()
    }
}

impl Validation {
    /// No errors and no warnings.
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty() && self.warnings.is_empty()
    }
}

/// Loads the sources and lints them.
pub fn validate(sources: Sources) -> Validation {
    match Engine::from_sources(sources) {
        Err(e) => Validation { errors: e.problems().to_vec(), warnings: Vec::new() },
        Ok(engine) => {
            let mut warnings = lint(engine.rates(), engine.policies());
            warnings.sort_by(|a, b| {
                let key = |l: &Lint| l.location.as_ref().map(|x| (x.file().to_string(), x.span().start));
                key(a).cmp(&key(b))
            });
            Validation { errors: Vec::new(), warnings }
        }
    }
}

fn warn(out: &mut Vec<Lint>, code: &'static str, message: String, location: Option<&Location>, help: &'static str) {
    out.push(Lint { code, message, location: location.cloned(), help });
}

fn lint(rates: &RateCard, policies: &PolicySet) -> Vec<Lint> {
    let mut out = Vec::new();
    rules(policies, &mut out);
    plans(rates, policies, &mut out);
    tiers(rates, &mut out);
    out
}

fn rules(p: &PolicySet, out: &mut Vec<Lint>) {
    let n_actions = p.actions.len();
    // Each rule's cells from the roles it applies to and the actions it
    // names: the cost of all of them is the size of the index, not the size
    // of the index per rule.
    let applying = crate::policy::applying_roles(p);
    let cells = |rule: usize| {
        let actions = p.rules.get(rule).map_or(&[][..], |r| r.action_ids.as_slice());
        applying.members(rule).flat_map(move |role| actions.iter().map(move |&a| (role, a)))
    };
    // The cells an unconditional deny covers, marked once.
    let mut denied = vec![false; p.index.cells()];
    for (ri, rule) in p.rules.iter().enumerate() {
        if rule.effect == Effect::Deny && rule.conditions.is_empty() {
            for (r, a) in cells(ri) {
                if let Some(d) = denied.get_mut(r * n_actions + a) {
                    *d = true;
                }
            }
        }
    }
    // Duplicates: same effect, roles, actions and conditions as an earlier rule.
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for rule in &p.rules {
        let mut roles: Vec<usize> = rule.roles.clone().unwrap_or_default();
        roles.sort_unstable();
        let key = format!(
            "{:?}|{:?}|{:?}|{:?}",
            rule.effect,
            rule.roles.is_some().then_some(roles),
            rule.action_ids,
            rule.conditions
        );
        match seen.get(&key) {
            Some(first) => warn(
                out,
                "duplicate_rule",
                format!("rule `{}` repeats rule `{first}`", rule.id),
                Some(&rule.location),
                "remove one of the two; a duplicate never changes a decision",
            ),
            None => {
                seen.insert(key, &rule.id);
            }
        }
    }
    // An allow rule every cell of which an unconditional deny also covers.
    for (ri, rule) in p.rules.iter().enumerate() {
        if rule.effect != Effect::Allow {
            continue;
        }
        let mut any = false;
        let shadowed = cells(ri).all(|(r, a)| {
            any = true;
            denied.get(r * n_actions + a) == Some(&true)
        });
        if any && shadowed {
            warn(
                out,
                "shadowed_allow",
                format!(
                    "allow rule `{}` can never allow: an unconditional deny covers every role and action it names",
                    rule.id
                ),
                Some(&rule.location),
                "narrow the deny rule, give it a `when`, or remove this allow",
            );
        }
    }
    // Rules that can never apply: no role, or a condition `in` no value.
    for rule in &p.rules {
        let why = if rule.roles.as_ref().is_some_and(Vec::is_empty) {
            Some("`roles = []` names no role".to_string())
        } else {
            rule.conditions
                .iter()
                .find(|c| matches!(&c.op, crate::policy::Op::In(v) if v.is_empty()))
                .map(|c| format!("its condition on `{}` is `in = []`, which no value is in", c.attr))
        };
        if let Some(why) = why {
            warn(
                out,
                "never_applies",
                format!("rule `{}` can never apply: {why}", rule.id),
                Some(&rule.location),
                "list the roles or values it is meant for, or remove the rule",
            );
        }
    }
    // Names that differ from another only by case, spaces, invisible or
    // lookalike characters: `Owner` beside `owner`, a Cyrillic `о`.
    lookalikes(out, "role", p.roles.iter().map(|r| (&*r.name, &r.location)));
    lookalikes(out, "action", p.actions.iter().map(|a| (&*a.name, &a.location)));
    // Actions no role may ever do, and roles no rule applies to.
    for (ai, action) in p.actions.iter().enumerate() {
        let allowed = (0..p.roles.len()).any(|r| {
            p.index.cell(r * n_actions + ai).iter().any(|&i| p.rules.get(i).is_some_and(|x| x.effect == Effect::Allow))
        });
        if !allowed {
            warn(
                out,
                "action_never_allowed",
                format!("no rule allows action `{}` for any role", action.name),
                Some(&action.location),
                "add an allow rule for the roles that should do it, or drop the action",
            );
        }
    }
    for (ri, role) in p.roles.iter().enumerate() {
        if (0..n_actions).all(|a| p.index.cell(ri * n_actions + a).is_empty()) {
            warn(
                out,
                "role_without_rules",
                format!("no rule applies to role `{}`: it may do nothing", role.name),
                Some(&role.location),
                "name the role in a rule, or let it inherit a role that has rules",
            );
        }
    }
}

/// What a name looks like: lowercased, then its UTS #39 skeleton (default
/// ignorable characters such as a zero-width space dropped, lookalikes
/// mapped to one prototype), without surrounding spaces.
fn looks(name: &str) -> String {
    let lower = name.to_lowercase();
    let skeleton: String = unicode_security::skeleton(&lower).collect();
    skeleton.trim().to_string()
}

/// Warns at each name that looks like an earlier (by sorted name) one.
fn lookalikes<'a>(out: &mut Vec<Lint>, what: &str, names: impl Iterator<Item = (&'a str, &'a Location)>) {
    let mut by_look: Vec<(String, &str, &Location)> = names.map(|(n, at)| (looks(n), n, at)).collect();
    by_look.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    for pair in by_look.windows(2) {
        if let [(a_look, a, _), (b_look, b, at)] = pair {
            if a_look == b_look && a != b {
                warn(
                    out,
                    "lookalike_name",
                    format!("{what} `{}` looks like {what} `{}`: they differ only by case, spaces, invisible or lookalike characters", b.escape_debug(), a.escape_debug()),
                    Some(at),
                    "use one name; a request naming the other gets an error or another decision",
                );
            }
        }
    }
}

fn plans(rates: &RateCard, p: &PolicySet, out: &mut Vec<Lint>) {
    let mut cycles: BTreeSet<Vec<&str>> = BTreeSet::new();
    for plan in p.plans.values() {
        for (tool, rules) in &plan.tools {
            if !rates.tools.contains_key(tool) {
                let known: Vec<&str> = rates.tools.keys().map(|k| &**k).collect();
                warn(
                    out,
                    "plan_tool_not_in_rates",
                    format!(
                        "plan `{}` sets rules for tool `{tool}`, which the rates do not price (priced: {})",
                        plan.name,
                        known.join(", ")
                    ),
                    Some(&rules.location),
                    "fix the tool name, or add the tool to the rate tables",
                );
            }
        }
        if let Some(t) = &plan.top_up {
            for (what, v) in [("min", t.min), ("max", t.max)] {
                if v % t.increment != 0 {
                    warn(
                        out,
                        "top_up_not_multiple",
                        format!(
                            "top-up {what} {v} of plan `{}` is not a multiple of its increment {}",
                            plan.name, t.increment
                        ),
                        Some(&t.location),
                        "top-ups are sold in whole blocks; use multiples of the increment",
                    );
                }
            }
        }
        if let Some(up) = plan.upgrade_to.as_deref().and_then(|u| p.plans.get(u)) {
            let lower: Vec<String> = plan
                .limits
                .iter()
                .filter(|(name, mine)| match (mine, up.limits.get(name)) {
                    (Limit::Unlimited, Some(Limit::Count(_))) => true,
                    (Limit::Count(a), Some(Limit::Count(b))) => b < a,
                    _ => false,
                })
                .map(|(name, _)| name.to_string())
                .collect();
            if !lower.is_empty() {
                warn(
                    out,
                    "upgrade_lowers_limits",
                    format!(
                        "plan `{}` upgrades to `{}`, which allows less of: {}",
                        plan.name,
                        up.name,
                        lower.join(", ")
                    ),
                    Some(&plan.location),
                    "an upgrade should allow at least as much of every limit",
                );
            }
        }
        // Following `upgrade_to` from this plan must not come back to it.
        let mut path = vec![&*plan.name];
        let mut at = plan.upgrade_to.as_deref();
        let mut visited = BTreeSet::new();
        while let Some(next) = at {
            if !visited.insert(next) {
                break;
            }
            path.push(next);
            if next == &*plan.name {
                let mut members = path.clone();
                members.sort_unstable();
                members.dedup();
                if !cycles.insert(members) {
                    break; // reported from another plan of the same circle
                }
                warn(
                    out,
                    "upgrade_cycle",
                    format!("upgrades go round in a circle: {}", path.join(" -> ")),
                    Some(&plan.location),
                    "the top plan has no `upgrade_to`",
                );
                break;
            }
            at = p.plans.get(next).and_then(|x| x.upgrade_to.as_deref());
        }
    }
}

fn tiers(rates: &RateCard, out: &mut Vec<Lint>) {
    for model in rates.text.values() {
        let mut below = model.base;
        for ((above, rates), at) in model.tiers.iter().zip(&model.tier_locations) {
            if *rates == below {
                warn(
                    out,
                    "tier_changes_nothing",
                    format!(
                        "the tier of `{}` above {} tokens has the same rates as below it",
                        model.name,
                        above.normalize()
                    ),
                    Some(at),
                    "a tier that changes no rate can never change a price; remove it",
                );
            }
            below = *rates;
        }
    }
}
