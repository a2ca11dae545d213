//! Runs (docs/formats.md, "Runs and estimates"): what a job will consume. The same shape reads from TOML
//! (snake_case keys) and JSON (camelCase keys; snake_case also accepted).

use crate::error::InputError;
use crate::money::{DecimalStr, NumberError, RawNumber};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A run: an optional tool (adds its per-run credits) and the items it
/// consumes.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Run {
    /// The tool whose standard run is charged, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The model usage of the run, in order.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Vec<ItemDoc>"))]
    pub items: Vec<Item>,
}

impl Run {
    /// Reads a run from TOML text; `name` labels positions in errors.
    pub fn from_toml(name: &str, text: &str) -> Result<Run, InputError> {
        crate::format::toml_request::from_toml(name, text)
    }

    /// Reads a run from JSON text; `name` labels positions in errors.
    pub fn from_json(name: &str, text: &str) -> Result<Run, InputError> {
        crate::format::json::from_json(name, text)
    }
}

/// One item of a run, tagged by `kind`.
///
/// Read through one flat table (`ItemDoc`) rather than serde's internally
/// tagged enums, which buffer their content and so lose source positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", try_from = "ItemDoc")]
pub enum Item {
    /// Tokens through a text model.
    Text(TextItem),
    /// Generated images.
    Image(ImageItem),
    /// Generated video.
    Video(VideoItem),
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", serde(rename_all = "lowercase"))]
#[derive(Clone, Copy)]
pub(crate) enum ItemKind {
    Text,
    Image,
    Video,
}

impl<'de> Deserialize<'de> for ItemKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let kinds = [ItemKind::Text, ItemKind::Image, ItemKind::Video];
        crate::format::unit_variant(d, &["text", "image", "video"], &kinds)
    }
}

/// Every field any item kind has; `TryFrom` checks they fit the kind.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ItemDoc {
    pub(crate) kind: ItemKind,
    pub(crate) model: String,
    #[serde(default, alias = "input_tokens", deserialize_with = "present")]
    pub(crate) input_tokens: Option<Quantity>,
    #[serde(default, alias = "output_tokens", deserialize_with = "present")]
    pub(crate) output_tokens: Option<Quantity>,
    #[serde(default, alias = "cached_input_tokens", deserialize_with = "present")]
    pub(crate) cached_input_tokens: Option<Quantity>,
    #[serde(default, alias = "cache_write_tokens", deserialize_with = "present")]
    pub(crate) cache_write_tokens: Option<Quantity>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) count: Option<Quantity>,
    #[serde(default)]
    pub(crate) quality: Option<String>,
    #[serde(default)]
    pub(crate) size: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) seconds: Option<Quantity>,
    #[serde(default)]
    pub(crate) resolution: Option<String>,
    #[serde(default)]
    pub(crate) audio: Option<bool>,
}

/// An optional quantity that, when given, must be a quantity: `null` is an
/// error rather than "absent" (JSON writes NaN and Infinity as null, and a
/// count must never vanish silently).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Quantity>, D::Error> {
    Quantity::deserialize(d).map(Some)
}

impl TryFrom<ItemDoc> for Item {
    type Error = String;

    fn try_from(d: ItemDoc) -> Result<Item, String> {
        let (kind, allowed): (&str, &[&str]) = match d.kind {
            ItemKind::Text => ("text", &["input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens"]),
            ItemKind::Image => ("image", &["count", "quality", "size"]),
            ItemKind::Video => ("video", &["seconds", "resolution", "audio"]),
        };
        let present = [
            ("input_tokens", d.input_tokens.is_some()),
            ("output_tokens", d.output_tokens.is_some()),
            ("cached_input_tokens", d.cached_input_tokens.is_some()),
            ("cache_write_tokens", d.cache_write_tokens.is_some()),
            ("count", d.count.is_some()),
            ("quality", d.quality.is_some()),
            ("size", d.size.is_some()),
            ("seconds", d.seconds.is_some()),
            ("resolution", d.resolution.is_some()),
            ("audio", d.audio.is_some()),
        ];
        if let Some((field, _)) = present.iter().find(|(f, p)| *p && !allowed.contains(f)) {
            return Err(format!("`{field}` does not apply to a {kind} item (it takes: {})", allowed.join(", ")));
        }
        let missing = |f: &str| format!("missing field `{f}` for a {kind} item");
        Ok(match d.kind {
            ItemKind::Text => Item::Text(TextItem {
                model: d.model,
                input_tokens: d.input_tokens,
                output_tokens: d.output_tokens,
                cached_input_tokens: d.cached_input_tokens,
                cache_write_tokens: d.cache_write_tokens,
            }),
            ItemKind::Image => Item::Image(ImageItem {
                model: d.model,
                count: d.count.ok_or_else(|| missing("count"))?,
                quality: d.quality,
                size: d.size,
            }),
            ItemKind::Video => Item::Video(VideoItem {
                model: d.model,
                seconds: d.seconds.ok_or_else(|| missing("seconds"))?,
                resolution: d.resolution,
                audio: d.audio.unwrap_or(false),
            }),
        })
    }
}

/// Token counts for a text model. The counts are disjoint: cached tokens
/// are not also counted in `input_tokens`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TextItem {
    /// The model.
    pub model: String,
    /// Uncached input tokens.
    #[serde(default, alias = "input_tokens", skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<Quantity>,
    /// Output tokens.
    #[serde(default, alias = "output_tokens", skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<Quantity>,
    /// Input tokens read from the cache.
    #[serde(default, alias = "cached_input_tokens", skip_serializing_if = "Option::is_none")]
    pub cached_input_tokens: Option<Quantity>,
    /// Input tokens written to the cache.
    #[serde(default, alias = "cache_write_tokens", skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<Quantity>,
}

/// Images from an image model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageItem {
    /// The model.
    pub model: String,
    /// How many images.
    pub count: Quantity,
    /// Quality; the model's `default_quality` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    /// Size; the model's `default_size` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
}

/// Seconds of video from a video model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VideoItem {
    /// The model.
    pub model: String,
    /// Requested duration in seconds.
    pub seconds: Quantity,
    /// Resolution; the model's `default_resolution` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Whether the video has generated audio.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub audio: bool,
}

/// An amount that is known exactly or as a `{min, max}` range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Exactly this much.
    Exact(Decimal),
    /// Somewhere from `min` to `max`.
    Range {
        /// The least.
        min: Decimal,
        /// The most.
        max: Decimal,
    },
}

impl Quantity {
    /// The low and high ends.
    pub fn bounds(self) -> (Decimal, Decimal) {
        match self {
            Quantity::Exact(v) => (v, v),
            Quantity::Range { min, max } => (min, max),
        }
    }
}

impl From<u64> for Quantity {
    fn from(n: u64) -> Self {
        Quantity::Exact(Decimal::from(n))
    }
}

impl From<Decimal> for Quantity {
    fn from(d: Decimal) -> Self {
        Quantity::Exact(d)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Quantity::Exact(v) => DecimalStr(*v).serialize(s),
            Quantity::Range { min, max } => {
                let mut st = s.serialize_struct("Range", 2)?;
                st.serialize_field("min", &DecimalStr(*min))?;
                st.serialize_field("max", &DecimalStr(*max))?;
                st.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(QuantityVisitor)
    }
}

struct QuantityVisitor;

/// What a quantity that is no decimal says.
pub(crate) fn number_message(e: NumberError) -> String {
    match e {
        NumberError::NotANumber(v) => format!("`{v}` is not a decimal number"),
        NumberError::OutOfRange(v) => format!("`{v}` is out of range"),
    }
}

fn number_error<E: de::Error>(e: NumberError) -> E {
    E::custom(number_message(e))
}

fn scalar<E: de::Error>(v: RawNumber<'_>) -> Result<Decimal, E> {
    v.to_decimal().map_err(number_error)
}

impl<'de> Visitor<'de> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a decimal string, or a range `{ min, max }`")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        scalar(RawNumber::Int(i128::from(v))).map(Quantity::Exact)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        scalar(RawNumber::Int(i128::from(v))).map(Quantity::Exact)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Quantity, E> {
        Err(crate::money::float_refused())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        scalar(RawNumber::Str(v)).map(Quantity::Exact)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Quantity, A::Error> {
        let (mut min, mut max) = (None, None);
        let mut first = true;
        while let Some(key) = map.next_key::<String>()? {
            if std::mem::take(&mut first) {
                if let Some(text) = crate::money::number_text(&key, &mut map)? {
                    return crate::money::decimal_from_literal(&text).map(Quantity::Exact).map_err(number_error);
                }
            }
            let slot = match key.as_str() {
                "min" => &mut min,
                "max" => &mut max,
                other => return Err(de::Error::unknown_field(other, &["min", "max"])),
            };
            if slot.is_some() {
                return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            *slot = Some(map.next_value::<Quantity>()?);
        }
        let exact = |q: Option<Quantity>, name: &'static str| match q {
            Some(Quantity::Exact(v)) => Ok(v),
            Some(Quantity::Range { .. }) => Err(de::Error::custom(format_args!("`{name}` must be a number"))),
            None => Err(de::Error::missing_field(name)),
        };
        Ok(Quantity::Range { min: exact(min, "min")?, max: exact(max, "max")? })
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Quantity {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Quantity".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An amount known exactly (a number or a decimal string) or a range { min, max }",
            "anyOf": [
                { "type": "number" },
                { "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" },
                {
                    "type": "object",
                    "properties": {
                        "min": { "type": ["number", "string"] },
                        "max": { "type": ["number", "string"] }
                    },
                    "required": ["min", "max"],
                    "additionalProperties": false
                }
            ]
        })
    }
}
