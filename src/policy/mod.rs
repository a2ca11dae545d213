//! Policies (docs/formats.md, "Policy files"): roles, actions, attributes, rules and plans. The
//! document form is in `doc`; loading validates every file and compiles
//! the rules into an index by role and action.

mod authorize;
mod doc;
mod explain;
mod index;
mod sheet;
pub(crate) mod texts;

pub use authorize::{Decision, Reason};
pub(crate) use doc::AttrType;
pub use doc::Effect;
#[cfg(feature = "schema")]
pub(crate) use doc::PolicyDoc as PolicyDocSchema;
pub use explain::{ConditionTrace, Explanation, RuleTrace};
pub use sheet::{ActionInfo, PlanInfo, PolicySheet, RoleInfo, RuleInfo};

use crate::error::{LoadError, LoadProblemKind};
use crate::load::{Claims, FileCtx, Problems};
use crate::money::NumberError;
use crate::names::{sorted_by_name, Names};
use crate::source::{Location, Source};
use doc::{CondValue, ConditionDoc, LimitDoc, Name, PlanDoc, PolicyDoc, RuleDoc};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use toml::Spanned;

/// Plan features the engine knows.
pub(crate) const FEATURES: &[&str] = &["allocation_pools"];

/// The compiled policies.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct PolicySet {
    pub(crate) roles: Vec<Role>,
    pub(crate) role_ids: Names<usize>,
    pub(crate) actions: Vec<Action>,
    pub(crate) action_ids: Names<usize>,
    pub(crate) attributes: Names<AttrType>,
    pub(crate) rules: Vec<Rule>,
    /// `index[role * actions.len() + action]`: the rules that can apply, in
    /// file order. Built at load time so a decision never scans all rules.
    pub(crate) index: index::Index,
    /// Each role's ancestors, itself included.
    pub(crate) lineage: index::RoleSets,
    pub(crate) plans: Names<Plan>,
    /// Every limit name, sorted.
    pub(crate) limits: Vec<Arc<str>>,
    /// The billing link and the messages, as the policies word them.
    pub(crate) texts: texts::Texts,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Role {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    /// Direct parents.
    pub(crate) inherits: Vec<usize>,
    /// Where it is defined, and the index of that source.
    pub(crate) location: Location,
    pub(crate) file: usize,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Action {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    pub(crate) mutation: bool,
    pub(crate) location: Location,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Rule {
    pub(crate) id: Arc<str>,
    pub(crate) effect: Effect,
    pub(crate) description: Option<String>,
    /// `None`: every role.
    pub(crate) roles: Option<Vec<usize>>,
    pub(crate) actions: Vec<String>,
    /// The actions the patterns cover, resolved after names are sorted.
    pub(crate) action_ids: Vec<usize>,
    pub(crate) conditions: Vec<Condition>,
    pub(crate) location: Location,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Condition {
    pub(crate) attr: Arc<str>,
    pub(crate) op: Op,
}

/// A condition's operator with its value, typed by the attribute.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) enum Op {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    Gt(#[serde(with = "crate::money::dec")] Decimal),
    Gte(#[serde(with = "crate::money::dec")] Decimal),
    Lt(#[serde(with = "crate::money::dec")] Decimal),
    Lte(#[serde(with = "crate::money::dec")] Decimal),
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Value {
    Str(String),
    Num(#[serde(with = "crate::money::dec")] Decimal),
    Bool(bool),
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Plan {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    pub(crate) upgrade_to: Option<Arc<str>>,
    pub(crate) features: Names<bool>,
    pub(crate) limits: Names<Limit>,
    pub(crate) tools: Names<PlanTool>,
    pub(crate) top_up: Option<TopUp>,
    pub(crate) location: Location,
}

impl Plan {
    pub(crate) fn feature(&self, name: &str) -> bool {
        self.features.get(name).copied().unwrap_or(false)
    }
}

/// A limit's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Limit {
    Count(u64),
    Unlimited,
}

/// The window of a frequency cap, and the usage counter that counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Window {
    Hour,
    Day,
    Month,
}

impl Window {
    /// The usage counter suffix: `tools.{tool}.{counter}`.
    pub(crate) fn counter(self) -> &'static str {
        match self {
            Window::Hour => "runs_this_hour",
            Window::Day => "runs_today",
            Window::Month => "runs_this_month",
        }
    }

    pub(crate) fn per(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Month => "month",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct PlanTool {
    pub(crate) location: Location,
    pub(crate) enabled: bool,
    pub(crate) caps: Vec<(Window, u64)>,
    #[serde(with = "crate::money::dec::opt")]
    pub(crate) max_credits_per_run: Option<Decimal>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct TopUp {
    pub(crate) location: Location,
    pub(crate) increment: u64,
    pub(crate) min: u64,
    pub(crate) max: u64,
    #[serde(with = "crate::money::dec")]
    pub(crate) price: Decimal,
    pub(crate) currency: String,
}

impl PolicySet {
    /// Every index a decision follows is in range, as the loader makes
    /// them: a set read from a bundle is checked, not trusted.
    pub(crate) fn check_bundled(&self) -> Result<(), String> {
        let (roles, actions, rules) = (self.roles.len(), self.actions.len(), self.rules.len());
        let within = |what: &str, i: usize, n: usize| {
            if i < n {
                Ok(())
            } else {
                Err(format!("{what} {i} of {n}"))
            }
        };
        for (name, &i) in &self.role_ids {
            within("role", i, roles)?;
            if self.roles.get(i).map(|r| &r.name) != Some(name) {
                return Err(format!("role `{name}` is not role {i}"));
            }
        }
        for (name, &i) in &self.action_ids {
            within("action", i, actions)?;
            if self.actions.get(i).map(|a| &a.name) != Some(name) {
                return Err(format!("action `{name}` is not action {i}"));
            }
        }
        if self.role_ids.keys().len() != roles || self.action_ids.keys().len() != actions {
            return Err("roles or actions without a name".into());
        }
        for role in &self.roles {
            role.inherits.iter().try_for_each(|&i| within("role", i, roles))?;
        }
        for rule in &self.rules {
            rule.roles.iter().flatten().try_for_each(|&i| within("role", i, roles))?;
            rule.action_ids.iter().try_for_each(|&i| within("action", i, actions))?;
        }
        if Some(self.index.cells()) != roles.checked_mul(actions) || !self.index.well_formed() {
            return Err(format!("an index of {} cells for {roles} roles and {actions} actions", self.index.cells()));
        }
        self.index.entries().iter().try_for_each(|&i| within("rule", i, rules))?;
        if !self.lineage.fits(roles, roles) {
            return Err("role lineage of the wrong size".into());
        }
        self.texts.check_bundled()
    }
}

/// Whether an action pattern (`billing.top_up` or `billing.*`) covers an action.
pub(crate) fn pattern_matches(pattern: &str, action: &str) -> bool {
    match pattern.strip_suffix(".*") {
        Some(prefix) => action.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')),
        None => pattern == action,
    }
}

/// Loads policy sources, in the order given (callers sort by file name).
pub(crate) fn load(sources: &[Source]) -> Result<PolicySet, LoadError> {
    let mut problems = Problems::default();
    let mut docs: Vec<(usize, PolicyDoc)> = Vec::new();
    for (index, src) in sources.iter().enumerate() {
        let mut cx = FileCtx { src, index, problems: &mut problems };
        if let Some(doc) = cx.parse::<PolicyDoc>() {
            docs.push((index, doc));
        }
    }

    // Pass 1: every name, across files, so references may cross files.
    use crate::limits::{MAX_ACTIONS, MAX_INDEX_CELLS, MAX_LIST, MAX_ROLES, MAX_RULES};
    let mut set = PolicySet::default();
    let mut attributes = Vec::new();
    let mut claims = Claims::default();
    for (index, doc) in &docs {
        let Some(src) = sources.get(*index) else { continue };
        let mut cx = FileCtx { src, index: *index, problems: &mut problems };
        for (name, r) in &doc.roles {
            if let Some(id) = claims.claim(&mut cx, "role", name) {
                let label = r.get_ref().label.clone().unwrap_or_else(|| id.to_string());
                let location = cx.at(name.span());
                set.roles.push(Role { name: id, label, inherits: Vec::new(), location, file: *index });
            }
        }
        for (name, a) in &doc.actions {
            if let Some(id) = claims.claim(&mut cx, "action", name) {
                if id.ends_with(".*") || id.contains('*') {
                    cx.report(LoadProblemKind::BadName { what: "action", name: id.to_string() }, name.span());
                    continue;
                }
                let a = a.get_ref();
                let label = a.label.clone().unwrap_or_else(|| id.to_string());
                let location = cx.at(name.span());
                set.actions.push(Action { name: id, label, mutation: a.mutation, location });
            }
        }
        for (name, t) in &doc.attributes {
            if let Some(id) = claims.claim(&mut cx, "attribute", name) {
                attributes.push((id, *t.get_ref()));
            }
        }
        for name in doc.plans.keys() {
            claims.claim(&mut cx, "plan", name);
        }
    }
    let totals = [("roles", set.roles.len(), MAX_ROLES), ("actions", set.actions.len(), MAX_ACTIONS)];
    let rules: usize = docs.iter().map(|(_, d)| d.rules.len()).sum();
    let cells = set.roles.len().saturating_mul(set.actions.len());
    for (what, count, limit) in
        totals.into_iter().chain([("rules", rules, MAX_RULES), ("role × action index cells", cells, MAX_INDEX_CELLS)])
    {
        if count > limit {
            let kind = LoadProblemKind::TooLarge { what, count, limit };
            problems.push(0, crate::error::LoadProblem::new(kind, None));
        }
    }
    if !problems.is_empty() {
        // Over a bound, nothing more is compiled: the bound is what protects.
        return Err(problems.into_error());
    }
    // Roles and actions come in name order within a file, files in order;
    // sort them by name so ids (and everything derived) do not depend on files.
    set.attributes = attributes.into_iter().collect();
    set.roles = sorted_by_name(std::mem::take(&mut set.roles), |r| &r.name);
    set.actions = sorted_by_name(std::mem::take(&mut set.actions), |a| &a.name);
    set.role_ids = set.roles.iter().enumerate().map(|(i, r)| (Arc::clone(&r.name), i)).collect();
    set.action_ids = set.actions.iter().enumerate().map(|(i, a)| (Arc::clone(&a.name), i)).collect();

    // Pass 2: inheritance, rules, plans.
    let mut plans = Vec::new();
    // (Cow keys: the hash map type of `Claims` and the TOML reader, one copy
    // of its code.)
    let mut rule_ids: HashMap<Cow<'_, str>, usize> = HashMap::new();
    // Actions the rules may still name, globs expanded (`None` once spent).
    let mut budget = Some(crate::limits::MAX_RULE_ACTIONS);
    for (index, doc) in &docs {
        let Some(src) = sources.get(*index) else { continue };
        let mut cx = FileCtx { src, index: *index, problems: &mut problems };
        for (name, r) in &doc.roles {
            let Some(&id) = set.role_ids.get(name.get_ref().as_str()) else { continue };
            let mut parents = Vec::new();
            cx.within("roles in `inherits`", r.get_ref().inherits.len(), MAX_LIST, name.span());
            for parent in &r.get_ref().inherits {
                match set.role_ids.get(parent.get_ref().as_str()) {
                    // A parent named twice counts once.
                    Some(&p) if !parents.contains(&p) => parents.push(p),
                    Some(_) => {}
                    None => cx.report(unknown("role", parent.get_ref(), set.role_ids.keys()), parent.span()),
                }
            }
            if let Some(role) = set.roles.get_mut(id) {
                role.inherits = parents;
            }
        }
        for rule in &doc.rules {
            if budget.is_none() {
                break; // over the bound (reported once): nothing more is compiled
            }
            let reported = cx.problems.len();
            let compiled = compile_rule(&mut cx, &set, rule, &mut budget);
            if compiled.is_none() && cx.problems.len() == reported {
                // A rule is compiled or the load fails naming why: never
                // dropped in silence (a lost deny would allow).
                let id = rule.get_ref().id.get_ref().clone();
                cx.report(LoadProblemKind::RuleNotCompiled { id }, rule.get_ref().id.span());
            }
            if let Some(r) = compiled {
                // Rule ids are checked apart from other names, keyed by the
                // documents' own strings: no copy per rule.
                let id = rule.get_ref().id.get_ref().as_str();
                if let Some(&first) = rule_ids.get(id) {
                    let first = set.rules.get(first).map(|x: &Rule| x.location.clone());
                    if let Some(first) = first {
                        let kind = LoadProblemKind::Duplicate { what: "rule", name: id.to_string(), first };
                        cx.report(kind, rule.get_ref().id.span());
                    }
                    continue;
                }
                rule_ids.insert(Cow::Borrowed(id), set.rules.len());
                set.rules.push(r);
            }
        }
        for (name, plan) in &doc.plans {
            if let Some(p) = compile_plan(&mut cx, &docs, name, plan) {
                plans.push((Arc::clone(&p.name), p));
            }
        }
    }
    set.plans = plans.into_iter().collect();
    set.texts = compile_texts(&docs, sources, &mut problems);
    check_cycles(&set, &mut problems);
    check_limits(&docs, sources, &mut problems, &mut set);

    if !problems.is_empty() {
        return Err(problems.into_error());
    }
    let lineage = index::lineage(&set);
    let applying = index::applying_roles(&set, &lineage);
    let entries = index::entries(&set, &applying);
    if entries > crate::limits::MAX_INDEX_ENTRIES {
        let kind = LoadProblemKind::TooLarge {
            what: "rule × role × action index entries",
            count: entries,
            limit: crate::limits::MAX_INDEX_ENTRIES,
        };
        problems.push(0, crate::error::LoadProblem::new(kind, None));
        return Err(problems.into_error());
    }
    set.index = index::build(&set, &applying);
    set.lineage = lineage;
    Ok(set)
}

/// The billing link and the messages of every file: each checked, each set
/// once across files.
fn compile_texts(docs: &[(usize, PolicyDoc)], sources: &[Source], problems: &mut Problems) -> texts::Texts {
    let mut out = texts::Texts::default();
    let mut link_first: Option<Location> = None;
    let mut messages: Vec<(u8, String)> = Vec::new();
    let mut claims = Claims::default();
    for (index, doc) in docs {
        let Some(src) = sources.get(*index) else { continue };
        let mut cx = FileCtx { src, index: *index, problems: &mut *problems };
        if let Some(billing) = &doc.billing {
            let link = &billing.get_ref().link;
            if let Some(first) = &link_first {
                let kind = LoadProblemKind::Duplicate { what: "billing", name: "link".into(), first: first.clone() };
                cx.report(kind, link.span());
            } else {
                link_first = Some(cx.at(link.span()));
                let problem = if link.get_ref().trim().is_empty() {
                    Err("it is empty".to_string())
                } else {
                    texts::check(link.get_ref(), texts::LINK_PLACEHOLDERS)
                };
                match problem {
                    Ok(()) => out.billing_link = Some(link.get_ref().clone()),
                    Err(problem) => {
                        cx.report(LoadProblemKind::BadTemplate { what: "billing link".into(), problem }, link.span())
                    }
                }
            }
        }
        for (id, text) in &doc.messages {
            let Some((i, &(_, placeholders, _))) = texts::MESSAGES.iter().enumerate().find(|m| m.1 .0 == id.get_ref())
            else {
                let known = texts::MESSAGES.iter().map(|m| m.0.to_string()).collect();
                let kind = LoadProblemKind::UnknownName { what: "message", name: id.get_ref().clone(), known };
                cx.report(kind, id.span());
                continue;
            };
            if claims.claim(&mut cx, "message", id).is_none() {
                continue;
            }
            match texts::check(text.get_ref(), placeholders) {
                Ok(()) => messages.push((u8::try_from(i).unwrap_or(u8::MAX), text.get_ref().clone())),
                Err(problem) => {
                    let what = format!("message {}", id.get_ref());
                    cx.report(LoadProblemKind::BadTemplate { what, problem }, text.span());
                }
            }
        }
    }
    messages.sort_by_key(|m| m.0);
    out.messages = messages;
    out
}

fn unknown<'a>(what: &'static str, name: &str, known: impl Iterator<Item = &'a Arc<str>>) -> LoadProblemKind {
    LoadProblemKind::UnknownName { what, name: name.to_string(), known: known.map(|k| k.to_string()).collect() }
}

fn compile_rule(
    cx: &mut FileCtx,
    set: &PolicySet,
    rule: &Spanned<RuleDoc>,
    budget: &mut Option<usize>,
) -> Option<Rule> {
    use crate::limits::{MAX_CONDITIONS, MAX_LIST};
    let r = rule.get_ref();
    let span = r.id.span();
    let within = cx.within("roles of a rule", r.roles.as_ref().map_or(0, Vec::len), MAX_LIST, span.clone())
        & cx.within("actions of a rule", r.actions.len(), MAX_LIST, span.clone())
        & cx.within("conditions of a rule", r.when.len(), MAX_CONDITIONS, span);
    if !within {
        return None;
    }
    let id = cx.name(&r.id, "rule");
    let mut ok = id.is_some();
    let roles = match &r.roles {
        None => None,
        Some(list) => {
            let mut ids = Vec::new();
            for role in list {
                match set.role_ids.get(role.get_ref().as_str()) {
                    Some(&i) => ids.push(i),
                    None => {
                        cx.report(unknown("role", role.get_ref(), set.role_ids.keys()), role.span());
                        ok = false;
                    }
                }
            }
            ids.sort_unstable();
            ids.dedup();
            Some(ids)
        }
    };
    if r.actions.is_empty() {
        cx.report(LoadProblemKind::Empty { what: "actions" }, rule.span());
        ok = false;
    }
    let mut actions = Vec::new();
    let mut action_ids = Vec::new();
    // Each pattern once, however often it is listed: a glob repeated
    // 10,000 times is expanded once.
    let mut seen: Vec<&str> = Vec::with_capacity(r.actions.len());
    for a in &r.actions {
        let pattern = a.get_ref();
        actions.push(pattern.clone());
        match seen.binary_search(&pattern.as_str()) {
            Ok(_) => continue,
            Err(at) => seen.insert(at, pattern.as_str()),
        }
        if let Some(prefix) = pattern.strip_suffix(".*") {
            // Actions are sorted by name: those below `prefix.` are one run.
            let below = format!("{prefix}.");
            let from = set.actions.partition_point(|act| *act.name < *below);
            let matched = set.actions.get(from..).unwrap_or(&[]).iter().take_while(|act| act.name.starts_with(&below));
            let count = matched.clone().count();
            if count == 0 {
                cx.report(LoadProblemKind::GlobMatchesNothing { pattern: pattern.clone() }, a.span());
                ok = false;
                continue;
            }
            if !spend(cx, budget, count, a.span()) {
                return None;
            }
            action_ids.extend(from..from.saturating_add(count));
        } else if let Some(&i) = set.action_ids.get(pattern.as_str()) {
            if !spend(cx, budget, 1, a.span()) {
                return None;
            }
            action_ids.push(i);
        } else {
            cx.report(unknown("action", pattern, set.action_ids.keys()), a.span());
            ok = false;
        }
    }
    action_ids.sort_unstable();
    action_ids.dedup();
    let mut conditions = Vec::new();
    for c in &r.when {
        match compile_condition(cx, set, c) {
            Some(cond) => conditions.push(cond),
            None => ok = false,
        }
    }
    let id = id?;
    ok.then(|| Rule {
        id,
        effect: r.effect,
        description: r.description.clone(),
        roles,
        actions,
        action_ids,
        conditions,
        location: cx.at(rule.get_ref().id.span()),
    })
}

fn compile_condition(cx: &mut FileCtx, set: &PolicySet, c: &Spanned<ConditionDoc>) -> Option<Condition> {
    let d = c.get_ref();
    let attr = d.attr.get_ref();
    let Some((name, &ty)) = set.attributes.get_key_value(attr.as_str()) else {
        cx.report(unknown("attribute", attr, set.attributes.keys()), d.attr.span());
        return None;
    };
    let ops = [
        ("eq", &d.eq),
        ("ne", &d.ne),
        ("in", &d.in_),
        ("gt", &d.gt),
        ("gte", &d.gte),
        ("lt", &d.lt),
        ("lte", &d.lte),
        ("exists", &d.exists),
    ];
    let given: Vec<_> = ops.iter().filter_map(|(op, v)| v.as_ref().map(|v| (*op, v))).collect();
    let [(op, value)] = given.as_slice() else {
        let reason = format!("a condition needs exactly one operator (got {})", given.len());
        cx.report(LoadProblemKind::BadCondition { reason }, c.span());
        return None;
    };
    let bad = |cx: &mut FileCtx, reason: String| {
        cx.report(LoadProblemKind::BadCondition { reason }, value.span());
        None
    };
    // Every value the rule cannot use is reported: a rule dropped without a
    // word would be a deny that silently disappears. (A list's values have
    // no span of their own: their problems are reported at the list.)
    let typed = |cx: &mut FileCtx, v: &CondValue| -> Option<Value> {
        let number = |cx: &mut FileCtx, n: Result<Decimal, NumberError>| match n {
            Ok(n) => Some(Value::Num(n)),
            Err(e) => {
                let kind = match e {
                    NumberError::NotANumber(value) => LoadProblemKind::NotANumber { value },
                    NumberError::OutOfRange(value) => LoadProblemKind::OutOfRange { value },
                };
                cx.report(kind, value.span());
                None
            }
        };
        match (ty, v) {
            (AttrType::String, CondValue::String(s)) => Some(Value::Str(s.clone())),
            (AttrType::Bool, CondValue::Boolean(b)) => Some(Value::Bool(*b)),
            (AttrType::Number, CondValue::Integer(i)) => Some(Value::Num(Decimal::from(*i))),
            (AttrType::Number, CondValue::Float(text)) => number(cx, crate::money::decimal_from_literal(text)),
            (AttrType::Number, CondValue::String(s)) => number(cx, crate::money::parse_decimal_str(s)),
            _ => bad(cx, format!("`{attr}` is a {} attribute; `{op}` gives {}", type_name(ty), v.type_str())),
        }
    };
    let op = match *op {
        "eq" => Op::Eq(typed(cx, value.get_ref())?),
        "ne" => Op::Ne(typed(cx, value.get_ref())?),
        "in" => {
            let CondValue::Array(items) = value.get_ref() else {
                bad(cx, format!("`in` needs a list (got {})", value.get_ref().type_str()));
                return None;
            };
            if !cx.within("values of an `in` list", items.len(), crate::limits::MAX_LIST, value.span()) {
                return None;
            }
            // Every value is tried, so each one unusable is reported.
            let vals: Vec<Option<Value>> = items.iter().map(|v| typed(cx, v)).collect();
            Op::In(vals.into_iter().collect::<Option<Vec<Value>>>()?)
        }
        "exists" => match value.get_ref() {
            CondValue::Boolean(b) => Op::Exists(*b),
            other => {
                bad(cx, format!("`exists` needs true or false (got {})", other.type_str()));
                return None;
            }
        },
        cmp => {
            if ty != AttrType::Number {
                bad(cx, format!("`{cmp}` compares numbers; `{attr}` is a {} attribute", type_name(ty)));
                return None;
            }
            let Some(Value::Num(n)) = typed(cx, value.get_ref()) else { return None };
            match cmp {
                "gt" => Op::Gt(n),
                "gte" => Op::Gte(n),
                "lt" => Op::Lt(n),
                _ => Op::Lte(n),
            }
        }
    };
    Some(Condition { attr: Arc::clone(name), op })
}

pub(crate) fn type_name(t: AttrType) -> &'static str {
    match t {
        AttrType::String => "string",
        AttrType::Number => "number",
        AttrType::Bool => "bool",
    }
}

fn count(cx: &mut FileCtx, v: &Spanned<i64>, field: &str) -> Option<u64> {
    match u64::try_from(*v.get_ref()) {
        Ok(n) => Some(n),
        Err(_) => {
            let kind = LoadProblemKind::Negative { field: field.to_string(), value: Decimal::from(*v.get_ref()) };
            cx.report(kind, v.span());
            None
        }
    }
}

fn compile_plan(cx: &mut FileCtx, docs: &[(usize, PolicyDoc)], name: &Name, plan: &Spanned<PlanDoc>) -> Option<Plan> {
    let p = plan.get_ref();
    let id = cx.name(name, "plan")?;
    let mut ok = true;
    let all_plans = || docs.iter().flat_map(|(_, d)| d.plans.keys().map(|k| k.get_ref().clone()));
    let upgrade_to = match &p.upgrade_to {
        None => None,
        Some(u) => {
            if !all_plans().any(|k| &k == u.get_ref()) {
                let mut known: Vec<String> = all_plans().collect();
                known.sort_unstable();
                known.dedup();
                let kind = LoadProblemKind::UnknownName { what: "plan", name: u.get_ref().clone(), known };
                cx.report(kind, u.span());
                ok = false;
            }
            Some(Arc::from(u.get_ref().as_str()))
        }
    };
    let mut features = Vec::new();
    for (f, on) in &p.features {
        if !FEATURES.contains(&f.get_ref().as_str()) {
            let kind = LoadProblemKind::UnknownName {
                what: "feature",
                name: f.get_ref().clone(),
                known: FEATURES.iter().map(|s| s.to_string()).collect(),
            };
            cx.report(kind, f.span());
            ok = false;
        }
        features.push((Arc::from(f.get_ref().as_str()), *on));
    }
    let mut limits = Vec::new();
    for (limit, value) in p.limits.get_ref() {
        let Some(lid) = cx.name(limit, "limit") else {
            ok = false;
            continue;
        };
        let parsed = match value.get_ref() {
            LimitDoc::Count(n) => u64::try_from(*n).ok().map(Limit::Count),
            LimitDoc::Word(w) if w == "unlimited" => Some(Limit::Unlimited),
            LimitDoc::Word(_) => None,
        };
        match parsed {
            Some(l) => {
                limits.push((lid, l));
            }
            None => {
                let shown = match value.get_ref() {
                    LimitDoc::Count(n) => n.to_string(),
                    LimitDoc::Word(w) => format!("\"{w}\""),
                };
                cx.report(LoadProblemKind::BadLimit { limit: lid.to_string(), value: shown }, value.span());
                ok = false;
            }
        }
    }
    let mut tools = Vec::new();
    for (tool, t) in &p.tools {
        let Some(tid) = cx.name(tool, "tool") else {
            ok = false;
            continue;
        };
        let t = t.get_ref();
        let mut caps = Vec::new();
        for (window, v) in
            [(Window::Hour, &t.runs_per_hour), (Window::Day, &t.runs_per_day), (Window::Month, &t.runs_per_month)]
        {
            if let Some(v) = v {
                match count(cx, v, &format!("runs_per_{}", window.per())) {
                    Some(n) => caps.push((window, n)),
                    None => ok = false,
                }
            }
        }
        let ceiling = match &t.max_credits_per_run {
            None => None,
            Some(n) => match cx.non_negative(n, "max_credits_per_run") {
                Some(d) => Some(d),
                None => {
                    ok = false;
                    None
                }
            },
        };
        let location = cx.at(tool.span());
        tools.push((tid, PlanTool { location, enabled: t.enabled, caps, max_credits_per_run: ceiling }));
    }
    let top_up = match &p.top_up {
        None => None,
        Some(t) => {
            let t = t.get_ref();
            let increment = count(cx, &t.increment, "increment");
            if *t.increment.get_ref() == 0 {
                let kind = LoadProblemKind::NotPositive { field: "increment".into(), value: Decimal::ZERO };
                cx.report(kind, t.increment.span());
                ok = false;
            }
            let min = count(cx, &t.min, "min");
            let max = count(cx, &t.max, "max");
            if t.min.get_ref() > t.max.get_ref() {
                cx.report(LoadProblemKind::MinAboveMax { min: *t.min.get_ref(), max: *t.max.get_ref() }, t.min.span());
                ok = false;
            }
            let price_doc = t.price_per_increment.get_ref();
            let price = cx.non_negative(&price_doc.amount, "amount");
            let currency = price_doc.currency.get_ref().trim().to_string();
            if currency.is_empty() {
                cx.report(LoadProblemKind::Empty { what: "currency" }, price_doc.currency.span());
                ok = false;
            }
            match (increment, min, max, price) {
                (Some(increment), Some(min), Some(max), Some(price)) if increment > 0 => {
                    Some(TopUp { location: cx.at(t.increment.span()), increment, min, max, price, currency })
                }
                _ => {
                    ok = false;
                    None
                }
            }
        }
    };
    ok.then(|| Plan {
        label: p.label.clone().unwrap_or_else(|| id.to_string()),
        location: cx.at(name.span()),
        name: id,
        upgrade_to,
        features: features.into_iter().collect(),
        limits: limits.into_iter().collect(),
        tools: tools.into_iter().collect(),
        top_up,
    })
}

/// Every plan states every limit any plan states.
fn check_limits(docs: &[(usize, PolicyDoc)], sources: &[Source], problems: &mut Problems, set: &mut PolicySet) {
    // Each limit with the first plan that states it, by limit name.
    let mut stated: Vec<(&str, &str)> = Vec::new();
    for (_, doc) in docs {
        for (plan, p) in &doc.plans {
            for limit in p.get_ref().limits.get_ref().keys() {
                stated.push((limit.get_ref(), plan.get_ref()));
            }
        }
    }
    stated.sort_by(|a, b| a.0.cmp(b.0));
    // A limit that fewer than half of the plans state is taken for a
    // mistake in those plans (a typo, `max_seats` for `seats`) and reported
    // at its own key there, with the nearest known limit; the plans that
    // leave it out are not blamed for it.
    let plans = docs.iter().map(|(_, d)| d.plans.len()).sum::<usize>();
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for &(limit, _) in &stated {
        match counts.last_mut() {
            Some((l, n)) if *l == limit => *n += 1,
            _ => counts.push((limit, 1)),
        }
    }
    let stray = |limit: &str| counts.iter().any(|&(l, n)| l == limit && n.saturating_mul(2) < plans);
    let known: Vec<String> = counts.iter().filter(|(l, _)| !stray(l)).map(|(l, _)| l.to_string()).collect();
    stated.dedup_by(|later, first| later.0 == first.0);
    for (index, doc) in docs {
        let Some(src) = sources.get(*index) else { continue };
        let mut cx = FileCtx { src, index: *index, problems };
        for (_, p) in &doc.plans {
            for key in p.get_ref().limits.get_ref().keys() {
                if stray(key.get_ref()) {
                    let kind = LoadProblemKind::UnknownName {
                        what: "limit",
                        name: key.get_ref().clone(),
                        known: known.clone(),
                    };
                    cx.report(kind, key.span());
                }
            }
        }
        for (plan, p) in &doc.plans {
            let mut has: Vec<&str> = p.get_ref().limits.get_ref().keys().map(|k| k.get_ref().as_str()).collect();
            has.sort_unstable();
            for &(limit, by) in &stated {
                if has.binary_search(&limit).is_err() && !stray(limit) {
                    let kind = LoadProblemKind::MissingLimit {
                        plan: plan.get_ref().clone(),
                        limit: limit.to_string(),
                        stated_by: by.to_string(),
                    };
                    cx.report(kind, p.get_ref().limits.span());
                }
            }
        }
    }
    set.limits = stated.into_iter().map(|(k, _)| Arc::from(k)).collect();
}

/// Reports each inheritance cycle once, at the first role of the cycle.
fn check_cycles(set: &PolicySet, problems: &mut Problems) {
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; set.roles.len()];
    // The cycles reported, each as its sorted roles; kept sorted.
    let mut reported: Vec<Vec<usize>> = Vec::new();
    for start in 0..set.roles.len() {
        let mut path = Vec::new();
        visit(set, start, &mut state, &mut path, &mut |cycle: Vec<usize>| {
            let mut key = cycle.clone();
            key.sort_unstable();
            key.dedup();
            match reported.binary_search(&key) {
                Ok(_) => return,
                Err(at) => reported.insert(at, key),
            }
            let names = cycle.iter().filter_map(|&i| set.roles.get(i).map(|r| r.name.to_string())).collect();
            let kind = LoadProblemKind::InheritanceCycle { cycle: names };
            if let Some(first) = cycle.first().and_then(|&i| set.roles.get(i)) {
                problems.push(first.file, crate::error::LoadProblem::new(kind, Some(first.location.clone())));
            }
        });
    }
}

fn visit(set: &PolicySet, node: usize, state: &mut [u8], path: &mut Vec<usize>, found: &mut dyn FnMut(Vec<usize>)) {
    match state.get(node) {
        Some(2) | None => return,
        Some(1) => {
            if let Some(pos) = path.iter().position(|&n| n == node) {
                let mut cycle: Vec<usize> = path.get(pos..).map(<[usize]>::to_vec).unwrap_or_default();
                cycle.push(node);
                found(cycle);
            }
            return;
        }
        _ => {}
    }
    if let Some(s) = state.get_mut(node) {
        *s = 1;
    }
    path.push(node);
    let parents = set.roles.get(node).map(|r| r.inherits.clone()).unwrap_or_default();
    for p in parents {
        visit(set, p, state, path, found);
    }
    path.pop();
    if let Some(s) = state.get_mut(node) {
        *s = 2;
    }
}

/// For every rule of a loaded set, the roles it applies to.
pub(crate) fn applying_roles(set: &PolicySet) -> index::RoleSets {
    index::applying_roles(set, &set.lineage)
}

/// Takes `count` from what the rules may still name; reports the bound
/// once and spends it all when `count` is more than is left.
fn spend(cx: &mut FileCtx, budget: &mut Option<usize>, count: usize, span: std::ops::Range<usize>) -> bool {
    match budget.and_then(|left| left.checked_sub(count)) {
        Some(left) => {
            *budget = Some(left);
            true
        }
        None => {
            if let Some(left) = *budget {
                // Counted up to here: the rules name at least this many.
                let limit = crate::limits::MAX_RULE_ACTIONS;
                let count = limit.saturating_sub(left).saturating_add(count);
                let kind = LoadProblemKind::TooLarge { what: "actions named by rules (globs expanded)", count, limit };
                cx.report(kind, span);
            }
            *budget = None;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::pattern_matches;

    #[test]
    fn globs_cover_actions_below_their_prefix_only() {
        assert!(pattern_matches("billing.*", "billing.view"));
        assert!(pattern_matches("billing.*", "billing.usage.view"));
        assert!(!pattern_matches("billing.*", "billing"));
        assert!(!pattern_matches("billing.*", "billingx.view"));
        assert!(pattern_matches("billing.view", "billing.view"));
        assert!(!pattern_matches("billing.view", "billing.view.more"));
    }
}
