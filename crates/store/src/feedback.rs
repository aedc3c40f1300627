//! 👍/👎 feedback, one body for both databases.

use chrono::{DateTime, Utc};
use podsift_core::feedback::Feedback;
use podsift_core::model::UserId;
use podsift_core::store::StoreError;

use crate::convert::*;
use crate::db::{Db, db_run};
use crate::error::map_sqlx_error;
use crate::rows::Columns;

/// Insert only when the insight exists (no row written: `NotFound`), a second vote replaces
/// the first.
const RECORD_SQL: &str = "INSERT INTO feedback (user_id, insight_id, vote, created_at) \
     SELECT $1, id, $2, $3 FROM insights WHERE id = $4 \
     ON CONFLICT (user_id, insight_id) DO UPDATE SET vote = excluded.vote, created_at = excluded.created_at";

/// The vote is SMALLINT on PostgreSQL: widened so one row reader serves both.
const LIST_SQL: &str = "SELECT fb.user_id, fb.insight_id, CAST(fb.vote AS BIGINT) AS vote, \
     fb.created_at, i.text, \
     COALESCE(f.title, f.url) AS podcast \
     FROM feedback fb JOIN insights i ON i.id = fb.insight_id \
     JOIN episodes e ON e.id = i.episode_id JOIN feeds f ON f.id = e.feed_id \
     WHERE fb.user_id = $1 AND fb.created_at >= $2 ORDER BY fb.created_at, fb.insight_id";

fn check_vote(vote: i8) -> Result<(), StoreError> {
    if vote == 1 || vote == -1 {
        Ok(())
    } else {
        Err(StoreError::Permanent(format!(
            "a vote is +1 or -1, got {vote}"
        )))
    }
}

fn feedback_from_row(row: &impl Columns) -> Result<Feedback, StoreError> {
    Ok(Feedback {
        user_id: row.int("user_id")?,
        insight_id: row.int("insight_id")?,
        vote: if row.int("vote")? > 0 { 1 } else { -1 },
        created_at: from_ms(row.int("created_at")?)?,
        text: row.text("text")?,
        podcast: row.text("podcast")?,
    })
}

impl Db {
    pub(crate) async fn record_feedback(
        &self,
        user: UserId,
        insight: i64,
        vote: i8,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        check_vote(vote)?;
        let done = db_run!(self, |pool| sqlx::query(RECORD_SQL)
            .bind(user)
            .bind(i64::from(vote))
            .bind(ms(now))
            .bind(insight)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        if done == 0 {
            return Err(StoreError::NotFound(format!("insight {insight}")));
        }
        Ok(())
    }

    pub(crate) async fn list_feedback(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<Feedback>, StoreError> {
        db_run!(self, |pool| {
            let rows = sqlx::query(LIST_SQL)
                .bind(user)
                .bind(ms(since))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(feedback_from_row).collect()
        })
    }
}
