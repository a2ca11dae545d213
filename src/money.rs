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

/// A number as deserialized. A float is read through its shortest
/// round-trip decimal form (`0.1` means exactly 0.1); callers that have the
/// source text can also check that form against what was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Number {
    Str(String),
    Int(i128),
    Float(f64),
}

impl Number {
    /// The exact decimal value (a float's named by `Display` when it has none).
    pub(crate) fn to_decimal(&self) -> Result<Decimal, NumberError> {
        match self {
            Number::Str(s) => RawNumber::Str(s).to_decimal(),
            Number::Int(i) => RawNumber::Int(*i).to_decimal(),
            Number::Float(f) => float_to_decimal(*f).ok_or_else(|| float_error(*f, &f.to_string())),
        }
    }
}

/// Why a written number is not a decimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NumberError {
    /// Not a decimal number at all (`"abc"`, `"1e5"` as a string, NaN).
    NotANumber(String),
    /// Outside what a 96-bit decimal with 28 digits holds.
    OutOfRange(String),
    /// A float whose source text holds more digits than the float keeps.
    InexactFloat(String),
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
    let (negative, body) = match s.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, s),
    };
    let valid = !body.is_empty()
        && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && body.bytes().filter(|&b| b == b'.').count() <= 1
        && body.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return Err(NumberError::NotANumber(s.to_string()));
    }
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    exact(negative, whole, fraction, 0).ok_or_else(|| NumberError::OutOfRange(s.to_string()))
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

/// `whole.fraction × 10^exp` (ASCII digits) as a decimal, exactly, keeping
/// the fraction's trailing zeros as `Decimal::from_str_exact` does; `None`
/// when it needs more than 96 bits or 28 places. Rust_decimal's own parsers
/// were 3 KB of the gzipped WebAssembly module.
#[inline]
pub(crate) fn exact(negative: bool, whole: &str, fraction: &str, exp: i64) -> Option<Decimal> {
    // u64 while it holds (every decimal a request or file usually has),
    // i128 beyond: WebAssembly has no 128-bit arithmetic.
    let mut digits = whole.bytes().chain(fraction.bytes());
    let mut small: u64 = 0;
    let mut mantissa: i128 = loop {
        match digits.next() {
            None => break i128::from(small),
            Some(b) => {
                let d = u64::from(b.checked_sub(b'0')?);
                match small.checked_mul(10).and_then(|m| m.checked_add(d)) {
                    Some(m) => small = m,
                    None => break i128::from(small) * 10 + i128::from(d),
                }
            }
        }
    };
    for b in digits {
        mantissa = mantissa.checked_mul(10)?.checked_add(i128::from(b.checked_sub(b'0')?))?;
        if mantissa >= 1 << 96 {
            return None;
        }
    }
    let mut scale = i64::try_from(fraction.len()).ok()? - exp;
    if mantissa == 0 {
        // Zero times any power of ten: no loop over the exponent (`0e999999999`).
        scale = scale.clamp(0, 28);
    }
    while scale < 0 {
        mantissa = mantissa.checked_mul(10)?;
        scale += 1;
    }
    if mantissa >= 1 << 96 {
        return None;
    }
    let mut value = Decimal::try_from_i128_with_scale(mantissa, u32::try_from(scale).ok()?).ok()?;
    value.set_sign_negative(negative);
    Some(value)
}

/// A float's shortest round-trip decimal form (`crate::float`).
pub(crate) use crate::float::to_decimal as float_to_decimal;

/// What to call a float that is no decimal, by its text as written.
pub(crate) fn float_error(f: f64, written: &str) -> NumberError {
    let written = if written.is_empty() { "the float" } else { written };
    if f.is_finite() {
        NumberError::OutOfRange(written.to_string())
    } else {
        NumberError::NotANumber(written.to_string())
    }
}

/// Checks a TOML float literal as written (`0.1`, `1_000.5`, `2e-3`) against
/// the float it became; a literal with more digits than the float keeps is
/// inexact and must be written as a string.
pub(crate) fn exact_float_literal(literal: &str, value: f64) -> Result<Decimal, NumberError> {
    let written = literal.trim();
    let word = written.trim_start_matches(['+', '-']);
    if value.is_infinite() && !word.is_empty() && word != "inf" {
        // A literal too large for a float (`1e400`) is out of range, not NaN.
        return Err(NumberError::OutOfRange(written.to_string()));
    }
    let shortest = float_to_decimal(value).ok_or_else(|| float_error(value, written))?;
    let cleaned: String = literal.trim().chars().filter(|&c| c != '_').collect();
    let written = crate::float::split(&cleaned)
        .and_then(|(negative, whole, fraction, exp)| exact(negative, whole, fraction, exp));
    match written {
        Some(w) if w == shortest => Ok(shortest),
        // Literal text unavailable (not from a file we hold): trust the float.
        _ if literal.is_empty() => Ok(shortest),
        _ => Err(NumberError::InexactFloat(literal.trim().to_string())),
    }
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

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
        Ok(Number::Float(v))
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

/// Normalized text of a decimal: no trailing zeros, no negative zero.
pub(crate) fn normalized(d: Decimal) -> Decimal {
    let n = d.normalize();
    if n.is_zero() {
        Decimal::ZERO
    } else {
        n
    }
}

/// `n / 10` and its last digit. In 32 bits when `n` fits: WebAssembly has
/// no 64-bit multiply-high, so a 64-bit division by ten is a division
/// instruction (tens of cycles), while a 32-bit one is a multiplication.
#[inline]
fn tenth(n: u64) -> (u64, u8) {
    match u32::try_from(n) {
        Ok(small) => (u64::from(small / 10), (small % 10) as u8),
        Err(_) => (n / 10, (n % 10) as u8),
    }
}

/// The normalized text of a decimal (`"3"`, `"0.25"`, `"-1.5"`), written
/// without the formatting machinery: every number in every answer goes
/// through here, and `normalize` + `Display` cost more than the estimate
/// itself (most of all in WebAssembly, where 128-bit division is a call).
pub(crate) struct DecimalText {
    buf: [u8; 48],
    start: usize,
}

impl DecimalText {
    #[inline]
    pub(crate) fn new(d: Decimal) -> DecimalText {
        let mut text = DecimalText { buf: [b'0'; 48], start: 48 };
        let mantissa = d.mantissa();
        let mut scale = d.scale();
        let mut digits = mantissa.unsigned_abs();
        if digits == 0 {
            text.start = 47;
            return text;
        }
        // (The 64-bit test first: `digits % 10` is a call to 128-bit division
        // in WebAssembly.)
        while scale > 0 && u64::try_from(digits).is_err() && digits % 10 == 0 {
            digits /= 10;
            scale -= 1;
        }
        match u64::try_from(digits) {
            // The usual case: 64-bit arithmetic, one instruction per step.
            Ok(mut small) => {
                while scale > 0 && tenth(small).1 == 0 {
                    small = tenth(small).0;
                    scale -= 1;
                }
                text.put_digits(small, scale);
            }
            Err(_) => {
                // No trailing zeros left (or no fraction); more than 19
                // digits and at most 29 (96 bits): written in two halves.
                let (high, low) = (digits / 10_u128.pow(19), digits % 10_u128.pow(19));
                let (high, low) = (high as u64, low as u64);
                text.put_digits_padded(low, 19, scale);
                text.put_digits(high, scale.saturating_sub(19));
            }
        }
        if mantissa < 0 {
            text.push(b'-');
        }
        text
    }

    #[inline]
    fn push(&mut self, byte: u8) {
        // At most 31 bytes are ever written ("-0." and 28 more digits).
        self.start = self.start.saturating_sub(1);
        if let Some(slot) = self.buf.get_mut(self.start) {
            *slot = byte;
        }
    }

    /// Writes the last digit of `n` and drops it; writes the point once
    /// `scale` digits are written. True when the point was just written.
    #[inline]
    fn digit(&mut self, n: &mut u64, scale: &mut u32) -> bool {
        let (rest, last) = tenth(*n);
        self.push(b'0' + last);
        *n = rest;
        if *scale == 0 {
            return false;
        }
        *scale -= 1;
        if *scale == 0 {
            self.push(b'.');
        }
        *scale == 0
    }

    /// Writes `n` right to left, with the point before the last `scale`
    /// digits (and leading zeros up to it).
    #[inline]
    fn put_digits(&mut self, mut n: u64, mut scale: u32) {
        while scale > 0 || n > 0 {
            if self.digit(&mut n, &mut scale) && n == 0 {
                self.push(b'0');
            }
        }
    }

    /// The low half of a long mantissa: exactly `width` digits.
    #[inline]
    fn put_digits_padded(&mut self, mut n: u64, width: u32, mut scale: u32) {
        for _ in 0..width {
            self.digit(&mut n, &mut scale);
        }
    }

    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits, '.' and '-' are ever written.
        std::str::from_utf8(self.buf.get(self.start..).unwrap_or_default()).unwrap_or("0")
    }
}

/// Serializes a [`Decimal`] as its normalized string (`"3"`, `"0.25"`).
pub(crate) fn serialize_decimal<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(DecimalText::new(*d).as_str())
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

    #[test]
    fn decimal_strings_read_as_rust_decimal_reads_them() {
        let mut next = crate::float::rng(0x1234_5678_9ABC_DEF1);
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "1.",
            ".5",
            "-.5",
            "0.10",
            "79228162514264337593543950335",
            "79228162514264337593543950336",
            "7.9228162514264337593543950335",
            "0.0000000000000000000000000001",
            "0.00000000000000000000000000001",
            "1.0000000000000000000000000000",
            "000123.4500",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..50_000 {
            let len = 1 + next() % 32;
            let digits = crate::float::random_digits(&mut next, len);
            let point = (next() % (len + 1)) as usize;
            let sign = if next() % 2 == 0 { "-" } else { "" };
            cases.push(format!("{sign}{}.{}", &digits[..point], &digits[point..]));
        }
        for c in &cases {
            let ours = parse_decimal_str(c).ok();
            let theirs = Decimal::from_str_exact(c).ok();
            assert_eq!(ours.map(|d| (d, d.scale())), theirs.map(|d| (d, d.scale())), "{c}");
        }
    }

    #[test]
    fn floats_use_their_shortest_form() {
        assert_eq!(float_to_decimal(0.1), Some(d("0.1")));
        assert_eq!(float_to_decimal(6.5), Some(d("6.5")));
        assert_eq!(float_to_decimal(f64::NAN), None);
        assert_eq!(float_to_decimal(1e300), None);
    }

    /// What `float_to_decimal` gives, the old way: `Display`'s shortest
    /// digits, read exactly.
    fn by_display(f: f64) -> Option<Decimal> {
        f.is_finite().then(|| Decimal::from_str_exact(&f.to_string()).ok().map(normalized)).flatten()
    }

    /// Floats of every kind: any bits, short decimals, every binary
    /// exponent a decimal can hold, powers of two and their neighbours
    /// (where the float's interval is lopsided), seeded so a failure repeats.
    fn floats(n: usize, seed: u64) -> impl Iterator<Item = f64> {
        let mut next = crate::float::rng(seed);
        (0..n).map(move |i| {
            let r = next();
            match i % 4 {
                0 => f64::from_bits(r),
                1 => (r % 100_000_000) as f64 / 10f64.powi((next() % 20) as i32),
                2 => f64::from_bits((r & 0x800F_FFFF_FFFF_FFFF) | ((900 + next() % 200) << 52)),
                _ => {
                    let p = f64::from_bits((1023 + (r % 190) - 95) << 52);
                    f64::from_bits(p.to_bits() - 1 + next() % 3)
                }
            }
        })
    }

    #[test]
    fn shortest_form_agrees_with_display() {
        let specials = [0.1, 0.2, 0.3, 1.0 / 3.0, 5e-324, f64::MAX, f64::MIN_POSITIVE, 7.9e28, 8e28, 1e-28, 1.5e-28];
        for f in specials.into_iter().chain(floats(60_000, 0x9E37_79B9_7F4A_7C15)) {
            for f in [f, -f] {
                let ours = float_to_decimal(f);
                assert_eq!(
                    ours.map(|d| d.to_string()),
                    by_display(f).map(|d| d.to_string()),
                    "{f:e} ({:#x})",
                    f.to_bits()
                );
            }
        }
    }

    /// The same over ten million floats: `cargo test --release --lib -- --ignored shortest`.
    #[test]
    #[ignore]
    fn shortest_form_agrees_with_display_at_length() {
        for f in floats(10_000_000, 0x2545_F491_4F6C_DD1D) {
            assert_eq!(float_to_decimal(f), by_display(f), "{f:e} ({:#x})", f.to_bits());
        }
    }

    #[test]
    fn float_literals_must_round_trip() {
        assert_eq!(exact_float_literal("0.1", 0.1), Ok(d("0.1")));
        assert_eq!(exact_float_literal("1_000.5", 1000.5), Ok(d("1000.5")));
        assert_eq!(exact_float_literal("2e-3", 0.002), Ok(d("0.002")));
        assert_eq!(exact_float_literal("+2.50", 2.5), Ok(d("2.5")));
        // Zero with a huge exponent is zero, at once (it once looped over the exponent).
        assert_eq!(exact_float_literal("0e999999999999999", 0.0), Ok(Decimal::ZERO));
        assert_eq!(exact_float_literal("0.0e-999999999", 0.0), Ok(Decimal::ZERO));
        assert_eq!(exact_float_literal("0e99999999999999999999", 0.0), Ok(Decimal::ZERO));
        assert_eq!(
            exact_float_literal("0.30000000000000001", 0.3),
            Err(NumberError::InexactFloat("0.30000000000000001".into()))
        );
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
    fn decimal_text_is_the_normalized_display() {
        let cases = [
            "0",
            "-0.00",
            "3.000",
            "0.250",
            "-1.5",
            "0.0001",
            "-0.001",
            "12345678901234567890.5",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "7.9228162514264337593543950335",
            "10000000000000000000",
            "18446744073709551616",
            "100.10",
        ];
        for c in cases {
            let v = d(c);
            assert_eq!(DecimalText::new(v).as_str(), normalized(v).to_string(), "{c}");
        }
        for m in [1_i128, 7, 10, 99, 1000, 123_456_789, i128::from(u64::MAX), i128::from(u64::MAX) + 1, 10_i128.pow(20)]
        {
            for scale in 0..=28 {
                for m in [m, -m] {
                    let v = Decimal::from_i128_with_scale(m, scale);
                    assert_eq!(DecimalText::new(v).as_str(), normalized(v).to_string(), "{m}e-{scale}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn decimal_text_matches_display_everywhere(lo: u32, mid: u32, hi: u32, negative: bool, scale in 0_u32..=28) {
            let v = Decimal::from_parts(lo, mid, hi, negative, scale);
            let text = DecimalText::new(v);
            proptest::prop_assert_eq!(text.as_str(), normalized(v).to_string());
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
        NumberError::InexactFloat(v) => format!("float `{v}` is not exact"),
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
