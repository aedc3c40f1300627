//! Selection: per-show cap, determinism, near-duplicates, freshness, empty input.

mod common;

use common::{TEXTS, candidate, now};
use podsift_digest::select;

#[test]
fn empty_input_and_zero_size() {
    assert!(select(&[], 5, 2, now()).is_empty());
    let c = vec![candidate(1, 1, TEXTS[0])];
    assert!(select(&c, 0, 2, now()).is_empty());
}

#[test]
fn per_show_cap() {
    // Six strong insights from show 1, three weaker ones from shows 2–4.
    let mut cs: Vec<_> = (0..6)
        .map(|i| {
            let mut c = candidate(
                i,
                1,
                &format!(
                    "{} (variant {i} about topic {})",
                    TEXTS[i as usize % 5],
                    i * 7
                ),
            );
            c.draft.text = format!(
                "Distinct claim number {i}: {}",
                [
                    "alpha beta",
                    "gamma delta",
                    "epsilon zeta",
                    "eta theta",
                    "iota kappa",
                    "lambda mu"
                ][i as usize]
            );
            c.draft.importance = 0.95;
            c
        })
        .collect();
    for (i, t) in TEXTS.iter().enumerate().skip(1).take(3) {
        let mut c = candidate(10 + i as i64, 1 + i as i64, t);
        c.draft.importance = 0.3;
        cs.push(c);
    }
    let picks = select(&cs, 5, 2, now());
    assert_eq!(picks.len(), 5);
    let from_show1 = picks.iter().filter(|p| p.candidate.feed_id == 1).count();
    assert_eq!(from_show1, 2, "cap of 2 per show");
    // Best first.
    assert!(picks.windows(2).all(|w| w[0].score >= w[1].score));
    // max_per_show = 0: no cap.
    let uncapped = select(&cs, 5, 0, now());
    assert!(uncapped.iter().all(|p| p.candidate.feed_id == 1));
    // Fewer candidates than size: all of them (within the cap).
    assert_eq!(select(&cs[6..], 5, 2, now()).len(), 3);
}

#[test]
fn deterministic_under_reordering_and_ties() {
    // All identical scores: ties go to newer publication, then lower id.
    let mut cs: Vec<_> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, t)| candidate(i as i64 + 1, i as i64 + 1, t))
        .collect();
    cs[3].published = Some(now() - chrono::Duration::hours(1));
    let a: Vec<i64> = select(&cs, 3, 2, now())
        .iter()
        .map(|p| p.candidate.id)
        .collect();
    cs.reverse();
    let b: Vec<i64> = select(&cs, 3, 2, now())
        .iter()
        .map(|p| p.candidate.id)
        .collect();
    cs.swap(0, 2);
    let c: Vec<i64> = select(&cs, 3, 2, now())
        .iter()
        .map(|p| p.candidate.id)
        .collect();
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a, vec![4, 1, 2]);
}

#[test]
fn near_duplicates_are_not_both_chosen() {
    let mut a = candidate(1, 1, TEXTS[0]);
    a.draft.importance = 0.9;
    // Same words, different case and punctuation: Jaccard 1.0.
    let b = candidate(2, 2, &TEXTS[0].to_uppercase().replace('.', "!"));
    // One word changed out of ~25 distinct: still ≥ 0.8.
    let c = candidate(3, 3, &TEXTS[0].replace("success", "popularity"));
    let d = candidate(4, 4, TEXTS[1]);
    let picks = select(&[a, b, c, d], 5, 2, now());
    let ids: Vec<i64> = picks.iter().map(|p| p.candidate.id).collect();
    assert_eq!(ids, vec![1, 4]);
}

#[test]
fn fresher_and_better_wins_and_reasons_explain() {
    let mut old = candidate(1, 1, TEXTS[0]);
    old.published = Some(now() - chrono::Duration::days(10));
    let fresh = candidate(2, 2, TEXTS[1]);
    let mut weak = candidate(3, 3, TEXTS[2]);
    weak.draft.importance = 0.1;
    weak.draft.specificity = 0.1;
    weak.draft.novelty = f32::NAN; // garbage from a model counts as 0
    let mut undated = candidate(4, 4, TEXTS[3]);
    undated.published = None;
    undated.created_at = now() - chrono::Duration::days(3);
    let picks = select(&[old, fresh, weak, undated], 4, 2, now());
    let ids: Vec<i64> = picks.iter().map(|p| p.candidate.id).collect();
    assert_eq!(ids[0], 2);
    assert_eq!(*ids.last().unwrap(), 3);
    assert!(picks.iter().all(|p| p.score.is_finite() && p.score > 0.0));
    let fresh = &picks[0];
    assert_eq!(fresh.reasons[0], "importance 0.80, specific");
    assert_eq!(fresh.reasons[1], "fresh: published today");
    let old = picks.iter().find(|p| p.candidate.id == 1).unwrap();
    assert!(
        old.reasons.contains(&"published 10 days ago".to_string()),
        "{:?}",
        old.reasons
    );
    let undated = picks.iter().find(|p| p.candidate.id == 4).unwrap();
    assert!(
        undated.reasons[1].contains("publication date unknown"),
        "{:?}",
        undated.reasons
    );
}

#[test]
fn empty_texts_are_never_chosen() {
    let a = candidate(1, 1, "   ");
    let b = candidate(2, 2, TEXTS[0]);
    let ids: Vec<i64> = select(&[a, b], 5, 2, now())
        .iter()
        .map(|p| p.candidate.id)
        .collect();
    assert_eq!(ids, vec![2]);
}

#[test]
fn many_candidates_bounded() {
    // 20,000 candidates over 50 shows: still quick, 5 picks, cap respected.
    let cs: Vec<_> = (0..20_000)
        .map(|i| {
            let mut c = candidate(
                i,
                i % 50,
                &format!("claim {i} about subject {} with detail {}", i % 97, i % 13),
            );
            c.draft.importance = ((i * 37) % 100) as f32 / 100.0;
            c
        })
        .collect();
    let t = std::time::Instant::now();
    let picks = select(&cs, 5, 2, now());
    assert_eq!(picks.len(), 5);
    assert!(t.elapsed().as_secs() < 10);
}
