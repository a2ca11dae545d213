//! Time as the ledger keeps it: an instant in UTC, to the millisecond
//! (stored as milliseconds since 1970, so that windows are ranges of
//! integers), read from and written as RFC 3339.

use crate::LedgerError;
use jiff::{tz::TimeZone, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct At(pub(crate) i64);

impl At {
    /// Reads an RFC 3339 time (`2026-11-30T12:00:00Z`, any offset). Finer
    /// than a millisecond is refused rather than rounded.
    pub fn parse(text: &str) -> Result<At, LedgerError> {
        let t: Timestamp =
            text.parse().map_err(|e| LedgerError::BadInput(format!("`{text}` is not an RFC 3339 time: {e}")))?;
        At::from_timestamp(t)
    }

    /// The instant of a timestamp, when it is whole milliseconds.
    pub fn from_timestamp(t: Timestamp) -> Result<At, LedgerError> {
        if t.subsec_nanosecond() % 1_000_000 != 0 {
            return Err(LedgerError::BadInput(format!("`{t}` is finer than a millisecond")));
        }
        Ok(At(t.as_millisecond()))
    }

    /// Now, by the system clock, to the millisecond.
    pub fn now() -> At {
        At(Timestamp::now().as_millisecond())
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn millis(self) -> i64 {
        self.0
    }

    fn timestamp(self) -> Timestamp {
        Timestamp::from_millisecond(self.0).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// The instant `ms` milliseconds after 1970-01-01T00:00:00Z.
    pub fn from_millis(ms: i64) -> Result<At, LedgerError> {
        At(0).plus(ms)
    }

    /// `self + ms`, or an error past the range of times.
    pub fn plus(self, ms: i64) -> Result<At, LedgerError> {
        self.0
            .checked_add(ms)
            .filter(|t| Timestamp::from_millisecond(*t).is_ok())
            .map(At)
            .ok_or_else(|| LedgerError::BadInput("the time is out of range".into()))
    }

    /// The start of the UTC hour, day and month holding this instant.
    pub(crate) fn window_starts(self) -> Result<[At; 3], LedgerError> {
        // Unix time has no leap seconds: UTC hours and days are whole
        // multiples of their length.
        let floor = |unit: i64| self.0.div_euclid(unit).checked_mul(unit).map(At);
        let fail = || LedgerError::BadInput(format!("no window holds {self}"));
        let hour = floor(3_600_000).ok_or_else(fail)?;
        let day = floor(86_400_000).ok_or_else(fail)?;
        let civil = TimeZone::UTC.to_datetime(self.timestamp());
        let first = jiff::civil::Date::new(civil.year(), civil.month(), 1).map_err(|_| fail())?;
        let month = TimeZone::UTC.to_timestamp(first.to_datetime(jiff::civil::Time::midnight())).map_err(|_| fail())?;
        Ok([hour, day, At(month.as_millisecond())])
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // RFC 3339 in UTC, milliseconds only when there are some.
        write!(f, "{}", self.timestamp())
    }
}

impl Serialize for At {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        At::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// How long a hold may live, in milliseconds: one second to 30 days.
pub(crate) const TTL_MS: std::ops::RangeInclusive<i64> = 1_000..=30 * 86_400_000;

/// A hold's time to live: `90s`, `15m`, `2h` (a whole number and a unit),
/// in milliseconds; within [`TTL_MS`].
pub fn parse_ttl(text: &str) -> Result<i64, LedgerError> {
    let bad = || {
        LedgerError::BadInput(format!(
            "`{text}` is no duration: write a whole number and s, m or h (`90s`, `15m`, `2h`)"
        ))
    };
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (digits, unit) = text.split_at_checked(split).ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let per = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    let ms = n.checked_mul(per).ok_or_else(bad)?;
    if !TTL_MS.contains(&ms) {
        return Err(LedgerError::BadInput(format!("a hold lives from 1s to 720h, not `{text}`")));
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn times_read_and_write_as_rfc3339_to_the_millisecond() {
        let at = At::parse("2026-11-30T12:34:56.789+01:00").unwrap();
        assert_eq!(at.to_string(), "2026-11-30T11:34:56.789Z");
        assert_eq!(At::parse("2026-11-30T00:00:00Z").unwrap().to_string(), "2026-11-30T00:00:00Z");
        assert!(At::parse("2026-11-30T00:00:00.0001Z").unwrap_err().to_string().contains("millisecond"));
        assert!(At::parse("yesterday").is_err());
    }

    #[test]
    fn windows_are_utc_hours_days_and_months() {
        let at = At::parse("2026-11-30T23:59:59.999+00:00").unwrap();
        let [h, d, m] = at.window_starts().unwrap();
        assert_eq!(
            (h.to_string(), d.to_string(), m.to_string()),
            ("2026-11-30T23:00:00Z".into(), "2026-11-30T00:00:00Z".into(), "2026-11-01T00:00:00Z".into())
        );
    }

    #[test]
    fn ttls_are_a_number_and_a_unit() {
        assert_eq!(parse_ttl("90s").unwrap(), 90_000);
        assert_eq!(parse_ttl("15m").unwrap(), 900_000);
        assert_eq!(parse_ttl("2h").unwrap(), 7_200_000);
        for bad in ["", "s", "15", "1.5h", "-3m", "0s", "1000h", "15 m", "99999999999999999999h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
