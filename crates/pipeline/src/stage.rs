//! The job stages behind one small trait: `podsift run` drives them until no work is left,
//! `podsift serve`/`worker` loop them. What each job did reaches the driver as a
//! [`JobEvent`] (progress bars and the run's report in the CLI, logs and metrics in the
//! service).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use podsift_core::{ExtractionReport, JobKind, JobOutcome, Store};
use podsift_poller::Poller;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::Extractor;

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

/// Transcript and chapter downloads (`Poller::run_jobs`, with its own concurrency).
pub struct FetchStage {
    pub poller: Arc<Poller>,
    pub concurrency: usize,
}

#[async_trait]
impl Stage for FetchStage {
    fn name(&self) -> &'static str {
        "fetch"
    }
    fn kinds(&self) -> &'static [JobKind] {
        podsift_poller::POLLER_JOBS
    }
    async fn run(&self, worker: &str, events: &dyn StageEvents) -> Result<usize, StageError> {
        let mut n = 0;
        self.poller
            .run_jobs(worker, self.concurrency, |r| {
                n += 1;
                events.job(&JobEvent {
                    stage: "fetch",
                    job_id: Some(r.job_id),
                    episode_id: r.episode_id,
                    title: None,
                    outcome: r.state,
                    detail: format!("{}: {}", r.kind, r.detail),
                    produced: match r.state {
                        JobOutcome::Done => Produced::Fetched {
                            segments: r.segments,
                        },
                        _ => Produced::Nothing,
                    },
                });
            })
            .await
            .map_err(|e| StageError::new("fetch", e))?;
        Ok(n)
    }
}

/// Insight extraction: queues episodes that have a transcript, then runs the jobs.
pub struct ExtractStage {
    pub extractor: Arc<Extractor>,
}

#[async_trait]
impl Stage for ExtractStage {
    fn name(&self) -> &'static str {
        "extract"
    }
    fn kinds(&self) -> &'static [JobKind] {
        &[JobKind::ExtractInsights]
    }
    async fn run(&self, worker: &str, events: &dyn StageEvents) -> Result<usize, StageError> {
        self.extractor
            .enqueue_pending()
            .await
            .map_err(|e| StageError::new("extract", e))?;
        let reports = self
            .extractor
            .run_jobs(worker, |r| {
                events.job(&JobEvent {
                    stage: "extract",
                    job_id: None,
                    episode_id: Some(r.episode_id),
                    title: Some(r.title.clone()),
                    outcome: r.state,
                    detail: r.error.clone().unwrap_or_default(),
                    produced: match r.state {
                        JobOutcome::Done => Produced::Insights {
                            count: r.insights,
                            report: r.report.clone().map(Box::new),
                        },
                        _ => Produced::Nothing,
                    },
                });
            })
            .await
            .map_err(|e| StageError::new("extract", e))?;
        Ok(reports.len())
    }
}

type BuildFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn Stage>, StageError>> + Send>>;

/// A stage built on first use, and only when its queue holds runnable work: the
/// speech-to-text engine loads (or downloads) a model, which a run or a service with nothing
/// to transcribe should never pay for.
pub struct LazyStage {
    name: &'static str,
    kinds: &'static [JobKind],
    store: Arc<dyn Store>,
    build: Box<dyn Fn() -> BuildFuture + Send + Sync>,
    cell: OnceCell<Arc<dyn Stage>>,
}

impl LazyStage {
    pub fn new<F, Fut>(
        name: &'static str,
        kinds: &'static [JobKind],
        store: Arc<dyn Store>,
        build: F,
    ) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Arc<dyn Stage>, StageError>> + Send + 'static,
    {
        Self {
            name,
            kinds,
            store,
            build: Box::new(move || Box::pin(build())),
            cell: OnceCell::new(),
        }
    }
}

#[async_trait]
impl Stage for LazyStage {
    fn name(&self) -> &'static str {
        self.name
    }
    fn kinds(&self) -> &'static [JobKind] {
        self.kinds
    }
    async fn run(&self, worker: &str, events: &dyn StageEvents) -> Result<usize, StageError> {
        if self.cell.get().is_none() {
            let backlog = self
                .store
                .job_backlog(self.kinds, chrono::Utc::now())
                .await
                .map_err(|e| StageError::new(self.name, e))?;
            if backlog.runnable == 0 {
                return Ok(0);
            }
        }
        let stage = self.cell.get_or_try_init(|| (self.build)()).await?;
        stage.run(worker, events).await
    }
}
