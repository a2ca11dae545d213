//! The document form of rate files: what serde reads from TOML, with spans.

use crate::money::{Number, Rounding};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Num = Spanned<Number>;
pub(crate) type Name = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RatesDoc {
    pub(crate) card: Option<Spanned<CardDoc>>,
    #[serde(default)]
    pub(crate) text: BTreeMap<Name, Spanned<TextDoc>>,
    #[serde(default)]
    pub(crate) image: BTreeMap<Name, Spanned<ImageDoc>>,
    #[serde(default)]
    pub(crate) video: BTreeMap<Name, Spanned<VideoDoc>>,
    #[serde(default)]
    pub(crate) tools: BTreeMap<Name, Spanned<ToolDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardDoc {
    pub(crate) version: Spanned<String>,
    pub(crate) precision: Spanned<i64>,
    pub(crate) rounding: Rounding,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PartialBatch {
    #[default]
    Prorate,
    RoundUp,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TextDoc {
    pub(crate) label: Option<String>,
    pub(crate) batch: Num,
    pub(crate) input: Num,
    pub(crate) output: Num,
    pub(crate) cached_input: Option<Num>,
    pub(crate) cache_write: Option<Num>,
    #[serde(default)]
    pub(crate) partial_batch: PartialBatch,
    #[serde(default)]
    pub(crate) tiers: Vec<Spanned<TierDoc>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TierDoc {
    pub(crate) above: Num,
    pub(crate) input: Option<Num>,
    pub(crate) output: Option<Num>,
    pub(crate) cached_input: Option<Num>,
    pub(crate) cache_write: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImageDoc {
    pub(crate) label: Option<String>,
    pub(crate) default_size: Option<Name>,
    pub(crate) default_quality: Option<Name>,
    pub(crate) per_asset: Spanned<BTreeMap<Name, BTreeMap<Name, Num>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VideoDoc {
    pub(crate) label: Option<String>,
    pub(crate) default_resolution: Option<Name>,
    pub(crate) per_second: Spanned<BTreeMap<Name, Num>>,
    pub(crate) min_seconds: Option<Num>,
    pub(crate) increment_seconds: Option<Num>,
    pub(crate) audio_per_second: Option<Num>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ToolDoc {
    pub(crate) label: Option<String>,
    pub(crate) per_run: Num,
}
