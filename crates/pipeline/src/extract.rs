//! Insight extraction jobs: one per candidate episode with a transcript.

use std::sync::Arc;
use std::time::Duration;

use podsift_core::jobs::{FailureKind, Fence};
use podsift_core::{
    ExtractionReport, FeedKey, JobKind, JobOutcome, Llm, LlmCache, NewJob, Store, config::LlmConfig,
};
use podsift_insights::{EpisodeInput, extract_episode};
use serde::Serialize;

use crate::{PipelineError, SharedClock};

/// What one extraction job did.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractReport {
    pub episode_id: i64,
    pub title: String,
    pub state: JobOutcome,
    pub insights: usize,
    pub error: Option<String>,
    pub report: Option<ExtractionReport>,
}

pub struct Extractor {
    store: Arc<dyn Store>,
    llm: Arc<dyn Llm>,
    cache: Arc<dyn LlmCache>,
    clock: SharedClock,
    cfg: LlmConfig,
    interests: Vec<String>,
    lease: Duration,
}

/// Why one episode's extraction failed, and when to try it again.
struct Failed {
    title: String,
    error: String,
    retry: Retry,
}

impl Failed {
    fn never(title: String, error: String) -> Self {
        Self {
            title,
            error,
            retry: Retry::Never,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// A permanent failure.
    Never,
    /// With the job's backoff.
    Later,
    /// When a spent daily cap renews (the next UTC day).
    Tomorrow,
}

/// The end of the message of an episode deferred by a daily cap.
const CAP_SPENT: &str = "it waits until the cap renews tomorrow (UTC)";

/// The default extraction lease; renewed while the job runs ([`podsift_core::LeaseKeeper`]).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);

impl Extractor {
    pub fn new(
        store: Arc<dyn Store>,
        llm: Arc<dyn Llm>,
        cache: Arc<dyn LlmCache>,
        clock: SharedClock,
        cfg: LlmConfig,
    ) -> Self {
        Self {
            store,
            llm,
            cache,
            clock,
            cfg,
            interests: Vec::new(),
            lease: DEFAULT_LEASE,
        }
    }

    /// How long a claimed job is leased between heartbeats' renewals (`[service] job_lease_secs`).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }

    /// Interest keywords that raise a window's pre-score.
    pub fn with_interests(mut self, interests: Vec<String>) -> Self {
        self.interests = interests;
        self
    }

    /// What is left today (UTC) of the daily caps, in prompt tokens, with the cap's name;
    /// `None` when no daily cap is set.
    async fn daily_left(&self) -> Result<Option<(u64, String)>, PipelineError> {
        let (tokens, usd) = (self.cfg.daily_token_budget, self.cfg.daily_usd_budget);
        if tokens.is_none() && usd.is_none() {
            return Ok(None);
        }
        let now = self.clock.now();
        let midnight = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let spent = self.store.llm_spend_since(midnight).await?;
        let mut left: Option<(u64, String)> = tokens.map(|t| {
            (
                t.saturating_sub(spent.prompt_tokens),
                format!("daily_token_budget = {t}"),
            )
        });
        if let Some(d) = usd {
            let (model, price) = podsift_insights::cost::price_of(&self.cfg, &self.llm.model_id());
            let price = price.price;
            if price.prompt > 0.0 {
                let usd_left = (d - spent.cost_usd).max(0.0);
                let t = (usd_left / price.prompt * 1e6) as u64;
                if left.as_ref().is_none_or(|(l, _)| t < *l) {
                    left = Some((t, format!("daily_usd_budget = {d}")));
                }
            } else {
                tracing::warn!(model = %model, "llm.daily_usd_budget needs the model's price in llm.prices; not applied");
            }
        }
        Ok(left)
    }

    /// Queue an extraction job for every candidate episode with a transcript and no insights.
    /// Returns how many were queued (already queued ones are not counted).
    pub async fn enqueue_pending(&self) -> Result<usize, PipelineError> {
        let now = self.clock.now();
        let mut queued = 0;
        for ep in self.store.episodes_needing_insights(10_000).await? {
            let mut job = NewJob::for_episode(JobKind::ExtractInsights, ep, now);
            job.max_attempts = 4;
            queued += usize::from(self.store.enqueue(&job, now).await?.is_some());
        }
        Ok(queued)
    }

    /// Run extraction jobs until none is runnable. A failing engine never aborts the run:
    /// the episode's job is retried later (or dead after its attempts) and the others go on.
    pub async fn run_jobs(
        &self,
        worker: &str,
        mut on_job: impl FnMut(&ExtractReport),
    ) -> Result<Vec<ExtractReport>, PipelineError> {
        let mut out = Vec::new();
        loop {
            let daily = self.daily_left().await?;
            if let Some((0, cap)) = &daily {
                // The jobs stay queued: tomorrow's run (or the next pass after midnight UTC)
                // takes them. Nothing is lost, and the user is told.
                tracing::warn!(
                    "the daily cap ({cap}) is spent: the remaining episodes wait until tomorrow (UTC)"
                );
                break;
            }
            let Some(job) = self
                .store
                .claim(
                    &[JobKind::ExtractInsights],
                    worker,
                    self.lease,
                    self.clock.now(),
                )
                .await?
            else {
                break;
            };
            let Some(episode_id) = job.episode_id() else {
                self.store
                    .fail(
                        job.id,
                        worker,
                        "no episode id",
                        FailureKind::Permanent,
                        Duration::ZERO,
                        self.clock.now(),
                    )
                    .await?;
                continue;
            };
            // A second job for an episode another worker has extracted meanwhile (its queue
            // check raced that job's completion): nothing to do, no model call.
            if self.store.get_extraction(episode_id).await?.is_some() {
                tracing::info!(
                    episode = episode_id,
                    "already extracted: job completed without work"
                );
                self.store
                    .complete(job.id, worker, self.clock.now())
                    .await?;
                continue;
            }
            let keeper = podsift_core::LeaseKeeper::start(
                self.store.clone(),
                self.clock.clone(),
                job.id,
                worker,
                self.lease,
            );
            let fence = job.fence(worker);
            let extracted = self.extract(episode_id, daily.as_ref(), &fence).await;
            drop(keeper);
            let rep = match extracted? {
                Ok((title, insights, report)) => {
                    self.store
                        .complete(job.id, worker, self.clock.now())
                        .await?;
                    ExtractReport {
                        episode_id,
                        title,
                        state: JobOutcome::Done,
                        insights,
                        error: None,
                        report: Some(report),
                    }
                }
                Err(Failed {
                    title,
                    error: err,
                    retry,
                }) => {
                    let kind = if retry == Retry::Never {
                        FailureKind::Permanent
                    } else {
                        FailureKind::Retryable
                    };
                    let now = self.clock.now();
                    let backoff = if retry == Retry::Tomorrow {
                        // A daily cap: the episode waits for the next UTC day.
                        let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
                        (tomorrow.and_time(chrono::NaiveTime::MIN).and_utc() - now)
                            .to_std()
                            .unwrap_or(Duration::from_secs(3600))
                    } else {
                        Duration::from_secs(
                            (300u64 << job.attempts.saturating_sub(1).min(6)).min(6 * 3600),
                        )
                    };
                    let state = self
                        .store
                        .fail(job.id, worker, &err, kind, backoff, self.clock.now())
                        .await?;
                    tracing::warn!(episode = episode_id, "insight extraction failed: {err}");
                    ExtractReport {
                        episode_id,
                        title,
                        state: JobOutcome::after_failure(state),
                        insights: 0,
                        error: Some(err),
                        report: None,
                    }
                }
            };
            on_job(&rep);
            out.push(rep);
        }
        Ok(out)
    }

    /// `Ok(Ok(..))` extracted and saved; `Ok(Err(..))` a per-episode failure; `Err` a store
    /// failure.
    async fn extract(
        &self,
        episode_id: i64,
        daily: Option<&(u64, String)>,
        fence: &Fence,
    ) -> Result<Result<(String, usize, ExtractionReport), Failed>, PipelineError> {
        let Some(ep) = self.store.get_episode(episode_id).await? else {
            return Ok(Err(Failed::never(
                String::new(),
                format!("episode {episode_id} no longer exists"),
            )));
        };
        let title = ep.data.title.clone().unwrap_or_default();
        let Some(transcript) = self.store.get_transcript(episode_id).await? else {
            return Ok(Err(Failed::never(
                title,
                "the episode has no transcript".into(),
            )));
        };
        let feed = self.store.find_feed(&FeedKey::Id(ep.feed_id)).await?;
        let show = feed
            .as_ref()
            .map(|f| f.title.clone().unwrap_or_else(|| f.url.clone()))
            .unwrap_or_default();
        let chapters = self
            .store
            .get_chapters(episode_id)
            .await?
            .unwrap_or_default();
        let description = plain_description(ep.data.description.as_deref());
        // The episode's `podcast:person`s (the transcript's speaker labels are added by the
        // extractor).
        let speakers: Vec<String> = ep.data.persons.iter().map(|p| p.name.clone()).collect();
        let input = EpisodeInput {
            show: &show,
            title: &title,
            description: &description,
            speakers: &speakers,
            segments: &transcript.segments,
            chapters: &chapters,
            interests: &self.interests,
            cap: daily.map(|(tokens, name)| (*tokens, name.as_str())),
        };
        match extract_episode(self.llm.as_ref(), self.cache.as_ref(), &input, &self.cfg).await {
            Ok((insights, report)) => {
                let saved = self
                    .store
                    .save_extraction(
                        episode_id,
                        &self.llm.model_id(),
                        &insights,
                        &report,
                        Some(fence),
                        self.clock.now(),
                    )
                    .await;
                match saved {
                    Ok(_) => Ok(Ok((title, insights.len(), report))),
                    // Paused or slow past the lease: another worker has the job, and this
                    // result is dropped unwritten (the job's `fail` changes nothing either).
                    Err(e @ podsift_core::StoreError::LeaseLost(_)) => {
                        tracing::warn!(episode = episode_id, "{e}");
                        Ok(Err(Failed {
                            title,
                            error: e.to_string(),
                            retry: Retry::Later,
                        }))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            Err(e @ podsift_insights::ExtractError::CapSpent { .. }) => Ok(Err(Failed {
                title,
                error: format!("{e}; {CAP_SPENT}"),
                retry: Retry::Tomorrow,
            })),
            Err(e) => Ok(Err(Failed {
                title,
                error: e.to_string(),
                retry: if e.is_retryable() {
                    Retry::Later
                } else {
                    Retry::Never
                },
            })),
        }
    }
}

/// The publisher's description as plain text (it is HTML, and hostile: only its visible
/// text goes to the model, nothing of it is rendered), at most 4,000 characters.
fn plain_description(html: Option<&str>) -> String {
    podsift_transcripts::html_to_plain(html.unwrap_or_default(), 4000)
}

#[cfg(test)]
mod tests {
    #[test]
    fn descriptions_become_plain_text() {
        let d = super::plain_description(Some(
            "<p>Guest: <b>Ann Lee</b> &amp; friends.</p><script>alert(1)</script><p>Links</p>",
        ));
        assert_eq!(d, "Guest: Ann Lee & friends. Links");
        assert_eq!(super::plain_description(None), "");
    }
}
