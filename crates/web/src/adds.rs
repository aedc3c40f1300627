//! Feeds users add on the web are fetched and checked in the background, not inside their
//! request: the add form and an OPML import queue `subscribe` jobs (durable: a restart or
//! another worker's fetch loop finishes them), a few runners of this process work through
//! them, and the request waits a short while (`[web] add_feed_wait_secs`) for its own. A
//! quick feed is answered as before (subscribed, or why not); a slow one is "being added"
//! and shows on the subscriptions page with its outcome. One user can have at most
//! `[web] max_pending_feed_adds` waiting.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use podsift_core::UserProfile;
use podsift_core::jobs::{JobId, JobKind, JobOutcome, JobState, NewJob};
use tokio::sync::{Notify, Semaphore};

use crate::views::Subscribed;
use crate::{App, AppState, WebError};

/// Background runners of one process (each fetches one feed at a time).
const RUNNERS: usize = 2;
/// Outcomes nobody collected are forgotten after this long.
const KEEP_OUTCOME: Duration = Duration::from_secs(600);

/// How one queued feed ended, as far as this process knows.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Added(Subscribed),
    /// Added by another process (a worker's fetch loop): done, details not at hand.
    Finished,
    /// Failed for good (not a feed, refused, gone), with why.
    Failed(String),
    /// Failed this time, tried again later (the server was down or slow).
    Retrying(String),
}

pub(crate) struct FeedAdds {
    outcomes: Mutex<HashMap<JobId, (Instant, Outcome)>>,
    done: Notify,
    runners: Arc<Semaphore>,
}

impl Default for FeedAdds {
    fn default() -> Self {
        Self {
            outcomes: Mutex::new(HashMap::new()),
            done: Notify::new(),
            runners: Arc::new(Semaphore::new(RUNNERS)),
        }
    }
}

/// One URL of a request, queued (its job) or refused.
pub(crate) struct Queued {
    pub url: String,
    pub job: Option<JobId>,
}

impl FeedAdds {
    /// Queues `urls` for `user` (a URL already waiting is not queued twice), refusing the
    /// lot when the user would have more than `max_pending_feed_adds` waiting; starts the
    /// runners.
    pub(crate) async fn queue(
        app: &AppState,
        user: &UserProfile,
        urls: &[String],
    ) -> Result<Vec<Queued>, WebError> {
        if app.web.poller.is_none() {
            return Err(WebError::Unavailable("adding feeds"));
        }
        let store = &app.web.store;
        let now = app.web.clock.now();
        let max = app.web.config.max_pending_feed_adds;
        let pending = store
            .feed_adds(user.id, now, max + 1)
            .await?
            .iter()
            .filter(|j| matches!(j.state, JobState::Queued | JobState::Running))
            .count();
        if pending + urls.len() > max {
            return Err(WebError::Rejected(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "{pending} feeds are already being added and at most {max} may wait at once; \
                     add these when they are done"
                ),
            ));
        }
        let mut queued = Vec::with_capacity(urls.len());
        for url in urls {
            let job = store
                .enqueue(&NewJob::subscribe(user.id, url, now), now)
                .await?;
            let job = match job {
                Some(id) => Some(id),
                // Already waiting: wait for that one.
                None => store
                    .feed_adds(user.id, now, max + 1)
                    .await?
                    .into_iter()
                    .find(|j| j.subscription().is_some_and(|(_, u)| u == url))
                    .map(|j| j.id),
            };
            queued.push(Queued {
                url: url.clone(),
                job,
            });
        }
        Self::start_runners(app);
        Ok(queued)
    }

    /// Starts runners up to [`RUNNERS`]; each works until no `subscribe` job is runnable.
    fn start_runners(app: &AppState) {
        for _ in 0..RUNNERS {
            let Ok(permit) = app.adds.runners.clone().try_acquire_owned() else {
                return;
            };
            let app = app.clone();
            tokio::spawn(async move {
                run(&app).await;
                drop(permit);
            });
        }
    }

    /// Waits until every one of `jobs` has ended, or `wait` has passed: the outcomes known.
    pub(crate) async fn wait(
        app: &App,
        jobs: &[JobId],
        wait: Duration,
    ) -> Result<HashMap<JobId, Outcome>, WebError> {
        let deadline = Instant::now() + wait;
        let mut known = HashMap::new();
        loop {
            let notified = app.adds.done.notified();
            for job in jobs {
                if known.contains_key(job) {
                    continue;
                }
                if let Some(o) = app.adds.take(*job) {
                    known.insert(*job, o);
                    continue;
                }
                // Ended in another process (a worker's fetch loop)?
                match app.web.store.get_job(*job).await? {
                    Some(j) if j.state == JobState::Dead => {
                        known.insert(*job, Outcome::Failed(j.last_error.unwrap_or_default()));
                    }
                    Some(j) if j.state == JobState::Done => {
                        known.insert(*job, Outcome::Finished);
                    }
                    _ => {}
                }
            }
            let now = Instant::now();
            if known.len() == jobs.len() || now >= deadline {
                return Ok(known);
            }
            let _ =
                tokio::time::timeout((deadline - now).min(Duration::from_millis(250)), notified)
                    .await;
        }
    }

    fn take(&self, job: JobId) -> Option<Outcome> {
        let mut map = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&job).map(|(_, o)| o)
    }

    fn record(&self, job: JobId, outcome: Outcome) {
        let mut map = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (at, _)| at.elapsed() < KEEP_OUTCOME);
        map.insert(job, (Instant::now(), outcome));
        drop(map);
        self.done.notify_waiters();
    }
}

/// Runs runnable `subscribe` jobs until none is left (then looks once more, so a job queued
/// while the last one finished is not left waiting for another request).
async fn run(app: &App) {
    let Some(poller) = app.web.poller.clone() else {
        return;
    };
    let worker = format!("web-{}", std::process::id());
    for _ in 0..2 {
        let ran = poller
            .run_jobs_of(&[JobKind::Subscribe], &worker, 1, |r| {
                let outcome = match (r.state, &r.subscribed) {
                    (JobOutcome::Done, Some(s)) => Outcome::Added(Subscribed::from(s)),
                    (JobOutcome::Done, None) => return,
                    (JobOutcome::Dead, _) => Outcome::Failed(r.detail.clone()),
                    (JobOutcome::Retrying, _) => Outcome::Retrying(r.detail.clone()),
                };
                app.adds.record(r.job_id, outcome);
            })
            .await;
        match ran {
            Ok(summary) if summary.done + summary.dead + summary.retrying > 0 => continue,
            Ok(_) => break,
            Err(e) => {
                tracing::warn!("adding feeds in the background: {e}");
                break;
            }
        }
    }
    app.adds.done.notify_waiters();
}
