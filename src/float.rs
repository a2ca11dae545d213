//! Floats without the float machinery of the standard library: decimal text
//! to the nearest double, and a double to its shortest decimal form, by
//! exact integer arithmetic.
//!
//! Floats only reach the engine as JSON numbers and TOML floats, and become
//! decimals at once; `str::parse::<f64>` and `Display` for f64 carried
//! tables that were a tenth of the gzipped WebAssembly module. Unit tests
//! hold `parse` to `str::parse::<f64>` and `to_decimal` to `Display`, bit for
//! bit and digit for digit, over hundreds of thousands of inputs.

use rust_decimal::Decimal;
use std::cmp::Ordering;

/// A big unsigned integer: base 2^32 limbs, least significant first.
#[derive(Clone, Debug)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(n: u64) -> Big {
        let mut b = Big(vec![(n & 0xffff_ffff) as u32, (n >> 32) as u32]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// `self × m + add`.
    fn mul_add(&mut self, m: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let v = u64::from(*limb) * u64::from(m) + carry;
            *limb = (v & 0xffff_ffff) as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    /// `self × 10^n`.
    fn mul_pow10(&mut self, mut n: u64) {
        while n > 0 {
            let step = n.min(9);
            self.mul_add(10u32.pow(step as u32), 0);
            n -= step;
        }
    }

    /// `self × 2^n`.
    fn shl(&self, n: u64) -> Big {
        let (limbs, bits) = ((n / 32) as usize, (n % 32) as u32);
        let mut out = vec![0; limbs];
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push(if bits == 0 { limb } else { (limb << bits) | carry });
            carry = if bits == 0 { 0 } else { limb >> (32 - bits) };
        }
        out.push(carry);
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self × m`.
    fn mul_u64(&self, m: u64) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        let mut carry = 0u128;
        for &limb in &self.0 {
            let v = u128::from(limb) * u128::from(m) + carry;
            out.push((v & 0xffff_ffff) as u32);
            carry = v >> 32;
        }
        while carry > 0 {
            out.push((carry & 0xffff_ffff) as u32);
            carry >>= 32;
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self − other`, for `self ≥ other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for (i, &limb) in self.0.iter().enumerate() {
            let v = i64::from(limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(v < 0);
            out.push((v + (borrow << 32)) as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

/// Powers of ten a double holds exactly.
const EXACT: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The double nearest to `digits × 10^exp` (digits 0–9, the first not 0),
/// ties to even; 0 or infinity beyond the doubles' range.
fn nearest(digits: &[u8], exp: i64) -> f64 {
    let n = digits.len() as i64;
    // At most 15 digits and an exact power of ten: one correctly rounded
    // operation on exact operands (Clinger's fast path).
    if n <= 15 && (-22..=22).contains(&exp) {
        let m = digits.iter().fold(0u64, |m, &d| m * 10 + u64::from(d)) as f64;
        let p = EXACT.get(exp.unsigned_abs() as usize).copied().unwrap_or(1.0);
        return if exp >= 0 { m * p } else { m / p };
    }
    // The value is below 10^(n + exp) and at least 10^(n + exp - 1).
    if n + exp > 310 {
        return f64::INFINITY;
    }
    if n + exp < -325 {
        return 0.0;
    }
    let mut num = Big(Vec::new());
    for &d in digits {
        num.mul_add(10, u32::from(d));
    }
    let mut den = Big::from_u64(1);
    if exp >= 0 {
        num.mul_pow10(exp.unsigned_abs());
    } else {
        den.mul_pow10(exp.unsigned_abs());
    }
    // Find e with 2^52 ≤ num / (den × 2^e) < 2^53 (or e = -1074, subnormal).
    let mut e = (num.bits() as i64 - den.bits() as i64 - 53).max(-1074);
    let (num, den) = loop {
        let (a, b) =
            if e >= 0 { (num.clone(), den.shl(e.unsigned_abs())) } else { (num.shl(e.unsigned_abs()), den.clone()) };
        if a.cmp(&b.shl(53)) != Ordering::Less {
            e += 1;
        } else if e > -1074 && a.cmp(&b.shl(52)) == Ordering::Less {
            e -= 1;
        } else {
            break (a, b);
        }
    };
    // m = num / den, bit by bit (it has at most 53), then rounded.
    let mut m = 0u64;
    for bit in (0..53).rev() {
        let t = m | 1 << bit;
        if den.mul_u64(t).cmp(&num) != Ordering::Greater {
            m = t;
        }
    }
    let twice_rest = num.sub(&den.mul_u64(m)).shl(1);
    match twice_rest.cmp(&den) {
        Ordering::Greater => m += 1,
        Ordering::Equal if m & 1 == 1 => m += 1,
        _ => {}
    }
    if m == 1 << 53 {
        m >>= 1;
        e += 1;
    }
    if e > 971 {
        return f64::INFINITY;
    }
    if m < 1 << 52 {
        return f64::from_bits(m);
    }
    f64::from_bits(((e + 1075) as u64) << 52 | (m & ((1 << 52) - 1)))
}

/// A float written in decimal: `[+-] digits [. digits] [(e|E) [+-] digits]`
/// (JSON's numbers and TOML's floats, underscores removed), or TOML's `inf`
/// and `nan` with an optional sign. `None` for anything else.
pub(crate) fn parse(text: &str) -> Option<f64> {
    let special = match text.strip_prefix(['+', '-']).unwrap_or(text) {
        "inf" => Some(f64::INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    };
    let (negative, value) = match special {
        Some(value) => (text.starts_with('-'), value),
        None => {
            let (negative, whole, fraction, exp) = split(text)?;
            (negative, from_parts(whole, fraction, exp))
        }
    };
    Some(if negative { -value } else { value })
}

/// The parts of a decimal written `[+-] digits [. digits] [(e|E) [+-]
/// digits]`: its sign, the digits before and after the point, and the
/// exponent (held at ±10^10 beyond: the value is 0 or infinite either way).
/// `None` for anything else.
pub(crate) fn split(text: &str) -> Option<(bool, &str, &str, i64)> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (unsigned.get(..i)?, Some(unsigned.get(i + 1..)?)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let exp = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
            let digits = digits.trim_start_matches('0');
            let v: i64 = match digits.len() {
                0 => 0,
                1..=10 => digits.parse().ok()?,
                _ => 10_000_000_000,
            };
            if e.starts_with('-') {
                -v
            } else {
                v
            }
        }
    };
    Some((negative, whole, fraction, exp))
}

/// The double nearest to `whole.fraction × 10^exp` (ASCII digits).
fn from_parts(whole: &str, fraction: &str, exp: i64) -> f64 {
    let mut exp = exp - fraction.len() as i64;
    let mut digits: Vec<u8> = whole.bytes().chain(fraction.bytes()).map(|b| b - b'0').collect();
    let first = digits.iter().position(|&d| d != 0).unwrap_or(digits.len());
    digits.drain(..first);
    while digits.last() == Some(&0) {
        digits.pop();
        exp += 1;
    }
    // Past 800 significant digits only "something follows" can still
    // decide the rounding (no halfway point of doubles needs more than
    // 768): keep 799 and a 1 for the rest, so a number of a million digits
    // costs what one of 800 does.
    if digits.len() > 800 {
        exp += digits.len() as i64 - 800;
        digits.truncate(799);
        digits.push(1);
    }
    if digits.is_empty() {
        0.0
    } else {
        nearest(&digits, exp)
    }
}

/// A float's shortest round-trip decimal form, exactly: the fewest
/// significant digits that read back as the same float and, when two such
/// do, the nearer (the upper one on a tie), which is what `Display` for f64
/// prints. `None` when the float is not finite or that form does not fit a
/// decimal (28 places, up to `Decimal::MAX`).
///
/// Found from the float's exact digits by reading candidates back.
pub(crate) fn to_decimal(f: f64) -> Option<Decimal> {
    let x = f.abs();
    if !x.is_finite() || (x != 0.0 && !(1e-29..8e28).contains(&x)) {
        return None;
    }
    if x == 0.0 {
        return Some(Decimal::ZERO);
    }
    let (digits, point) = exact_digits(x);
    for p in 1..=digits.len().min(17) {
        let (kept, rest) = digits.split_at(p);
        let low = kept.iter().fold(0u64, |n, &d| n * 10 + u64::from(d));
        // The candidate is `n × 10^-scale`.
        let scale = i32::try_from(p).ok()? - point;
        let reads_back = |n: u64| {
            let mut ds: Vec<u8> = itoa::Buffer::new().format(n).bytes().map(|b| b - b'0').collect();
            let mut exp = -i64::from(scale);
            while ds.last() == Some(&0) {
                ds.pop();
                exp += 1;
            }
            nearest(&ds, exp) == x
        };
        let down = reads_back(low);
        let up = rest.iter().any(|&d| d != 0) && reads_back(low + 1);
        let mut n = match (down, up) {
            (true, true) if rest.first().is_some_and(|&d| d >= 5) => low + 1,
            (true, _) => low,
            (false, true) => low + 1,
            (false, false) => continue,
        };
        let mut scale = scale;
        while n % 10 == 0 && scale > 0 {
            n /= 10;
            scale -= 1;
        }
        let n = i128::from(n);
        let value = match u32::try_from(scale) {
            Ok(scale) => Decimal::try_from_i128_with_scale(n, scale).ok()?,
            Err(_) => {
                Decimal::try_from_i128_with_scale(n.checked_mul(10i128.checked_pow(scale.unsigned_abs())?)?, 0).ok()?
            }
        };
        let mut value = crate::money::normalized(value);
        value.set_sign_negative(f < 0.0 && !value.is_zero());
        return Some(value);
    }
    None
}

/// The exact decimal digits of a positive finite float, no leading zeros,
/// and where the point goes: the float is `0.DIGITS × 10^point`.
fn exact_digits(x: f64) -> (Vec<u8>, i32) {
    let bits = x.to_bits();
    let exponent = i32::try_from((bits >> 52) & 0x7ff).unwrap_or(0);
    let fraction = bits & ((1 << 52) - 1);
    // x = mantissa × 2^power, exactly; the mantissa's trailing zero bits
    // moved to the power, so a short decimal such as 6.5 stays a short sum.
    let (mantissa, power) = if exponent == 0 { (fraction, -1074) } else { (fraction | 1 << 52, exponent - 1075) };
    let zeros = mantissa.trailing_zeros();
    let (mantissa, power) = (mantissa >> zeros, power + i32::try_from(zeros).unwrap_or(0));
    // x = big × 10^ten: times 2^power, or (m × 2^-k = m × 5^k × 10^-k) times 5^-power.
    let mut big = Big::from_u64(mantissa);
    let ten = if power >= 0 {
        big = big.shl(u64::from(power.unsigned_abs()));
        0
    } else {
        for _ in 0..power.unsigned_abs() / 13 {
            big.mul_add(1_220_703_125, 0); // 5^13
        }
        big.mul_add(5u32.pow(power.unsigned_abs() % 13), 0);
        power
    };
    let mut groups = Vec::new();
    while !big.0.is_empty() {
        let mut rem = 0u64;
        for limb in big.0.iter_mut().rev() {
            let v = (rem << 32) | u64::from(*limb);
            *limb = (v / 1_000_000_000) as u32;
            rem = v % 1_000_000_000;
        }
        big.trim();
        groups.push(rem);
    }
    let mut digits = Vec::new();
    for (i, &g) in groups.iter().rev().enumerate() {
        let width = if i == 0 { g.checked_ilog10().map_or(1, |l| l + 1) } else { 9 };
        digits.extend((0..width).rev().map(|k| u8::try_from(g / 10u64.pow(k) % 10).unwrap_or(0)));
    }
    let point = i32::try_from(digits.len()).unwrap_or(0) + ten;
    (digits, point)
}

/// Seeded xorshift for the unit tests of the crate: failures repeat.
#[cfg(test)]
pub(crate) fn rng(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

/// `len` random decimal digits, for the unit tests of the crate.
#[cfg(test)]
pub(crate) fn random_digits(next: &mut impl FnMut() -> u64, len: u64) -> String {
    (0..len).map(|_| char::from(b'0' + (next() % 10) as u8)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    use super::{random_digits, rng};

    fn same(text: &str) {
        let ours = parse(text).unwrap();
        let std = text.parse::<f64>().unwrap();
        assert!(ours.to_bits() == std.to_bits() || (ours.is_nan() && std.is_nan()), "{text}: {ours:e} vs {std:e}");
    }

    #[test]
    fn parse_is_std_on_hard_cases() {
        for t in [
            "0",
            "-0",
            "0.0",
            "1",
            "-1",
            "0.1",
            "0.2",
            "0.3",
            "6.5",
            "1e23",
            "9007199254740993",
            "9007199254740992.5",
            "2.2250738585072011e-308",
            "2.2250738585072014e-308",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1e309",
            "1e-400",
            "8.98846567431158e307",
            "123456789012345678901234567890",
            "0.30000000000000001",
            "0.30000000000000004",
            "1e-7",
            "123.456e-5",
            "1E+2",
            "1e999999999999",
            "1e-999999999999",
            "inf",
            "-inf",
            "nan",
            "00012.5000",
            "1e0000000000005",
            "1e-0000000000000000007",
            "1e+00",
            "5e-324",
            "1.5e-323",
            "7.2057594037927933e16",
            "0.000000000000000000000000000001",
        ] {
            same(t);
        }
        assert_eq!(parse("1."), None);
        assert_eq!(parse(".5"), None);
        assert_eq!(parse("1e"), None);
        assert_eq!(parse("x"), None);
    }

    #[test]
    fn parse_is_std_on_very_long_numbers() {
        let mut next = rng(0xDEAD_BEEF_1234_5678);
        for _ in 0..50 {
            let len = 700 + next() % 5000;
            let digits = random_digits(&mut next, len);
            let exp = (next() % 1200) as i64 - 5600;
            same(&format!("1{digits}e{exp}"));
            same(&format!("0.{digits}"));
        }
        // Halfway between two doubles, then a nonzero digit far out.
        same(&format!("9007199254740993{}1", "0".repeat(3000)));
        same(&format!("9007199254740993{}", "0".repeat(3000)));
    }

    #[test]
    fn parse_is_std_on_random_decimals() {
        let mut next = rng(0x2545_F491_4F6C_DD1D);
        for _ in 0..200_000 {
            let len = 1 + next() % 25;
            let digits = random_digits(&mut next, len);
            let point = (next() % (len + 1)) as usize;
            let exp = (next() % 700) as i64 - 350;
            let text = format!("{}0.{}e{exp}", &digits[..point], &digits[point..]);
            same(&text.replace(".e", ".0e"));
        }
    }

    #[test]
    fn parse_reads_back_every_kind_of_float() {
        let mut next = rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..100_000 {
            let f = f64::from_bits(next());
            if f.is_finite() {
                for text in [format!("{f:e}"), format!("{f:.17e}"), format!("{f:.3e}")] {
                    same(&text);
                }
            }
        }
    }
}
