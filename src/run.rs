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
    #[serde(default, deserialize_with = "items")]
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
/// Read as one flat table (`ItemDoc`) rather than through serde's internally
/// tagged enums, which buffer their content and so lose source positions;
/// and by hand, so that what is wrong is said of the item's own kind (its
/// fields, not every kind's) and, in JSON, with the field's path
/// (`items[0].inputTokens`), since the text may be machine-made.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
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

/// Every field any item kind has; each kind takes its own (checked as read).
#[cfg(feature = "schema")]
#[derive(schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)] // described, not built
pub(crate) struct ItemDoc {
    kind: ItemKind,
    model: String,
    #[serde(default, alias = "input_tokens")]
    input_tokens: Option<Quantity>,
    #[serde(default, alias = "output_tokens")]
    output_tokens: Option<Quantity>,
    #[serde(default, alias = "cached_input_tokens")]
    cached_input_tokens: Option<Quantity>,
    #[serde(default, alias = "cache_write_tokens")]
    cache_write_tokens: Option<Quantity>,
    #[serde(default)]
    count: Option<Quantity>,
    #[serde(default)]
    quality: Option<String>,
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    seconds: Option<Quantity>,
    #[serde(default)]
    resolution: Option<String>,
    #[serde(default)]
    audio: Option<bool>,
}

/// The fields of an item: camelCase (JSON), snake_case (TOML; JSON accepts
/// it too), and the kinds that take it (`K_*` bits).
const FIELDS: [(&str, &str, u8); 12] = [
    ("kind", "kind", K_ALL),
    ("model", "model", K_ALL),
    ("inputTokens", "input_tokens", K_TEXT),
    ("outputTokens", "output_tokens", K_TEXT),
    ("cachedInputTokens", "cached_input_tokens", K_TEXT),
    ("cacheWriteTokens", "cache_write_tokens", K_TEXT),
    ("count", "count", K_IMAGE),
    ("quality", "quality", K_IMAGE),
    ("size", "size", K_IMAGE),
    ("seconds", "seconds", K_VIDEO),
    ("resolution", "resolution", K_VIDEO),
    ("audio", "audio", K_VIDEO),
];
const K_TEXT: u8 = 1;
const K_IMAGE: u8 = 2;
const K_VIDEO: u8 = 4;
const K_ALL: u8 = 7;

/// The values of an item's fields as read, before its kind is checked.
#[derive(Default)]
struct ItemFields {
    kind: Option<ItemKind>,
    model: Option<String>,
    /// Input, output, cached input, cache write, count, seconds.
    quantities: [Option<Quantity>; 6],
    quality: Option<String>,
    size: Option<String>,
    resolution: Option<String>,
    audio: Option<bool>,
    /// Which fields were given (bits by place in `FIELDS`).
    given: u16,
    /// A key written in snake_case: messages name fields that way too.
    snake: bool,
    /// The first key that is no field, kept until the kind is known.
    unknown: Option<String>,
}

/// Reads an item: `index` is its place in `items` (`None` for an item read
/// on its own), for the paths of messages.
struct ItemSeed {
    index: Option<usize>,
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(ItemSeed { index: None }, d)
    }
}

impl<'de> de::DeserializeSeed<'de> for ItemSeed {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
        d.deserialize_map(self)
    }
}

impl ItemSeed {
    /// `items[0]` (or `item`): where a message points.
    fn path(&self) -> String {
        match self.index {
            Some(i) => format!("items[{i}]"),
            None => "item".to_string(),
        }
    }

    /// A problem of the item as a whole.
    fn fail<E: de::Error>(&self, what: fmt::Arguments<'_>) -> E {
        E::custom(format_args!("{}: {what}", self.path()))
    }

    /// A value's error, with the field's path in front. A JSON reader's
    /// message ends with its position (`… at line 1 column 61`), which it
    /// reads back from the new message; other readers' errors (TOML's)
    /// carry their exact span and are passed on as they are.
    fn at_field<E: de::Error>(&self, key: &str, e: E) -> E {
        let text = e.to_string();
        if crate::format::json::has_position(&text) {
            E::custom(format_args!("{}.{key}: {text}", self.path()))
        } else {
            e
        }
    }
}

impl<'de> Visitor<'de> for ItemSeed {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item: a table with `kind`, `model` and the kind's fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut f = ItemFields::default();
        loop {
            // Once the kind is known, a key it does not take fails as the key
            // is read, so a TOML error points at the key itself.
            let seed = KeySeed { item: &self, kind: f.kind, snake: f.snake };
            let Some((place, key)) = map.next_key_seed(seed)? else { break };
            let Some(place) = place else {
                if f.unknown.is_none() {
                    f.unknown = Some(key);
                }
                map.next_value::<de::IgnoredAny>()?;
                continue;
            };
            f.snake |= key.contains('_');
            let bit = 1_u16 << place;
            if f.given & bit != 0 {
                return Err(self.fail(format_args!("duplicate field `{key}`")));
            }
            f.given |= bit;
            // A given quantity must be a quantity: `null` is an error rather
            // than "absent" (JSON writes NaN and Infinity as null, and a
            // count must never vanish silently).
            let read = match place {
                0 => map.next_value().map(|v| f.kind = Some(v)),
                1 => map.next_value().map(|v| f.model = Some(v)),
                2..=6 | 9 => {
                    let slot = if place == 9 { 5 } else { place - 2 };
                    map.next_value::<Quantity>().map(|v| {
                        if let Some(q) = f.quantities.get_mut(slot) {
                            *q = Some(v);
                        }
                    })
                }
                7 => map.next_value().map(|v| f.quality = v),
                8 => map.next_value().map(|v| f.size = v),
                10 => map.next_value().map(|v| f.resolution = v),
                _ => map.next_value().map(|v| f.audio = v),
            };
            read.map_err(|e| self.at_field(&key, e))?;
        }
        self.build(f)
    }
}

/// An item's key: its place in `FIELDS` (`None`: no field), and the key as
/// written. With the kind known, a key the kind does not take is an error.
struct KeySeed<'s> {
    item: &'s ItemSeed,
    kind: Option<ItemKind>,
    snake: bool,
}

impl<'de> de::DeserializeSeed<'de> for KeySeed<'_> {
    type Value = (Option<usize>, String);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let key = String::deserialize(d)?;
        let place = FIELDS.iter().position(|(camel, snake, _)| *camel == key || *snake == key);
        if let Some(kind) = self.kind {
            let snake = self.snake || key.contains('_');
            let fits = place.and_then(|p| FIELDS.get(p)).is_some_and(|e| e.2 & kind_words(kind).1 != 0);
            if !fits {
                return Err(self.item.not_taken(kind, &key, place.is_some(), snake));
            }
        }
        Ok((place, key))
    }
}

/// How messages name a kind (`a text`), and its bit in `FIELDS`.
fn kind_words(kind: ItemKind) -> (&'static str, u8) {
    match kind {
        ItemKind::Text => ("a text", K_TEXT),
        ItemKind::Image => ("an image", K_IMAGE),
        ItemKind::Video => ("a video", K_VIDEO),
    }
}

impl ItemSeed {
    /// A key `kind` does not take: a field of another kind (`known`) or no
    /// field at all, with the kind's fields (and the nearest of them).
    fn not_taken<E: de::Error>(&self, kind: ItemKind, key: &str, known: bool, snake: bool) -> E {
        let (name, bit) = kind_words(kind);
        let field = |(camel, under, _): &(&'static str, &'static str, u8)| if snake { *under } else { *camel };
        let mut takes = String::new();
        for entry in FIELDS.iter().filter(|e| e.2 & bit != 0) {
            if !takes.is_empty() {
                takes.push_str(", ");
            }
            takes.push('`');
            takes.push_str(field(entry));
            takes.push('`');
        }
        if known {
            return self.fail(format_args!("`{key}` does not apply to {name} item; it takes {takes}"));
        }
        let names = FIELDS.iter().filter(|e| e.2 & bit != 0).map(field);
        let near = crate::error::nearest(key, names).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
        self.fail(format_args!("unknown field `{key}` of {name} item{near}; it takes {takes}"))
    }

    /// The item of the fields read, when they fit its kind.
    fn build<E: de::Error>(&self, f: ItemFields) -> Result<Item, E> {
        let kind = f.kind.ok_or_else(|| self.fail(format_args!("missing field `kind`")))?;
        let (name, bit) = kind_words(kind);
        // Keys read before the kind are checked now.
        if let Some(key) = &f.unknown {
            return Err(self.not_taken(kind, key, false, f.snake));
        }
        let misplaced = FIELDS.iter().enumerate().find(|(i, e)| f.given & (1 << i) != 0 && e.2 & bit == 0);
        if let Some((_, (camel, snake, _))) = misplaced {
            return Err(self.not_taken(kind, if f.snake { snake } else { camel }, true, f.snake));
        }
        let model = f.model.ok_or_else(|| self.fail(format_args!("missing field `model`")))?;
        let [input, output, cached, write, count, seconds] = f.quantities;
        let missing = |key: &str| self.fail(format_args!("missing field `{key}` for {name} item"));
        Ok(match kind {
            ItemKind::Text => Item::Text(TextItem {
                model,
                input_tokens: input,
                output_tokens: output,
                cached_input_tokens: cached,
                cache_write_tokens: write,
            }),
            ItemKind::Image => Item::Image(ImageItem {
                model,
                count: count.ok_or_else(|| missing("count"))?,
                quality: f.quality,
                size: f.size,
            }),
            ItemKind::Video => Item::Video(VideoItem {
                model,
                seconds: seconds.ok_or_else(|| missing("seconds"))?,
                resolution: f.resolution,
                audio: f.audio.unwrap_or(false),
            }),
        })
    }
}

/// `items`: each item read with its place, for the paths of messages.
fn items<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Item>, D::Error> {
    struct Items;
    impl<'de> Visitor<'de> for Items {
        type Value = Vec<Item>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of items")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Item>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element_seed(ItemSeed { index: Some(out.len()) })? {
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Items)
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
