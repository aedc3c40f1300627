//! Users, feeds and subscriptions, one body for both databases.
//!
//! What differs, and why: a write transaction is SQLite's `BEGIN IMMEDIATE` (its one write
//! lock serialises writers) and a plain READ COMMITTED transaction on PostgreSQL, where
//! recording a poll locks the feed row (`FOR UPDATE`) instead, so two pollers recording the
//! same feed (or a URL move) apply one after the other ([`Backend::begin_write`],
//! [`Backend::for_update`]). The SQL is otherwise the same.

use chrono::{DateTime, Utc};
use podsift_core::model::*;
use podsift_core::store::{NewFeed, StoreError};

use crate::SqlStore;
use crate::convert::*;
use crate::db::{Backend, Db, db_run};
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

/// `insert_feed!(tx, feed, now)`: the id of the feed row for `feed.url` (a `&NewFeed`),
/// inserted when new. An existing row is reused untouched (its schedule and validators stay);
/// on PostgreSQL a concurrent insert of the same URL makes this wait for it, then do nothing.
macro_rules! insert_feed {
    ($tx:expr, $feed:expr, $now:expr) => {{
        let (feed, now): (&NewFeed, DateTime<Utc>) = ($feed, $now);
        let m = &feed.metadata;
        sqlx::query(
            "INSERT INTO feeds (url, title, link, description, image, language, author, \
             status, next_check_at, error_count, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, 0, $9, $9) \
             ON CONFLICT (url) DO NOTHING",
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
        .execute(&mut *$tx)
        .await
        .map_err(map_sqlx_error)?;
        let id: i64 = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1")
            .bind(&feed.url)
            .fetch_one(&mut *$tx)
            .await
            .map_err(map_sqlx_error)?;
        id
    }};
}
pub(crate) use insert_feed;

/// `move_feed_url!(tx, feed, new_url, now)`: point `feed` at `new_url` inside the write
/// transaction `tx` (a transaction of either database: one expansion per `db_run!` arm). When
/// another feed row already has that URL, the two are merged by moving every subscription over
/// to that row: `feed` keeps its URL, its episodes and its history, but with no subscribers it
/// is no longer polled (see the trait's `due_feeds`). An error returns from the enclosing
/// function (`?`).
macro_rules! move_feed_url {
    ($tx:expr, $feed:expr, $new_url:expr, $now:expr) => {{
        let (feed, new_url, now): (FeedId, &str, DateTime<Utc>) = ($feed, $new_url, $now);
        let other: Option<i64> = sqlx::query_scalar("SELECT id FROM feeds WHERE url = $1")
            .bind(new_url)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(map_sqlx_error)?;
        match other {
            None => {
                sqlx::query("UPDATE feeds SET url = $1, updated_at = $2 WHERE id = $3")
                    .bind(new_url)
                    .bind(ms(now))
                    .bind(feed)
                    .execute(&mut *$tx)
                    .await
                    .map_err(map_sqlx_error)?;
            }
            Some(target) => {
                sqlx::query(
                    "INSERT INTO subscriptions (user_id, feed_id, created_at) \
                     SELECT user_id, $1, created_at FROM subscriptions WHERE feed_id = $2 \
                     ON CONFLICT (user_id, feed_id) DO NOTHING",
                )
                .bind(target)
                .bind(feed)
                .execute(&mut *$tx)
                .await
                .map_err(map_sqlx_error)?;
                sqlx::query("DELETE FROM subscriptions WHERE feed_id = $1")
                    .bind(feed)
                    .execute(&mut *$tx)
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
    }};
}

impl SqlStore {
    /// Create a user (several people may share one install). Names are unique: a taken name
    /// is a [`StoreError::Permanent`] error.
    pub async fn create_user(
        &self,
        name: &str,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<UserId, StoreError> {
        self.db.create_user(name, email, now).await
    }
}

impl Db {
    /// [`SqlStore::create_user`].
    pub(crate) async fn create_user(
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
        const SQL: &str =
            "INSERT INTO users (name, email, created_at) VALUES ($1, $2, $3) RETURNING id";
        db_run!(self, |pool| sqlx::query_scalar::<_, i64>(SQL)
            .bind(name)
            .bind(email)
            .bind(ms(now))
            .fetch_one(pool)
            .await
            .map_err(map_sqlx_error))
    }

    pub(crate) async fn default_user(&self, now: DateTime<Utc>) -> Result<UserId, StoreError> {
        db_run!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (name, created_at) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(DEFAULT_USER_NAME)
            .bind(ms(now))
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?;
            sqlx::query_scalar::<_, i64>("SELECT id FROM users WHERE name = $1")
                .bind(DEFAULT_USER_NAME)
                .fetch_one(pool)
                .await
                .map_err(map_sqlx_error)
        })
    }

    pub(crate) async fn subscribe(
        &self,
        user: UserId,
        feed: &NewFeed,
        now: DateTime<Utc>,
    ) -> Result<(FeedId, bool), StoreError> {
        check_url(&feed.url)?;
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let user_exists: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
                .bind(user)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            if user_exists.is_none() {
                return Err(StoreError::NotFound(format!("user {user}")));
            }
            let feed_id = insert_feed!(tx, feed, now);
            let inserted = sqlx::query(
                "INSERT INTO subscriptions (user_id, feed_id, created_at) VALUES ($1, $2, $3) \
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
        })
    }

    pub(crate) async fn unsubscribe(&self, user: UserId, feed: FeedId) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM subscriptions WHERE user_id = $1 AND feed_id = $2";
        let n = db_run!(self, |pool| sqlx::query(SQL)
            .bind(user)
            .bind(feed)
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(n > 0)
    }

    pub(crate) async fn find_feed(&self, key: &FeedKey) -> Result<Option<Feed>, StoreError> {
        db_run!(self, |pool| {
            let row = match key {
                FeedKey::Id(id) => {
                    sqlx::query(concat!(feed_select!(), "WHERE f.id = $1"))
                        .bind(*id)
                        .fetch_optional(pool)
                        .await
                }
                FeedKey::Url(url) => {
                    sqlx::query(concat!(feed_select!(), "WHERE f.url = $1"))
                        .bind(url)
                        .fetch_optional(pool)
                        .await
                }
            }
            .map_err(map_sqlx_error)?;
            row.as_ref().map(feed_from_row).transpose()
        })
    }

    pub(crate) async fn list_feeds(&self, user: Option<UserId>) -> Result<Vec<Feed>, StoreError> {
        db_run!(self, |pool| {
            let rows = match user {
                Some(user) => {
                    sqlx::query(concat!(
                        feed_select!(),
                        "WHERE EXISTS (SELECT 1 FROM subscriptions s \
                         WHERE s.feed_id = f.id AND s.user_id = $1) ORDER BY f.id"
                    ))
                    .bind(user)
                    .fetch_all(pool)
                    .await
                }
                None => {
                    sqlx::query(concat!(feed_select!(), "ORDER BY f.id"))
                        .fetch_all(pool)
                        .await
                }
            }
            .map_err(map_sqlx_error)?;
            rows.iter().map(feed_from_row).collect()
        })
    }

    pub(crate) async fn due_feeds(
        &self,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Feed>, StoreError> {
        const SQL: &str = concat!(
            feed_select!(),
            "WHERE f.next_check_at <= $1 \
             AND (EXISTS (SELECT 1 FROM subscriptions s WHERE s.feed_id = f.id) \
                  OR EXISTS (SELECT 1 FROM catalogue_feeds c WHERE c.feed_id = f.id)) \
             ORDER BY f.next_check_at, f.id LIMIT $2"
        );
        db_run!(self, |pool| {
            let rows = sqlx::query(SQL)
                .bind(ms(now))
                .bind(limit(max))
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            rows.iter().map(feed_from_row).collect()
        })
    }

    pub(crate) async fn record_poll(
        &self,
        feed: FeedId,
        outcome: &FeedPollOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // Locked on PostgreSQL: two pollers recording the same feed (or a URL move) apply
            // one after the other (SQLite's write transaction serialises them already).
            let sql = format!("SELECT url FROM feeds WHERE id = $1{}", pool.for_update());
            let current_url: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
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
                    // A 200 replaces the validators; a 304 (no metadata) keeps those the
                    // server did not resend.
                    let replace_validators = metadata.is_some();
                    sqlx::query(
                        "UPDATE feeds SET status = 'active', error_count = 0, last_error = NULL, \
                         last_checked_at = $1, next_check_at = $2, updated_at = $1, \
                         etag = CASE WHEN $3 THEN $4 ELSE COALESCE($4, etag) END, \
                         last_modified = CASE WHEN $3 THEN $5 ELSE COALESCE($5, last_modified) END \
                         WHERE id = $6",
                    )
                    .bind(ms(now))
                    .bind(ms(*next_check_at))
                    .bind(replace_validators)
                    .bind(etag)
                    .bind(last_modified)
                    .bind(feed)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
                    if let Some(m) = metadata {
                        sqlx::query(
                            "UPDATE feeds SET title = $1, link = $2, description = $3, \
                             image = $4, language = $5, author = $6 WHERE id = $7",
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
                        move_feed_url!(tx, feed, new_url, now);
                    }
                }
                FeedPollOutcome::Failure {
                    error,
                    next_check_at,
                    failing,
                } => {
                    sqlx::query(
                        "UPDATE feeds SET error_count = error_count + 1, last_error = $1, \
                         last_checked_at = $2, next_check_at = $3, updated_at = $2, \
                         status = CASE WHEN $4 THEN 'failing' ELSE status END WHERE id = $5",
                    )
                    .bind(truncate(error, MAX_ERROR_TEXT))
                    .bind(ms(now))
                    .bind(ms(*next_check_at))
                    .bind(*failing)
                    .bind(feed)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
                }
            }
            tx.commit().await.map_err(map_sqlx_error)
        })
    }
}
