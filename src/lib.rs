#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod engine;
mod error;
mod estimate;
mod load;
mod money;
mod rates;
mod run;
mod source;

pub use engine::{Engine, Sources};
pub use error::{
    EstimateError, InputError, LoadError, LoadProblem, LoadProblemKind, QuantityProblem,
};
pub use estimate::{Bounds, Component, Estimate, Line, LineKind, Unit};
pub use money::Rounding;
pub use rates::{ImageRate, RateSheet, TextRate, TextTier, ToolRate, VideoRate};
pub use run::{ImageItem, Item, Quantity, Run, TextItem, VideoItem};
pub use rust_decimal::Decimal;
pub use source::Location;
