//! Users of a multi-user install (`podsift users add`, `podsift serve`): each has a delivery
//! schedule in their own time zone, a digest size, interests, delivery channels and a private
//! feed token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::UserId;

/// Where a user's digest goes. Stored as JSON with the user; secrets included (the database
/// is trusted), so `Debug` of a profile must not be logged at info level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChannelSpec {
    /// A signed JSON POST (`X-Podsift-Signature`, HMAC-SHA256 with `secret`).
    Webhook { url: String, secret: String },
    /// A Slack incoming webhook.
    Slack { url: String },
    /// A Discord webhook.
    Discord { url: String },
}

impl ChannelSpec {
    /// `webhook`, `slack` or `discord`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook { .. } => "webhook",
            Self::Slack { .. } => "slack",
            Self::Discord { .. } => "discord",
        }
    }
}

/// A new user, as `podsift users add` validated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserProfile {
    /// Unique; also the user's name.
    pub email: String,
    /// IANA time zone name (`Europe/Berlin`).
    pub time_zone: String,
    /// Local delivery time, `HH:MM`.
    pub delivery_time: String,
    /// Insights per digest.
    pub digest_size: u32,
    /// Free text (topics the user cares about).
    pub interests: Option<String>,
    pub channels: Vec<ChannelSpec>,
    /// The first scheduled digest instant.
    pub next_digest_at: Option<DateTime<Utc>>,
    /// The secret in the private feed URL (`/feeds/{token}.atom`).
    pub feed_token: String,
}

/// A stored user with a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserProfile {
    pub id: UserId,
    pub email: String,
    pub time_zone: String,
    pub delivery_time: String,
    pub digest_size: u32,
    pub interests: Option<String>,
    pub channels: Vec<ChannelSpec>,
    /// When the next digest is due (`None`: not scheduled).
    pub next_digest_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing)]
    pub feed_token: String,
    pub created_at: DateTime<Utc>,
}

/// Counts for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceCounts {
    /// `(kind, state, count)` of the job queue.
    pub jobs: Vec<(String, String, i64)>,
    /// Feeds with at least one subscriber.
    pub feeds: i64,
    pub digests: i64,
    /// `(state, count)` of the delivery outbox (`pending`, `sending`, `sent`, `dead`).
    pub deliveries: Vec<(String, i64)>,
}
