//! Checks (docs/formats.md, "Checks"): limits, top-ups, the pre-checkout quote and what a
//! role may see of billing. Every "no" carries a reason code, a one-line
//! message, the billing link, and the next step (upgrade or top-up).

use crate::error::{LimitError, QuoteError, TopUpError};
use crate::estimate::Estimate;
use crate::money::serialize_decimal;
use crate::names::{owned, NameMap};
use crate::policy::texts::Msg;
use crate::policy::{Decision, Limit, Plan, PolicySet};
use crate::rates::RateCard;
use crate::request::{AttrValue, Context, Org, QuoteRequest};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt::Display;

/// The plan a limit denial points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Upgrade<'e> {
    /// Plan name.
    pub plan: Cow<'e, str>,
    /// Plan label.
    pub label: Cow<'e, str>,
}

impl Upgrade<'_> {
    /// The same, owning its names.
    pub fn into_owned(self) -> Upgrade<'static> {
        Upgrade { plan: owned(self.plan), label: owned(self.label) }
    }
}

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Money {
    /// The amount, exact.
    #[serde(with = "crate::money::decimal")]
    pub amount: Decimal,
    /// ISO currency code.
    pub currency: String,
}

impl Money {
    /// An amount in a currency (an ISO code such as `USD`).
    pub fn new(amount: Decimal, currency: impl Into<String>) -> Money {
        Money { amount, currency: currency.into() }
    }
}

/// A top-up in whole blocks of the plan's increment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopUpQuote {
    /// Blocks bought.
    pub blocks: u64,
    /// Credits bought: `blocks × increment`.
    #[serde(with = "crate::money::decimal")]
    pub credits: Decimal,
    /// What it costs: `blocks × price_per_increment`.
    pub price: Money,
}

/// A limit's maximum or remaining room: a count, or unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// At most this many.
    Count(Decimal),
    /// No limit.
    Unlimited,
}

impl Serialize for Room {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Room::Count(n) => serialize_decimal(n, s),
            Room::Unlimited => s.serialize_str("unlimited"),
        }
    }
}

/// Read from what `Serialize` writes: a decimal, or `"unlimited"`.
impl<'de> Deserialize<'de> for Room {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = crate::money::Number::deserialize(d)?;
        if matches!(&n, crate::money::Number::Str(s) if s == "unlimited") {
            return Ok(Room::Unlimited);
        }
        n.to_decimal().map(Room::Count).map_err(|e| de::Error::custom(crate::money::decimal_message(e)))
    }
}

impl std::fmt::Display for Room {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Room::Count(n) => write!(f, "{}", n.normalize()),
            Room::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// The answer of a limit check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LimitCheck<'e> {
    /// Whether `current + adding` fits the plan's maximum.
    pub allowed: bool,
    /// The limit.
    pub limit: Cow<'e, str>,
    /// The organization's plan.
    pub plan: Cow<'e, str>,
    /// The current count, from the organization's usage.
    #[serde(with = "crate::money::decimal")]
    pub current: Decimal,
    /// How many the request adds.
    #[serde(with = "crate::money::decimal")]
    pub adding: Decimal,
    /// The plan's maximum.
    pub max: Room,
    /// Room left before this request: `max − current`, at least 0.
    pub remaining: Room,
    /// The plan to upgrade to, when denied and there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade<'e>>,
    /// Why not, when denied (code `LIMIT_REACHED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Denial<'e>>,
}

impl LimitCheck<'_> {
    /// The same answer, owning its names: it outlives the engine.
    pub fn into_owned(self) -> LimitCheck<'static> {
        LimitCheck {
            limit: owned(self.limit),
            plan: owned(self.plan),
            upgrade: self.upgrade.map(Upgrade::into_owned),
            reason: self.reason.map(Denial::into_owned),
            ..self
        }
    }
}

/// The stable code of a denial reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ReasonCode {
    /// The organization is suspended.
    OrgSuspended,
    /// The role may not do this.
    RoleNotPermitted,
    /// A plan limit is reached.
    LimitReached,
    /// The plan does not include the tool.
    ToolNotInPlan,
    /// The tool's frequency cap is reached.
    FrequencyCap,
    /// The run may cost more than the plan's ceiling per run.
    CeilingExceeded,
    /// The balance does not cover the run.
    InsufficientCredits,
    /// The pool the run draws on does not cover it.
    PoolExhausted,
    /// The monthly spend cap does not leave room for the run.
    SpendCapReached,
}

/// One reason of a denial: what fired and where to go next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Denial<'e> {
    /// Stable code.
    pub code: ReasonCode,
    /// One line for people.
    pub message: String,
    /// `/org/{slug}/billing`.
    pub billing_link: String,
    /// The rules that decided, for `ROLE_NOT_PERMITTED`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Cow<'e, str>>,
    /// The plan to upgrade to, for plan limits, caps and ceilings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade<'e>>,
    /// The top-up that covers a shortfall of credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_up: Option<TopUpQuote>,
}

impl Denial<'_> {
    /// The same reason, owning its names.
    pub fn into_owned(self) -> Denial<'static> {
        Denial {
            code: self.code,
            message: self.message,
            billing_link: self.billing_link,
            rules: self.rules.into_iter().map(owned).collect(),
            upgrade: self.upgrade.map(Upgrade::into_owned),
            top_up: self.top_up,
        }
    }
}

/// Allowed or denied.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every check passed.
    Allowed,
    /// At least one check failed; see the reasons.
    Denied,
}

/// The pre-checkout answer. [`Quote::into_owned`] gives one that outlives
/// the engine; an owned one is read back from its JSON with `Deserialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Quote<'e> {
    /// Allowed when there are no reasons.
    pub verdict: Verdict,
    /// What the run will cost.
    pub estimate: Estimate<'e>,
    /// Every reason it is denied, in a fixed order of codes.
    pub reasons: Vec<Denial<'e>>,
    /// The top-up that covers a shortfall of credits, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_up: Option<TopUpQuote>,
}

impl Quote<'_> {
    /// The same answer, owning its names: it outlives the engine (a
    /// reload, a spawned task).
    pub fn into_owned(self) -> Quote<'static> {
        Quote {
            verdict: self.verdict,
            estimate: self.estimate.into_owned(),
            reasons: self.reasons.into_iter().map(Denial::into_owned).collect(),
            top_up: self.top_up,
        }
    }
}

/// What a role may see and do on the billing page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BillingView<'e> {
    /// The role.
    pub role: Cow<'e, str>,
    /// The organization's plan.
    pub plan: Upgrade<'e>,
    /// `/org/{slug}/billing`.
    pub billing_link: String,
    /// Every `billing.*` action and whether this role may do it now.
    pub can: NameMap<'e, bool>,
    /// The self-serve buttons this role may use.
    pub buttons: Buttons,
    /// The balance, when the role may see it.
    #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
    pub balance: Option<Decimal>,
    /// The pools, when the plan has them and the role may see them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pools: Option<Vec<PoolView>>,
    /// Spend against the monthly cap, when set and the role may see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend: Option<SpendView>,
    /// The plan's limits and current counts, when the role may see them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Vec<LimitView<'e>>>,
}

impl BillingView<'_> {
    /// The same answer, owning its names: it outlives the engine.
    pub fn into_owned(self) -> BillingView<'static> {
        BillingView {
            role: owned(self.role),
            plan: self.plan.into_owned(),
            billing_link: self.billing_link,
            can: self.can.into_owned(),
            buttons: self.buttons,
            balance: self.balance,
            pools: self.pools,
            spend: self.spend,
            limits: self.limits.map(|l| {
                l.into_iter().map(|v| LimitView { limit: owned(v.limit), current: v.current, max: v.max }).collect()
            }),
        }
    }
}

/// Self-serve billing buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Buttons {
    /// Add credits (a top-up): `billing.top_up`, on a plan that sells them.
    pub add_credits: bool,
    /// Manage billing (the portal): `billing.portal`.
    pub manage_billing: bool,
    /// Upgrade (checkout): `billing.checkout`, on a plan with an upgrade.
    pub upgrade: bool,
}

/// A pool as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PoolView {
    /// Pool name.
    pub id: String,
    /// Credits earmarked.
    #[serde(with = "crate::money::decimal")]
    pub allocated: Decimal,
    /// Credits spent.
    #[serde(with = "crate::money::decimal")]
    pub spent: Decimal,
    /// `allocated − spent`.
    #[serde(with = "crate::money::decimal")]
    pub remaining: Decimal,
    /// Tools that draw on it.
    pub tools: Vec<String>,
}

/// Spend against the monthly cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SpendView {
    /// The cap.
    #[serde(with = "crate::money::decimal")]
    pub monthly_cap: Decimal,
    /// Spent so far.
    #[serde(with = "crate::money::decimal")]
    pub spent_this_month: Decimal,
    /// `monthly_cap − spent_this_month`, at least 0.
    #[serde(with = "crate::money::decimal")]
    pub remaining: Decimal,
}

/// A limit as shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LimitView<'e> {
    /// Limit name.
    pub limit: Cow<'e, str>,
    /// The current count, when the state has it.
    #[serde(default, with = "opt_decimal", skip_serializing_if = "Option::is_none")]
    pub current: Option<Decimal>,
    /// The plan's maximum.
    pub max: Room,
}

/// An optional decimal of an answer: a normalized string, or absent.
mod opt_decimal {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => crate::money::serialize_decimal(d, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<crate::money::DecimalValue>::deserialize(d).map(|v| v.map(|v| v.0))
    }
}

/// What is left of `of` once `used` is taken: zero when `used` is more.
/// Both are at least zero (`Org::validate`), so the difference cannot
/// overflow; `checked_sub` all the same, and no room when it would.
fn room(of: Decimal, used: Decimal) -> Decimal {
    // The sign of the difference rather than a comparison first: one
    // rescaling, not two (the comparison is 2 KB of the WebAssembly module).
    match of.checked_sub(used) {
        Some(left) if left.is_sign_positive() && !left.is_zero() => left,
        _ => Decimal::ZERO,
    }
}

fn n(d: Decimal) -> Decimal {
    crate::money::normalized(d)
}

/// Adds the context attributes the engine derives from the organization
/// (`org.plan`, `org.status`), when the policies declare them. They
/// override what a request supplies, so a request cannot claim another plan
/// or status.
fn derived_context(policies: &PolicySet, org: &Org, base: Option<&Context>) -> Context {
    let mut ctx = base.cloned().unwrap_or_default();
    let declared = |name: &str| policies.attributes.contains_key(name);
    if declared("org.plan") {
        ctx.insert("org.plan", AttrValue::String(org.plan.clone()));
    }
    if let (true, Some(status)) = (declared("org.status"), org.status) {
        ctx.insert("org.status", AttrValue::String(status.as_str().to_string()));
    }
    ctx
}

impl PolicySet {
    fn plan_of(&self, org: &Org) -> Option<&Plan> {
        self.plans.get(org.plan.as_str())
    }

    fn known_plans(&self) -> Vec<String> {
        self.plans.known()
    }

    /// The usage counters the checks read for an organization on `plan`:
    /// each limit (`seats`), and each tool cap's window counter
    /// (`tools.{tool}.runs_this_hour`, `runs_today`, `runs_this_month`),
    /// sorted. A counter a check needs and the organization lacks is an
    /// error (`missing_counter`), never read as zero.
    pub(crate) fn counters(&self, plan: &str) -> Result<Vec<String>, QuoteError> {
        let plan = self
            .plans
            .get(plan)
            .ok_or_else(|| QuoteError::UnknownPlan { plan: plan.to_string(), known: self.known_plans() })?;
        let mut out: Vec<String> = plan.limits.keys().map(|k| k.to_string()).collect();
        for (tool, rules) in &plan.tools {
            for (window, _) in &rules.caps {
                out.push(format!("tools.{tool}.{}", window.counter()));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Appends message `id`, in the policies' words, to `out`.
    fn say(&self, out: &mut String, msg: Msg, values: &[&dyn Display]) {
        crate::policy::texts::render(out, self.texts.message(msg), msg.placeholders(), values);
    }

    /// The billing link of an organization, from the policies' template.
    pub(crate) fn billing_link(&self, org: &Org) -> String {
        self.texts.billing_link(&org.slug)
    }

    fn upgrade_of(&self, plan: &Plan) -> Option<Upgrade<'_>> {
        let to = self.plans.get(plan.upgrade_to.as_deref()?)?;
        Some(Upgrade { plan: Cow::Borrowed(&to.name), label: Cow::Borrowed(&to.label) })
    }

    /// Does the plan allow `adding` more of `limit`?
    pub(crate) fn check_limit(&self, org: &Org, limit: &str, adding: Decimal) -> Result<LimitCheck<'_>, LimitError> {
        org.validate()?;
        let plan = self
            .plan_of(org)
            .ok_or_else(|| LimitError::UnknownPlan { plan: org.plan.clone(), known: self.known_plans() })?;
        let (name, max) = plan.limits.get_key_value(limit).ok_or_else(|| LimitError::UnknownLimit {
            limit: limit.to_string(),
            known: self.limits.iter().map(|l| l.to_string()).collect(),
        })?;
        // A count is a whole number, not below zero; the field is named
        // (and its name written) only when it is not.
        let whole = |v: Decimal, field: &dyn Fn() -> String| {
            if v.is_sign_negative() && !v.is_zero() || !crate::money::is_whole(v) {
                Err(LimitError::BadCount { field: field(), value: n(v).to_string() })
            } else {
                Ok(v)
            }
        };
        let adding = whole(adding, &|| "adding".to_string())?;
        // Whole and not negative: `Org::validate`.
        let current = *org.usage.get(limit).ok_or_else(|| LimitError::MissingCounter { counter: limit.to_string() })?;
        let (allowed, max, remaining) = match max {
            Limit::Unlimited => (true, Room::Unlimited, Room::Unlimited),
            Limit::Count(m) => {
                let m = Decimal::from(*m);
                let after = current.checked_add(adding);
                let allowed = after.is_some_and(|a| a <= m);
                (allowed, Room::Count(m), Room::Count(room(m, current)))
            }
        };
        let upgrade = if allowed { None } else { self.upgrade_of(plan) };
        let reason = (!allowed).then(|| {
            let mut message = String::new();
            let values: [&dyn Display; 4] = [name, &plan.label, &n(current), &max];
            self.say(&mut message, Msg::LimitReached, &values);
            if let Some(u) = &upgrade {
                self.say(&mut message, Msg::Upgrade, &[&u.label]);
            }
            Denial {
                code: ReasonCode::LimitReached,
                message,
                billing_link: self.texts.billing_link(&org.slug),
                rules: Vec::new(),
                upgrade: upgrade.clone(),
                top_up: None,
            }
        });
        Ok(LimitCheck {
            allowed,
            limit: Cow::Borrowed(name),
            plan: Cow::Borrowed(&plan.name),
            current,
            adding,
            max,
            remaining,
            upgrade,
            reason,
        })
    }

    /// The top-up that sells at least `credits`, in whole blocks.
    pub(crate) fn quote_top_up(&self, org: &Org, credits: Decimal) -> Result<TopUpQuote, TopUpError> {
        org.validate()?;
        let plan = self
            .plan_of(org)
            .ok_or_else(|| TopUpError::UnknownPlan { plan: org.plan.clone(), known: self.known_plans() })?;
        let t = plan.top_up.as_ref().ok_or_else(|| TopUpError::NotSold { plan: plan.name.to_string() })?;
        if credits <= Decimal::ZERO {
            return Err(TopUpError::NotPositive { credits: n(credits).to_string() });
        }
        if credits < Decimal::from(t.min) {
            return Err(TopUpError::BelowMinimum { credits: n(credits).to_string(), min: t.min });
        }
        let increment = Decimal::from(t.increment);
        let blocks = credits.checked_div(increment).ok_or(TopUpError::Overflow)?.ceil();
        let bought = blocks.checked_mul(increment).ok_or(TopUpError::Overflow)?;
        if bought > Decimal::from(t.max) {
            return Err(TopUpError::AboveMaximum { credits: n(bought).to_string(), max: t.max });
        }
        let blocks_u = u64::try_from(blocks).map_err(|_| TopUpError::Overflow)?;
        let amount = blocks.checked_mul(t.price).ok_or(TopUpError::Overflow)?;
        Ok(TopUpQuote { blocks: blocks_u, credits: bought, price: Money { amount, currency: t.currency.clone() } })
    }

    /// What `role` may see and do on the organization's billing page.
    pub(crate) fn visible_billing(&self, role: &str, org: &Org) -> Result<BillingView<'_>, QuoteError> {
        org.validate()?;
        let plan = self
            .plan_of(org)
            .ok_or_else(|| QuoteError::UnknownPlan { plan: org.plan.clone(), known: self.known_plans() })?;
        let ctx = derived_context(self, org, None);
        // The derived context holds declared attributes only; the role must exist.
        let role_name = self.role_id(role)?;
        // Actions are sorted by name.
        let mut can = Vec::new();
        for (ai, action) in self.actions.iter().enumerate() {
            if action.name.starts_with("billing.") {
                can.push((Cow::Borrowed(&*action.name), self.decide(role_name, ai, &ctx).allowed()));
            }
        }
        let can = NameMap::from_sorted(can);
        let may = |a: &str| can.get(a).copied().unwrap_or(false);
        let buttons = Buttons {
            add_credits: may("billing.top_up") && plan.top_up.is_some(),
            manage_billing: may("billing.portal"),
            upgrade: may("billing.checkout") && plan.upgrade_to.is_some(),
        };
        let balance = may("billing.balance.view").then_some(org.balance);
        let pools = (may("billing.pools.view") && plan.feature("allocation_pools")).then(|| {
            org.pools
                .iter()
                .map(|p| PoolView {
                    id: p.id.clone(),
                    allocated: p.allocated,
                    spent: p.spent,
                    remaining: room(p.allocated, p.spent),
                    tools: p.tools.clone(),
                })
                .collect()
        });
        let spend = match (&org.spend_controls, may("billing.spend.view")) {
            (Some(s), true) => Some(SpendView {
                monthly_cap: s.monthly_cap,
                spent_this_month: s.spent_this_month,
                remaining: room(s.monthly_cap, s.spent_this_month),
            }),
            _ => None,
        };
        let limits = may("billing.limits.view").then(|| {
            plan.limits
                .iter()
                .map(|(name, max)| LimitView {
                    limit: Cow::Borrowed(name),
                    current: org.usage.get(name).copied(),
                    max: match max {
                        Limit::Count(m) => Room::Count(Decimal::from(*m)),
                        Limit::Unlimited => Room::Unlimited,
                    },
                })
                .collect()
        });
        let role = self.roles.get(role_name).map_or("", |r| &*r.name);
        Ok(BillingView {
            role: Cow::Borrowed(role),
            plan: Upgrade { plan: Cow::Borrowed(&plan.name), label: Cow::Borrowed(&plan.label) },
            billing_link: self.texts.billing_link(&org.slug),
            can,
            buttons,
            balance,
            pools,
            spend,
            limits,
        })
    }
}

/// The `tools.run` decision a quote makes, with every rule's trace.
pub(crate) fn explain_quote<'e>(
    policies: &'e PolicySet,
    req: &QuoteRequest,
) -> Result<crate::policy::Explanation<'e>, QuoteError> {
    let ctx = derived_context(policies, &req.org, req.context.as_ref());
    Ok(policies.explain(&req.role, "tools.run", &ctx)?)
}

/// The pre-checkout quote: estimate, authorization of `tools.run`, tool enablement,
/// frequency caps, ceiling, affordability; every reason at once.
pub(crate) fn quote<'e>(
    rates: &'e RateCard,
    policies: &'e PolicySet,
    fingerprint: &'e str,
    req: &QuoteRequest,
) -> Result<Quote<'e>, QuoteError> {
    let org = &req.org;
    org.validate()?;
    let plan = policies
        .plan_of(org)
        .ok_or_else(|| QuoteError::UnknownPlan { plan: org.plan.clone(), known: policies.known_plans() })?;
    let ctx = derived_context(policies, org, req.context.as_ref());
    let decision: Decision<'e> = policies.authorize(&req.role, "tools.run", &ctx)?;
    let estimate = rates.estimate(&req.run, fingerprint)?;
    let cost = estimate.charged.high;
    let link = policies.texts.billing_link(&org.slug);
    // Next steps respect the role: an offer to buy (a top-up, an upgrade)
    // goes to a role that may take it; another role is told who can.
    let may = |action: &str| policies.authorize(&req.role, action, &ctx).is_ok_and(|d| d.allowed());
    // The roles that may take `action` (`{roles}`), and in words (`{who}`).
    let who = |action: &str| {
        let roles: Vec<&str> = policies
            .roles
            .iter()
            .map(|r| &*r.name)
            .filter(|r| policies.authorize(r, action, &ctx).is_ok_and(|d| d.allowed()))
            .collect();
        let who = match roles.as_slice() {
            [] => "no role".to_string(),
            [one] => format!("the {one}"),
            [init @ .., last] => format!("the {} or {last}", init.join(", ")),
        };
        (who, roles.join(", "))
    };
    // The next step of a plan reason: the upgrade, offered to a role that
    // may check out (asked only when a reason needs it), else who can.
    let may_upgrade = std::cell::OnceCell::new();
    let upgrade_step = |m: &mut String| -> Option<Upgrade<'e>> {
        let u = policies.upgrade_of(plan)?;
        if *may_upgrade.get_or_init(|| may("billing.checkout")) {
            policies.say(m, Msg::Upgrade, &[&u.label]);
            Some(u)
        } else {
            let (who, roles) = who("billing.checkout");
            policies.say(m, Msg::AskUpgrade, &[&who, &roles, &u.label]);
            None
        }
    };
    let mut reasons = Vec::new();
    let mut push = |code, message: String, rules: Vec<Cow<'e, str>>, upgrade: Option<Upgrade<'e>>, top_up| {
        reasons.push(Denial { code, message, billing_link: link.clone(), rules, upgrade, top_up });
    };

    if org.is_suspended() {
        let mut m = String::new();
        policies.say(&mut m, Msg::OrgSuspended, &[&org.slug]);
        push(ReasonCode::OrgSuspended, m, Vec::new(), None, None);
    }
    if !decision.allowed() {
        let mut m = String::new();
        let mut rules = String::new();
        for (i, r) in decision.rules.iter().enumerate() {
            if i > 0 {
                rules.push_str(", ");
            }
            rules.push_str(r);
        }
        let values: [&dyn Display; 4] = [&decision.role, &decision.action, &rules, &decision.message()];
        policies.say(&mut m, Msg::RoleNotPermitted, &values);
        push(ReasonCode::RoleNotPermitted, m, decision.rules, None, None);
    }
    if let Some(tool) = &req.run.tool {
        if let Some(rules) = plan.tools.get(tool.as_str()) {
            if !rules.enabled {
                let mut m = String::new();
                policies.say(&mut m, Msg::ToolNotInPlan, &[tool, &plan.label]);
                let upgrade = upgrade_step(&mut m);
                push(ReasonCode::ToolNotInPlan, m, Vec::new(), upgrade, None);
            }
            for (window, cap) in &rules.caps {
                let counter = format!("tools.{tool}.{}", window.counter());
                let used = *org.usage.get(&counter).ok_or(QuoteError::MissingCounter { counter })?;
                if used.checked_add(Decimal::ONE).is_none_or(|after| after > Decimal::from(*cap)) {
                    let mut m = String::new();
                    let values: [&dyn Display; 5] = [tool, cap, &window.per(), &plan.label, &n(used)];
                    policies.say(&mut m, Msg::FrequencyCap, &values);
                    let upgrade = upgrade_step(&mut m);
                    push(ReasonCode::FrequencyCap, m, Vec::new(), upgrade, None);
                }
            }
            if let Some(ceiling) = rules.max_credits_per_run {
                if cost > ceiling {
                    let mut m = String::new();
                    let values: [&dyn Display; 4] = [&n(cost), &plan.label, &n(ceiling), tool];
                    policies.say(&mut m, Msg::CeilingExceeded, &values);
                    let upgrade = upgrade_step(&mut m);
                    push(ReasonCode::CeilingExceeded, m, Vec::new(), upgrade, None);
                }
            }
        }
    }
    let mut top_up = None;
    if cost > org.balance {
        // Both are at least zero (`Org::validate`, charged amounts), so
        // the difference is within range; checked all the same.
        let short = cost.checked_sub(org.balance).ok_or(QuoteError::Overflow)?;
        // The top-up that covers the shortfall: at least the plan's minimum.
        let wanted = match plan.top_up.as_ref() {
            Some(t) => short.max(Decimal::from(t.min)),
            None => short,
        };
        let may_top_up = may("billing.top_up");
        let quote = policies.quote_top_up(org, wanted).ok().filter(|_| may_top_up);
        let mut m = String::new();
        let values: [&dyn Display; 3] = [&n(cost), &n(org.balance), &n(short)];
        policies.say(&mut m, Msg::InsufficientCredits, &values);
        match &quote {
            Some(q) => {
                let price = format!("{:.2}", q.price.amount);
                let values: [&dyn Display; 3] = [&n(q.credits), &price, &q.price.currency];
                policies.say(&mut m, Msg::TopUp, &values);
            }
            None if !may_top_up => {
                let (who, roles) = who("billing.top_up");
                policies.say(&mut m, Msg::AskTopUp, &[&who, &roles]);
            }
            None => policies.say(&mut m, Msg::NoTopUp, &[]),
        }
        top_up.clone_from(&quote);
        push(ReasonCode::InsufficientCredits, m, Vec::new(), None, quote);
    }
    if plan.feature("allocation_pools") {
        if let Some(tool) = &req.run.tool {
            // A run draws on the first pool (in the order given) that lists its tool.
            if let Some(pool) = org.pools.iter().find(|p| p.tools.iter().any(|t| t == tool)) {
                let left = room(pool.allocated, pool.spent);
                if cost > left {
                    let mut m = String::new();
                    let values: [&dyn Display; 3] = [&pool.id, &n(left), &n(cost)];
                    policies.say(&mut m, Msg::PoolExhausted, &values);
                    push(ReasonCode::PoolExhausted, m, Vec::new(), None, None);
                }
            }
        }
    }
    if let Some(s) = &org.spend_controls {
        let left = room(s.monthly_cap, s.spent_this_month);
        if cost > left {
            let mut m = String::new();
            let values: [&dyn Display; 3] = [&n(cost), &n(left), &n(s.monthly_cap)];
            policies.say(&mut m, Msg::SpendCapReached, &values);
            push(ReasonCode::SpendCapReached, m, Vec::new(), None, None);
        }
    }
    reasons.sort_by_key(|r| r.code);
    let verdict = if reasons.is_empty() { Verdict::Allowed } else { Verdict::Denied };
    Ok(Quote { verdict, estimate, reasons, top_up })
}
