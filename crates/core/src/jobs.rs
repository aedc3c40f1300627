//! Jobs: every pipeline stage is a job in the store's queue, claimed with a lease so several
//! worker processes can share one database and a crash never loses work.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub type JobId = i64;

/// The kinds of work; serialised as in the store and `podsift jobs` (`extract_insights`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Download and parse the publisher transcript of an episode.
    FetchTranscript,
    /// Download and parse the `podcast:chapters` JSON of an episode.
    FetchChapters,
    /// Extract insights from an episode's transcript with the LLM.
    ExtractInsights,
    /// Download an episode's audio and transcribe it (no usable publisher transcript).
    Transcribe,
    /// Fetch and validate a feed a user added on the web, then subscribe them (in the
    /// background, not inside their request).
    Subscribe,
}

impl JobKind {
    pub const ALL: &'static [JobKind] = &[
        JobKind::FetchTranscript,
        JobKind::FetchChapters,
        JobKind::ExtractInsights,
        JobKind::Transcribe,
        JobKind::Subscribe,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FetchTranscript => "fetch_transcript",
            Self::FetchChapters => "fetch_chapters",
            Self::ExtractInsights => "extract_insights",
            Self::Transcribe => "transcribe",
            Self::Subscribe => "subscribe",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting to run at or after `run_after`.
    Queued,
    /// Claimed by a worker whose lease has not expired.
    Running,
    Done,
    /// Failed `max_attempts` times or permanently; visible and retryable by hand.
    Dead,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "done" => Some(Self::Done),
            "dead" => Some(Self::Dead),
            _ => None,
        }
    }
}

/// A job to enqueue. `dedupe_key` is unique among jobs that are not done or dead, so enqueuing
/// the same work twice is a no-op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub kind: JobKind,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    pub run_after: DateTime<Utc>,
    pub max_attempts: u32,
}

impl NewJob {
    /// The usual job for an episode: `kind:episode_id`, 5 attempts.
    pub fn for_episode(kind: JobKind, episode_id: i64, now: DateTime<Utc>) -> Self {
        Self {
            kind,
            dedupe_key: format!("{}:{episode_id}", kind.as_str()),
            payload: serde_json::json!({ "episode_id": episode_id }),
            run_after: now,
            max_attempts: 5,
        }
    }

    pub fn episode_id(&self) -> Option<i64> {
        self.payload.get("episode_id").and_then(|v| v.as_i64())
    }

    /// A user's feed to add in the background ([`JobKind::Subscribe`]): keyed by the user and
    /// the URL as given, so adding it again while it is pending is a no-op; 3 attempts (a
    /// feed that is not one fails for good at once).
    pub fn subscribe(user: i64, url: &str, now: DateTime<Utc>) -> Self {
        Self {
            kind: JobKind::Subscribe,
            dedupe_key: format!("{}{url}", subscribe_key_prefix(user)),
            payload: serde_json::json!({ "user_id": user, "url": url }),
            run_after: now,
            max_attempts: 3,
        }
    }
}

/// The start of every dedupe key of `user`'s [`JobKind::Subscribe`] jobs.
pub fn subscribe_key_prefix(user: i64) -> String {
    format!("subscribe:{user}:")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// Attempts started so far (incremented on claim).
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Job {
    pub fn episode_id(&self) -> Option<i64> {
        self.payload.get("episode_id").and_then(|v| v.as_i64())
    }

    /// A [`JobKind::Subscribe`] job's user and URL.
    pub fn subscription(&self) -> Option<(i64, &str)> {
        let user = self.payload.get("user_id")?.as_i64()?;
        let url = self.payload.get("url")?.as_str()?;
        Some((user, url))
    }

    /// The fence for this claim by `worker`: what its result's writes must still hold.
    pub fn fence(&self, worker: &str) -> Fence {
        Fence {
            job: self.id,
            worker: worker.to_string(),
            attempt: self.attempts,
        }
    }
}

/// A claimed job's lease as a write fence: a job's result is written only while its job is
/// still running under this worker *and this claim* (`attempt`, incremented by every claim,
/// is the lease's generation), checked in the write's own transaction. A worker that was
/// paused or slow past its lease, whose job another worker took over, writes nothing: its
/// write fails with [`crate::StoreError::LeaseLost`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub job: JobId,
    pub worker: String,
    pub attempt: u32,
}

/// What one run of a job came to (reports of every stage). Serialised as the job state it
/// leaves behind: `done`, `queued` (retried later) or `dead`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobOutcome {
    #[serde(rename = "done")]
    Done,
    /// Failed this time; queued again after a backoff.
    #[serde(rename = "queued")]
    Retrying,
    /// Gave up: failed permanently or on its last attempt (`podsift jobs --retry`).
    #[serde(rename = "dead")]
    Dead,
}

impl JobOutcome {
    /// The outcome of a failed attempt, from the state [`crate::Store::fail`] left.
    pub fn after_failure(state: JobState) -> Self {
        if state == JobState::Dead {
            Self::Dead
        } else {
            Self::Retrying
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retrying => "queued",
            Self::Dead => "dead",
        }
    }
}

/// The work of some job kinds, as a worker would see it now ([`crate::Store::job_backlog`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobBacklog {
    /// Claimable now: queued and due, or running under a lease that expired (its worker
    /// vanished) and not yet at the end of its crash allowance.
    pub runnable: u64,
    /// Running under a live lease (another worker has it; done or runnable again soon).
    pub leased: u64,
}

/// How a failed attempt should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Try again after a backoff (dead once attempts reach max_attempts).
    Retryable,
    /// Never going to work: dead now.
    Permanent,
}

/// Job retry backoff: 1 min · 4^(attempts-1), capped at 6 h; `Retry-After` when longer.
pub fn job_backoff(attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exp = attempts.saturating_sub(1).min(10);
    let secs = 60u64.saturating_mul(4u64.saturating_pow(exp)).min(6 * 3600);
    Duration::from_secs(secs).max(retry_after.unwrap_or_default())
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn job_backoff_grows_and_caps() {
        assert_eq!(job_backoff(1, None), Duration::from_secs(60));
        assert_eq!(job_backoff(2, None), Duration::from_secs(240));
        assert_eq!(job_backoff(50, None), Duration::from_secs(6 * 3600));
        assert_eq!(
            job_backoff(1, Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
    }
}
