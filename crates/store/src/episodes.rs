//! Episodes: upsert by identity with the first-import rule, and listings. One body for both
//! databases (see [`crate::db`]); the one difference is the upsert's lock: PostgreSQL locks
//! the feed row (`FOR NO KEY UPDATE`) so upserts of one feed run one at a time, where SQLite's
//! write transaction (`BEGIN IMMEDIATE`) holds the database's only write lock already.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use podsift_core::model::*;
use podsift_core::store::StoreError;

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::map_sqlx_error;
use crate::rows::{episode_from_row, episode_order, episode_select};

/// Most episodes accepted in one upsert (a feed parser bounds this far lower).
pub const MAX_UPSERT_BATCH: usize = 100_000;

/// Indices into `episodes` that become candidates on a first import: the newest `n` by
/// published date (ties and undated episodes in feed order, earlier = newer; undated episodes
/// rank after dated ones).
pub(crate) fn first_import_candidates(episodes: &[&EpisodeUpsert], n: usize) -> HashSet<usize> {
    let mut order: Vec<usize> = (0..episodes.len()).collect();
    // Total order: (has date, date) descending, then position ascending.
    order.sort_by(|&a, &b| {
        let da = episodes[a].episode.published;
        let db = episodes[b].episode.published;
        db.is_some()
            .cmp(&da.is_some())
            .then(db.cmp(&da))
            .then(a.cmp(&b))
    });
    order.into_iter().take(n).collect()
}

impl Db {
    pub(crate) async fn upsert_episodes(
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

        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // Upserts of one feed run one at a time (SQLite: the write lock; PostgreSQL: the
            // feed row's lock): the first-import decision and the select-then-insert below see
            // a stable set of the feed's episodes.
            let sql = format!(
                "SELECT id FROM feeds WHERE id = $1{}",
                pool.for_no_key_update()
            );
            let exists: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(feed)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("feed {feed}")));
            }
            let any: Option<i64> =
                sqlx::query_scalar("SELECT id FROM episodes WHERE feed_id = $1 LIMIT 1")
                    .bind(feed)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            let first_import = any.is_none();
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
                             published_at = $4, duration_seconds = $5, audio_url = $6, \
                             data = $7, updated_at = $8 WHERE id = $9",
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
                            "INSERT INTO episodes (feed_id, identity, state, content_hash, \
                             guid, title, published_at, duration_seconds, audio_url, data, \
                             first_seen_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                             RETURNING id",
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
        })
    }

    pub(crate) async fn list_episodes(
        &self,
        feed: Option<FeedId>,
        max: usize,
    ) -> Result<Vec<Episode>, StoreError> {
        db_run!(self, |pool| {
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
                    .fetch_all(pool)
                    .await
                }
                None => {
                    sqlx::query(concat!(episode_select!(), episode_order!(), " LIMIT $1"))
                        .bind(limit(max))
                        .fetch_all(pool)
                        .await
                }
            }
            .map_err(map_sqlx_error)?;
            rows.iter().map(episode_from_row).collect()
        })
    }

    pub(crate) async fn get_episode(&self, id: EpisodeId) -> Result<Option<Episode>, StoreError> {
        db_run!(self, |pool| {
            let row = sqlx::query(concat!(episode_select!(), "WHERE e.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .map_err(map_sqlx_error)?;
            row.as_ref().map(episode_from_row).transpose()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(id: &str, published: Option<i64>) -> EpisodeUpsert {
        EpisodeUpsert {
            identity: id.to_string(),
            content_hash: "h".into(),
            episode: ParsedEpisode {
                published: published.and_then(|s| DateTime::from_timestamp(s, 0)),
                ..Default::default()
            },
        }
    }

    #[test]
    fn first_import_prefers_dates_then_feed_order() {
        let eps = [
            up("a", None),
            up("b", Some(100)),
            up("c", Some(300)),
            up("d", None),
            up("e", Some(200)),
            up("f", Some(300)),
        ];
        let refs: Vec<&EpisodeUpsert> = eps.iter().collect();
        // c and f tie on date: c comes first in the feed.
        assert_eq!(first_import_candidates(&refs, 1), HashSet::from([2]));
        assert_eq!(first_import_candidates(&refs, 3), HashSet::from([2, 5, 4]));
        assert_eq!(
            first_import_candidates(&refs, 5),
            HashSet::from([2, 5, 4, 1, 0])
        );
        assert_eq!(first_import_candidates(&refs, 0), HashSet::new());
        assert_eq!(first_import_candidates(&refs, 99).len(), 6);
    }

    #[test]
    fn first_import_undated_uses_feed_order() {
        let eps = [up("a", None), up("b", None), up("c", None)];
        let refs: Vec<&EpisodeUpsert> = eps.iter().collect();
        assert_eq!(first_import_candidates(&refs, 2), HashSet::from([0, 1]));
    }
}
