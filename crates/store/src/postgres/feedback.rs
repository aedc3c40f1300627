//! 👍/👎 feedback (PostgreSQL): the SQLite statements with numbered placeholders.

use chrono::{DateTime, Utc};
use podsift_core::feedback::Feedback;
use podsift_core::model::UserId;
use podsift_core::store::StoreError;

use super::PgStore;
use crate::convert::*;
use crate::error::map_sqlx_error;
use crate::feedback::{LIST_SQL, RECORD_SQL, check_vote, feedback_from_row};

/// `?` → `$1`, `$2`, … (the statements hold no literal question marks).
pub(super) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(ch);
        }
    }
    out
}

impl PgStore {
    pub(crate) async fn record_feedback_impl(
        &self,
        user: UserId,
        insight: i64,
        vote: i8,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        check_vote(vote)?;
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(RECORD_SQL)))
            .bind(user)
            .bind(i16::from(vote))
            .bind(ms(now))
            .bind(insight)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("insight {insight}")));
        }
        Ok(())
    }

    pub(crate) async fn list_feedback_impl(
        &self,
        user: UserId,
        since: DateTime<Utc>,
    ) -> Result<Vec<Feedback>, StoreError> {
        // The vote column is SMALLINT: widened so one row reader serves both stores.
        let sql = numbered(LIST_SQL).replace("fb.vote,", "fb.vote::BIGINT AS vote,");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(ms(since))
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(feedback_from_row).collect()
    }
}
