//! What the web UI keeps in the store: password logins, sessions, a user's settings,
//! per-show weights, the digest archive and full-text search.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{EpisodeId, FeedId, UserId};
use crate::users::ChannelSpec;

/// A signed-in browser. The store keeps only the SHA-256 of the cookie's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub user_id: UserId,
    /// The per-session CSRF token every form and API write must echo.
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a user can change about their digest (the settings page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSettings {
    pub time_zone: String,
    pub delivery_time: String,
    pub digest_size: u32,
    pub interests: Option<String>,
    pub channels: Vec<ChannelSpec>,
    /// The next digest instant after the change (schedule recomputed by the caller).
    pub next_digest_at: Option<DateTime<Utc>>,
}

/// One of the user's stored digests, for the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestSummary {
    pub id: i64,
    pub date: NaiveDate,
    /// Number of insights in it.
    pub insights: usize,
    pub created_at: DateTime<Utc>,
}

/// A user's weight for one show (0.5–1.5; 1 is neutral).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowWeight {
    pub feed_id: FeedId,
    pub podcast: String,
    pub weight: f64,
}

/// Lowest and highest per-show weight (the ranking's clamp).
pub const SHOW_WEIGHT_RANGE: std::ops::RangeInclusive<f64> = 0.5..=1.5;

/// Where a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchKind {
    Insight,
    Transcript,
}

/// One full-text search hit in the user's episodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    pub kind: SearchKind,
    pub episode_id: EpisodeId,
    pub episode: String,
    pub podcast: String,
    /// The insight's id (insights only).
    pub insight_id: Option<i64>,
    /// The insight text, or the transcript line.
    pub text: String,
    /// The insight's quote (insights only).
    pub quote: Option<String>,
    pub start_seconds: f64,
}

/// The words of a search, safe to hand to FTS5 or `plainto_tsquery`: letters, digits and
/// apostrophes of at most 16 terms of at most 64 characters each. Empty: nothing to search.
pub fn search_terms(query: &str) -> Vec<String> {
    query
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|t| t.trim_matches('\''))
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(64).collect::<String>().to_lowercase())
        .take(16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::search_terms;

    #[test]
    fn search_terms_strip_syntax() {
        assert_eq!(
            search_terms(r#"bike "lanes" OR NEAR(x) -- ' ;DROP"#),
            ["bike", "lanes", "or", "near", "x", "drop"]
        );
        assert!(search_terms("  \"*^: ").is_empty());
        assert_eq!(search_terms("Zürich don't"), ["zürich", "don't"]);
    }
}
