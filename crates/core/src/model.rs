//! Domain types. Parsed types (`Parsed*`) are what the parsers produce from untrusted input;
//! stored types carry database ids.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type UserId = i64;
pub type FeedId = i64;
pub type EpisodeId = i64;

// ---------------------------------------------------------------------------
// Parsed feeds
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    #[default]
    Rss,
    Atom,
}

/// A feed as parsed from XML. Text fields are plain text with entities decoded;
/// `description`/`content_html` fields may hold publisher HTML and are *unsanitised*
/// (sanitise before rendering).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedFeed {
    pub format: FeedFormat,
    pub title: Option<String>,
    pub link: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    pub author: Option<String>,
    pub image: Option<String>,
    /// `<itunes:new-feed-url>`: the publisher moved the feed.
    pub new_feed_url: Option<String>,
    /// RSS `<ttl>` in minutes.
    pub ttl_minutes: Option<u32>,
    pub explicit: Option<bool>,
    pub categories: Vec<String>,
    /// Channel-level `<podcast:person>`.
    pub persons: Vec<Person>,
    pub episodes: Vec<ParsedEpisode>,
    /// Problems the lenient parser recovered from (bad entities, mismatched tags, ...).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedEpisode {
    pub guid: Option<String>,
    pub title: Option<String>,
    pub link: Option<String>,
    /// Publisher HTML or text, unsanitised.
    pub description: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// `itunes:duration` normalised to seconds (accepts `SS`, `MM:SS`, `H:MM:SS`).
    pub duration_seconds: Option<u32>,
    pub enclosure: Option<Enclosure>,
    pub season: Option<u32>,
    pub episode: Option<u32>,
    /// `full`, `trailer` or `bonus` (lower-cased; invalid values dropped).
    pub episode_type: Option<String>,
    pub image: Option<String>,
    pub author: Option<String>,
    pub explicit: Option<bool>,
    pub transcripts: Vec<TranscriptRef>,
    pub chapters: Option<ChaptersRef>,
    pub persons: Vec<Person>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enclosure {
    pub url: String,
    pub mime_type: Option<String>,
    pub length: Option<u64>,
}

/// A `<podcast:transcript>` offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptRef {
    pub url: String,
    /// The declared MIME type (`text/vtt`, `application/x-subrip`, `application/json`, `text/html`, `text/plain`, ...).
    pub mime_type: Option<String>,
    pub language: Option<String>,
    /// `captions` when the file is meant as closed captions.
    pub rel: Option<String>,
}

/// A `<podcast:chapters>` offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaptersRef {
    pub url: String,
    pub mime_type: Option<String>,
}

/// A `<podcast:person>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub role: Option<String>,
    pub group: Option<String>,
    pub href: Option<String>,
    pub img: Option<String>,
}

/// One chapter from a `podcast:chapters` JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    pub start_seconds: f64,
    pub end_seconds: Option<f64>,
    pub title: Option<String>,
    pub url: Option<String>,
    pub img: Option<String>,
    /// `toc: false` chapters are not part of the table of contents.
    pub toc: bool,
}

// ---------------------------------------------------------------------------
// Transcripts
// ---------------------------------------------------------------------------

/// One timestamped piece of a transcript: the single segment model every format maps into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub speaker: Option<String>,
    pub text: String,
}

/// The known transcript formats, in podsift's order of preference (best first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TranscriptFormat {
    Json,
    Vtt,
    Srt,
    Html,
    Text,
}

impl TranscriptFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Vtt => "vtt",
            Self::Srt => "srt",
            Self::Html => "html",
            Self::Text => "text",
        }
    }
}

/// Where a stored transcript came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TranscriptSource {
    /// Downloaded from the publisher's `<podcast:transcript>`.
    Publisher {
        url: String,
        format: TranscriptFormat,
    },
    /// Produced by local speech-to-text.
    Local { model: String },
    /// Produced by a remote speech-to-text API.
    Remote { endpoint: String, model: String },
}

impl TranscriptSource {
    /// A short label for listings: `publisher:vtt`, `local:tiny.en`, `remote:whisper-1`.
    pub fn label(&self) -> String {
        match self {
            Self::Publisher { format, .. } => format!("publisher:{}", format.as_str()),
            Self::Local { model } => format!("local:{model}"),
            Self::Remote { model, .. } => format!("remote:{model}"),
        }
    }
}

/// The result of parsing a transcript file: segments plus what was skipped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedTranscript {
    pub segments: Vec<Segment>,
    /// Malformed cues skipped (never fatal for the rest of the file).
    pub skipped: usize,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub episode_id: EpisodeId,
    pub source: TranscriptSource,
    pub language: Option<String>,
    pub segments: Vec<Segment>,
    pub skipped: usize,
    pub created_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------
// Stored feeds and episodes
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedStatus {
    /// Polled on schedule.
    Active,
    /// Failed too many times in a row: still polled, rarely, and shown in `podsift feeds`.
    Failing,
}

impl FeedStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Failing => "failing",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "failing" => Some(Self::Failing),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feed {
    pub id: FeedId,
    pub url: String,
    pub title: Option<String>,
    pub link: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub language: Option<String>,
    pub author: Option<String>,
    pub status: FeedStatus,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub next_check_at: DateTime<Utc>,
    /// Consecutive failures (0 after a success).
    pub error_count: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Number of episodes recorded for this feed (filled by listings).
    pub episode_count: u64,
}

/// What a poll learned about a feed, written back in one update.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedPollOutcome {
    /// 200 and parsed (or 304: `metadata` is `None`).
    Success {
        metadata: Option<FeedMetadata>,
        etag: Option<String>,
        last_modified: Option<String>,
        /// A new canonical URL (301/308 or `itunes:new-feed-url`).
        new_url: Option<String>,
        next_check_at: DateTime<Utc>,
    },
    Failure {
        error: String,
        next_check_at: DateTime<Utc>,
        /// Mark the feed failing (the poller decides from the error count).
        failing: bool,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedMetadata {
    pub title: Option<String>,
    pub link: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub language: Option<String>,
    pub author: Option<String>,
}

impl From<&ParsedFeed> for FeedMetadata {
    fn from(f: &ParsedFeed) -> Self {
        Self {
            title: f.title.clone(),
            link: f.link.clone(),
            description: f.description.clone(),
            image: f.image.clone(),
            language: f.language.clone(),
            author: f.author.clone(),
        }
    }
}

/// Whether podsift will process an episode (transcript, insights) or only records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EpisodeState {
    /// New episode: goes through the pipeline.
    Candidate,
    /// Back catalogue at first subscription: recorded as already seen.
    Seen,
}

impl EpisodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Candidate => "candidate",
            Self::Seen => "seen",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "candidate" => Some(Self::Candidate),
            "seen" => Some(Self::Seen),
            _ => None,
        }
    }
}

/// An episode to insert or update, keyed by `identity` within its feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeUpsert {
    /// Stable identity within the feed: `guid:…`, else `enclosure:…`, else `link:…`/`title:…`.
    pub identity: String,
    /// Hash of the episode's content; a different hash for the same identity means "edited".
    pub content_hash: String,
    pub episode: ParsedEpisode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    pub id: EpisodeId,
    pub feed_id: FeedId,
    pub identity: String,
    pub state: EpisodeState,
    pub data: ParsedEpisode,
    pub first_seen_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Filled by listings: the stored transcript's source label and size.
    pub transcript_source: Option<String>,
    pub segment_count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpsertStats {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Ids of newly inserted episodes in state `Candidate` (they need processing).
    pub new_candidates: Vec<EpisodeId>,
    /// Ids of `Candidate` episodes that were edited in place (a publisher often attaches the
    /// transcript hours after release, so these may need their transcript fetched now).
    pub updated_candidates: Vec<EpisodeId>,
}

/// Identifies a feed on the command line: a numeric id or a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedKey {
    Id(FeedId),
    Url(String),
}

impl FeedKey {
    pub fn parse(s: &str) -> Self {
        match s.trim().parse::<FeedId>() {
            Ok(id) => Self::Id(id),
            Err(_) => Self::Url(s.trim().to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}
