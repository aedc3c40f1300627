//! Selection: MMR (λ·score − (1−λ)·max similarity to what is already chosen) under the
//! per-show and per-episode caps; when the caps would leave the digest short while distinct
//! candidates remain, the caps give way and the pick says so.

use std::collections::HashMap;

use crate::embed::cosine;
use crate::types::{Candidate, RankConfig};

/// One scored candidate waiting to be chosen.
pub(crate) struct Entry {
    /// Index in the input candidates.
    pub index: usize,
    pub score: f64,
    /// Its unit embedding (empty without embeddings).
    pub vector: Vec<f32>,
    /// Content-word stems, for the similarity without embeddings.
    pub stems: std::collections::BTreeSet<String>,
}

fn similarity(a: &Entry, b: &Entry) -> f64 {
    if !a.vector.is_empty() && a.vector.len() == b.vector.len() {
        f64::from(cosine(&a.vector, &b.vector)).max(0.0)
    } else {
        let union = a.stems.union(&b.stems).count();
        if union == 0 {
            0.0
        } else {
            a.stems.intersection(&b.stems).count() as f64 / union as f64
        }
    }
}

/// A chosen entry, and the cap it was allowed past (if any).
pub(crate) struct Chosen {
    pub entry: usize,
    pub past_cap: Option<String>,
}

/// Chooses up to `config.top_k` of `pool` (sorted best first), in order of choice.
pub(crate) fn select(pool: &[Entry], candidates: &[Candidate], config: &RankConfig) -> Vec<Chosen> {
    let mut per_show: HashMap<&str, usize> = HashMap::new();
    let mut per_episode: HashMap<(&str, &str), usize> = HashMap::new();
    let mut chosen: Vec<Chosen> = Vec::new();
    let mut max_sim = vec![0.0f64; pool.len()];
    let mut taken = vec![false; pool.len()];
    let lambda = config.mmr_lambda.clamp(0.0, 1.0);
    // First within the caps; then, only if the digest would be short, past them.
    for capped in [true, false] {
        while chosen.len() < config.top_k {
            let mut best: Option<(usize, f64, Option<String>)> = None;
            for (p, s) in pool.iter().enumerate() {
                if taken[p] {
                    continue;
                }
                let c = &candidates[s.index];
                let show_n = per_show.get(c.podcast.as_str()).copied().unwrap_or(0);
                let ep_n = per_episode
                    .get(&(c.podcast.as_str(), c.episode.as_str()))
                    .copied()
                    .unwrap_or(0);
                let over_show = config.max_per_show > 0 && show_n >= config.max_per_show;
                let over_episode = config.max_per_episode > 0 && ep_n >= config.max_per_episode;
                if capped && (over_show || over_episode) {
                    continue;
                }
                let past_cap = if over_show {
                    Some(format!(
                        "more than {} from {}: too few other candidates passed",
                        config.max_per_show, c.podcast
                    ))
                } else if over_episode {
                    Some(format!(
                        "more than {} from one episode: too few other candidates passed",
                        config.max_per_episode
                    ))
                } else {
                    None
                };
                let mmr = lambda * s.score - (1.0 - lambda) * max_sim[p];
                if best.as_ref().is_none_or(|(_, b, _)| mmr > *b) {
                    best = Some((p, mmr, past_cap));
                }
            }
            let Some((p, _, past_cap)) = best else { break };
            taken[p] = true;
            let c = &candidates[pool[p].index];
            *per_show.entry(c.podcast.as_str()).or_default() += 1;
            *per_episode
                .entry((c.podcast.as_str(), c.episode.as_str()))
                .or_default() += 1;
            for q in 0..pool.len() {
                if !taken[q] {
                    max_sim[q] = max_sim[q].max(similarity(&pool[p], &pool[q]));
                }
            }
            chosen.push(Chosen { entry: p, past_cap });
        }
    }
    chosen
}
