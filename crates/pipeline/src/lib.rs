//! podsift's pipeline: the job stages (transcripts and chapters, speech-to-text, insights)
//! behind one [`Stage`] trait, the daily digest (written with its delivery outbox in one
//! transaction, then delivered) made by one [`DigestRecipe`], and [`Pipeline::build`], the
//! one place that puts them together from the configuration and the adapters ([`Ports`]).
//! Everything goes through the core ports, so `podsift run` (one [`Pipeline::drain`]) and
//! `podsift serve`/`worker` (loops over [`Pipeline::stages`]) run the same code.

mod build;
mod coverage;
mod daily;
mod deliver;
mod extract;
mod rank;
mod recipe;
pub mod stage;
mod tally;

use std::sync::Arc;

use podsift_core::{Clock, StoreError};

pub use build::{Drained, Pipeline, Ports, build_poller};
pub use coverage::{EpisodeCoverage, ReadCoverage};
pub use daily::DailyEditor;
pub use deliver::{DeliveryPolicy, DeliveryReport, DeliveryResult, DigestOutcome, Digester};
pub use extract::{DEFAULT_LEASE, ExtractReport, Extractor};
pub use rank::{Picked, Ranker, apply_feedback, rank_config};
pub use recipe::{DigestRecipe, Reader, SmtpServer, channel_options, http_channel};
pub use stage::{
    ExtractStage, FetchStage, JobEvent, LazyStage, NoEvents, Produced, Stage, StageError,
    StageEvents,
};
pub use tally::{SpeechTally, Tally, Tallying};

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
