//! `Retry-After` (RFC 9110, 10.2.3): how long a 429 or a 503 asks the client to wait, as
//! delay-seconds or an HTTP date, capped at [`RETRY_AFTER_CAP`].

use std::time::{Duration, SystemTime};

/// The longest `Retry-After` honoured: a server asking for more is waited on this long.
pub const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// A `Retry-After` value: delay-seconds, or an HTTP date (RFC 9110, 10.2.3) taken against
/// `now`. `None` for anything else.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form servers send.
fn http_date(v: &str) -> Option<SystemTime> {
    let rest = v.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || !(1..=9999).contains(&year) || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    let days = crate::fmt::days_from_civil(year, month, day);
    let secs = u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse("120", now), Some(Duration::from_secs(120)));
        // 1994-11-06 08:49:37 UTC is 784111777: 60 s later.
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:48:37 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse("soon", now), None);
        assert_eq!(parse("-5", now), None);
        assert_eq!(
            parse("Sun, 06 Nov 99999 08:50:37 GMT", now),
            None,
            "a year past 9999"
        );
        assert_eq!(
            parse("Sun, 06 Nov -1 08:50:37 GMT", now),
            None,
            "a negative year"
        );
    }
}
