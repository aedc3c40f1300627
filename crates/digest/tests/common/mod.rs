//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use podsift_core::{CandidateInsight, Digest, DigestStats, InsightDraft};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap()
}

pub fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
}

/// A candidate with sensible defaults; tweak fields in the test.
pub fn candidate(id: i64, feed_id: i64, text: &str) -> CandidateInsight {
    CandidateInsight {
        id,
        episode_id: 100 + id,
        feed_id,
        podcast: format!("Show {feed_id}"),
        episode: format!("Episode {id}"),
        episode_link: Some(format!("https://show{feed_id}.example.com/ep/{id}")),
        audio_url: Some(format!("https://cdn.example.com/{feed_id}/{id}.mp3")),
        published: Some(now() - chrono::Duration::hours(10)),
        draft: InsightDraft {
            text: text.to_string(),
            quote: "We pay the union eight percent of streaming revenue, not a flat fee.".into(),
            start_seconds: 754.6,
            end_seconds: 770.0,
            speaker: Some("Host".into()),
            topics: vec!["labour".into()],
            importance: 0.8,
            novelty: 0.6,
            specificity: 0.7,
            chapter: None,
            ..Default::default()
        },
        created_at: now() - chrono::Duration::hours(2),
        found_for: None,
    }
}

/// Five distinct insight texts.
pub const TEXTS: [&str; 5] = [
    "The studio's new deal pays the voice actors' union 8 % of streaming revenue instead of a flat fee. That ties actors' income to a title's success.",
    "A regional bank now prices mortgages off a local wage index rather than the central rate, so repayments track what borrowers earn.",
    "The city replaced parking minimums with a fee per space, and new housing permits doubled within a year of the change.",
    "Seed vaults in the Arctic lost power for three days last spring; the operators now keep a second generator on site.",
    "A chess engine trained only on endgames beat its general-purpose sibling in openings it had never seen.",
];

pub fn fixed_digest() -> Digest {
    let picks: Vec<_> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut c = candidate(i as i64 + 1, i as i64 + 1, t);
            c.draft.quote = format!("Quote number {i}: exactly what was said on air.");
            c.draft.start_seconds = 60.0 * (i as f64 + 1.0) + 0.7;
            podsift_digest::Pick {
                candidate: c,
                score: 0.9 - i as f64 * 0.05,
                reasons: vec![
                    format!("importance 0.{}", 9 - i),
                    "fresh: published today".into(),
                ],
            }
        })
        .collect();
    podsift_digest::build_digest(
        date(),
        "me",
        &picks,
        DigestStats {
            episodes: 7,
            insights_considered: 31,
            prompt_tokens: 12000,
            completion_tokens: 2100,
            cost_usd: 0.0123,
            words_content: 52_310,
            words_read: 52_310,
            episodes_capped: 0,
            short: None,
        },
        None,
    )
}
