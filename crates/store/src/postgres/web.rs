//! The web UI's tables (PostgreSQL): the SQLite statements with numbered placeholders, and
//! full-text search with `to_tsvector`/`plainto_tsquery` over the GIN expression indexes of
//! migration 0005.

use chrono::{DateTime, Utc};
use podsift_core::model::{EpisodeId, FeedId, UserId};
use podsift_core::store::StoreError;
use podsift_core::users::UserProfile;
use podsift_core::web::{
    DigestSummary, SearchHit, Session, ShowWeight, UserSettings, search_terms,
};

use super::PgStore;
use super::numbered;
use crate::convert::*;
use crate::error::map_sqlx_error;
use crate::rows::Columns;
use crate::users::{PROFILE_COLUMNS, profile_from_row};
use crate::web::*;

/// The same expressions as the indexes, so the planner can use them.
const INSIGHT_DOC: &str = "to_tsvector('english', i.text || ' ' || i.quote)";
const SEGMENT_DOC: &str = "to_tsvector('english', s.text)";

impl PgStore {
    pub(crate) async fn user_profile_impl(
        &self,
        user: UserId,
    ) -> Result<Option<UserProfile>, StoreError> {
        let sql =
            format!("SELECT {PROFILE_COLUMNS} FROM users WHERE id = $1 AND email IS NOT NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(profile_from_row).transpose()
    }

    pub(crate) async fn set_password_hash_impl(
        &self,
        user: UserId,
        hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(SET_PASSWORD_SQL)))
            .bind(hash)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn set_feed_token_impl(
        &self,
        user: UserId,
        token: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(SET_FEED_TOKEN_SQL)))
            .bind(token)
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn password_hash_impl(
        &self,
        email: &str,
    ) -> Result<Option<(UserId, Option<String>)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(numbered(PASSWORD_SQL)))
            .bind(email)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.map(|r| Ok((r.int("id")?, r.opt_text("password_hash")?)))
            .transpose()
    }

    pub(crate) async fn create_session_impl(
        &self,
        s: &Session,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        check_session(s)?;
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        sqlx::query(sqlx::AssertSqlSafe(numbered(PURGE_SESSIONS_SQL)))
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        sqlx::query(sqlx::AssertSqlSafe(numbered(INSERT_SESSION_SQL)))
            .bind(&s.token_hash)
            .bind(s.user_id)
            .bind(&s.csrf)
            .bind(ms(s.created_at))
            .bind(ms(s.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    pub(crate) async fn get_session_impl(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(numbered(GET_SESSION_SQL)))
            .bind(token_hash)
            .bind(ms(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(session_from_row).transpose()
    }

    pub(crate) async fn delete_session_impl(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(DELETE_SESSION_SQL)))
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn delete_user_sessions_impl(&self, user: UserId) -> Result<u64, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(DELETE_USER_SESSIONS_SQL)))
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn update_user_settings_impl(
        &self,
        user: UserId,
        s: &UserSettings,
    ) -> Result<bool, StoreError> {
        check_settings(s)?;
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(UPDATE_SETTINGS_SQL)))
            .bind(&s.time_zone)
            .bind(&s.delivery_time)
            .bind(i64::from(s.digest_size))
            .bind(&s.interests)
            .bind(to_json(&s.channels, "user channels")?)
            .bind(s.next_digest_at.map(ms))
            .bind(user)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn set_show_weight_impl(
        &self,
        user: UserId,
        feed: FeedId,
        weight: f64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sqlx::AssertSqlSafe(numbered(SET_WEIGHT_SQL)))
            .bind(clamp_weight(weight)?)
            .bind(user)
            .bind(feed)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn show_weights_impl(
        &self,
        user: UserId,
    ) -> Result<Vec<ShowWeight>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(numbered(WEIGHTS_SQL)))
            .bind(user)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(weight_from_row).collect()
    }

    pub(crate) async fn list_digests_impl(
        &self,
        user: UserId,
        max: usize,
    ) -> Result<Vec<DigestSummary>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(numbered(LIST_DIGESTS_SQL)))
            .bind(user)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(summary_from_row).collect()
    }

    pub(crate) async fn visible_insight_impl(
        &self,
        user: UserId,
        insight: i64,
    ) -> Result<Option<EpisodeId>, StoreError> {
        sqlx::query_scalar(sqlx::AssertSqlSafe(numbered(VISIBLE_INSIGHT_SQL)))
            .bind(insight)
            .bind(user)
            .bind(user)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    pub(crate) async fn search_impl(
        &self,
        user: UserId,
        query: &str,
        max: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let terms = search_terms(query);
        if terms.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        let q = terms.join(" ");
        let insights = sqlx::query(sqlx::AssertSqlSafe(numbered(&format!(
            "SELECT {HIT_COLUMNS}, i.id AS insight_id, i.text, i.quote, i.start_seconds \
             FROM insights i JOIN episodes e ON e.id = i.episode_id \
             JOIN feeds f ON f.id = e.feed_id \
             WHERE {INSIGHT_DOC} @@ plainto_tsquery('english', ?) AND {FOLLOWS} \
             ORDER BY ts_rank({INSIGHT_DOC}, plainto_tsquery('english', ?)) DESC, i.id LIMIT ?"
        ))))
        .bind(&q)
        .bind(user)
        .bind(&q)
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        let mut hits: Vec<SearchHit> =
            insights.iter().map(insight_hit).collect::<Result<_, _>>()?;
        let left = max.saturating_sub(hits.len());
        if left > 0 {
            let lines = sqlx::query(sqlx::AssertSqlSafe(numbered(&format!(
                "SELECT {HIT_COLUMNS}, s.text, s.start_seconds \
                 FROM segments s JOIN episodes e ON e.id = s.episode_id \
                 JOIN feeds f ON f.id = e.feed_id \
                 WHERE {SEGMENT_DOC} @@ plainto_tsquery('english', ?) AND {FOLLOWS} \
                 ORDER BY ts_rank({SEGMENT_DOC}, plainto_tsquery('english', ?)) DESC, \
                 s.episode_id, s.idx LIMIT ?"
            ))))
            .bind(&q)
            .bind(user)
            .bind(&q)
            .bind(limit(left))
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
            for r in &lines {
                hits.push(segment_hit(r)?);
            }
        }
        Ok(hits)
    }
}
