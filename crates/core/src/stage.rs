//! The job stages behind one small port: `podsift run` drives them until no work is left,
//! `podsift serve`/`worker` loop them. What each job did reaches the driver as a
//! [`JobEvent`] (progress bars and the run's report in the CLI, logs and metrics in the
//! service). Each stage's crate implements [`Stage`]; the pipeline puts them together.

use async_trait::async_trait;
use serde::Serialize;

use crate::{ExtractionReport, JobKind, JobOutcome};

/// A stage failed as a whole (the database, or its engine could not start). One job failing
/// is not a stage error: the stage records it on the job and goes on.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct StageError {
    pub stage: &'static str,
    pub message: String,
    /// Worth trying again later (the database was busy, a download stalled).
    pub retryable: bool,
}

impl StageError {
    pub fn new(stage: &'static str, e: impl std::fmt::Display) -> Self {
        Self {
            stage,
            message: e.to_string(),
            retryable: true,
        }
    }

    /// An error that retrying will not fix (a missing model, a broken configuration).
    pub fn permanent(stage: &'static str, e: impl std::fmt::Display) -> Self {
        Self {
            retryable: false,
            ..Self::new(stage, e)
        }
    }
}

/// What a finished job produced, by stage.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Produced {
    /// A publisher transcript or chapters were fetched (`segments` for a transcript).
    Fetched { segments: Option<usize> },
    /// Speech-to-text of `audio_secs` of audio.
    Transcribed { audio_secs: f64 },
    /// Insights extracted, with the extraction's report (tokens, cost, coverage).
    Insights {
        count: usize,
        report: Option<Box<ExtractionReport>>,
    },
    /// The job failed (see the outcome and detail).
    Nothing,
}

/// One job a stage ran.
#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    pub stage: &'static str,
    pub job_id: Option<i64>,
    pub episode_id: Option<i64>,
    /// The episode's title where the stage knows it.
    pub title: Option<String>,
    pub outcome: JobOutcome,
    pub detail: String,
    pub produced: Produced,
}

/// Where a stage reports as it goes.
pub trait StageEvents: Send + Sync {
    /// A job finished (done, retried later, or dead).
    fn job(&self, event: &JobEvent);
    /// A long job's progress ("episode 3: 12/48 min").
    fn progress(&self, _stage: &'static str, _message: &str) {}
}

/// Events nobody listens to.
pub struct NoEvents;

impl StageEvents for NoEvents {
    fn job(&self, _event: &JobEvent) {}
}

/// One kind of queued work.
#[async_trait]
pub trait Stage: Send + Sync {
    /// Short name for logs, metrics and the worker id (`fetch`, `extract`, `speech_to_text`).
    fn name(&self) -> &'static str;
    /// The job kinds it runs (what the drivers ask [`Store::job_backlog`] about).
    fn kinds(&self) -> &'static [JobKind];
    /// Queue what it finds to do, then run runnable jobs until none is left; returns how many
    /// ran.
    async fn run(&self, worker: &str, events: &dyn StageEvents) -> Result<usize, StageError>;
}
