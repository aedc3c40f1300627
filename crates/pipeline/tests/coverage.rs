//! How much of the episodes was read: the digest's stats (summed from the stored extraction
//! reports of the digest's episodes) and `podsift run`'s per-episode lines and total.

use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use podsift_core::config::DigestConfig;
use podsift_core::store::NewFeed;
use podsift_core::*;
use podsift_pipeline::{DigestOutcome, Digester, ExtractReport, ReadCoverage, Tally};
use podsift_store::SqlStore;

fn draft(text: &str) -> InsightDraft {
    InsightDraft {
        text: text.into(),
        quote: "the quote".into(),
        start_seconds: 1.0,
        end_seconds: 4.0,
        importance: 0.9,
        novelty: 0.6,
        specificity: 0.8,
        // As the extraction stores it: figures checked against the windows.
        faithful_checked: true,
        ..Default::default()
    }
}

fn report(total: usize, ad: usize, read: usize, cap: Option<&str>) -> ExtractionReport {
    ExtractionReport {
        words_total: total,
        words_ad: ad,
        words_read: read,
        cap: cap.map(str::to_string),
        prompt_tokens: 100,
        ..ExtractionReport::default()
    }
}

/// One show per report, one episode each, with one stored insight and that report.
async fn seed(store: &SqlStore, reports: &[ExtractionReport]) -> UserId {
    let now = Utc::now();
    let user = store.default_user(now).await.unwrap();
    for (i, r) in reports.iter().enumerate() {
        let (feed, _) = store
            .subscribe(
                user,
                &NewFeed {
                    url: format!("https://example.org/{i}.xml"),
                    metadata: FeedMetadata {
                        title: Some(format!("Show {i}")),
                        ..Default::default()
                    },
                    next_check_at: now,
                },
                now,
            )
            .await
            .unwrap();
        let up = EpisodeUpsert {
            identity: format!("guid:{i}"),
            content_hash: "h".into(),
            episode: ParsedEpisode {
                title: Some(format!("Episode {i}")),
                ..Default::default()
            },
        };
        let ep = store
            .upsert_episodes(feed, &[up], 3, now)
            .await
            .unwrap()
            .new_candidates[0];
        store
            .save_extraction(
                ep,
                "test",
                &[draft(&format!(
                    "Show {i} found that prices fell {i}0 percent. That changes the plan."
                ))],
                r,
                None,
                now,
            )
            .await
            .unwrap();
    }
    user
}

async fn digest_of(reports: &[ExtractionReport]) -> Digest {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqlStore::open(&dir.path().join("c.db")).await.unwrap());
    let user = seed(&store, reports).await;
    let dg = Digester::new(
        store.clone(),
        Arc::new(SystemClock),
        DigestConfig::default(),
        vec![],
    );
    let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    match dg.make_digest(user, day).await.unwrap() {
        DigestOutcome::Created { digest, .. } => digest,
        other => panic!("expected a new digest, got {other:?}"),
    }
}

#[tokio::test]
async fn digest_stats_sum_the_words_of_its_episodes() {
    let digest = digest_of(&[
        // Read in full (sponsor reads are not content).
        report(10_000, 1_000, 9_000, None),
        // A cap was set and everything fitted: not capped.
        report(5_000, 0, 5_000, Some("episode_token_budget = 80000")),
        // Cut short by the cap.
        report(20_000, 0, 5_000, Some("episode_token_budget = 8000")),
        // Stored before podsift counted words: no words, not capped.
        ExtractionReport {
            coverage: 0.25,
            ..ExtractionReport::default()
        },
    ])
    .await;
    let s = &digest.stats;
    assert_eq!(s.episodes, 4);
    assert_eq!(s.prompt_tokens, 300);
    assert_eq!(s.words_content, 9_000 + 5_000 + 20_000);
    assert_eq!(s.words_read, 9_000 + 5_000 + 5_000);
    assert_eq!(s.episodes_capped, 1);
    // The footer carries it (the stats round-trip through the store).
    let r = podsift_digest::render(&digest).unwrap();
    assert!(
        r.text
            .contains("Read 56 % of 4 episodes (19,000 of 34,000 words): 1 was capped"),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_fully_read_digest_says_so() {
    let digest = digest_of(&[
        report(4_000, 0, 4_000, None),
        report(2_310, 100, 2_210, None),
    ])
    .await;
    assert_eq!(digest.stats.words_content, 6_210);
    assert_eq!(digest.stats.read_share(), 1.0);
    assert_eq!(digest.stats.episodes_capped, 0);
    let r = podsift_digest::render(&digest).unwrap();
    assert!(
        r.text.contains("Read 100 % of 2 episodes (6,210 words)."),
        "{}",
        r.text
    );
}

fn extracted(
    id: i64,
    title: &str,
    state: JobOutcome,
    r: Option<ExtractionReport>,
) -> ExtractReport {
    ExtractReport {
        episode_id: id,
        title: title.into(),
        state,
        insights: 1,
        error: None,
        report: r,
    }
}

#[test]
fn run_lines_per_episode_and_in_total() {
    let mut full = report(10_000, 588, 9_412, None);
    full.editor = Some("wrote 5 insights from 14 claims".into());
    full.dropped = vec![DroppedInsight {
        text: "x".into(),
        reason: "invented figure".into(),
    }];
    let capped = report(10_000, 0, 6_400, Some("episode_token_budget = 8000"));
    let tally = Tally {
        extracted: vec![
            extracted(1, "Bike lanes", JobOutcome::Done, Some(full)),
            extracted(2, "", JobOutcome::Done, Some(capped)),
            // Failed jobs read nothing and are not counted.
            extracted(3, "Broken", JobOutcome::Retrying, None),
        ],
        ..Tally::default()
    };
    let c = tally.coverage();
    assert_eq!(c.episodes, 2);
    assert_eq!(c.words_content, 9_412 + 10_000);
    assert_eq!(c.words_read, 9_412 + 6_400);
    assert_eq!(c.episodes_capped, 1);
    assert_eq!(c.per_episode[0].read_share, 1.0);
    assert_eq!(c.per_episode[1].read_share, 0.64);
    assert_eq!(
        c.per_episode[1].capped_by.as_deref(),
        Some("episode_token_budget = 8000")
    );
    assert_eq!(
        c.lines(),
        [
            "  Bike lanes: read 100 % (9,412 words), 1 insight dropped by the checks",
            "    editor: wrote 5 insights from 14 claims",
            "  episode 2: read 64 % (6,400 of 10,000 words; capped: episode_token_budget = 8000)",
            "Read 81 % of 2 episodes (15,812 of 19,412 words): 1 was capped by an [llm] budget; \
             see podsift episodes.",
        ]
    );
    // `podsift run --json` carries it.
    let v = serde_json::to_value(&c).unwrap();
    assert_eq!(v["per_episode"][1]["read_share"], 0.64);
    assert_eq!(v["episodes_capped"], 1);
    assert_eq!(v["words_read"], 15_812);
}

#[test]
fn reports_without_word_counts_fall_back_to_their_share() {
    let old = ExtractionReport {
        coverage: 0.25,
        ..ExtractionReport::default()
    };
    let c = ReadCoverage::of([(7, "Old", &old)]);
    assert_eq!(c.read_share, 0.25);
    assert_eq!(c.summary, None);
    assert_eq!(c.lines(), ["  Old: read 25 %", "Read 25 % of 1 episode."]);
    assert!(
        ReadCoverage::of([]).lines().is_empty(),
        "nothing read: no lines"
    );
}
