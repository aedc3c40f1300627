//! Insights, the LLM port, digests and the delivery channel port.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::EpisodeId;

/// One insight as extracted from an episode's transcript and grounded in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InsightDraft {
    /// 2–3 standalone sentences: a concrete claim and what it implies.
    pub text: String,
    /// A verbatim quote from the transcript (as it appears there).
    pub quote: String,
    /// Where the quote really is in the episode (from the transcript, not the model).
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub speaker: Option<String>,
    pub topics: Vec<String>,
    /// The model's own scores, 0–1.
    pub importance: f32,
    pub novelty: f32,
    pub specificity: f32,
    /// The chapter the quote falls in, when the episode has chapters.
    pub chapter: Option<String>,
    /// Fact, opinion or prediction (as the model labelled the claim).
    #[serde(default)]
    pub kind: Option<ClaimKind>,
    /// The editor's one-line reason for choosing it: what the reader is shown.
    #[serde(default)]
    pub reason: Option<String>,
    /// Further grounded quotes, when the editor combined claims (the first is `quote`).
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Its place in the episode editor's order (1 = the editor's best), when an editor wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor_rank: Option<u32>,
    /// Its figures and names were checked against its quotes and the windows they were read
    /// in (the ranker, which has only the quotes, takes that word for it).
    #[serde(default)]
    pub faithful_checked: bool,
}

/// What kind of claim an insight makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimKind {
    Fact,
    Opinion,
    Prediction,
}

impl ClaimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fact => "fact",
            Self::Opinion => "opinion",
            Self::Prediction => "prediction",
        }
    }

    /// Lenient: `"Fact"`, `"opinion "`, `"forecast"`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fact" | "facts" | "factual" => Some(Self::Fact),
            "opinion" | "view" | "claim" => Some(Self::Opinion),
            "prediction" | "forecast" | "predict" => Some(Self::Prediction),
            _ => None,
        }
    }
}

/// One more verbatim quote backing an insight, where it really is in the episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub quote: String,
    pub start_seconds: f64,
    pub end_seconds: f64,
    pub speaker: Option<String>,
    /// The episode the quote is from, when it is not the insight's own (a daily editor's
    /// connection across episodes).
    #[serde(default)]
    pub episode_id: Option<i64>,
}

/// An insight the checks refused, with why (shown in the extraction report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DroppedInsight {
    pub text: String,
    pub reason: String,
}

/// What extraction did for one episode (coverage, drops, cost): nothing is silent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtractionReport {
    pub windows_total: usize,
    pub windows_processed: usize,
    /// `(window index, reason)` for every window not sent to the model or whose answer was unusable.
    pub windows_skipped: Vec<(usize, String)>,
    pub ad_windows: usize,
    pub cached_windows: usize,
    pub insights_kept: usize,
    pub dropped_ungrounded: usize,
    pub merged: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// Share of the transcript's words that the model read (0–1).
    pub coverage: f64,
    /// Tokens of the whole transcript (estimate), for the send-everything baseline.
    pub transcript_tokens: u64,
    /// Words in the transcript, outside sponsor reads, and of those the words read.
    #[serde(default)]
    pub words_total: usize,
    #[serde(default)]
    pub words_ad: usize,
    #[serde(default)]
    pub words_read: usize,
    /// The cap in force, when one is (`episode_token_budget = 8000`); none: everything read.
    #[serde(default)]
    pub cap: Option<String>,
    /// Grounded claims the windows gave the editor.
    #[serde(default)]
    pub claims: usize,
    /// How the editor pass went (`wrote 5 insights from 14 claims`, or why it failed and the
    /// claims were kept as they are).
    #[serde(default)]
    pub editor: Option<String>,
    /// Insights refused by the checks (an invented figure or name), with the reason.
    #[serde(default)]
    pub dropped: Vec<DroppedInsight>,
    /// The engine's model calls (windows, repairs, the editor).
    #[serde(default)]
    pub calls: usize,
}

impl ExtractionReport {
    /// Share of the non-ad words read (0–1); 1 for an episode with nothing but ads.
    pub fn read_share(&self) -> f64 {
        let content = self.words_total.saturating_sub(self.words_ad);
        if self.words_total == 0 {
            return self.coverage;
        }
        if content == 0 {
            return 1.0;
        }
        (self.words_read as f64 / content as f64).min(1.0)
    }
}

/// What extraction spent since some time (for the daily caps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmSpend {
    pub prompt_tokens: u64,
    pub cost_usd: f64,
}

/// A stored insight, joined with its episode and show for ranking and rendering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateInsight {
    pub id: i64,
    pub episode_id: EpisodeId,
    pub feed_id: i64,
    pub podcast: String,
    pub episode: String,
    pub episode_link: Option<String>,
    pub audio_url: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub draft: InsightDraft,
    pub created_at: DateTime<Utc>,
    /// Why a reader got an episode they do not follow: "found for your topic 'home
    /// batteries': 0.71 match; trending #12 in Technology" (none for followed shows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_for: Option<String>,
}

// ---------------------------------------------------------------------------
// The LLM port
// ---------------------------------------------------------------------------

/// One chat completion request. Engines that support it constrain the answer to `json_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmRequest {
    pub system: String,
    pub user: String,
    pub json_schema: Option<serde_json::Value>,
    pub max_tokens: u32,
    pub temperature: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmResponse {
    pub text: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    #[error("rate limited by the model provider")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the model did not answer within {seconds}s")]
    Timeout { seconds: u64 },
    #[error("model server error {status}: {message}")]
    Server { status: u16, message: String },
    #[error("cannot reach the model: {0}")]
    Transport(String),
    #[error("the model's answer is unusable: {0}")]
    InvalidResponse(String),
    /// Bad key, unknown model, request refused: retrying will not help.
    #[error("model request refused: {0}")]
    Permanent(String),
}

impl LlmError {
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Timeout { .. }
                | Self::Server { .. }
                | Self::Transport(_)
                | Self::InvalidResponse(_)
        )
    }
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// The LLM port: OpenAI-compatible APIs, Anthropic, and podsift's own local runtime.
#[async_trait]
pub trait Llm: Send + Sync {
    /// A stable identifier of the engine and model, part of the cache key (`openai:gpt-4o-mini`).
    fn model_id(&self) -> String;
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError>;
}

// ---------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------

/// The digest's stable JSON shape (documented in the README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    pub date: NaiveDate,
    pub user: String,
    pub insights: Vec<DigestItem>,
    pub stats: DigestStats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    pub rank: usize,
    pub text: String,
    pub quote: String,
    pub podcast: String,
    pub episode: String,
    /// The episode's web page (publisher link), if any.
    pub episode_url: Option<String>,
    pub audio_url: Option<String>,
    pub start_seconds: f64,
    pub end_seconds: f64,
    /// The moment: `AUDIO_URL#t=SECONDS`.
    pub link: Option<String>,
    pub score: f64,
    pub reasons: Vec<String>,
    /// The stored insight's id (feedback, dedupe across days).
    pub insight_id: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DigestStats {
    pub episodes: usize,
    pub insights_considered: usize,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// Of the episodes, the non-ad words and those read (the footer's "read 100 % of 4
    /// episodes"), and how many were read in part because a cap was set.
    #[serde(default)]
    pub words_content: u64,
    #[serde(default)]
    pub words_read: u64,
    #[serde(default)]
    pub episodes_capped: usize,
    /// Why the digest holds fewer insights than its size, when it does ("3 of 5: 4
    /// candidates failed the register check, …; the digest is shorter rather than padded.").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
}

impl DigestStats {
    /// Share of the episodes' non-ad words that were read (1 when nothing is known).
    pub fn read_share(&self) -> f64 {
        if self.words_content == 0 {
            1.0
        } else {
            (self.words_read as f64 / self.words_content as f64).min(1.0)
        }
    }
}

/// A digest rendered for delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenderedDigest {
    pub subject: String,
    pub markdown: String,
    pub html: String,
    pub text: String,
    pub json: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// Server down, timeout, 4xx temporary SMTP reply: try again later.
    #[error("delivery failed, will retry: {0}")]
    Temporary(String),
    /// Bad address, authentication refused, misconfiguration.
    #[error("delivery failed: {0}")]
    Permanent(String),
}

impl DeliveryError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Temporary(_))
    }
}

/// The channel port: email, a file, webhooks later.
#[async_trait]
pub trait Channel: Send + Sync {
    /// Stable name of the channel instance (`email:me@example.com`, `file:/path`).
    fn name(&self) -> String;
    /// Deliver; `idempotency_key` is stable per (digest, channel) (e.g. the email Message-ID).
    /// Returns a receipt (a message id, a path).
    async fn deliver(
        &self,
        digest: &Digest,
        rendered: &RenderedDigest,
        idempotency_key: &str,
    ) -> Result<String, DeliveryError>;
}

/// A cache of model answers keyed by (window text hash, model, prompt version), so a rerun
/// costs nothing. The store implements it; tests use an in-memory map.
#[async_trait]
pub trait LlmCache: Send + Sync {
    async fn get(&self, key: &str) -> Option<LlmResponse>;
    async fn put(&self, key: &str, response: &LlmResponse);
}

/// One (digest, channel) delivery in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub digest_id: i64,
    pub user_id: i64,
    pub channel: String,
    /// `pending`, `sending`, `sent` or `dead`.
    pub state: String,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub receipt: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    Sent {
        receipt: String,
    },
    /// Retry at `retry_at`.
    Retry {
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// Give up (permanent error or attempts exhausted).
    Dead {
        error: String,
    },
}
