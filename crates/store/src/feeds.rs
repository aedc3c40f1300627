//! Users, feeds and subscriptions.

use chrono::{DateTime, Utc};
use podsift_core::model::*;
use podsift_core::store::{NewFeed, StoreError};

use crate::SqliteStore;
use crate::convert::*;
use crate::error::map_sqlx_error;
use crate::rows::{feed_from_row, feed_select};

/// Name of the single local user of a laptop install.
pub(crate) const DEFAULT_USER_NAME: &str = "local";

pub(crate) fn check_url(url: &str) -> Result<(), StoreError> {
    if url.is_empty() || url.len() > MAX_URL_LEN {
        return Err(StoreError::Permanent(format!(
            "feed URL must be 1..={MAX_URL_LEN} bytes, got {}",
            url.len()
        )));
    }
    Ok(())
}

impl SqliteStore {
    /// Create a user (several people may share one install). Names are unique: a taken name
    /// is a [`StoreError::Permanent`] error.
    pub async fn create_user(
        &self,
        name: &str,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<UserId, StoreError> {
        if name.is_empty() || name.len() > 256 {
            return Err(StoreError::Permanent(
                "user name must be 1..=256 bytes".into(),
            ));
        }
        sqlx::query_scalar(
            "INSERT INTO users (name, email, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(email)
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(map_sqlx_error)
    }

    pub(crate) async fn default_user_impl(&self, now: DateTime<Utc>) -> Result<UserId, StoreError> {
        sqlx::query(
            "INSERT INTO users (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        )
        .bind(DEFAULT_USER_NAME)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        sqlx::query_scalar("SELECT id FROM users WHERE name = ?")
            .bind(DEFAULT_USER_NAME)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    pub(crate) async fn subscribe_impl(
        &self,
        user: UserId,
        feed: &NewFeed,
        now: DateTime<Utc>,
    ) -> Result<(FeedId, bool), StoreError> {
        check_url(&feed.url)?;
        let mut tx = self.begin_write().await?;
        let user_exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = ?")
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        if user_exists.is_none() {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        let m = &feed.metadata;
        // An existing feed row is reused untouched (its schedule and validators stay).
        sqlx::query(
            "INSERT INTO feeds (url, title, link, description, image, language, author, status, \
             next_check_at, error_count, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, 0, ?, ?) ON CONFLICT (url) DO NOTHING",
        )
        .bind(&feed.url)
        .bind(&m.title)
        .bind(&m.link)
        .bind(&m.description)
        .bind(&m.image)
        .bind(&m.language)
        .bind(&m.author)
        .bind(ms(feed.next_check_at))
        .bind(ms(now))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?;
        let feed_id: i64 = sqlx::query_scalar("SELECT id FROM feeds WHERE url = ?")
            .bind(&feed.url)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let inserted = sqlx::query(
            "INSERT INTO subscriptions (user_id, feed_id, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (user_id, feed_id) DO NOTHING",
        )
        .bind(user)
        .bind(feed_id)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx_error)?
        .rows_affected();
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok((feed_id, inserted == 1))
    }

    pub(crate) async fn unsubscribe_impl(
        &self,
        user: UserId,
        feed: FeedId,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM subscriptions WHERE user_id = ? AND feed_id = ?")
            .bind(user)
            .bind(feed)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
        Ok(n > 0)
    }

    pub(crate) async fn find_feed_impl(&self, key: &FeedKey) -> Result<Option<Feed>, StoreError> {
        let row = match key {
            FeedKey::Id(id) => {
                sqlx::query(concat!(feed_select!(), "WHERE f.id = ?"))
                    .bind(*id)
                    .fetch_optional(&self.pool)
                    .await
            }
            FeedKey::Url(url) => {
                sqlx::query(concat!(feed_select!(), "WHERE f.url = ?"))
                    .bind(url)
                    .fetch_optional(&self.pool)
                    .await
            }
        }
        .map_err(map_sqlx_error)?;
        row.as_ref().map(feed_from_row).transpose()
    }

    pub(crate) async fn list_feeds_impl(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<Feed>, StoreError> {
        let rows = match user {
            Some(user) => {
                sqlx::query(concat!(
                    feed_select!(),
                    "WHERE EXISTS (SELECT 1 FROM subscriptions s \
                     WHERE s.feed_id = f.id AND s.user_id = ?) ORDER BY f.id"
                ))
                .bind(user)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(concat!(feed_select!(), "ORDER BY f.id"))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(map_sqlx_error)?;
        rows.iter().map(feed_from_row).collect()
    }

    pub(crate) async fn due_feeds_impl(
        &self,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Feed>, StoreError> {
        let rows = sqlx::query(concat!(
            feed_select!(),
            "WHERE f.next_check_at <= ? \
             AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id) \
             ORDER BY f.next_check_at, f.id LIMIT ?"
        ))
        .bind(ms(now))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        rows.iter().map(feed_from_row).collect()
    }

    pub(crate) async fn record_poll_impl(
        &self,
        feed: FeedId,
        outcome: &FeedPollOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let current_url: Option<String> = sqlx::query_scalar("SELECT url FROM feeds WHERE id = ?")
            .bind(feed)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let Some(current_url) = current_url else {
            return Err(StoreError::NotFound(format!("feed {feed}")));
        };
        match outcome {
            FeedPollOutcome::Success {
                metadata,
                etag,
                last_modified,
                new_url,
                next_check_at,
            } => {
                // A 200 replaces the validators; a 304 (no metadata) keeps those the server
                // did not resend.
                let replace_validators = metadata.is_some();
                sqlx::query(
                    "UPDATE feeds SET status = 'active', error_count = 0, last_error = NULL, \
                     last_checked_at = ?, next_check_at = ?, updated_at = ?, \
                     etag = CASE WHEN ? THEN ? ELSE COALESCE(?, etag) END, \
                     last_modified = CASE WHEN ? THEN ? ELSE COALESCE(?, last_modified) END \
                     WHERE id = ?",
                )
                .bind(ms(now))
                .bind(ms(*next_check_at))
                .bind(ms(now))
                .bind(replace_validators)
                .bind(etag)
                .bind(etag)
                .bind(replace_validators)
                .bind(last_modified)
                .bind(last_modified)
                .bind(feed)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
                if let Some(m) = metadata {
                    sqlx::query(
                        "UPDATE feeds SET title = ?, link = ?, description = ?, image = ?, \
                         language = ?, author = ? WHERE id = ?",
                    )
                    .bind(&m.title)
                    .bind(&m.link)
                    .bind(&m.description)
                    .bind(&m.image)
                    .bind(&m.language)
                    .bind(&m.author)
                    .bind(feed)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
                }
                if let Some(new_url) = new_url.as_deref().filter(|u| *u != current_url) {
                    check_url(new_url)?;
                    move_feed_url(&mut tx, feed, new_url, now).await?;
                }
            }
            FeedPollOutcome::Failure {
                error,
                next_check_at,
                failing,
            } => {
                sqlx::query(
                    "UPDATE feeds SET error_count = error_count + 1, last_error = ?, \
                     last_checked_at = ?, next_check_at = ?, updated_at = ?, \
                     status = CASE WHEN ? THEN 'failing' ELSE status END WHERE id = ?",
                )
                .bind(truncate(error, MAX_ERROR_TEXT))
                .bind(ms(now))
                .bind(ms(*next_check_at))
                .bind(ms(now))
                .bind(*failing)
                .bind(feed)
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            }
        }
        tx.commit().await.map_err(map_sqlx_error)
    }
}

/// Point `feed` at `new_url`. When another feed row already has that URL, the two are merged
/// by moving every subscription over to that row: `feed` keeps its URL, its episodes and its
/// history, but with no subscribers it is no longer polled (see the trait's `due_feeds`).
async fn move_feed_url(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    feed: FeedId,
    new_url: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let other: Option<i64> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = ?")
        .bind(new_url)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map_sqlx_error)?;
    match other {
        None => {
            sqlx::query("UPDATE feeds SET url = ?, updated_at = ? WHERE id = ?")
                .bind(new_url)
                .bind(ms(now))
                .bind(feed)
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx_error)?;
        }
        Some(target) => {
            sqlx::query(
                "INSERT INTO subscriptions (user_id, feed_id, created_at) \
                 SELECT user_id, ?, created_at FROM subscriptions WHERE feed_id = ? \
                 ON CONFLICT (user_id, feed_id) DO NOTHING",
            )
            .bind(target)
            .bind(feed)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx_error)?;
            sqlx::query("DELETE FROM subscriptions WHERE feed_id = ?")
                .bind(feed)
                .execute(&mut **tx)
                .await
                .map_err(map_sqlx_error)?;
            tracing::info!(
                from = feed,
                into = target,
                url = new_url,
                "feed moved onto an existing feed; subscriptions merged"
            );
        }
    }
    Ok(())
}
