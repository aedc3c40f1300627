//! Connecting to PostgreSQL, for several worker processes (on several machines) sharing one
//! database.
//!
//! Same schema and conventions as the SQLite store (see `migrations-pg/`). Concurrency:
//! transactions run at READ COMMITTED and take explicit row locks where SQLite relied on its
//! single write lock (upserting a feed's episodes locks the feed row; replacing a transcript,
//! chapters or an extraction locks the episode row), so concurrent writers queue on one row
//! instead of failing on a unique index. Claiming a job is one
//! `UPDATE … WHERE id = (SELECT … LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING …` statement:
//! concurrent claimers skip each other's rows instead of waiting. No transaction spans anything
//! but its own statements.

use std::str::FromStr;
use std::time::Duration;

use podsift_core::store::StoreError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::db::Db;
use crate::error::map_sqlx_error;
use crate::{SqlStore, redact_url};

/// The embedded PostgreSQL schema migrations (crates/store/migrations-pg). sqlx takes an
/// advisory lock while migrating, so several workers starting at once are safe.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("./migrations-pg");

/// Connection pool settings of a PostgreSQL [`SqlStore`] ([`SqlStore::connect_pg`]).
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long to wait for a connection (also while the server is starting up) before
    /// failing with [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl SqlStore {
    /// Connect with a `postgres://` or `postgresql://` URL and explicit pool settings, and
    /// apply pending migrations ([`SqlStore::connect`] uses the default settings).
    pub async fn connect_pg(url: &str, options: PgOptions) -> Result<Self, StoreError> {
        let redacted = redact_url(url);
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Permanent(format!(
                "not a PostgreSQL URL (expected postgres://...): {redacted}"
            )));
        }
        // The parser's messages name the offending part, never the whole URL or password.
        let mut connect = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Permanent(format!("invalid database URL {redacted}: {e}")))?;
        if connect.get_application_name().is_none() {
            connect = connect.application_name("podsift");
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(|e| match map_sqlx_error(e) {
                StoreError::Unavailable(m) => {
                    StoreError::Unavailable(format!("connecting to {redacted}: {m}"))
                }
                StoreError::Permanent(m) => {
                    StoreError::Permanent(format!("connecting to {redacted}: {m}"))
                }
                other => other,
            })?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        tracing::info!(url = %redacted, "connected to PostgreSQL");
        Ok(Self { db: Db::Pg(pool) })
    }

    /// The number of PostgreSQL migrations this build ships.
    pub fn shipped_pg_migrations() -> usize {
        MIGRATOR.iter().count()
    }
}
