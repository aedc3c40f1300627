//! The ranking itself: pure and deterministic (same input, same output; no clock, no I/O).
//!
//! ```text
//! 1. cluster     candidates whose embeddings have cosine ≥ duplicate_threshold are one claim
//!                (union-find over the thresholded similarity graph, then split around the
//!                best-written members so that no chain A ~ B ~ C merges A with a far C);
//!                the representative is picked, the others become "also discussed on …"
//! 2. history     a representative with cosine ≥ duplicate_threshold to something sent in the
//!                last history_days is suppressed; one in [update_threshold, duplicate_threshold)
//!                that brings new numbers or names is kept as "Update: …"; one without is
//!                kept with a penalty (it may be a different claim on the same story)
//! 3. score       quality · freshness + interest + feedback + corroboration, × show weight
//! 4. select      MMR: λ·score − (1−λ)·max cosine to what is already chosen, with hard caps
//!                per show and per episode
//! ```
//!
//! Feedback only moves scores (bounded, see [`Profile::record_feedback`]); it never filters,
//! so it cannot empty a digest.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::CandidateInsight;
use serde::{Deserialize, Serialize};

use crate::embed::cosine;
use crate::similarity::{SimilarityMethod, similar_pairs};

// Score weights (the score is about 0–1.5).
const W_IMPORTANCE: f64 = 0.5;
const W_SPECIFICITY: f64 = 0.3;
const W_NOVELTY: f64 = 0.2;
/// Days after which freshness halves; `FRESH_FLOOR` of the quality never decays.
const HALF_LIFE_DAYS: f64 = 3.0;
const FRESH_FLOOR: f64 = 0.6;
/// Interest match: cosine to the profile below `INTEREST_FLOOR` counts nothing, at
/// `INTEREST_FLOOR + INTEREST_SPAN` and above counts fully.
const W_INTEREST: f64 = 0.3;
const INTEREST_FLOOR: f64 = 0.2;
const INTEREST_SPAN: f64 = 0.35;
/// Cosine from which an interest is named in the reasons.
const INTEREST_REASON: f64 = 0.35;
/// Feedback: see [`Profile::feedback_affinity`].
const W_FEEDBACK: f64 = 0.25;
const FEEDBACK_FLOOR: f64 = 0.3;
/// Pseudo-count of neutral votes: one click moves the affinity by at most 1/(1+PRIOR).
const FEEDBACK_PRIOR: f64 = 4.0;
/// Only the newest this-many votes of each kind are kept.
const FEEDBACK_MEMORY: usize = 200;
/// Per-show weights move by this factor per vote and stay within the bounds.
const SHOW_STEP: f32 = 0.1;
const SHOW_WEIGHT_MIN: f32 = 0.5;
const SHOW_WEIGHT_MAX: f32 = 1.5;
/// Each other show (or episode) saying the same thing adds this, up to `CORROBORATION_MAX`.
const W_CORROBORATION: f64 = 0.06;
const CORROBORATION_MAX: usize = 3;
/// A related-but-not-new candidate keeps this share of its score.
const STALE_PENALTY: f64 = 0.7;
/// A model score at or above this is named in the reasons ("specific", "novel").
const STRONG: f64 = 0.7;

/// The extraction's own scores, each 0–1 (non-finite counts as 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    #[serde(default)]
    pub importance: f32,
    #[serde(default)]
    pub novelty: f32,
    #[serde(default)]
    pub specificity: f32,
}

/// One insight to rank.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The stored insight's id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub text: String,
    pub podcast: String,
    pub episode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    #[serde(default)]
    pub scores: Scores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    /// Unit-length sentence embedding; a candidate without one is never clustered.
    #[serde(default, skip_serializing)]
    pub embedding: Option<Vec<f32>>,
}

impl Candidate {
    /// A stored insight as a candidate (an episode without a publication date gets a neutral
    /// freshness and says so in its reasons).
    pub fn from_insight(c: &CandidateInsight, embedding: Option<Vec<f32>>) -> Self {
        Self {
            id: Some(c.id),
            text: c.draft.text.clone(),
            podcast: c.podcast.clone(),
            episode: c.episode.clone(),
            quote: Some(c.draft.quote.clone()).filter(|q| !q.trim().is_empty()),
            scores: Scores {
                importance: c.draft.importance,
                novelty: c.draft.novelty,
                specificity: c.draft.specificity,
            },
            published: c.published,
            embedding,
        }
    }
}

/// Something the user was sent before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentInsight {
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub podcast: Option<String>,
    pub sent_on: NaiveDate,
    #[serde(default, skip_serializing)]
    pub embedding: Option<Vec<f32>>,
}

/// A named interest from the user's free-text profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interest {
    pub label: String,
    pub embedding: Vec<f32>,
}

/// 👍 or 👎.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    Up,
    Down,
}

/// What the ranking knows about the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub interests: Vec<Interest>,
    /// Embeddings of insights the user liked / disliked, oldest first.
    #[serde(default)]
    pub liked: Vec<Vec<f32>>,
    #[serde(default)]
    pub disliked: Vec<Vec<f32>>,
    /// Show name → weight (1.0 when absent), kept within 0.5–1.5.
    #[serde(default)]
    pub show_weights: BTreeMap<String, f32>,
}

impl Profile {
    /// Online update from one vote: the insight's embedding joins the liked or disliked set
    /// and its show's weight moves one step (×1.1 or ×0.9), clamped to 0.5–1.5.
    ///
    /// Bounded by construction: a vote shifts the feedback affinity of any insight by at
    /// most `1 / (1 + 4)` of its ±0.25 weight, and a show weight by 10 %.
    pub fn record_feedback(&mut self, embedding: Vec<f32>, podcast: &str, vote: Vote) {
        let (list, factor) = match vote {
            Vote::Up => (&mut self.liked, 1.0 + SHOW_STEP),
            Vote::Down => (&mut self.disliked, 1.0 - SHOW_STEP),
        };
        list.push(crate::embed::normalized(embedding));
        if list.len() > FEEDBACK_MEMORY {
            let excess = list.len() - FEEDBACK_MEMORY;
            list.drain(..excess);
        }
        let w = self.show_weight(podcast) * factor;
        self.show_weights.insert(
            podcast.to_string(),
            w.clamp(SHOW_WEIGHT_MIN, SHOW_WEIGHT_MAX),
        );
    }

    /// The show's weight (1.0 unless feedback or the user moved it), clamped to 0.5–1.5.
    pub fn show_weight(&self, podcast: &str) -> f32 {
        let w = self.show_weights.get(podcast).copied().unwrap_or(1.0);
        if w.is_finite() {
            w.clamp(SHOW_WEIGHT_MIN, SHOW_WEIGHT_MAX)
        } else {
            1.0
        }
    }

    /// −1..1: how much `e` resembles what was liked rather than disliked. Similarities below
    /// 0.3 count nothing; the sum is divided by the votes plus 4 neutral pseudo-votes, so a
    /// single click stays small.
    pub fn feedback_affinity(&self, e: &[f32]) -> f64 {
        let pull = |list: &[Vec<f32>]| -> f64 {
            list.iter()
                .map(|v| {
                    ((f64::from(cosine(e, v)) - FEEDBACK_FLOOR) / (1.0 - FEEDBACK_FLOOR)).max(0.0)
                })
                .sum()
        };
        let n = (self.liked.len() + self.disliked.len()) as f64;
        (pull(&self.liked) - pull(&self.disliked)) / (n + FEEDBACK_PRIOR)
    }
}

/// Tuning knobs; the defaults are what the evaluation chose (see BENCHMARKS.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RankConfig {
    pub top_k: usize,
    /// 0 = no cap.
    pub max_per_show: usize,
    /// 0 = no cap.
    pub max_per_episode: usize,
    /// Cosine at or above which two insights are the same claim.
    pub duplicate_threshold: f32,
    /// Cosine from which a candidate is related to something already sent.
    pub update_threshold: f32,
    /// MMR trade-off: 1 = score only, 0 = diversity only.
    pub mmr_lambda: f64,
    pub history_days: i64,
    pub similarity: SimilarityMethod,
}

impl Default for RankConfig {
    fn default() -> Self {
        Self {
            top_k: 5,
            max_per_show: 2,
            max_per_episode: 2,
            duplicate_threshold: DEFAULT_DUPLICATE_THRESHOLD,
            update_threshold: DEFAULT_UPDATE_THRESHOLD,
            mmr_lambda: 0.7,
            history_days: 30,
            similarity: SimilarityMethod::Blocked,
        }
    }
}

/// Chosen on the labelled pairs in `eval/pairs.jsonl` (see the `eval` test).
pub const DEFAULT_DUPLICATE_THRESHOLD: f32 = 0.65;
pub const DEFAULT_UPDATE_THRESHOLD: f32 = 0.5;

/// A chosen insight, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    pub rank: usize,
    /// Index in the input candidates.
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub text: String,
    pub podcast: String,
    pub episode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    pub score: f64,
    /// Short lines for people ("also discussed on X", "fresh: published today").
    pub reasons: Vec<String>,
    /// Other candidates saying the same thing (indices).
    pub also: Vec<usize>,
    /// Set when this pick moves a story the user was sent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_of: Option<UpdateOf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateOf {
    pub sent_on: NaiveDate,
    pub sent_text: String,
    pub similarity: f32,
    /// The new numbers and names this pick adds.
    pub new_material: Vec<String>,
}

/// A group of candidates found to make the same claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    pub representative: usize,
    /// All members (representative included), ascending.
    pub members: Vec<usize>,
    /// Distinct shows in the cluster, sorted.
    pub shows: Vec<String>,
}

/// Why a candidate was left out before selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuppressReason {
    /// Same claim as a better-written candidate of today.
    DuplicateOf {
        index: usize,
        similarity: f32,
    },
    /// Same claim as something sent before.
    AlreadySent {
        sent_on: NaiveDate,
        sent_text: String,
        similarity: f32,
    },
    EmptyText,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppressed {
    pub index: usize,
    pub text: String,
    pub podcast: String,
    pub reason: SuppressReason,
}

/// The whole outcome: what was chosen, what clustered and what was dropped as a repeat.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub picks: Vec<Pick>,
    /// Clusters with more than one member.
    pub clusters: Vec<Cluster>,
    pub suppressed: Vec<Suppressed>,
    pub considered: usize,
}

fn unit(x: f32) -> f64 {
    if x.is_finite() {
        f64::from(x).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

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

/// How well-written a candidate is, for choosing a cluster's representative: the model's
/// specificity + importance, then concrete detail (numbers), then length, then input order.
fn writing_key(c: &Candidate) -> (f64, usize, usize) {
    let digits = c
        .text
        .split_whitespace()
        .filter(|w| w.chars().any(|ch| ch.is_ascii_digit()))
        .count();
    (
        unit(c.scores.specificity) + unit(c.scores.importance),
        digits,
        c.text.chars().count().min(600),
    )
}

/// Best-written first (see [`writing_key`]); the text, then the index, break ties so that
/// the input order does not matter.
fn writing_order(a: (&Candidate, usize), b: (&Candidate, usize)) -> std::cmp::Ordering {
    let (ka, kb) = (writing_key(a.0), writing_key(b.0));
    kb.0.total_cmp(&ka.0)
        .then_with(|| (kb.1, kb.2).cmp(&(ka.1, ka.2)))
        .then_with(|| a.0.text.cmp(&b.0.text))
        .then_with(|| a.1.cmp(&b.1))
}

/// Whole days between publication and `now` (0 for the future).
fn age_days(c: &Candidate, now: DateTime<Utc>) -> Option<i64> {
    c.published.map(|p| (now - p).num_hours().max(0) / 24)
}

/// Units shown with the number before them ("10 percent", not "10").
const UNITS: [&str; 24] = [
    "percent", "million", "billion", "thousand", "times", "x", "gb", "mb", "tb", "kb", "ms",
    "seconds", "minutes", "hours", "days", "weeks", "months", "years", "users", "people",
    "dollars", "euros", "points", "bits",
];

/// Facts that carry checkable material: anything with a digit (with its unit, when one
/// follows), and capitalised words that do not start a sentence (names). Each is
/// `(key, shown)`: the lower-cased word to look up, and the text to show.
fn facts(text: &str) -> Vec<(String, String)> {
    let clean = |raw: &str| -> String {
        raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '%' || c == '$'))
            .to_string()
    };
    let raw: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut sentence_start = true;
    for (k, r) in raw.iter().enumerate() {
        let word = clean(r);
        let ends = r.ends_with(['.', '!', '?', ':']);
        if !word.is_empty() {
            let has_digit = word.chars().any(|c| c.is_ascii_digit());
            let capital = word.chars().next().is_some_and(char::is_uppercase) && !sentence_start;
            if has_digit || (capital && word.chars().count() > 1) {
                let key = word.to_lowercase();
                let mut shown = word.clone();
                if has_digit
                    && !ends
                    && let Some(next) = raw.get(k + 1).map(|n| clean(n))
                    && UNITS.contains(&next.to_lowercase().as_str())
                {
                    shown = format!("{word} {next}");
                }
                if !out.iter().any(|(k2, _)| *k2 == key) {
                    out.push((key, shown));
                }
            }
        }
        sentence_start = ends;
    }
    out
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '%' || c == '$' || c == '.'))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The facts of `new` that `old` does not mention (at most 3, in order of appearance).
pub fn new_material(new: &str, old: &str) -> Vec<String> {
    let known = words(old);
    facts(new)
        .into_iter()
        .filter(|(key, _)| !known.contains(key))
        .map(|(_, shown)| shown)
        .take(3)
        .collect()
}

struct Scored {
    index: usize,
    score: f64,
    reasons: Vec<String>,
    update_of: Option<UpdateOf>,
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
    let live: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            let empty = candidates[i].text.trim().is_empty();
            if empty {
                out.suppressed.push(Suppressed {
                    index: i,
                    text: candidates[i].text.clone(),
                    podcast: candidates[i].podcast.clone(),
                    reason: SuppressReason::EmptyText,
                });
            }
            !empty
        })
        .collect();

    // Unit vectors; a missing or odd-sized embedding becomes zeros (similar to nothing).
    let dim = live
        .iter()
        .find_map(|&i| candidates[i].embedding.as_ref().map(Vec::len))
        .unwrap_or(0);
    let vectors: Vec<Vec<f32>> = live
        .iter()
        .map(|&i| match &candidates[i].embedding {
            Some(e) if e.len() == dim && e.iter().all(|x| x.is_finite()) => {
                crate::embed::normalized(e.clone())
            }
            _ => vec![0.0; dim],
        })
        .collect();

    // 1. Clusters of the same claim.
    let mut dsu = Dsu((0..live.len()).collect());
    if dim > 0 {
        for (a, b) in similar_pairs(&vectors, config.duplicate_threshold, config.similarity) {
            dsu.union(a, b);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for k in 0..live.len() {
        let r = dsu.find(k);
        groups.entry(r).or_default().push(k);
    }
    // Union-find alone chains (A ~ B ~ C with A and C far apart). Within each connected
    // group, members join the best-written leader they are close to, best-written first; a
    // member close to no leader leads its own cluster. Every member is then within the
    // threshold of its representative.
    let mut clusters_local: Vec<(usize, Vec<usize>)> = Vec::with_capacity(groups.len());
    for mut members in groups.into_values() {
        members.sort_by(|&a, &b| {
            writing_order(
                (&candidates[live[a]], live[a]),
                (&candidates[live[b]], live[b]),
            )
        });
        let mut leaders: Vec<(usize, Vec<usize>)> = Vec::new();
        for m in members {
            let home = leaders
                .iter()
                .position(|(l, _)| cosine(&vectors[m], &vectors[*l]) >= config.duplicate_threshold);
            match home {
                Some(h) => leaders[h].1.push(m),
                None => leaders.push((m, vec![m])),
            }
        }
        clusters_local.extend(leaders);
    }
    clusters_local.sort_by_key(|(_, members)| members.iter().copied().min());
    // (representative local index, members local indices)
    let mut reps: Vec<(usize, Vec<usize>)> = Vec::with_capacity(clusters_local.len());
    for (best, mut members) in clusters_local {
        members.sort_unstable();
        if members.len() > 1 {
            let shows: BTreeSet<String> = members
                .iter()
                .map(|&m| candidates[live[m]].podcast.clone())
                .collect();
            out.clusters.push(Cluster {
                representative: live[best],
                members: members.iter().map(|&m| live[m]).collect(),
                shows: shows.into_iter().collect(),
            });
            for &m in &members {
                if m != best {
                    out.suppressed.push(Suppressed {
                        index: live[m],
                        text: candidates[live[m]].text.clone(),
                        podcast: candidates[live[m]].podcast.clone(),
                        reason: SuppressReason::DuplicateOf {
                            index: live[best],
                            similarity: cosine(&vectors[m], &vectors[best]),
                        },
                    });
                }
            }
        }
        reps.push((best, members));
    }

    // 2.–3. History and score, per representative.
    let today = now.date_naive();
    let window_start = today - chrono::Duration::days(config.history_days.max(0));
    let recent: Vec<(&SentInsight, Vec<f32>)> = history
        .iter()
        .filter(|h| h.sent_on >= window_start && h.sent_on <= today)
        .filter_map(|h| {
            h.embedding
                .as_ref()
                .filter(|e| e.len() == dim && dim > 0)
                .map(|e| (h, crate::embed::normalized(e.clone())))
        })
        .collect();

    let mut pool: Vec<Scored> = Vec::with_capacity(reps.len());
    let mut members_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (rep, members) in &reps {
        let index = live[*rep];
        let c = &candidates[index];
        let e = &vectors[*rep];
        let mut reasons = Vec::new();
        let mut update_of = None;
        let mut penalty = 1.0;

        // Nearest sent insight (ties: the most recent).
        let nearest = recent
            .iter()
            .map(|(h, v)| (*h, cosine(e, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(a.0.sent_on.cmp(&b.0.sent_on)));
        if let Some((h, sim)) = nearest {
            if sim >= config.duplicate_threshold {
                out.suppressed.push(Suppressed {
                    index,
                    text: c.text.clone(),
                    podcast: c.podcast.clone(),
                    reason: SuppressReason::AlreadySent {
                        sent_on: h.sent_on,
                        sent_text: h.text.clone(),
                        similarity: sim,
                    },
                });
                continue;
            }
            if sim >= config.update_threshold {
                let new = new_material(&c.text, &h.text);
                if new.is_empty() {
                    penalty = STALE_PENALTY;
                    reasons.push(format!("close to what you were sent on {}", h.sent_on));
                } else {
                    reasons.push(format!(
                        "Update: adds {} to what you were sent on {}",
                        new.join(", "),
                        h.sent_on
                    ));
                    update_of = Some(UpdateOf {
                        sent_on: h.sent_on,
                        sent_text: h.text.clone(),
                        similarity: sim,
                        new_material: new,
                    });
                }
            }
        }

        let s = &c.scores;
        let quality = W_IMPORTANCE * unit(s.importance)
            + W_SPECIFICITY * unit(s.specificity)
            + W_NOVELTY * unit(s.novelty);
        let mut first = format!("importance {:.2}", unit(s.importance));
        // f32 → f64 turns 0.7 into 0.69999…: compare against the two decimals shown.
        if unit(s.specificity) >= STRONG - 0.005 {
            first.push_str(", specific");
        }
        if unit(s.novelty) >= STRONG - 0.005 {
            first.push_str(", novel");
        }
        reasons.insert(0, first);

        let age = age_days(c, now);
        let freshness = age.map_or(0.5, |d| 0.5f64.powf(d.min(3650) as f64 / HALF_LIFE_DAYS));
        let mut score = quality * (FRESH_FLOOR + (1.0 - FRESH_FLOOR) * freshness);

        // Corroboration: other shows, or other episodes of the same show.
        let others: BTreeSet<&str> = members
            .iter()
            .map(|&m| candidates[live[m]].podcast.as_str())
            .filter(|p| *p != c.podcast)
            .collect();
        let other_episodes = members
            .iter()
            .filter(|&&m| {
                let o = &candidates[live[m]];
                o.podcast == c.podcast && o.episode != c.episode
            })
            .count();
        let support = (others.len() + other_episodes.min(1)).min(CORROBORATION_MAX);
        score += W_CORROBORATION * support as f64;
        if !others.is_empty() {
            reasons.push(format!(
                "also discussed on {}",
                others.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        } else if other_episodes > 0 {
            reasons.push(format!("also in another episode of {}", c.podcast));
        }

        // Interests: the best-matching one.
        if let Some((label, sim)) = profile
            .interests
            .iter()
            .map(|i| (i.label.as_str(), f64::from(cosine(e, &i.embedding))))
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            score += W_INTEREST * ((sim - INTEREST_FLOOR) / INTEREST_SPAN).clamp(0.0, 1.0);
            if sim >= INTEREST_REASON {
                reasons.push(format!("matches your interest in {label}"));
            }
        }

        let affinity = profile.feedback_affinity(e);
        score += W_FEEDBACK * affinity;
        if affinity >= 0.08 {
            reasons.push("like insights you gave a 👍".to_string());
        } else if affinity <= -0.08 {
            reasons.push("resembles insights you gave a 👎".to_string());
        }

        let weight = f64::from(profile.show_weight(&c.podcast));
        score = score.max(0.0) * weight * penalty;
        if weight >= 1.05 {
            reasons.push(format!("you rate {} highly", c.podcast));
        } else if weight <= 0.95 {
            reasons.push(format!("you rate {} lower", c.podcast));
        }

        reasons.push(match age {
            Some(0) => "fresh: published today".to_string(),
            Some(1) => "published yesterday".to_string(),
            Some(n) => format!("published {n} days ago"),
            None => "publication date unknown".to_string(),
        });

        members_of.insert(
            index,
            members
                .iter()
                .map(|&m| live[m])
                .filter(|&m| m != index)
                .collect(),
        );
        pool.push(Scored {
            index,
            score,
            reasons,
            update_of,
        });
    }

    // 4. MMR selection under the caps.
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
    let local_of: HashMap<usize, usize> = live.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let mut per_show: HashMap<&str, usize> = HashMap::new();
    let mut per_episode: HashMap<(&str, &str), usize> = HashMap::new();
    let mut chosen: Vec<usize> = Vec::new(); // positions in pool
    let mut max_sim = vec![0.0f64; pool.len()];
    let mut taken = vec![false; pool.len()];
    let lambda = config.mmr_lambda.clamp(0.0, 1.0);
    while chosen.len() < config.top_k {
        let mut best: Option<(usize, f64)> = None;
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
            if (config.max_per_show > 0 && show_n >= config.max_per_show)
                || (config.max_per_episode > 0 && ep_n >= config.max_per_episode)
            {
                continue;
            }
            let mmr = lambda * s.score - (1.0 - lambda) * max_sim[p];
            if best.is_none_or(|(_, b)| mmr > b) {
                best = Some((p, mmr));
            }
        }
        let Some((p, _)) = best else { break };
        taken[p] = true;
        chosen.push(p);
        let c = &candidates[pool[p].index];
        *per_show.entry(c.podcast.as_str()).or_default() += 1;
        *per_episode
            .entry((c.podcast.as_str(), c.episode.as_str()))
            .or_default() += 1;
        let chosen_vec = &vectors[local_of[&pool[p].index]];
        for (q, s) in pool.iter().enumerate() {
            if !taken[q] {
                let sim = f64::from(cosine(chosen_vec, &vectors[local_of[&s.index]])).max(0.0);
                max_sim[q] = max_sim[q].max(sim);
            }
        }
    }

    for (rank, p) in chosen.into_iter().enumerate() {
        let s = &pool[p];
        let c = &candidates[s.index];
        out.picks.push(Pick {
            rank: rank + 1,
            index: s.index,
            id: c.id,
            text: c.text.clone(),
            podcast: c.podcast.clone(),
            episode: c.episode.clone(),
            quote: c.quote.clone(),
            score: s.score,
            reasons: s.reasons.clone(),
            also: members_of.remove(&s.index).unwrap_or_default(),
            update_of: s.update_of.clone(),
        });
    }
    out.suppressed.sort_by_key(|s| s.index);
    out
}
