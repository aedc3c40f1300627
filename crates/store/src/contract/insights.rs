//! Contract: insights, extraction reports, digests and the delivery outbox.

use std::time::Duration;

use chrono::NaiveDate;
use podsift_core::insight::{
    DeliveryOutcome, Digest, DigestItem, DigestStats, ExtractionReport, InsightDraft,
};
use podsift_core::model::*;
use podsift_core::store::Store;

use super::{at, episode, feed_with_subscriber, t0};

pub(crate) fn draft(text: &str, start: f64) -> InsightDraft {
    InsightDraft {
        text: text.to_string(),
        quote: format!("quote for {text}"),
        start_seconds: start,
        end_seconds: start + 5.0,
        speaker: Some("Ann".into()),
        topics: vec!["topic".into()],
        importance: 0.8,
        novelty: 0.5,
        specificity: 0.7,
        chapter: None,
        ..Default::default()
    }
}

pub(crate) async fn episode_with_transcript(store: &dyn Store, url: &str) -> EpisodeId {
    let feed = feed_with_subscriber(store, url).await;
    let stats = store
        .upsert_episodes(feed, &[episode("a", "h1", Some(10))], 3, t0())
        .await
        .unwrap();
    let ep = stats.new_candidates[0];
    store
        .save_transcript(
            &Transcript {
                episode_id: ep,
                source: TranscriptSource::Local {
                    model: "test".into(),
                },
                language: None,
                segments: vec![Segment {
                    start: 0.0,
                    end: 5.0,
                    speaker: None,
                    text: "hello".into(),
                }],
                skipped: 0,
                created_at: t0(),
            },
            None,
        )
        .await
        .unwrap();
    ep
}

pub(crate) fn digest_of(date: NaiveDate, ids: &[i64]) -> Digest {
    Digest {
        date,
        user: "local".into(),
        insights: ids
            .iter()
            .enumerate()
            .map(|(i, id)| DigestItem {
                rank: i + 1,
                text: format!("insight {id}"),
                quote: "q".into(),
                podcast: "Show".into(),
                episode: "Ep".into(),
                episode_url: None,
                audio_url: Some("https://cdn.example.org/a.mp3".into()),
                start_seconds: 1.0,
                end_seconds: 2.0,
                link: Some("https://cdn.example.org/a.mp3#t=1".into()),
                score: 0.5,
                reasons: vec!["because".into()],
                insight_id: *id,
            })
            .collect(),
        stats: DigestStats::default(),
    }
}

/// An episode whose extraction job exists (queued, running, done or dead) is not listed
/// again: two workers racing to queue it make one job, a finished one is not redone.
pub async fn episode_with_an_extraction_job_is_not_listed(store: &dyn Store) {
    use podsift_core::jobs::{JobKind, NewJob};
    let ep = episode_with_transcript(store, "https://example.org/j.xml").await;
    assert_eq!(store.episodes_needing_insights(10).await.unwrap(), vec![ep]);
    let job = NewJob::for_episode(JobKind::ExtractInsights, ep, t0());
    let id = store.enqueue(&job, t0()).await.unwrap().unwrap();
    assert!(
        store
            .episodes_needing_insights(10)
            .await
            .unwrap()
            .is_empty()
    );
    let claimed = store
        .claim(
            &[JobKind::ExtractInsights],
            "w",
            std::time::Duration::from_secs(30),
            t0(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, id);
    assert!(store.complete(id, "w", at(1)).await.unwrap());
    assert!(
        store
            .episodes_needing_insights(10)
            .await
            .unwrap()
            .is_empty(),
        "done, even without an extraction record"
    );
}

/// Extraction is recorded once, replaces earlier insights, and episodes needing it are listed.
pub async fn extraction_round_trip(store: &dyn Store) {
    let ep = episode_with_transcript(store, "https://example.org/i.xml").await;
    assert_eq!(store.episodes_needing_insights(10).await.unwrap(), vec![ep]);
    let report = ExtractionReport {
        windows_total: 3,
        windows_processed: 2,
        windows_skipped: vec![(2, "sponsor read".into())],
        prompt_tokens: 1000,
        completion_tokens: 200,
        coverage: 0.66,
        ..Default::default()
    };
    let ids = store
        .save_extraction(
            ep,
            "m1",
            &[draft("B", 50.0), draft("A", 10.0)],
            &report,
            None,
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert!(
        store
            .episodes_needing_insights(10)
            .await
            .unwrap()
            .is_empty()
    );
    let (model, back) = store.get_extraction(ep).await.unwrap().unwrap();
    assert_eq!(model, "m1");
    assert_eq!(back, report);
    let listed = store.episode_insights(ep).await.unwrap();
    let texts: Vec<&str> = listed.iter().map(|c| c.draft.text.as_str()).collect();
    assert_eq!(texts, ["A", "B"], "time order");
    assert_eq!(listed[0].podcast, "Title of https://example.org/i.xml");
    assert_eq!(
        listed[0].audio_url.as_deref(),
        Some("https://cdn.example.org/a.mp3")
    );
    // A rerun replaces, never duplicates.
    store
        .save_extraction(ep, "m2", &[draft("C", 1.0)], &report, None, at(2))
        .await
        .unwrap();
    assert_eq!(store.episode_insights(ep).await.unwrap().len(), 1);
    assert!(
        store
            .save_extraction(9999, "m", &[], &report, None, at(2))
            .await
            .is_err()
    );
}

/// The daily caps' query: what the extractions saved since a time spent.
pub async fn llm_spend_adds_up_saved_extractions(store: &dyn Store) {
    let none = store.llm_spend_since(at(0)).await.unwrap();
    assert_eq!((none.prompt_tokens, none.cost_usd), (0, 0.0));
    let a = episode_with_transcript(store, "https://example.org/s1.xml").await;
    let b = episode_with_transcript(store, "https://example.org/s2.xml").await;
    let report = |tokens, usd| ExtractionReport {
        prompt_tokens: tokens,
        cost_usd: usd,
        ..Default::default()
    };
    store
        .save_extraction(a, "m", &[], &report(1000, 0.25), None, at(1))
        .await
        .unwrap();
    store
        .save_extraction(b, "m", &[], &report(500, 0.5), None, at(3))
        .await
        .unwrap();
    let all = store.llm_spend_since(at(1)).await.unwrap();
    assert_eq!(all.prompt_tokens, 1500);
    assert!((all.cost_usd - 0.75).abs() < 1e-9, "{all:?}");
    let late = store.llm_spend_since(at(2)).await.unwrap();
    assert_eq!(late.prompt_tokens, 500);
}

/// One insight added to an episode's (the daily editor's connection): the others and their
/// ids stay, it is a candidate with its evidence's episodes, an unknown episode is refused.
pub async fn add_insight_keeps_the_others(store: &dyn Store) {
    use podsift_core::insight::Evidence;
    let ep = episode_with_transcript(store, "https://example.org/add.xml").await;
    let user = store.default_user(t0()).await.unwrap();
    let ids = store
        .save_extraction(
            ep,
            "m",
            &[draft("A", 1.0)],
            &ExtractionReport::default(),
            None,
            at(1),
        )
        .await
        .unwrap();
    let mut connection = draft("C", 3.0);
    connection.topics = vec!["connection".into()];
    connection.evidence = vec![Evidence {
        quote: "from elsewhere".into(),
        start_seconds: 40.0,
        end_seconds: 45.0,
        speaker: None,
        episode_id: Some(7),
    }];
    let id = store.add_insight(ep, &connection, at(2)).await.unwrap();
    assert!(!ids.contains(&id));
    let stored = store.episode_insights(ep).await.unwrap();
    let got: Vec<(i64, &str)> = stored
        .iter()
        .map(|c| (c.id, c.draft.text.as_str()))
        .collect();
    assert_eq!(got, vec![(ids[0], "A"), (id, "C")]);
    let candidates = store.insight_candidates(user, at(0)).await.unwrap();
    let c = candidates.iter().find(|c| c.id == id).expect("a candidate");
    assert_eq!(c.draft, connection);
    assert_eq!(c.draft.evidence[0].episode_id, Some(7));
    assert!(matches!(
        store.add_insight(9999, &connection, at(2)).await,
        Err(podsift_core::store::StoreError::NotFound(_))
    ));
    let mut bad = connection.clone();
    bad.start_seconds = f64::NAN;
    assert!(store.add_insight(ep, &bad, at(2)).await.is_err());
}

/// One digest per user and day; candidates exclude what the user was already sent; the
/// outbox rows are written with the digest and move pending → sending → sent exactly once.
pub async fn digest_and_outbox(store: &dyn Store) {
    let ep = episode_with_transcript(store, "https://example.org/d.xml").await;
    let user = store.default_user(t0()).await.unwrap();
    assert_eq!(store.get_user(user).await.unwrap().unwrap().id, user);
    let ids = store
        .save_extraction(
            ep,
            "m",
            &[draft("A", 1.0), draft("B", 2.0)],
            &ExtractionReport::default(),
            None,
            at(1),
        )
        .await
        .unwrap();
    assert_eq!(store.insight_candidates(user, t0()).await.unwrap().len(), 2);
    assert!(
        store
            .insight_candidates(user, at(2))
            .await
            .unwrap()
            .is_empty()
    );

    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let channels = vec!["file:/tmp/x".to_string(), "email:a@example.org".to_string()];
    let (id, created) = store
        .create_digest(user, &digest_of(day, &ids[..1]), &channels, at(3))
        .await
        .unwrap();
    assert!(created);
    let (id2, created2) = store
        .create_digest(user, &digest_of(day, &ids), &channels, at(4))
        .await
        .unwrap();
    assert_eq!((id2, created2), (id, false), "one digest per day");
    assert_eq!(
        store
            .get_digest(user, day)
            .await
            .unwrap()
            .unwrap()
            .1
            .insights
            .len(),
        1
    );
    assert_eq!(store.latest_digest(user).await.unwrap().unwrap().0, id);
    assert_eq!(store.digest_by_id(id).await.unwrap().unwrap().date, day);
    assert!(store.digest_by_id(id + 100).await.unwrap().is_none());
    let left = store.insight_candidates(user, t0()).await.unwrap();
    assert_eq!(left.len(), 1, "sent insights are not candidates again");
    assert_eq!(left[0].id, ids[1]);

    let stale = Duration::from_secs(600);
    let due = store.due_deliveries(at(3), stale).await.unwrap();
    assert_eq!(due.len(), 2);
    let d = &due[0];
    assert!(store.start_delivery(d.id, at(5), stale).await.unwrap());
    assert!(
        !store.start_delivery(d.id, at(5), stale).await.unwrap(),
        "a second sender is refused"
    );
    store
        .finish_delivery(
            d.id,
            &DeliveryOutcome::Sent {
                receipt: "msg-1".into(),
            },
            at(6),
        )
        .await
        .unwrap();
    let other = &due[1];
    assert!(store.start_delivery(other.id, at(5), stale).await.unwrap());
    store
        .finish_delivery(
            other.id,
            &DeliveryOutcome::Retry {
                error: "server down".into(),
                retry_at: at(100),
            },
            at(6),
        )
        .await
        .unwrap();
    let due = store.due_deliveries(at(50), stale).await.unwrap();
    assert!(due.is_empty(), "sent is done, the retry waits");
    let due = store.due_deliveries(at(100), stale).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].attempts, 1);
    assert_eq!(due[0].last_error.as_deref(), Some("server down"));
    // A send that crashed mid-way (still `sending`) becomes due again once stale.
    assert!(
        store
            .start_delivery(due[0].id, at(100), stale)
            .await
            .unwrap()
    );
    assert!(
        store
            .due_deliveries(at(200), stale)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.due_deliveries(at(800), stale).await.unwrap().len(), 1);
    store
        .finish_delivery(
            due[0].id,
            &DeliveryOutcome::Dead {
                error: "bad address".into(),
            },
            at(801),
        )
        .await
        .unwrap();
    let all = store.list_deliveries(id).await.unwrap();
    let states: Vec<&str> = all.iter().map(|d| d.state.as_str()).collect();
    assert_eq!(states, ["sent", "dead"]);
    assert_eq!(all[0].receipt.as_deref(), Some("msg-1"));
}

/// Several processes (store handles on one database) create the same user's digest for the
/// same day at once: exactly one creates it, every other call gets its id back, and the
/// outbox holds one delivery per channel. `stores` must all point at one fresh database.
pub async fn concurrent_digest_exactly_once(stores: Vec<std::sync::Arc<dyn Store>>) {
    let first = stores.first().expect("at least one store").clone();
    let user = first.default_user(t0()).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
    let channels = vec!["email:a@example.org".to_string(), "file:/tmp/d".to_string()];
    let mut tasks = Vec::new();
    for (i, store) in stores.iter().cycle().take(stores.len() * 4).enumerate() {
        let store = store.clone();
        let channels = channels.clone();
        tasks.push(tokio::spawn(async move {
            let ids = [i64::try_from(i).unwrap() + 1];
            store
                .create_digest(user, &digest_of(day, &ids), &channels, at(1))
                .await
                .unwrap()
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let created: Vec<_> = results.iter().filter(|(_, new)| *new).collect();
    assert_eq!(created.len(), 1, "exactly one creator: {results:?}");
    let id = created[0].0;
    assert!(results.iter().all(|(d, _)| *d == id), "{results:?}");
    let deliveries = first.list_deliveries(id).await.unwrap();
    assert_eq!(deliveries.len(), channels.len());
    assert_eq!(
        first
            .due_deliveries(at(1), Duration::from_secs(60))
            .await
            .unwrap()
            .len(),
        2
    );
    let (got, digest) = first.get_digest(user, day).await.unwrap().unwrap();
    assert_eq!((got, digest.insights.len()), (id, 1));
}
