//! Parsing of Retry-After, Cache-Control and Expires.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use podsift_fetch::{parse_cache_control_max_age, parse_expires, parse_retry_after};

#[test]
fn retry_after_seconds_and_dates() {
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 12, 0, 0).unwrap();
    assert_eq!(
        parse_retry_after("120", now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
    assert_eq!(
        parse_retry_after("Wed, 01 Jan 2025 12:05:00 GMT", now),
        Some(Duration::from_secs(300))
    );
    // RFC 850 and asctime forms.
    assert_eq!(
        parse_retry_after("Wednesday, 01-Jan-25 12:00:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Wed Jan  1 12:01:00 2025", now),
        Some(Duration::from_secs(60))
    );
    // A date in the past means "now".
    assert_eq!(
        parse_retry_after("Tue, 31 Dec 2024 00:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    // Huge values are clamped, not overflowed.
    assert_eq!(
        parse_retry_after("99999999999999999999999", now),
        Some(Duration::from_secs(1 << 31))
    );
    for bad in ["", "-5", "1.5", "soon", "12s", "+3"] {
        assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
    }
}

#[test]
fn cache_control_max_age() {
    let s = |n| Some(Duration::from_secs(n));
    assert_eq!(parse_cache_control_max_age("max-age=600"), s(600));
    assert_eq!(
        parse_cache_control_max_age("public, MAX-AGE=60, must-revalidate"),
        s(60)
    );
    assert_eq!(parse_cache_control_max_age("max-age=\"30\""), s(30));
    assert_eq!(
        parse_cache_control_max_age("s-maxage=10, max-age=20"),
        s(20)
    );
    assert_eq!(parse_cache_control_max_age("max-age=1, max-age=2"), s(1));
    assert_eq!(
        parse_cache_control_max_age("max-age=99999999999999999999"),
        s(1 << 31)
    );
    for none in [
        "public",
        "s-maxage=10",
        "max-age=",
        "max-age=-1",
        "max-age=abc",
        "no-store, max-age=60",
        "max-age=60, no-cache",
        "",
    ] {
        assert_eq!(parse_cache_control_max_age(none), None, "{none:?}");
    }
}

#[test]
fn expires_dates() {
    let want = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
    assert_eq!(parse_expires("Wed, 21 Oct 2015 07:28:00 GMT"), Some(want));
    assert_eq!(parse_expires("0"), None);
    assert_eq!(parse_expires("-1"), None);
    assert_eq!(parse_expires("tomorrow"), None);
}
