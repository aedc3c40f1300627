//! The store contract (`podsift_store::contract`) run against PostgreSQL, plus what only
//! PostgreSQL has (`SKIP LOCKED` claims, SQLSTATE mapping, URL dispatch and redaction).
//!
//! Each test creates its own database `podsift_t_<unique>` through an admin connection to
//! `PODSIFT_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) and drops it
//! afterwards (also when the test fails). Without a reachable server every test prints
//! `SKIP: PostgreSQL not reachable at …` to stderr and passes (`scripts/ensure-postgres`
//! starts one).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use podsift_core::jobs::{JobKind, NewJob};
use podsift_core::store::{Store, StoreError};
use podsift_store::contract::{
    discovery, episodes, feedback, feeds, insights, jobs, redo, t0, transcripts, users, web,
};
use podsift_store::{PgOptions, SqlStore};

use podsift_testkit::pg::TestDb;

async fn store(db: &TestDb) -> SqlStore {
    SqlStore::connect(&db.url)
        .await
        .expect("connect to test db")
}

/// Run `test` against `handles` stores on one fresh database, then drop the database; a
/// panic in `test` is re-raised after the cleanup.
async fn with_stores<F, Fut>(handles: usize, test: F)
where
    F: FnOnce(Vec<SqlStore>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut stores = Vec::new();
    for _ in 0..handles {
        stores.push(store(&db).await);
    }
    let closers = stores.clone();
    let result = tokio::spawn(test(stores)).await;
    for s in closers {
        s.close().await;
    }
    db.drop_db().await;
    if let Err(e) = result {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

async fn with_store<F, Fut>(test: F)
where
    F: FnOnce(SqlStore) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_stores(1, |mut stores| test(stores.remove(0))).await;
}

fn dyn_stores(stores: Vec<SqlStore>) -> Vec<Arc<dyn Store>> {
    stores
        .into_iter()
        .map(|s| Arc::new(s) as Arc<dyn Store>)
        .collect()
}

/// One `#[tokio::test]` per contract function that takes just a fresh store.
macro_rules! contract {
    ($($module:ident :: $name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                with_store(|store| async move { $module::$name(&store).await }).await;
            }
        )*
    };
}

podsift_store::for_each_contract_test!(contract);

#[tokio::test]
async fn two_users_share_one_feed() {
    with_store(|store| async move {
        let second = store
            .create_user("alice", Some("alice@example.org"), t0())
            .await
            .unwrap();
        feeds::two_users_share_one_feed(&store, second).await;
    })
    .await;
}

#[tokio::test]
async fn admissions_reach_their_readers() {
    with_store(|store| async move {
        let second = store
            .create_user("bob", Some("bob@example.org"), t0())
            .await
            .unwrap();
        discovery::admissions_reach_their_readers(&store, second).await;
    })
    .await;
}

#[tokio::test]
async fn subscribers_and_audio_usage() {
    with_store(|store| async move {
        let second = store
            .create_user("carol", Some("carol@example.org"), t0())
            .await
            .unwrap();
        feeds::subscribers_and_audio_usage(&store, second).await;
    })
    .await;
}

#[tokio::test]
async fn record_poll_url_merge() {
    with_store(|store| async move {
        let second = store.create_user("bob", None, t0()).await.unwrap();
        feeds::record_poll_url_merge(&store, second).await;
    })
    .await;
}

/// 400 jobs, four store handles (like four worker processes) on one database, six claiming
/// tasks each: every job is claimed and completed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_four_handles() {
    with_stores(4, |stores| async move {
        jobs::concurrent_claims_exactly_once(dyn_stores(stores), 400, 6).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_digest_exactly_once() {
    with_stores(3, |stores| async move {
        insights::concurrent_digest_exactly_once(dyn_stores(stores)).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upserts_of_one_feed() {
    with_stores(3, |stores| async move {
        episodes::concurrent_upserts_of_one_feed(dyn_stores(stores)).await;
    })
    .await;
}

/// A job row locked by another transaction (a claimer mid-statement) is skipped, not waited
/// for: the claim returns the next job at once, and the locked one once it is released.
#[tokio::test]
async fn claim_skips_locked_rows() {
    with_store(|store| async move {
        let job = |key: &str| NewJob {
            kind: JobKind::FetchTranscript,
            dedupe_key: key.into(),
            payload: serde_json::json!({}),
            run_after: t0(),
            max_attempts: 3,
        };
        let a = store.enqueue(&job("a"), t0()).await.unwrap().unwrap();
        let b = store.enqueue(&job("b"), t0()).await.unwrap().unwrap();
        let mut holder = store.pg_pool().unwrap().begin().await.unwrap();
        sqlx::query("SELECT id FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(a)
            .fetch_one(&mut *holder)
            .await
            .unwrap();
        let lease = Duration::from_secs(30);
        let got = tokio::time::timeout(
            Duration::from_secs(5),
            store.claim(JobKind::ALL, "w1", lease, t0()),
        )
        .await
        .expect("claim must not wait for a locked row")
        .unwrap()
        .unwrap();
        assert_eq!(got.id, b);
        let none = tokio::time::timeout(
            Duration::from_secs(5),
            store.claim(JobKind::ALL, "w2", lease, t0()),
        )
        .await
        .expect("claim must not wait for a locked row")
        .unwrap();
        assert!(none.is_none(), "the only other job is locked");
        holder.rollback().await.unwrap();
        let got = store
            .claim(JobKind::ALL, "w2", lease, t0())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((got.id, got.attempts), (a, 1));
    })
    .await;
}

#[tokio::test]
async fn llm_cache_round_trip() {
    use podsift_core::{LlmCache, LlmResponse};
    with_store(|store| async move {
        assert!(store.get("k").await.is_none());
        let r = LlmResponse {
            text: "{\"insights\":[]}".into(),
            prompt_tokens: 10,
            completion_tokens: 2,
        };
        store.put("k", &r).await;
        assert_eq!(store.get("k").await, Some(r.clone()));
        let r2 = LlmResponse {
            text: "other".into(),
            ..r
        };
        store.put("k", &r2).await;
        assert_eq!(store.get("k").await, Some(r2));
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    with_stores(2, |stores| async move {
        let (first, second) = (&stores[0], &stores[1]);
        first.migrate().await.unwrap();
        second.migrate().await.unwrap();
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(second.pg_pool().unwrap())
            .await
            .unwrap();
        let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations-pg"))
            .unwrap()
            .count();
        assert_eq!(usize::try_from(applied).unwrap(), shipped);
        assert_eq!(SqlStore::shipped_pg_migrations(), shipped);
        // Same versions as the SQLite migrations: the two schemas move in step.
        let sqlite = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .count();
        assert_eq!(shipped, sqlite);
        let user = first.default_user(t0()).await.unwrap();
        assert_eq!(second.default_user(t0()).await.unwrap(), user);
    })
    .await;
}

#[tokio::test]
async fn duplicate_user_name_is_permanent() {
    with_store(|store| async move {
        store.create_user("carol", None, t0()).await.unwrap();
        let err = store.create_user("carol", None, t0()).await.unwrap_err();
        assert!(matches!(err, StoreError::Permanent(_)), "{err}");
    })
    .await;
}

/// Real server errors: serialization failures and deadlocks are retryable, constraint
/// violations are not.
#[tokio::test]
async fn sqlstate_mapping() {
    with_store(|store| async move {
        for (code, retryable) in [
            ("40001", true),
            ("40P01", true),
            ("57P01", true),
            ("23505", false),
            ("42601", false),
        ] {
            let sql =
                format!("DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '{code}'; END $$");
            let err = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(store.pg_pool().unwrap())
                .await
                .unwrap_err();
            let mapped = podsift_store::map_sqlx_error(err);
            assert_eq!(mapped.is_retryable(), retryable, "{code}: {mapped}");
        }
    })
    .await;
}

/// `connect` dispatches on the scheme; both stores come back working.
#[tokio::test]
async fn connect_dispatches_on_scheme() {
    let sqlite = podsift_store::connect("sqlite::memory:").await.unwrap();
    sqlite.default_user(t0()).await.unwrap();
    let err = podsift_store::connect("mysql://u:hunter2@localhost/db")
        .await
        .err()
        .expect("mysql is not supported");
    assert!(matches!(err, StoreError::Permanent(_)), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let Some(db) = TestDb::create().await else {
        return;
    };
    let store = podsift_store::connect(&db.url).await.unwrap();
    let user = store.default_user(t0()).await.unwrap();
    assert_eq!(store.get_user(user).await.unwrap().unwrap().name, "local");
    let alt = db.url.replacen("postgres://", "postgresql://", 1);
    let db2 = podsift_store::connect_database(&alt).await.unwrap();
    assert_eq!(db2.default_user(t0()).await.unwrap(), user);
    drop((store, db2));
    db.drop_db().await;
}

/// An unreachable server is retryable, and the error never shows the password.
#[tokio::test]
async fn unreachable_server_is_retryable_and_redacted() {
    let options = PgOptions {
        acquire_timeout: Duration::from_millis(500),
        ..PgOptions::default()
    };
    let err = SqlStore::connect_pg("postgres://app:hunter2@127.0.0.1:1/podsift", options)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");

    let err = SqlStore::connect("postgres://app:hunter2@127.0.0.1:notaport/db")
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

/// `sslmode=require` gives an encrypted connection (workers on other machines), when the
/// server has TLS on (Debian's default cluster does, with its snakeoil certificate).
#[tokio::test]
async fn tls_when_required() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let store = store(&db).await;
    let server_ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(store.pg_pool().unwrap())
        .await
        .unwrap();
    store.close().await;
    if server_ssl != "on" {
        podsift_testkit::skip(
            module_path!(),
            &format!("the test PostgreSQL server has ssl = {server_ssl}"),
        );
        db.drop_db().await;
        return;
    }
    let mut url = url::Url::parse(&db.url).unwrap();
    url.query_pairs_mut().append_pair("sslmode", "require");
    let tls = SqlStore::connect(url.as_str()).await.unwrap();
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(tls.pg_pool().unwrap())
        .await
        .unwrap();
    tls.close().await;
    db.drop_db().await;
    assert!(ssl, "sslmode=require must give a TLS connection");
}
