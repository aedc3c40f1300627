//! Conversions between domain values and their column representations.

use std::time::Duration;

use chrono::{DateTime, Utc};
use podsift_core::store::StoreError;

/// Longest error text kept in a `last_error` column (bytes, cut on a char boundary).
pub(crate) const MAX_ERROR_TEXT: usize = 4096;
/// Longest feed URL accepted.
pub(crate) const MAX_URL_LEN: usize = 8192;

/// A timestamp as stored: unix epoch milliseconds.
pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// A stored timestamp back into a `DateTime`.
pub(crate) fn from_ms(v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| StoreError::Permanent(format!("timestamp out of range: {v}")))
}

pub(crate) fn opt_from_ms(v: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(from_ms).transpose()
}

/// A duration in milliseconds, saturating.
pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A `LIMIT` value, saturating.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A non-negative count column into an unsigned integer type.
pub(crate) fn count<T: TryFrom<i64>>(v: i64, what: &str) -> Result<T, StoreError> {
    T::try_from(v).map_err(|_| StoreError::Permanent(format!("{what} out of range: {v}")))
}

/// An unsigned value into a BIGINT column.
pub(crate) fn to_i64<T: TryInto<i64>>(v: T, what: &str) -> Result<i64, StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Permanent(format!("{what} too large")))
}

/// Truncate `s` to at most `max` bytes on a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Permanent(format!("encoding {what}: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    s: &str,
    what: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Permanent(format!("corrupt {what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("héllo", 3), "hé");
        assert_eq!(truncate("abc", 10), "abc");
    }

    #[test]
    fn millis_round_trip() {
        let t = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        assert_eq!(from_ms(ms(t)).unwrap(), t);
        assert!(from_ms(i64::MAX).is_err());
        assert_eq!(duration_ms(Duration::MAX), i64::MAX);
    }
}
