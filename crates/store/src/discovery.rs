//! Topics, their admissions and the instance's catalogue of shows, one body for both
//! databases (issue 19). A topic belongs to a reader or (`user_id` NULL) to the catalogue; an
//! admission ties an episode of a show nobody follows to the topic that chose it, with the
//! reason the reader is shown. Which episodes a reader reads is one predicate for every query
//! (`rows::reads_episode!`).

use chrono::{DateTime, Utc};
use podsift_core::discovery::{Admission, CatalogueShow, CopyKey, Topic, TopicOwner};
use podsift_core::model::*;
use podsift_core::store::{NewFeed, StoreError};

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::map_sqlx_error;
use crate::feeds::{check_url, insert_feed};
use crate::rows::Columns;

/// Longest topic, in bytes.
pub const MAX_TOPIC_LEN: usize = 200;

const TOPIC_COLUMNS: &str =
    "SELECT id, user_id, text, created_at, last_scan_at, last_report FROM topics";
const ADMISSION_COLUMNS: &str =
    "SELECT topic_id, episode_id, score, reason, audio_seconds, admitted_at FROM topic_admissions";

fn topic_from_row(row: &impl Columns) -> Result<Topic, StoreError> {
    let report = row
        .opt_text("last_report")?
        .map(|r| from_json::<serde_json::Value>(&r, "topic report"))
        .transpose()?;
    Ok(Topic {
        id: row.int("id")?,
        user: row.opt_int("user_id")?,
        text: row.text("text")?,
        created_at: from_ms(row.int("created_at")?)?,
        last_scan_at: opt_from_ms(row.opt_int("last_scan_at")?)?,
        last_report: report,
    })
}

fn admission_from_row(row: &impl Columns) -> Result<Admission, StoreError> {
    Ok(Admission {
        topic: row.int("topic_id")?,
        episode: row.int("episode_id")?,
        score: row.real("score")?,
        reason: row.text("reason")?,
        audio_seconds: row
            .opt_int("audio_seconds")?
            .map(|s| count(s, "audio seconds"))
            .transpose()?,
        admitted_at: from_ms(row.int("admitted_at")?)?,
    })
}

/// The topic as stored for uniqueness: trimmed, inner spaces collapsed, lower case.
pub(crate) fn normalise_topic(text: &str) -> Result<(String, String), StoreError> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() || text.len() > MAX_TOPIC_LEN {
        return Err(StoreError::Permanent(format!(
            "a topic is 1 to {MAX_TOPIC_LEN} bytes of words, got {}",
            text.len()
        )));
    }
    let norm = text.to_lowercase();
    Ok((text, norm))
}

impl Db {
    pub(crate) async fn add_topic(
        &self,
        user: Option<UserId>,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(Topic, bool), StoreError> {
        let (text, norm) = normalise_topic(text)?;
        // `COALESCE(user_id, 0)` is the unique key (NULLs are distinct in a unique index).
        const FIND: &str = "SELECT id, user_id, text, created_at, last_scan_at, last_report \
             FROM topics WHERE COALESCE(user_id, 0) = $1 AND norm = $2";
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let found = sqlx::query(FIND)
                .bind(user.unwrap_or(0))
                .bind(&norm)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            if let Some(row) = found {
                return Ok((topic_from_row(&row)?, false));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO topics (user_id, text, norm, created_at) VALUES ($1, $2, $3, $4) \
                 RETURNING id",
            )
            .bind(user)
            .bind(&text)
            .bind(&norm)
            .bind(ms(now))
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)?;
            let topic = Topic {
                id,
                user,
                text,
                created_at: from_ms(ms(now))?,
                last_scan_at: None,
                last_report: None,
            };
            Ok((topic, true))
        })
    }

    pub(crate) async fn list_topics(&self, owner: TopicOwner) -> Result<Vec<Topic>, StoreError> {
        let (filter, user) = match owner {
            TopicOwner::Everyone => ("", 0),
            TopicOwner::Catalogue => (" WHERE user_id IS NULL", 0),
            TopicOwner::Reader(u) => (" WHERE user_id = $1", u),
        };
        let sql = format!("{TOPIC_COLUMNS}{filter} ORDER BY id");
        db_run!(self, |pool| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            if matches!(owner, TopicOwner::Reader(_)) {
                q = q.bind(user);
            }
            let rows = q.fetch_all(pool).await.map_err(map_sqlx_error)?;
            rows.iter().map(topic_from_row).collect()
        })
    }

    /// Removes a topic of `user` (None: the catalogue's); its admissions go with it, so its
    /// episodes' insights stop reaching the reader.
    pub(crate) async fn remove_topic(
        &self,
        user: Option<UserId>,
        topic: i64,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM topics WHERE id = $1 AND COALESCE(user_id, 0) = $2";
        let n = db_run!(self, |pool| sqlx::query(SQL)
            .bind(topic)
            .bind(user.unwrap_or(0))
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(n > 0)
    }

    pub(crate) async fn finish_topic_scan(
        &self,
        topic: i64,
        report: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE topics SET last_scan_at = $1, last_report = $2 WHERE id = $3";
        let json = to_json(report, "topic report")?;
        db_run!(self, |pool| sqlx::query(SQL)
            .bind(ms(now))
            .bind(&json)
            .bind(topic)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)
            .map(|_| ()))
    }

    /// The feed row for a show found by a topic, without a subscription (nobody polls it;
    /// the topic scan reads it when it looks again).
    pub(crate) async fn ensure_feed(
        &self,
        feed: &NewFeed,
        now: DateTime<Utc>,
    ) -> Result<FeedId, StoreError> {
        check_url(&feed.url)?;
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = insert_feed!(tx, feed, now);
            tx.commit().await.map_err(map_sqlx_error)?;
            Ok(id)
        })
    }

    /// An episode other than `except` that is being read (a candidate) and is a copy of
    /// `key`: the same enclosure URL, the same GUID, or the same title (any case) with a
    /// duration within two seconds.
    pub(crate) async fn find_copy(
        &self,
        key: &CopyKey,
        except: EpisodeId,
    ) -> Result<Option<EpisodeId>, StoreError> {
        const SQL: &str = "SELECT id FROM episodes WHERE id <> $1 AND state = 'candidate' AND \
             (audio_url = $2 OR guid = $3 OR (LOWER(title) = LOWER($4) \
              AND duration_seconds BETWEEN $5 - 2 AND $5 + 2)) ORDER BY id LIMIT 1";
        let duration = key
            .duration_seconds
            .map(|d| to_i64(d, "duration"))
            .transpose()?;
        // A title without a duration is too weak a key (every show has a "Trailer").
        let title = key.title.as_deref().filter(|_| duration.is_some());
        db_run!(self, |pool| sqlx::query_scalar::<_, EpisodeId>(SQL)
            .bind(except)
            .bind(key.enclosure_url.as_deref())
            .bind(key.guid.as_deref())
            .bind(title)
            .bind(duration)
            .fetch_optional(pool)
            .await
            .map_err(map_sqlx_error))
    }

    /// Records the admission and makes the episode a candidate (so the pipeline reads it).
    /// False when the topic had admitted it already.
    pub(crate) async fn admit_episode(&self, a: &Admission) -> Result<bool, StoreError> {
        let seconds = a.audio_seconds.map(|s| to_i64(s, "audio")).transpose()?;
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query(
                "INSERT INTO topic_admissions (topic_id, episode_id, score, reason, \
                 audio_seconds, admitted_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (topic_id, episode_id) DO NOTHING",
            )
            .bind(a.topic)
            .bind(a.episode)
            .bind(a.score)
            .bind(&a.reason)
            .bind(seconds)
            .bind(ms(a.admitted_at))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
            sqlx::query("UPDATE episodes SET state = 'candidate', updated_at = $1 WHERE id = $2")
                .bind(ms(a.admitted_at))
                .bind(a.episode)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            tx.commit().await.map_err(map_sqlx_error)?;
            Ok(n == 1)
        })
    }

    /// A topic's admissions since `since`, oldest first (the daily budget counts these).
    pub(crate) async fn admissions_since(
        &self,
        topic: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<Admission>, StoreError> {
        let sql = format!(
            "{ADMISSION_COLUMNS} WHERE topic_id = $1 AND admitted_at >= $2 \
             ORDER BY admitted_at, episode_id"
        );
        db_run!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(topic)
                .bind(ms(since))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(admission_from_row).collect()
        })
    }

    /// Adds a feed to the catalogue every reader gets; false when it was there.
    pub(crate) async fn add_catalogue_feed(
        &self,
        feed: FeedId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO catalogue_feeds (feed_id, added_at) VALUES ($1, $2) \
             ON CONFLICT (feed_id) DO NOTHING";
        let n = db_run!(self, |pool| sqlx::query(SQL)
            .bind(feed)
            .bind(ms(now))
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(n == 1)
    }

    pub(crate) async fn remove_catalogue_feed(&self, feed: FeedId) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM catalogue_feeds WHERE feed_id = $1";
        let n = db_run!(self, |pool| sqlx::query(SQL)
            .bind(feed)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(n > 0)
    }

    pub(crate) async fn list_catalogue(&self) -> Result<Vec<CatalogueShow>, StoreError> {
        const SQL: &str = "SELECT c.feed_id, f.url, f.title, c.added_at FROM catalogue_feeds c \
             JOIN feeds f ON f.id = c.feed_id ORDER BY c.feed_id";
        db_run!(self, |pool| {
            let rows = sqlx::query(SQL)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter()
                .map(|r| {
                    Ok(CatalogueShow {
                        feed_id: r.int("feed_id")?,
                        url: r.text("url")?,
                        title: r.opt_text("title")?,
                        added_at: from_ms(r.int("added_at")?)?,
                    })
                })
                .collect()
        })
    }
}
