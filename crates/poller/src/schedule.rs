//! When to check a feed next: politeness on success, exponential backoff on failure.

use std::time::Duration;

use chrono::{DateTime, Utc};
use podsift_core::config::PollConfig;

/// Hints a successful fetch gives about how often the feed changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FreshnessHints {
    /// RSS `<ttl>` in minutes.
    pub ttl_minutes: Option<u32>,
    /// `Cache-Control: max-age`.
    pub max_age: Option<Duration>,
    /// `Expires`.
    pub expires: Option<DateTime<Utc>>,
}

fn minutes(m: u64) -> chrono::Duration {
    chrono::Duration::minutes(i64::try_from(m).unwrap_or(i64::MAX / 60_000))
}

/// Next check after a success: the larger of `<ttl>`, max-age, Expires and the configured
/// minimum, capped at the configured maximum (a huge TTL never hides a feed for months).
pub fn next_check_after_success(
    cfg: &PollConfig,
    hints: FreshnessHints,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut wait = minutes(cfg.min_interval_minutes);
    if let Some(ttl) = hints.ttl_minutes {
        wait = wait.max(minutes(u64::from(ttl)));
    }
    if let Some(age) = hints.max_age
        && let Ok(age) = chrono::Duration::from_std(age)
    {
        wait = wait.max(age);
    }
    if let Some(exp) = hints.expires {
        wait = wait.max(exp - now);
    }
    let cap = minutes(cfg.max_interval_minutes.max(cfg.min_interval_minutes));
    now + wait.min(cap)
}

/// Backoff after the `error_count`-th consecutive failure (1-based): base · 2^(n-1), capped;
/// a server's `Retry-After` is honoured when longer.
pub fn next_check_after_failure(
    cfg: &PollConfig,
    error_count: u32,
    retry_after: Option<Duration>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let exp = error_count.saturating_sub(1).min(30);
    let backoff = cfg.backoff_base_minutes.saturating_mul(1u64 << exp);
    let mut wait = minutes(backoff.min(cfg.backoff_max_minutes));
    if let Some(ra) = retry_after
        && let Ok(ra) = chrono::Duration::from_std(ra)
    {
        wait = wait.max(ra);
    }
    now + wait
}

/// A feed is marked failing after this many consecutive errors.
pub fn is_failing(cfg: &PollConfig, error_count: u32) -> bool {
    error_count >= cfg.failing_after_errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn success_uses_the_largest_hint_within_bounds() {
        let cfg = PollConfig::default();
        let n = now();
        assert_eq!(
            next_check_after_success(&cfg, FreshnessHints::default(), n) - n,
            chrono::Duration::minutes(30)
        );
        let h = FreshnessHints {
            ttl_minutes: Some(60),
            max_age: Some(Duration::from_secs(7200)),
            expires: Some(n + chrono::Duration::minutes(90)),
        };
        assert_eq!(
            next_check_after_success(&cfg, h, n) - n,
            chrono::Duration::hours(2)
        );
        let huge = FreshnessHints {
            ttl_minutes: Some(u32::MAX),
            ..Default::default()
        };
        assert_eq!(
            next_check_after_success(&cfg, huge, n) - n,
            chrono::Duration::hours(24)
        );
        // An Expires in the past does not shorten the minimum.
        let past = FreshnessHints {
            expires: Some(n - chrono::Duration::hours(1)),
            ..Default::default()
        };
        assert_eq!(
            next_check_after_success(&cfg, past, n) - n,
            chrono::Duration::minutes(30)
        );
    }

    #[test]
    fn failure_backs_off_exponentially_and_caps() {
        let cfg = PollConfig::default();
        let n = now();
        let w = |c| next_check_after_failure(&cfg, c, None, n) - n;
        assert_eq!(w(1), chrono::Duration::minutes(15));
        assert_eq!(w(2), chrono::Duration::minutes(30));
        assert_eq!(w(3), chrono::Duration::minutes(60));
        assert_eq!(w(20), chrono::Duration::hours(24));
        assert_eq!(w(u32::MAX), chrono::Duration::hours(24));
        let ra = next_check_after_failure(&cfg, 1, Some(Duration::from_secs(3 * 3600)), n) - n;
        assert_eq!(ra, chrono::Duration::hours(3));
        assert!(!is_failing(&cfg, 4));
        assert!(is_failing(&cfg, 5));
    }
}
