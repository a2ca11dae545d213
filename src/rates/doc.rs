//! The document form of rate files: what `read` takes out of the TOML
//! tree, with spans. (The serde attributes shape the JSON Schema only.)

use crate::format::document::{variant, Entries, Node, Read, Result, Table};
use crate::money::{Number, Rounding};
#[cfg(feature = "schema")]
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Num = Spanned<Number>;
pub(crate) type Name = Spanned<String>;

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct RatesDoc {
    #[cfg_attr(feature = "schema", schemars(with = "Option<CardDoc>"))]
    pub(crate) card: Option<Spanned<CardDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, TextDoc>"))]
    pub(crate) text: Entries<Spanned<TextDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, ImageDoc>"))]
    pub(crate) image: Entries<Spanned<ImageDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, VideoDoc>"))]
    pub(crate) video: Entries<Spanned<VideoDoc>>,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "BTreeMap<String, ToolDoc>"))]
    pub(crate) tools: Entries<Spanned<ToolDoc>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct CardDoc {
    #[cfg_attr(feature = "schema", schemars(with = "String"))]
    pub(crate) version: Spanned<String>,
    #[cfg_attr(feature = "schema", schemars(with = "u8"))]
    pub(crate) precision: Spanned<i64>,
    pub(crate) rounding: Rounding,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(rename_all = "snake_case"))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum PartialBatch {
    #[default]
    Prorate,
    RoundUp,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
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
    #[cfg_attr(feature = "schema", serde(default))]
    pub(crate) partial_batch: PartialBatch,
    #[cfg_attr(feature = "schema", serde(default), schemars(with = "Vec<TierDoc>"))]
    pub(crate) tiers: Vec<Spanned<TierDoc>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
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
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct ImageDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) default_size: Option<Name>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) default_quality: Option<Name>,
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, BTreeMap<String, crate::money::Number>>"))]
    pub(crate) per_asset: Spanned<Entries<Entries<Num>>>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct VideoDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<String>"))]
    pub(crate) default_resolution: Option<Name>,
    #[cfg_attr(feature = "schema", schemars(with = "BTreeMap<String, crate::money::Number>"))]
    pub(crate) per_second: Spanned<Entries<Num>>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) min_seconds: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) increment_seconds: Option<Num>,
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::money::Number>"))]
    pub(crate) audio_per_second: Option<Num>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(deny_unknown_fields))]
#[derive(Debug)]
pub(crate) struct ToolDoc {
    pub(crate) label: Option<String>,
    #[cfg_attr(feature = "schema", schemars(with = "crate::money::Number"))]
    pub(crate) per_run: Num,
}

impl Read for RatesDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["card", "text", "image", "video", "tools"])?;
        Ok(RatesDoc {
            card: t.opt("card")?,
            text: t.or_default("text")?,
            image: t.or_default("image")?,
            video: t.or_default("video")?,
            tools: t.or_default("tools")?,
        })
    }
}

impl Read for CardDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["version", "precision", "rounding"])?;
        Ok(CardDoc { version: t.req("version")?, precision: t.req("precision")?, rounding: t.req("rounding")? })
    }
}

impl Read for Rounding {
    fn read(node: &Node<'_>) -> Result<Self> {
        use Rounding::*;
        variant(node, &[("up", Up), ("down", Down), ("half_up", HalfUp), ("half_even", HalfEven)])
    }
}

impl Read for PartialBatch {
    fn read(node: &Node<'_>) -> Result<Self> {
        variant(node, &[("prorate", PartialBatch::Prorate), ("round_up", PartialBatch::RoundUp)])
    }
}

impl Read for TextDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(
            node,
            &["label", "batch", "input", "output", "cached_input", "cache_write", "partial_batch", "tiers"],
        )?;
        Ok(TextDoc {
            label: t.opt("label")?,
            batch: t.req("batch")?,
            input: t.req("input")?,
            output: t.req("output")?,
            cached_input: t.opt("cached_input")?,
            cache_write: t.opt("cache_write")?,
            partial_batch: t.or_default("partial_batch")?,
            tiers: t.or_default("tiers")?,
        })
    }
}

impl Read for TierDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["above", "input", "output", "cached_input", "cache_write"])?;
        Ok(TierDoc {
            above: t.req("above")?,
            input: t.opt("input")?,
            output: t.opt("output")?,
            cached_input: t.opt("cached_input")?,
            cache_write: t.opt("cache_write")?,
        })
    }
}

impl Read for ImageDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["label", "default_size", "default_quality", "per_asset"])?;
        Ok(ImageDoc {
            label: t.opt("label")?,
            default_size: t.opt("default_size")?,
            default_quality: t.opt("default_quality")?,
            per_asset: t.req("per_asset")?,
        })
    }
}

impl Read for VideoDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(
            node,
            &["label", "default_resolution", "per_second", "min_seconds", "increment_seconds", "audio_per_second"],
        )?;
        Ok(VideoDoc {
            label: t.opt("label")?,
            default_resolution: t.opt("default_resolution")?,
            per_second: t.req("per_second")?,
            min_seconds: t.opt("min_seconds")?,
            increment_seconds: t.opt("increment_seconds")?,
            audio_per_second: t.opt("audio_per_second")?,
        })
    }
}

impl Read for ToolDoc {
    fn read(node: &Node<'_>) -> Result<Self> {
        let t = Table::new(node, &["label", "per_run"])?;
        Ok(ToolDoc { label: t.opt("label")?, per_run: t.req("per_run")? })
    }
}
