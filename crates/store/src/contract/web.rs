//! Contract: what the web UI keeps: password hashes, sessions (expiry, sign-out, cascade),
//! settings, per-show weights, the digest archive and full-text search, each scoped to its
//! user.

use chrono::{Duration as ChronoDuration, NaiveDate};
use podsift_core::insight::ExtractionReport;
use podsift_core::model::*;
use podsift_core::store::{Store, StoreError};
use podsift_core::users::{ChannelSpec, NewUserProfile, UserProfile};
use podsift_core::web::{SearchKind, Session, UserSettings};

use super::insights::{digest_of, draft};
use super::{at, episode, new_feed, t0};

async fn user(store: &dyn Store, email: &str) -> UserProfile {
    let token = format!("token-{email}-0123456789");
    store
        .add_user(
            &NewUserProfile {
                email: email.into(),
                time_zone: "UTC".into(),
                delivery_time: "07:00".into(),
                digest_size: 5,
                interests: None,
                channels: vec![],
                next_digest_at: None,
                feed_token: token,
            },
            t0(),
        )
        .await
        .unwrap()
}

fn session(hash: char, user: UserId, expires: i64) -> Session {
    Session {
        token_hash: hash.to_string().repeat(64),
        user_id: user,
        csrf: "c".repeat(32),
        created_at: t0(),
        expires_at: at(expires),
    }
}

/// Password hashes are per user (the local laptop user has none to set); sessions are found
/// by token hash until they expire, are purged when a later one is made, end at sign-out and
/// go with their user.
pub async fn sessions_and_passwords(store: &dyn Store) {
    let local = store.default_user(t0()).await.unwrap();
    let a = user(store, "a@example.org").await;
    let b = user(store, "b@example.org").await;
    assert_eq!(
        store.password_hash("a@example.org").await.unwrap(),
        Some((a.id, None))
    );
    assert!(
        store
            .set_password_hash(a.id, Some("$argon2id$v=19$x"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.password_hash("a@example.org").await.unwrap(),
        Some((a.id, Some("$argon2id$v=19$x".to_string())))
    );
    assert_eq!(
        store.password_hash("b@example.org").await.unwrap(),
        Some((b.id, None))
    );
    assert_eq!(
        store.password_hash("nobody@example.org").await.unwrap(),
        None
    );
    assert!(!store.set_password_hash(local, Some("x")).await.unwrap());
    assert!(!store.set_password_hash(999_999, Some("x")).await.unwrap());
    // A new private feed token: the old one finds no one, the new one the user.
    let old_token = a.feed_token.clone();
    let new_token = format!("{}-new", a.feed_token);
    assert!(store.set_feed_token(a.id, &new_token).await.unwrap());
    assert!(
        store
            .user_by_feed_token(&old_token)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .user_by_feed_token(&new_token)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(a.id)
    );
    assert!(
        !store
            .set_feed_token(local, "local-token-0123456789")
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_feed_token(999_999, "x-token-0123456789")
            .await
            .unwrap()
    );

    let s1 = session('1', a.id, 3600);
    store.create_session(&s1, t0()).await.unwrap();
    assert_eq!(
        store.get_session(&s1.token_hash, at(10)).await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(
        store.get_session(&s1.token_hash, at(3600)).await.unwrap(),
        None
    );
    assert_eq!(
        store.get_session(&"9".repeat(64), at(10)).await.unwrap(),
        None
    );
    // A later sign-in purges expired sessions.
    let s2 = session('2', a.id, 8000);
    store.create_session(&s2, at(4000)).await.unwrap();
    assert_eq!(
        store.get_session(&s1.token_hash, at(10)).await.unwrap(),
        None
    );
    let s3 = session('3', b.id, 8000);
    store.create_session(&s3, at(4000)).await.unwrap();
    let short = Session {
        token_hash: "x".into(),
        ..s3.clone()
    };
    assert!(matches!(
        store.create_session(&short, at(4000)).await,
        Err(StoreError::Permanent(_))
    ));

    assert!(store.delete_session(&s2.token_hash).await.unwrap());
    assert!(!store.delete_session(&s2.token_hash).await.unwrap());
    store
        .create_session(&session('4', a.id, 8000), at(4000))
        .await
        .unwrap();
    store
        .create_session(&session('5', a.id, 8000), at(4000))
        .await
        .unwrap();
    assert_eq!(store.delete_user_sessions(a.id).await.unwrap(), 2);
    assert_eq!(
        store.get_session(&s3.token_hash, at(4001)).await.unwrap(),
        Some(s3.clone()),
        "another user's session stays"
    );
    assert!(store.remove_user("b@example.org").await.unwrap());
    assert_eq!(
        store.get_session(&s3.token_hash, at(4001)).await.unwrap(),
        None
    );
}

/// Settings round-trip through the profile; show weights exist only for followed shows and
/// are clamped to 0.5–1.5.
pub async fn settings_and_weights(store: &dyn Store) {
    let local = store.default_user(t0()).await.unwrap();
    let a = user(store, "a@example.org").await;
    let b = user(store, "b@example.org").await;
    assert_eq!(store.user_profile(a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.user_profile(local).await.unwrap(), None);
    assert_eq!(store.user_profile(999_999).await.unwrap(), None);

    let settings = UserSettings {
        time_zone: "Europe/Berlin".into(),
        delivery_time: "06:30".into(),
        digest_size: 3,
        interests: Some("batteries; cycling".into()),
        channels: vec![ChannelSpec::Webhook {
            url: "https://hooks.example.org/x".into(),
            secret: "s".into(),
        }],
        next_digest_at: Some(t0() + ChronoDuration::hours(30)),
    };
    assert!(store.update_user_settings(a.id, &settings).await.unwrap());
    let got = store.user_profile(a.id).await.unwrap().unwrap();
    assert_eq!(
        (
            got.time_zone.as_str(),
            got.delivery_time.as_str(),
            got.digest_size,
            got.interests.as_deref(),
            &got.channels,
            got.next_digest_at
        ),
        (
            "Europe/Berlin",
            "06:30",
            3,
            Some("batteries; cycling"),
            &settings.channels,
            settings.next_digest_at
        )
    );
    assert_eq!(got.feed_token, a.feed_token, "the feed token is kept");
    assert_eq!(store.user_profile(b.id).await.unwrap(), Some(b.clone()));
    let zero = UserSettings {
        digest_size: 0,
        ..settings.clone()
    };
    assert!(matches!(
        store.update_user_settings(a.id, &zero).await,
        Err(StoreError::Permanent(_))
    ));
    assert!(!store.update_user_settings(local, &settings).await.unwrap());

    let (f1, _) = store
        .subscribe(a.id, &new_feed("https://example.org/w1.xml"), t0())
        .await
        .unwrap();
    let (f2, _) = store
        .subscribe(a.id, &new_feed("https://example.org/w2.xml"), t0())
        .await
        .unwrap();
    let weights = store.show_weights(a.id).await.unwrap();
    assert_eq!(
        weights
            .iter()
            .map(|w| (w.feed_id, w.weight))
            .collect::<Vec<_>>(),
        [(f1, 1.0), (f2, 1.0)]
    );
    assert_eq!(weights[0].podcast, "Title of https://example.org/w1.xml");
    assert!(store.set_show_weight(a.id, f1, 1.25).await.unwrap());
    assert!(store.set_show_weight(a.id, f2, 9.0).await.unwrap());
    assert!(matches!(
        store.set_show_weight(a.id, f2, f64::NAN).await,
        Err(StoreError::Permanent(_))
    ));
    assert!(
        !store.set_show_weight(b.id, f1, 1.2).await.unwrap(),
        "b does not follow f1"
    );
    let weights = store.show_weights(a.id).await.unwrap();
    assert_eq!(
        weights
            .iter()
            .map(|w| (w.feed_id, w.weight))
            .collect::<Vec<_>>(),
        [(f1, 1.25), (f2, 1.5)]
    );
    assert!(store.show_weights(b.id).await.unwrap().is_empty());
    // A subscription made again starts neutral.
    assert!(store.unsubscribe(a.id, f1).await.unwrap());
    store
        .subscribe(a.id, &new_feed("https://example.org/w1.xml"), t0())
        .await
        .unwrap();
    assert_eq!(store.show_weights(a.id).await.unwrap()[0].weight, 1.0);
}

/// The archive lists a user's own digests, newest first, with their sizes.
pub async fn digest_archive_is_per_user(store: &dyn Store) {
    let a = user(store, "a@example.org").await;
    let b = user(store, "b@example.org").await;
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let (first, _) = store
        .create_digest(a.id, &digest_of(d("2026-01-01"), &[1, 2]), &[], at(1))
        .await
        .unwrap();
    let (second, _) = store
        .create_digest(a.id, &digest_of(d("2026-01-02"), &[3]), &[], at(2))
        .await
        .unwrap();
    store
        .create_digest(b.id, &digest_of(d("2026-01-03"), &[4]), &[], at(3))
        .await
        .unwrap();
    let list = store.list_digests(a.id, 10).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|s| (s.id, s.date, s.insights, s.created_at))
            .collect::<Vec<_>>(),
        [
            (second, d("2026-01-02"), 1, at(2)),
            (first, d("2026-01-01"), 2, at(1))
        ]
    );
    assert_eq!(store.list_digests(a.id, 1).await.unwrap().len(), 1);
    let theirs = store.list_digests(b.id, 10).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].date, d("2026-01-03"));
}

async fn episode_with_lines(
    store: &dyn Store,
    user: UserId,
    url: &str,
    lines: &[&str],
) -> (FeedId, EpisodeId) {
    let (feed, _) = store.subscribe(user, &new_feed(url), t0()).await.unwrap();
    let stats = store
        .upsert_episodes(feed, &[episode("s", "h", Some(10))], 3, t0())
        .await
        .unwrap();
    let ep = stats.new_candidates[0];
    save_lines(store, ep, lines).await;
    (feed, ep)
}

async fn save_lines(store: &dyn Store, ep: EpisodeId, lines: &[&str]) {
    store
        .save_transcript(
            &Transcript {
                episode_id: ep,
                source: TranscriptSource::Local {
                    model: "test".into(),
                },
                language: Some("en".into()),
                segments: lines
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Segment {
                        start: i as f64 * 10.0,
                        end: i as f64 * 10.0 + 9.0,
                        speaker: None,
                        text: t.to_string(),
                    })
                    .collect(),
                skipped: 0,
                created_at: t0(),
            },
            None,
        )
        .await
        .unwrap();
}

/// Search finds every word (any case, quotes and operators ignored) in the insights and
/// transcript lines of followed shows only, insights first; replaced transcripts and
/// unfollowed shows drop out.
pub async fn search_is_per_user(store: &dyn Store) {
    let a = user(store, "a@example.org").await;
    let b = user(store, "b@example.org").await;
    let (fa, ea) = episode_with_lines(
        store,
        a.id,
        "https://example.org/city.xml",
        &[
            "Welcome to the show.",
            "The council approved five hundred bike lanes.",
            "Parking fees pay for them.",
        ],
    )
    .await;
    let (_, eb) = episode_with_lines(
        store,
        b.id,
        "https://example.org/moon.xml",
        &["A bike shed on the moon."],
    )
    .await;
    let ids = store
        .save_extraction(
            ea,
            "m",
            &[draft("Bike lanes are cheap to build.", 10.0)],
            &ExtractionReport::default(),
            None,
            at(1),
        )
        .await
        .unwrap();

    let hits = store.search(a.id, "bike", 10).await.unwrap();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].kind, SearchKind::Insight);
    assert_eq!(hits[0].insight_id, Some(ids[0]));
    assert_eq!(hits[0].episode_id, ea);
    assert_eq!(hits[0].start_seconds, 10.0);
    assert_eq!(
        hits[0].quote.as_deref(),
        Some("quote for Bike lanes are cheap to build.")
    );
    assert_eq!(hits[1].kind, SearchKind::Transcript);
    assert_eq!(
        hits[1].text,
        "The council approved five hundred bike lanes."
    );
    assert_eq!(hits[1].start_seconds, 10.0);
    assert_eq!(hits[1].podcast, "Title of https://example.org/city.xml");
    assert_eq!(hits[1].insight_id, None);

    let theirs = store.search(b.id, "bike", 10).await.unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0].episode_id, eb);

    // Every word must match; case and FTS/tsquery syntax do not matter.
    assert_eq!(
        store.search(a.id, "COUNCIL Bike", 10).await.unwrap().len(),
        1
    );
    assert!(
        store
            .search(a.id, "bike moon", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .search(a.id, r#""parking" * ( -- ') ^ : {}"#, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.search(a.id, " \"*\" ", 10).await.unwrap().is_empty());
    assert_eq!(store.search(a.id, "bike", 1).await.unwrap().len(), 1);

    // Only the user's own insights can be voted on: followed shows, or what they were sent.
    assert_eq!(store.visible_insight(a.id, ids[0]).await.unwrap(), Some(ea));
    assert_eq!(store.visible_insight(b.id, ids[0]).await.unwrap(), None);
    assert_eq!(store.visible_insight(a.id, 999_999).await.unwrap(), None);
    let sent = digest_of(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), &[ids[0]]);
    store.create_digest(b.id, &sent, &[], at(2)).await.unwrap();
    assert_eq!(store.visible_insight(b.id, ids[0]).await.unwrap(), Some(ea));

    // A replaced transcript is searched as it is now.
    save_lines(store, ea, &["Only trams today."]).await;
    assert!(store.search(a.id, "council", 10).await.unwrap().is_empty());
    assert_eq!(store.search(a.id, "trams", 10).await.unwrap().len(), 1);
    // Unfollowing a show takes it out of the user's search.
    assert!(store.unsubscribe(a.id, fa).await.unwrap());
    assert!(store.search(a.id, "bike", 10).await.unwrap().is_empty());
}
