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
