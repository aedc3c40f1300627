//! The loops that run the pipeline's stages ([`podsift_pipeline::Stage`]) and poll feeds.

use std::sync::Arc;
use std::time::Duration;

use podsift_core::JobOutcome;
use podsift_pipeline::{JobEvent, Stage, StageEvents};
use podsift_poller::Poller;
use tokio::sync::watch;

use crate::Metrics;

/// A stage's job events as logs: failures warn, the rest is debug.
pub(crate) struct LogEvents;

impl StageEvents for LogEvents {
    fn job(&self, e: &JobEvent) {
        match e.outcome {
            JobOutcome::Done => {
                tracing::debug!(stage = e.stage, job = ?e.job_id, episode = ?e.episode_id, "{}", e.detail)
            }
            outcome => {
                tracing::warn!(stage = e.stage, job = ?e.job_id, episode = ?e.episode_id, outcome = outcome.as_str(), "{}", e.detail)
            }
        }
    }
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
        let ran = match stage.run(&worker, &LogEvents).await {
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
        match poller.poll_due(|_| {}, |_| {}).await {
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

/// How often the topic loop looks for topics due for their daily scan.
const TOPICS_EVERY: Duration = Duration::from_secs(3600);

/// Scans the topics due for their daily scan, hourly; a topic that fails is logged and
/// scanned again on the next pass.
pub(crate) async fn topics_loop(
    scanner: Arc<podsift_discovery::TopicScanner>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match scanner.scan_due().await {
            Ok(results) => {
                for r in results {
                    match r {
                        Ok(rep) => tracing::info!(
                            topic = %rep.topic,
                            admitted = rep.admitted.len(),
                            left_out = rep.left_out_total,
                            problems = rep.problems.len(),
                            "topic scanned"
                        ),
                        Err((t, e)) => tracing::warn!(topic = %t.text, "topic scan failed: {e}"),
                    }
                }
            }
            Err(e) => tracing::error!("listing topics: {e}"),
        }
        if sleep_or_stop(TOPICS_EVERY, &mut stop).await {
            break;
        }
    }
}
