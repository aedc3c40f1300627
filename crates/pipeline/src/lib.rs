//! The second half of podsift's pipeline, after transcripts: insight extraction as jobs, then
//! the daily digest, written with its delivery outbox in one transaction, then delivery.
//! Everything goes through the core ports, so it runs the same in the CLI and in workers.

mod deliver;
mod extract;
mod rank;

use std::sync::Arc;

use podsift_core::{Clock, StoreError};

pub use deliver::{DeliveryPolicy, DeliveryReport, DigestOutcome, Digester};
pub use extract::{DEFAULT_LEASE, ExtractReport, Extractor};
pub use rank::{Ranker, apply_feedback, rank_config};

/// Why a pipeline step failed as a whole (per-episode and per-delivery failures are recorded,
/// not returned).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("rendering the digest failed: {0}")]
    Render(String),
    /// Embedding or ranking failed (a broken model file, not a passing condition).
    #[error("ranking the digest failed: {0}")]
    Rank(String),
}

impl PipelineError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::Render(_) | Self::Rank(_) => false,
        }
    }
}

pub(crate) type SharedClock = Arc<dyn Clock>;
