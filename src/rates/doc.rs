//! The document form of rate files: what serde reads from TOML, with spans.

use crate::money::{Number, Rounding};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Num = Spanned<Number>;
pub(crate) type Name = Spanned<String>;

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RatesDoc {
    #[cfg_attr(feature = "schema", schemars(with = "Option<CardDoc>"))]
    pub(crate) card: Option<Spanned<CardDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, TextDoc>"))]
    pub(crate) text: BTreeMap<Name, Spanned<TextDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, ImageDoc>"))]
    pub(crate) image: BTreeMap<Name, Spanned<ImageDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, VideoDoc>"))]
    pub(crate) video: BTreeMap<Name, Spanned<VideoDoc>>,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, ToolDoc>"))]
    pub(crate) tools: BTreeMap<Name, Spanned<ToolDoc>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardDoc {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) version: Spanned<String>,
    #[cfg_attr(feature = "schema", schemars(with = "u8"))]
    pub(crate) precision: Spanned<i64>,
    pub(crate) rounding: Rounding,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PartialBatch {
    #[default]
    Prorate,
    RoundUp,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub(crate) batch: Num,
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub(crate) input: Num,
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub(crate) output: Num,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) cached_input: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) cache_write: Option<Num>,
    #[serde(default)]
    pub(crate) partial_batch: PartialBatch,
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<TierDoc>"))]
    pub(crate) tiers: Vec<Spanned<TierDoc>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TierDoc {
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub(crate) above: Num,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) input: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) output: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) cached_input: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) cache_write: Option<Num>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) default_size: Option<Name>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) default_quality: Option<Name>,
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, BTreeMap<String, crate::money::Number>>"))]
    pub(crate) per_asset: Spanned<BTreeMap<Name, BTreeMap<Name, Num>>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VideoDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) default_resolution: Option<Name>,
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, crate::money::Number>"))]
    pub(crate) per_second: Spanned<BTreeMap<Name, Num>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) min_seconds: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) increment_seconds: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) audio_per_second: Option<Num>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub(crate) per_run: Num,
}
