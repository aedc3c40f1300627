//! Finding podcasts beyond the ones a reader follows: the show-directory port ([`ShowSource`],
//! implemented over HTTP by the iTunes Search API and the Podcast Index API) and the topic and
//! catalogue types the store keeps.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One show a directory knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct FoundShow {
    /// The directory that found it (`itunes`, `podcastindex`).
    pub source: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    pub feed_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episodes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_episode_at: Option<DateTime<Utc>>,
    /// Its place in a trending list (1 = first), when it came from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trending_rank: Option<u32>,
    /// The Podcast Index feed id (for `episodes/byfeedid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub podcastindex_id: Option<i64>,
}

/// What a trending or recent-feeds list is filtered by.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedFilter {
    /// Category names (`Technology`, `News`).
    pub categories: Vec<String>,
    /// A language code (`en`).
    pub language: Option<String>,
    /// Only feeds with an episode since.
    pub since: Option<DateTime<Utc>>,
    pub max: usize,
}

/// One recent episode a directory lists (Podcast Index `episodes/byfeedid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundEpisode {
    pub podcastindex_feed_id: i64,
    pub title: String,
    pub published: Option<DateTime<Utc>>,
    pub enclosure_url: Option<String>,
    pub guid: Option<String>,
    pub duration_seconds: Option<u64>,
    pub transcript_url: Option<String>,
}

/// Why a directory gave nothing. `Unavailable` and `RateLimited` pass; the others need a fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    #[error("{source_name} is unavailable: {reason}")]
    Unavailable { source_name: String, reason: String },
    #[error("{source_name} asks to slow down{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        source_name: String,
        retry_after: Option<Duration>,
    },
    #[error("{source_name} answered something that is not its API's JSON: {reason}")]
    Garbage { source_name: String, reason: String },
    #[error("{source_name} refused the request: {reason}")]
    Refused { source_name: String, reason: String },
    #[error("{0}")]
    NotConfigured(String),
}

impl DiscoveryError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::RateLimited { .. })
    }
}

/// A show directory. `search` is required; a directory without trending lists, recent feeds
/// or episode listings answers empty for those.
#[async_trait]
pub trait ShowSource: Send + Sync {
    /// `itunes`, `podcastindex`.
    fn name(&self) -> &str;
    async fn search(&self, term: &str, max: usize) -> Result<Vec<FoundShow>, DiscoveryError>;
    async fn trending(&self, _filter: &FeedFilter) -> Result<Vec<FoundShow>, DiscoveryError> {
        Ok(Vec::new())
    }
    async fn recent_feeds(&self, _filter: &FeedFilter) -> Result<Vec<FoundShow>, DiscoveryError> {
        Ok(Vec::new())
    }
    /// Recent episodes of up to 200 of the directory's own feed ids, since `since`.
    async fn recent_episodes(
        &self,
        _feed_ids: &[i64],
        _since: Option<DateTime<Utc>>,
        _max: usize,
    ) -> Result<Vec<FoundEpisode>, DiscoveryError> {
        Ok(Vec::new())
    }
}

/// A topic a reader follows; `user` None: the instance's catalogue (every reader gets it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    pub id: i64,
    pub user: Option<crate::UserId>,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub last_scan_at: Option<DateTime<Utc>>,
    /// The last scan's report as the scanner wrote it (what it admitted and left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report: Option<serde_json::Value>,
}

/// An episode admitted into the pipeline for a topic, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Admission {
    pub topic: i64,
    pub episode: crate::EpisodeId,
    /// Cosine (or word) match of the episode's title and description with the topic, 0–1.
    pub score: f64,
    /// "found for your topic 'home batteries': 0.71 match; trending #12 in Technology".
    pub reason: String,
    pub audio_seconds: Option<u64>,
    pub admitted_at: DateTime<Utc>,
}

/// A show of the instance's catalogue (`podsift catalogue add`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueShow {
    pub feed_id: crate::FeedId,
    pub url: String,
    pub title: Option<String>,
    pub added_at: DateTime<Utc>,
}

/// An episode already in the store that looks like a copy of another (same enclosure, GUID,
/// or title and duration): the syndication check before admitting one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CopyKey {
    pub enclosure_url: Option<String>,
    pub guid: Option<String>,
    pub title: Option<String>,
    pub duration_seconds: Option<u64>,
}

/// Whose topics a listing asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicOwner {
    /// Every topic (the daily scan).
    Everyone,
    /// The instance's catalogue.
    Catalogue,
    /// One reader's own.
    Reader(crate::UserId),
}
