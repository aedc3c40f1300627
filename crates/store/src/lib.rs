//! podsift-store: [`SqlStore`], the one implementation of [`podsift_core::Store`] (and of the
//! LLM answer cache) for SQLite and PostgreSQL, including the job queue with leases, plus
//! [`contract`], a store-agnostic test suite it must pass on both. [`connect`] picks the
//! database by URL.
//!
//! Each query is written once (`crate::db`: an enum of the two pools and `db_run!`, which
//! expands one body per database, with `$N` placeholders both drivers bind); dialect arms
//! remain only where the databases differ: row locks, the job claim, full-text search.
//!
//! Storage conventions, the same in both (see `migrations/0001_initial.sql` and
//! `migrations-pg/0001_initial.sql`):
//! - timestamps are `BIGINT` unix epoch **milliseconds** (UTC); sub-millisecond precision of a
//!   `DateTime` handed to the store is dropped;
//! - structured values (a `ParsedEpisode`, a `TranscriptSource`, a job payload) are JSON text;
//! - transcript segments and chapters are rows (`segments`, `chapters`), in order by `idx`.
//!
//! Concurrency on SQLite: every multi-statement write runs in a `BEGIN IMMEDIATE` transaction
//! (the write lock is taken up front, so two writers queue on `busy_timeout` instead of
//! failing on a lock upgrade); claiming a job is one `UPDATE … RETURNING` statement, atomic
//! across processes. PostgreSQL: see `postgres.rs` (row locks, `SKIP LOCKED` claims).

mod convert;
mod db;
mod discovery;
mod episodes;
mod error;
mod feedback;
mod feeds;
mod identity;
mod insights;
mod jobs;
mod postgres;
mod rows;
mod sqlite;
mod store;
mod transcripts;
mod users;
mod web;

pub mod contract;

use std::sync::Arc;

use podsift_core::store::{Store, StoreError};

pub use error::map_sqlx_error;
pub use jobs::CRASH_ALLOWANCE;
pub use postgres::PgOptions;
pub use sqlite::BUSY_TIMEOUT;
pub use store::SqlStore;

/// A store that is also the LLM answer cache ([`SqlStore`] is): what [`connect_database`]
/// returns, so a caller can keep it as `Arc<dyn Store>` and `Arc<dyn LlmCache>` at once.
pub trait Database: Store + podsift_core::LlmCache {}

impl<T: Store + podsift_core::LlmCache> Database for T {}

/// Open the database a URL names and apply pending migrations ([`SqlStore::connect`]):
/// `sqlite://path`, `sqlite::memory:`, `postgres://…` or `postgresql://…`. Any other scheme is
/// a [`StoreError::Permanent`] error.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let db: Arc<dyn Store> = connect_database(url).await?;
    Ok(db)
}

/// [`connect`], keeping the LLM cache side of the store too.
pub async fn connect_database(url: &str) -> Result<Arc<dyn Database>, StoreError> {
    Ok(Arc::new(SqlStore::connect(url).await?))
}

/// `url` with any password replaced by `***`, safe to log or show: the userinfo password and
/// a `password=` query parameter. Something that does not parse as a URL is reduced to its
/// scheme.
pub fn redact_url(url: &str) -> String {
    const MASK: &str = "***";
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                // Only fails for URLs that cannot have a password, which this one has.
                let _ = parsed.set_password(Some(MASK));
            }
            let secret_query = parsed
                .query_pairs()
                .any(|(k, _)| k.eq_ignore_ascii_case("password"));
            if secret_query {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k.eq_ignore_ascii_case("password") {
                            MASK.to_string()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        Err(_) => match url.split_once(':') {
            Some((scheme, _))
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
            {
                format!("{scheme}:<unparsable URL>")
            }
            _ => "<unparsable URL>".to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/podsift"),
            "postgres://app:***@db.example:5432/podsift"
        );
        let q = redact_url("postgresql://app@db/podsift?sslmode=require&password=s3cret");
        assert!(!q.contains("s3cret"), "{q}");
        assert!(q.contains("sslmode=require"), "{q}");
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/postgres"),
            "postgres://postgres@127.0.0.1/postgres"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        let bad = redact_url("postgres://app:s3cret@[::1/x");
        assert!(!bad.contains("s3cret"), "{bad}");
        assert!(!redact_url("no scheme s3cret").contains("s3cret"));
    }
}
