//! Evaluation with the real model: the duplicate decision on hand-labelled pairs
//! (`eval/pairs.jsonl`), and two multi-show days (`eval/day1.jsonl`, `eval/day2.jsonl`).
//! Figures go to stderr (`cargo test -p podsift-ranking --test eval -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use podsift_ranking::{
    Candidate, DEFAULT_DUPLICATE_THRESHOLD, Embedder, MiniLmEmbedder, Profile, RankConfig,
    RankReport, Ranking, SentInsight, SuppressReason, cosine, embed_candidates, parse_candidates,
    rank, render_text, test_model_dir,
};
use serde::Deserialize;

fn model() -> Option<&'static MiniLmEmbedder> {
    static MODEL: OnceLock<Option<MiniLmEmbedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let Some(dir) = test_model_dir() else {
                podsift_testkit::skip(module_path!(), "all-MiniLM-L6-v2 test copy absent; run scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer");
                return None;
            };
            Some(MiniLmEmbedder::load(&dir).expect("the test copy loads"))
        })
        .as_ref()
}

fn eval_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eval")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[derive(Deserialize)]
struct Pair {
    id: u32,
    label: String,
    a: String,
    b: String,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
}

fn counts(scored: &[(f32, bool)], threshold: f32) -> Counts {
    let mut c = Counts {
        tp: 0,
        fp: 0,
        fn_: 0,
    };
    for &(s, dup) in scored {
        match (s >= threshold, dup) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, true) => c.fn_ += 1,
            (false, false) => {}
        }
    }
    c
}

#[test]
fn duplicate_decision_on_labelled_pairs() {
    let Some(m) = model() else { return };
    let pairs: Vec<Pair> = eval_file("pairs.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("pair line"))
        .collect();
    assert!(pairs.len() >= 60);
    let texts: Vec<String> = pairs
        .iter()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect();
    let e = m.embed(&texts).unwrap();
    let mut by_label: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    let mut scored = Vec::new();
    for (k, p) in pairs.iter().enumerate() {
        let s = cosine(&e[2 * k], &e[2 * k + 1]);
        by_label.entry(p.label.as_str()).or_default().push(s);
        scored.push((s, p.label == "duplicate"));
        eprintln!("pair {:>2} {:<9} {s:.3}", p.id, p.label);
    }
    for (label, v) in &by_label {
        let mut v = v.clone();
        v.sort_by(f32::total_cmp);
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        eprintln!(
            "{label:<9} n={:>2} min {:.3} median {:.3} mean {mean:.3} max {:.3}",
            v.len(),
            v[0],
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
    eprintln!("threshold precision recall F1 (duplicate = positive)");
    for step in 10..=19 {
        let t = step as f32 * 0.05;
        let c = counts(&scored, t);
        let (p, r) = (c.precision(), c.recall());
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        eprintln!(
            "{t:.2}      {p:.3}     {r:.3}  {f1:.3}  (tp {} fp {} fn {})",
            c.tp, c.fp, c.fn_
        );
    }
    let c = counts(&scored, DEFAULT_DUPLICATE_THRESHOLD);
    // A false duplicate hides a distinct insight from the reader for good; a missed one costs
    // a repeated line that MMR usually keeps out anyway: precision first.
    assert!(
        c.precision() >= 0.9,
        "precision at {DEFAULT_DUPLICATE_THRESHOLD}: {c:?}"
    );
    assert!(
        c.recall() >= 0.7,
        "recall at {DEFAULT_DUPLICATE_THRESHOLD}: {c:?}"
    );
    // No unrelated pair comes near the duplicate threshold.
    let worst_unrelated = by_label["unrelated"]
        .iter()
        .copied()
        .fold(f32::MIN, f32::max);
    assert!(
        worst_unrelated < DEFAULT_DUPLICATE_THRESHOLD - 0.2,
        "{worst_unrelated}"
    );
}

/// A day file: candidate lines plus a `claim` label per line (removed before parsing).
fn day(name: &str) -> (Vec<Candidate>, Vec<String>) {
    let mut claims = Vec::new();
    let mut lines = Vec::new();
    for l in eval_file(name).lines().filter(|l| !l.trim().is_empty()) {
        let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
        let claim = v.as_object_mut().unwrap().remove("claim").unwrap();
        claims.push(claim.as_str().unwrap().to_string());
        lines.push(v.to_string());
    }
    (parse_candidates(&lines.join("\n"), name).unwrap(), claims)
}

fn noon(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
}

fn show(r: &Ranking, model: &MiniLmEmbedder) {
    let report = RankReport {
        model: model.model_id().to_string(),
        ranking: r.clone(),
    };
    eprintln!("{}", render_text(&report, true));
}

#[test]
fn two_multi_show_days_without_repeats() {
    let Some(m) = model() else { return };
    let config = RankConfig::default();

    let (mut day1, claims1) = day("day1.jsonl");
    embed_candidates(m, &mut day1).unwrap();
    let r1 = rank(&day1, &Profile::default(), &[], &config, noon(20));
    show(&r1, m);
    assert_eq!(r1.picks.len(), 5);
    let picked1: Vec<&str> = r1.picks.iter().map(|p| claims1[p.index].as_str()).collect();
    let distinct: BTreeSet<&str> = picked1.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        5,
        "no two picks make the same claim: {picked1:?}"
    );
    assert!(!picked1.contains(&"patreon"));
    // The story told on three shows is found as one cluster and said to be corroborated.
    let uv: BTreeSet<usize> = (0..day1.len())
        .filter(|&i| claims1[i] == "uv-unified")
        .collect();
    assert!(
        r1.clusters
            .iter()
            .any(|c| c.members.iter().copied().collect::<BTreeSet<_>>() == uv),
        "uv cluster: {:?}",
        r1.clusters
    );
    // Every cluster holds a single claim (no false merges).
    for c in &r1.clusters {
        let cs: BTreeSet<&str> = c.members.iter().map(|&i| claims1[i].as_str()).collect();
        assert_eq!(cs.len(), 1, "cluster mixes claims: {cs:?}");
    }
    let uv_pick = r1
        .picks
        .iter()
        .find(|p| claims1[p.index] == "uv-unified")
        .expect("uv picked");
    assert!(
        uv_pick
            .reasons
            .iter()
            .any(|x| x.starts_with("also discussed on")),
        "{:?}",
        uv_pick.reasons
    );

    // Day 2: what day 1 sent is the history.
    let history: Vec<SentInsight> = r1
        .picks
        .iter()
        .map(|p| SentInsight {
            text: p.text.clone(),
            podcast: Some(p.podcast.clone()),
            sent_on: noon(20).date_naive(),
            embedding: day1[p.index].embedding.clone(),
        })
        .collect();
    let (mut day2, claims2) = day("day2.jsonl");
    embed_candidates(m, &mut day2).unwrap();
    let r2 = rank(&day2, &Profile::default(), &history, &config, noon(21));
    show(&r2, m);
    assert_eq!(r2.picks.len(), 5, "day 2 still fills the digest");
    for p in &r2.picks {
        let claim = claims2[p.index].as_str();
        assert!(
            !picked1.contains(&claim) || p.update_of.is_some(),
            "day 2 repeats day 1's {claim}: {}",
            p.text
        );
    }
    let repeats: Vec<&str> = r2
        .suppressed
        .iter()
        .filter(|s| matches!(s.reason, SuppressReason::AlreadySent { .. }))
        .map(|s| claims2[s.index].as_str())
        .collect();
    let expected: Vec<&str> = claims2
        .iter()
        .map(String::as_str)
        .filter(|c| picked1.contains(c))
        .collect();
    assert!(
        !expected.is_empty(),
        "the day-2 file repeats some day-1 picks"
    );
    assert_eq!(
        repeats, expected,
        "each repeat of a sent claim is suppressed as already sent"
    );
}
