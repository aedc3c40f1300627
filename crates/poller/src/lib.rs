//! The first half of podsift's pipeline: validate and subscribe feeds, poll them politely,
//! record every episode once, and collect publisher transcripts and chapters through jobs.
//!
//! Reads as fetch → parse → store. Every side effect goes through the core ports
//! ([`Store`], [`Fetcher`], [`Clock`]), so the same code runs in the CLI, the daemon and tests.

mod error;
mod jobs;
pub mod schedule;

use std::sync::Arc;

use futures::StreamExt;
use podsift_core::config::{HttpConfig, PollConfig};
use podsift_core::store::NewFeed;
use podsift_core::{
    Clock, Feed, FeedMetadata, FeedPollOutcome, FetchError, FetchRequest, FetchResponse, Fetcher,
    JobKind, NewJob, ParsedFeed, Store, UpsertStats, UserId,
};
use serde::Serialize;

pub use error::PollError;
pub use jobs::{JobReport, JobsSummary, POLLER_JOBS};
use schedule::FreshnessHints;

/// The `Accept` header for feeds.
pub const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.5, */*;q=0.1";

/// Settings the poller needs from the configuration.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub poll: PollConfig,
    pub max_feed_bytes: u64,
    pub max_transcript_bytes: u64,
    /// How long a claimed job is leased before another worker may take it over.
    pub job_lease: std::time::Duration,
    /// Queue speech-to-text for episodes without a usable publisher transcript.
    pub transcribe_missing: bool,
}

impl PollerSettings {
    pub fn new(poll: &PollConfig, http: &HttpConfig) -> Self {
        Self {
            poll: poll.clone(),
            max_feed_bytes: http.max_feed_bytes,
            max_transcript_bytes: http.max_transcript_bytes,
            // Renewed by heartbeats while a job runs ([`PollerSettings::with_job_lease`]).
            job_lease: std::time::Duration::from_secs(120),
            transcribe_missing: false,
        }
    }

    /// How long a claimed job stays leased between the running worker's renewals (a killed
    /// worker's job is taken over after at most this long).
    pub fn with_job_lease(mut self, lease: std::time::Duration) -> Self {
        self.job_lease = lease.max(std::time::Duration::from_secs(1));
        self
    }

    /// With speech-to-text queued for episodes that have audio but no publisher transcript.
    pub fn with_transcription(mut self, on: bool) -> Self {
        self.transcribe_missing = on;
        self
    }
}

/// The poller: cheap to share behind an `Arc`.
pub struct Poller {
    store: Arc<dyn Store>,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn Clock>,
    settings: PollerSettings,
}

/// A feed found at a URL the user gave.
#[derive(Debug, Clone)]
pub struct ResolvedFeed {
    /// The URL to store: the feed's own URL after permanent redirects or feed discovery.
    pub url: String,
    pub parsed: ParsedFeed,
    pub response: FetchResponse,
}

impl ResolvedFeed {
    /// The feed row to store for it, first due at `next_check_at`.
    pub fn new_feed(&self, next_check_at: chrono::DateTime<chrono::Utc>) -> NewFeed {
        NewFeed {
            url: self.url.clone(),
            metadata: FeedMetadata::from(&self.parsed),
            next_check_at,
        }
    }
}

/// The result of `subscribe`.
#[derive(Debug, Clone, Serialize)]
pub struct SubscribeReport {
    pub feed_id: i64,
    pub url: String,
    pub title: Option<String>,
    /// False when the user already followed this feed.
    pub new_subscription: bool,
    pub episodes: UpsertStats,
    /// Why the feed's back catalogue was not queued (`[poll] max_queued_episodes_per_user`).
    pub held_back: Option<String>,
}

/// What polling one feed did.
#[derive(Debug, Clone, Serialize)]
pub struct FeedPollReport {
    pub feed_id: i64,
    pub url: String,
    pub outcome: PollOutcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum PollOutcome {
    NotModified,
    Updated {
        inserted: usize,
        updated: usize,
        unchanged: usize,
        jobs_queued: usize,
        new_url: Option<String>,
    },
    Failed {
        error: String,
        error_count: u32,
        failing: bool,
    },
}

/// Totals of one `poll_due` pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PollSummary {
    pub feeds: usize,
    pub not_modified: usize,
    pub updated: usize,
    pub failed: usize,
    pub new_episodes: usize,
    pub jobs_queued: usize,
}

impl PollSummary {
    fn add(&mut self, r: &FeedPollReport) {
        self.feeds += 1;
        match &r.outcome {
            PollOutcome::NotModified => self.not_modified += 1,
            PollOutcome::Updated {
                inserted,
                jobs_queued,
                ..
            } => {
                self.updated += 1;
                self.new_episodes += inserted;
                self.jobs_queued += jobs_queued;
            }
            PollOutcome::Failed { .. } => self.failed += 1,
        }
    }

    /// Adds another pass's totals to these.
    pub fn merge(&mut self, other: &PollSummary) {
        self.feeds += other.feeds;
        self.not_modified += other.not_modified;
        self.updated += other.updated;
        self.failed += other.failed;
        self.new_episodes += other.new_episodes;
        self.jobs_queued += other.jobs_queued;
    }

    /// Counts a subscription made in this pass (its first fetch is a poll too), so that a run
    /// that subscribed the starter shows does not report "0 feeds polled".
    pub fn add_subscribed(&mut self, r: Result<&SubscribeReport, &PollError>) {
        self.feeds += 1;
        match r {
            Ok(r) => {
                self.updated += 1;
                self.new_episodes += r.episodes.inserted;
                self.jobs_queued += r.episodes.new_candidates.len();
            }
            Err(_) => self.failed += 1,
        }
    }
}

impl Poller {
    pub fn new(
        store: Arc<dyn Store>,
        fetcher: Arc<dyn Fetcher>,
        clock: Arc<dyn Clock>,
        settings: PollerSettings,
    ) -> Self {
        Self {
            store,
            fetcher,
            clock,
            settings,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn feed_request(&self, url: &str) -> FetchRequest {
        let mut req = FetchRequest::get(url, self.settings.max_feed_bytes);
        req.accept = Some(FEED_ACCEPT.to_string());
        req
    }

    /// Fetch a URL the user gave and find the feed behind it: the URL itself, or the first
    /// feed an HTML page links with `<link rel="alternate">`. Stores nothing.
    pub async fn resolve(&self, url: &str) -> Result<ResolvedFeed, PollError> {
        let url = url.trim();
        let resp = self.fetcher.fetch(self.feed_request(url)).await?;
        let (url, resp) = match podsift_feeds::sniff(&resp.body, resp.content_type.as_deref()) {
            podsift_feeds::Sniffed::Feed => (canonical_url(url, &resp), resp),
            podsift_feeds::Sniffed::Html => {
                let links = podsift_feeds::discover_feed_links(&resp.body, &resp.final_url);
                let Some(link) = links.into_iter().next() else {
                    return Err(PollError::NotAFeed {
                        url: url.to_string(),
                        reason: "an HTML page without a feed link".into(),
                    });
                };
                let linked = self.fetcher.fetch(self.feed_request(&link)).await?;
                match podsift_feeds::sniff(&linked.body, linked.content_type.as_deref()) {
                    podsift_feeds::Sniffed::Feed => (canonical_url(&link, &linked), linked),
                    other => {
                        return Err(PollError::NotAFeed {
                            url: link,
                            reason: format!("the page's feed link leads to {}", describe(&other)),
                        });
                    }
                }
            }
            other => {
                return Err(PollError::NotAFeed {
                    url: url.to_string(),
                    reason: describe(&other),
                });
            }
        };
        let parsed = podsift_feeds::parse_feed(&resp.body, Some(&resp.final_url)).map_err(|e| {
            PollError::Parse {
                url: url.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(ResolvedFeed {
            url,
            parsed,
            response: resp,
        })
    }

    /// Validate `url` by fetching it, then subscribe `user`, record the episodes (only the newest
    /// few become candidates on a feed's first import) and queue their transcript jobs.
    /// Nothing is stored when validation fails.
    pub async fn subscribe(&self, user: UserId, url: &str) -> Result<SubscribeReport, PollError> {
        let resolved = self.resolve(url).await?;
        let now = self.clock.now();
        let next_check_at =
            schedule::next_check_after_success(&self.settings.poll, hints(&resolved), now);
        let feed = resolved.new_feed(next_check_at);
        let (feed_id, new_subscription) = self.store.subscribe(user, &feed, now).await?;
        // A user whose shows already have a long queue adds this one without its back
        // catalogue: one OPML import cannot flood the queue everyone shares.
        let cap = self.settings.poll.max_queued_episodes_per_user;
        let mut initial = self.settings.poll.initial_episodes;
        let mut held_back = None;
        if cap > 0 && initial > 0 {
            let waiting = self.store.queued_episode_jobs(user).await?;
            if waiting >= cap {
                initial = 0;
                held_back = Some(format!(
                    "its earlier episodes were not queued: {waiting} episodes of your shows are \
                     already waiting ([poll] max_queued_episodes_per_user = {cap}); new ones are \
                     read as they come"
                ));
            }
        }
        let (stats, _) = self
            .record_episodes(feed_id, &resolved.parsed, initial)
            .await?;
        self.store
            .record_poll(
                feed_id,
                &FeedPollOutcome::Success {
                    metadata: Some(feed.metadata),
                    etag: resolved.response.etag.clone(),
                    last_modified: resolved.response.last_modified.clone(),
                    new_url: None,
                    next_check_at,
                },
                now,
            )
            .await?;
        Ok(SubscribeReport {
            feed_id,
            url: resolved.url,
            title: resolved.parsed.title,
            new_subscription,
            episodes: stats,
            held_back,
        })
    }

    /// Upsert a parsed feed's episodes and queue transcript/chapter jobs for the candidates.
    async fn record_episodes(
        &self,
        feed_id: i64,
        parsed: &ParsedFeed,
        initial: usize,
    ) -> Result<(UpsertStats, usize), PollError> {
        let upserts = podsift_feeds::to_upserts(parsed);
        let now = self.clock.now();
        let stats = self
            .store
            .upsert_episodes(feed_id, &upserts, initial, now)
            .await?;
        let mut queued = 0;
        for id in stats
            .new_candidates
            .iter()
            .chain(stats.updated_candidates.iter())
        {
            queued += self.queue_episode(*id).await?;
        }
        Ok((stats, queued))
    }

    /// Queues what a candidate episode needs read: its publisher transcript (else
    /// speech-to-text, when on) and its chapters. Returns the jobs queued (an unfinished job
    /// for the same work is not queued twice). The topic scan uses this for the episodes it
    /// admits.
    pub async fn queue_episode(&self, id: podsift_core::EpisodeId) -> Result<usize, PollError> {
        let now = self.clock.now();
        let Some(ep) = self.store.get_episode(id).await? else {
            return Ok(0);
        };
        let mut queued = 0;
        if ep.segment_count == 0 {
            if !ep.data.transcripts.is_empty() {
                let job = NewJob::for_episode(JobKind::FetchTranscript, id, now);
                queued += usize::from(self.store.enqueue(&job, now).await?.is_some());
            } else if self.settings.transcribe_missing && ep.data.enclosure.is_some() {
                let job = NewJob::for_episode(JobKind::Transcribe, id, now);
                queued += usize::from(self.store.enqueue(&job, now).await?.is_some());
            }
        }
        if ep.data.chapters.is_some() && self.store.get_chapters(id).await?.is_none() {
            let job = NewJob::for_episode(JobKind::FetchChapters, id, now);
            queued += usize::from(self.store.enqueue(&job, now).await?.is_some());
        }
        Ok(queued)
    }

    /// Poll one feed: conditional GET, parse, record episodes, schedule the next check.
    /// Errors are recorded on the feed (backoff, error count, failing), never returned.
    pub async fn poll_feed(&self, feed: &Feed) -> FeedPollReport {
        let outcome = match self.try_poll_feed(feed).await {
            Ok(o) => o,
            Err(err) => self.record_failure(feed, &err).await,
        };
        FeedPollReport {
            feed_id: feed.id,
            url: feed.url.clone(),
            outcome,
        }
    }

    async fn try_poll_feed(&self, feed: &Feed) -> Result<PollOutcome, PollError> {
        let mut req = self.feed_request(&feed.url);
        req.etag = feed.etag.clone();
        req.last_modified = feed.last_modified.clone();
        let resp = self.fetcher.fetch(req).await?;
        let now = self.clock.now();
        if resp.not_modified {
            let next = schedule::next_check_after_success(
                &self.settings.poll,
                FreshnessHints {
                    ttl_minutes: None,
                    max_age: resp.max_age,
                    expires: resp.expires,
                },
                now,
            );
            self.store
                .record_poll(
                    feed.id,
                    &FeedPollOutcome::Success {
                        metadata: None,
                        etag: resp.etag.clone().or_else(|| feed.etag.clone()),
                        last_modified: resp
                            .last_modified
                            .clone()
                            .or_else(|| feed.last_modified.clone()),
                        new_url: moved_to(feed, &resp, None),
                        next_check_at: next,
                    },
                    now,
                )
                .await?;
            return Ok(PollOutcome::NotModified);
        }
        match podsift_feeds::sniff(&resp.body, resp.content_type.as_deref()) {
            podsift_feeds::Sniffed::Feed => {}
            other => {
                return Err(PollError::NotAFeed {
                    url: feed.url.clone(),
                    reason: describe(&other),
                });
            }
        }
        let parsed = podsift_feeds::parse_feed(&resp.body, Some(&resp.final_url)).map_err(|e| {
            PollError::Parse {
                url: feed.url.clone(),
                reason: e.to_string(),
            }
        })?;
        let (stats, jobs_queued) = self
            .record_episodes(feed.id, &parsed, self.settings.poll.initial_episodes)
            .await?;
        let resolved = ResolvedFeed {
            url: feed.url.clone(),
            parsed,
            response: resp,
        };
        let next = schedule::next_check_after_success(&self.settings.poll, hints(&resolved), now);
        let new_url = moved_to(
            feed,
            &resolved.response,
            resolved.parsed.new_feed_url.as_deref(),
        );
        self.store
            .record_poll(
                feed.id,
                &FeedPollOutcome::Success {
                    metadata: Some(FeedMetadata::from(&resolved.parsed)),
                    etag: resolved.response.etag.clone(),
                    last_modified: resolved.response.last_modified.clone(),
                    new_url: new_url.clone(),
                    next_check_at: next,
                },
                now,
            )
            .await?;
        Ok(PollOutcome::Updated {
            inserted: stats.inserted,
            updated: stats.updated,
            unchanged: stats.unchanged,
            jobs_queued,
            new_url,
        })
    }

    async fn record_failure(&self, feed: &Feed, err: &PollError) -> PollOutcome {
        let now = self.clock.now();
        let error_count = feed.error_count.saturating_add(1);
        let failing = schedule::is_failing(&self.settings.poll, error_count);
        let next = schedule::next_check_after_failure(
            &self.settings.poll,
            error_count,
            err.retry_after(),
            now,
        );
        let error = err.to_string();
        tracing::warn!(feed = feed.id, error_count, failing, "poll failed: {error}");
        if let Err(store_err) = self
            .store
            .record_poll(
                feed.id,
                &FeedPollOutcome::Failure {
                    error: error.clone(),
                    next_check_at: next,
                    failing,
                },
                now,
            )
            .await
        {
            tracing::error!(
                feed = feed.id,
                "could not record the poll failure: {store_err}"
            );
        }
        PollOutcome::Failed {
            error,
            error_count,
            failing,
        }
    }

    /// Poll every feed that is due, `poll.concurrency` at a time; `on_feed` sees each report
    /// as it completes (progress bars). The total of due feeds is passed to `on_start`.
    pub async fn poll_due(
        &self,
        on_start: impl FnOnce(usize),
        on_feed: impl FnMut(&FeedPollReport),
    ) -> Result<PollSummary, PollError> {
        let now = self.clock.now();
        let due = self.store.due_feeds(now, usize::MAX >> 1).await?;
        Ok(self.poll_feeds(&due, on_start, on_feed).await)
    }

    /// Poll the given feeds now, due or not (`podsift poll --all`).
    pub async fn poll_feeds(
        &self,
        due: &[Feed],
        on_start: impl FnOnce(usize),
        mut on_feed: impl FnMut(&FeedPollReport),
    ) -> PollSummary {
        on_start(due.len());
        let mut summary = PollSummary::default();
        // Boxed before `.buffer_unordered`, so that this future is provably `Send`
        // (rust-lang/rust#104382) and the service can spawn it.
        let feeds: futures::stream::BoxStream<'_, _> = futures::stream::iter(due.iter())
            .map(|feed| self.poll_feed(feed))
            .boxed();
        let mut stream = feeds.buffer_unordered(self.settings.poll.concurrency.max(1));
        while let Some(report) = stream.next().await {
            summary.add(&report);
            on_feed(&report);
        }
        summary
    }
}

/// The URL to store for a feed fetched from `requested`: the target of permanent redirects.
fn canonical_url(requested: &str, resp: &FetchResponse) -> String {
    resp.permanent_redirect
        .clone()
        .unwrap_or_else(|| requested.to_string())
}

/// A feed's new URL, if it moved: `<itunes:new-feed-url>` first (the publisher's explicit word),
/// else a permanent redirect.
fn moved_to(feed: &Feed, resp: &FetchResponse, new_feed_url: Option<&str>) -> Option<String> {
    let candidate = new_feed_url
        .map(str::trim)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(str::to_string)
        .or_else(|| resp.permanent_redirect.clone())?;
    (candidate != feed.url).then_some(candidate)
}

fn hints(r: &ResolvedFeed) -> FreshnessHints {
    FreshnessHints {
        ttl_minutes: r.parsed.ttl_minutes,
        max_age: r.response.max_age,
        expires: r.response.expires,
    }
}

fn describe(s: &podsift_feeds::Sniffed) -> String {
    match s {
        podsift_feeds::Sniffed::Feed => "a feed".into(),
        podsift_feeds::Sniffed::Html => "an HTML page".into(),
        podsift_feeds::Sniffed::Other(what) => what.clone(),
    }
}

impl From<FetchError> for PollError {
    fn from(e: FetchError) -> Self {
        PollError::Fetch(e)
    }
}
