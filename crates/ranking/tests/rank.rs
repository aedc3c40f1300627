//! The pure ranking with hand-made embeddings, or none (no model needed).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use podsift_ranking::{
    Candidate, Embedder, Interest, Profile, RankConfig, RankError, Scores, SentInsight,
    SimilarityMethod, SuppressReason, Vote, new_material, parse_candidates, parse_history, rank,
    rank_jsonl, render_text,
};
use podsift_register::Rule;

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

const COMPANIES: [&str; 12] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Aperture",
];

/// A distinct claim in the target register (two sentences, a figure, names, what follows).
fn claim(k: usize) -> String {
    let c = COMPANIES[k % COMPANIES.len()];
    format!(
        "{c} raised {} million dollars from Northwind Capital to expand in Brazil. Rivals of \
         {c} now face a better funded competitor, and its customers gain cheaper plans.",
        10 + k
    )
}

fn cand(text: &str, podcast: &str, episode: &str, importance: f32, e: Vec<f32>) -> Candidate {
    Candidate {
        text: text.to_string(),
        podcast: podcast.to_string(),
        episode: episode.to_string(),
        scores: Scores {
            importance,
            novelty: 0.5,
            specificity: 0.5,
        },
        published: Some(now() - chrono::Duration::hours(2)),
        embedding: Some(e),
        ..Candidate::default()
    }
}

fn texts(r: &podsift_ranking::Ranking) -> Vec<&str> {
    r.picks.iter().map(|p| p.text.as_str()).collect()
}

fn default_rank(cands: &[Candidate]) -> podsift_ranking::Ranking {
    rank(
        cands,
        &Profile::default(),
        &[],
        &RankConfig::default(),
        now(),
    )
}

#[test]
fn the_same_claim_on_three_shows_is_one_pick_said_on_three_shows() {
    let cands = vec![
        cand(
            "Acme raised money from Northwind.",
            "Show A",
            "a1",
            0.6,
            v(0, 1, 0.05),
        ),
        cand(&claim(0), "Show B", "b1", 0.6, v(0, 2, 0.05)),
        cand(
            "Acme got funding, Northwind led.",
            "Show C",
            "c1",
            0.5,
            v(0, 3, 0.05),
        ),
        cand(&claim(5), "Show A", "a1", 0.6, v(5, 6, 0.0)),
    ];
    let r = default_rank(&cands);
    assert_eq!(r.clusters.len(), 1, "{:?}", r.clusters);
    let c = &r.clusters[0];
    assert_eq!(c.members, vec![0, 1, 2]);
    // The one that passes more of the register represents the claim.
    assert_eq!(c.representative, 1);
    assert_eq!(c.shows, vec!["Show A", "Show B", "Show C"]);
    assert_eq!(r.picks.len(), 2, "one pick per claim: {:?}", texts(&r));
    let top = &r.picks[0];
    assert_eq!(top.index, 1);
    assert_eq!(top.also, vec![0, 2]);
    assert!(
        top.reasons
            .iter()
            .any(|x| x == "said on 3 shows: Show B, Show A, Show C"),
        "{:?}",
        top.reasons
    );
    // Equally written: only corroboration puts the claim above the other story.
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
fn one_topic_different_figures_are_different_claims() {
    // Close in embedding space (cosine 0.8), same companies, different figures: two claims.
    let raise = "Acme raised 40 million dollars in a Series B led by Northwind Capital. \
                 Rivals of Acme now face a better funded competitor in Brazil.";
    let hire = "Acme will hire 200 engineers in Brazil this year, says Northwind Capital. \
                Rivals of Acme now compete for the same scarce engineers.";
    let cands = vec![
        cand(raise, "Show A", "a", 0.6, v(0, 1, 0.75)),
        cand(hire, "Show B", "b", 0.6, v(0, 0, 0.0)),
    ];
    let r = default_rank(&cands);
    assert!(r.clusters.is_empty(), "{:?}", r.clusters);
    assert_eq!(r.picks.len(), 2);
}

#[test]
fn caps_hold_while_other_shows_have_candidates_then_give_way() {
    let cands: Vec<Candidate> = (0..8)
        .map(|k| cand(&claim(k), "Big Show", "ep1", 0.9, v(k, k, 0.0)))
        .chain((8..10).map(|k| {
            let mut c = cand(&claim(k), "Small Show", &format!("s{k}"), 0.2, v(k, k, 0.0));
            c.editor_rank = Some(5);
            c
        }))
        .collect();
    let r = default_rank(&cands);
    assert_eq!(r.picks.len(), 5, "the digest is full: {:?}", texts(&r));
    assert!(r.short.is_none());
    // The first four respect the caps: two per show while the other show has candidates.
    let first4: Vec<&str> = r.picks[..4].iter().map(|p| p.podcast.as_str()).collect();
    assert_eq!(first4.iter().filter(|p| **p == "Big Show").count(), 2);
    assert_eq!(first4.iter().filter(|p| **p == "Small Show").count(), 2);
    let fifth = &r.picks[4];
    assert_eq!(fifth.podcast, "Big Show");
    assert!(
        fifth
            .reasons
            .iter()
            .any(|x| x == "more than 2 from Big Show: too few other candidates passed"),
        "{:?}",
        fifth.reasons
    );

    let config = RankConfig {
        max_per_show: 0,
        max_per_episode: 1,
        ..RankConfig::default()
    };
    let r = rank(&cands, &Profile::default(), &[], &config, now());
    assert_eq!(r.picks.len(), 5);
    assert_eq!(
        r.picks[..3].iter().filter(|p| p.episode == "ep1").count(),
        1,
        "one from ep1 while the other episodes have candidates"
    );
}

#[test]
fn history_suppresses_the_same_claim_and_keeps_a_new_claim_on_the_story() {
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
        // cos ≈ 0.995 to the first sent insight, the same figure: a repeat.
        cand(
            "Acme lowered prices ten percent.",
            "Show B",
            "b1",
            0.9,
            v(0, 1, 0.1),
        ),
        // cos ≈ 0.58 to the first: a new claim on the story, with new numbers and a name.
        cand(
            "Acme now cuts prices by 25% and Globex follows.",
            "Show C",
            "c1",
            0.7,
            v(0, 2, 1.4),
        ),
        // cos ≈ 0.58 to the second, nothing new: kept, held back a little.
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
        // Very close to the first (cos 0.995) but a different figure: not the same claim.
        cand(
            "Acme cut prices by 30% for all customers.",
            "Show F",
            "f1",
            0.7,
            v(0, 3, 0.1),
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
        update.reasons.iter().any(
            |x| x == "Update: adds 25% to what you were sent on 2026-11-20"
                || x == "Update: adds 25%, Globex to what you were sent on 2026-11-20"
        ),
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
    assert!(r.picks.iter().any(|p| p.index == 3));
    let changed = r
        .picks
        .iter()
        .find(|p| p.index == 4)
        .expect("a changed figure is news");
    assert_eq!(
        changed.update_of.as_ref().unwrap().new_material,
        vec!["30%"]
    );
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
    assert_eq!(
        new_material("Revenue rose 5 percent.", "Revenue fell."),
        vec!["5 percent"]
    );
    assert!(new_material("Same old news.", "Same old news.").is_empty());
}

#[test]
fn feedback_is_bounded_and_never_empties_the_digest() {
    // Six distinct claims; the editor ranked the last one best.
    let cands: Vec<Candidate> = (0..6)
        .map(|k| {
            let mut c = cand(&claim(k), &format!("Show {k}"), "e", 0.5, v(k, k, 0.0));
            c.editor_rank = Some(6 - k as u32);
            c
        })
        .collect();
    let all = RankConfig {
        top_k: 6,
        max_per_show: 0,
        ..RankConfig::default()
    };
    let base = rank(&cands, &Profile::default(), &[], &all, now());
    assert_eq!(base.picks[0].index, 5);

    // One 👍 on a close relative of the weakest claim: its score rises, but one click does not
    // lift it past the editor's best, nor by more than a quarter.
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
    assert_eq!(after.picks[0].index, 5);
    assert!(one.show_weight("Show 0") <= 1.1 + 1e-6);
    let liked = after.picks.iter().find(|p| p.index == 0).unwrap();
    assert!(
        liked
            .reasons
            .iter()
            .any(|x| x == "you liked 1 insight from Show 0"),
        "{:?}",
        liked.reasons
    );

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
    let db = "Postgres 17 cut vacuum time by 30 percent on large tables, says Supabase. \
              Teams running big databases save hours of maintenance a week.";
    let garden = "Kew Gardens planted 400 new oak trees along the Thames this spring. \
                  Visitors gain shade, and the city gains a cooler riverside.";
    let cands = vec![
        cand(db, "A", "a", 0.6, v(0, 0, 0.0)),
        cand(garden, "B", "b", 0.7, v(1, 1, 0.0)),
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
            .any(|x| x == "matches your interest: databases"),
        "{:?}",
        r.picks[0].reasons
    );
}

#[test]
fn a_stated_interest_changes_the_pick_between_two_otherwise_equal_candidates() {
    // No embeddings at all (the simple engine): the interest's words decide.
    let batteries = "Tesla cut the price of its Powerwall home battery by 15 percent in \
                     Germany. Households with solar panels gain cheaper storage, and utilities \
                     lose evening demand.";
    let trains = "Siemens cut the price of its Vectron locomotive by 15 percent in Germany. \
                  Rail freight firms gain cheaper engines, and trucking firms lose cargo.";
    let mut cands = vec![
        cand(batteries, "A", "a", 0.5, vec![]),
        cand(trains, "B", "b", 0.5, vec![]),
    ];
    for c in &mut cands {
        c.embedding = None;
    }
    let one = RankConfig {
        top_k: 1,
        ..RankConfig::default()
    };
    let pick = |interests: &[&str]| {
        let profile = Profile {
            interests: interests.iter().map(|i| Interest::words(*i)).collect(),
            ..Profile::default()
        };
        let r = rank(&cands, &profile, &[], &one, now());
        (r.picks[0].index, r.picks[0].reasons.clone())
    };
    let (a, reasons) = pick(&["home batteries"]);
    assert_eq!(a, 0);
    assert!(
        reasons
            .iter()
            .any(|x| x == "matches your interest: home batteries")
    );
    assert_eq!(pick(&["rail freight"]).0, 1);
}

#[test]
fn mmr_prefers_a_different_story_over_a_close_second() {
    // Two takes on one story (cosine ≈ 0.55, below the same-claim band) and a distinct one.
    let cands = vec![
        cand(&claim(0), "A", "a", 0.9, v(0, 0, 0.0)),
        cand(
            &claim(1).replace("Globex", "Acme"),
            "B",
            "b",
            0.85,
            v(0, 1, 1.5),
        ),
        cand(&claim(2), "C", "c", 0.75, v(2, 2, 0.0)),
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
                &claim(k),
                &format!("Show {}", k % 4),
                &format!("e{k}"),
                0.5,
                v(k % 8, (k + 1) % 8, 0.05 * k as f32),
            )
        })
        .collect();
    let a = default_rank(&cands);
    cands.reverse();
    let b = default_rank(&cands);
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
    let mut no_embedding = cand(&claim(1), "A", "a", 0.5, vec![]);
    no_embedding.embedding = None;
    let cands = vec![
        cand("  ", "A", "a", 0.9, v(0, 0, 0.0)),
        no_embedding,
        cand(&claim(2), "B", "b", 0.5, v(1, 1, 0.0)),
    ];
    let r = default_rank(&cands);
    assert_eq!(r.picks.len(), 2);
    assert!(matches!(r.suppressed[0].reason, SuppressReason::EmptyText));
    let empty = default_rank(&[]);
    assert!(empty.picks.is_empty());
    assert_eq!(
        empty.short.as_deref(),
        Some("0 of 5: 0 candidates considered; the digest is shorter rather than padded.")
    );
}

#[test]
fn hard_register_failures_are_never_picked_and_a_short_digest_says_so() {
    let quote = "we raised forty million dollars and Northwind Capital led the round";
    let mut good = cand(
        &claim(0).replace("10 million", "40 million"),
        "A",
        "a",
        0.5,
        v(0, 0, 0.0),
    );
    good.quote = Some(quote.into());
    let mut invented = cand(
        &claim(0).replace("10 million", "90 million"),
        "B",
        "b",
        0.99,
        v(1, 1, 0.0),
    );
    invented.quote = Some(quote.into());
    let pointer = cand(
        "They raised 40 million dollars from Northwind Capital. Rivals now face a better funded \
         competitor, and customers gain cheaper plans.",
        "C",
        "c",
        0.99,
        v(2, 2, 0.0),
    );
    let ad = cand(
        "Scout APM finds slow queries in Django and Flask apps for 1,000 teams. Listeners get \
         a free trial and 20 % off with promo code BYTES.",
        "D",
        "d",
        0.99,
        v(3, 3, 0.0),
    );
    let r = default_rank(&[good, invented, pointer, ad]);
    assert_eq!(texts(&r).len(), 1);
    assert_eq!(r.picks[0].index, 0);
    assert_eq!(r.failed_register, 3);
    let rules: Vec<Rule> = r
        .suppressed
        .iter()
        .filter_map(|s| match &s.reason {
            SuppressReason::Register { rule, .. } => Some(*rule),
            _ => None,
        })
        .collect();
    assert_eq!(rules, vec![Rule::Faithful, Rule::Standalone, Rule::NotAd]);
    let short = r.short.as_deref().expect("short digest explained");
    assert!(
        short.starts_with("1 of 5: 4 candidates considered, 3 failed the register check"),
        "{short}"
    );
}

#[test]
fn self_scores_are_only_a_tie_breaker() {
    // Weak candidates rating themselves 0.95 against strong ones at 0.6.
    let weak = [
        "Big changes are coming to cloud computing this year. Teams should keep their options open.",
        "Acme raised money.",
        "Northwind Capital is busy. Many deals happened in a year of many deals for everyone.",
    ];
    let mut cands: Vec<Candidate> = weak
        .iter()
        .enumerate()
        .map(|(k, t)| cand(t, &format!("W{k}"), "w", 0.95, v(k, k, 0.0)))
        .collect();
    for c in &mut cands {
        c.scores = Scores {
            importance: 0.95,
            novelty: 0.95,
            specificity: 0.95,
        };
    }
    for k in 3..6 {
        let mut c = cand(&claim(k), &format!("S{k}"), "s", 0.6, v(k, k, 0.0));
        c.scores = Scores {
            importance: 0.6,
            novelty: 0.6,
            specificity: 0.6,
        };
        cands.push(c);
    }
    let three = RankConfig {
        top_k: 3,
        ..RankConfig::default()
    };
    let r = rank(&cands, &Profile::default(), &[], &three, now());
    let mut picked: Vec<usize> = r.picks.iter().map(|p| p.index).collect();
    picked.sort_unstable();
    assert_eq!(picked, vec![3, 4, 5], "{:?}", texts(&r));
    // The explanation shows every rule and the self-scores' small part.
    let f = &r.picks[0].explain;
    assert_eq!(f.rules.len(), 7);
    let selfs = f.features.iter().find(|x| x.name == "self_scores").unwrap();
    assert!(selfs.contribution <= 0.03 + 1e-9);
}

#[test]
fn the_editors_reason_comes_first_and_no_score_is_read_back() {
    let mut c = cand(&claim(0), "A", "a", 0.9, v(0, 0, 0.0));
    c.reason = Some("First round for a Brazilian expansion in this market".into());
    c.editor_rank = Some(1);
    let r = default_rank(&[c]);
    let reasons = &r.picks[0].reasons;
    assert_eq!(
        reasons[0],
        "First round for a Brazilian expansion in this market"
    );
    assert!(
        reasons
            .iter()
            .all(|x| !x.contains("importance") && !x.contains("0.9")),
        "{reasons:?}"
    );
}

#[test]
fn without_embeddings_the_words_decide_the_same_claim() {
    let a = "Acme raised 40 million dollars from Northwind Capital to expand in Brazil. Rivals \
             of Acme now face a better funded competitor.";
    let b = "Northwind Capital gave Acme 40 million dollars to expand in Brazil. Rivals of \
             Acme face a competitor with more money.";
    let other = "Acme will hire 200 engineers in Brazil with Northwind Capital's money. Local \
                 startups lose engineers to a richer employer.";
    let mut cands = vec![
        cand(a, "A", "a", 0.5, vec![]),
        cand(b, "B", "b", 0.5, vec![]),
        cand(other, "C", "c", 0.5, vec![]),
    ];
    for c in &mut cands {
        c.embedding = None;
    }
    let r = default_rank(&cands);
    assert_eq!(r.clusters.len(), 1, "{:?}", r.clusters);
    assert_eq!(r.clusters[0].members, vec![0, 1]);
    assert_eq!(r.picks.len(), 2);
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
        "{\"text\":\"t\",\"podcast\":\"A\",\"episode\":\"e\",\"quote\":\"q\",\"speaker\":\"Ann\",\"reason\":\"new\",\"editor_rank\":2,\"label\":\"weak\",\"flaw\":\"vague\",\"scores\":{\"importance\":0.5,\"novelty\":0.1,\"specificity\":1},\"published\":\"2026-11-20\"}",
        "input",
    )
    .unwrap();
    assert_eq!(
        ok[0].published.unwrap().to_rfc3339(),
        "2026-11-20T00:00:00+00:00"
    );
    assert_eq!(ok[0].quote.as_deref(), Some("q"));
    assert_eq!(ok[0].speaker.as_deref(), Some("Ann"));
    assert_eq!(ok[0].editor_rank, Some(2));

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
fn rank_jsonl_embeds_ranks_and_explains() {
    let line = |text: &str, podcast: &str, ep: &str, extra: &str| {
        format!(
            "{{\"text\":{},\"podcast\":\"{podcast}\",\"episode\":\"{ep}\"{extra}}}\n",
            serde_json::to_string(text).unwrap()
        )
    };
    let alpha = "Alpha 2 ships 40 percent faster builds for Rust crates, says Ferrous Systems. \
                 Teams with large workspaces save minutes on every change.";
    let alpha2 = "Alpha 2 ships builds 40 percent faster for Rust crates according to Ferrous \
                  Systems. Large workspaces save minutes on every change.";
    let omega = "Omega 5 drops support for Python 3.8 in March, says the Omega Foundation. \
                 Users on old servers must upgrade before then.";
    let input = [
        line(alpha, "A", "a1", ",\"quote\":\"at Ferrous Systems we measured it: Alpha 2 gives you 40 percent faster builds\",\"reason\":\"A build-time win for big workspaces\",\"editor_rank\":1,\"published\":\"2026-11-26T06:00:00Z\""),
        line(alpha2, "B", "b1", ""),
        line(omega, "C", "c1", ""),
    ]
    .concat();
    let history = format!(
        "{{\"text\":{},\"sent_on\":\"2026-11-25\"}}\n",
        serde_json::to_string(omega).unwrap()
    );
    let report = rank_jsonl(
        &input,
        Some(&history),
        Some(&FirstWord),
        &Profile::default(),
        &RankConfig::default(),
        now(),
    )
    .unwrap();
    assert_eq!(report.model, "test:first-word");
    assert_eq!(report.ranking.picks.len(), 1);
    assert_eq!(report.ranking.picks[0].text, alpha);
    let text = render_text(&report, true);
    assert!(text.contains("1. [A — a1] Alpha 2 ships"), "{text}");
    assert!(
        text.contains("why: A build-time win for big workspaces; said on 2 shows: A, B"),
        "{text}"
    );
    assert!(text.contains("fresh: published today"), "{text}");
    assert!(text.contains("rule faithful       pass"), "{text}");
    assert!(text.contains("feature editor_order"), "{text}");
    assert!(text.contains("#1 represents #1, #2 — A, B"), "{text}");
    assert!(text.contains("#3 [C] Omega 5 drops"), "{text}");
    assert!(text.contains("already sent on 2026-11-25"), "{text}");
    assert!(text.contains("1 of 5: 3 candidates considered"), "{text}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["picks"][0]["rank"], 1);
    assert_eq!(json["picks"][0]["explain"]["rules"][0]["rule"], "shape");
    assert_eq!(json["suppressed"][1]["reason"]["kind"], "already_sent");
    assert!(json["picks"][0].get("embedding").is_none());

    // The same file without an embedding model: the words find the same claim.
    let words = rank_jsonl(
        &input,
        Some(&history),
        None,
        &Profile::default(),
        &RankConfig::default(),
        now(),
    )
    .unwrap();
    assert_eq!(words.model, podsift_ranking::WORDS_ONLY);
    assert_eq!(words.ranking.picks.len(), 1);
    assert_eq!(words.ranking.clusters.len(), 1);
}

#[test]
fn a_chain_of_similar_insights_does_not_merge_its_far_ends() {
    // A ~ B and B ~ C (cosine 0.95), but A and C are far apart (cosine 0.8) and say
    // different things.
    let a = "Acme raised 40 million dollars from Northwind Capital in a Series B round. Rivals \
             of Acme face a better funded competitor in Brazil.";
    let b = "Northwind Capital led a 40 million dollar Series B for Acme. Rivals of Acme face \
             a better funded competitor.";
    let c = "Northwind Capital now holds 20 percent of Acme after the Series B. Founders of \
             Acme keep control, and Northwind gains a board seat.";
    let cands = vec![
        cand(a, "Show A", "a", 0.9, v(0, 0, 0.0)),
        cand(b, "Show B", "b", 0.5, v(0, 1, 0.33)),
        cand(c, "Show C", "c", 0.5, v(0, 1, 0.75)),
    ];
    let r = default_rank(&cands);
    assert_eq!(r.clusters.len(), 1, "{:?}", r.clusters);
    assert_eq!(r.clusters[0].members, vec![0, 1]);
    let picked: Vec<usize> = r.picks.iter().map(|p| p.index).collect();
    assert!(picked.contains(&2), "{picked:?}");
    assert_eq!(picked.len(), 2);
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
            text: claim(0),
            quote: " ".into(),
            start_seconds: 1.0,
            end_seconds: 2.0,
            importance: 0.9,
            novelty: 0.2,
            specificity: 0.4,
            editor_rank: Some(2),
            reason: Some("Why it matters".into()),
            faithful_checked: true,
            speaker: Some("Ann Lee".into()),
            ..Default::default()
        },
        created_at: now(),
        found_for: None,
    };
    let c = Candidate::from_insight(&insight, Some(v(0, 0, 0.0)));
    assert_eq!(c.id, Some(42));
    assert_eq!(c.quote, None, "a blank quote is no quote");
    assert_eq!(c.scores.importance, 0.9);
    assert_eq!(c.editor_rank, Some(2));
    assert!(c.faithful_checked);
    assert_eq!(c.speaker.as_deref(), Some("Ann Lee"));
    let r = default_rank(&[c]);
    assert_eq!(r.picks[0].id, Some(42));
    assert_eq!(r.picks[0].reasons[0], "Why it matters");
    assert!(
        r.picks[0]
            .reasons
            .iter()
            .any(|x| x == "publication date unknown")
    );
}
