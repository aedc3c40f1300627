//! Contract: a job's result is written only under the lease it holds, and an episode
//! extracted again keeps its insights' ids (and so their votes and "already sent").

use chrono::NaiveDate;
use podsift_core::insight::{ExtractionReport, InsightDraft};
use podsift_core::jobs::{Fence, JobKind, NewJob};
use podsift_core::model::*;
use podsift_core::store::{Store, StoreError};

use super::insights::{digest_of, draft, episode_with_transcript};
use super::{at, t0};

fn segments(text: &str) -> Transcript {
    Transcript {
        episode_id: 0,
        source: TranscriptSource::Local {
            model: "test".into(),
        },
        language: None,
        segments: vec![Segment {
            start: 0.0,
            end: 5.0,
            speaker: None,
            text: text.into(),
        }],
        skipped: 0,
        created_at: t0(),
    }
}

/// Saves `drafts` as the episode's extraction (model "m", an empty report).
async fn save(
    store: &dyn Store,
    ep: EpisodeId,
    drafts: &[InsightDraft],
    fence: Option<&Fence>,
    t: i64,
) -> Result<Vec<i64>, StoreError> {
    store
        .save_extraction(ep, "m", drafts, &ExtractionReport::default(), fence, at(t))
        .await
}

/// A worker paused past its lease (another claim took the job over, even one under the same
/// worker name) writes nothing: its insights, transcript and chapters are refused with
/// `LeaseLost` and what the new holder wrote stays.
pub async fn a_lost_lease_writes_nothing(store: &dyn Store) {
    let ep = episode_with_transcript(store, "https://example.org/fence.xml").await;
    let lease = std::time::Duration::from_secs(10);
    store
        .enqueue(
            &NewJob::for_episode(JobKind::ExtractInsights, ep, t0()),
            t0(),
        )
        .await
        .unwrap();
    let kinds = [JobKind::ExtractInsights];
    let first = store
        .claim(&kinds, "w1", lease, at(1))
        .await
        .unwrap()
        .unwrap();
    let stale = first.fence("w1");
    // Still held: a fenced write goes through.
    save(store, ep, &[draft("A", 1.0)], Some(&stale), 2)
        .await
        .unwrap();
    // w1 stalls past its lease; w2 takes the job over and writes.
    let second = store
        .claim(&kinds, "w2", lease, at(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.id, first.id);
    let held = second.fence("w2");
    let ids = save(store, ep, &[draft("B", 2.0)], Some(&held), 31)
        .await
        .unwrap();
    // w1 wakes up and tries to write its result: refused, nothing changes.
    let late = save(store, ep, &[draft("C", 3.0)], Some(&stale), 32).await;
    assert!(matches!(late, Err(StoreError::LeaseLost(_))), "{late:?}");
    let mut t = segments("late words");
    t.episode_id = ep;
    assert!(matches!(
        store.save_transcript(&t, Some(&stale)).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        store.save_chapters(ep, &[], Some(&stale), at(33)).await,
        Err(StoreError::LeaseLost(_))
    ));
    let now: Vec<i64> = store
        .episode_insights(ep)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(now, ids, "the holder's insights stand");
    assert_eq!(
        store.get_transcript(ep).await.unwrap().unwrap().segments[0].text,
        "hello"
    );
    // The same worker name claiming again is a new claim: the old one's fence is stale.
    let third = store
        .claim(&kinds, "w2", lease, at(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.attempts, second.attempts + 1);
    assert!(matches!(
        save(store, ep, &[], Some(&held), 61).await,
        Err(StoreError::LeaseLost(_))
    ));
    // Once the job is done, no fence holds.
    assert!(store.complete(third.id, "w2", at(62)).await.unwrap());
    assert!(matches!(
        save(store, ep, &[], Some(&third.fence("w2")), 63).await,
        Err(StoreError::LeaseLost(_))
    ));
}

fn restated(text: &str, quote: &str) -> InsightDraft {
    InsightDraft {
        text: text.into(),
        quote: quote.into(),
        ..draft(text, 1.0)
    }
}

/// Extracting an episode again keeps the id of every insight on the same quote (votes and
/// "already sent" survive, the text is the new one); an insight the redo drops is deleted,
/// or retired when it was voted on or sent: kept with its votes, never a candidate again.
pub async fn a_redo_keeps_insight_ids_and_votes(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let ep = episode_with_transcript(store, "https://example.org/redo.xml").await;
    let first = save(
        store,
        ep,
        &[
            restated("A", "The ferry carries 400 people a day."),
            restated("B", "Cod quotas were cut in half."),
            restated("C", "A storm closed the port."),
            restated("D", "The school opened a course."),
        ],
        None,
        1,
    )
    .await
    .unwrap();
    let (a, b, c, d) = (first[0], first[1], first[2], first[3]);
    store.record_feedback(user, a, 1, at(2)).await.unwrap();
    store.record_feedback(user, c, -1, at(2)).await.unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    store
        .create_digest(user, &digest_of(day, &[a, d]), &[], at(3))
        .await
        .unwrap();
    // The redo: A restated in new words (same quote, other case and spacing), B and C and D
    // gone, E new.
    let second = save(
        store,
        ep,
        &[
            restated("A, said better", "the ferry carries 400 people a day"),
            restated("E", "Container traffic grew."),
        ],
        None,
        4,
    )
    .await
    .unwrap();
    assert_eq!(second[0], a, "same quote, same insight");
    assert!(
        ![a, b, c, d].contains(&second[1]),
        "a new quote is a new insight"
    );
    let listed = store.episode_insights(ep).await.unwrap();
    let texts: Vec<(i64, &str)> = listed
        .iter()
        .map(|i| (i.id, i.draft.text.as_str()))
        .collect();
    assert_eq!(texts, vec![(a, "A, said better"), (second[1], "E")]);
    // Votes survive: A's on the restated insight, C's on the retired one.
    let votes: Vec<(i64, i8)> = store
        .list_feedback(user, t0())
        .await
        .unwrap()
        .iter()
        .map(|f| (f.insight_id, f.vote))
        .collect();
    assert_eq!(votes, vec![(a, 1), (c, -1)]);
    // Sent ones are not sent again; retired ones are never candidates; B is gone.
    let candidates: Vec<i64> = store
        .insight_candidates(user, t0())
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(candidates, vec![second[1]]);
    assert!(matches!(
        store.record_feedback(user, b, 1, at(5)).await,
        Err(StoreError::NotFound(_))
    ));
    // A retired quote that comes back is the same insight again, a candidate again.
    let third = save(
        store,
        ep,
        &[restated("C again", "A storm closed the port.")],
        None,
        6,
    )
    .await
    .unwrap();
    assert_eq!(third, vec![c]);
    let listed: Vec<i64> = store
        .episode_insights(ep)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, vec![c]);
}
