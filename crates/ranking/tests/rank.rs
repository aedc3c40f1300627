//! The pure ranking with hand-made embeddings (no model needed).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use podsift_ranking::{
    Candidate, Embedder, Interest, Profile, RankConfig, RankError, Scores, SentInsight,
    SimilarityMethod, SuppressReason, Vote, new_material, parse_candidates, parse_history, rank,
    rank_jsonl, render_text,
};

const DIM: usize = 16;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()
}

/// Unit vector along axis `k`, tilted towards axis `tilt` by `amount`.
fn v(k: usize, tilt: usize, amount: f32) -> Vec<f32> {
    let mut e = [0.0; DIM];
    e[k] = 1.0;
    e[tilt] += amount;
    let n = e.iter().map(|x| x * x).sum::<f32>().sqrt();
    e.iter().map(|x| x / n).collect()
}

fn cand(text: &str, podcast: &str, episode: &str, importance: f32, e: Vec<f32>) -> Candidate {
    Candidate {
        id: None,
        text: text.to_string(),
        podcast: podcast.to_string(),
        episode: episode.to_string(),
        quote: None,
        scores: Scores {
            importance,
            novelty: 0.5,
            specificity: 0.5,
        },
        published: Some(now() - chrono::Duration::hours(2)),
        embedding: Some(e),
    }
}

fn texts(r: &podsift_ranking::Ranking) -> Vec<&str> {
    r.picks.iter().map(|p| p.text.as_str()).collect()
}

#[test]
fn near_duplicates_across_shows_become_one_pick_with_corroboration() {
    let cands = vec![
        cand("The claim, plainly.", "Show A", "a1", 0.6, v(0, 1, 0.05)),
        cand(
            "The claim with 3 numbers: 40% of 2,000 users.",
            "Show B",
            "b1",
            0.6,
            v(0, 2, 0.05),
        ),
        cand("The claim again.", "Show C", "c1", 0.5, v(0, 3, 0.05)),
        cand("Another story.", "Show A", "a1", 0.6, v(5, 6, 0.0)),
    ];
    let r = rank(
        &cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    assert_eq!(r.clusters.len(), 1);
    let c = &r.clusters[0];
    assert_eq!(c.members, vec![0, 1, 2]);
    // The more concrete text (numbers) represents the claim.
    assert_eq!(c.representative, 1);
    assert_eq!(c.shows, vec!["Show A", "Show B", "Show C"]);
    assert_eq!(r.picks.len(), 2, "one pick per claim: {:?}", texts(&r));
    let top = &r.picks[0];
    assert_eq!(top.index, 1);
    assert_eq!(top.also, vec![0, 2]);
    assert!(
        top.reasons
            .iter()
            .any(|x| x == "also discussed on Show A, Show C"),
        "{:?}",
        top.reasons
    );
    // Equal model scores: only corroboration puts the claim above the other story.
    assert!(top.score > r.picks[1].score);
    let dups: Vec<usize> = r
        .suppressed
        .iter()
        .filter(|s| matches!(s.reason, SuppressReason::DuplicateOf { index: 1, .. }))
        .map(|s| s.index)
        .collect();
    assert_eq!(dups, vec![0, 2]);
}

#[test]
fn caps_per_show_and_per_episode_hold() {
    let cands: Vec<Candidate> = (0..8)
        .map(|k| {
            cand(
                &format!("Distinct claim {k}."),
                "Big Show",
                "ep1",
                0.9,
                v(k, k, 0.0),
            )
        })
        .chain((8..10).map(|k| {
            cand(
                &format!("Small claim {k}."),
                "Small Show",
                &format!("s{k}"),
                0.2,
                v(k, k, 0.0),
            )
        }))
        .collect();
    let r = rank(
        &cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    let big = r.picks.iter().filter(|p| p.podcast == "Big Show").count();
    assert_eq!(big, 2);
    assert_eq!(r.picks.len(), 4, "2 per show, 2 shows: {:?}", texts(&r));

    let config = RankConfig {
        max_per_show: 0,
        max_per_episode: 1,
        ..RankConfig::default()
    };
    let r = rank(&cands, &Profile::default(), &[], &config, now());
    assert_eq!(r.picks.iter().filter(|p| p.episode == "ep1").count(), 1);
    assert_eq!(r.picks.len(), 3);
}

#[test]
fn history_suppresses_repeats_and_marks_updates() {
    let sent_on = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let history = vec![
        SentInsight {
            text: "Acme cut prices by 10% for all customers.".into(),
            podcast: Some("Show A".into()),
            sent_on,
            embedding: Some(v(0, 0, 0.0)),
        },
        SentInsight {
            text: "The Rust compiler got faster this year.".into(),
            podcast: None,
            sent_on,
            embedding: Some(v(4, 4, 0.0)),
        },
        SentInsight {
            text: "Old news from last spring about 5 widgets.".into(),
            podcast: None,
            sent_on: NaiveDate::from_ymd_opt(2026, 4, 1).unwrap(),
            embedding: Some(v(8, 8, 0.0)),
        },
    ];
    let cands = vec![
        // cos ≈ 0.995 to the first sent insight: a repeat.
        cand(
            "Acme lowered prices ten percent.",
            "Show B",
            "b1",
            0.9,
            v(0, 1, 0.1),
        ),
        // cos ≈ 0.58 to the first: related, with new numbers and a name.
        cand(
            "Acme now cuts prices by 25% and Globex follows.",
            "Show C",
            "c1",
            0.7,
            v(0, 2, 1.4),
        ),
        // cos ≈ 0.58 to the second, nothing new: kept, penalised.
        cand(
            "The Rust compiler got faster this year, really.",
            "Show D",
            "d1",
            0.7,
            v(4, 5, 1.4),
        ),
        // Same as something sent outside the 30-day window: not a repeat.
        cand(
            "Old news about 5 widgets.",
            "Show E",
            "e1",
            0.7,
            v(8, 8, 0.0),
        ),
    ];
    let r = rank(
        &cands,
        &Profile::default(),
        &history,
        &RankConfig::default(),
        now(),
    );
    let sent: Vec<usize> = r
        .suppressed
        .iter()
        .filter(|s| matches!(s.reason, SuppressReason::AlreadySent { .. }))
        .map(|s| s.index)
        .collect();
    assert_eq!(sent, vec![0]);
    let update = r.picks.iter().find(|p| p.index == 1).expect("update kept");
    let u = update.update_of.as_ref().expect("marked as update");
    assert_eq!(u.sent_on, sent_on);
    assert_eq!(u.new_material, vec!["25%", "Globex"]);
    assert!(
        update
            .reasons
            .iter()
            .any(|x| x == "Update: adds 25%, Globex to what you were sent on 2026-11-20"),
        "{:?}",
        update.reasons
    );
    let stale = r.picks.iter().find(|p| p.index == 2).expect("kept");
    assert!(stale.update_of.is_none());
    assert!(
        stale
            .reasons
            .iter()
            .any(|x| x.starts_with("close to what you were sent"))
    );
    assert!(stale.score < update.score);
    assert!(r.picks.iter().any(|p| p.index == 3));
}

#[test]
fn new_material_finds_numbers_and_names() {
    assert_eq!(
        new_material(
            "Prices fell 20% at Acme and Globex.",
            "Acme prices fell 10%."
        ),
        vec!["20%", "Globex"]
    );
    assert!(new_material("Acme prices fell 10%.", "At Acme, prices fell 10%.").is_empty());
    assert_eq!(
        new_material(
            "Builds are 30 percent faster, says Ferrous.",
            "Builds got faster."
        ),
        vec!["30 percent", "Ferrous"]
    );
}

#[test]
fn feedback_is_bounded_and_never_empties_the_digest() {
    let cands: Vec<Candidate> = (0..6)
        .map(|k| {
            cand(
                &format!("Claim {k}."),
                &format!("Show {k}"),
                "e",
                0.5 + k as f32 * 0.05,
                v(k, k, 0.0),
            )
        })
        .collect();
    let all = RankConfig {
        top_k: 6,
        max_per_show: 0,
        ..RankConfig::default()
    };
    let base = rank(&cands, &Profile::default(), &[], &all, now());

    // One 👍 on a close relative of the weakest claim: its score rises, but one click does not
    // lift it past the strongest claim, nor by more than a quarter.
    let mut one = Profile::default();
    one.record_feedback(v(0, 1, 0.1), "Show 0", Vote::Up);
    let after = rank(&cands, &one, &[], &all, now());
    let score_of = |r: &podsift_ranking::Ranking, i: usize| {
        r.picks
            .iter()
            .find(|p| p.index == i)
            .map(|p| p.score)
            .unwrap()
    };
    let (b, a) = (score_of(&base, 0), score_of(&after, 0));
    assert!(a > b, "a like raises the score");
    assert!(a < 1.25 * b, "one click stays small: {b} → {a}");
    assert!(a < score_of(&after, 5), "one click does not dominate");
    assert!(after.picks[0].index == 5);
    assert!(one.show_weight("Show 0") <= 1.1 + 1e-6);

    // A hundred 👎 on everything: weights hit their floor, the digest is still full.
    let mut grumpy = Profile::default();
    for _ in 0..100 {
        for k in 0..6 {
            grumpy.record_feedback(v(k, k, 0.0), &format!("Show {k}"), Vote::Down);
        }
    }
    assert!((grumpy.show_weight("Show 3") - 0.5).abs() < 1e-6);
    assert!(grumpy.feedback_affinity(&v(3, 3, 0.0)) >= -1.0);
    let r = rank(&cands, &grumpy, &[], &RankConfig::default(), now());
    assert_eq!(r.picks.len(), 5);
    assert!(r.picks.iter().all(|p| p.score >= 0.0));
}

#[test]
fn interests_raise_matching_insights_and_say_so() {
    let cands = vec![
        cand("About databases.", "A", "a", 0.6, v(0, 0, 0.0)),
        cand("About gardening.", "B", "b", 0.7, v(1, 1, 0.0)),
    ];
    let profile = Profile {
        interests: vec![Interest {
            label: "databases".into(),
            embedding: v(0, 2, 0.3),
        }],
        ..Profile::default()
    };
    let r = rank(&cands, &profile, &[], &RankConfig::default(), now());
    assert_eq!(r.picks[0].index, 0, "{:?}", texts(&r));
    assert!(
        r.picks[0]
            .reasons
            .iter()
            .any(|x| x == "matches your interest in databases")
    );
}

#[test]
fn mmr_prefers_a_different_story_over_a_close_second() {
    // Two takes on one story (cosine ≈ 0.6, below the duplicate threshold) and a distinct one.
    let cands = vec![
        cand("Story one, take one.", "A", "a", 0.9, v(0, 0, 0.0)),
        cand("Story one, take two.", "B", "b", 0.85, v(0, 1, 1.33)),
        cand("Story two.", "C", "c", 0.75, v(2, 2, 0.0)),
    ];
    let config = RankConfig {
        top_k: 2,
        ..RankConfig::default()
    };
    let r = rank(&cands, &Profile::default(), &[], &config, now());
    assert_eq!(
        r.picks.iter().map(|p| p.index).collect::<Vec<_>>(),
        vec![0, 2]
    );
    let greedy = RankConfig {
        mmr_lambda: 1.0,
        ..config
    };
    let r = rank(&cands, &Profile::default(), &[], &greedy, now());
    assert_eq!(
        r.picks.iter().map(|p| p.index).collect::<Vec<_>>(),
        vec![0, 1]
    );
}

#[test]
fn ranking_does_not_depend_on_input_order_or_method() {
    let mut cands: Vec<Candidate> = (0..12)
        .map(|k| {
            cand(
                &format!("Claim {k}."),
                &format!("Show {}", k % 4),
                &format!("e{k}"),
                0.5,
                v(k % 8, (k + 1) % 8, 0.05 * k as f32),
            )
        })
        .collect();
    let a = rank(
        &cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    cands.reverse();
    let b = rank(
        &cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    let brute = RankConfig {
        similarity: SimilarityMethod::BruteForce,
        ..RankConfig::default()
    };
    let c = rank(&cands, &Profile::default(), &[], &brute, now());
    assert_eq!(texts(&a), texts(&b));
    assert_eq!(texts(&b), texts(&c));
}

#[test]
fn empty_text_and_missing_embeddings_are_handled() {
    let mut no_embedding = cand("No vector here.", "A", "a", 0.5, vec![]);
    no_embedding.embedding = None;
    let cands = vec![
        cand("  ", "A", "a", 0.9, v(0, 0, 0.0)),
        no_embedding,
        cand("Fine.", "B", "b", 0.5, v(1, 1, 0.0)),
    ];
    let r = rank(
        &cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    assert_eq!(r.picks.len(), 2);
    assert!(matches!(r.suppressed[0].reason, SuppressReason::EmptyText));
    assert!(
        rank(&[], &Profile::default(), &[], &RankConfig::default(), now())
            .picks
            .is_empty()
    );
}

#[test]
fn jsonl_errors_name_every_bad_line() {
    let input = concat!(
        "{\"text\":\"ok\",\"podcast\":\"A\",\"episode\":\"e\"}\n",
        "\n",
        "# a comment\n",
        "{\"text\":\"x\",\"podcast\":\"A\"}\n",
        "not json\n",
        "{\"text\":\"x\",\"podcast\":\"A\",\"episode\":\"e\",\"scores\":{\"importance\":2}}\n",
        "{\"text\":\"x\",\"podcast\":\"A\",\"episode\":\"e\",\"published\":\"yesterday\"}\n",
        "{\"text\":\"x\",\"podcast\":\"A\",\"episode\":\"e\",\"socres\":{}}\n",
    );
    let err = parse_candidates(input, "input").unwrap_err();
    let RankError::Input { errors, .. } = &err else {
        panic!("{err}");
    };
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![4, 5, 6, 7, 8]);
    assert_eq!(errors[0].message, "missing field `episode` (column 26)");
    assert!(errors[2].message.contains("importance"), "{}", errors[2]);
    assert!(errors[3].message.contains("RFC 3339"), "{}", errors[3]);
    assert!(errors[4].message.contains("socres"), "{}", errors[4]);
    assert!(!err.is_retryable());

    let ok = parse_candidates(
        "{\"text\":\"t\",\"podcast\":\"A\",\"episode\":\"e\",\"quote\":\"q\",\"scores\":{\"importance\":0.5,\"novelty\":0.1,\"specificity\":1},\"published\":\"2026-11-20\"}",
        "input",
    )
    .unwrap();
    assert_eq!(
        ok[0].published.unwrap().to_rfc3339(),
        "2026-11-20T00:00:00+00:00"
    );
    assert_eq!(ok[0].quote.as_deref(), Some("q"));

    let h = parse_history(
        "{\"text\":\"t\",\"sent_on\":\"2026-11-20\"}\n{\"text\":\"t\"}",
        "history",
    )
    .unwrap_err();
    assert!(h.to_string().contains("line 2"), "{h}");
}

/// A stand-in embedder for the JSONL path: one axis per distinct first word.
struct FirstWord;

impl Embedder for FirstWord {
    fn model_id(&self) -> &str {
        "test:first-word"
    }
    fn dimension(&self) -> usize {
        DIM
    }
    fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RankError> {
        Ok(texts
            .iter()
            .map(|t| {
                let w = t.split_whitespace().next().unwrap_or("");
                let k = w.bytes().map(usize::from).sum::<usize>() % DIM;
                v(k, k, 0.0)
            })
            .collect())
    }
}

#[test]
fn rank_jsonl_embeds_ranks_and_renders() {
    let input = concat!(
        "{\"text\":\"Alpha is out.\",\"podcast\":\"A\",\"episode\":\"a1\",\"quote\":\"alpha\",\"scores\":{\"importance\":0.9,\"novelty\":0.5,\"specificity\":0.5},\"published\":\"2026-11-26T06:00:00Z\"}\n",
        "{\"text\":\"Alpha shipped today.\",\"podcast\":\"B\",\"episode\":\"b1\",\"scores\":{\"importance\":0.5,\"novelty\":0.5,\"specificity\":0.5}}\n",
        "{\"text\":\"Omega news.\",\"podcast\":\"C\",\"episode\":\"c1\",\"scores\":{\"importance\":0.5,\"novelty\":0.5,\"specificity\":0.5}}\n",
    );
    let history = "{\"text\":\"Omega news, sent.\",\"sent_on\":\"2026-11-25\"}\n";
    let config = RankConfig::default();
    let report = rank_jsonl(
        input,
        Some(history),
        &FirstWord,
        &Profile::default(),
        &config,
        now(),
    )
    .unwrap();
    assert_eq!(report.model, "test:first-word");
    assert_eq!(report.ranking.picks.len(), 1);
    assert_eq!(report.ranking.picks[0].text, "Alpha is out.");
    let text = render_text(&report, true);
    assert!(text.contains("1. [A — a1] Alpha is out."), "{text}");
    assert!(text.contains("also discussed on B"), "{text}");
    assert!(text.contains("fresh: published today"), "{text}");
    assert!(text.contains("#1 represents #1, #2 — A, B"), "{text}");
    assert!(
        text.contains("#3 [C] Omega news. — already sent on 2026-11-25"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["picks"][0]["rank"], 1);
    assert_eq!(json["suppressed"][1]["reason"]["kind"], "already_sent");
    assert!(json["picks"][0].get("embedding").is_none());
}

#[test]
fn a_chain_of_similar_insights_does_not_merge_its_far_ends() {
    // A ~ B and B ~ C (cosine 0.71), but A and C are unrelated (cosine 0).
    let cands = vec![
        cand(
            "A: the best-written end, with 3 numbers 4 5.",
            "Show A",
            "a",
            0.9,
            v(0, 0, 0.0),
        ),
        cand("B: the middle.", "Show B", "b", 0.5, v(0, 1, 1.0)),
        cand("C: the other end.", "Show C", "c", 0.5, v(1, 1, 0.0)),
    ];
    let r = rank(
        &cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    assert_eq!(r.clusters.len(), 1, "{:?}", r.clusters);
    assert_eq!(r.clusters[0].members, vec![0, 1]);
    assert_eq!(r.clusters[0].representative, 0);
    let picked: Vec<usize> = r.picks.iter().map(|p| p.index).collect();
    assert_eq!(picked, vec![0, 2]);
}

#[test]
fn a_stored_insight_becomes_a_candidate() {
    let insight = podsift_core::CandidateInsight {
        id: 42,
        episode_id: 7,
        feed_id: 3,
        podcast: "Show".into(),
        episode: "Ep".into(),
        episode_link: None,
        audio_url: None,
        published: None,
        draft: podsift_core::InsightDraft {
            text: "A claim.".into(),
            quote: " ".into(),
            start_seconds: 1.0,
            end_seconds: 2.0,
            speaker: None,
            topics: vec![],
            importance: 0.9,
            novelty: 0.2,
            specificity: 0.4,
            chapter: None,
            ..Default::default()
        },
        created_at: now(),
    };
    let c = Candidate::from_insight(&insight, Some(v(0, 0, 0.0)));
    assert_eq!(c.id, Some(42));
    assert_eq!(c.quote, None, "a blank quote is no quote");
    assert_eq!(c.scores.importance, 0.9);
    let r = rank(
        &[c],
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    );
    assert_eq!(r.picks[0].id, Some(42));
    assert!(
        r.picks[0]
            .reasons
            .iter()
            .any(|x| x == "publication date unknown")
    );
}
