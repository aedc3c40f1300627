//! The fetch and extraction stages, and [`LazyStage`], behind the core's [`Stage`] port
//! (speech-to-text implements it in its own crate).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
pub use podsift_core::stage::{JobEvent, NoEvents, Produced, Stage, StageError, StageEvents};
use podsift_core::{JobKind, JobOutcome, Store};
use podsift_poller::Poller;
use tokio::sync::OnceCell;

use crate::Extractor;

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
