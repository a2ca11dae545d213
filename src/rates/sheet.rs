//! The rate tables as reference tables (the product page's tabbed
//! "AI model credit rates"): an answer type, serialized camelCase.

use super::RateCard;
use crate::money::{serialize_decimal, Rounding};
use rust_decimal::Decimal;
use serde::Serialize;

/// Every rate of the loaded tables, sorted by name within each kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateSheet {
    /// `[card] version`.
    pub rates_version: String,
    /// Decimal places of a charged amount.
    pub precision: u32,
    /// How totals round to charged amounts.
    pub rounding: Rounding,
    /// Text models: credits per token batch.
    pub text: Vec<TextRate>,
    /// Image models: credits per image, one row per quality and size.
    pub image: Vec<ImageRate>,
    /// Video models: credits per second, one row per resolution.
    pub video: Vec<VideoRate>,
    /// Tools: credits per standard run.
    pub tools: Vec<ToolRate>,
}

/// One text model.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextRate {
    /// Model name.
    pub model: String,
    /// Display label.
    pub label: String,
    /// Tokens per batch.
    pub batch: u64,
    /// Credits per batch of input tokens.
    #[serde(serialize_with = "serialize_decimal")]
    pub input: Decimal,
    /// Credits per batch of output tokens.
    #[serde(serialize_with = "serialize_decimal")]
    pub output: Decimal,
    /// Credits per batch of cache reads.
    #[serde(serialize_with = "serialize_decimal")]
    pub cached_input: Decimal,
    /// Credits per batch of cache writes.
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_write: Decimal,
    /// `prorate` or `round_up`.
    pub partial_batch: &'static str,
    /// Long-context tiers, by increasing threshold.
    pub tiers: Vec<TextTier>,
}

/// A text tier, fully resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextTier {
    /// Applies when the request's input tokens are strictly above this.
    #[serde(serialize_with = "serialize_decimal")]
    pub above: Decimal,
    /// Credits per batch of input tokens.
    #[serde(serialize_with = "serialize_decimal")]
    pub input: Decimal,
    /// Credits per batch of output tokens.
    #[serde(serialize_with = "serialize_decimal")]
    pub output: Decimal,
    /// Credits per batch of cache reads.
    #[serde(serialize_with = "serialize_decimal")]
    pub cached_input: Decimal,
    /// Credits per batch of cache writes.
    #[serde(serialize_with = "serialize_decimal")]
    pub cache_write: Decimal,
}

/// One image model at one quality and size.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRate {
    /// Model name.
    pub model: String,
    /// Display label.
    pub label: String,
    /// Quality.
    pub quality: String,
    /// Size.
    pub size: String,
    /// Credits per image.
    #[serde(serialize_with = "serialize_decimal")]
    pub per_asset: Decimal,
    /// Whether this is the model's default quality and size.
    pub default: bool,
}

/// One video model at one resolution.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoRate {
    /// Model name.
    pub model: String,
    /// Display label.
    pub label: String,
    /// Resolution.
    pub resolution: String,
    /// Credits per second.
    #[serde(serialize_with = "serialize_decimal")]
    pub per_second: Decimal,
    /// Credits per second of audio, when offered.
    #[serde(serialize_with = "serialize_opt_decimal")]
    pub audio_per_second: Option<Decimal>,
    /// Shorter requests bill this many seconds.
    #[serde(serialize_with = "serialize_decimal")]
    pub min_seconds: Decimal,
    /// Billed seconds round up to a multiple of this, when set.
    #[serde(serialize_with = "serialize_opt_decimal")]
    pub increment_seconds: Option<Decimal>,
    /// Whether this is the model's default resolution.
    pub default: bool,
}

/// One tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolRate {
    /// Tool name.
    pub tool: String,
    /// Display label.
    pub label: String,
    /// Credits per standard run.
    #[serde(serialize_with = "serialize_decimal")]
    pub per_run: Decimal,
}

fn serialize_opt_decimal<S: serde::Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize_decimal(d, s),
        None => s.serialize_none(),
    }
}

impl RateCard {
    pub(crate) fn sheet(&self) -> RateSheet {
        // Plain loops: iterator chains of this shape cost the WebAssembly
        // module several times the code.
        let mut text = Vec::new();
        for m in self.text.values() {
            let mut tiers = Vec::with_capacity(m.tiers.len());
            for (above, r) in &m.tiers {
                tiers.push(TextTier {
                    above: *above,
                    input: r.input,
                    output: r.output,
                    cached_input: r.cached_input,
                    cache_write: r.cache_write,
                });
            }
            text.push(TextRate {
                model: m.name.to_string(),
                label: m.label.clone(),
                batch: m.batch_tokens,
                input: m.base.input,
                output: m.base.output,
                cached_input: m.base.cached_input,
                cache_write: m.base.cache_write,
                partial_batch: if m.round_up { "round_up" } else { "prorate" },
                tiers,
            });
        }
        let mut image = Vec::new();
        for m in self.image.values() {
            for (quality, sizes) in m.per_asset.iter() {
                for (size, rate) in sizes.iter() {
                    image.push(ImageRate {
                        model: m.name.to_string(),
                        label: m.label.clone(),
                        quality: quality.to_string(),
                        size: size.to_string(),
                        per_asset: *rate,
                        default: m.default_quality.as_deref() == Some(&**quality)
                            && m.default_size.as_deref() == Some(&**size),
                    });
                }
            }
        }
        let mut video = Vec::new();
        for m in self.video.values() {
            for (resolution, rate) in m.per_second.iter() {
                video.push(VideoRate {
                    model: m.name.to_string(),
                    label: m.label.clone(),
                    resolution: resolution.to_string(),
                    per_second: *rate,
                    audio_per_second: m.audio_per_second,
                    min_seconds: m.min_seconds,
                    increment_seconds: m.increment_seconds,
                    default: m.default_resolution.as_deref() == Some(&**resolution),
                });
            }
        }
        let mut tools = Vec::new();
        for t in self.tools.values() {
            tools.push(ToolRate { tool: t.name.to_string(), label: t.label.clone(), per_run: t.per_run });
        }
        RateSheet {
            rates_version: self.version.to_string(),
            precision: self.precision,
            rounding: self.rounding,
            text,
            image,
            video,
            tools,
        }
    }
}
