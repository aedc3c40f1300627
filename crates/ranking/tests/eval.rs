//! Evaluation with the real model: the duplicate decision on hand-labelled pairs
//! (`eval/pairs.jsonl`), and two multi-show days (`eval/day1.jsonl`, `eval/day2.jsonl`).
//! Figures go to stderr (`cargo test -p podsift-ranking --test eval -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{DateTime, TimeZone, Utc};
use podsift_ranking::claim::{ClaimKey, same_claim};
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

fn pairs(name: &str) -> Vec<Pair> {
    eval_file(name)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("pair line"))
        .collect()
}

fn f1(c: Counts) -> f64 {
    let (p, r) = (c.precision(), c.recall());
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// The same-claim decision on the labelled pairs (`pairs.jsonl`) and the hard negatives
/// (`hard_negatives.jsonl`: same topic and companies, different claims; and duplicates worded
/// apart). The named baseline is cosine alone at the old threshold 0.65.
#[test]
fn same_claim_decision_on_labelled_pairs_and_hard_negatives() {
    let Some(m) = model() else { return };
    let mut all = pairs("pairs.jsonl");
    let original = all.len();
    assert!(original >= 60);
    all.extend(pairs("hard_negatives.jsonl"));
    assert!(all.len() >= original + 50, "hard negatives present");
    let texts: Vec<String> = all
        .iter()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect();
    let e = m.embed(&texts).unwrap();
    let mut by_label: BTreeMap<&str, Vec<f32>> = BTreeMap::new();
    let mut cosines = Vec::new();
    for (k, p) in all.iter().enumerate() {
        let s = cosine(&e[2 * k], &e[2 * k + 1]);
        by_label.entry(p.label.as_str()).or_default().push(s);
        cosines.push(s);
    }
    for (label, v) in &by_label {
        let mut v = v.clone();
        v.sort_by(f32::total_cmp);
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        eprintln!(
            "{label:<9} n={:>3} cosine min {:.3} median {:.3} mean {mean:.3} max {:.3}",
            v.len(),
            v[0],
            v[v.len() / 2],
            v[v.len() - 1]
        );
    }
    let count = |decide: &dyn Fn(usize) -> bool, only: &dyn Fn(&Pair) -> bool| {
        let mut c = Counts {
            tp: 0,
            fp: 0,
            fn_: 0,
        };
        for (k, p) in all.iter().enumerate().filter(|(_, p)| only(p)) {
            match (decide(k), p.label == "duplicate") {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => {}
            }
        }
        c
    };
    let keys: Vec<(ClaimKey, ClaimKey)> = all
        .iter()
        .map(|p| (ClaimKey::of(&p.a), ClaimKey::of(&p.b)))
        .collect();
    let hard = |p: &Pair| p.id >= 101;
    let any = |_: &Pair| true;
    eprintln!("decision                          set          precision recall F1    (tp fp fn)");
    let report = |name: &str, decide: &dyn Fn(usize) -> bool| {
        for (set, only) in [("all", &any as &dyn Fn(&Pair) -> bool), ("hard", &hard)] {
            let c = count(decide, only);
            eprintln!(
                "{name:<33} {set:<12} {:.3}     {:.3}  {:.3}  ({} {} {})",
                c.precision(),
                c.recall(),
                f1(c),
                c.tp,
                c.fp,
                c.fn_
            );
        }
    };
    for t in [0.6f32, 0.65, 0.7, 0.75, 0.8] {
        report(&format!("cosine ≥ {t:.2} alone"), &|k| cosines[k] >= t);
    }
    for t in [0.5f32, 0.55, 0.6, 0.65] {
        report(&format!("claim (cosine band from {t:.2})"), &|k| {
            same_claim(&keys[k].0, &keys[k].1, Some(cosines[k]), t)
        });
    }
    report("claim, words only (no model)", &|k| {
        same_claim(&keys[k].0, &keys[k].1, None, DEFAULT_DUPLICATE_THRESHOLD)
    });
    let decide = |k: usize| {
        same_claim(
            &keys[k].0,
            &keys[k].1,
            Some(cosines[k]),
            DEFAULT_DUPLICATE_THRESHOLD,
        )
    };
    let c = count(&decide, &any);
    let baseline = count(&|k| cosines[k] >= 0.65, &any);
    // A false "same claim" hides a distinct insight from the reader for good; a missed one
    // costs a repeated line that MMR usually keeps out anyway: precision first.
    assert!(c.precision() >= 0.9, "precision: {c:?}");
    assert!(c.recall() >= 0.7, "recall: {c:?}");
    assert!(
        c.precision() > baseline.precision() && f1(c) > f1(baseline),
        "better than cosine alone: {c:?} vs {baseline:?}"
    );
    let h = count(&decide, &hard);
    assert!(h.fp <= 2, "hard negatives merged: {h:?}");
    // No unrelated pair comes near the band.
    let worst_unrelated = by_label["unrelated"]
        .iter()
        .copied()
        .fold(f32::MIN, f32::max);
    assert!(
        worst_unrelated < DEFAULT_DUPLICATE_THRESHOLD - 0.15,
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
    let mut cands = parse_candidates(&lines.join("\n"), name).unwrap();
    if name.starts_with("day") {
        // These stand for stored insights, whose figures the extraction checked against the
        // windows they were read in (their short quotes alone do not carry every figure).
        for c in &mut cands {
            c.faithful_checked = true;
        }
    }
    (cands, claims)
}

fn noon(d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
}

/// What day 1 sent, as day 2's history.
fn sent(r1: &Ranking, day1: &[Candidate]) -> Vec<SentInsight> {
    r1.picks
        .iter()
        .map(|p| SentInsight {
            text: p.text.clone(),
            podcast: Some(p.podcast.clone()),
            sent_on: noon(20).date_naive(),
            embedding: day1[p.index].embedding.clone(),
        })
        .collect()
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
            .any(|x| x.starts_with("said on 3 shows")),
        "{:?}",
        uv_pick.reasons
    );

    // Day 2: what day 1 sent is the history.
    let history = sent(&r1, &day1);
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

/// Fourteen candidates about one set of companies and deals (three pairs truly the same
/// claim) and a day after with repeats, updates and new claims: a newsletter about one
/// industry still gets a full digest with no true duplicate, today and tomorrow.
#[test]
fn one_industry_fills_the_digest_today_and_the_day_after() {
    let Some(m) = model() else { return };
    let config = RankConfig::default();
    let (mut day1, claims1) = day("one_topic_day1.jsonl");
    embed_candidates(m, &mut day1).unwrap();
    let r1 = rank(&day1, &Profile::default(), &[], &config, noon(20));
    show(&r1, m);
    assert_eq!(r1.picks.len(), 5, "a full digest");
    let picked1: Vec<&str> = r1.picks.iter().map(|p| claims1[p.index].as_str()).collect();
    let distinct: BTreeSet<&str> = picked1.iter().copied().collect();
    assert_eq!(distinct.len(), 5, "no true duplicate: {picked1:?}");
    for c in &r1.clusters {
        let cs: BTreeSet<&str> = c.members.iter().map(|&i| claims1[i].as_str()).collect();
        assert_eq!(cs.len(), 1, "a cluster mixes claims: {cs:?}");
    }
    let merged = r1.clusters.len();
    eprintln!("day 1: {merged} clusters of the same claim (3 true pairs)");
    assert!(merged >= 2, "most true pairs are found: {:?}", r1.clusters);

    let history = sent(&r1, &day1);
    let (mut day2, claims2) = day("one_topic_day2.jsonl");
    embed_candidates(m, &mut day2).unwrap();
    let r2 = rank(&day2, &Profile::default(), &history, &config, noon(21));
    show(&r2, m);
    assert_eq!(r2.picks.len(), 5, "the day after is full too");
    for p in &r2.picks {
        let claim = claims2[p.index].as_str();
        assert!(
            !picked1.contains(&claim),
            "day 2 repeats day 1's {claim}: {}",
            p.text
        );
    }
    for p in r2
        .picks
        .iter()
        .filter(|p| claims2[p.index].ends_with("-update"))
    {
        let base = claims2[p.index].trim_end_matches("-update");
        if picked1.contains(&base) {
            assert!(
                p.update_of.is_some(),
                "an update of a sent claim says so: {}",
                p.text
            );
        }
    }
    let distinct2: BTreeSet<&str> = r2.picks.iter().map(|p| claims2[p.index].as_str()).collect();
    assert_eq!(distinct2.len(), 5);
}
