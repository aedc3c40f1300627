//! The ranking itself: pure and deterministic (same input, same output; no clock, no I/O).
//! One path for both engines: with sentence embeddings (`[ranking] engine = "embeddings"`)
//! or without them (`"simple"`: the words decide "same claim" and interests).
//!
//! ```text
//! 1. register    every candidate through the register check; one that fails a hard rule
//!                (standalone, faithful, not a copy, not an ad) is left out, with the rule
//! 2. cluster     candidates that make the same claim (crate::claim: cosine opens the
//!                question, figures, names and words answer it) are one; the best-written
//!                member represents it, the others become "said on N shows"
//! 3. history     the same claim as something sent is suppressed; a new claim on a sent
//!                story is kept ("Update: …" when it adds figures or names)
//! 4. score       crate::score: editor order and register first, detail and consequence,
//!                self-scores as a tie-breaker; freshness, interests, feedback,
//!                corroboration, show weight
//! 5. select      MMR under the per-show and per-episode caps, which give way rather than
//!                leave the digest short while distinct candidates remain
//! ```
//!
//! Feedback only moves scores (bounded, see [`Profile::record_feedback`]); it never filters,
//! so it cannot empty a digest. A digest shorter than asked says why ([`Ranking::short`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use podsift_register::Verdict;

use crate::claim::{ClaimKey, same_claim};
use crate::embed::cosine;
use crate::history::{self, Sent};
use crate::score::{self, Context, STALE_PENALTY};
use crate::select::{Entry, select};
use crate::similarity::similar_pairs;
use crate::types::{
    Candidate, Cluster, Explain, Pick, Profile, RankConfig, Ranking, SentInsight, SuppressReason,
    Suppressed,
};

/// What a scored representative carries to its pick: reasons, explanation, the story it
/// updates, and the other members of its cluster.
type Details = (
    Vec<String>,
    Explain,
    Option<crate::types::UpdateOf>,
    Vec<usize>,
);

/// Without embeddings, a word shared by more candidates than this does not pair them up.
const COMMON_WORD: usize = 200;

/// Union-find with path halving; the root is always the smallest index (deterministic).
struct Dsu(Vec<usize>);

impl Dsu {
    fn find(&mut self, mut x: usize) -> usize {
        while self.0[x] != x {
            self.0[x] = self.0[self.0[x]];
            x = self.0[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.0[hi] = lo;
        }
    }
}

/// The candidates `rank` works on: those with text that pass the hard rules.
struct Live<'a> {
    /// Input indices.
    index: Vec<usize>,
    vectors: Vec<Vec<f32>>,
    keys: Vec<ClaimKey>,
    verdicts: Vec<Verdict>,
    candidates: &'a [Candidate],
}

impl Live<'_> {
    fn cosine(&self, a: usize, b: usize) -> Option<f32> {
        (!self.vectors[a].is_empty()).then(|| cosine(&self.vectors[a], &self.vectors[b]))
    }

    fn same(&self, a: usize, b: usize, threshold: f32) -> bool {
        same_claim(&self.keys[a], &self.keys[b], self.cosine(a, b), threshold)
    }

    /// Pairs worth asking "same claim?": close in embedding space, or (without embeddings)
    /// sharing an uncommon content word.
    fn candidate_pairs(&self, config: &RankConfig) -> Vec<(usize, usize)> {
        if self.vectors.first().is_some_and(|v| !v.is_empty()) {
            return similar_pairs(&self.vectors, config.duplicate_threshold, config.similarity);
        }
        let mut by_word: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (k, key) in self.keys.iter().enumerate() {
            for s in &key.stems {
                by_word.entry(s.as_str()).or_default().push(k);
            }
        }
        let mut pairs = BTreeSet::new();
        for list in by_word.values().filter(|l| l.len() <= COMMON_WORD) {
            for (x, &a) in list.iter().enumerate() {
                for &b in &list[x + 1..] {
                    pairs.insert((a, b));
                }
            }
        }
        pairs.into_iter().collect()
    }

    fn writing_order(&self, a: usize, b: usize) -> std::cmp::Ordering {
        let ka = score::writing_key(&self.candidates[self.index[a]], &self.verdicts[a]);
        let kb = score::writing_key(&self.candidates[self.index[b]], &self.verdicts[b]);
        kb.cmp(&ka)
            .then_with(|| {
                self.candidates[self.index[a]]
                    .text
                    .cmp(&self.candidates[self.index[b]].text)
            })
            .then_with(|| self.index[a].cmp(&self.index[b]))
    }
}

fn suppress(out: &mut Ranking, c: &Candidate, index: usize, reason: SuppressReason) {
    out.suppressed.push(Suppressed {
        index,
        text: c.text.clone(),
        podcast: c.podcast.clone(),
        reason,
    });
}

/// Steps 1: the register gate, embeddings and claim keys.
fn gate<'a>(candidates: &'a [Candidate], out: &mut Ranking) -> Live<'a> {
    let dim = candidates
        .iter()
        .find_map(|c| c.embedding.as_ref().map(Vec::len))
        .unwrap_or(0);
    let mut live = Live {
        index: Vec::new(),
        vectors: Vec::new(),
        keys: Vec::new(),
        verdicts: Vec::new(),
        candidates,
    };
    for (i, c) in candidates.iter().enumerate() {
        if c.text.trim().is_empty() {
            suppress(out, c, i, SuppressReason::EmptyText);
            continue;
        }
        let verdict = podsift_register::check(&c.register_input());
        if let Some(f) = verdict.hard_failure() {
            out.failed_register += 1;
            suppress(
                out,
                c,
                i,
                SuppressReason::Register {
                    rule: f.rule,
                    detail: f.detail.clone(),
                },
            );
            continue;
        }
        // A missing or odd-sized embedding becomes zeros (similar to nothing).
        let vector = match &c.embedding {
            Some(e) if e.len() == dim && e.iter().all(|x| x.is_finite()) => {
                crate::embed::normalized(e.clone())
            }
            _ => vec![0.0; dim],
        };
        live.index.push(i);
        live.vectors.push(vector);
        live.keys.push(ClaimKey::of(&c.text));
        live.verdicts.push(verdict);
    }
    live
}

/// Step 2: clusters of the same claim, as (representative, members) in live indices.
fn cluster(live: &Live<'_>, config: &RankConfig, out: &mut Ranking) -> Vec<(usize, Vec<usize>)> {
    let n = live.index.len();
    let mut dsu = Dsu((0..n).collect());
    for (a, b) in live.candidate_pairs(config) {
        if live.same(a, b, config.duplicate_threshold) {
            dsu.union(a, b);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for k in 0..n {
        groups.entry(dsu.find(k)).or_default().push(k);
    }
    // Union-find alone chains (A ~ B ~ C with A and C different claims). Within each group,
    // members join the best-written leader they make the same claim as, best-written first;
    // a member like no leader leads its own cluster.
    let mut clusters: Vec<(usize, Vec<usize>)> = Vec::with_capacity(groups.len());
    for mut members in groups.into_values() {
        members.sort_by(|&a, &b| live.writing_order(a, b));
        let mut leaders: Vec<(usize, Vec<usize>)> = Vec::new();
        for m in members {
            match leaders
                .iter()
                .position(|(l, _)| live.same(m, *l, config.duplicate_threshold))
            {
                Some(h) => leaders[h].1.push(m),
                None => leaders.push((m, vec![m])),
            }
        }
        clusters.extend(leaders);
    }
    clusters.sort_by_key(|(_, members)| members.iter().copied().min());
    for (best, members) in &mut clusters {
        members.sort_unstable();
        if members.len() < 2 {
            continue;
        }
        let c = |m: usize| &live.candidates[live.index[m]];
        out.clusters.push(Cluster {
            representative: live.index[*best],
            members: members.iter().map(|&m| live.index[m]).collect(),
            shows: members
                .iter()
                .map(|&m| c(m).podcast.clone())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        });
        for &m in members.iter().filter(|&&m| m != *best) {
            let similarity = live.cosine(m, *best).unwrap_or_else(|| {
                crate::claim::word_overlap(&live.keys[m], &live.keys[*best]) as f32
            });
            suppress(
                out,
                c(m),
                live.index[m],
                SuppressReason::DuplicateOf {
                    index: live.index[*best],
                    similarity,
                },
            );
        }
    }
    clusters
}

/// Ranks `candidates` for one user. `now` is only used for freshness and the history window.
pub fn rank(
    candidates: &[Candidate],
    profile: &Profile,
    history: &[SentInsight],
    config: &RankConfig,
    now: DateTime<Utc>,
) -> Ranking {
    let mut out = Ranking {
        considered: candidates.len(),
        ..Ranking::default()
    };
    let live = gate(candidates, &mut out);
    let clusters = cluster(&live, config, &mut out);

    // 3.–4. History and score, per representative.
    let dim = live.vectors.first().map_or(0, Vec::len);
    let today = now.date_naive();
    let window_start = today - chrono::Duration::days(config.history_days.max(0));
    let sent: Vec<Sent<'_>> = history
        .iter()
        .filter(|h| h.sent_on >= window_start && h.sent_on <= today)
        .map(|h| Sent {
            item: h,
            vector: h
                .embedding
                .as_ref()
                .filter(|e| e.len() == dim && dim > 0)
                .map(|e| crate::embed::normalized(e.clone())),
            key: ClaimKey::of(&h.text),
        })
        .collect();

    let mut pool: Vec<Entry> = Vec::with_capacity(clusters.len());
    let mut details: HashMap<usize, Details> = HashMap::new();
    for (rep, members) in &clusters {
        let index = live.index[*rep];
        let c = &candidates[index];
        let mut ctx = Context {
            penalty: 1.0,
            ..Context::default()
        };
        let mut update_of = None;
        match history::check(
            &c.text,
            &live.keys[*rep],
            &live.vectors[*rep],
            &sent,
            config.duplicate_threshold,
            config.update_threshold,
        ) {
            history::Verdict::New => {}
            history::Verdict::Repeat { sent, similarity } => {
                suppress(
                    &mut out,
                    c,
                    index,
                    SuppressReason::AlreadySent {
                        sent_on: sent.sent_on,
                        sent_text: sent.text.clone(),
                        similarity,
                    },
                );
                continue;
            }
            history::Verdict::Update(u) => {
                ctx.history_reasons.push(format!(
                    "Update: adds {} to what you were sent on {}",
                    u.new_material.join(", "),
                    u.sent_on
                ));
                update_of = Some(u);
            }
            history::Verdict::Close { sent_on } => {
                ctx.penalty = STALE_PENALTY;
                ctx.history_reasons
                    .push(format!("close to what you were sent on {sent_on}"));
            }
        }
        let mut others: BTreeSet<&str> = BTreeSet::new();
        for &m in members {
            let o = &candidates[live.index[m]];
            if o.podcast != c.podcast {
                others.insert(o.podcast.as_str());
            } else if o.episode != c.episode {
                ctx.other_episodes += 1;
            }
        }
        ctx.other_shows = others.into_iter().collect();
        let scored = score::score(
            c,
            &live.verdicts[*rep],
            &live.vectors[*rep],
            profile,
            &ctx,
            now,
        );
        pool.push(Entry {
            index,
            score: scored.score,
            vector: live.vectors[*rep].clone(),
            stems: live.keys[*rep].stems.clone(),
        });
        details.insert(
            index,
            (
                scored.reasons,
                Explain {
                    rules: live.verdicts[*rep].results.clone(),
                    features: scored.features,
                },
                update_of,
                members
                    .iter()
                    .map(|&m| live.index[m])
                    .filter(|&m| m != index)
                    .collect(),
            ),
        );
    }

    // 5. Selection.
    pool.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| {
                candidates[b.index]
                    .published
                    .cmp(&candidates[a.index].published)
            })
            .then_with(|| candidates[a.index].text.cmp(&candidates[b.index].text))
            .then_with(|| a.index.cmp(&b.index))
    });
    for (rank, chosen) in select(&pool, candidates, config).into_iter().enumerate() {
        let e = &pool[chosen.entry];
        let c = &candidates[e.index];
        let (mut reasons, explain, update_of, also) = details.remove(&e.index).unwrap_or_default();
        reasons.extend(chosen.past_cap);
        out.picks.push(Pick {
            rank: rank + 1,
            index: e.index,
            id: c.id,
            text: c.text.clone(),
            podcast: c.podcast.clone(),
            episode: c.episode.clone(),
            quote: c.quote.clone(),
            score: e.score,
            reasons,
            also,
            update_of,
            explain,
        });
    }
    if out.picks.len() < config.top_k {
        out.short = Some(short_reason(&out, config.top_k));
    }
    out.suppressed.sort_by_key(|s| s.index);
    out
}

/// Why the digest has fewer than `top_k` insights, for the reader.
fn short_reason(out: &Ranking, top_k: usize) -> String {
    let count =
        |f: fn(&SuppressReason) -> bool| out.suppressed.iter().filter(|s| f(&s.reason)).count();
    let mut why = Vec::new();
    if out.failed_register > 0 {
        why.push(format!(
            "{} failed the register check (not standalone, unfaithful, a copied quote or an ad)",
            out.failed_register
        ));
    }
    let repeats = count(|r| matches!(r, SuppressReason::AlreadySent { .. }));
    if repeats > 0 {
        why.push(format!("{repeats} repeated what you were already sent"));
    }
    let dups = count(|r| matches!(r, SuppressReason::DuplicateOf { .. }));
    if dups > 0 {
        why.push(format!("{dups} said the same as another"));
    }
    let mut s = format!(
        "{} of {top_k}: {} candidate{} considered",
        out.picks.len(),
        out.considered,
        if out.considered == 1 { "" } else { "s" }
    );
    if !why.is_empty() {
        s.push_str(", ");
        s.push_str(&why.join(", "));
    }
    s.push_str("; the digest is shorter rather than padded.");
    s
}
