//! What the ranking takes and gives: candidates, the user's profile, what was sent, the
//! knobs, and the outcome with its reasons and explanation.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::CandidateInsight;
use podsift_register::RuleResult;
use serde::{Deserialize, Serialize};

use crate::embed::cosine;

/// Feedback: see [`Profile::feedback_affinity`].
const FEEDBACK_FLOOR: f64 = 0.3;
/// Pseudo-count of neutral votes: one click moves the affinity by at most 1/(1+PRIOR).
const FEEDBACK_PRIOR: f64 = 4.0;
/// Only the newest this-many votes of each kind are kept.
const FEEDBACK_MEMORY: usize = 200;
/// Per-show weights move by this factor per vote and stay within the bounds.
const SHOW_STEP: f32 = 0.1;
const SHOW_WEIGHT_MIN: f32 = 0.5;
const SHOW_WEIGHT_MAX: f32 = 1.5;

/// The extraction's own scores, each 0–1 (non-finite counts as 0). Small models rate
/// everything high, so these are at most a tie-breaker.
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
    /// Who said the quote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// Further quotes it cites and passages it was read in (for the register's source rules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// The extraction already checked its figures and names against its windows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub faithful_checked: bool,
    /// Its place in its episode editor's order (1 = the editor's best).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub editor_rank: Option<u32>,
    /// The editor's one-line reason for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub scores: Scores,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<DateTime<Utc>>,
    /// Unit-length sentence embedding; without one, only the words decide "same claim".
    #[serde(default, skip_serializing)]
    pub embedding: Option<Vec<f32>>,
}

impl Candidate {
    /// A stored insight as a candidate (an episode without a publication date gets a neutral
    /// freshness and says so in its reasons).
    pub fn from_insight(c: &CandidateInsight, embedding: Option<Vec<f32>>) -> Self {
        let d = &c.draft;
        Self {
            id: Some(c.id),
            text: d.text.clone(),
            podcast: c.podcast.clone(),
            episode: c.episode.clone(),
            quote: Some(d.quote.clone()).filter(|q| !q.trim().is_empty()),
            speaker: d.speaker.clone().filter(|s| !s.trim().is_empty()),
            sources: d.evidence.iter().map(|e| e.quote.clone()).collect(),
            faithful_checked: d.faithful_checked,
            editor_rank: d.editor_rank,
            reason: d.reason.clone().filter(|r| !r.trim().is_empty()),
            scores: Scores {
                importance: d.importance,
                novelty: d.novelty,
                specificity: d.specificity,
            },
            published: c.published,
            embedding,
        }
    }

    /// The register check's input: the text, its quotes and passages, and the names it may
    /// take from the episode (show, episode title, speaker).
    pub fn register_input(&self) -> podsift_register::Input<'_> {
        let mut metadata = vec![self.podcast.as_str(), self.episode.as_str()];
        metadata.extend(self.speaker.as_deref());
        podsift_register::Input {
            text: &self.text,
            quotes: self.quote.iter().map(String::as_str).collect(),
            passages: self.sources.iter().map(String::as_str).collect(),
            metadata,
            faithful_checked: self.faithful_checked,
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

/// A named interest from the user's free-text profile (its embedding is empty when there is
/// no embedding model: the words match then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interest {
    pub label: String,
    pub embedding: Vec<f32>,
}

impl Interest {
    /// An interest matched by its words only.
    pub fn words(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            embedding: Vec::new(),
        }
    }
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
    /// Show name → 👍 given to its insights (for the reason "you liked 3 insights from …").
    #[serde(default)]
    pub show_likes: BTreeMap<String, u32>,
}

impl Profile {
    /// Online update from one vote: the insight's embedding joins the liked or disliked set
    /// (when there is one) and its show's weight moves one step (×1.1 or ×0.9), clamped to
    /// 0.5–1.5.
    ///
    /// Bounded by construction: a vote shifts the feedback affinity of any insight by at
    /// most `1 / (1 + 4)` of its ±0.25 weight, and a show weight by 10 %.
    pub fn record_feedback(&mut self, embedding: Vec<f32>, podcast: &str, vote: Vote) {
        let (list, factor) = match vote {
            Vote::Up => {
                *self.show_likes.entry(podcast.to_string()).or_default() += 1;
                (&mut self.liked, 1.0 + SHOW_STEP)
            }
            Vote::Down => (&mut self.disliked, 1.0 - SHOW_STEP),
        };
        if !embedding.is_empty() {
            list.push(crate::embed::normalized(embedding));
            if list.len() > FEEDBACK_MEMORY {
                let excess = list.len() - FEEDBACK_MEMORY;
                list.drain(..excess);
            }
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
        if e.is_empty() {
            return 0.0;
        }
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
    /// 0 = no cap. Relaxed, and said so, only when the digest would otherwise be short.
    pub max_per_show: usize,
    /// 0 = no cap. Relaxed like `max_per_show`.
    pub max_per_episode: usize,
    /// Cosine from which two insights may be the same claim (their figures, names and
    /// words then decide, see [`crate::claim`]).
    pub duplicate_threshold: f32,
    /// Cosine from which a candidate is related to something already sent.
    pub update_threshold: f32,
    /// MMR trade-off: 1 = score only, 0 = diversity only.
    pub mmr_lambda: f64,
    pub history_days: i64,
    pub similarity: crate::SimilarityMethod,
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
            similarity: crate::SimilarityMethod::Blocked,
        }
    }
}

/// Chosen on the labelled pairs in `eval/pairs.jsonl` and `eval/hard_negatives.jsonl` (see
/// the `eval` test): from here the claims' figures, names and words decide.
pub const DEFAULT_DUPLICATE_THRESHOLD: f32 = 0.6;
pub const DEFAULT_UPDATE_THRESHOLD: f32 = 0.5;

/// One feature of a pick's score: its value and what it added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub value: f64,
    pub contribution: f64,
}

/// Why a candidate scored what it did: every register rule and every feature.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Explain {
    pub rules: Vec<RuleResult>,
    pub features: Vec<Feature>,
}

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
    /// Lines for the reader: the editor's reason, then the signals that moved it ("said on
    /// 2 shows", "matches your interest: home batteries").
    pub reasons: Vec<String>,
    /// Other candidates saying the same thing (indices).
    pub also: Vec<usize>,
    /// Set when this pick moves a story the user was sent before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_of: Option<UpdateOf>,
    /// Every rule result and feature contribution (`podsift rank --explain`).
    pub explain: Explain,
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
    /// It fails a hard rule of the register check (standalone, faithful, not a copy, not
    /// an ad).
    Register {
        rule: podsift_register::Rule,
        detail: String,
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

/// The whole outcome: what was chosen, what clustered and what was dropped, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub picks: Vec<Pick>,
    /// Clusters with more than one member.
    pub clusters: Vec<Cluster>,
    pub suppressed: Vec<Suppressed>,
    pub considered: usize,
    /// How many candidates failed a hard register rule.
    pub failed_register: usize,
    /// Set when fewer than `top_k` were picked: why, for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<String>,
}
