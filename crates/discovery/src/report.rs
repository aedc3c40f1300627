//! What a topic scan reports: the episodes admitted and why, those left out and why, and the
//! day's budget. Stored on the topic as JSON (`podsift topics show`).

use chrono::{DateTime, Utc};
use podsift_core::EpisodeId;
use serde::Serialize;

/// One episode a scan admitted.
#[derive(Debug, Clone, Serialize)]
pub struct Admitted {
    pub episode_id: EpisodeId,
    pub show: String,
    pub title: String,
    pub score: f64,
    pub reason: String,
    pub audio_seconds: Option<u64>,
    /// Set when the episode was already being read as a copy on another show (syndicated):
    /// the reader gets that copy, read once.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_once_elsewhere: bool,
}

/// One episode a scan left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct LeftOut {
    pub show: String,
    pub title: String,
    pub score: f64,
    pub why: String,
}

/// The daily budget (per UTC day): used today before this scan, and the caps (0: none; for
/// episodes, 0 admits none).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Budget {
    pub episodes_used: usize,
    pub episodes_cap: usize,
    pub audio_hours_used: f64,
    pub audio_hours_cap: f64,
    pub dollars_used: f64,
    pub dollars_cap: f64,
}

/// What one topic scan did.
#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub topic_id: i64,
    pub topic: String,
    pub catalogue: bool,
    pub scanned_at: DateTime<Utc>,
    /// "embedding" (the embedding model's cosine) or "words" (the topic's words found).
    pub method: &'static str,
    pub terms: Vec<String>,
    pub categories: Vec<String>,
    pub directories: Vec<String>,
    pub shows_found: usize,
    pub feeds_read: usize,
    pub admitted: Vec<Admitted>,
    pub left_out: Vec<LeftOut>,
    /// All left out, listed or not.
    pub left_out_total: usize,
    pub budget: Budget,
    pub jobs_queued: usize,
    /// Directories or feeds that failed; the scan went on without them.
    pub problems: Vec<String>,
}
