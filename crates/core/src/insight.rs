//! Insights, the LLM port, digests and the delivery channel port.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::EpisodeId;

/// One insight as extracted from an episode's transcript and grounded in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
