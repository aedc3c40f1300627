//! Contract: transcripts (replace, segment order, listing info) and chapters.

use podsift_core::model::*;
use podsift_core::store::{Store, StoreError};

use super::*;

async fn one_episode(store: &dyn Store, url: &str) -> EpisodeId {
    let feed = feed_with_subscriber(store, url).await;
    let s = store
        .upsert_episodes(feed, &[episode("t1", "h", Some(1))], 1, t0())
        .await
        .unwrap();
    s.new_candidates[0]
}

fn seg(start: f64, end: f64, speaker: Option<&str>, text: &str) -> Segment {
    Segment {
        start,
        end,
        speaker: speaker.map(str::to_string),
        text: text.to_string(),
    }
}

/// A saved transcript reads back identical with its segments in order; saving again replaces
/// it entirely; listings show its source label and segment count.
pub async fn transcript_replace_and_order(store: &dyn Store) {
    let ep = one_episode(store, "https://tr.example/rss").await;
    assert_eq!(store.get_transcript(ep).await.unwrap(), None);

    // Out-of-time-order segments stay in the order given (the parser's order is the truth).
    let segments: Vec<Segment> = (0..1200)
        .map(|i| {
            seg(
                f64::from(i) * 1.5,
                f64::from(i) * 1.5 + 1.25,
                (i % 3 == 0).then_some("Host"),
                &format!("line {i} — ünïcode"),
            )
        })
        .chain([seg(0.1, 0.2, None, "late cue with an early time")])
        .collect();
    let first = Transcript {
        episode_id: ep,
        source: TranscriptSource::Publisher {
            url: "https://tr.example/t.vtt".into(),
            format: TranscriptFormat::Vtt,
        },
        language: Some("en".into()),
        segments,
        skipped: 3,
        created_at: at(10),
    };
    store.save_transcript(&first, None).await.unwrap();
    assert_eq!(
        store.get_transcript(ep).await.unwrap().as_ref(),
        Some(&first)
    );
    let listed = store.get_episode(ep).await.unwrap().unwrap();
    assert_eq!(listed.transcript_source.as_deref(), Some("publisher:vtt"));
    assert_eq!(listed.segment_count, 1201);

    let second = Transcript {
        episode_id: ep,
        source: TranscriptSource::Local {
            model: "tiny.en".into(),
        },
        language: None,
        segments: vec![
            seg(0.0, 2.0, Some("A"), "hello"),
            seg(2.0, 4.5, None, "world"),
        ],
        skipped: 0,
        created_at: at(20),
    };
    store.save_transcript(&second, None).await.unwrap();
    assert_eq!(
        store.get_transcript(ep).await.unwrap().as_ref(),
        Some(&second)
    );
    let listed = store.list_episodes(None, 10).await.unwrap();
    assert_eq!(
        listed[0].transcript_source.as_deref(),
        Some("local:tiny.en")
    );
    assert_eq!(listed[0].segment_count, 2);

    // An empty transcript is still a transcript.
    let empty = Transcript {
        segments: vec![],
        ..second.clone()
    };
    store.save_transcript(&empty, None).await.unwrap();
    assert_eq!(
        store.get_transcript(ep).await.unwrap().as_ref(),
        Some(&empty)
    );
}

/// Transcripts for unknown episodes are refused; invalid times are refused, leaving the
/// stored transcript untouched.
pub async fn transcript_rejects_bad_input(store: &dyn Store) {
    let ep = one_episode(store, "https://bad.example/rss").await;
    let good = Transcript {
        episode_id: ep,
        source: TranscriptSource::Remote {
            endpoint: "https://stt.example/v1".into(),
            model: "whisper-1".into(),
        },
        language: Some("de".into()),
        segments: vec![seg(0.0, 1.0, None, "gut")],
        skipped: 0,
        created_at: at(1),
    };
    store.save_transcript(&good, None).await.unwrap();
    let missing = Transcript {
        episode_id: ep + 1000,
        ..good.clone()
    };
    let err = store.save_transcript(&missing, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    let nan = Transcript {
        segments: vec![seg(f64::NAN, 1.0, None, "bad")],
        ..good.clone()
    };
    assert!(store.save_transcript(&nan, None).await.is_err());
    assert_eq!(store.get_transcript(ep).await.unwrap(), Some(good));
    assert_eq!(store.get_transcript(ep + 1000).await.unwrap(), None);
}

/// Chapters: `None` until saved, then exactly what was saved (an empty list included),
/// replaced on the next save.
pub async fn chapters_round_trip(store: &dyn Store) {
    let ep = one_episode(store, "https://ch.example/rss").await;
    assert_eq!(store.get_chapters(ep).await.unwrap(), None);
    let chapters = vec![
        Chapter {
            start_seconds: 0.0,
            end_seconds: Some(61.5),
            title: Some("Intro".into()),
            url: Some("https://ch.example/intro".into()),
            img: None,
            toc: true,
        },
        Chapter {
            start_seconds: 61.5,
            end_seconds: None,
            title: None,
            url: None,
            img: Some("https://ch.example/i.png".into()),
            toc: false,
        },
    ];
    store
        .save_chapters(ep, &chapters, None, at(1))
        .await
        .unwrap();
    assert_eq!(
        store.get_chapters(ep).await.unwrap(),
        Some(chapters.clone())
    );
    store
        .save_chapters(ep, &chapters[1..], None, at(2))
        .await
        .unwrap();
    assert_eq!(
        store.get_chapters(ep).await.unwrap(),
        Some(chapters[1..].to_vec())
    );
    store.save_chapters(ep, &[], None, at(3)).await.unwrap();
    assert_eq!(store.get_chapters(ep).await.unwrap(), Some(vec![]));
    let err = store
        .save_chapters(ep + 1000, &chapters, None, at(4))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    assert_eq!(store.get_chapters(ep + 1000).await.unwrap(), None);
}
