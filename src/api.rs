//! The JSON/JavaScript interface: one request type per operation that takes
//! more than one value, the shape of errors as they cross to JavaScript, and
//! named in-memory sources. The WebAssembly package only wraps these, so the
//! exact JSON is tested here, natively.

use crate::error::{
    AuthorizeError, EstimateError, InputError, LimitError, LoadError, LoadProblem, QuoteError, TopUpError,
};
use crate::money;
use crate::request::{Context, Org};
use crate::Sources;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Reads a request from JSON text, as every interface that takes JSON
/// values does (the WebAssembly package passes `JSON.stringify(request)`):
/// unknown fields and wrong types are `bad_request` errors whose message
/// carries no position, since the text may be machine-made.
///
/// The reader is serde_json with the types' `Deserialize`; numbers are read
/// exactly from their text (README, "Reading requests").
#[allow(clippy::result_large_err)] // the boundary's error shape; built once, on failure only
pub fn parse_request<T: Request>(json: &str) -> Result<T, ErrorInfo> {
    check_request_size(json.len())?;
    serde_json::from_str(json).map_err(|e| ErrorInfo::bad_request(crate::format::json::message(&e)))
}

/// An answer, a reference sheet or an error as JSON text, as
/// `serde_json::to_string` writes it (what the WebAssembly package hands to
/// JavaScript). Fails only if a type held a map key that is not a string,
/// which none of them does.
#[allow(clippy::result_large_err)] // the boundary's error shape; built once, on failure only
pub fn to_json<T: ToJson + ?Sized>(value: &T) -> Result<String, ErrorInfo> {
    value.write_json().map_err(|e| ErrorInfo::new("internal", e.to_string()))
}

/// The types [`to_json`] writes: every answer, the reference sheets,
/// [`ErrorInfo`], and a string (its JSON string literal). Sealed.
pub trait ToJson {
    #[doc(hidden)]
    fn write_json(&self) -> Result<String, serde_json::Error>;
}

macro_rules! to_json_for {
    ($($t:ty),* $(,)?) => {$(
        impl ToJson for $t {
            fn write_json(&self) -> Result<String, serde_json::Error> {
                serde_json::to_string(self)
            }
        }
    )*};
}

to_json_for!(
    crate::Estimate<'_>,
    crate::Decision<'_>,
    crate::LimitCheck<'_>,
    crate::Quote<'_>,
    crate::TopUpQuote,
    crate::BillingView<'_>,
    crate::RateSheet,
    crate::PolicySheet<'_>,
    ErrorInfo,
    [ErrorInfo],
    crate::Validation,
    str,
);

/// The types [`parse_request`] reads: the request of each operation, a
/// [`Run`](crate::Run), and [`SourceTexts`] or [`Sources`](crate::Sources)
/// (the same JSON). Sealed.
pub trait Request: serde::de::DeserializeOwned + sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::AuthorizeRequest {}
    impl Sealed for super::LimitRequest {}
    impl Sealed for super::TopUpRequest {}
    impl Sealed for super::BillingRequest {}
    impl Sealed for super::SourceTexts {}
    impl Sealed for crate::Sources {}
    impl Sealed for crate::QuoteRequest {}
    impl Sealed for crate::Run {}
}

impl Request for AuthorizeRequest {}
impl Request for LimitRequest {}
impl Request for TopUpRequest {}
impl Request for BillingRequest {}
impl Request for SourceTexts {}
impl Request for crate::Sources {}
impl Request for crate::QuoteRequest {}
impl Request for crate::Run {}

/// What [`parse_request`] says, before reading a word, of a request of
/// `bytes` bytes: `too_large` above [`crate::limits::MAX_REQUEST_BYTES`].
/// For callers that learn a request's size before they hold its text (the
/// WebAssembly package, before it makes room for the text).
#[allow(clippy::result_large_err)] // the boundary's error shape; built once, on failure only
pub fn check_request_size(bytes: usize) -> Result<(), ErrorInfo> {
    crate::format::check_request_size(bytes).map_err(|e| ErrorInfo::new("too_large", e.message()))
}

/// `authorize({role, action, context})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthorizeRequest {
    /// The role.
    pub role: String,
    /// The action.
    pub action: String,
    /// Context attributes; none by default.
    #[serde(default)]
    pub context: Context,
}

/// `checkLimit({org, limit, adding})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LimitRequest {
    /// The organization's state.
    pub org: Org,
    /// The limit.
    pub limit: String,
    /// How many the request adds; 1 by default.
    #[serde(default = "one", with = "money::decimal")]
    pub adding: Decimal,
}

fn one() -> Decimal {
    Decimal::ONE
}

/// `quoteTopUp({org, credits})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopUpRequest {
    /// The organization's state.
    pub org: Org,
    /// Credits wanted.
    #[serde(with = "money::decimal")]
    pub credits: Decimal,
}

/// `visibleBilling({role, org})`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BillingRequest {
    /// The role.
    pub role: String,
    /// The organization's state.
    pub org: Org,
}

/// `Engine.fromSources({rates: {name: text}, policies: {name: text}})`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceTexts {
    /// Rate files by name. A name given twice is an error.
    #[serde(default, deserialize_with = "unique_map")]
    pub rates: BTreeMap<String, String>,
    /// Policy files by name. A name given twice is an error.
    #[serde(default, deserialize_with = "unique_map")]
    pub policies: BTreeMap<String, String>,
}

fn unique_map<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    crate::request::deserialize_pairs(d).map(|p| p.into_iter().collect())
}

/// [`Sources`] read as [`SourceTexts`] (the same JSON).
impl<'de> Deserialize<'de> for Sources {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SourceTexts::deserialize(d).map(|texts| Sources::from(&texts))
    }
}

impl From<&SourceTexts> for Sources {
    fn from(s: &SourceTexts) -> Sources {
        let rates = s.rates.iter().fold(Sources::new(), |acc, (name, text)| acc.rates(name, text));
        s.policies.iter().fold(rates, |acc, (name, text)| acc.policies(name, text))
    }
}

/// An error as it crosses to JavaScript (thrown as an `Error` carrying
/// these fields) or into a JSON answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ErrorInfo {
    /// A stable machine-readable code, such as `unknown_model`.
    pub code: String,
    /// The one-line message (for a load error, every problem, one per line).
    pub message: String,
    /// The file (or source name) of the first problem, for file errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Its 1-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Advice, when there is some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Every problem of a load error, each with its own position.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<ErrorInfo>,
}

impl ErrorInfo {
    /// An error of a code and message, without a position.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorInfo {
            code: code.to_string(),
            message: message.into(),
            file: None,
            line: None,
            column: None,
            help: None,
            problems: Vec::new(),
        }
    }

    /// A request that does not have the expected shape (wrong field, type).
    pub fn bad_request(message: impl std::fmt::Display) -> Self {
        ErrorInfo::new("bad_request", message.to_string())
    }
}

impl std::fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ErrorInfo {}

impl From<&LoadProblem> for ErrorInfo {
    fn from(p: &LoadProblem) -> Self {
        ErrorInfo {
            code: p.code().to_string(),
            message: p.to_string(),
            file: p.location().map(|l| l.file().to_string()),
            line: p.location().map(|l| l.line()),
            column: p.location().map(|l| l.column()),
            help: Some(p.help()),
            problems: Vec::new(),
        }
    }
}

impl From<&crate::validate::Lint> for ErrorInfo {
    fn from(l: &crate::validate::Lint) -> Self {
        ErrorInfo {
            code: l.code.to_string(),
            message: l.to_string(),
            file: l.location.as_ref().map(|x| x.file().to_string()),
            line: l.location.as_ref().map(|x| x.line()),
            column: l.location.as_ref().map(|x| x.column()),
            help: Some(l.help.to_string()),
            problems: Vec::new(),
        }
    }
}

impl From<&LoadError> for ErrorInfo {
    fn from(e: &LoadError) -> Self {
        let problems: Vec<ErrorInfo> = e.problems().iter().map(ErrorInfo::from).collect();
        let mut first = problems.first().cloned().unwrap_or_else(|| ErrorInfo::new("load", "load failed"));
        first.message = e.to_string();
        first.problems = problems;
        first
    }
}

impl From<&InputError> for ErrorInfo {
    fn from(e: &InputError) -> Self {
        let mut info = ErrorInfo::new("bad_request", e.message());
        if let Some(l) = e.location() {
            info.file = Some(l.file().to_string());
            info.line = Some(l.line());
            info.column = Some(l.column());
        }
        info
    }
}

macro_rules! coded {
    ($($t:ty),*) => {$(
        impl From<&$t> for ErrorInfo {
            fn from(e: &$t) -> Self {
                ErrorInfo::new(e.code(), e.to_string())
            }
        }
    )*};
}

coded!(EstimateError, AuthorizeError, LimitError, TopUpError, QuoteError, crate::BundleError);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_is_written_as_serde_json_writes_it() {
        for s in ["", "plain", "q\"b\\s", "\0\u{1}\u{2}\n\t\r\u{8}\u{c}\u{1f}\u{7f}é"] {
            assert_eq!(crate::to_json(s).ok(), serde_json::to_string(s).ok(), "{s:?}");
        }
    }

    #[test]
    fn requests_read_camel_case_json_with_defaults() {
        let r: LimitRequest = serde_json::from_str(
            r#"{"org": {"slug": "a", "plan": "free", "balance": 1.5, "usage": {"seats": 2}}, "limit": "seats"}"#,
        )
        .unwrap();
        assert_eq!(r.adding, Decimal::ONE);
        assert_eq!(r.org.balance, Decimal::new(15, 1));
        let bad = serde_json::from_str::<AuthorizeRequest>(r#"{"role": "a", "action": "b", "ctx": {}}"#);
        assert!(bad.unwrap_err().to_string().starts_with("unknown field `ctx`"));
    }

    #[test]
    fn load_errors_carry_the_first_position_and_every_problem() {
        let sources = SourceTexts {
            rates: [(
                "r.toml".to_string(),
                "[card]\nversion = \"v\"\nprecision = 99\nrounding = \"up\"\n[tools.t]\nper_run = \"-1\"\n".to_string(),
            )]
            .into(),
            policies: BTreeMap::new(),
        };
        let err = crate::Engine::from_sources(Sources::from(&sources)).unwrap_err();
        let info = ErrorInfo::from(&err);
        assert_eq!(
            (info.code.as_str(), info.file.as_deref(), info.line, info.column),
            ("bad_precision", Some("r.toml"), Some(3), Some(13))
        );
        assert_eq!(info.problems.len(), 2);
        assert_eq!(info.problems[1].code, "negative");
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["problems"][1]["line"], 6);
    }
}
