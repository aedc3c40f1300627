use std::time::Duration;

use podsift_core::{FetchError, StoreError};

/// Why polling, subscribing or a transcript job failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    #[error(transparent)]
    Fetch(FetchError),
    #[error("{url} is not a podcast feed: it is {reason}")]
    NotAFeed { url: String, reason: String },
    #[error("could not parse the feed at {url}: {reason}")]
    Parse { url: String, reason: String },
    #[error("transcript {url}: {reason}")]
    Transcript { url: String, reason: String },
    #[error("chapters {url}: {reason}")]
    Chapters { url: String, reason: String },
    #[error("{0}")]
    Missing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PollError {
    /// True when trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Fetch(e) => e.is_retryable(),
            Self::Store(e) => e.is_retryable(),
            Self::NotAFeed { .. }
            | Self::Parse { .. }
            | Self::Transcript { .. }
            | Self::Chapters { .. }
            | Self::Missing(_) => false,
        }
    }

    /// A wait the server asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Fetch(e) => e.retry_after(),
            _ => None,
        }
    }
}
