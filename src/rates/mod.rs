//! Rate tables (docs/formats.md, "Rate files"): the document form in `doc`, compiled here into
//! the tables estimates query.

mod doc;
mod sheet;

#[cfg(feature = "schema")]
pub(crate) use doc::RatesDoc as RatesDocSchema;
pub use sheet::{ImageRate, RateSheet, TextRate, TextTier, ToolRate, VideoRate};

use crate::error::{LoadError, LoadProblemKind};
use crate::load::{Claims, FileCtx, Problems};
use crate::money::Rounding;
use crate::names::Names;
use crate::source::{Location, Source};
use doc::{Name, Num, PartialBatch, RatesDoc, TierDoc};
use rust_decimal::Decimal;
use std::sync::Arc;

/// The compiled rate tables: everything an estimate reads.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct RateCard {
    pub(crate) version: Arc<str>,
    pub(crate) precision: u32,
    pub(crate) rounding: Rounding,
    pub(crate) text: Names<TextModel>,
    pub(crate) image: Names<ImageModel>,
    pub(crate) video: Names<VideoModel>,
    pub(crate) tools: Names<Tool>,
}

/// Credits per batch for each text component.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TextRates {
    #[serde(with = "crate::money::dec")]
    pub(crate) input: Decimal,
    #[serde(with = "crate::money::dec")]
    pub(crate) output: Decimal,
    #[serde(with = "crate::money::dec")]
    pub(crate) cached_input: Decimal,
    #[serde(with = "crate::money::dec")]
    pub(crate) cache_write: Decimal,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct TextModel {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    #[serde(with = "crate::money::dec")]
    pub(crate) batch: Decimal,
    pub(crate) batch_tokens: u64,
    /// `1 / batch` when that is an exact decimal (batch = 2^a · 5^b).
    #[serde(with = "crate::money::dec::opt")]
    pub(crate) per_token: Option<Decimal>,
    pub(crate) round_up: bool,
    pub(crate) base: TextRates,
    /// Sorted by threshold; each entry fully resolved.
    #[serde(with = "tiers")]
    pub(crate) tiers: Vec<(Decimal, TextRates)>,
    /// Where each tier is written (for lints).
    pub(crate) tier_locations: Vec<Location>,
}

impl TextModel {
    /// The rates for a request of `prompt` input tokens: the highest tier
    /// whose threshold it is strictly above, else the base rates.
    pub(crate) fn rates_for(&self, prompt: Decimal) -> &TextRates {
        self.tiers.iter().rev().find(|(above, _)| prompt > *above).map_or(&self.base, |(_, r)| r)
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct ImageModel {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    pub(crate) default_quality: Option<String>,
    pub(crate) default_size: Option<String>,
    /// quality -> size -> credits per image.
    #[serde(with = "crate::names::dec::nested")]
    pub(crate) per_asset: Names<Names<Decimal>>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct VideoModel {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    pub(crate) default_resolution: Option<String>,
    #[serde(with = "crate::names::dec")]
    pub(crate) per_second: Names<Decimal>,
    #[serde(with = "crate::money::dec")]
    pub(crate) min_seconds: Decimal,
    #[serde(with = "crate::money::dec::opt")]
    pub(crate) increment_seconds: Option<Decimal>,
    #[serde(with = "crate::money::dec::opt")]
    pub(crate) audio_per_second: Option<Decimal>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Tool {
    pub(crate) name: Arc<str>,
    pub(crate) label: String,
    #[serde(with = "crate::money::dec")]
    pub(crate) per_run: Decimal,
}

/// Loads rate sources, in the order given (callers sort by file name).
impl RateCard {
    /// What the estimate relies on, as the loader makes it: a card read
    /// from a bundle is checked, not trusted.
    pub(crate) fn check_bundled(&self) -> Result<(), String> {
        if self.precision > 28 {
            return Err(format!("precision {} beyond 28 places", self.precision));
        }
        for m in self.text.values() {
            if m.batch <= Decimal::ZERO || m.tiers.windows(2).any(|w| matches!(w, [a, b] if a.0 >= b.0)) {
                return Err(format!("text model `{}`: batch or tiers out of order", m.name));
            }
        }
        Ok(())
    }
}

/// `serde(with)` for a text model's tiers: thresholds and rates.
mod tiers {
    use super::TextRates;
    use crate::money::Dec;
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(t: &[(Decimal, TextRates)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(t.iter().map(|(above, rates)| (Dec(*above), rates)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Decimal, TextRates)>, D::Error> {
        Vec::<(Dec, TextRates)>::deserialize(d).map(|t| t.into_iter().map(|(above, rates)| (above.0, rates)).collect())
    }
}

pub(crate) fn load(sources: &[Source]) -> Result<RateCard, LoadError> {
    let mut problems = Problems::default();
    let mut card: Option<(Location, Arc<str>, u32, Rounding)> = None;
    let mut claims = Claims::default();
    let mut text = Vec::new();
    let mut image = Vec::new();
    let mut video = Vec::new();
    let mut tools = Vec::new();

    for (index, src) in sources.iter().enumerate() {
        let mut cx = FileCtx { src, index, problems: &mut problems };
        let Some(doc) = cx.parse::<RatesDoc>() else {
            continue;
        };

        if let Some(c) = &doc.card {
            let here = cx.at(c.span());
            let c = c.get_ref();
            if let Some((first, ..)) = &card {
                cx.report(LoadProblemKind::DuplicateCard { first: first.clone() }, here.span());
            } else {
                let precision = *c.precision.get_ref();
                let precision = match u32::try_from(precision) {
                    Ok(p) if p <= 28 => p,
                    _ => {
                        cx.report(LoadProblemKind::BadPrecision { value: precision }, c.precision.span());
                        0
                    }
                };
                if c.version.get_ref().trim().is_empty() {
                    cx.report(LoadProblemKind::Empty { what: "version" }, c.version.span());
                }
                card = Some((here, Arc::from(c.version.get_ref().as_str()), precision, c.rounding));
            }
        }

        let mut claim = |cx: &mut FileCtx, what: &'static str, name: &Name| claims.claim(cx, what, name);

        for (what, n) in [
            ("text models", doc.text.len()),
            ("image models", doc.image.len()),
            ("video models", doc.video.len()),
            ("tools", doc.tools.len()),
        ] {
            cx.within(what, n, crate::limits::MAX_MODELS, 0..0);
        }
        for (name, m) in &doc.text {
            let Some(id) = claim(&mut cx, "text model", name) else {
                continue;
            };
            if let Some(model) = text_model(&mut cx, Arc::clone(&id), m.get_ref()) {
                text.push((id, model));
            }
        }
        for (name, m) in &doc.image {
            let Some(id) = claim(&mut cx, "image model", name) else {
                continue;
            };
            if let Some(model) = image_model(&mut cx, Arc::clone(&id), m.get_ref()) {
                image.push((id, model));
            }
        }
        for (name, m) in &doc.video {
            let Some(id) = claim(&mut cx, "video model", name) else {
                continue;
            };
            if let Some(model) = video_model(&mut cx, Arc::clone(&id), m.get_ref()) {
                video.push((id, model));
            }
        }
        for (name, t) in &doc.tools {
            let Some(id) = claim(&mut cx, "tool", name) else {
                continue;
            };
            let t = t.get_ref();
            if let Some(per_run) = cx.non_negative(&t.per_run, "per_run") {
                let label = t.label.clone().unwrap_or_else(|| id.to_string());
                tools.push((Arc::clone(&id), Tool { name: id, label, per_run }));
            }
        }
    }

    for (what, n) in [
        ("text models", text.len()),
        ("image models", image.len()),
        ("video models", video.len()),
        ("tools", tools.len()),
    ] {
        if n > crate::limits::MAX_MODELS {
            let kind = LoadProblemKind::TooLarge { what, count: n, limit: crate::limits::MAX_MODELS };
            problems.push(0, crate::error::LoadProblem::new(kind, None));
        }
    }
    let card = match card {
        Some(c) => Some(c),
        None if problems.is_empty() => {
            problems.push(0, crate::error::LoadProblem::new(LoadProblemKind::MissingCard, None));
            None
        }
        None => None,
    };
    match card {
        Some((_, version, precision, rounding)) if problems.is_empty() => Ok(RateCard {
            version,
            precision,
            rounding,
            text: text.into_iter().collect(),
            image: image.into_iter().collect(),
            video: video.into_iter().collect(),
            tools: tools.into_iter().collect(),
        }),
        _ => Err(problems.into_error()),
    }
}

fn text_model(cx: &mut FileCtx, name: Arc<str>, m: &doc::TextDoc) -> Option<TextModel> {
    if !cx.within("tiers", m.tiers.len(), crate::limits::MAX_TIERS, m.batch.span()) {
        return None;
    }
    let batch = cx.whole(&m.batch, "batch");
    let batch = match batch {
        Some(b) if b.is_zero() => {
            cx.report(LoadProblemKind::NotPositive { field: "batch".into(), value: b }, m.batch.span());
            None
        }
        other => other,
    };
    let batch_tokens = batch.and_then(|b| u64::try_from(b).ok());
    if let (Some(b), None) = (batch, batch_tokens) {
        cx.report(LoadProblemKind::OutOfRange { value: b.to_string() }, m.batch.span());
    }
    let input = cx.non_negative(&m.input, "input");
    let output = cx.non_negative(&m.output, "output");
    let cached = opt(cx, &m.cached_input, "cached_input");
    let write = opt(cx, &m.cache_write, "cache_write");
    let (Some(input), Some(output), Some(cached), Some(write)) = (input, output, cached, write) else {
        // Still check the tiers, so every problem of the file shows at once.
        for t in &m.tiers {
            tier_values(cx, t.get_ref());
        }
        return None;
    };
    let base = TextRates { input, output, cached_input: cached.unwrap_or(input), cache_write: write.unwrap_or(input) };

    let mut tiers: Vec<(Decimal, TextRates)> = Vec::new();
    let mut tier_locations = Vec::new();
    let mut ok = true;
    for t in &m.tiers {
        let Some((above, ti, to, tc, tw)) = tier_values(cx, t.get_ref()) else {
            ok = false;
            continue;
        };
        let below = tiers.last().map(|(a, r)| (*a, *r));
        if let Some((previous, _)) = below {
            if above <= previous {
                cx.report(LoadProblemKind::TiersNotIncreasing { above, previous }, t.get_ref().above.span());
                ok = false;
                continue;
            }
        }
        let tier_input = ti.unwrap_or(base.input);
        let rates = TextRates {
            input: tier_input,
            output: to.unwrap_or(base.output),
            // Unset cache rates follow this tier's input unless the model
            // states its own; see README "Choices".
            cached_input: tc.or(cached).unwrap_or(tier_input),
            cache_write: tw.or(write).unwrap_or(tier_input),
        };
        let prev = below.map_or(base, |(_, r)| r);
        for (field, from, to) in [
            ("input", prev.input, rates.input),
            ("output", prev.output, rates.output),
            ("cached_input", prev.cached_input, rates.cached_input),
            ("cache_write", prev.cache_write, rates.cache_write),
        ] {
            if to < from {
                let kind = LoadProblemKind::TierLowersRate { above, field: field.into(), from, to };
                cx.report(kind, t.span());
                ok = false;
            }
        }
        tiers.push((above, rates));
        tier_locations.push(cx.at(t.get_ref().above.span()));
    }
    let (batch, batch_tokens) = (batch?, batch_tokens?);
    if !ok {
        return None;
    }
    Some(TextModel {
        label: m.label.clone().unwrap_or_else(|| name.to_string()),
        name,
        per_token: exact_reciprocal(batch_tokens),
        batch,
        batch_tokens,
        round_up: m.partial_batch == PartialBatch::RoundUp,
        base,
        tiers,
        tier_locations,
    })
}

/// `1 / n` as an exact decimal, when it has one within 28 places.
fn exact_reciprocal(n: u64) -> Option<Decimal> {
    let mut rest = n;
    for p in [2, 5] {
        while rest.is_multiple_of(p) {
            rest /= p;
        }
    }
    if rest != 1 {
        return None;
    }
    let inv = Decimal::ONE.checked_div(Decimal::from(n))?;
    (inv.checked_mul(Decimal::from(n)) == Some(Decimal::ONE)).then_some(inv)
}

type TierValues = (Decimal, Option<Decimal>, Option<Decimal>, Option<Decimal>, Option<Decimal>);

fn tier_values(cx: &mut FileCtx, t: &TierDoc) -> Option<TierValues> {
    let above = cx.whole(&t.above, "above");
    let i = opt(cx, &t.input, "input");
    let o = opt(cx, &t.output, "output");
    let c = opt(cx, &t.cached_input, "cached_input");
    let w = opt(cx, &t.cache_write, "cache_write");
    Some((above?, i?, o?, c?, w?))
}

/// `Some(None)` when absent, `Some(Some(x))` when valid, `None` when invalid.
fn opt(cx: &mut FileCtx, n: &Option<Num>, field: &str) -> Option<Option<Decimal>> {
    match n {
        None => Some(None),
        Some(n) => cx.non_negative(n, field).map(Some),
    }
}

fn image_model(cx: &mut FileCtx, name: Arc<str>, m: &doc::ImageDoc) -> Option<ImageModel> {
    let mut ok = true;
    let mut per_asset = Vec::new();
    if m.per_asset.get_ref().is_empty() {
        cx.report(LoadProblemKind::Empty { what: "per_asset" }, m.per_asset.span());
        ok = false;
    }
    for (quality, sizes) in m.per_asset.get_ref() {
        ok &= cx.name(quality, "quality").is_some();
        if sizes.is_empty() {
            cx.report(LoadProblemKind::Empty { what: "per_asset quality" }, quality.span());
            ok = false;
        }
        let mut row = Vec::new();
        for (size, rate) in sizes {
            ok &= cx.name(size, "size").is_some();
            match cx.non_negative(rate, "per_asset") {
                Some(r) => {
                    row.push((Arc::from(size.get_ref().as_str()), r));
                }
                None => ok = false,
            }
        }
        per_asset.push((Arc::from(quality.get_ref().as_str()), row.into_iter().collect::<Names<_>>()));
    }
    let per_asset: Names<Names<Decimal>> = per_asset.into_iter().collect();
    if let Some(q) = &m.default_quality {
        if !per_asset.contains_key(q.get_ref()) {
            let known = per_asset.known();
            let kind = LoadProblemKind::UnknownDefault { what: "default_quality", value: q.get_ref().clone(), known };
            cx.report(kind, q.span());
            ok = false;
        }
    }
    if let Some(s) = &m.default_size {
        // A default size must be priced at every quality, or a request that
        // only names a quality could not be priced.
        if let Some((quality, sizes)) = per_asset.iter().find(|(_, sizes)| !sizes.contains_key(s.get_ref())) {
            let kind = LoadProblemKind::DefaultSizeNotPriced {
                size: s.get_ref().clone(),
                quality: quality.to_string(),
                known: sizes.known(),
            };
            cx.report(kind, s.span());
            ok = false;
        }
    }
    ok.then(|| ImageModel {
        label: m.label.clone().unwrap_or_else(|| name.to_string()),
        name,
        default_quality: m.default_quality.as_ref().map(|q| q.get_ref().clone()),
        default_size: m.default_size.as_ref().map(|s| s.get_ref().clone()),
        per_asset,
    })
}

fn video_model(cx: &mut FileCtx, name: Arc<str>, m: &doc::VideoDoc) -> Option<VideoModel> {
    let mut ok = true;
    let mut per_second = Vec::new();
    if m.per_second.get_ref().is_empty() {
        cx.report(LoadProblemKind::Empty { what: "per_second" }, m.per_second.span());
        ok = false;
    }
    for (res, rate) in m.per_second.get_ref() {
        ok &= cx.name(res, "resolution").is_some();
        match cx.non_negative(rate, "per_second") {
            Some(r) => {
                per_second.push((Arc::from(res.get_ref().as_str()), r));
            }
            None => ok = false,
        }
    }
    let per_second: Names<Decimal> = per_second.into_iter().collect();
    if let Some(r) = &m.default_resolution {
        if !per_second.contains_key(r.get_ref()) {
            let known = per_second.known();
            let kind =
                LoadProblemKind::UnknownDefault { what: "default_resolution", value: r.get_ref().clone(), known };
            cx.report(kind, r.span());
            ok = false;
        }
    }
    let min_seconds = opt(cx, &m.min_seconds, "min_seconds");
    let increment = match &m.increment_seconds {
        None => Some(None),
        Some(n) => cx.positive(n, "increment_seconds").map(Some),
    };
    let audio = opt(cx, &m.audio_per_second, "audio_per_second");
    let (Some(min_seconds), Some(increment_seconds), Some(audio_per_second)) = (min_seconds, increment, audio) else {
        return None;
    };
    ok.then(|| VideoModel {
        label: m.label.clone().unwrap_or_else(|| name.to_string()),
        name,
        default_resolution: m.default_resolution.as_ref().map(|r| r.get_ref().clone()),
        per_second,
        min_seconds: min_seconds.unwrap_or(Decimal::ZERO),
        increment_seconds,
        audio_per_second,
    })
}

#[cfg(test)]
mod tests {
    use super::exact_reciprocal;
    use rust_decimal::Decimal;

    #[test]
    fn reciprocals_only_when_exact() {
        assert_eq!(exact_reciprocal(1000), Some(Decimal::new(1, 3)));
        assert_eq!(exact_reciprocal(1), Some(Decimal::ONE));
        assert_eq!(exact_reciprocal(64), Some(Decimal::new(15625, 6)));
        assert_eq!(exact_reciprocal(3), None);
        assert_eq!(exact_reciprocal(1_000_000), Some(Decimal::new(1, 6)));
    }
}
