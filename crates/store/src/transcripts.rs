//! Transcripts (with their segments) and chapters. One body for both databases (see
//! [`crate::db`]). What differs: a write locks the episode row on PostgreSQL
//! (`lock_episode!`, `FOR NO KEY UPDATE`), so two saves of one episode's transcript (or
//! chapters, or insights) run one after the other instead of colliding on the child rows'
//! primary keys; SQLite's write transaction (`BEGIN IMMEDIATE`) serialises them already. The
//! reads run in one snapshot (PostgreSQL: REPEATABLE READ) so a transcript row and its
//! segments are a consistent pair. Rows per multi-row `INSERT` differ with the databases'
//! limits on bound values.

use chrono::{DateTime, Utc};
use podsift_core::jobs::Fence;
use podsift_core::model::*;
use podsift_core::store::StoreError;
use sqlx::QueryBuilder;

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::map_sqlx_error;
use crate::identity::check_fence;
use crate::rows::{chapter_from_row, transcript_from_rows};

/// Most segments accepted for one transcript (a 10-hour episode cut every second is 36 000).
pub const MAX_SEGMENTS: usize = 1_000_000;
/// Most chapters accepted for one episode.
pub const MAX_CHAPTERS: usize = 10_000;

/// Rows per multi-row `INSERT` (6 to 8 bound values each): 500 on SQLite (far below its
/// variable limit), 1000 on PostgreSQL (65 535 bound values per statement).
fn insert_chunk<P: Backend>(pool: &P) -> usize {
    if pool.is_pg() { 1000 } else { 500 }
}

/// A multi-row `INSERT` builder for `pool`'s database (its type differs per `db_run!` arm;
/// it writes each database's own placeholders).
fn insert_builder<P: Backend>(_pool: &P, init: &str) -> QueryBuilder<P::Database> {
    QueryBuilder::new(init)
}

pub(crate) fn finite(v: f64, what: &str) -> Result<f64, StoreError> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(StoreError::Permanent(format!(
            "{what} is not a finite number"
        )))
    }
}

/// `lock_episode!(pool, tx, episode)`: `Ok(false)` when there is no such episode, checked
/// inside the write's transaction `tx` (pass the transaction value). On PostgreSQL the
/// episode row stays locked (`FOR NO KEY UPDATE`) to the end of the transaction, so two
/// saves of one episode's transcript (or chapters, or insights: `insights.rs` uses it too) run one after the other
/// instead of colliding on the child rows' primary keys; on SQLite the write transaction
/// holds the only write lock already. A macro: `tx` is a transaction of either database.
macro_rules! lock_episode {
    ($pool:expr, $tx:expr, $episode:expr) => {{
        let sql = format!(
            "SELECT id FROM episodes WHERE id = $1{}",
            $crate::db::Backend::for_no_key_update($pool)
        );
        let id: Result<Option<i64>, podsift_core::store::StoreError> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind($episode)
                .fetch_optional(&mut *$tx)
                .await
                .map_err($crate::error::map_sqlx_error);
        id.map(|id| id.is_some())
    }};
}
pub(crate) use lock_episode;

impl Db {
    pub(crate) async fn save_transcript(
        &self,
        t: &Transcript,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        if t.segments.len() > MAX_SEGMENTS {
            return Err(StoreError::Permanent(format!(
                "{} segments (limit {MAX_SEGMENTS})",
                t.segments.len()
            )));
        }
        for s in &t.segments {
            finite(s.start, "segment start")?;
            finite(s.end, "segment end")?;
        }
        let source = to_json(&t.source, "transcript source")?;
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            check_fence!(pool, tx, fence)?;
            if !lock_episode!(pool, tx, t.episode_id)? {
                return Err(StoreError::NotFound(format!("episode {}", t.episode_id)));
            }
            sqlx::query("DELETE FROM segments WHERE episode_id = $1")
                .bind(t.episode_id)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            sqlx::query(
                "INSERT INTO transcripts (episode_id, source, language, skipped, segment_count, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (episode_id) DO UPDATE SET source = excluded.source, \
                 language = excluded.language, skipped = excluded.skipped, \
                 segment_count = excluded.segment_count, created_at = excluded.created_at",
            )
            .bind(t.episode_id)
            .bind(&source)
            .bind(&t.language)
            .bind(to_i64(t.skipped, "skipped")?)
            .bind(to_i64(t.segments.len(), "segment count")?)
            .bind(ms(t.created_at))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            let mut idx: i64 = 0;
            for chunk in t.segments.chunks(insert_chunk(pool)) {
                let mut qb = insert_builder(
                    pool,
                    "INSERT INTO segments (episode_id, idx, start_seconds, end_seconds, speaker, \
                     text) ",
                );
                qb.push_values(chunk, |mut b, s| {
                    b.push_bind(t.episode_id)
                        .push_bind(idx)
                        .push_bind(s.start)
                        .push_bind(s.end)
                        .push_bind(s.speaker.clone())
                        .push_bind(s.text.clone());
                    idx += 1;
                });
                qb.build().execute(&mut *tx).await.map_err(map_sqlx_error)?;
            }
            tx.commit().await.map_err(map_sqlx_error)
        })
    }

    pub(crate) async fn get_transcript(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<Transcript>, StoreError> {
        db_run!(self, |pool| {
            // One snapshot so the transcript row and its segments are a consistent pair.
            let mut tx = pool.begin_read().await?;
            let row = sqlx::query(
                "SELECT source, language, skipped, created_at FROM transcripts \
                 WHERE episode_id = $1",
            )
            .bind(episode)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let rows = sqlx::query(
                "SELECT start_seconds, end_seconds, speaker, text FROM segments \
                 WHERE episode_id = $1 ORDER BY idx",
            )
            .bind(episode)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)?;
            transcript_from_rows(episode, &row, &rows).map(Some)
        })
    }

    pub(crate) async fn save_chapters(
        &self,
        episode: EpisodeId,
        chapters: &[Chapter],
        fence: Option<&Fence>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if chapters.len() > MAX_CHAPTERS {
            return Err(StoreError::Permanent(format!(
                "{} chapters (limit {MAX_CHAPTERS})",
                chapters.len()
            )));
        }
        for c in chapters {
            finite(c.start_seconds, "chapter start")?;
            if let Some(end) = c.end_seconds {
                finite(end, "chapter end")?;
            }
        }
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            check_fence!(pool, tx, fence)?;
            if !lock_episode!(pool, tx, episode)? {
                return Err(StoreError::NotFound(format!("episode {episode}")));
            }
            sqlx::query("DELETE FROM chapters WHERE episode_id = $1")
                .bind(episode)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let mut idx: i64 = 0;
            for chunk in chapters.chunks(insert_chunk(pool)) {
                let mut qb = insert_builder(
                    pool,
                    "INSERT INTO chapters (episode_id, idx, start_seconds, end_seconds, title, \
                     url, img, toc) ",
                );
                qb.push_values(chunk, |mut b, c| {
                    b.push_bind(episode)
                        .push_bind(idx)
                        .push_bind(c.start_seconds)
                        .push_bind(c.end_seconds)
                        .push_bind(c.title.clone())
                        .push_bind(c.url.clone())
                        .push_bind(c.img.clone())
                        .push_bind(c.toc);
                    idx += 1;
                });
                qb.build().execute(&mut *tx).await.map_err(map_sqlx_error)?;
            }
            sqlx::query("UPDATE episodes SET chapters_saved_at = $1 WHERE id = $2")
                .bind(ms(now))
                .bind(episode)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)
        })
    }

    pub(crate) async fn get_chapters(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<Vec<Chapter>>, StoreError> {
        db_run!(self, |pool| {
            // One snapshot so the saved mark and the chapter rows agree.
            let mut tx = pool.begin_read().await?;
            let saved: Option<Option<i64>> =
                sqlx::query_scalar("SELECT chapters_saved_at FROM episodes WHERE id = $1")
                    .bind(episode)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            if saved.flatten().is_none() {
                return Ok(None);
            }
            let rows = sqlx::query(
                "SELECT start_seconds, end_seconds, title, url, img, toc FROM chapters \
                 WHERE episode_id = $1 ORDER BY idx",
            )
            .bind(episode)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)?;
            rows.iter()
                .map(chapter_from_row)
                .collect::<Result<Vec<_>, StoreError>>()
                .map(Some)
        })
    }
}
