//! Opening a SQLite database: one file in WAL mode (several processes can share it), or a
//! private in-memory database.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use podsift_core::store::StoreError;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::SqlStore;
use crate::db::Db;
use crate::error::map_sqlx_error;

/// The embedded schema migrations (crates/store/migrations).
static MIGRATOR: Migrator = sqlx::migrate!();

/// How long a statement waits for another connection's write lock before giving up with
/// [`StoreError::Unavailable`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in a file database's pool.
const FILE_POOL_SIZE: u32 = 8;

impl SqlStore {
    /// Open (creating the file and its parent directories if needed) the database at `path`,
    /// in WAL mode with a busy timeout and foreign keys on, and apply pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await.map_err(|e| {
                StoreError::Unavailable(format!("creating {}: {e}", parent.display()))
            })?;
        }
        let options = SqliteConnectOptions::new().filename(path);
        Self::with_options(options, false).await
    }

    /// `sqlite://path/to/file.db` (created if missing) or `sqlite::memory:` (a private
    /// in-memory database that lives as long as this store).
    pub(crate) async fn connect_sqlite(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Permanent(format!("invalid database URL: {e}")))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            let file = options.get_filename();
            if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(parent).await.map_err(|e| {
                    StoreError::Unavailable(format!("creating {}: {e}", parent.display()))
                })?;
            }
        }
        Self::with_options(options, in_memory).await
    }

    async fn with_options(
        options: SqliteConnectOptions,
        in_memory: bool,
    ) -> Result<Self, StoreError> {
        let mut options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool_options = if in_memory {
            // One connection that never closes: an in-memory database dies with its last
            // connection, and a single connection also avoids shared-cache table locks.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            // WAL: readers never block the writer and several processes can share the file.
            // synchronous=NORMAL is durable across application crashes (WAL is fsynced at
            // checkpoints); only an OS crash or power loss may lose the latest commits.
            options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE)
        };
        let pool = pool_options
            .acquire_timeout(BUSY_TIMEOUT * 2)
            .connect_with(options)
            .await
            .map_err(map_sqlx_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        Ok(Self {
            db: Db::Sqlite(pool),
        })
    }

    /// Run the embedded migrations again (a no-op when the schema is current).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => MIGRATOR.run(pool).await,
            Db::Pg(pool) => crate::postgres::MIGRATOR.run(pool).await,
        }
        .map_err(|e| StoreError::Migration(e.to_string()))
    }
}
