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

use podsift_core::jobs::{JobId, JobKind, JobOutcome, JobState, NewJob};
use podsift_core::{FeedId, UserProfile};
use podsift_feeds::opml;
use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::{App, AppState, WebError};

/// Feeds one OPML import may list.
const MAX_IMPORT: usize = 500;
/// Longest feed URL accepted from a form.
const MAX_URL_CHARS: usize = 2048;

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
    /// Numbers the runners, so each holds its jobs' leases under a name of its own.
    started: std::sync::atomic::AtomicUsize,
}

impl Default for FeedAdds {
    fn default() -> Self {
        Self {
            outcomes: Mutex::new(HashMap::new()),
            done: Notify::new(),
            runners: Arc::new(Semaphore::new(RUNNERS)),
            started: std::sync::atomic::AtomicUsize::new(0),
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
    let n = app
        .adds
        .started
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let worker = format!("web-{}-{n}", std::process::id());
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

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Subscribed {
    pub feed_id: FeedId,
    pub url: String,
    pub title: Option<String>,
    pub new_subscription: bool,
    pub episodes: usize,
    /// Why its earlier episodes were not queued (`[poll] max_queued_episodes_per_user`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_back: Option<String>,
}

impl From<&podsift_poller::SubscribeReport> for Subscribed {
    fn from(rep: &podsift_poller::SubscribeReport) -> Self {
        Self {
            feed_id: rep.feed_id,
            url: rep.url.clone(),
            title: rep.title.clone(),
            new_subscription: rep.new_subscription,
            episodes: rep.episodes.inserted + rep.episodes.unchanged + rep.episodes.updated,
            held_back: rep.held_back.clone(),
        }
    }
}

/// What adding one feed came to within the request's wait.
#[derive(Debug, Clone)]
pub(crate) enum Added {
    Subscribed(Subscribed),
    /// Subscribed by another worker (no details at hand).
    Done,
    /// Still being fetched and checked in the background (or tried again later, with why).
    Pending {
        url: String,
        note: Option<String>,
    },
}

/// Validate and subscribe as `podsift subscribe` does (same errors), in the background
/// ([`crate::adds`]): waits up to `[web] add_feed_wait_secs` for the outcome.
pub(crate) async fn add_feed(
    app: &AppState,
    user: &UserProfile,
    url: &str,
) -> Result<Added, WebError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(WebError::BadRequest("give a feed URL".into()));
    }
    if url.len() > MAX_URL_CHARS {
        return Err(WebError::BadRequest(format!(
            "a feed URL has at most {MAX_URL_CHARS} characters"
        )));
    }
    let queued = FeedAdds::queue(app, user, &[url.to_string()]).await?;
    let Some(job) = queued.first().and_then(|q| q.job) else {
        return Ok(Added::Pending {
            url: url.into(),
            note: None,
        });
    };
    let mut outcomes = FeedAdds::wait(app, &[job], app.web.config.add_feed_wait).await?;
    Ok(match outcomes.remove(&job) {
        Some(Outcome::Added(s)) => Added::Subscribed(s),
        Some(Outcome::Finished) => Added::Done,
        Some(Outcome::Failed(why)) => return Err(WebError::BadRequest(why)),
        Some(Outcome::Retrying(why)) => Added::Pending {
            url: url.into(),
            note: Some(why),
        },
        None => Added::Pending {
            url: url.into(),
            note: None,
        },
    })
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ImportReport {
    pub subscribed: Vec<Subscribed>,
    pub failed: Vec<ImportFailure>,
    /// Still being added in the background when the request answered.
    pub pending: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ImportFailure {
    pub url: String,
    pub error: String,
}

pub(crate) async fn import_opml(
    app: &AppState,
    user: &UserProfile,
    bytes: &[u8],
) -> Result<ImportReport, WebError> {
    let outlines = opml::parse_opml(bytes)
        .map_err(|e| WebError::BadRequest(format!("not a usable OPML file: {e}")))?;
    if outlines.is_empty() {
        return Err(WebError::BadRequest("the OPML file lists no feeds".into()));
    }
    if outlines.len() > MAX_IMPORT {
        return Err(WebError::BadRequest(format!(
            "the OPML file lists {} feeds; import at most {MAX_IMPORT} at once",
            outlines.len()
        )));
    }
    let mut urls: Vec<String> = outlines
        .into_iter()
        .map(|o| o.xml_url.trim().to_string())
        .filter(|u| !u.is_empty() && u.len() <= MAX_URL_CHARS)
        .collect();
    urls.dedup();
    let queued = FeedAdds::queue(app, user, &urls).await?;
    let jobs: Vec<_> = queued.iter().filter_map(|q| q.job).collect();
    let mut outcomes = FeedAdds::wait(app, &jobs, app.web.config.add_feed_wait).await?;
    let mut report = ImportReport::default();
    for q in queued {
        match q.job.and_then(|j| outcomes.remove(&j)) {
            Some(Outcome::Added(s)) => report.subscribed.push(s),
            Some(Outcome::Failed(error)) => report.failed.push(ImportFailure { url: q.url, error }),
            Some(Outcome::Finished) => {}
            Some(Outcome::Retrying(_)) | None => report.pending.push(q.url),
        }
    }
    Ok(report)
}

/// A user's feeds being added, and those that could not be in the last week.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct AddsView {
    pub pending: Vec<PendingAdd>,
    pub failed: Vec<ImportFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct PendingAdd {
    pub url: String,
    /// Why the last try failed (tried again later).
    pub note: Option<String>,
}

pub(crate) async fn feed_adds(app: &App, user: &UserProfile) -> Result<AddsView, WebError> {
    let since = app.web.clock.now() - chrono::Duration::days(7);
    let mut view = AddsView::default();
    for j in app.web.store.feed_adds(user.id, since, 200).await? {
        let Some((_, url)) = j.subscription() else {
            continue;
        };
        let url = podsift_fetch::redact_str(url);
        match j.state {
            podsift_core::JobState::Queued | podsift_core::JobState::Running => {
                view.pending.push(PendingAdd {
                    url,
                    note: j.last_error,
                })
            }
            podsift_core::JobState::Dead => view.failed.push(ImportFailure {
                url,
                error: j.last_error.unwrap_or_default(),
            }),
            podsift_core::JobState::Done => {}
        }
    }
    Ok(view)
}
