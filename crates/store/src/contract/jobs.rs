//! Contract: the job queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use podsift_core::jobs::{FailureKind, JobKind, JobState, NewJob};
use podsift_core::store::{Store, StoreError};

use super::*;

const LEASE: Duration = Duration::from_secs(30);
const ALL: &[JobKind] = JobKind::ALL;

fn job(key: &str, run_after: i64, max_attempts: u32) -> NewJob {
    NewJob {
        kind: JobKind::FetchTranscript,
        dedupe_key: key.to_string(),
        payload: serde_json::json!({ "episode_id": 7, "key": key }),
        run_after: at(run_after),
        max_attempts,
    }
}

/// A second enqueue of unfinished work is a no-op; once done, the same key enqueues again.
pub async fn enqueue_dedupe(store: &dyn Store) {
    let first = store.enqueue(&job("k", 0, 5), t0()).await.unwrap();
    assert!(first.is_some());
    assert_eq!(store.enqueue(&job("k", 0, 5), t0()).await.unwrap(), None);
    let other = store.enqueue(&job("k2", 0, 5), t0()).await.unwrap();
    assert!(other.is_some() && other != first);

    let claimed = store.claim(ALL, "w", LEASE, t0()).await.unwrap().unwrap();
    assert_eq!(Some(claimed.id), first);
    assert_eq!(claimed.payload["key"], "k");
    assert_eq!(claimed.episode_id(), Some(7));
    assert_eq!(
        store.enqueue(&job("k", 0, 5), t0()).await.unwrap(),
        None,
        "running is unfinished"
    );
    assert!(store.complete(claimed.id, "w", at(1)).await.unwrap());
    let again = store.enqueue(&job("k", 0, 5), at(2)).await.unwrap();
    assert!(again.is_some() && again != first);
    let jobs = store.list_jobs(None, 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    let done = store.list_jobs(Some(JobState::Done), 10).await.unwrap();
    assert_eq!(
        done.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![claimed.id]
    );
    assert_eq!(done[0].lease_owner, None);
}

/// Claims go by `run_after`, then id; only the requested kinds; never before `run_after`.
pub async fn claim_order_and_run_after(store: &dyn Store) {
    let late = store
        .enqueue(&job("late", 50, 5), t0())
        .await
        .unwrap()
        .unwrap();
    let a = store
        .enqueue(&job("a", 10, 5), t0())
        .await
        .unwrap()
        .unwrap();
    let b = store
        .enqueue(&job("b", 10, 5), t0())
        .await
        .unwrap()
        .unwrap();
    let early = store
        .enqueue(&job("early", 5, 5), t0())
        .await
        .unwrap()
        .unwrap();
    let mut chapters = job("chapters", 0, 5);
    chapters.kind = JobKind::FetchChapters;
    let ch = store.enqueue(&chapters, t0()).await.unwrap().unwrap();

    let t = &[JobKind::FetchTranscript];
    assert!(
        store.claim(t, "w", LEASE, at(4)).await.unwrap().is_none(),
        "nothing runnable yet"
    );
    assert!(
        store
            .claim(&[], "w", LEASE, at(100))
            .await
            .unwrap()
            .is_none()
    );
    let long = Duration::from_secs(3600);
    let mut got = Vec::new();
    while let Some(j) = store.claim(t, "w", long, at(10)).await.unwrap() {
        assert_eq!(j.state, JobState::Running);
        assert_eq!(j.attempts, 1);
        assert_eq!(j.lease_owner.as_deref(), Some("w"));
        assert_eq!(j.lease_expires_at, Some(at(10) + long));
        got.push(j.id);
    }
    assert_eq!(got, vec![early, a, b]);
    assert_eq!(
        store
            .claim(t, "w", LEASE, at(50))
            .await
            .unwrap()
            .map(|j| j.id),
        Some(late)
    );
    let c = store
        .claim(&[JobKind::FetchChapters], "w", LEASE, at(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.id, c.kind), (ch, JobKind::FetchChapters));
    assert!(
        store
            .claim(ALL, "w", LEASE, at(50))
            .await
            .unwrap()
            .is_none()
    );
}

/// An expired lease is reclaimed by another worker; the first worker's heartbeat, complete
/// and fail are then refused; a heartbeat keeps a live lease from being reclaimed.
pub async fn lease_expiry_and_ownership(store: &dyn Store) {
    let id = store
        .enqueue(&job("lease", 0, 5), t0())
        .await
        .unwrap()
        .unwrap();
    let j = store.claim(ALL, "w1", LEASE, t0()).await.unwrap().unwrap();
    assert_eq!(j.id, id);
    assert!(
        store
            .claim(ALL, "w2", LEASE, at(29))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.heartbeat(id, "w1", LEASE, at(20)).await.unwrap());
    assert!(
        store
            .claim(ALL, "w2", LEASE, at(49))
            .await
            .unwrap()
            .is_none(),
        "heartbeat extended the lease to 50"
    );
    assert!(!store.heartbeat(id, "w2", LEASE, at(21)).await.unwrap());
    assert!(!store.complete(id, "w2", at(21)).await.unwrap());
    let s = store
        .fail(
            id,
            "w2",
            "not mine",
            FailureKind::Permanent,
            Duration::ZERO,
            at(21),
        )
        .await
        .unwrap();
    assert_eq!(
        s,
        JobState::Running,
        "a non-owner's failure changes nothing"
    );

    let re = store
        .claim(ALL, "w2", LEASE, at(50))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((re.id, re.attempts), (id, 2));
    assert_eq!(re.lease_owner.as_deref(), Some("w2"));
    assert!(!store.heartbeat(id, "w1", LEASE, at(51)).await.unwrap());
    assert!(!store.complete(id, "w1", at(51)).await.unwrap());
    assert!(store.complete(id, "w2", at(52)).await.unwrap());
    assert!(
        !store.complete(id, "w2", at(53)).await.unwrap(),
        "done is done"
    );
    assert!(!store.heartbeat(id, "w2", LEASE, at(53)).await.unwrap());
    let err = store
        .fail(id + 1000, "w2", "x", FailureKind::Retryable, LEASE, at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
}

/// Retryable failures requeue after the backoff until `max_attempts`, then the job is dead.
pub async fn retry_backoff_then_dead(store: &dyn Store) {
    let id = store
        .enqueue(&job("flaky", 0, 3), t0())
        .await
        .unwrap()
        .unwrap();
    let backoff = Duration::from_secs(60);
    let mut now = 0;
    for attempt in 1..=3u32 {
        let j = store
            .claim(ALL, "w", LEASE, at(now))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((j.id, j.attempts), (id, attempt));
        let state = store
            .fail(
                id,
                "w",
                &format!("boom {attempt}"),
                FailureKind::Retryable,
                backoff,
                at(now + 1),
            )
            .await
            .unwrap();
        if attempt < 3 {
            assert_eq!(state, JobState::Queued);
            let listed = store.list_jobs(Some(JobState::Queued), 10).await.unwrap();
            assert_eq!(listed[0].run_after, at(now + 61));
            assert_eq!(listed[0].lease_owner, None);
            assert!(
                store
                    .claim(ALL, "w", LEASE, at(now + 60))
                    .await
                    .unwrap()
                    .is_none(),
                "backoff respected"
            );
            now += 61;
        } else {
            assert_eq!(state, JobState::Dead);
        }
    }
    let dead = store.list_jobs(Some(JobState::Dead), 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].last_error.as_deref(), Some("boom 3"));
    assert_eq!(dead[0].attempts, 3);
    assert!(
        store
            .claim(ALL, "w", LEASE, at(100_000))
            .await
            .unwrap()
            .is_none()
    );
}

/// A permanent failure is dead at once; `retry_job` requeues a dead job with attempts reset.
pub async fn permanent_failure_and_retry_job(store: &dyn Store) {
    let id = store
        .enqueue(&job("broken", 0, 5), t0())
        .await
        .unwrap()
        .unwrap();
    assert!(
        !store.retry_job(id, t0()).await.unwrap(),
        "only dead jobs are retried"
    );
    store.claim(ALL, "w", LEASE, t0()).await.unwrap().unwrap();
    let s = store
        .fail(
            id,
            "w",
            "HTTP 404",
            FailureKind::Permanent,
            Duration::from_secs(60),
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(s, JobState::Dead);
    assert!(
        store
            .claim(ALL, "w", LEASE, at(1000))
            .await
            .unwrap()
            .is_none()
    );
    // Dead is finished: the same work may be enqueued anew, which blocks retrying the old one.
    assert!(store.retry_job(id, at(2)).await.unwrap());
    assert!(!store.retry_job(id, at(2)).await.unwrap());
    let j = store.claim(ALL, "w", LEASE, at(2)).await.unwrap().unwrap();
    assert_eq!((j.id, j.attempts), (id, 1));
    store
        .fail(id, "w", "again", FailureKind::Permanent, LEASE, at(3))
        .await
        .unwrap();
    let fresh = store.enqueue(&job("broken", 0, 5), at(4)).await.unwrap();
    assert!(fresh.is_some());
    assert!(
        !store.retry_job(id, at(5)).await.unwrap(),
        "equivalent job already pending"
    );
    assert!(!store.retry_job(id + 1000, at(5)).await.unwrap());
}

/// A job whose worker vanishes (its lease expires) is taken over by another worker, up to
/// [`crate::CRASH_ALLOWANCE`] times more than it may fail; then it goes dead.
pub async fn expired_final_attempt_goes_dead(store: &dyn Store) {
    let max = 2;
    let id = store
        .enqueue(&job("crashy", 0, max), t0())
        .await
        .unwrap()
        .unwrap();
    let claims = (max + crate::CRASH_ALLOWANCE) as i64;
    for n in 0..claims {
        let j = store
            .claim(ALL, &format!("w{n}"), LEASE, at(30 * n))
            .await
            .unwrap()
            .expect("taken over after its worker vanished");
        assert_eq!((j.id, j.attempts), (id, n as u32 + 1));
    }
    assert!(
        store
            .claim(ALL, "late", LEASE, at(30 * claims))
            .await
            .unwrap()
            .is_none()
    );
    let dead = store.list_jobs(Some(JobState::Dead), 10).await.unwrap();
    assert_eq!(dead.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    let last = format!("w{}", claims - 1);
    assert!(
        !store
            .complete(id, &last, at(30 * claims + 1))
            .await
            .unwrap()
    );
}

/// `list_jobs` filters by state, newest first, limited.
pub async fn list_jobs_filters(store: &dyn Store) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            store
                .enqueue(&job(&format!("l{i}"), 0, 5), t0())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    let j = store.claim(ALL, "w", LEASE, t0()).await.unwrap().unwrap();
    assert_eq!(j.id, ids[0]);
    let all: Vec<_> = store
        .list_jobs(None, 100)
        .await
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(all, ids.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(store.list_jobs(None, 2).await.unwrap().len(), 2);
    assert_eq!(
        store
            .list_jobs(Some(JobState::Queued), 100)
            .await
            .unwrap()
            .len(),
        4
    );
    let running = store.list_jobs(Some(JobState::Running), 100).await.unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].created_at, t0());
    assert_eq!(running[0].max_attempts, 5);
    assert!(
        store
            .list_jobs(Some(JobState::Dead), 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// An episode's jobs of every kind, newest first, and no other episode's (episode 12's
/// keys must not match episode 1's or 123's).
pub async fn episode_jobs_by_episode(store: &dyn Store) {
    let mut mine = Vec::new();
    for kind in [JobKind::FetchTranscript, JobKind::Transcribe] {
        let id = store
            .enqueue(&NewJob::for_episode(kind, 12, t0()), t0())
            .await
            .unwrap()
            .unwrap();
        mine.push(id);
    }
    for ep in [1, 123] {
        store
            .enqueue(&NewJob::for_episode(JobKind::Transcribe, ep, t0()), t0())
            .await
            .unwrap();
    }
    let j = store
        .claim(&[JobKind::FetchTranscript], "w", LEASE, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.id, mine[0]);
    store
        .fail(
            j.id,
            "w",
            "gone for good",
            FailureKind::Permanent,
            LEASE,
            t0(),
        )
        .await
        .unwrap();
    let jobs = store.episode_jobs(12).await.unwrap();
    let ids: Vec<_> = jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, vec![mine[1], mine[0]]);
    assert_eq!(jobs[1].state, JobState::Dead);
    assert_eq!(jobs[1].last_error.as_deref(), Some("gone for good"));
    assert!(store.episode_jobs(99).await.unwrap().is_empty());
}

/// A user's feeds being added: unfinished ones, and finished ones since a time; never
/// another user's (user 1's prefix must not match user 12's); `get_job` by id.
pub async fn feed_adds_by_user(store: &dyn Store) {
    let a = store
        .enqueue(&NewJob::subscribe(1, "https://a.example/feed", t0()), t0())
        .await
        .unwrap()
        .unwrap();
    let b = store
        .enqueue(
            &NewJob::subscribe(1, "https://b.example/feed", at(1)),
            at(1),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .enqueue(
                &NewJob::subscribe(1, "https://a.example/feed", at(2)),
                at(2)
            )
            .await
            .unwrap()
            .is_none(),
        "the same add while pending is a no-op"
    );
    store
        .enqueue(&NewJob::subscribe(12, "https://c.example/feed", t0()), t0())
        .await
        .unwrap();
    let j = store
        .claim(&[JobKind::Subscribe], "w", LEASE, at(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.id, a);
    assert_eq!(j.subscription(), Some((1, "https://a.example/feed")));
    store
        .fail(
            j.id,
            "w",
            "not a feed",
            FailureKind::Permanent,
            LEASE,
            at(10),
        )
        .await
        .unwrap();
    let ids = |jobs: Vec<podsift_core::Job>| jobs.iter().map(|j| j.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.feed_adds(1, at(10), 100).await.unwrap()),
        vec![b, a]
    );
    assert_eq!(ids(store.feed_adds(1, at(11), 100).await.unwrap()), vec![b]);
    assert_eq!(ids(store.feed_adds(1, at(0), 1).await.unwrap()), vec![b]);
    assert_eq!(store.feed_adds(12, at(0), 100).await.unwrap().len(), 1);
    assert!(store.feed_adds(2, at(0), 100).await.unwrap().is_empty());
    let got = store.get_job(a).await.unwrap().unwrap();
    assert_eq!(got.state, JobState::Dead);
    assert_eq!(got.last_error.as_deref(), Some("not a feed"));
    assert!(store.get_job(a + 1000).await.unwrap().is_none());
}

/// Work queued on the episodes of a user's shows: counted per subscriber, only while
/// queued or running, and only episode jobs.
pub async fn queued_episode_jobs_per_user(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let feed = feed_with_subscriber(store, "https://queued.example/rss").await;
    let stats = store
        .upsert_episodes(
            feed,
            &[episode("a", "h1", Some(1)), episode("b", "h2", Some(2))],
            10,
            t0(),
        )
        .await
        .unwrap();
    let (a, b) = (stats.new_candidates[0], stats.new_candidates[1]);
    assert_eq!(store.queued_episode_jobs(user).await.unwrap(), 0);
    for (kind, ep) in [
        (JobKind::FetchTranscript, a),
        (JobKind::ExtractInsights, b),
        (JobKind::Transcribe, b),
    ] {
        store
            .enqueue(&NewJob::for_episode(kind, ep, t0()), t0())
            .await
            .unwrap();
    }
    // Not an episode's work, and another user's feed: not counted.
    store
        .enqueue(
            &NewJob::subscribe(user, "https://x.example/rss", t0()),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(store.queued_episode_jobs(user).await.unwrap(), 3);
    let j = store
        .claim(&[JobKind::FetchTranscript], "w", LEASE, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store.queued_episode_jobs(user).await.unwrap(),
        3,
        "running counts"
    );
    store.complete(j.id, "w", t0()).await.unwrap();
    assert_eq!(
        store.queued_episode_jobs(user).await.unwrap(),
        2,
        "done does not"
    );
}

/// The backlog counts exactly what `claim` would hand out: due queued jobs and expired
/// leases (not a future `run_after`, not a live lease, not other kinds, not done or dead),
/// and it counts live leases apart.
pub async fn job_backlog_matches_claim(store: &dyn Store) {
    use podsift_core::jobs::JobBacklog;
    let fetch = &[JobKind::FetchTranscript];
    assert_eq!(
        store.job_backlog(ALL, t0()).await.unwrap(),
        JobBacklog::default()
    );
    store
        .enqueue(&job("due", 0, 5), t0())
        .await
        .unwrap()
        .unwrap();
    store
        .enqueue(&job("later", 100, 5), t0())
        .await
        .unwrap()
        .unwrap();
    let mut other = job("other", 0, 5);
    other.kind = JobKind::Transcribe;
    store.enqueue(&other, t0()).await.unwrap().unwrap();
    let b = store.job_backlog(fetch, at(1)).await.unwrap();
    assert_eq!(
        (b.runnable, b.leased),
        (1, 0),
        "only the due job of the kind"
    );
    assert_eq!(store.job_backlog(ALL, at(1)).await.unwrap().runnable, 2);

    // Claimed under a live lease: leased, not runnable.
    let claimed = store
        .claim(fetch, "w", LEASE, at(1))
        .await
        .unwrap()
        .unwrap();
    let b = store.job_backlog(fetch, at(2)).await.unwrap();
    assert_eq!((b.runnable, b.leased), (0, 1));
    // Its worker vanished: after the lease it is runnable again, as claim says.
    let after = at(1 + LEASE.as_secs() as i64 + 1);
    let b = store.job_backlog(fetch, after).await.unwrap();
    assert_eq!((b.runnable, b.leased), (1, 0));
    let taken = store
        .claim(fetch, "w2", LEASE, after)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.id, claimed.id);
    assert!(store.complete(taken.id, "w2", after).await.unwrap());
    // Done jobs are no work; the later one becomes due at its time.
    assert_eq!(store.job_backlog(fetch, after).await.unwrap().leased, 0);
    let b = store.job_backlog(fetch, at(100)).await.unwrap();
    assert_eq!((b.runnable, b.leased), (1, 0));
    assert_eq!(
        store.job_backlog(&[], at(100)).await.unwrap(),
        JobBacklog::default()
    );
}

/// Several workers on several store handles (same database) claim `jobs` jobs concurrently:
/// every job is done exactly once. `stores` must all point at one fresh database.
pub async fn concurrent_claims_exactly_once(
    stores: Vec<Arc<dyn Store>>,
    jobs: usize,
    workers_per_store: usize,
) {
    let first = stores.first().expect("at least one store").clone();
    for i in 0..jobs {
        let id = first
            .enqueue(&job(&format!("c{i}"), 0, 3), t0())
            .await
            .unwrap();
        assert!(id.is_some());
    }
    let seen: Arc<Mutex<HashMap<i64, Vec<String>>>> = Arc::default();
    let mut tasks = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..workers_per_store {
            let store = store.clone();
            let seen = seen.clone();
            let worker = format!("store{s}-worker{w}");
            tasks.push(tokio::spawn(async move {
                let lease = Duration::from_secs(3600);
                while let Some(j) = store.claim(ALL, &worker, lease, at(1)).await.unwrap() {
                    seen.lock()
                        .unwrap()
                        .entry(j.id)
                        .or_default()
                        .push(worker.clone());
                    tokio::task::yield_now().await;
                    assert!(store.complete(j.id, &worker, at(2)).await.unwrap());
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), jobs, "every job claimed");
        for (id, claimers) in seen.iter() {
            assert_eq!(claimers.len(), 1, "job {id} claimed by {claimers:?}");
        }
    }
    let done = first
        .list_jobs(Some(JobState::Done), jobs + 10)
        .await
        .unwrap();
    assert_eq!(done.len(), jobs);
    assert!(done.iter().all(|j| j.attempts == 1));
    assert!(
        first
            .list_jobs(Some(JobState::Queued), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        first
            .list_jobs(Some(JobState::Running), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
