//! Users with a schedule (`podsift users`, `podsift serve`) and the monitoring counts.

use chrono::{DateTime, Utc};
use podsift_core::model::UserId;
use podsift_core::store::StoreError;
use podsift_core::users::{ChannelSpec, NewUserProfile, ServiceCounts, UserProfile};

use crate::convert::*;
use crate::db::{Backend, Db, db_run};
use crate::error::{is_unique_violation, map_sqlx_error};
use crate::rows::Columns;

pub(crate) const PROFILE_COLUMNS: &str = "id, email, time_zone, delivery_time, digest_size, \
     interests, channels, next_digest_at, feed_token, created_at";

const JOB_COUNTS_SQL: &str =
    "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state ORDER BY kind, state";
const FEED_COUNT_SQL: &str = "SELECT COUNT(DISTINCT feed_id) AS n FROM subscriptions";
const DIGEST_COUNT_SQL: &str = "SELECT COUNT(*) AS n FROM digests";
const DELIVERY_COUNTS_SQL: &str =
    "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state ORDER BY state";

pub(crate) fn profile_from_row(row: &impl Columns) -> Result<UserProfile, StoreError> {
    let channels: Vec<ChannelSpec> = from_json(&row.text("channels")?, "user channels")?;
    Ok(UserProfile {
        id: row.int("id")?,
        email: row.opt_text("email")?.unwrap_or_default(),
        time_zone: row.text("time_zone")?,
        delivery_time: row.text("delivery_time")?,
        digest_size: count(row.int("digest_size")?, "digest_size")?,
        interests: row.opt_text("interests")?,
        channels,
        next_digest_at: opt_from_ms(row.opt_int("next_digest_at")?)?,
        feed_token: row.opt_text("feed_token")?.unwrap_or_default(),
        created_at: from_ms(row.int("created_at")?)?,
    })
}

fn check_new_user(user: &NewUserProfile) -> Result<(), StoreError> {
    if user.email.is_empty() || user.email.len() > 256 {
        return Err(StoreError::Permanent("email must be 1..=256 bytes".into()));
    }
    if user.feed_token.len() < 16 {
        return Err(StoreError::Permanent(
            "feed token must be at least 16 characters".into(),
        ));
    }
    Ok(())
}

fn map_insert_error(e: sqlx::Error, email: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Permanent(format!("a user {email:?} exists already"))
    } else {
        map_sqlx_error(e)
    }
}

fn counts_from_rows(
    jobs: &[impl Columns],
    feeds: i64,
    digests: i64,
    deliveries: &[impl Columns],
) -> Result<ServiceCounts, StoreError> {
    Ok(ServiceCounts {
        jobs: jobs
            .iter()
            .map(|r| Ok((r.text("kind")?, r.text("state")?, r.int("n")?)))
            .collect::<Result<_, StoreError>>()?,
        feeds,
        digests,
        deliveries: deliveries
            .iter()
            .map(|r| Ok((r.text("state")?, r.int("n")?)))
            .collect::<Result<_, StoreError>>()?,
    })
}

impl Db {
    pub(crate) async fn add_user(
        &self,
        user: &NewUserProfile,
        now: DateTime<Utc>,
    ) -> Result<UserProfile, StoreError> {
        check_new_user(user)?;
        let sql = format!(
            "INSERT INTO users (name, email, time_zone, delivery_time, digest_size, interests, \
             channels, next_digest_at, feed_token, created_at) \
             VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {PROFILE_COLUMNS}"
        );
        let channels = to_json(&user.channels, "user channels")?;
        db_run!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&user.email)
                .bind(&user.time_zone)
                .bind(&user.delivery_time)
                .bind(i64::from(user.digest_size))
                .bind(&user.interests)
                .bind(&channels)
                .bind(user.next_digest_at.map(ms))
                .bind(&user.feed_token)
                .bind(ms(now))
                .fetch_one(pool)
                .await
                .map_err(|e| map_insert_error(e, &user.email))?;
            profile_from_row(&row)
        })
    }

    async fn profiles_where(
        &self,
        clause: &str,
        arg: Option<&str>,
    ) -> Result<Vec<UserProfile>, StoreError> {
        let sql = format!("SELECT {PROFILE_COLUMNS} FROM users WHERE {clause} ORDER BY id");
        db_run!(self, |pool| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(a) = arg {
                q = q.bind(a.to_string());
            }
            let rows = q.fetch_all(pool).await.map_err(map_sqlx_error)?;
            rows.iter().map(profile_from_row).collect()
        })
    }

    pub(crate) async fn list_users(&self) -> Result<Vec<UserProfile>, StoreError> {
        self.profiles_where("email IS NOT NULL", None).await
    }

    pub(crate) async fn user_by_email(
        &self,
        email: &str,
    ) -> Result<Option<UserProfile>, StoreError> {
        Ok(self
            .profiles_where("email = $1", Some(email))
            .await?
            .into_iter()
            .next())
    }

    pub(crate) async fn user_by_feed_token(
        &self,
        token: &str,
    ) -> Result<Option<UserProfile>, StoreError> {
        Ok(self
            .profiles_where("feed_token = $1", Some(token))
            .await?
            .into_iter()
            .next())
    }

    pub(crate) async fn remove_user(&self, email: &str) -> Result<bool, StoreError> {
        // Subscriptions, digests and their outbox rows go with the user (ON DELETE CASCADE);
        // digest_items and deliveries carry user_id without a foreign key.
        db_run!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let sql = format!("SELECT id FROM users WHERE email = $1{}", pool.for_update());
            let id: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(email)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let Some(id) = id else {
                return Ok(false);
            };
            for sql in [
                "DELETE FROM deliveries WHERE user_id = $1",
                "DELETE FROM digest_items WHERE user_id = $1",
                "DELETE FROM users WHERE id = $1",
            ] {
                sqlx::query(sql)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_sqlx_error)?;
            }
            tx.commit().await.map_err(map_sqlx_error)?;
            Ok(true)
        })
    }

    pub(crate) async fn advance_next_digest(
        &self,
        user: UserId,
        expected: Option<DateTime<Utc>>,
        next: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        const SQL: &str = "UPDATE users SET next_digest_at = $1 WHERE id = $2 \
             AND next_digest_at IS NOT DISTINCT FROM $3";
        let done = db_run!(self, |pool| sqlx::query(SQL)
            .bind(next.map(ms))
            .bind(user)
            .bind(expected.map(ms))
            .execute(pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected());
        Ok(done == 1)
    }

    pub(crate) async fn service_counts(&self) -> Result<ServiceCounts, StoreError> {
        db_run!(self, |pool| {
            let jobs = sqlx::query(JOB_COUNTS_SQL)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            let feeds: i64 = sqlx::query_scalar(FEED_COUNT_SQL)
                .fetch_one(pool)
                .await
                .map_err(map_sqlx_error)?;
            let digests: i64 = sqlx::query_scalar(DIGEST_COUNT_SQL)
                .fetch_one(pool)
                .await
                .map_err(map_sqlx_error)?;
            let deliveries = sqlx::query(DELIVERY_COUNTS_SQL)
                .fetch_all(pool)
                .await
                .map_err(map_sqlx_error)?;
            counts_from_rows(&jobs, feeds, digests, &deliveries)
        })
    }
}
