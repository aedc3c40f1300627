//! Episodes (PostgreSQL): upsert by identity with the first-import rule, and listings.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use podsift_core::model::*;
use podsift_core::store::StoreError;

use super::PgStore;
use crate::convert::*;
use crate::episodes::{MAX_UPSERT_BATCH, first_import_candidates};
use crate::error::map_sqlx_error;
use crate::rows::{episode_from_row, episode_order, episode_select};

impl PgStore {
    pub(crate) async fn upsert_episodes_impl(
        &self,
        feed: FeedId,
        episodes: &[EpisodeUpsert],
        first_import_candidates_n: usize,
        now: DateTime<Utc>,
    ) -> Result<UpsertStats, StoreError> {
        if episodes.len() > MAX_UPSERT_BATCH {
            return Err(StoreError::Permanent(format!(
                "{} episodes in one upsert (limit {MAX_UPSERT_BATCH})",
                episodes.len()
            )));
        }
        let mut stats = UpsertStats::default();
        // A repeated identity within one batch: the first occurrence (the newest in feed
        // order) wins; the repeats count as unchanged.
        let mut seen = HashSet::new();
        let mut batch = Vec::with_capacity(episodes.len());
        for ep in episodes {
            if seen.insert(ep.identity.as_str()) {
                batch.push(ep);
            } else {
                stats.unchanged += 1;
            }
        }

        let mut tx = self.begin().await?;
        // Upserts of one feed run one at a time: the first-import decision and the
        // select-then-insert below see a stable set of the feed's episodes.
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM feeds WHERE id = $1 FOR NO KEY UPDATE")
                .bind(feed)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("feed {feed}")));
        }
        let first_import: bool =
            sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM episodes WHERE feed_id = $1)")
                .bind(feed)
                .fetch_one(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
        let candidates = if first_import {
            first_import_candidates(&batch, first_import_candidates_n)
        } else {
            HashSet::new()
        };

        for (i, up) in batch.iter().enumerate() {
            let ep = &up.episode;
            let data = to_json(ep, "episode")?;
            let published = ep.published.map(ms);
            let duration = ep.duration_seconds.map(i64::from);
            let audio_url = ep.enclosure.as_ref().map(|e| e.url.as_str());
            let current: Option<(i64, String, String)> = sqlx::query_as(
                "SELECT id, content_hash, state FROM episodes \
                 WHERE feed_id = $1 AND identity = $2",
            )
            .bind(feed)
            .bind(&up.identity)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            match current {
                Some((_, hash, _)) if hash == up.content_hash => stats.unchanged += 1,
                Some((id, _, state)) => {
                    sqlx::query(
                        "UPDATE episodes SET content_hash = $1, guid = $2, title = $3, \
                         published_at = $4, duration_seconds = $5, audio_url = $6, data = $7, \
                         updated_at = $8 WHERE id = $9",
                    )
                    .bind(&up.content_hash)
                    .bind(&ep.guid)
                    .bind(&ep.title)
                    .bind(published)
                    .bind(duration)
                    .bind(audio_url)
                    .bind(&data)
                    .bind(ms(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
                    stats.updated += 1;
                    if state == EpisodeState::Candidate.as_str() {
                        stats.updated_candidates.push(id);
                    }
                }
                None => {
                    let state = if !first_import || candidates.contains(&i) {
                        EpisodeState::Candidate
                    } else {
                        EpisodeState::Seen
                    };
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO episodes (feed_id, identity, state, content_hash, guid, \
                         title, published_at, duration_seconds, audio_url, data, \
                         first_seen_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
                    )
                    .bind(feed)
                    .bind(&up.identity)
                    .bind(state.as_str())
                    .bind(&up.content_hash)
                    .bind(&ep.guid)
                    .bind(&ep.title)
                    .bind(published)
                    .bind(duration)
                    .bind(audio_url)
                    .bind(&data)
                    .bind(ms(now))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
                    stats.inserted += 1;
                    if state == EpisodeState::Candidate {
                        stats.new_candidates.push(id);
                    }
                }
            }
        }
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok(stats)
    }

    pub(crate) async fn list_episodes_impl(
        &self,
        feed: Option<FeedId>,
        max: usize,
    ) -> Result<Vec<Episode>, StoreError> {
        let rows = match feed {
            Some(feed) => {
                sqlx::query(concat!(
                    episode_select!(),
                    "WHERE e.feed_id = $1",
                    episode_order!(),
                    " LIMIT $2"
                ))
                .bind(feed)
                .bind(limit(max))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(concat!(episode_select!(), episode_order!(), " LIMIT $1"))
                    .bind(limit(max))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(map_sqlx_error)?;
        rows.iter().map(episode_from_row).collect()
    }

    pub(crate) async fn get_episode_impl(
        &self,
        id: EpisodeId,
    ) -> Result<Option<Episode>, StoreError> {
        let row = sqlx::query(concat!(episode_select!(), "WHERE e.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        row.as_ref().map(episode_from_row).transpose()
    }
}
