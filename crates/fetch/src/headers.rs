//! Parsing of the caching and back-off response headers.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

/// RFC 9111 5.2: a delta-seconds too large to represent is taken as 2^31 seconds.
const MAX_DELTA_SECONDS: u64 = 1 << 31;

/// Parses delta-seconds (digits only, no sign), clamping huge values.
fn delta_seconds(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        s.parse::<u64>()
            .map_or(MAX_DELTA_SECONDS, |n| n.min(MAX_DELTA_SECONDS)),
    )
}

/// Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime).
pub fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    let t: SystemTime = httpdate::parse_http_date(value.trim()).ok()?;
    Some(DateTime::<Utc>::from(t))
}

/// `Retry-After`: delta-seconds, or an HTTP-date turned into the wait from `now` (a date in
/// the past means "now": `Duration::ZERO`). `None` when unparseable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(secs) = delta_seconds(value) {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// `Cache-Control: max-age=N` (case-insensitive directives, quoted value tolerated, huge
/// values clamped to 2^31 s).
///
/// Returns `None` when the header carries `no-store` or `no-cache`: such a response gives no
/// freshness lifetime to rely on, so the poller should keep its own schedule rather than
/// treat the document as fresh for `max-age`. Also `None` when `max-age` is absent or
/// malformed (`s-maxage` is for shared caches and ignored).
pub fn parse_cache_control_max_age(value: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return None;
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            let arg = arg?;
            let arg = arg
                .strip_prefix('"')
                .and_then(|a| a.strip_suffix('"'))
                .unwrap_or(arg);
            max_age = Some(Duration::from_secs(delta_seconds(arg)?));
        }
    }
    max_age
}

/// `Expires`: an HTTP-date. Invalid values (RFC 9111 says they mean "already expired", e.g.
/// `0`) are reported as `None`, i.e. no hint.
pub fn parse_expires(value: &str) -> Option<DateTime<Utc>> {
    parse_http_date(value)
}
