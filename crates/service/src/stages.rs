//! Job stages behind one small trait, and the loops that run them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use podsift_core::{JobKind, JobState, Store};
use podsift_pipeline::Extractor;
use podsift_poller::Poller;
use tokio::sync::{OnceCell, watch};

use crate::Metrics;

/// A stage failed as a whole (the database, or its engine could not start). One job failing
/// is not a stage error: the stage records it on the job and goes on.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct StageError {
    pub stage: &'static str,
    pub message: String,
}

impl StageError {
    pub fn new(stage: &'static str, e: impl std::fmt::Display) -> Self {
        Self {
            stage,
            message: e.to_string(),
        }
    }
}

/// One kind of queued work.
#[async_trait]
pub trait Stage: Send + Sync {
    /// Short name for logs, metrics and the worker id (`fetch`, `extract`, `speech_to_text`).
    fn name(&self) -> &'static str;
    /// Run runnable jobs until none is left; returns how many ran.
    async fn run(&self, worker: &str) -> Result<usize, StageError>;
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
    async fn run(&self, worker: &str) -> Result<usize, StageError> {
        let mut n = 0;
        self.poller
            .run_jobs(worker, self.concurrency, |r| {
                n += 1;
                if r.state != "done" {
                    tracing::warn!(job = r.job_id, kind = %r.kind, state = r.state, "{}", r.detail);
                }
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
    async fn run(&self, worker: &str) -> Result<usize, StageError> {
        // The extraction future is not provably `Send` (a higher-ranked lifetime inside
        // podsift-insights), so it runs on a blocking thread driving it on this runtime.
        let extractor = self.extractor.clone();
        let worker = worker.to_string();
        on_blocking_thread(move || async move {
            extractor
                .enqueue_pending()
                .await
                .map_err(|e| StageError::new("extract", e))?;
            let reports = extractor
                .run_jobs(&worker, |r| {
                    if let Some(e) = &r.error {
                        tracing::warn!(episode = r.episode_id, "insights failed: {e}");
                    }
                })
                .await
                .map_err(|e| StageError::new("extract", e))?;
            Ok(reports.len())
        })
        .await
        .map_err(|e| StageError::new("extract", e))?
    }
}

type BuildFuture = Pin<Box<dyn Future<Output = Result<Arc<dyn Stage>, StageError>> + Send>>;

/// A stage built on first use, and only when its queue holds runnable work: the
/// speech-to-text engine loads (or downloads) a model, which a service with nothing to
/// transcribe should never pay for.
pub struct LazyStage {
    name: &'static str,
    kinds: Vec<JobKind>,
    store: Arc<dyn Store>,
    build: Box<dyn Fn() -> BuildFuture + Send + Sync>,
    cell: OnceCell<Arc<dyn Stage>>,
}

impl LazyStage {
    pub fn new<F, Fut>(
        name: &'static str,
        kinds: Vec<JobKind>,
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

    async fn has_work(&self) -> Result<bool, StageError> {
        let now = chrono::Utc::now();
        let queued = self
            .store
            .list_jobs(Some(JobState::Queued), 10_000)
            .await
            .map_err(|e| StageError::new(self.name, e))?;
        if queued
            .iter()
            .any(|j| self.kinds.contains(&j.kind) && j.run_after <= now)
        {
            return Ok(true);
        }
        // A crashed worker's job whose lease ran out is runnable too.
        let running = self
            .store
            .list_jobs(Some(JobState::Running), 10_000)
            .await
            .map_err(|e| StageError::new(self.name, e))?;
        Ok(running.iter().any(|j| {
            self.kinds.contains(&j.kind) && j.lease_expires_at.is_some_and(|until| until <= now)
        }))
    }
}

#[async_trait]
impl Stage for LazyStage {
    fn name(&self) -> &'static str {
        self.name
    }
    async fn run(&self, worker: &str) -> Result<usize, StageError> {
        if self.cell.get().is_none() && !self.has_work().await? {
            return Ok(0);
        }
        let stage = self.cell.get_or_try_init(|| (self.build)()).await?;
        stage.run(worker).await
    }
}

/// Drives a future that is not provably `Send` (higher-ranked lifetimes inside the poller
/// and the insight engine trip rustc) on a blocking thread of this runtime.
pub(crate) async fn on_blocking_thread<F, Fut, T>(f: F) -> Result<T, tokio::task::JoinError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f())).await
}

/// Sleeps `d`; true when shutdown was asked for meanwhile.
pub(crate) async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.wait_for(|s| *s) => return true,
    }
    *stop.borrow()
}

pub(crate) async fn worker_loop(
    stage: Arc<dyn Stage>,
    worker: String,
    idle: Duration,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let ran = match stage.run(&worker).await {
            Ok(n) => n,
            Err(e) => {
                metrics.stage_error(stage.name());
                tracing::error!(worker = %worker, "{e}");
                0
            }
        };
        metrics.jobs_run(stage.name(), ran);
        // Straight back to the queue after work; sleep when it was empty (or failed).
        if ran == 0 && sleep_or_stop(idle, &mut stop).await {
            break;
        }
    }
    tracing::debug!(worker = %worker, "worker stopped");
}

pub(crate) async fn poll_loop(
    poller: Arc<Poller>,
    every: Duration,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let p = poller.clone();
        let polled = on_blocking_thread(move || async move { p.poll_due(|_| {}, |_| {}).await })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        match polled {
            Ok(s) => {
                metrics.polled(s.feeds);
                if s.feeds > 0 {
                    tracing::info!(
                        feeds = s.feeds,
                        new_episodes = s.new_episodes,
                        failed = s.failed,
                        "polled due feeds"
                    );
                }
            }
            Err(e) => tracing::error!("polling due feeds: {e}"),
        }
        if sleep_or_stop(every, &mut stop).await {
            break;
        }
    }
}
