//! The web UI's tables, one body for both databases: password hashes, sessions, settings,
//! per-show weights, the digest archive and full-text search.
//!
//! Only search differs: SQLite matches its FTS5 tables (`insights_fts`, `segments_fts`, ranked
//! by FTS5's `rank`), PostgreSQL `to_tsvector`/`plainto_tsquery` over the GIN expression
//! indexes of migration 0005 (ranked by `ts_rank`). Both bind the same values in the same
//! order; every other statement is one SQL text.

use chrono::{DateTime, Utc};
use podsift_core::model::{EpisodeId, FeedId, UserId};
use podsift_core::store::StoreError;
use podsift_core::users::UserProfile;
use podsift_core::web::{
    DigestSummary, SHOW_WEIGHT_RANGE, SearchHit, SearchKind, Session, ShowWeight, UserSettings,
    search_terms,
};

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::map_sqlx_error;
use crate::rows::{Columns, reads_episode};
use crate::users::{PROFILE_COLUMNS, profile_from_row};

const SET_PASSWORD_SQL: &str =
    "UPDATE users SET password_hash = $1 WHERE id = $2 AND email IS NOT NULL";
const SET_FEED_TOKEN_SQL: &str =
    "UPDATE users SET feed_token = $1 WHERE id = $2 AND email IS NOT NULL";
const PASSWORD_SQL: &str = "SELECT id, password_hash FROM users WHERE email = $1";
const PURGE_SESSIONS_SQL: &str = "DELETE FROM sessions WHERE expires_at <= $1";
const INSERT_SESSION_SQL: &str = "INSERT INTO sessions \
     (token_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
const GET_SESSION_SQL: &str = "SELECT token_hash, user_id, csrf, created_at, \
     expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2";
const DELETE_SESSION_SQL: &str = "DELETE FROM sessions WHERE token_hash = $1";
const DELETE_USER_SESSIONS_SQL: &str = "DELETE FROM sessions WHERE user_id = $1";
const UPDATE_SETTINGS_SQL: &str = "UPDATE users SET time_zone = $1, delivery_time = $2, \
     digest_size = $3, interests = $4, channels = $5, next_digest_at = $6 \
     WHERE id = $7 AND email IS NOT NULL";
const SET_WEIGHT_SQL: &str =
    "UPDATE subscriptions SET weight = $1 WHERE user_id = $2 AND feed_id = $3";
const WEIGHTS_SQL: &str = "SELECT s.feed_id, COALESCE(f.title, f.url) AS podcast, \
     s.weight FROM subscriptions s JOIN feeds f ON f.id = s.feed_id WHERE s.user_id = $1 \
     ORDER BY s.feed_id";
const LIST_DIGESTS_SQL: &str = "SELECT d.id, d.day, d.created_at, \
     (SELECT COUNT(*) FROM digest_items di WHERE di.digest_id = d.id) AS n \
     FROM digests d WHERE d.user_id = $1 ORDER BY d.day DESC, d.id DESC LIMIT $2";

/// Binds: insight, user.
const VISIBLE_INSIGHT_SQL: &str = concat!(
    "SELECT i.episode_id FROM insights i \
     JOIN episodes e ON e.id = i.episode_id WHERE i.id = $1 AND (",
    reads_episode!(),
    " OR EXISTS (SELECT 1 FROM digest_items d WHERE d.user_id = $2 AND d.insight_id = i.id))"
);

/// The columns every search hit query returns (transcript lines give NULL insight fields).
const HIT_COLUMNS: &str = "e.id AS episode_id, COALESCE(e.title, '') AS episode, \
     COALESCE(f.title, f.url) AS podcast";
/// The user (bound as `$2` in both search statements) follows the episode's feed.
const FOLLOWS: &str = reads_episode!();

/// PostgreSQL: the same expressions as the GIN indexes, so the planner can use them.
const INSIGHT_DOC: &str = "to_tsvector('english', i.text || ' ' || i.quote)";
const SEGMENT_DOC: &str = "to_tsvector('english', s.text)";

fn session_from_row(row: &impl Columns) -> Result<Session, StoreError> {
    Ok(Session {
        token_hash: row.text("token_hash")?,
        user_id: row.int("user_id")?,
        csrf: row.text("csrf")?,
        created_at: from_ms(row.int("created_at")?)?,
        expires_at: from_ms(row.int("expires_at")?)?,
    })
}

fn check_session(s: &Session) -> Result<(), StoreError> {
    if s.token_hash.len() < 32 || s.csrf.len() < 16 {
        return Err(StoreError::Permanent(
            "session token hash or CSRF token too short".into(),
        ));
    }
    Ok(())
}

fn check_settings(s: &UserSettings) -> Result<(), StoreError> {
    if s.digest_size == 0 || s.digest_size > 50 {
        return Err(StoreError::Permanent("digest size must be 1..=50".into()));
    }
    Ok(())
}

fn clamp_weight(w: f64) -> Result<f64, StoreError> {
    if !w.is_finite() {
        return Err(StoreError::Permanent(format!(
            "show weight {w} is not a number"
        )));
    }
    Ok(w.clamp(*SHOW_WEIGHT_RANGE.start(), *SHOW_WEIGHT_RANGE.end()))
}

fn weight_from_row(row: &impl Columns) -> Result<ShowWeight, StoreError> {
    Ok(ShowWeight {
        feed_id: row.int("feed_id")?,
        podcast: row.text("podcast")?,
        weight: row.real("weight")?,
    })
}

fn summary_from_row(row: &impl Columns) -> Result<DigestSummary, StoreError> {
    let day = row.text("day")?;
    Ok(DigestSummary {
        id: row.int("id")?,
        date: day
            .parse()
            .map_err(|e| StoreError::Permanent(format!("digest day {day:?}: {e}")))?,
        insights: count(row.int("n")?, "digest size")?,
        created_at: from_ms(row.int("created_at")?)?,
    })
}

fn insight_hit(row: &impl Columns) -> Result<SearchHit, StoreError> {
    Ok(SearchHit {
        kind: SearchKind::Insight,
        episode_id: row.int("episode_id")?,
        episode: row.text("episode")?,
        podcast: row.text("podcast")?,
        insight_id: Some(row.int("insight_id")?),
        text: row.text("text")?,
        quote: Some(row.text("quote")?),
        start_seconds: row.real("start_seconds")?,
    })
}

fn segment_hit(row: &impl Columns) -> Result<SearchHit, StoreError> {
    Ok(SearchHit {
        kind: SearchKind::Transcript,
        episode_id: row.int("episode_id")?,
        episode: row.text("episode")?,
        podcast: row.text("podcast")?,
        insight_id: None,
        text: row.text("text")?,
        quote: None,
        start_seconds: row.real("start_seconds")?,
    })
}

/// FTS5 query: every term as a quoted string (no operators from the user), all required.
fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "")))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Db {
    pub(crate) async fn user_profile(
        &self,
        user: UserId,
    ) -> Result<Option<UserProfile>, StoreError> {
        let sql =
            format!("SELECT {PROFILE_COLUMNS} FROM users WHERE id = $1 AND email IS NOT NULL");
        db_run!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(user)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(profile_from_row).transpose()
        })
    }

    pub(crate) async fn set_password_hash(
        &self,
        user: UserId,
        hash: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = db_run!(self, |pool| sqlx::query(SET_PASSWORD_SQL)
            .bind(hash)
            .bind(user)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done == 1)
    }

    pub(crate) async fn set_feed_token(
        &self,
        user: UserId,
        token: &str,
    ) -> Result<bool, StoreError> {
        let done = db_run!(self, |pool| sqlx::query(SET_FEED_TOKEN_SQL)
            .bind(token)
            .bind(user)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done == 1)
    }

    pub(crate) async fn password_hash(
        &self,
        email: &str,
    ) -> Result<Option<(UserId, Option<String>)>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query(PASSWORD_SQL)
                .bind(email)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.map(|r| Ok((r.int("id")?, r.opt_text("password_hash")?)))
                .transpose()
        })
    }

    pub(crate) async fn create_session(
        &self,
        s: &Session,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        check_session(s)?;
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(PURGE_SESSIONS_SQL)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            sqlx::query(INSERT_SESSION_SQL)
                .bind(&s.token_hash)
                .bind(s.user_id)
                .bind(&s.csrf)
                .bind(ms(s.created_at))
                .bind(ms(s.expires_at))
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)
        })
    }

    pub(crate) async fn get_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query(GET_SESSION_SQL)
                .bind(token_hash)
                .bind(ms(now))
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(session_from_row).transpose()
        })
    }

    pub(crate) async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let done = db_run!(self, |pool| sqlx::query(DELETE_SESSION_SQL)
            .bind(token_hash)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done > 0)
    }

    pub(crate) async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        Ok(db_run!(self, |pool| sqlx::query(DELETE_USER_SESSIONS_SQL)
            .bind(user)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected()))
    }

    pub(crate) async fn update_user_settings(
        &self,
        user: UserId,
        s: &UserSettings,
    ) -> Result<bool, StoreError> {
        check_settings(s)?;
        let channels = to_json(&s.channels, "user channels")?;
        let done = db_run!(self, |pool| sqlx::query(UPDATE_SETTINGS_SQL)
            .bind(&s.time_zone)
            .bind(&s.delivery_time)
            .bind(i64::from(s.digest_size))
            .bind(&s.interests)
            .bind(&channels)
            .bind(s.next_digest_at.map(ms))
            .bind(user)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done == 1)
    }

    pub(crate) async fn set_show_weight(
        &self,
        user: UserId,
        feed: FeedId,
        weight: f64,
    ) -> Result<bool, StoreError> {
        let weight = clamp_weight(weight)?;
        let done = db_run!(self, |pool| sqlx::query(SET_WEIGHT_SQL)
            .bind(weight)
            .bind(user)
            .bind(feed)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done == 1)
    }

    pub(crate) async fn show_weights(&self, user: UserId) -> Result<Vec<ShowWeight>, StoreError> {
        db_run!(self, |pool| {
            let rows = sqlx::query(WEIGHTS_SQL)
                .bind(user)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(weight_from_row).collect()
        })
    }

    pub(crate) async fn list_digests(
        &self,
        user: UserId,
        max: usize,
    ) -> Result<Vec<DigestSummary>, StoreError> {
        db_run!(self, |pool| {
            let rows = sqlx::query(LIST_DIGESTS_SQL)
                .bind(user)
                .bind(limit(max))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(summary_from_row).collect()
        })
    }

    pub(crate) async fn visible_insight(
        &self,
        user: UserId,
        insight: i64,
    ) -> Result<Option<EpisodeId>, StoreError> {
        db_run!(self, |pool| sqlx::query_scalar::<_, EpisodeId>(
            VISIBLE_INSIGHT_SQL
        )
        .bind(insight)
        .bind(user)
        .fetch_optional(pool)
        .await
        .map_err(map_sqlx_error))
    }

    /// Insights first, then transcript lines, `max` hits in all. The one dialect arm: the
    /// full-text statements (see the module doc); both bind the query ($1), the user ($2,
    /// [`FOLLOWS`]) and the limit ($3).
    pub(crate) async fn search(
        &self,
        user: UserId,
        query: &str,
        max: usize,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let terms = search_terms(query);
        if terms.is_empty() || max == 0 {
            return Ok(Vec::new());
        }
        db_run!(self, |pool| {
            let (q, insights_sql, lines_sql) = if pool.is_pg() {
                (
                    terms.join(" "),
                    format!(
                        "SELECT {HIT_COLUMNS}, i.id AS insight_id, i.text, i.quote, \
                         i.start_seconds \
                         FROM insights i JOIN episodes e ON e.id = i.episode_id \
                         JOIN feeds f ON f.id = e.feed_id \
                         WHERE {INSIGHT_DOC} @@ plainto_tsquery('english', $1) AND {FOLLOWS} \
                         ORDER BY ts_rank({INSIGHT_DOC}, plainto_tsquery('english', $1)) DESC, \
                         i.id LIMIT $3"
                    ),
                    format!(
                        "SELECT {HIT_COLUMNS}, s.text, s.start_seconds \
                         FROM segments s JOIN episodes e ON e.id = s.episode_id \
                         JOIN feeds f ON f.id = e.feed_id \
                         WHERE {SEGMENT_DOC} @@ plainto_tsquery('english', $1) AND {FOLLOWS} \
                         ORDER BY ts_rank({SEGMENT_DOC}, plainto_tsquery('english', $1)) DESC, \
                         s.episode_id, s.idx LIMIT $3"
                    ),
                )
            } else {
                (
                    fts5_query(&terms),
                    format!(
                        "SELECT {HIT_COLUMNS}, i.id AS insight_id, i.text, i.quote, \
                         i.start_seconds \
                         FROM insights_fts JOIN insights i ON i.id = insights_fts.rowid \
                         JOIN episodes e ON e.id = i.episode_id JOIN feeds f ON f.id = e.feed_id \
                         WHERE insights_fts MATCH $1 AND {FOLLOWS} \
                         ORDER BY insights_fts.rank, i.id LIMIT $3"
                    ),
                    // A segments_fts rowid is episode_id * 2^20 + idx (migration 0005).
                    format!(
                        "SELECT {HIT_COLUMNS}, s.text, s.start_seconds \
                         FROM segments_fts JOIN segments s \
                           ON s.episode_id = (segments_fts.rowid >> 20) \
                          AND s.idx = (segments_fts.rowid & 1048575) \
                         JOIN episodes e ON e.id = s.episode_id JOIN feeds f ON f.id = e.feed_id \
                         WHERE segments_fts MATCH $1 AND {FOLLOWS} \
                         ORDER BY segments_fts.rank, s.episode_id, s.idx LIMIT $3"
                    ),
                )
            };
            let insights = sqlx::query(sqlx::AssertSqlSafe(insights_sql))
                .bind(&q)
                .bind(user)
                .bind(limit(max))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            let mut hits: Vec<SearchHit> =
                insights.iter().map(insight_hit).collect::<Result<_, _>>()?;
            let left = max.saturating_sub(hits.len());
            if left > 0 {
                let lines = sqlx::query(sqlx::AssertSqlSafe(lines_sql))
                    .bind(&q)
                    .bind(user)
                    .bind(limit(left))
                    .fetch_all(pool)
                    .await
                    .map_err(map_sqlx_error)?;
                for r in &lines {
                    hits.push(segment_hit(r)?);
                }
            }
            Ok(hits)
        })
    }
}
