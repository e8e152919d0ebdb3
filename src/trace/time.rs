//! Timestamps in traces: Azure's `YYYY-MM-DD HH:MM:SS[.fffffff][+00:00]` and plain numbers in a
//! unit, to nanoseconds, exactly (no floating point for the fraction).

use crate::fmt::days_from_civil;

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `2023-11-16 18:15:46.6805900`, `2024-05-10 00:00:00.1+00:00`, `…T…Z` → ns since the epoch
/// (UTC; a zone offset is applied).
pub fn datetime_ns(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_at(s.find([' ', 'T'])?);
    let rest = &rest[1..];
    let mut d = date.split('-');
    let (y, m, day) = (digits(d.next()?)?, digits(d.next()?)?, digits(d.next()?)?);
    if d.next().is_some()
        || !(1..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    // Split off a zone: Z, +HH:MM or -HH:MM.
    let (clock, offset_s) = if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let mut hm = z[1..].split(':');
        let (h, mm) = (
            digits(hm.next()?)?,
            hm.next().map(digits).unwrap_or(Some(0))?,
        );
        (c, sign * (h * 3600 + mm * 60))
    } else {
        (rest, 0)
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, f)) => (a, f),
        None => (clock, ""),
    };
    let mut t = hms.split(':');
    let (h, mi, sec) = (digits(t.next()?)?, digits(t.next()?)?, digits(t.next()?)?);
    if t.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let frac_ns = if frac.is_empty() {
        0
    } else {
        // Digits past nanoseconds are dropped (checked first, so a long fraction still parses).
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let ns = &frac[..frac.len().min(9)];
        digits(ns)? * 10i64.pow(9 - ns.len() as u32)
    };
    // Dates far from now (year 1 or 9999) do not fit in i64 nanoseconds: no value, not a wrap.
    let secs = days_from_civil(y, m, day)
        .checked_mul(86_400)?
        .checked_add(h * 3600 + mi * 60 + sec - offset_s)?;
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// The unit of a trace's numeric times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeUnit {
    Ns,
    Us,
    Ms,
    #[default]
    S,
}

impl TimeUnit {
    pub const NAMES: [&'static str; 4] = ["ns", "us", "ms", "s"];

    /// `ns`, `us`, `ms` or `s`; anything else is `None` (never a silent default).
    pub fn parse(name: &str) -> Option<TimeUnit> {
        match name {
            "ns" => Some(TimeUnit::Ns),
            "us" => Some(TimeUnit::Us),
            "ms" => Some(TimeUnit::Ms),
            "s" => Some(TimeUnit::S),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn ns(self) -> i64 {
        match self {
            TimeUnit::Ns => 1,
            TimeUnit::Us => 1_000,
            TimeUnit::Ms => 1_000_000,
            TimeUnit::S => 1_000_000_000,
        }
    }
}

/// A number of `unit`s → ns; decimals allowed.
pub fn number_ns(s: &str, unit: TimeUnit) -> Option<i64> {
    let s = s.trim();
    let scale = unit.ns();
    if let Some(i) = digits(s.strip_prefix('-').unwrap_or(s)) {
        let sign = if s.starts_with('-') { -1 } else { 1 };
        return i.checked_mul(scale).map(|v| v * sign);
    }
    let v: f64 = s.parse().ok()?;
    let ns = v * scale as f64;
    (ns.is_finite() && ns.abs() < 9.0e18).then(|| ns.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_beyond_the_representable_range_are_no_value() {
        assert_eq!(datetime_ns("9999-12-31 23:59:59"), None);
        assert_eq!(datetime_ns("0001-01-01 00:00:00"), None);
        assert_eq!(
            datetime_ns("2023-11-16 18:15:46.68059001234567890123456789"),
            datetime_ns("2023-11-16 18:15:46.680590012")
        );
        assert_eq!(number_ns("NaN", TimeUnit::parse("s").expect("unit")), None);
        assert_eq!(number_ns("inf", TimeUnit::parse("s").expect("unit")), None);
        assert_eq!(
            number_ns("1e300", TimeUnit::parse("s").expect("unit")),
            None
        );
    }

    #[test]
    fn azure_timestamps_keep_100ns_precision() {
        let a = datetime_ns("2023-11-16 18:15:46.6805900").expect("2023 form");
        let b = datetime_ns("2023-11-16 18:15:46.6805901").expect("2023 form");
        assert_eq!(b - a, 100);
        assert_eq!(a % 1_000_000_000, 680_590_000);
        // 2024 form: +00:00, fraction optional.
        let c = datetime_ns("2024-05-10 00:00:00+00:00").expect("2024 form");
        let d = datetime_ns("2024-05-10 00:00:00.5+00:00").expect("2024 form");
        assert_eq!(d - c, 500_000_000);
        assert_eq!(datetime_ns("2024-05-10 02:00:00+02:00"), Some(c));
        assert_eq!(datetime_ns("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(datetime_ns("2023-13-01 00:00:00"), None);
        assert_eq!(datetime_ns("yesterday"), None);
    }

    #[test]
    fn numbers_in_units() {
        assert_eq!(
            number_ns("5", TimeUnit::parse("s").expect("unit")),
            Some(5_000_000_000)
        );
        assert_eq!(
            number_ns("19440110.0", TimeUnit::parse("s").expect("unit")),
            Some(19_440_110_000_000_000)
        );
        assert_eq!(
            number_ns("1500", TimeUnit::parse("ms").expect("unit")),
            Some(1_500_000_000)
        );
        assert_eq!(
            number_ns("0.25", TimeUnit::parse("us").expect("unit")),
            Some(250)
        );
        assert_eq!(number_ns("x", TimeUnit::parse("s").expect("unit")), None);
    }
}
