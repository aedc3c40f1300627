//! Lenient feed date parsing: RFC 2822 as real feeds write it, ISO 8601 as a fallback.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// Parses a feed date. Accepts RFC 2822 with a missing or wrong weekday, named zones
/// (`GMT`, `UT`, `Z`, `EST`, `PDT`, military letters), single-digit days, two-digit years,
/// missing seconds or zone, and ISO 8601 / RFC 3339 (also date-only) as a fallback.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() || s.len() > 100 {
        return None;
    }
    parse_rfc2822ish(s).or_else(|| parse_iso(s))
}

fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d.with_timezone(&Utc));
        }
    }
    let naive = s.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(Utc.from_utc_datetime(&d));
        }
    }
    for fmt in ["%Y-%m-%d", "%Y%m%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(naive, fmt) {
            return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
        }
    }
    None
}

fn month(tok: &str) -> Option<u32> {
    if tok.len() < 3 {
        return None;
    }
    let m = tok.get(..3)?.to_ascii_lowercase();
    let idx = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|x| *x == m)?;
    Some(idx as u32 + 1)
}

fn zone_minutes(tok: &str) -> Option<i32> {
    let t = tok.trim_matches(|c| c == '(' || c == ')');
    if let Some(sign) = t
        .strip_prefix(['+', '-'])
        .map(|_| if t.starts_with('-') { -1 } else { 1 })
    {
        let digits: String = t[1..].chars().filter(|c| *c != ':').collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().ok()?, 0),
            3 => (
                digits[..1].parse::<i32>().ok()?,
                digits[1..].parse::<i32>().ok()?,
            ),
            4 => (
                digits[..2].parse::<i32>().ok()?,
                digits[2..].parse::<i32>().ok()?,
            ),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        return Some(sign * (h * 60 + m));
    }
    let up = t.to_ascii_uppercase();
    let hours = match up.as_str() {
        "GMT" | "UT" | "UTC" | "Z" | "WET" => 0,
        "EST" => -5,
        "EDT" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "AKST" => -9,
        "AKDT" => -8,
        "HST" => -10,
        "BST" | "CET" | "WEST" => 1,
        "CEST" | "EET" => 2,
        "EEST" | "MSK" => 3,
        "IST" => return Some(330),
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        "NZST" => 12,
        "NZDT" => 13,
        // Military zones: RFC 2822 says treat them as unknown, i.e. UTC.
        x if x.len() == 1 && x.bytes().all(|b| b.is_ascii_alphabetic()) => 0,
        _ => return None,
    };
    Some(hours * 60)
}

fn parse_rfc2822ish(s: &str) -> Option<DateTime<Utc>> {
    let cleaned = s.replace(',', " ");
    let mut toks = cleaned.split_whitespace().peekable();
    // Optional weekday (any word; its value is ignored because feeds get it wrong).
    if toks
        .peek()?
        .bytes()
        .all(|b| b.is_ascii_alphabetic() || b == b'.')
        && month(toks.peek()?).is_none()
    {
        toks.next();
    }
    let first = toks.next()?;
    let (day, mon) = if let Some(m) = month(first) {
        // "Jan 5 2024 ..." (month first)
        (toks.next()?.parse::<u32>().ok()?, m)
    } else {
        let d = first.parse::<u32>().ok()?;
        (d, month(toks.next()?)?)
    };
    let ytok = toks.next()?;
    if ytok.len() > 4 || !ytok.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut year: i32 = ytok.parse().ok()?;
    if ytok.len() <= 2 {
        year += if year < 50 { 2000 } else { 1900 };
    } else if ytok.len() == 3 {
        year += 1900;
    }
    let (mut h, mut mi, mut sec) = (0, 0, 0);
    let mut zone = 0;
    if let Some(t) = toks.next() {
        let mut parts = t.split(':');
        h = parts.next()?.parse().ok()?;
        mi = parts.next().unwrap_or("0").parse().ok()?;
        let sec_tok = parts.next().unwrap_or("0");
        sec = sec_tok.split('.').next()?.parse().ok()?;
        if let Some(z) = toks.next() {
            zone = zone_minutes(z)?;
        }
    }
    let date = NaiveDate::from_ymd_opt(year, mon, day)?;
    let naive = date.and_hms_opt(h, mi, sec.min(59))?;
    let offset = FixedOffset::east_opt(zone * 60)?;
    let dt = offset.from_local_datetime(&naive).single()?;
    Some(dt.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<i64> {
        parse_date(s).map(|d| d.timestamp())
    }

    #[test]
    fn rfc2822_variants() {
        let want = Some(1_704_067_200 + 3600 * 5); // 2024-01-01 05:00 UTC
        assert_eq!(ts("Mon, 01 Jan 2024 05:00:00 GMT"), want);
        assert_eq!(ts("01 Jan 2024 05:00:00 +0000"), want);
        assert_eq!(
            ts("Tue, 01 Jan 2024 05:00:00 GMT"),
            want,
            "wrong weekday ignored"
        );
        assert_eq!(ts("Mon, 1 Jan 2024 05:00:00 UT"), want);
        assert_eq!(ts("Mon, 1 Jan 24 05:00:00 Z"), want);
        assert_eq!(ts("Mon, 1 January 2024 00:00:00 EST"), want);
        assert_eq!(ts("Sun, 31 Dec 2023 21:00:00 PST"), want);
        assert_eq!(ts("Mon, 01 Jan 2024 05:00 GMT"), want);
        assert_eq!(ts("Mon, 01 Jan 2024 06:00:00 +01:00"), want);
        assert_eq!(ts("Monday, 01 Jan 2024 05:00:00"), want);
        assert_eq!(ts("2024-01-01T05:00:00Z"), want);
        assert_eq!(ts("2024-01-01T06:00:00+01:00"), want);
        assert_eq!(ts("2024-01-01 05:00:00"), want);
        assert_eq!(ts("2024-01-01"), Some(1_704_067_200));
        assert_eq!(ts("31 Feb 2024 00:00:00 GMT"), None);
        assert_eq!(ts("yesterday"), None);
        assert_eq!(ts(""), None);
    }
}
