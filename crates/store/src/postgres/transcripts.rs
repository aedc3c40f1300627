//! Transcripts (with their segments) and chapters (PostgreSQL).

use chrono::{DateTime, Utc};
use podsift_core::jobs::Fence;
use podsift_core::model::*;
use podsift_core::store::StoreError;
use sqlx::{Postgres, QueryBuilder};

use super::PgStore;
use crate::convert::*;
use crate::error::map_sqlx_error;
use crate::rows::{chapter_from_row, transcript_from_rows};
use crate::transcripts::{MAX_CHAPTERS, MAX_SEGMENTS, finite};

/// Rows per multi-row `INSERT` (6 to 8 bound values each; PostgreSQL allows 65 535 per
/// statement).
const INSERT_CHUNK: usize = 1000;

/// Lock the episode row for this transaction; false when there is no such episode. Two saves
/// of one episode's transcript (or chapters, or insights) then run one after the other
/// instead of colliding on the child rows' primary keys.
pub(super) async fn lock_episode(
    tx: &mut sqlx::Transaction<'static, Postgres>,
    episode: EpisodeId,
) -> Result<bool, StoreError> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM episodes WHERE id = $1 FOR NO KEY UPDATE")
            .bind(episode)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map_sqlx_error)?;
    Ok(id.is_some())
}

/// Refuses the write unless `fence`'s claim still holds its job. The job row is locked
/// (`FOR UPDATE`) to the end of the write's transaction, so a claim that would take the job
/// over waits for this write and a write never lands after a takeover.
pub(super) async fn check_fence(
    tx: &mut sqlx::Transaction<'static, Postgres>,
    fence: Option<&Fence>,
) -> Result<(), StoreError> {
    let Some(f) = fence else {
        return Ok(());
    };
    let sql = format!(
        "{} FOR UPDATE",
        super::numbered(crate::identity::FENCE_HELD)
    );
    let held: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(f.job)
        .bind(&f.worker)
        .bind(i64::from(f.attempt))
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx_error)?;
    held.map(|_| ())
        .ok_or_else(|| crate::identity::lease_lost(f))
}

impl PgStore {
    pub(crate) async fn save_transcript_impl(
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
        let mut tx = self.begin().await?;
        check_fence(&mut tx, fence).await?;
        if !lock_episode(&mut tx, t.episode_id).await? {
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
        for chunk in t.segments.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO segments (episode_id, idx, start_seconds, end_seconds, speaker, text) ",
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
    }

    pub(crate) async fn get_transcript_impl(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<Transcript>, StoreError> {
        // One snapshot so the transcript row and its segments are a consistent pair.
        let mut tx = self.begin_snapshot().await?;
        let row = sqlx::query(
            "SELECT source, language, skipped, created_at FROM transcripts WHERE episode_id = $1",
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
    }

    pub(crate) async fn save_chapters_impl(
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
        let mut tx = self.begin().await?;
        check_fence(&mut tx, fence).await?;
        if !lock_episode(&mut tx, episode).await? {
            return Err(StoreError::NotFound(format!("episode {episode}")));
        }
        sqlx::query("DELETE FROM chapters WHERE episode_id = $1")
            .bind(episode)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let mut idx: i64 = 0;
        for chunk in chapters.chunks(INSERT_CHUNK) {
            let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
                "INSERT INTO chapters (episode_id, idx, start_seconds, end_seconds, title, url, \
                 img, toc) ",
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
    }

    pub(crate) async fn get_chapters_impl(
        &self,
        episode: EpisodeId,
    ) -> Result<Option<Vec<Chapter>>, StoreError> {
        let mut tx = self.begin_snapshot().await?;
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
    }
}
