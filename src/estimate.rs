//! Estimates (docs/formats.md, "Runs and estimates"): lines per item component, exact totals, charged
//! amounts rounded per the card.

use crate::error::{EstimateError, QuantityProblem};
use crate::money::{exact_add, exact_mul, DecimalStr, Inexact};
use crate::names::{owned, Names};
use crate::rates::{RateCard, TextModel};
use crate::run::{ImageItem, Item, Quantity, Run, TextItem, VideoItem};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A low and a high amount; equal when every input was exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Bounds {
    /// With every range at its minimum.
    #[serde(deserialize_with = "crate::money::deserialize_decimal")]
    pub low: Decimal,
    /// With every range at its maximum.
    #[serde(deserialize_with = "crate::money::deserialize_decimal")]
    pub high: Decimal,
}

/// Serialized as `{low, high}`, decimals as normalized strings.
impl Serialize for Bounds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Bounds", 2)?;
        self.serialize_ends(&mut st)?;
        st.end()
    }
}

impl Bounds {
    fn exact(v: Decimal) -> Self {
        Bounds { low: v, high: v }
    }

    /// Whether low and high are the very same value. Exact inputs give
    /// bit-identical ends, so the arithmetic below runs once for them.
    #[inline(always)]
    fn is_point(&self) -> bool {
        self.low.serialize() == self.high.serialize()
    }

    /// The fields `low` and `high`.
    fn serialize_ends<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        st.serialize_field("low", &DecimalStr(self.low))?;
        st.serialize_field("high", &DecimalStr(self.high))
    }

    /// `f` applied to both ends (once when they are the same value).
    #[inline(always)]
    fn map<E>(self, f: impl Fn(Decimal) -> Result<Decimal, E>) -> Result<Bounds, E> {
        let low = f(self.low)?;
        let high = if self.is_point() { low } else { f(self.high)? };
        Ok(Bounds { low, high })
    }

    /// End-wise product.
    #[inline(always)]
    fn times(self, rate: Bounds) -> Result<Bounds, Overflow> {
        if rate.is_point() {
            return self.map(|q| mul(q, rate.low));
        }
        Ok(Bounds { low: mul(self.low, rate.low)?, high: mul(self.high, rate.high)? })
    }

    /// End-wise sum.
    #[inline(always)]
    fn plus(self, other: Bounds) -> Result<Bounds, Overflow> {
        if self.is_point() && other.is_point() {
            return Ok(Bounds::exact(add(self.low, other.low)?));
        }
        Ok(Bounds { low: add(self.low, other.low)?, high: add(self.high, other.high)? })
    }
}

/// What a run will cost. Names borrow from the [`crate::Engine`] that made
/// it, so estimating allocates only the list of lines; [`Estimate::into_owned`]
/// gives one that outlives the engine, and an owned one is read back from its
/// JSON with `Deserialize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Estimate<'e> {
    /// `[card] version` of the rates used.
    pub rates_version: Cow<'e, str>,
    /// The fingerprint of the engine that priced it ([`crate::Engine::fingerprint`]).
    pub fingerprint: Cow<'e, str>,
    /// One line per charged component, tool first, then items in order.
    pub lines: Vec<Line<'e>>,
    /// The exact sum of the lines.
    pub total: Bounds,
    /// The total rounded per the card: what would be charged.
    pub charged: Bounds,
}

/// One charged component of a run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Line<'e> {
    /// Index of the item in the run; `None` for the tool's per-run line.
    pub item: Option<usize>,
    /// What is charged.
    pub kind: LineKind,
    /// The model or tool name.
    pub model: Cow<'e, str>,
    /// Which part of the item.
    pub component: Component,
    /// Billed units, after minimums and rounding of batches or seconds.
    pub quantity: Bounds,
    /// What one unit is.
    pub unit: Unit,
    /// Credits per unit (differs between low and high only when the two
    /// ends fall in different tiers).
    pub rate: Bounds,
    /// `quantity.low × rate.low`.
    #[serde(deserialize_with = "crate::money::deserialize_decimal")]
    pub low: Decimal,
    /// `quantity.high × rate.high`.
    #[serde(deserialize_with = "crate::money::deserialize_decimal")]
    pub high: Decimal,
}

impl Estimate<'_> {
    /// The same estimate, owning its names: it outlives the engine (a
    /// reload, a spawned task).
    pub fn into_owned(self) -> Estimate<'static> {
        Estimate {
            rates_version: owned(self.rates_version),
            fingerprint: owned(self.fingerprint),
            lines: self.lines.into_iter().map(Line::into_owned).collect(),
            total: self.total,
            charged: self.charged,
        }
    }
}

impl Line<'_> {
    /// The same line, owning its model name.
    pub fn into_owned(self) -> Line<'static> {
        Line { model: owned(self.model), ..self }
    }
}

/// Serialized with the fields in their order, decimals as normalized
/// strings (`low` and `high` as [`Bounds`] writes them).
impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Line", 9)?;
        st.serialize_field("item", &self.item)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("model", &*self.model)?;
        st.serialize_field("component", &self.component)?;
        st.serialize_field("quantity", &self.quantity)?;
        st.serialize_field("unit", &self.unit)?;
        st.serialize_field("rate", &self.rate)?;
        Bounds { low: self.low, high: self.high }.serialize_ends(&mut st)?;
        st.end()
    }
}

/// What a line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum LineKind {
    /// A tool's standard run.
    Tool,
    /// A text model.
    Text,
    /// An image model.
    Image,
    /// A video model.
    Video,
}

/// The component of an item a line charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Component {
    /// The tool's per-run credits.
    Run,
    /// Uncached input tokens.
    Input,
    /// Cache reads.
    CachedInput,
    /// Cache writes.
    CacheWrite,
    /// Output tokens.
    Output,
    /// Generated images.
    Images,
    /// Seconds of video.
    Video,
    /// Seconds of generated audio.
    Audio,
}

/// The unit of a line's quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unit {
    /// A batch of this many tokens.
    Tokens(u64),
    /// One image.
    Image,
    /// One second.
    Second,
    /// One run.
    Run,
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Tokens(n) => write!(f, "{n} tokens"),
            Unit::Image => f.write_str("image"),
            Unit::Second => f.write_str("second"),
            Unit::Run => f.write_str("run"),
        }
    }
}

/// Read from what `Serialize` writes: `"N tokens"`, `"image"`, `"second"`, `"run"`.
impl<'de> Deserialize<'de> for Unit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        match &*text {
            "image" => Ok(Unit::Image),
            "second" => Ok(Unit::Second),
            "run" => Ok(Unit::Run),
            other => {
                other.strip_suffix(" tokens").and_then(|n| n.parse::<u64>().ok()).map(Unit::Tokens).ok_or_else(|| {
                    de::Error::custom(format_args!("`{other}` is no unit (`N tokens`, image, second, run)"))
                })
            }
        }
    }
}

impl Serialize for Unit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // Written by hand: `Display`'s formatting machinery was a few
            // percent of every estimate call from JavaScript.
            Unit::Tokens(n) => {
                let mut digits = itoa::Buffer::new();
                let digits = digits.format(*n).as_bytes();
                let mut text = [0u8; 27];
                if let Some((head, tail)) = text.split_at_mut_checked(digits.len()) {
                    head.copy_from_slice(digits);
                    if let Some(tail) = tail.get_mut(..7) {
                        tail.copy_from_slice(b" tokens");
                    }
                }
                s.serialize_str(std::str::from_utf8(text.get(..digits.len() + 7).unwrap_or(b"")).unwrap_or(""))
            }
            Unit::Image => s.serialize_str("image"),
            Unit::Second => s.serialize_str("second"),
            Unit::Run => s.serialize_str("run"),
        }
    }
}

/// Arithmetic that overflowed or would have rounded; a one-byte error
/// keeps the hot path's results small (an `EstimateError` is large and
/// would be copied on every step).
type Overflow = Inexact;

impl From<Inexact> for Fail {
    fn from(e: Inexact) -> Self {
        Box::new(match e {
            Inexact::Overflow => EstimateError::Overflow,
            Inexact::Rounded => EstimateError::NotExact,
        })
    }
}

/// The internal error path: boxed, so a `Result` on the hot path stays the
/// size of its value instead of the size of the largest error variant.
type Fail = Box<EstimateError>;

// `#[inline]`, not `(always)`: natively (opt-level 3) they are inlined all
// the same; the WebAssembly build (size) keeps one copy of each instead of
// rust_decimal's arithmetic at every use.
// Sums and products are exact or an error; only a division by a batch
// size that has no exact reciprocal rounds (`batches`).
#[inline]
fn add(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    exact_add(a, b)
}

#[inline]
fn mul(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    exact_mul(a, b)
}

#[inline]
fn div(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    a.checked_div(b).ok_or(Inexact::Overflow)
}

/// Checks a quantity: not negative, whole where asked, min ≤ max.
#[inline(always)]
fn bounds(q: Quantity, item: usize, field: &'static str, whole: bool) -> Result<(Decimal, Decimal), EstimateError> {
    let (low, high) = q.bounds();
    let bad = |problem| EstimateError::BadQuantity { item, field, problem };
    for v in [low, high] {
        if v.is_sign_negative() && !v.is_zero() {
            return Err(bad(QuantityProblem::Negative(v.normalize().to_string())));
        }
        if whole && !crate::money::is_whole(v) {
            return Err(bad(QuantityProblem::NotWhole(v.normalize().to_string())));
        }
    }
    if low.serialize() != high.serialize() && low > high {
        let (min, max) = (low.normalize().to_string(), high.normalize().to_string());
        return Err(bad(QuantityProblem::MinAboveMax { min, max }));
    }
    Ok((low, high))
}

impl RateCard {
    /// Estimates a run against these tables, for the engine of `fingerprint`.
    pub(crate) fn estimate<'e>(&'e self, run: &Run, fingerprint: &'e str) -> Result<Estimate<'e>, EstimateError> {
        self.estimate_inner(run, fingerprint).map_err(|e| *e)
    }

    fn estimate_inner<'e>(&'e self, run: &Run, fingerprint: &'e str) -> Result<Estimate<'e>, Fail> {
        if run.tool.is_none() && run.items.is_empty() {
            return Err(Box::new(EstimateError::EmptyRun));
        }
        if run.items.len() > crate::limits::MAX_ITEMS {
            let (count, limit) = (run.items.len(), crate::limits::MAX_ITEMS);
            return Err(Box::new(EstimateError::TooManyItems { count, limit }));
        }
        let mut lines = Vec::with_capacity(run.items.len() * 2 + 1);
        if let Some(name) = &run.tool {
            let tool = self.tools.get(name.as_str()).ok_or_else(|| {
                Fail::new(EstimateError::UnknownTool { tool: name.clone(), known: self.tools.known() })
            })?;
            lines.push(Line {
                item: None,
                kind: LineKind::Tool,
                model: Cow::Borrowed(&tool.name),
                component: Component::Run,
                quantity: Bounds::exact(Decimal::ONE),
                unit: Unit::Run,
                rate: Bounds::exact(tool.per_run),
                low: tool.per_run,
                high: tool.per_run,
            });
        }
        for (i, item) in run.items.iter().enumerate() {
            match item {
                Item::Text(t) => self.text_lines(i, t, &mut lines)?,
                Item::Image(m) => self.image_lines(i, m, &mut lines)?,
                Item::Video(v) => self.video_lines(i, v, &mut lines)?,
            }
        }
        let mut total = Bounds::exact(Decimal::ZERO);
        for l in &lines {
            total = total.plus(Bounds { low: l.low, high: l.high })?;
        }
        let charged = total.map(|t| Ok::<_, Overflow>(self.rounding.apply(t, self.precision)))?;
        Ok(Estimate {
            rates_version: Cow::Borrowed(&self.version),
            fingerprint: Cow::Borrowed(fingerprint),
            lines,
            total,
            charged,
        })
    }

    fn text_lines<'a>(&'a self, item: usize, t: &TextItem, lines: &mut Vec<Line<'a>>) -> Result<(), Fail> {
        let model = lookup(&self.text, item, "text", &t.model)?;
        let parts = [
            (Component::Input, "inputTokens", &t.input_tokens),
            (Component::CachedInput, "cachedInputTokens", &t.cached_input_tokens),
            (Component::CacheWrite, "cacheWriteTokens", &t.cache_write_tokens),
            (Component::Output, "outputTokens", &t.output_tokens),
        ];
        let mut tokens = [None; 4];
        for (slot, (_, field, q)) in tokens.iter_mut().zip(&parts) {
            if let Some(q) = q {
                *slot = Some(bounds(*q, item, field, true)?);
            }
        }
        if tokens.iter().all(Option::is_none) {
            return Err(Box::new(EstimateError::NoTokens { item }));
        }
        // The tier follows the prompt size (every input component); a model
        // without tiers skips summing it.
        let (rates_low, rates_high) = if model.tiers.is_empty() {
            (&model.base, &model.base)
        } else {
            let (mut low, mut high) = (Decimal::ZERO, Decimal::ZERO);
            for (l, h) in tokens.iter().take(3).flatten() {
                low = add(low, *l)?;
                high = add(high, *h)?;
            }
            (model.rates_for(low), model.rates_for(high))
        };
        for ((component, _, _), slot) in parts.iter().zip(tokens) {
            let Some((low, high)) = slot else { continue };
            let pick = |r: &crate::rates::TextRates| match component {
                Component::Input => r.input,
                Component::CachedInput => r.cached_input,
                Component::CacheWrite => r.cache_write,
                _ => r.output,
            };
            let quantity = Bounds { low, high }.map(|t| batches(model, t))?;
            let rate = Bounds { low: pick(rates_low), high: pick(rates_high) };
            let amount = quantity.times(rate)?;
            lines.push(Line {
                item: Some(item),
                kind: LineKind::Text,
                model: Cow::Borrowed(&model.name),
                component: *component,
                quantity,
                unit: Unit::Tokens(model.batch_tokens),
                rate,
                low: amount.low,
                high: amount.high,
            });
        }
        Ok(())
    }

    fn image_lines<'a>(&'a self, item: usize, m: &ImageItem, lines: &mut Vec<Line<'a>>) -> Result<(), Fail> {
        let model = lookup(&self.image, item, "image", &m.model)?;
        let quality =
            choose(item, &model.name, "quality", m.quality.as_ref(), model.default_quality.as_ref(), &model.per_asset)?;
        let sizes = model.per_asset.get(quality).ok_or_else(|| {
            Fail::new(EstimateError::UnknownQuality {
                item,
                model: m.model.clone(),
                quality: quality.clone(),
                known: model.per_asset.known(),
            })
        })?;
        let size = choose(item, &model.name, "size", m.size.as_ref(), model.default_size.as_ref(), sizes)?;
        let rate = *sizes.get(size).ok_or_else(|| {
            Fail::new(EstimateError::UnknownSize {
                item,
                model: m.model.clone(),
                quality: quality.clone(),
                size: size.clone(),
                known: sizes.known(),
            })
        })?;
        let (low, high) = bounds(m.count, item, "count", true)?;
        let quantity = Bounds { low, high };
        let amount = quantity.times(Bounds::exact(rate))?;
        lines.push(Line {
            item: Some(item),
            kind: LineKind::Image,
            model: Cow::Borrowed(&model.name),
            component: Component::Images,
            quantity,
            unit: Unit::Image,
            rate: Bounds::exact(rate),
            low: amount.low,
            high: amount.high,
        });
        Ok(())
    }

    fn video_lines<'a>(&'a self, item: usize, v: &VideoItem, lines: &mut Vec<Line<'a>>) -> Result<(), Fail> {
        let model = lookup(&self.video, item, "video", &v.model)?;
        let resolution = choose(
            item,
            &model.name,
            "resolution",
            v.resolution.as_ref(),
            model.default_resolution.as_ref(),
            &model.per_second,
        )?;
        let rate = *model.per_second.get(resolution).ok_or_else(|| {
            Fail::new(EstimateError::UnknownResolution {
                item,
                model: v.model.clone(),
                resolution: resolution.clone(),
                known: model.per_second.known(),
            })
        })?;
        let audio = match (v.audio, model.audio_per_second) {
            (false, _) => None,
            (true, Some(a)) => Some(a),
            (true, None) => return Err(Box::new(EstimateError::NoAudio { item, model: v.model.clone() })),
        };
        let (low, high) = bounds(v.seconds, item, "seconds", false)?;
        let billed = |s: Decimal| -> Result<Decimal, Overflow> {
            let s = s.max(model.min_seconds);
            match model.increment_seconds {
                // Up to a multiple of the increment.
                Some(inc) => mul(ceil_div(s, inc)?, inc),
                None => Ok(s),
            }
        };
        let quantity = Bounds { low, high }.map(billed)?;
        for (component, rate) in [(Component::Video, Some(rate)), (Component::Audio, audio)] {
            let Some(rate) = rate else { continue };
            let amount = quantity.times(Bounds::exact(rate))?;
            lines.push(Line {
                item: Some(item),
                kind: LineKind::Video,
                model: Cow::Borrowed(&model.name),
                component,
                quantity,
                unit: Unit::Second,
                rate: Bounds::exact(rate),
                low: amount.low,
                high: amount.high,
            });
        }
        Ok(())
    }
}

/// A model of one kind by name, or an error listing the models of that kind.
#[inline(always)]
fn lookup<'m, V>(models: &'m Names<V>, item: usize, kind: &'static str, name: &str) -> Result<&'m V, Fail> {
    models.get(name).ok_or_else(|| {
        Fail::new(EstimateError::UnknownModel { item, kind, model: name.to_string(), known: models.known() })
    })
}

/// The least whole number at or above `a / b` (both at least zero, `b`
/// above zero). The quotient is rounded to 28 digits, so its whole part is
/// checked by an exact product: a quotient that rounded onto a whole number
/// would bill one batch or increment short.
#[inline]
fn ceil_div(a: Decimal, b: Decimal) -> Result<Decimal, Overflow> {
    let whole = div(a, b)?.trunc();
    if mul(whole, b)? < a {
        add(whole, Decimal::ONE)
    } else {
        Ok(whole)
    }
}

/// Decimal places of a prorated batch count when the batch size has no
/// exact reciprocal.
const BATCH_PLACES: u32 = 12;

/// Billed batches for a token count: prorated, or whole batches when the
/// model charges a started batch in full.
#[inline(always)]
fn batches(model: &TextModel, tokens: Decimal) -> Result<Decimal, Overflow> {
    // Multiplying by an exact reciprocal is several times cheaper than dividing.
    if let Some(inv) = model.per_token {
        let b = mul(tokens, inv)?;
        return Ok(if model.round_up { b.ceil() } else { b });
    }
    if model.round_up {
        return ceil_div(tokens, model.batch);
    }
    // A batch size with no exact reciprocal (3, 7, …): the quotient to
    // 12 places, half to even, so every product and sum after it is exact.
    Ok(div(tokens, model.batch)?
        .round_dp_with_strategy(BATCH_PLACES, rust_decimal::RoundingStrategy::MidpointNearestEven))
}

/// The asked value, else the model's default, else an error listing choices.
fn choose<'a, V>(
    item: usize,
    model: &str,
    what: &'static str,
    asked: Option<&'a String>,
    default: Option<&'a String>,
    options: &Names<V>,
) -> Result<&'a String, Fail> {
    asked.or(default).ok_or_else(|| {
        Fail::new(EstimateError::MissingChoice { item, model: model.to_string(), what, known: options.known() })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn units_serialize_as_they_display() {
        for unit in [
            Unit::Tokens(0),
            Unit::Tokens(7),
            Unit::Tokens(1000),
            Unit::Tokens(u64::MAX),
            Unit::Image,
            Unit::Second,
            Unit::Run,
        ] {
            assert_eq!(serde_json::to_string(&unit).unwrap(), format!("\"{unit}\""));
        }
    }

    /// `ceil_div` is the ceiling of the exact quotient, also where the
    /// rounded quotient lands on a whole number (checked against the exact
    /// remainder).
    #[test]
    fn ceil_div_is_the_exact_ceiling() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let by_rem = |a: Decimal, b: Decimal| {
            let rest = a.checked_rem(b).unwrap();
            let whole = a.checked_sub(rest).unwrap().checked_div(b).unwrap();
            if rest.is_zero() {
                whole
            } else {
                whole.checked_add(Decimal::ONE).unwrap()
            }
        };
        let cases = [
            ("0", "3"),
            ("6", "3"),
            ("7", "3"),
            ("6.5", "0.5"),
            ("6.51", "0.5"),
            // Quotients just above and below a whole number, past 28 digits.
            ("3000000000000000000000000001", "3"),
            ("2999999999999999999999999999", "3"),
            ("1.000000000000000000000000001", "0.3333333333333333333333333333"),
            ("79228162514264337593543950335", "7"),
        ];
        for (a, b) in cases {
            let (a, b) = (d(a), d(b));
            assert_eq!(ceil_div(a, b).unwrap(), by_rem(a, b), "{a} / {b}");
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let a = Decimal::from_i128_with_scale(i128::from(x >> 8), (x % 12) as u32);
            let b = Decimal::from_i128_with_scale(i128::from((x >> 40) % 9_999 + 1), ((x >> 20) % 5) as u32);
            assert_eq!(ceil_div(a, b).unwrap(), by_rem(a, b), "{a} / {b}");
        }
    }
}
