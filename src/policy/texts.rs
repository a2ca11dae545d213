//! What the policies may say in their own words (docs/formats.md, "Links and
//! messages"): the billing link's template, and the message of each reason
//! code and next step, for another wording or another language.
//!
//! A template is text with placeholders in braces (`{plan}`); each message
//! has its own placeholders, checked when the policies load. The shipped
//! wording is the default template of each message, so every message is
//! made one way.

use serde::{Deserialize, Serialize};
use std::fmt::{Display, Write as _};

/// The billing link when the policies set none.
pub(crate) const DEFAULT_BILLING_LINK: &str = "/org/{slug}/billing";

/// The placeholders of the billing link.
pub(crate) const LINK_PLACEHOLDERS: &[&str] = &["slug"];

/// Every message the policies may replace: its id (a reason code, or a next
/// step in lower case), its placeholders, and the shipped wording; in the
/// order of [`Msg`].
pub(crate) const MESSAGES: &[(&str, &[&str], &str)] = &[
    ("ORG_SUSPENDED", &["slug"], "organization `{slug}` is suspended"),
    // `{decision}`: the English sentence of the decision, naming its rules.
    ("ROLE_NOT_PERMITTED", &["role", "action", "rules", "decision"], "{decision}"),
    ("LIMIT_REACHED", &["limit", "plan", "current", "max"], "{limit} limit reached on {plan} ({current} of {max})"),
    ("TOOL_NOT_IN_PLAN", &["tool", "plan"], "{tool} is not included in {plan}"),
    (
        "FREQUENCY_CAP",
        &["tool", "cap", "window", "plan", "used"],
        "{tool} is capped at {cap} runs per {window} on {plan} ({used} used)",
    ),
    (
        "CEILING_EXCEEDED",
        &["cost", "plan", "ceiling", "tool"],
        "this run may cost up to {cost} credits; {plan} allows at most {ceiling} per {tool} run",
    ),
    (
        "INSUFFICIENT_CREDITS",
        &["cost", "balance", "short"],
        "this run may cost up to {cost} credits; the balance is {balance} (short {short})",
    ),
    (
        "POOL_EXHAUSTED",
        &["pool", "left", "cost"],
        "pool `{pool}` has {left} credits left; this run may cost up to {cost}",
    ),
    (
        "SPEND_CAP_REACHED",
        &["cost", "left", "cap"],
        "this run may cost up to {cost} credits; {left} remain under the monthly cap of {cap}",
    ),
    // Next steps, appended to the reason's message.
    ("upgrade", &["plan"], " — upgrade to {plan}"),
    ("ask_upgrade", &["who", "roles", "plan"], " — {who} can upgrade to {plan}"),
    ("top_up", &["credits", "price", "currency"], " — add {credits} credits for {price} {currency}"),
    ("ask_top_up", &["who", "roles"], " — {who} can add credits"),
    ("no_top_up", &[], " — no single top-up covers it; contact the owner"),
];

/// A message of [`MESSAGES`], by its place there. Its values are given in
/// the order of its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Msg {
    OrgSuspended,
    RoleNotPermitted,
    LimitReached,
    ToolNotInPlan,
    FrequencyCap,
    CeilingExceeded,
    InsufficientCredits,
    PoolExhausted,
    SpendCapReached,
    Upgrade,
    AskUpgrade,
    TopUp,
    AskTopUp,
    NoTopUp,
}

impl Msg {
    fn entry(self) -> (&'static str, &'static [&'static str], &'static str) {
        MESSAGES.get(self as usize).copied().unwrap_or(("", &[], ""))
    }

    /// Its placeholders, in the order its values are given.
    pub(crate) fn placeholders(self) -> &'static [&'static str] {
        self.entry().1
    }
}

/// The link and messages the policies set; what they leave out keeps the
/// shipped wording.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Texts {
    /// The billing link's template.
    pub(crate) billing_link: Option<String>,
    /// Message templates by their place in [`MESSAGES`], in that order.
    pub(crate) messages: Vec<(u8, String)>,
}

impl Texts {
    /// The template of `msg`: the policies' own, or the shipped one.
    pub(crate) fn message(&self, msg: Msg) -> &str {
        match self.messages.iter().find(|m| usize::from(m.0) == msg as usize) {
            Some((_, t)) => t,
            None => msg.entry().2,
        }
    }

    /// Every template is one the loader would take: a set read from a
    /// bundle is checked, not trusted.
    pub(crate) fn check_bundled(&self) -> Result<(), String> {
        // (`flaw`, not `check`, and one message: the loader's wording stays
        // out of the query-only WebAssembly module.)
        let link = self.billing_link.as_deref().is_none_or(|l| flaw(l, LINK_PLACEHOLDERS).is_none());
        let ordered = self.messages.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0));
        let messages =
            self.messages.iter().all(|(i, t)| MESSAGES.get(usize::from(*i)).is_some_and(|m| flaw(t, m.1).is_none()));
        if link && ordered && messages {
            Ok(())
        } else {
            Err("a billing link or message template the loader would refuse".into())
        }
    }

    /// The billing link of the organization `slug`.
    pub(crate) fn billing_link(&self, slug: &str) -> String {
        let template = self.billing_link.as_deref().unwrap_or(DEFAULT_BILLING_LINK);
        let mut link = String::with_capacity(template.len().saturating_add(slug.len()));
        render(&mut link, template, LINK_PLACEHOLDERS, &[&Encoded(slug)]);
        link
    }
}

/// A slug percent-encoded where it holds anything but letters, digits and
/// `-._~`: a slug with a `/`, a space or a `?` would otherwise make another
/// link.
struct Encoded<'a>(&'a str);

impl Display for Encoded<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                f.write_char(char::from(b))?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        Ok(())
    }
}

/// Appends `template` to `out`, each `{name}` replaced by the value at the
/// place of `name` in `placeholders`. The templates are checked when loaded
/// ([`check`]), so every placeholder has a value; one that had none would
/// be written as it stands.
pub(crate) fn render(out: &mut String, template: &str, placeholders: &[&str], values: &[&dyn Display]) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let (text, tail) = rest.split_at(open);
        out.push_str(text);
        let Some(close) = tail.find('}') else {
            out.push_str(tail);
            return;
        };
        let (name, after) = (tail.get(1..close).unwrap_or(""), tail.get(close + 1..).unwrap_or(""));
        match placeholders.iter().position(|p| *p == name).and_then(|i| values.get(i)) {
            // Writing to a String cannot fail.
            Some(value) => {
                let _ = write!(out, "{value}");
            }
            None => out.push_str(tail.get(..close + 1).unwrap_or("")),
        }
        rest = after;
    }
    out.push_str(rest);
}

/// What can be wrong with a template.
#[derive(Debug, PartialEq)]
enum Flaw<'t> {
    /// A `{` before the `}` of an open one.
    OpenTwice,
    /// A `{` never closed.
    Unclosed,
    /// A `}` that closes nothing.
    Stray,
    /// A placeholder the text does not have.
    Unknown(&'t str),
}

/// The first flaw of a template, if any.
fn flaw<'t>(template: &'t str, placeholders: &[&str]) -> Option<Flaw<'t>> {
    let mut rest = template;
    loop {
        match (rest.find('{'), rest.find('}')) {
            (None, None) => return None,
            (Some(o), Some(c)) if o < c => {
                let name = rest.get(o + 1..c).unwrap_or("");
                if name.contains('{') {
                    return Some(Flaw::OpenTwice);
                }
                if !placeholders.contains(&name) {
                    return Some(Flaw::Unknown(name));
                }
                rest = rest.get(c + 1..).unwrap_or("");
            }
            (Some(_), None) => return Some(Flaw::Unclosed),
            (_, Some(_)) => return Some(Flaw::Stray),
        }
    }
}

/// What is wrong with a template, if anything: a brace left open or closed
/// alone, or a placeholder this text does not have (with the nearest one).
pub(crate) fn check(template: &str, placeholders: &[&str]) -> Result<(), String> {
    match flaw(template, placeholders) {
        None => Ok(()),
        Some(Flaw::OpenTwice) => Err("a `{` is left open before another `{`".to_string()),
        Some(Flaw::Unclosed) => Err("a `{` is never closed".to_string()),
        Some(Flaw::Stray) => Err("a `}` closes nothing (braces only go around placeholders)".to_string()),
        Some(Flaw::Unknown(name)) => {
            let known: Vec<String> = placeholders.iter().map(|p| format!("{{{p}}}")).collect();
            let hint = crate::error::hint("placeholders", &format!("{{{name}}}"), &known);
            Err(format!("`{{{name}}}` is no placeholder of this text ({hint})"))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_shipped_template_passes_its_own_check() {
        // `Msg` names the entries in order.
        assert_eq!(Msg::NoTopUp as usize + 1, MESSAGES.len());
        assert_eq!((Msg::SpendCapReached.entry().0, Msg::Upgrade.entry().0), ("SPEND_CAP_REACHED", "upgrade"));
        for (id, placeholders, template) in MESSAGES {
            assert_eq!(check(template, placeholders), Ok(()), "{id}");
            // Every placeholder the shipped wording uses is declared, and
            // every declared one is filled in by the engine (checks.rs).
            let mut out = String::new();
            let values: Vec<&dyn Display> = placeholders.iter().map(|p| p as &dyn Display).collect();
            render(&mut out, template, placeholders, &values);
            assert!(!out.contains('{'), "{id}: {out}");
        }
        assert_eq!(check(DEFAULT_BILLING_LINK, LINK_PLACEHOLDERS), Ok(()));
    }

    /// docs/formats.md lists every message with its placeholders and its
    /// shipped wording, as this table has them.
    #[test]
    fn the_docs_list_every_message() {
        let docs = include_str!("../../docs/formats.md");
        for (id, placeholders, template) in MESSAGES {
            let names: Vec<String> = placeholders.iter().map(|p| format!("`{{{p}}}`")).collect();
            let names = if names.is_empty() { "none".to_string() } else { names.join(", ") };
            let row = format!("| `{id}` | {names} | `` {} `` |", template.replace('|', "\\|"));
            assert!(docs.contains(&row), "docs/formats.md lacks the row {row}");
        }
    }

    #[test]
    fn placeholders_are_filled_and_bad_templates_named() {
        let mut out = String::new();
        render(&mut out, "a {x} b {y}{x} {z}", &["x", "y", "z"], &[&1, &"two"]);
        assert_eq!(out, "a 1 b two1 {z}");
        assert_eq!(check("{plan} plus {plan}", &["plan"]), Ok(()));
        assert!(check("{plam}", &["plan"]).unwrap_err().contains("did you mean `{plan}`?"));
        assert!(check("{plan", &["plan"]).unwrap_err().contains("never closed"));
        assert!(check("plan}", &["plan"]).unwrap_err().contains("closes nothing"));
        assert!(check("{{plan}}", &["plan"]).unwrap_err().contains("left open"));
    }

    #[test]
    fn links_encode_the_slug() {
        let texts = Texts { billing_link: Some("https://app.example/o/{slug}/pay".into()), ..Texts::default() };
        assert_eq!(texts.billing_link("a b/c"), "https://app.example/o/a%20b%2Fc/pay");
        assert_eq!(Texts::default().billing_link("acme-1.x_~"), "/org/acme-1.x_~/billing");
        assert_eq!(Texts::default().billing_link("a/b c?é\0"), "/org/a%2Fb%20c%3F%C3%A9%00/billing");
        assert_eq!(Texts::default().billing_link(""), "/org//billing");
    }
}
