//! Contract: 👍/👎 feedback.

use podsift_core::insight::ExtractionReport;
use podsift_core::store::{Store, StoreError};

use super::insights::{draft, episode_with_transcript};
use super::{at, t0};

/// Votes are stored per user and insight (the latest wins), listed oldest first from
/// `since` with the insight's text and show; unknown insights and votes other than ±1 fail.
pub async fn feedback_round_trip(store: &dyn Store) {
    let user = store.default_user(t0()).await.unwrap();
    let ep = episode_with_transcript(store, "https://example.org/fb.xml").await;
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
    let (a, b) = (ids[0], ids[1]);
    assert!(store.list_feedback(user, t0()).await.unwrap().is_empty());

    store.record_feedback(user, a, 1, at(10)).await.unwrap();
    store.record_feedback(user, b, -1, at(20)).await.unwrap();
    let all = store.list_feedback(user, t0()).await.unwrap();
    let got: Vec<(i64, i8)> = all.iter().map(|f| (f.insight_id, f.vote)).collect();
    assert_eq!(got, [(a, 1), (b, -1)], "oldest first");
    assert_eq!(all[0].text, "A");
    assert_eq!(all[0].podcast, "Title of https://example.org/fb.xml");
    assert_eq!(all[0].user_id, user);
    assert_eq!(all[0].created_at, at(10));

    // A second vote on the same insight replaces the first (one click never counts twice).
    store.record_feedback(user, a, -1, at(30)).await.unwrap();
    let all = store.list_feedback(user, t0()).await.unwrap();
    let got: Vec<(i64, i8)> = all.iter().map(|f| (f.insight_id, f.vote)).collect();
    assert_eq!(got, [(b, -1), (a, -1)]);
    // `since` filters by when the vote was cast.
    let recent = store.list_feedback(user, at(25)).await.unwrap();
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].insight_id, a);

    assert!(matches!(
        store.record_feedback(user, 999_999, 1, at(40)).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.record_feedback(user, a, 2, at(40)).await,
        Err(StoreError::Permanent(_))
    ));
    assert_eq!(store.list_feedback(user, t0()).await.unwrap().len(), 2);
}
