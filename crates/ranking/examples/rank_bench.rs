//! Figures for BENCHMARKS.md: embedding throughput, and the time to rank 10,000 candidates
//! with the blocked similarity against the brute-force baseline.
//!
//! ```sh
//! scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer
//! cargo run --release -p podsift-ranking --example rank_bench [-- CANDIDATES [SENTENCES]]
//! ```
//! Sentences come from the Changelog transcripts in `$PODSIFT_CORPORA` (default
//! `../shared/corpora`); the 10,000 candidates are those sentences' real embeddings plus
//! noise of varied size (cosine 0.55–0.96 to their source), so clusters look like real ones.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use podsift_ranking::{
    Candidate, Embedder, MiniLmEmbedder, Profile, RankConfig, Scores, SimilarityMethod, rank,
    similarity::similar_pairs, test_model_dir,
};

fn sentences(limit: usize) -> Vec<String> {
    let root = std::env::var_os("PODSIFT_CORPORA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora")
        });
    let dir = root.join("03_longform/changelog/transcripts/practicalai");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        for s in text.split(['.', '?', '!']) {
            let s = s
                .trim()
                .trim_start_matches(|c: char| c == '*' || c.is_whitespace());
            let n = s.split_whitespace().count();
            if (8..=60).contains(&n) && !s.contains("**") {
                out.push(s.to_string());
                if out.len() == limit {
                    return out;
                }
            }
        }
    }
    out
}

/// A tiny deterministic generator (no extra dependency for the benchmark's noise).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let m: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1_000);
    let dir = test_model_dir().ok_or("model test copy absent: run scripts/fetch-test-assets")?;
    let model = MiniLmEmbedder::load(&dir)?;
    let texts = sentences(m);
    if texts.is_empty() {
        return Err("no sentences: set PODSIFT_CORPORA".into());
    }
    let words: usize = texts.iter().map(|t| t.split_whitespace().count()).sum();
    let _ = model.embed(&texts[..texts.len().min(32)])?; // warm-up
    let t = Instant::now();
    let real = model.embed(&texts)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "embedding: {} sentences (mean {:.1} words) in {secs:.2} s = {:.0} sentences/s ({} threads)",
        texts.len(),
        words as f64 / texts.len() as f64,
        texts.len() as f64 / secs,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );

    let mut rng = Lcg(42);
    let candidates: Vec<Candidate> = (0..n)
        .map(|i| {
            let base = &real[i % real.len()];
            let r = 0.3 + 1.2 * (rng.next() + 1.0) / 2.0;
            let noise: Vec<f32> = (0..base.len()).map(|_| rng.next()).collect();
            let nn = noise.iter().map(|x| x * x).sum::<f32>().sqrt();
            let e: Vec<f32> = base
                .iter()
                .zip(&noise)
                .map(|(b, x)| b + r * x / nn)
                .collect();
            Candidate {
                id: Some(i as i64),
                text: format!("{} ({i})", texts[i % texts.len()]),
                podcast: format!("Show {}", i % 40),
                episode: format!("Episode {}", i % 400),
                quote: None,
                scores: Scores {
                    importance: (rng.next() + 1.0) / 2.0,
                    novelty: (rng.next() + 1.0) / 2.0,
                    specificity: (rng.next() + 1.0) / 2.0,
                },
                published: Some(Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0).unwrap()),
                embedding: Some(podsift_ranking::embed::normalized(e)),
                ..Candidate::default()
            }
        })
        .collect();
    let vectors: Vec<Vec<f32>> = candidates
        .iter()
        .map(|c| c.embedding.clone().unwrap_or_default())
        .collect();
    let now = Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap();
    for method in [SimilarityMethod::Blocked, SimilarityMethod::BruteForce] {
        let config = RankConfig {
            similarity: method,
            ..RankConfig::default()
        };
        let t = Instant::now();
        let pairs = similar_pairs(&vectors, config.duplicate_threshold, method);
        let pair_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = rank(&candidates, &Profile::default(), &[], &config, now);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "rank {n} candidates, {method:?}: {secs:.2} s (all-pairs similarity alone {pair_secs:.2} s, {} pairs ≥ {}, {} clusters, {} picks)",
            pairs.len(),
            config.duplicate_threshold,
            r.clusters.len(),
            r.picks.len()
        );
    }
    Ok(())
}
