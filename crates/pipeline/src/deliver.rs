//! The daily digest: choose, store with its outbox (one transaction), deliver each channel
//! at most once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use podsift_core::{
    Channel, DeliveryOutcome, Digest, DigestStats, Store, UserId, config::DigestConfig,
};
use serde::Serialize;

use crate::{PipelineError, SharedClock};

/// How long a `sending` delivery may stay unfinished before it counts as crashed and is
/// retried (with the same idempotency key, e.g. the same email Message-ID).
pub const STALE_SEND: Duration = Duration::from_secs(15 * 60);
/// Delivery attempts before a channel is given up for that digest.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 6;

/// When failed and interrupted sends are tried again (`[service]` in the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// A `sending` row older than this counts as crashed and is sent again.
    pub stale_send: Duration,
    /// The wait after the first failed attempt; each further one waits 4x longer.
    pub retry_base: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            stale_send: STALE_SEND,
            retry_base: Duration::from_secs(60),
        }
    }
}

impl DeliveryPolicy {
    /// The wait before attempt `attempts + 1`: base · 4^attempts (4 min, 16 min, … with
    /// the default base), capped at 4^5 · base.
    pub fn retry_after(&self, attempts: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << (2 * attempts.min(5)))
    }
}
/// How far back a first digest looks for insights.
pub const FIRST_DIGEST_LOOKBACK_DAYS: i64 = 7;

/// The result of `make_digest`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum DigestOutcome {
    /// No digest, no email; `why` says what there was (nothing unsent in the look-back
    /// window, or candidates of which none could be picked, and why).
    NothingNew {
        why: String,
    },
    /// Today's digest was already made (a rerun): it is not made or sent again.
    Existing {
        id: i64,
        digest: Digest,
    },
    Created {
        id: i64,
        digest: Digest,
    },
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryResult {
    Sent,
    /// Failed; tried again later.
    Retry,
    /// Given up (a permanent error, or the last attempt).
    Dead,
}

impl DeliveryResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retry => "retry",
            Self::Dead => "dead",
        }
    }
}

/// What one delivery attempt did.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryReport {
    pub delivery_id: i64,
    pub channel: String,
    pub result: DeliveryResult,
    pub detail: String,
}

pub struct Digester {
    store: Arc<dyn Store>,
    clock: SharedClock,
    cfg: DigestConfig,
    channels: Vec<Arc<dyn Channel>>,
    /// The embeddings engine; `None`: the simple selection.
    ranker: Option<crate::Ranker>,
    /// Signs the 👍/👎 links (they appear only with `digest.base_url` too).
    feedback_secret: Option<Vec<u8>>,
    policy: DeliveryPolicy,
    /// The daily editor across episodes (`None`: off).
    daily: Option<crate::DailyEditor>,
}

impl Digester {
    pub fn new(
        store: Arc<dyn Store>,
        clock: SharedClock,
        cfg: DigestConfig,
        channels: Vec<Arc<dyn Channel>>,
    ) -> Self {
        Self {
            store,
            clock,
            cfg,
            channels,
            ranker: None,
            feedback_secret: None,
            policy: DeliveryPolicy::default(),
            daily: None,
        }
    }

    /// Run the daily editor over the reader's candidates before ranking them.
    pub fn with_daily_editor(mut self, daily: crate::DailyEditor) -> Self {
        self.daily = Some(daily);
        self
    }

    /// When failed and interrupted sends are retried.
    pub fn with_delivery_policy(mut self, policy: DeliveryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Put signed 👍/👎 links in delivered digests (when `digest.base_url` is set).
    pub fn with_feedback_secret(mut self, secret: Vec<u8>) -> Self {
        self.feedback_secret = Some(secret);
        self
    }

    /// Choose with the embeddings engine (`[ranking] engine = "embeddings"`) instead of the
    /// simple selection.
    pub fn with_ranker(mut self, ranker: crate::Ranker) -> Self {
        self.ranker = Some(ranker);
        self
    }

    /// Make the user's digest for `date` from the insights they have not been sent, with one
    /// outbox row per configured channel. Idempotent per (user, date).
    pub async fn make_digest(
        &self,
        user: UserId,
        date: NaiveDate,
    ) -> Result<DigestOutcome, PipelineError> {
        if let Some((id, digest)) = self.store.get_digest(user, date).await? {
            return Ok(DigestOutcome::Existing { id, digest });
        }
        let now = self.clock.now();
        let since = now - chrono::Duration::days(FIRST_DIGEST_LOOKBACK_DAYS);
        let mut candidates = self.store.insight_candidates(user, since).await?;
        if let Some(daily) = &self.daily
            && daily
                .run(self.store.as_ref(), user, date, now, &candidates)
                .await
        {
            candidates = self.store.insight_candidates(user, since).await?;
        }
        if candidates.is_empty() {
            let why = format!(
                "no insight from the shows you follow, made in the last {FIRST_DIGEST_LOOKBACK_DAYS} days, that you have not been sent"
            );
            tracing::info!(user, %date, why, "no digest");
            return Ok(DigestOutcome::NothingNew { why });
        }
        // One ranking for both engines; without a configured one, the words-only engine
        // with the digest's per-show cap.
        let fallback;
        let ranker = match &self.ranker {
            Some(r) => r,
            None => {
                fallback = crate::Ranker::words_only(podsift_core::config::RankingConfig {
                    max_per_show: self.cfg.max_per_show,
                    ..Default::default()
                });
                &fallback
            }
        };
        let crate::rank::Picked { picks, short } = ranker
            .pick(
                self.store.as_ref(),
                user,
                date,
                &candidates,
                self.cfg.size,
                now,
            )
            .await?;
        let episodes: BTreeSet<i64> = candidates.iter().map(|c| c.episode_id).collect();
        if picks.is_empty() {
            let why = format!(
                "{} insight(s) from {} episode(s), none could be picked{}",
                candidates.len(),
                episodes.len(),
                short.map(|s| format!(": {s}")).unwrap_or_default()
            );
            tracing::info!(user, %date, why, "no digest");
            return Ok(DigestOutcome::NothingNew { why });
        }
        let mut stats = DigestStats {
            episodes: episodes.len(),
            insights_considered: candidates.len(),
            short,
            ..DigestStats::default()
        };
        for ep in &episodes {
            if let Some((_, r)) = self.store.get_extraction(*ep).await? {
                stats.prompt_tokens += r.prompt_tokens;
                stats.completion_tokens += r.completion_tokens;
                stats.cost_usd += r.cost_usd;
                // The footer's "read 100 % of 4 episodes" (and how many a cap cut short).
                podsift_digest::coverage::add_episode(&mut stats, &r);
            }
        }
        let user_name = self
            .store
            .get_user(user)
            .await?
            .map(|u| u.name)
            .unwrap_or_else(|| user.to_string());
        let digest = podsift_digest::build_digest(
            date,
            &user_name,
            &picks,
            stats,
            self.cfg.base_url.as_deref(),
        );
        let names: Vec<String> = self.channels.iter().map(|c| c.name()).collect();
        let (id, created) = self.store.create_digest(user, &digest, &names, now).await?;
        Ok(if created {
            DigestOutcome::Created { id, digest }
        } else {
            // Another process made it between our check and our write.
            match self.store.digest_by_id(id).await? {
                Some(digest) => DigestOutcome::Existing { id, digest },
                None => DigestOutcome::Existing { id, digest },
            }
        })
    }

    /// Deliver every due outbox row whose channel is configured. A row is marked `sending`
    /// before the send and `sent` with its receipt after, so a rerun never sends twice; a
    /// failure is retried with backoff; a send interrupted by a crash is retried after
    /// [`STALE_SEND`] with the same idempotency key.
    pub async fn deliver_pending(
        &self,
        mut on_delivery: impl FnMut(&DeliveryReport),
    ) -> Result<Vec<DeliveryReport>, PipelineError> {
        let by_name: HashMap<String, &Arc<dyn Channel>> =
            self.channels.iter().map(|c| (c.name(), c)).collect();
        let mut reports = Vec::new();
        for d in self
            .store
            .due_deliveries(self.clock.now(), self.policy.stale_send)
            .await?
        {
            let Some(channel) = by_name.get(&d.channel) else {
                tracing::debug!(channel = %d.channel, "outbox row for a channel not configured here");
                continue;
            };
            if !self
                .store
                .start_delivery(d.id, self.clock.now(), self.policy.stale_send)
                .await?
            {
                continue;
            }
            let Some(digest) = self.store.digest_by_id(d.digest_id).await? else {
                continue;
            };
            let links = match (&self.feedback_secret, self.cfg.base_url.as_deref()) {
                (Some(secret), Some(base)) => {
                    podsift_digest::FeedbackLinks::new(base, secret, d.user_id)
                }
                _ => None,
            };
            let rendered = podsift_digest::render_with_feedback(&digest, links.as_ref())
                .map_err(|e| PipelineError::Render(e.to_string()))?;
            let key = format!("digest-{}-{}", d.digest_id, d.id);
            let attempts = d.attempts + 1;
            let (outcome, result, detail) = match channel.deliver(&digest, &rendered, &key).await {
                Ok(receipt) => (
                    DeliveryOutcome::Sent {
                        receipt: receipt.clone(),
                    },
                    DeliveryResult::Sent,
                    receipt,
                ),
                Err(e) if e.is_retryable() && attempts < MAX_DELIVERY_ATTEMPTS => {
                    let wait = chrono::Duration::from_std(self.policy.retry_after(attempts))
                        .unwrap_or(chrono::Duration::MAX);
                    (
                        DeliveryOutcome::Retry {
                            error: e.to_string(),
                            retry_at: self.clock.now() + wait,
                        },
                        DeliveryResult::Retry,
                        e.to_string(),
                    )
                }
                Err(e) => (
                    DeliveryOutcome::Dead {
                        error: e.to_string(),
                    },
                    DeliveryResult::Dead,
                    e.to_string(),
                ),
            };
            self.store
                .finish_delivery(d.id, &outcome, self.clock.now())
                .await?;
            let rep = DeliveryReport {
                delivery_id: d.id,
                channel: d.channel.clone(),
                result,
                detail,
            };
            on_delivery(&rep);
            reports.push(rep);
        }
        Ok(reports)
    }
}
