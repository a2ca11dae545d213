//! Decisions (docs/formats.md, "Policy files"): default deny, deny beats allow, conditions
//! fail closed, and the decision names every rule that determined it.

use super::{Condition, Effect, Op, PolicySet, Value};
use crate::error::AuthorizeError;
use crate::names::owned;
use crate::request::{AttrValue, Context};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;

/// Why a decision came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// At least one allow rule applies and no deny rule does.
    Allowed,
    /// A deny rule applies.
    DeniedByRule,
    /// No rule allows the action (default deny).
    NoRuleAllows,
}

/// An authorization decision. [`Decision::into_owned`] gives one that
/// outlives the engine; an owned one is read back from its JSON with
/// `Deserialize` (the `message` is made from the other fields).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Decision<'e> {
    /// The role asked about.
    pub role: Cow<'e, str>,
    /// The action asked about.
    pub action: Cow<'e, str>,
    /// Allow or deny.
    pub decision: Effect,
    /// Every rule that determined it: the applying deny rules for a denial,
    /// the applying allow rules for an allow, none for a default deny.
    pub rules: Vec<Cow<'e, str>>,
    /// Why.
    pub reason: Reason,
    /// Context attributes whose absence (or wrong type) decided: a deny
    /// rule applied for want of them, or an allow rule could not.
    #[serde(default)]
    pub missing_attributes: Vec<Cow<'e, str>>,
}

impl Decision<'_> {
    /// The same decision, owning its names: it outlives the engine.
    pub fn into_owned(self) -> Decision<'static> {
        Decision {
            role: owned(self.role),
            action: owned(self.action),
            decision: self.decision,
            rules: self.rules.into_iter().map(owned).collect(),
            reason: self.reason,
            missing_attributes: self.missing_attributes.into_iter().map(owned).collect(),
        }
    }

    /// Whether the action is allowed.
    pub fn allowed(&self) -> bool {
        self.decision == Effect::Allow
    }

    /// One line for people: what was decided and by which rules.
    pub fn message(&self) -> String {
        // Written piece by piece into one string: every decision that
        // crosses to JavaScript carries this message.
        fn quoted(m: &mut String, names: &[Cow<'_, str>]) {
            for (i, name) in names.iter().enumerate() {
                m.push_str(if i == 0 { "`" } else { ", `" });
                m.push_str(name);
                m.push('`');
            }
        }
        let mut m = String::with_capacity(96);
        m.push('`');
        m.push_str(&self.role);
        m.push_str(if self.reason == Reason::Allowed { "` may `" } else { "` may not `" });
        m.push_str(&self.action);
        m.push('`');
        match self.reason {
            Reason::Allowed | Reason::DeniedByRule => {
                m.push_str(if self.reason == Reason::Allowed { " (allowed by " } else { " (denied by " });
                quoted(&mut m, &self.rules);
                m.push(')');
            }
            Reason::NoRuleAllows => m.push_str(" (no rule allows it)"),
        }
        if !self.missing_attributes.is_empty() {
            m.push_str("; missing from the context: ");
            quoted(&mut m, &self.missing_attributes);
        }
        m
    }
}

/// Serialized as `{role, action, decision, rules, reason, message,
/// missingAttributes?}`; the message is built only when serialized.
impl Serialize for Decision<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = if self.missing_attributes.is_empty() { 6 } else { 7 };
        let mut st = s.serialize_struct("Decision", n)?;
        st.serialize_field("role", &*self.role)?;
        st.serialize_field("action", &*self.action)?;
        st.serialize_field("decision", &self.decision)?;
        st.serialize_field("rules", &self.rules)?;
        st.serialize_field("reason", &self.reason)?;
        st.serialize_field("message", &self.message())?;
        if self.missing_attributes.is_empty() {
            st.skip_field("missingAttributes")?;
        } else {
            st.serialize_field("missingAttributes", &self.missing_attributes)?;
        }
        st.end()
    }
}

/// A condition's outcome: holds, fails, or cannot be told (attribute
/// missing or of the wrong type).
pub(crate) fn eval(c: &Condition, ctx: &Context) -> Option<bool> {
    let v = ctx.get(&c.attr);
    if let Op::Exists(want) = c.op {
        return Some(v.is_some() == want);
    }
    let v = v?;
    let same = |want: &Value| match (want, v) {
        (Value::Str(a), AttrValue::String(b)) => Some(a == b),
        (Value::Num(a), AttrValue::Number(b)) => Some(a == b),
        (Value::Bool(a), AttrValue::Bool(b)) => Some(a == b),
        _ => None,
    };
    let num = || match v {
        AttrValue::Number(n) => Some(*n),
        _ => None,
    };
    match &c.op {
        Op::Eq(want) => same(want),
        Op::Ne(want) => same(want).map(|eq| !eq),
        Op::In(list) => {
            let mut typed = false;
            for want in list {
                match same(want) {
                    Some(true) => return Some(true),
                    Some(false) => typed = true,
                    None => {}
                }
            }
            typed.then_some(false)
        }
        Op::Gt(n) => num().map(|v| v > *n),
        Op::Gte(n) => num().map(|v| v >= *n),
        Op::Lt(n) => num().map(|v| v < *n),
        Op::Lte(n) => num().map(|v| v <= *n),
        Op::Exists(_) => None,
    }
}

impl PolicySet {
    /// The id of a role, or an error listing the roles.
    pub(crate) fn role_id(&self, role: &str) -> Result<usize, AuthorizeError> {
        self.role_ids
            .get(role)
            .copied()
            .ok_or_else(|| AuthorizeError::UnknownRole { role: role.to_string(), known: self.role_ids.known() })
    }

    /// Checks the names of a request: role, action, context attributes.
    pub(crate) fn resolve(&self, role: &str, action: &str, ctx: &Context) -> Result<(usize, usize), AuthorizeError> {
        let r = self.role_id(role)?;
        let a = *self.action_ids.get(action).ok_or_else(|| AuthorizeError::UnknownAction {
            action: action.to_string(),
            known: self.action_ids.known(),
        })?;
        for (attr, _) in ctx.iter() {
            if !self.attributes.contains_key(attr) {
                return Err(AuthorizeError::UnknownAttribute {
                    attr: attr.to_string(),
                    known: self.attributes.known(),
                });
            }
        }
        Ok((r, a))
    }

    /// The decision for a role and action.
    pub(crate) fn authorize(&self, role: &str, action: &str, ctx: &Context) -> Result<Decision<'_>, AuthorizeError> {
        let (r, a) = self.resolve(role, action, ctx)?;
        Ok(self.decide(r, a, ctx))
    }

    pub(crate) fn decide(&self, r: usize, a: usize, ctx: &Context) -> Decision<'_> {
        let candidates = self.index.cell(r * self.actions.len() + a);
        let (mut allows, mut denies) = (Vec::new(), Vec::new());
        let (mut allow_missing, mut deny_missing): (Vec<Cow<'_, str>>, Vec<Cow<'_, str>>) = (Vec::new(), Vec::new());
        for rule in candidates.iter().filter_map(|&i| self.rules.get(i)) {
            let mut fails = false;
            let mut missing: Vec<Cow<'_, str>> = Vec::new();
            for c in &rule.conditions {
                match eval(c, ctx) {
                    Some(true) => {}
                    Some(false) => {
                        fails = true;
                        break;
                    }
                    None => missing.push(Cow::Borrowed(&*c.attr)),
                }
            }
            if fails {
                continue;
            }
            match (rule.effect, missing.is_empty()) {
                (Effect::Allow, true) => allows.push(Cow::Borrowed(&*rule.id)),
                (Effect::Allow, false) => allow_missing.extend(missing),
                (Effect::Deny, _) => {
                    denies.push(Cow::Borrowed(&*rule.id));
                    deny_missing.extend(missing);
                }
            }
        }
        let role = self.roles.get(r).map_or("", |x| &*x.name);
        let action = self.actions.get(a).map_or("", |x| &*x.name);
        let (decision, rules, reason, mut missing) = if !denies.is_empty() {
            (Effect::Deny, denies, Reason::DeniedByRule, deny_missing)
        } else if !allows.is_empty() {
            (Effect::Allow, allows, Reason::Allowed, Vec::new())
        } else {
            (Effect::Deny, Vec::new(), Reason::NoRuleAllows, allow_missing)
        };
        missing.sort_unstable();
        missing.dedup();
        Decision {
            role: Cow::Borrowed(role),
            action: Cow::Borrowed(action),
            decision,
            rules,
            reason,
            missing_attributes: missing,
        }
    }
}
