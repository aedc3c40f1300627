//! 👍/👎 on a sent insight: stored per user and insight (the latest vote wins), read back by
//! the ranking to shift the user's profile.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::UserId;

/// One stored vote, with the insight's text and show (what the ranking embeds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    pub user_id: UserId,
    pub insight_id: i64,
    /// +1 (👍) or −1 (👎).
    pub vote: i8,
    pub created_at: DateTime<Utc>,
    pub text: String,
    pub podcast: String,
}
