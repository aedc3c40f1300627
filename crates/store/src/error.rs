//! Mapping sqlx errors onto the store's retryable / permanent distinction.

use podsift_core::store::StoreError;
use sqlx::postgres::PgDatabaseError;

/// SQLite primary result codes that mean "try again later" (the extended code's low byte).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_NOMEM: i64 = 7;
const SQLITE_IOERR: i64 = 10;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_PROTOCOL: i64 = 15;

/// Map an sqlx error from either driver: a busy/locked SQLite database, a lost PostgreSQL
/// connection, a serialization failure or deadlock, pool timeout and I/O trouble become
/// [`StoreError::Unavailable`] (retryable); constraint violations, decode errors and anything
/// else become [`StoreError::Permanent`].
pub fn map_sqlx_error(err: sqlx::Error) -> StoreError {
    use sqlx::Error as E;
    match &err {
        E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Io(_) => {
            StoreError::Unavailable(err.to_string())
        }
        E::Database(db) if db.try_downcast_ref::<PgDatabaseError>().is_some() => {
            if db.code().as_deref().is_some_and(pg_code_is_transient) {
                StoreError::Unavailable(err.to_string())
            } else {
                StoreError::Permanent(err.to_string())
            }
        }
        E::Database(db) => {
            let primary = db
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .map(|c| c & 0xff);
            match primary {
                Some(
                    SQLITE_BUSY | SQLITE_LOCKED | SQLITE_NOMEM | SQLITE_IOERR | SQLITE_FULL
                    | SQLITE_CANTOPEN | SQLITE_PROTOCOL,
                ) => StoreError::Unavailable(err.to_string()),
                _ => StoreError::Permanent(err.to_string()),
            }
        }
        _ => StoreError::Permanent(err.to_string()),
    }
}

/// PostgreSQL SQLSTATEs worth retrying: the connection broke (class 08), a serialization
/// failure or deadlock (40001, 40P01), the server is out of resources (class 53), a lock or
/// statement timeout (55P03, 57014), the server is shutting down or starting (57P01..57P03).
/// Everything else (constraints 23xxx, syntax, a missing database, bad credentials) is
/// permanent: retrying the same statement gives the same answer.
fn pg_code_is_transient(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "40001" | "40P01" | "55P03" | "57014" | "57P01" | "57P02" | "57P03"
        )
}

/// True when the error is a unique-constraint violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_timeout_and_io_are_retryable() {
        assert!(map_sqlx_error(sqlx::Error::PoolTimedOut).is_retryable());
        let io = std::io::Error::other("disk went away");
        assert!(map_sqlx_error(sqlx::Error::Io(io)).is_retryable());
    }

    #[test]
    fn pg_transient_codes() {
        for code in [
            "08006", "08001", "40001", "40P01", "53300", "55P03", "57P01",
        ] {
            assert!(pg_code_is_transient(code), "{code}");
        }
        for code in ["23505", "23503", "42601", "3D000", "28P01", "22P02"] {
            assert!(!pg_code_is_transient(code), "{code}");
        }
    }

    #[test]
    fn decode_and_missing_rows_are_permanent() {
        assert!(!map_sqlx_error(sqlx::Error::RowNotFound).is_retryable());
        assert!(!map_sqlx_error(sqlx::Error::ColumnNotFound("x".into())).is_retryable());
        assert!(!map_sqlx_error(sqlx::Error::Protocol("bad".into())).is_retryable());
    }
}
