#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod checks;
mod engine;
mod error;
mod estimate;
mod format;
pub mod limits;
mod load;
mod money;
mod names;
mod policy;
mod rates;
mod request;
mod run;
#[cfg(feature = "schema")]
pub mod schema;
mod shared;
mod source;
pub mod testing;
mod validate;

pub use api::{
    check_request_size, parse_request, to_json, AuthorizeRequest, BillingRequest, ErrorInfo, LimitRequest, Request,
    SourceTexts, ToJson, TopUpRequest,
};
pub use checks::{
    BillingView, Buttons, Denial, LimitCheck, LimitView, Money, PoolView, Quote, ReasonCode, Room, SpendView,
    TopUpQuote, Upgrade, Verdict,
};
pub use engine::{Engine, Sources};
pub use error::{
    AuthorizeError, BundleError, EstimateError, InputError, LimitError, LoadError, LoadProblem, LoadProblemKind,
    OrgError, QuantityProblem, QuoteError, TopUpError,
};
pub use estimate::{Bounds, Component, Estimate, Line, LineKind, Unit};
pub use format::bundle::FORMAT as BUNDLE_FORMAT;
pub use format::toml_request::from_toml_str;
pub use money::{parse_decimal, Rounding};
pub use names::NameMap;
pub use policy::{
    ActionInfo, ConditionTrace, Decision, Effect, Explanation, PlanInfo, PolicySheet, Reason, RoleInfo, RuleInfo,
    RuleTrace,
};
pub use rates::{ImageRate, RateSheet, TextRate, TextTier, ToolRate, VideoRate};
pub use request::{AttrValue, Context, Org, OrgStatus, Pool, QuoteRequest, SpendControls, Usage};
pub use run::{ImageItem, Item, Quantity, Run, TextItem, VideoItem};
pub use rust_decimal::Decimal;
pub use shared::{Follower, ReloadError, SharedEngine};
pub use source::Location;
pub use validate::{validate, Lint, Validation};
