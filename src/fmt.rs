//! Exact, machine-independent formatting of times and numbers for plan output, and the civil
//! calendar's arithmetic that reading dates needs (traces, `Retry-After`).

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Nanoseconds as decimal seconds with no rounding and no trailing zeros: `1.5`, `0.000000001`.
pub fn secs(ns: u64) -> String {
    let whole = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A duration for people: `250ms`, `30s`, `1.5s`, `7m`, `1h30m`.
pub fn duration(ns: u64) -> String {
    const S: u64 = 1_000_000_000;
    if ns == 0 {
        return "0s".into();
    }
    if ns < S {
        let ms = ns as f64 / 1e6;
        return format!("{}ms", trim(ms, 3));
    }
    if !ns.is_multiple_of(S) || ns < 60 * S {
        return format!("{}s", trim(ns as f64 / 1e9, 3));
    }
    let total = ns / S;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// A number with at most `places` decimals and no trailing zeros.
pub fn trim(v: f64, places: usize) -> String {
    let s = format!("{v:.places$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A string as a JSON string literal.
pub fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact() {
        assert_eq!(secs(0), "0");
        assert_eq!(secs(1_500_000_000), "1.5");
        assert_eq!(secs(1), "0.000000001");
        assert_eq!(secs(86_400_123_000_000), "86400.123");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(250_000_000), "250ms");
        assert_eq!(duration(30_000_000_000), "30s");
        assert_eq!(duration(1_500_000_000), "1.5s");
        assert_eq!(duration(420_000_000_000), "7m");
        assert_eq!(duration(5_400_000_000_000), "1h30m");
    }
}
