//! One error type per operation: loading sources, reading a request,
//! estimating a run. Variants carry structured data; `Display` gives the
//! one-line message and `help()` the longer advice.

use crate::source::Location;
use rust_decimal::Decimal;
use std::fmt;

/// Loading rate or policy sources failed. Holds every problem found, in
/// source order; nothing of a failed load is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    problems: Vec<LoadProblem>,
}

impl LoadError {
    pub(crate) fn new(problems: Vec<LoadProblem>) -> Self {
        LoadError { problems }
    }

    /// Both errors' problems, this one's first.
    pub(crate) fn merge(mut self, other: LoadError) -> LoadError {
        self.problems.extend(other.problems);
        self
    }

    /// Every problem found, in source order (file name, then position).
    pub fn problems(&self) -> &[LoadProblem] {
        &self.problems
    }
}

/// One problem per line; the alternate form (`{:#}`) adds each problem's
/// help on an indented line after it.
impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
            if f.alternate() {
                write!(f, "\n  help: {}", p.help())?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// One problem of a load: what is wrong and where.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProblem {
    kind: LoadProblemKind,
    location: Option<Location>,
}

impl LoadProblem {
    pub(crate) fn new(kind: LoadProblemKind, location: Option<Location>) -> Self {
        LoadProblem { kind, location }
    }

    /// What is wrong.
    pub fn kind(&self) -> &LoadProblemKind {
        &self.kind
    }

    /// Where, when the problem sits in a source.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// A stable machine-readable code, such as `negative_rate`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// Advice on how to fix it.
    pub fn help(&self) -> String {
        self.kind.help()
    }
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(at) = &self.location {
            write!(f, "{at}: ")?;
        }
        write!(f, "{}", self.kind)
    }
}

/// What is wrong with a source.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadProblemKind {
    /// A file or folder could not be read.
    #[error("cannot read `{path}`: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// A folder holds no `*.toml` file.
    #[error("no `*.toml` files in `{path}`")]
    EmptyFolder {
        /// The folder.
        path: String,
    },
    /// Not valid TOML, or a key or value the format does not allow
    /// (unknown keys, wrong types, duplicate keys, missing fields).
    #[error("{message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A value that should be a decimal number is not one.
    #[error("`{value}` is not a decimal number")]
    NotANumber {
        /// The value as written.
        value: String,
    },
    /// A number outside the 28-digit decimal range.
    #[error("`{value}` is out of range")]
    OutOfRange {
        /// The value as written.
        value: String,
    },
    /// A rate below zero.
    #[error("`{field}` is negative (`{value}`)")]
    Negative {
        /// The key.
        field: String,
        /// The value.
        value: Decimal,
    },
    /// A count or size that must be above zero is zero or less.
    #[error("`{field}` must be greater than zero (got `{value}`)")]
    NotPositive {
        /// The key.
        field: String,
        /// The value.
        value: Decimal,
    },
    /// A whole number was expected.
    #[error("`{field}` must be a whole number (got `{value}`)")]
    NotWhole {
        /// The key.
        field: String,
        /// The value.
        value: Decimal,
    },
    /// A tier whose `above` is not above the tier before it.
    #[error("tier `above = {above}` is not above the previous tier's `above = {previous}`")]
    TiersNotIncreasing {
        /// This tier's threshold.
        above: Decimal,
        /// The previous tier's threshold.
        previous: Decimal,
    },
    /// A tier that would make more tokens cost less.
    #[error("tier above {above} lowers `{field}` from `{from}` to `{to}`")]
    TierLowersRate {
        /// The tier's threshold.
        above: Decimal,
        /// The component.
        field: String,
        /// The rate below this tier.
        from: Decimal,
        /// This tier's rate.
        to: Decimal,
    },
    /// A name defined twice.
    #[error("{what} `{name}` is defined twice (first at {first})")]
    Duplicate {
        /// What kind of thing: `text model`, `tool`, ...
        what: &'static str,
        /// Its name.
        name: String,
        /// The first definition.
        first: Location,
    },
    /// No source holds the `[card]` table.
    #[error("no rate file holds the `[card]` table")]
    MissingCard,
    /// More than one `[card]`.
    #[error("a second `[card]` table (first at {first})")]
    DuplicateCard {
        /// The first one.
        first: Location,
    },
    /// `[card] precision` out of range.
    #[error("`precision` must be between 0 and 28 (got `{value}`)")]
    BadPrecision {
        /// The value.
        value: i64,
    },
    /// A default that names nothing defined.
    #[error("{what} `{value}` is not defined ({})", hint("defined", .value, .known))]
    UnknownDefault {
        /// `default_quality`, `default_size`, ...
        what: &'static str,
        /// The name.
        value: String,
        /// What exists.
        known: Vec<String>,
    },
    /// A default image size missing at one of the model's qualities.
    #[error("default_size `{size}` is not priced at quality `{quality}` (priced: {})", list(.known))]
    DefaultSizeNotPriced {
        /// The default size.
        size: String,
        /// The quality that lacks it.
        quality: String,
        /// The sizes that quality prices.
        known: Vec<String>,
    },
    /// A table that must not be empty is.
    #[error("`{what}` is empty")]
    Empty {
        /// Which table.
        what: &'static str,
    },
    /// A reference to a name that is not defined.
    #[error("unknown {what} `{name}` ({})", hint("known", .name, .known))]
    UnknownName {
        /// `role`, `action`, `attribute`, `plan`, `feature`.
        what: &'static str,
        /// The name.
        name: String,
        /// What is defined, sorted.
        known: Vec<String>,
    },
    /// Roles that inherit from each other in a circle.
    #[error("role inheritance cycle: {}", .cycle.join(" -> "))]
    InheritanceCycle {
        /// The roles around the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// An action glob that matches no action.
    #[error("`{pattern}` matches no action")]
    GlobMatchesNothing {
        /// The glob.
        pattern: String,
    },
    /// A `when` condition that cannot be evaluated as written.
    #[error("{reason}")]
    BadCondition {
        /// What is wrong.
        reason: String,
    },
    /// A plan that leaves out a limit another plan states.
    #[error("plan `{plan}` does not state limit `{limit}` (stated by plan `{stated_by}`)")]
    MissingLimit {
        /// The plan.
        plan: String,
        /// The limit.
        limit: String,
        /// A plan that states it.
        stated_by: String,
    },
    /// A limit that is neither a count nor `"unlimited"`.
    #[error("limit `{limit}` must be a whole number of zero or more, or \"unlimited\" (got {value})")]
    BadLimit {
        /// The limit.
        limit: String,
        /// The value as written.
        value: String,
    },
    /// A minimum above its maximum.
    #[error("`min` ({min}) is above `max` ({max})")]
    MinAboveMax {
        /// The minimum.
        min: i64,
        /// The maximum.
        max: i64,
    },
    /// An input bound of [`crate::limits`] was exceeded.
    #[error("{what} exceeds the limit of {limit} (has {count})")]
    TooLarge {
        /// What is counted: `bytes of the file`, `rules`, ...
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The bound.
        limit: usize,
    },
    /// A link or message template that cannot be filled in.
    #[error("{what}: {problem}")]
    BadTemplate {
        /// Which text: `billing link`, `message INSUFFICIENT_CREDITS`.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// A rule that could not be compiled for a reason no other problem
    /// names. Never expected: it keeps a rule from vanishing without a word.
    #[error("rule `{id}` could not be compiled")]
    RuleNotCompiled {
        /// The rule's id.
        id: String,
    },
    /// A name that is empty or has characters names may not hold.
    #[error("{what} name `{name}` is not allowed")]
    BadName {
        /// What kind of thing.
        what: &'static str,
        /// The name.
        name: String,
    },
}

impl LoadProblemKind {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LoadProblemKind::Io { .. } => "io",
            LoadProblemKind::EmptyFolder { .. } => "empty_folder",
            LoadProblemKind::Syntax { .. } => "syntax",
            LoadProblemKind::NotANumber { .. } => "not_a_number",
            LoadProblemKind::OutOfRange { .. } => "out_of_range",
            LoadProblemKind::Negative { .. } => "negative",
            LoadProblemKind::NotPositive { .. } => "not_positive",
            LoadProblemKind::NotWhole { .. } => "not_whole",
            LoadProblemKind::TiersNotIncreasing { .. } => "tiers_not_increasing",
            LoadProblemKind::TierLowersRate { .. } => "tier_lowers_rate",
            LoadProblemKind::Duplicate { .. } => "duplicate",
            LoadProblemKind::MissingCard => "missing_card",
            LoadProblemKind::DuplicateCard { .. } => "duplicate_card",
            LoadProblemKind::BadPrecision { .. } => "bad_precision",
            LoadProblemKind::UnknownDefault { .. } => "unknown_default",
            LoadProblemKind::DefaultSizeNotPriced { .. } => "default_size_not_priced",
            LoadProblemKind::Empty { .. } => "empty",
            LoadProblemKind::BadName { .. } => "bad_name",
            LoadProblemKind::UnknownName { .. } => "unknown_name",
            LoadProblemKind::TooLarge { .. } => "too_large",
            LoadProblemKind::InheritanceCycle { .. } => "inheritance_cycle",
            LoadProblemKind::GlobMatchesNothing { .. } => "glob_matches_nothing",
            LoadProblemKind::BadCondition { .. } => "bad_condition",
            LoadProblemKind::MissingLimit { .. } => "missing_limit",
            LoadProblemKind::BadLimit { .. } => "bad_limit",
            LoadProblemKind::MinAboveMax { .. } => "min_above_max",
            LoadProblemKind::RuleNotCompiled { .. } => "rule_not_compiled",
            LoadProblemKind::BadTemplate { .. } => "bad_template",
        }
    }

    /// Advice on how to fix it.
    pub fn help(&self) -> String {
        match self {
            LoadProblemKind::Io { .. } => "check the path and its permissions".into(),
            LoadProblemKind::EmptyFolder { .. } => "point at the folder that holds the `.toml` files".into(),
            LoadProblemKind::Syntax { .. } => {
                "see the file formats in docs/formats.md (rate files, policy files)".into()
            }
            LoadProblemKind::NotANumber { .. } => {
                "write decimals as strings of digits with an optional point, such as \"0.25\"".into()
            }
            LoadProblemKind::OutOfRange { .. } => {
                "decimals hold at most 28 places, and values up to 79228162514264337593543950335".into()
            }
            LoadProblemKind::Negative { .. } => "rates, amounts and counts cannot be below zero".into(),
            LoadProblemKind::NotPositive { .. } => "use a value above zero".into(),
            LoadProblemKind::NotWhole { .. } => "write a whole number, without a fraction".into(),
            LoadProblemKind::TiersNotIncreasing { .. } => {
                "list tiers in increasing order of `above`, each threshold used once".into()
            }
            LoadProblemKind::TierLowersRate { .. } => {
                "a higher tier must not be cheaper: more tokens would cost less".into()
            }
            LoadProblemKind::Duplicate { .. } => "rename or remove one of the two definitions".into(),
            LoadProblemKind::MissingCard => {
                "add `[card]` with `version`, `precision` and `rounding` to one rate file".into()
            }
            LoadProblemKind::DuplicateCard { .. } => "keep `[card]` in exactly one rate file".into(),
            LoadProblemKind::BadPrecision { .. } => "precision is the decimal places of a charged amount".into(),
            LoadProblemKind::UnknownDefault { .. } => "name one of the defined entries".into(),
            LoadProblemKind::DefaultSizeNotPriced { .. } => {
                "price the default size at every quality, or drop `default_size`".into()
            }
            LoadProblemKind::Empty { .. } => "define at least one entry".into(),
            LoadProblemKind::BadName { .. } => "names are non-empty, without spaces, control characters or `*`".into(),
            LoadProblemKind::TooLarge { .. } => {
                "the bounds of tollgate::limits are far above real use; split or simplify the input".into()
            }
            LoadProblemKind::UnknownName { what, .. } => {
                format!("define the {what} or use one of the known names")
            }
            LoadProblemKind::InheritanceCycle { .. } => {
                "a role inherits the rules of the roles it names; break the circle".into()
            }
            LoadProblemKind::GlobMatchesNothing { .. } => {
                "`prefix.*` covers the actions below `prefix`; declare them in `[actions]`".into()
            }
            LoadProblemKind::BadCondition { .. } => {
                "a condition is `{ attr = \"name\", OP = value }` with one of eq, ne, in, gt, gte, lt, lte, exists"
                    .into()
            }
            LoadProblemKind::MissingLimit { .. } => {
                "every plan states every limit; write \"unlimited\" for no limit".into()
            }
            LoadProblemKind::BadLimit { .. } => "write a count such as 3, or \"unlimited\"".into(),
            LoadProblemKind::MinAboveMax { .. } => "the smallest top-up cannot exceed the largest".into(),
            LoadProblemKind::RuleNotCompiled { .. } => {
                "the engine refuses a rule it cannot use rather than drop it; please report this with the rule".into()
            }
            LoadProblemKind::BadTemplate { .. } => {
                "write text with placeholders in braces, such as `{plan}`; docs/formats.md lists each message's".into()
            }
        }
    }
}

/// A request (a run, as TOML or JSON) could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", location.as_ref().map(|l| format!("{l}: ")).unwrap_or_default())]
pub struct InputError {
    message: String,
    location: Option<Location>,
}

impl InputError {
    pub(crate) fn new(message: String, location: Option<Location>) -> Self {
        InputError { message, location }
    }

    /// The message, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where in the request text, when known.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }
}

/// Estimating a run failed; nothing is priced at zero in its place.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EstimateError {
    /// A model the rate tables do not define.
    #[error("items[{item}]: unknown {kind} model `{model}` ({})", hint("known", .model, .known))]
    UnknownModel {
        /// Index of the item in the run.
        item: usize,
        /// `text`, `image` or `video`.
        kind: &'static str,
        /// The name asked for.
        model: String,
        /// The models of that kind, sorted.
        known: Vec<String>,
    },
    /// An image quality the model does not price.
    #[error("items[{item}]: unknown quality `{quality}` for `{model}` ({})", hint("known", .quality, .known))]
    UnknownQuality {
        /// Index of the item.
        item: usize,
        /// The model.
        model: String,
        /// The quality asked for.
        quality: String,
        /// The qualities it prices.
        known: Vec<String>,
    },
    /// An image size the model does not price at that quality.
    #[error("items[{item}]: unknown size `{size}` for `{model}` at quality `{quality}` ({})", hint("known", .size, .known))]
    UnknownSize {
        /// Index of the item.
        item: usize,
        /// The model.
        model: String,
        /// The quality.
        quality: String,
        /// The size asked for.
        size: String,
        /// The sizes priced at that quality.
        known: Vec<String>,
    },
    /// A video resolution the model does not price.
    #[error("items[{item}]: unknown resolution `{resolution}` for `{model}` ({})", hint("known", .resolution, .known))]
    UnknownResolution {
        /// Index of the item.
        item: usize,
        /// The model.
        model: String,
        /// The resolution asked for.
        resolution: String,
        /// The resolutions it prices.
        known: Vec<String>,
    },
    /// A tool the rate tables do not define.
    #[error("unknown tool `{tool}` ({})", hint("known", .tool, .known))]
    UnknownTool {
        /// The tool asked for.
        tool: String,
        /// The tools, sorted.
        known: Vec<String>,
    },
    /// A model without a default, asked without the value.
    #[error("items[{item}]: `{model}` has no default {what}; give `{what}` (known: {})", list(.known))]
    MissingChoice {
        /// Index of the item.
        item: usize,
        /// The model.
        model: String,
        /// `quality`, `size` or `resolution`.
        what: &'static str,
        /// What can be chosen.
        known: Vec<String>,
    },
    /// Audio asked of a video model that does not price it.
    #[error("items[{item}]: `{model}` has no audio rate")]
    NoAudio {
        /// Index of the item.
        item: usize,
        /// The model.
        model: String,
    },
    /// A text item without any token count.
    #[error("items[{item}]: a text item needs at least one token count")]
    NoTokens {
        /// Index of the item.
        item: usize,
    },
    /// A quantity that is negative, fractional where it must be whole, or
    /// a range whose min is above its max.
    #[error("items[{item}].{field}: {problem}")]
    BadQuantity {
        /// Index of the item.
        item: usize,
        /// The field, as the JSON interface spells it (`inputTokens`; run
        /// files may write it `input_tokens`).
        field: &'static str,
        /// What is wrong.
        problem: QuantityProblem,
    },
    /// A run with more items than [`crate::limits::MAX_ITEMS`].
    #[error("the run has {count} items; the limit is {limit}")]
    TooManyItems {
        /// Items in the run.
        count: usize,
        /// The bound.
        limit: usize,
    },
    /// A run with neither a tool nor items.
    #[error("the run is empty: give a `tool`, `items`, or both")]
    EmptyRun,
    /// A result beyond the decimal range.
    #[error("the estimate overflows the decimal range")]
    Overflow,
    /// A sum or product whose exact value needs more digits than a decimal
    /// holds (28 places, 96 bits): never rounded silently.
    #[error("the estimate cannot be computed exactly: an amount needs more than 28 significant digits")]
    NotExact,
}

/// What is wrong with a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QuantityProblem {
    /// Below zero.
    #[error("`{0}` is negative")]
    Negative(String),
    /// A fraction where a whole count is needed (tokens, images).
    #[error("`{0}` is not a whole number")]
    NotWhole(String),
    /// A range whose `min` is above its `max`.
    #[error("range min `{min}` is above max `{max}`")]
    MinAboveMax {
        /// The minimum.
        min: String,
        /// The maximum.
        max: String,
    },
    /// Not a decimal number.
    #[error("`{0}` is not a decimal number")]
    NotANumber(String),
}

impl EstimateError {
    /// A stable machine-readable code, such as `unknown_model`.
    pub fn code(&self) -> &'static str {
        match self {
            EstimateError::UnknownModel { .. } => "unknown_model",
            EstimateError::UnknownQuality { .. } => "unknown_quality",
            EstimateError::UnknownSize { .. } => "unknown_size",
            EstimateError::UnknownResolution { .. } => "unknown_resolution",
            EstimateError::UnknownTool { .. } => "unknown_tool",
            EstimateError::MissingChoice { .. } => "missing_choice",
            EstimateError::NoAudio { .. } => "no_audio",
            EstimateError::NoTokens { .. } => "no_tokens",
            EstimateError::BadQuantity { .. } => "bad_quantity",
            EstimateError::TooManyItems { .. } => "too_large",
            EstimateError::EmptyRun => "empty_run",
            EstimateError::Overflow => "overflow",
            EstimateError::NotExact => "not_exact",
        }
    }
}

/// `known: a, b, c` (or `declared:`, `defined:`), led by the nearest known
/// name when one is close enough to be what was meant: `did you mean
/// `seats`? known: …`. Near: the names, ASCII letters lowercased, differ in at most 30 %
/// of their characters (strsim's optimal string alignment distance, where a
/// swap of two neighbours is one edit: `lable`, `label`), or one begins or
/// ends the other (`max_seats`, `seats`).
pub(crate) fn hint(word: &str, name: &str, known: &[String]) -> String {
    match nearest(name, known.iter().map(String::as_str)) {
        Some(k) => format!("did you mean `{k}`? {word}: {}", list(known)),
        None => format!("{word}: {}", list(known)),
    }
}

/// [`hint`] for names the policies define: when they define none of the
/// kind, the message says so (an engine built from rate files alone has no
/// roles, actions, plans or limits).
pub(crate) fn hint_policies(what: &str, name: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!(
            "the policies define no {what}: an engine built from rate files alone has none; load policies too"
        );
    }
    hint("known", name, known)
}

/// The known name nearest to `name`, when one is near enough to be what
/// was meant (see [`hint`]).
pub(crate) fn nearest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    // ASCII case only: Unicode case tables would be kilobytes of the
    // WebAssembly module, for names that are ASCII in practice.
    let lower = name.to_ascii_lowercase();
    let nearness = |k: &str| {
        let k = k.to_ascii_lowercase();
        let affix = |long: &str, short: &str| long.starts_with(short) || long.ends_with(short);
        let held = k.len() > 2 && lower.len() > 2 && (affix(&lower, &k) || affix(&k, &lower));
        let longest = lower.chars().count().max(k.chars().count()).max(1);
        #[allow(clippy::cast_precision_loss)] // name lengths, far below 2^52
        let similar = 1.0 - strsim::osa_distance(&lower, &k) as f64 / longest as f64;
        similar.max(if held { 0.7 } else { 0.0 })
    };
    known
        .filter(|k| *k != name)
        .map(|k| (nearness(k), k))
        .filter(|(score, _)| *score >= 0.7)
        .fold(None::<(f64, &str)>, |best, (score, k)| match best {
            Some((b, _)) if b >= score => best,
            _ => Some((score, k)),
        })
        .map(|(_, k)| k)
}

/// Names a message lists at most; the error's `known` field keeps them all.
const LISTED: usize = 20;

/// `a, b, c`, or `none` for an empty list; past [`LISTED`] names, the
/// first of them and how many more (a policy set may define 100,000).
pub(crate) fn list(items: &[String]) -> String {
    match items.get(..LISTED) {
        _ if items.is_empty() => "none".to_string(),
        Some(first) if items.len() > LISTED => format!("{}, and {} more", first.join(", "), items.len() - LISTED),
        _ => items.join(", "),
    }
}

/// An authorization request named something the policies do not define.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizeError {
    /// A role the policies do not define.
    #[error("unknown role `{role}` ({})", hint_policies("roles", .role, .known))]
    UnknownRole {
        /// The role asked for.
        role: String,
        /// The roles, sorted.
        known: Vec<String>,
    },
    /// An action outside the vocabulary.
    #[error("unknown action `{action}` ({})", hint_policies("actions", .action, .known))]
    UnknownAction {
        /// The action asked for.
        action: String,
        /// The actions, sorted.
        known: Vec<String>,
    },
    /// A context attribute the policies do not declare.
    #[error("unknown context attribute `{attr}` ({})", hint("declared", .attr, .known))]
    UnknownAttribute {
        /// The attribute given.
        attr: String,
        /// The declared attributes, sorted.
        known: Vec<String>,
    },
}

impl AuthorizeError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorizeError::UnknownRole { .. } => "unknown_role",
            AuthorizeError::UnknownAction { .. } => "unknown_action",
            AuthorizeError::UnknownAttribute { .. } => "unknown_attribute",
        }
    }
}

/// An organization state no check can read: a value it cannot hold.
/// Every check ([`Org::validate`](crate::Org::validate)) refuses it before
/// reading anything, so no check answers on a state another refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OrgError {
    /// A balance, pool amount, cap, amount spent or count below zero.
    #[error("org.{field} is negative (`{value}`); it must be zero or more")]
    Negative {
        /// Which value (`balance`, `pools[0].spent`, `usage.seats`).
        field: String,
        /// The value.
        value: String,
    },
    /// A usage count that is not a whole number.
    #[error("org.{field} must be a whole number (got `{value}`)")]
    NotWhole {
        /// Which count (`usage.seats`).
        field: String,
        /// The value.
        value: String,
    },
}

impl OrgError {
    /// A stable machine-readable code: `bad_org`.
    pub fn code(&self) -> &'static str {
        "bad_org"
    }
}

/// A limit check could not be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The organization's plan is not defined.
    #[error("unknown plan `{plan}` ({})", hint_policies("plans", .plan, .known))]
    UnknownPlan {
        /// The plan named by the organization.
        plan: String,
        /// The plans, sorted.
        known: Vec<String>,
    },
    /// A limit no plan states.
    #[error("unknown limit `{limit}` ({})", hint_policies("limits", .limit, .known))]
    UnknownLimit {
        /// The limit asked for.
        limit: String,
        /// The limits, sorted.
        known: Vec<String>,
    },
    /// The usage counter the check needs is missing from the state.
    #[error("the organization's usage lacks the counter `{counter}`; it is never read as zero")]
    MissingCounter {
        /// The counter.
        counter: String,
    },
    /// The organization state holds an impossible value.
    #[error(transparent)]
    Org(#[from] OrgError),
    /// A count that is negative or fractional.
    #[error("`{field}` must be a whole number of zero or more (got `{value}`)")]
    BadCount {
        /// Which value.
        field: String,
        /// The value.
        value: String,
    },
}

impl LimitError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LimitError::Org(e) => e.code(),
            LimitError::UnknownPlan { .. } => "unknown_plan",
            LimitError::UnknownLimit { .. } => "unknown_limit",
            LimitError::MissingCounter { .. } => "missing_counter",
            LimitError::BadCount { .. } => "bad_count",
        }
    }
}

/// A top-up could not be quoted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TopUpError {
    /// The organization's plan is not defined.
    #[error("unknown plan `{plan}` ({})", hint_policies("plans", .plan, .known))]
    UnknownPlan {
        /// The plan.
        plan: String,
        /// The plans, sorted.
        known: Vec<String>,
    },
    /// The plan sells no top-ups.
    #[error("plan `{plan}` does not sell top-ups")]
    NotSold {
        /// The plan.
        plan: String,
    },
    /// Fewer credits than the smallest top-up.
    #[error("{credits} credits is below the minimum top-up of {min}")]
    BelowMinimum {
        /// Credits asked for.
        credits: String,
        /// The minimum.
        min: u64,
    },
    /// More credits than the largest top-up.
    #[error("{credits} credits is above the maximum top-up of {max}")]
    AboveMaximum {
        /// Credits asked for (after rounding up to blocks).
        credits: String,
        /// The maximum.
        max: u64,
    },
    /// The organization state holds an impossible value.
    #[error(transparent)]
    Org(#[from] OrgError),
    /// Zero or negative credits.
    #[error("credits wanted must be above zero (got `{credits}`)")]
    NotPositive {
        /// Credits asked for.
        credits: String,
    },
    /// A result beyond the decimal range.
    #[error("the top-up price overflows the decimal range")]
    Overflow,
}

impl TopUpError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TopUpError::Org(e) => e.code(),
            TopUpError::UnknownPlan { .. } => "unknown_plan",
            TopUpError::NotSold { .. } => "top_up_not_sold",
            TopUpError::BelowMinimum { .. } => "below_minimum",
            TopUpError::AboveMaximum { .. } => "above_maximum",
            TopUpError::NotPositive { .. } => "not_positive",
            TopUpError::Overflow => "overflow",
        }
    }
}

/// A quote or a billing view could not be answered: the request itself is
/// wrong (a denial is an answer, not an error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QuoteError {
    /// The run could not be estimated.
    #[error(transparent)]
    Estimate(#[from] EstimateError),
    /// The role or context is wrong.
    #[error(transparent)]
    Authorize(#[from] AuthorizeError),
    /// The organization's plan is not defined.
    #[error("unknown plan `{plan}` ({})", hint_policies("plans", .plan, .known))]
    UnknownPlan {
        /// The plan.
        plan: String,
        /// The plans, sorted.
        known: Vec<String>,
    },
    /// A usage counter a check needs is missing.
    #[error("the organization's usage lacks the counter `{counter}`; it is never read as zero")]
    MissingCounter {
        /// The counter.
        counter: String,
    },
    /// The organization state holds an impossible value.
    #[error(transparent)]
    Org(#[from] OrgError),
    /// A result beyond the decimal range.
    #[error("the quote overflows the decimal range")]
    Overflow,
}

impl QuoteError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            QuoteError::Estimate(e) => e.code(),
            QuoteError::Authorize(e) => e.code(),
            QuoteError::UnknownPlan { .. } => "unknown_plan",
            QuoteError::MissingCounter { .. } => "missing_counter",
            QuoteError::Org(e) => e.code(),
            QuoteError::Overflow => "overflow",
        }
    }
}

/// Why a bundle could not become an engine ([`crate::Engine::from_bundle`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes do not start as a bundle does.
    #[error("not a tollgate bundle (it does not start with the bundle header)")]
    NotABundle,
    /// A bundle of another format version.
    #[error("the bundle is of format {found}; this engine reads format {expected}: build it again with `tollgate build` of this version")]
    Version {
        /// The bundle's format version.
        found: u16,
        /// The format this engine reads.
        expected: u16,
    },
    /// The content does not match the fingerprint in the header.
    #[error("the bundle is truncated or altered: its content does not match its fingerprint {fingerprint}")]
    Altered {
        /// The fingerprint the header names.
        fingerprint: String,
    },
    /// The content matches its fingerprint but is no engine this version
    /// can use (written by another build of the same format, or by hand).
    #[error("the bundle's content cannot be read: {reason}")]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Larger than [`crate::limits::MAX_BUNDLE_BYTES`].
    #[error("the bundle has {bytes} bytes; the limit is {limit}")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
}

impl BundleError {
    /// A stable machine-readable code: `bad_bundle`, or `bundle_version`
    /// for a bundle of another format version.
    pub fn code(&self) -> &'static str {
        match self {
            BundleError::Version { .. } => "bundle_version",
            _ => "bad_bundle",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{hint, nearest};

    #[test]
    fn the_nearest_name_is_suggested_only_when_near() {
        let known = ["seats", "projects_per_org", "pending_invitations", "label", "gpt-4o", "doc.write"];
        let near = |name: &str| nearest(name, known.iter().copied());
        assert_eq!(near("max_seats"), Some("seats"));
        assert_eq!(near("lable"), Some("label"));
        assert_eq!(near("gpt-5o"), Some("gpt-4o"));
        assert_eq!(near("Seats"), Some("seats"));
        assert_eq!(near("doc.print"), None);
        assert_eq!(near("zz"), None);
        assert_eq!(near("seats"), None, "a known name suggests no other");
        let known: Vec<String> = ["projects", "seats"].iter().map(|s| s.to_string()).collect();
        assert_eq!(hint("known", "seat", &known), "did you mean `seats`? known: projects, seats");
        assert_eq!(hint("known", "xyz", &known), "known: projects, seats");
        assert_eq!(
            super::hint_policies("plans", "free", &[]),
            "the policies define no plans: an engine built from rate files alone has none; load policies too"
        );
    }
}
