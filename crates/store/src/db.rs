//! One pool of either database, and [`db_run!`], which writes a query's body once and
//! expands it once per database (the pattern vaultwarden uses for its three databases).
//!
//! Why not `sqlx::Any`: it takes its options only from a URL (no WAL or busy timeout for
//! SQLite), binds `?` placeholders that PostgreSQL rejects, and has no arrays. Why not a store
//! generic over `sqlx::Database`: every query would carry a dozen `Encode`/`Type`/`Executor`
//! bounds. Here each arm of the `match` is ordinary code against a concrete pool, so the
//! compiler checks the body twice and the source holds it once. SQL is written with `$N`
//! placeholders, which sqlx's SQLite driver binds by number too; where the databases differ
//! (row locks, `BEGIN IMMEDIATE`), [`Backend`] says which one runs.

use sqlx::{PgPool, SqlitePool};

use crate::error::map_sqlx_error;
use podsift_core::store::StoreError;

/// The pool a store runs on.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// What differs between the two pools, for bodies written once.
pub(crate) trait Backend {
    type Database: sqlx::Database;
    /// PostgreSQL: rows are locked explicitly (`FOR UPDATE`); SQLite's one write lock
    /// serialises writers already.
    const PG: bool;

    /// Whether this is PostgreSQL (for the few statements the dialects write differently).
    fn is_pg(&self) -> bool {
        Self::PG
    }

    /// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite (its write transaction holds the
    /// database's only write lock).
    fn for_update(&self) -> &'static str {
        if Self::PG { " FOR UPDATE" } else { "" }
    }

    /// The row lock a write takes on a parent row (a feed, an episode) before replacing its
    /// children: `" FOR NO KEY UPDATE"` on PostgreSQL, nothing on SQLite (its write
    /// transaction holds the only write lock). `NO KEY`: inserts of rows that refer to the
    /// locked one (which take `FOR KEY SHARE` on it) don't wait for it.
    fn for_no_key_update(&self) -> &'static str {
        if Self::PG { " FOR NO KEY UPDATE" } else { "" }
    }

    /// A write transaction: SQLite takes its write lock up front (`BEGIN IMMEDIATE`), so two
    /// writers queue on the busy timeout instead of failing on a lock upgrade; PostgreSQL
    /// runs at READ COMMITTED and locks rows where it must.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Database>, StoreError>;

    /// A read-only transaction on one snapshot: SQLite's deferred transaction reads one
    /// snapshot in WAL mode; PostgreSQL needs REPEATABLE READ (READ COMMITTED gives each
    /// statement its own).
    async fn begin_read(&self) -> Result<sqlx::Transaction<'static, Self::Database>, StoreError>;
}

impl Backend for SqlitePool {
    type Database = sqlx::Sqlite;
    const PG: bool = false;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(map_sqlx_error)
    }

    async fn begin_read(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.begin().await.map_err(map_sqlx_error)
    }
}

impl Backend for PgPool {
    type Database = sqlx::Postgres;
    const PG: bool = true;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.begin().await.map_err(map_sqlx_error)
    }

    async fn begin_read(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(map_sqlx_error)
    }
}

/// `db_run!(db, |pool| body)`: `body` once per database, `pool` bound to that database's
/// pool (a `&SqlitePool` in one arm, a `&PgPool` in the other).
macro_rules! db_run {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Pg($pool) => $body,
        }
    };
}
pub(crate) use db_run;
