//! Decimal values: parsing from strings, integers and exact floats;
//! normalization; rounding of charged amounts; string serialization.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A number as written in a document, before it becomes a [`Decimal`].
///
/// Strings and integers are exact. Floats take their own path
/// ([`float_to_decimal`]), because what to call a float that is no decimal
/// depends on whether its text is at hand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RawNumber<'a> {
    Str(&'a str),
    Int(i128),
}

/// A number as deserialized or read from a document: a string, an
/// integer, or a number literal's text (a TOML float, a JSON number), which
/// becomes a decimal exactly as written. No binary floating point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Number {
    Str(String),
    Int(i128),
    Literal(String),
}

impl Number {
    /// The exact decimal value.
    pub(crate) fn to_decimal(&self) -> Result<Decimal, NumberError> {
        match self {
            Number::Str(s) => RawNumber::Str(s).to_decimal(),
            Number::Int(i) => RawNumber::Int(*i).to_decimal(),
            Number::Literal(text) => decimal_from_literal(text),
        }
    }
}

/// Why a written number is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// Not a decimal number at all (`"abc"`, `"1e5"` as a string, NaN).
    NotANumber(String),
    /// Outside what a 96-bit decimal with 28 places holds: too large, or
    /// more digits than it keeps.
    OutOfRange(String),
}

impl<'a> RawNumber<'a> {
    /// The exact decimal value.
    #[inline]
    pub(crate) fn to_decimal(self) -> Result<Decimal, NumberError> {
        match self {
            RawNumber::Str(s) => parse_decimal_str(s),
            // Every integer of 96 bits, not only those of 64 (`2^63` and
            // `2^64 - 1` are integers JSON and TOML readers hand over).
            RawNumber::Int(i) => Decimal::try_from_i128_with_scale(i, 0)
                .map_err(|_| NumberError::OutOfRange(itoa::Buffer::new().format(i).to_string())),
        }
    }
}

/// Parses a plain decimal string (`"12"`, `"0.25"`, `"-3.5"`) exactly: no
/// exponents, no rounding of long fractions.
#[inline]
pub(crate) fn parse_decimal_str(s: &str) -> Result<Decimal, NumberError> {
    if !is_plain(s) {
        return Err(NumberError::NotANumber(s.to_string()));
    }
    exactly(s, 0).ok_or_else(|| NumberError::OutOfRange(s.to_string()))
}

/// Plain decimal text: an optional `-`, ASCII digits (at least one) and at
/// most one point. No `+`, `_`, exponent or spaces.
fn is_plain(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit())
}

/// Reads a decimal exactly as the engine reads one in a file or request:
/// digits with an optional sign and point (`"12"`, `"0.25"`, `"-3.5"`); no
/// exponent, no `_`, no rounding of digits a decimal cannot hold. For text
/// from elsewhere (command-line flags, forms) so it meets the same rules.
///
/// ```
/// assert_eq!(tollgate::parse_decimal("0.25").unwrap().to_string(), "0.25");
/// assert!(tollgate::parse_decimal("1e3").is_err());
/// assert!(tollgate::parse_decimal("0.00000000000000000000000000001").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_decimal(text: &str) -> Result<Decimal, String> {
    parse_decimal_str(text).map_err(decimal_message)
}

/// `digits × 10^exp`, where `digits` is plain decimal text (`-12.50`), as
/// a decimal exactly; `None` when that needs more than 96 bits of digits or
/// 28 places. The digits are read by rust_decimal's exact reader, which
/// keeps the scale written (`0.10` has two places). Zeros it cannot hold
/// but that change no value (leading zeros, trailing zeros of a fraction,
/// trailing zeros of a whole number, which move into the exponent) are
/// dropped first when they are in the way.
fn exactly(digits: &str, exp: i64) -> Option<Decimal> {
    let mut exp = exp;
    let d = match Decimal::from_str_exact(digits) {
        Ok(d) => d,
        Err(_) => {
            let (negative, unsigned) = match digits.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, digits),
            };
            let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
            let whole = whole.trim_start_matches('0');
            let fraction = fraction.trim_end_matches('0');
            let mut d = if fraction.is_empty() {
                let kept = whole.trim_end_matches('0');
                if kept.is_empty() {
                    return Some(Decimal::ZERO);
                }
                exp = exp.checked_add(i64::try_from(whole.len().checked_sub(kept.len())?).ok()?)?;
                Decimal::from_str_exact(kept).ok()?
            } else {
                Decimal::from_str_exact(&format!("{}.{fraction}", if whole.is_empty() { "0" } else { whole })).ok()?
            };
            d.set_sign_negative(negative);
            d
        }
    };
    let scale = i64::from(d.scale()).checked_sub(exp)?;
    if d.is_zero() {
        // Zero times any power of ten is zero (`0e999999999`).
        return Decimal::try_from_i128_with_scale(0, u32::try_from(scale.clamp(0, 28)).ok()?).ok();
    }
    if scale >= 0 {
        return fit(d.mantissa(), u32::try_from(scale).ok()?).ok();
    }
    // A positive power of ten beyond the point: at most 28 more digits fit.
    let p = pow10(u32::try_from(scale.checked_neg()?).ok().filter(|&k| k <= 28)?)?;
    fit(d.mantissa().checked_mul(p)?, 0).ok()
}

/// A number literal's text (a TOML float, a JSON number: sign, digits,
/// point, exponent) as a decimal, exactly as written: `0.1` is one tenth,
/// `2.5e-3` is 0.0025, and a number a decimal cannot hold without rounding
/// is refused, never rounded. No binary floating point is involved.
pub(crate) fn decimal_from_literal(text: &str) -> Result<Decimal, NumberError> {
    let body = text.strip_prefix('+').unwrap_or(text);
    let (digits, exp) = match body.split_once(['e', 'E']) {
        Some((digits, exp)) => (digits, exp),
        None => (body, "0"),
    };
    let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    if !is_plain(digits) || exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumberError::NotANumber(text.to_string()));
    }
    let zero = digits.bytes().all(|b| matches!(b, b'0' | b'.' | b'-'));
    match exp.parse::<i64>() {
        Ok(exp) => exactly(digits, exp).ok_or_else(|| NumberError::OutOfRange(text.to_string())),
        // An exponent beyond 64 bits: zero stays zero, anything else is out of range.
        Err(_) if zero => Ok(Decimal::ZERO),
        Err(_) => Err(NumberError::OutOfRange(text.to_string())),
    }
}

/// How a number reaches a `Deserialize` impl as its text: a one-entry map
/// of this key to the text. serde_json hands every number that is not a
/// 64-bit integer over this way (its `arbitrary_precision` feature, which
/// the engine turns on), and the engine's TOML request reader hands TOML
/// floats over the same way (`run::exact_floats`), so one path reads both.
pub(crate) const NUMBER_TOKEN: &str = "$serde_json::private::Number";

/// What a number reader says of a binary float, which only a reader that
/// keeps no number text hands over (`toml::from_str`, a JSON reader without
/// serde_json's `arbitrary_precision`): it is no exact decimal, so it is
/// refused rather than guessed at.
pub(crate) fn float_refused<E: de::Error>() -> E {
    E::custom(
        "a binary float is no exact decimal: write the number as a string (\"0.25\"), \
         or read the text with tollgate's readers (tollgate::from_toml_str), which keep each number's digits",
    )
}

/// The number text of a map whose first key, already read, is `key`:
/// `Some(text)` for a number handed over as text, `None` for another map.
pub(crate) fn number_text<'de, A: de::MapAccess<'de>>(key: &str, map: &mut A) -> Result<Option<String>, A::Error> {
    if key != NUMBER_TOKEN {
        return Ok(None);
    }
    map.next_value::<String>().map(Some)
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor)
    }
}

struct NumberVisitor;

impl<'de> Visitor<'de> for NumberVisitor {
    type Value = Number;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number, as a string (\"0.25\") or an integer")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
        Ok(Number::Str(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
        Ok(Number::Int(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
        Ok(Number::Int(i128::from(v)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Number, E> {
        Ok(Number::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Number, E> {
        i128::try_from(v).map(Number::Int).map_err(|_| E::custom(format_args!("number `{v}` is out of range")))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Number, E> {
        Err(float_refused())
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Number, A::Error> {
        let key = map.next_key::<String>()?.unwrap_or_default();
        match number_text(&key, &mut map)? {
            Some(text) => Ok(Number::Literal(text)),
            None => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// Why exact arithmetic gave no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inexact {
    /// Beyond the decimal range.
    Overflow,
    /// Within the range, but not representable exactly: the exact result
    /// needs more than 28 places or 96 bits of digits, and rust_decimal
    /// would round it.
    Rounded,
}

/// `10^k` for `k <= 28`, in 128 bits.
fn pow10(k: u32) -> Option<i128> {
    10_i128.checked_pow(k)
}

/// `m × 10^-scale` with trailing zeros dropped until it fits a decimal, or
/// `Rounded` when it does not fit without losing a digit.
fn fit(mut m: i128, mut scale: u32) -> Result<Decimal, Inexact> {
    const LIMIT: i128 = 1 << 96;
    while (scale > 28 || m.unsigned_abs() >= LIMIT.unsigned_abs()) && scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    if m.unsigned_abs() >= LIMIT.unsigned_abs() {
        return Err(if scale == 0 { Inexact::Overflow } else { Inexact::Rounded });
    }
    if scale > 28 {
        return Err(Inexact::Rounded);
    }
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| Inexact::Overflow)
}

/// `a + b`, exactly. `checked_add` rounds a sum that needs more digits
/// than a decimal holds (`1e9 + 1e-22`); that is an error here.
#[inline]
pub(crate) fn exact_add(a: Decimal, b: Decimal) -> Result<Decimal, Inexact> {
    let sum = a.checked_add(b).ok_or(Inexact::Overflow)?;
    // No digit was dropped when the sum keeps the larger scale.
    if sum.scale() >= a.scale().max(b.scale()) {
        return Ok(sum);
    }
    // Normalized, a rescaled addend ends in zeros while the other ends in a
    // non-zero digit (or both keep their scale), so a sum too wide for 128
    // bits here is too wide for a decimal too.
    let (a, b) = (a.normalize(), b.normalize());
    let scale = a.scale().max(b.scale());
    let widen = |d: Decimal| pow10(scale - d.scale()).and_then(|p| d.mantissa().checked_mul(p));
    let (Some(x), Some(y)) = (widen(a), widen(b)) else { return Err(Inexact::Rounded) };
    fit(x.checked_add(y).ok_or(Inexact::Rounded)?, scale)
}

/// `a × b`, exactly. `checked_mul` rounds a product with more than 28
/// places or 96 bits of digits; that is an error here.
#[inline]
pub(crate) fn exact_mul(a: Decimal, b: Decimal) -> Result<Decimal, Inexact> {
    let product = a.checked_mul(b).ok_or(Inexact::Overflow)?;
    let scale = a.scale().saturating_add(b.scale());
    if product.scale() == scale {
        return Ok(product);
    }
    let (a, b) = (a.normalize(), b.normalize());
    let m = a.mantissa().checked_mul(b.mantissa()).ok_or(Inexact::Rounded)?;
    fit(m, a.scale().saturating_add(b.scale()))
}

/// Whether `d` is a whole number.
pub(crate) fn is_whole(d: Decimal) -> bool {
    // The mantissa is a multiple of 10^scale: integer arithmetic on the
    // parts, rather than `fract`'s decimal subtraction (2 KB of the
    // WebAssembly module). The scale is at most 28 and 10^28 < 2^127.
    d.scale() == 0 || pow10(d.scale()).and_then(|p| d.mantissa().checked_rem(p)).is_some_and(|r| r == 0)
}

/// Normalized text of a decimal: no trailing zeros, no negative zero.
pub(crate) fn normalized(d: Decimal) -> Decimal {
    let n = d.normalize();
    if n.is_zero() {
        Decimal::ZERO
    } else {
        n
    }
}

/// A decimal written as its normalized text (`"3"`, `"0.25"`): every
/// decimal of every answer, through rust_decimal's `Display`.
#[derive(Clone, Copy)]
pub(crate) struct DecimalStr(pub(crate) Decimal);

impl Serialize for DecimalStr {
    #[inline]
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&normalized(self.0))
    }
}

/// Serializes a [`Decimal`] as its normalized string (`"3"`, `"0.25"`).
pub(crate) fn serialize_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    DecimalStr(*d).serialize(s)
}

/// How a total becomes a charged amount (`[card] rounding`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Away from zero: any fraction of the last place charges a whole one.
    Up,
    /// Toward zero: fractions of the last place are dropped.
    Down,
    /// To nearest; halves away from zero.
    HalfUp,
    /// To nearest; halves to the even neighbour (banker's rounding).
    HalfEven,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::Up => RoundingStrategy::AwayFromZero,
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }

    /// Rounds to `precision` decimal places.
    #[inline]
    pub(crate) fn apply(self, d: Decimal, precision: u32) -> Decimal {
        if d.scale() <= precision {
            return d; // already within precision: nothing to round
        }
        d.round_dp_with_strategy(precision, self.strategy())
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rounding::Up => "up",
            Rounding::Down => "down",
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn strings_parse_exactly_and_reject_other_shapes() {
        assert_eq!(parse_decimal_str("0.25"), Ok(d("0.25")));
        assert_eq!(parse_decimal_str("-3"), Ok(d("-3")));
        for bad in ["", "abc", "1e3", "1.2.3", ".", " 1", "0x10", "--1"] {
            assert!(matches!(parse_decimal_str(bad), Err(NumberError::NotANumber(_))), "{bad}");
        }
        assert!(matches!(parse_decimal_str("0.12345678901234567890123456789012"), Err(NumberError::OutOfRange(_))));
    }

    proptest::proptest! {
        /// `is_whole` agrees with rust_decimal's `fract`, at every scale.
        #[test]
        fn is_whole_agrees_with_fract(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0_u32..=28, zeros in 0_u32..=28) {
            let v = Decimal::from_parts(lo, mid, hi, negative, scale);
            proptest::prop_assert_eq!(is_whole(v), v.fract().is_zero());
            // Whole numbers written with trailing zeros after the point.
            if let Ok(w) = Decimal::try_from_i128_with_scale(i128::from(lo).saturating_mul(10_i128.pow(zeros)), zeros) {
                proptest::prop_assert!(is_whole(w));
            }
        }

        /// Every decimal reads back from its text exactly, scale kept; and
        /// from a literal of its digits and an exponent, as the same value.
        #[test]
        fn every_decimal_reads_back_from_its_text(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0_u32..=28, shift in 0_i64..40) {
            let v = Decimal::from_parts(lo, mid, hi, negative, scale);
            let text = v.to_string();
            let back = parse_decimal_str(&text).unwrap();
            proptest::prop_assert_eq!((back, back.scale()), (v, v.scale()));
            let sign = if v.is_sign_negative() { "-" } else { "" };
            let digits = v.mantissa().unsigned_abs().to_string();
            let literal = format!("{sign}{digits}{}e{}", "0".repeat(shift as usize), -(i64::from(scale) + shift));
            proptest::prop_assert_eq!(decimal_from_literal(&literal).unwrap(), v);
            proptest::prop_assert_eq!(decimal_from_literal(&literal.replace('e', ".0E")).unwrap(), v);
        }
    }

    #[test]
    fn number_literals_are_read_exactly_as_written() {
        let ok = |t: &str| decimal_from_literal(t);
        assert_eq!(ok("0.1"), Ok(d("0.1")));
        assert_eq!(ok("1000.5"), Ok(d("1000.5")));
        assert_eq!(ok("2e-3"), Ok(d("0.002")));
        assert_eq!(ok("2.5E+3"), Ok(d("2500")));
        assert_eq!(ok("+2.50"), Ok(d("2.50")));
        assert_eq!(ok("-7.922816251426433e28"), Ok(d("-79228162514264330000000000000")));
        // More digits than a double keeps: read as written, not rounded.
        assert_eq!(ok("0.30000000000000001"), Ok(d("0.30000000000000001")));
        assert_eq!(ok("1e-28"), Ok(d("0.0000000000000000000000000001")));
        // Trailing zeros beyond 28 places change no value.
        assert_eq!(ok("0.50000000000000000000000000000000"), Ok(d("0.5")));
        assert_eq!(ok("0e999999999999999"), Ok(Decimal::ZERO));
        assert_eq!(ok("0.0e-999999999"), Ok(Decimal::ZERO));
        assert_eq!(ok("0e99999999999999999999"), Ok(Decimal::ZERO));
        let out = |t: &str| assert_eq!(ok(t), Err(NumberError::OutOfRange(t.into())), "{t}");
        out("1e29");
        out("1e-29");
        out("1.00000000000000000000000000001");
        out("79228162514264337593543950336");
        out("1e400");
        out("1e99999999999999999999");
        let nan = |t: &str| assert_eq!(ok(t), Err(NumberError::NotANumber(t.into())), "{t}");
        for t in ["inf", "-inf", "+inf", "nan", "-nan", "", "e5", "1e", "1_0", "1.2.3", " 1", "0x10", "1e+-2"] {
            nan(t);
        }
    }

    #[test]
    fn rounding_modes() {
        let x = d("2.345");
        assert_eq!(Rounding::Up.apply(x, 2), d("2.35"));
        assert_eq!(Rounding::Down.apply(x, 2), d("2.34"));
        assert_eq!(Rounding::HalfUp.apply(x, 2), d("2.35"));
        assert_eq!(Rounding::HalfEven.apply(x, 2), d("2.34"));
        assert_eq!(Rounding::Up.apply(d("2.001"), 2), d("2.01"));
    }

    #[test]
    fn decimals_are_written_normalized() {
        for (v, text) in [("0", "0"), ("-0.00", "0"), ("3.000", "3"), ("0.250", "0.25"), ("-1.5", "-1.5")] {
            assert_eq!(serde_json::to_string(&DecimalStr(d(v))).unwrap(), format!("\"{text}\""));
        }
    }

    #[test]
    fn normalization_drops_trailing_zeros() {
        assert_eq!(normalized(d("3.000")).to_string(), "3");
        assert_eq!(normalized(d("-0.00")).to_string(), "0");
        assert_eq!(normalized(d("0.250")).to_string(), "0.25");
    }
}

/// Deserializes a [`Decimal`] from a decimal string, an integer or a float
/// (read through its shortest decimal form).
pub(crate) fn deserialize_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let n = Number::deserialize(d)?;
    n.to_decimal().map_err(|e| de::Error::custom(decimal_message(e)))
}

/// What a decimal field that is no decimal says.
pub(crate) fn decimal_message(e: NumberError) -> String {
    match e {
        NumberError::NotANumber(v) => format!("`{v}` is not a decimal number"),
        NumberError::OutOfRange(v) => format!("`{v}` is out of range"),
    }
}

/// `serde(with = "crate::money::decimal")`: a decimal in, a normalized string out.
pub(crate) mod decimal {
    pub(crate) use super::deserialize_decimal as deserialize;
    pub(crate) use super::serialize_decimal as serialize;
}

/// A decimal read as [`deserialize_decimal`] reads it, for maps of decimals.
#[derive(Deserialize)]
pub(crate) struct DecimalValue(#[serde(deserialize_with = "deserialize_decimal")] pub(crate) Decimal);

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Number {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Decimal".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An exact decimal: a string such as \"0.25\" (preferred), an integer, or a float that round-trips exactly",
            "anyOf": [
                { "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" },
                { "type": "number" }
            ]
        })
    }
}

/// A decimal in a bundle: its mantissa and scale, read back through
/// rust_decimal's checked constructor (a scale beyond 28 or a mantissa
/// beyond 96 bits is an error, never a malformed decimal).
#[derive(Clone, Copy)]
pub(crate) struct Dec(pub(crate) Decimal);

impl Serialize for Dec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (self.0.mantissa(), self.0.scale()).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (mantissa, scale) = <(i128, u32)>::deserialize(d)?;
        Decimal::try_from_i128_with_scale(mantissa, scale)
            .map(Dec)
            .map_err(|_| de::Error::custom(format_args!("no decimal has mantissa {mantissa} and scale {scale}")))
    }
}

/// `serde(with = "crate::money::dec")`: a decimal field of a compiled form.
pub(crate) mod dec {
    use super::{Dec, Decimal};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        Dec(*d).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        Dec::deserialize(d).map(|d| d.0)
    }

    /// An optional decimal field.
    pub(crate) mod opt {
        use super::super::{Dec, Decimal};
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub(crate) fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
            d.map(Dec).serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
            Option::<Dec>::deserialize(d).map(|d| d.map(|d| d.0))
        }
    }
}
