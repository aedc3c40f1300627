use std::time::Duration;

use podsift_core::{FetchError, StoreError};

/// Why an episode could not be transcribed. [`AsrError::is_retryable`] decides whether the job
/// is retried with backoff or goes dead at once (visible in `podsift jobs`, retryable by hand).
#[derive(Debug, thiserror::Error)]
pub enum AsrError {
    #[error("the episode has no audio enclosure")]
    NoAudio,
    #[error("downloading the audio failed: {0}")]
    Download(#[from] FetchError),
    #[error("the audio file is empty (0 bytes)")]
    Empty,
    #[error("unsupported audio codec {codec}: {hint}")]
    UnsupportedCodec { codec: String, hint: String },
    #[error("corrupt or unreadable audio: {0}")]
    Corrupt(String),
    #[error("no speech found in {audio_secs:.0} s of audio")]
    NoSpeech { audio_secs: f64 },
    #[error("truncated audio: {0}")]
    Truncated(String),
    #[error(
        "not transcribed: the episode is {} long ({known_from}), over the {} limit ([asr] max_episode_minutes)",
        hours_minutes(*secs),
        hours_minutes(*limit_secs)
    )]
    TooLong {
        secs: f64,
        limit_secs: f64,
        /// Where the length came from: the feed, the file, or what was decoded.
        known_from: &'static str,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("speech model: {0}")]
    Model(String),
    #[error("speech-to-text failed: {0}")]
    Engine(String),
    #[error("transcription API: {reason}")]
    Remote {
        reason: String,
        retryable: bool,
        retry_after: Option<Duration>,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl AsrError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// True when a later attempt may succeed: network trouble, a server-side truncation or
    /// corruption that a fresh download may not have, a busy API. Unsupported codecs, missing
    /// audio and a broken model are permanent until the user changes something.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Download(e) => e.is_retryable(),
            Self::Empty | Self::Corrupt(_) | Self::Truncated(_) | Self::Io { .. } => true,
            Self::Remote { retryable, .. } => *retryable,
            Self::Store(e) => e.is_retryable(),
            Self::Engine(_) => true,
            Self::NoAudio
            | Self::TooLong { .. }
            | Self::NoSpeech { .. }
            | Self::UnsupportedCodec { .. }
            | Self::Model(_) => false,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Download(e) => e.retry_after(),
            Self::Remote { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// `4 h 10 min`, `52 min`, `40 s`.
fn hours_minutes(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    match (secs / 3600, (secs % 3600) / 60) {
        (0, 0) => format!("{secs} s"),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}
