//! A candidate's score, feature by feature, and the reasons a reader sees.
//!
//! ```text
//! quality = editor order      0.30 · 0.75^(rank−1)        (0.15 when no editor ranked it)
//!         + register shape    0.10 if 2–3 sentences, 25–90 words
//!         + register specific 0.20 if a figure or two names from its source
//!         + consequential     0.20 if a later sentence says what follows
//!         + detail            0.10 · min(figures + names, 4) / 4
//!         + consequence       0.05 · min(consequence words, 3) / 3
//!         + self-scores       0.03 · mean(importance, specificity, novelty)   (a tie-breaker)
//! score   = quality · (0.6 + 0.4 · freshness)                freshness halves every 3 days
//!         + interest 0.3 · match  + feedback 0.25 · affinity  + corroboration 0.06 per show
//!         × show weight × (0.7 when it is close to something sent and adds nothing)
//! ```
//!
//! Hard register failures never get here (see [`crate::rank`]).

use chrono::{DateTime, Utc};
use podsift_register::{Rule, Verdict};

use crate::types::{Candidate, Feature, Profile};

const W_EDITOR: f64 = 0.30;
const EDITOR_DECAY: f64 = 0.75;
const EDITOR_UNRANKED: f64 = 0.5;
const W_SHAPE: f64 = 0.10;
const W_SPECIFIC: f64 = 0.20;
const W_CONSEQUENTIAL: f64 = 0.20;
const W_DETAIL: f64 = 0.10;
const DETAIL_FULL: f64 = 4.0;
const W_CONSEQUENCE: f64 = 0.05;
const CONSEQUENCE_FULL: f64 = 3.0;
const W_SELF: f64 = 0.03;
/// Days after which freshness halves; `FRESH_FLOOR` of the quality never decays.
const HALF_LIFE_DAYS: f64 = 3.0;
const FRESH_FLOOR: f64 = 0.6;
/// Interest match: the embedding's cosine below `INTEREST_FLOOR` counts nothing, at
/// `INTEREST_FLOOR + INTEREST_SPAN` and above counts fully; the words' match counts as is.
const W_INTEREST: f64 = 0.3;
const INTEREST_FLOOR: f64 = 0.2;
const INTEREST_SPAN: f64 = 0.35;
/// Match from which an interest is named in the reasons.
const INTEREST_REASON: f64 = 0.4;
const W_FEEDBACK: f64 = 0.25;
/// Each other show (or episode) saying the same thing adds this, up to `CORROBORATION_MAX`.
const W_CORROBORATION: f64 = 0.06;
const CORROBORATION_MAX: usize = 3;
/// A related-but-not-new candidate keeps this share of its score.
pub(crate) const STALE_PENALTY: f64 = 0.7;

fn unit(x: f32) -> f64 {
    if x.is_finite() {
        f64::from(x).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// What else moved a candidate: found while clustering and against the history.
#[derive(Debug, Default)]
pub(crate) struct Context<'a> {
    /// Other shows with the same claim.
    pub other_shows: Vec<&'a str>,
    /// Other episodes of its own show with the same claim.
    pub other_episodes: usize,
    /// 1, or the stale penalty.
    pub penalty: f64,
    /// Lines from the history check ("Update: …", "close to what you were sent on …").
    pub history_reasons: Vec<String>,
}

/// The score, each feature's part, and the reader's reasons.
pub(crate) struct Scored {
    pub score: f64,
    pub features: Vec<Feature>,
    pub reasons: Vec<String>,
}

/// Whole days between publication and `now` (0 for the future).
pub(crate) fn age_days(c: &Candidate, now: DateTime<Utc>) -> Option<i64> {
    c.published.map(|p| (now - p).num_hours().max(0) / 24)
}

/// The best interest match, 0–1: the embedding's cosine (mapped from 0.2–0.55) or the
/// share of the interest's words the candidate has, whichever is higher.
fn interest_match<'p>(c: &Candidate, e: &[f32], profile: &'p Profile) -> Option<(&'p str, f64)> {
    let stems: std::collections::BTreeSet<String> = podsift_register::text::content_stems(&c.text)
        .into_iter()
        .collect();
    profile
        .interests
        .iter()
        .map(|i| {
            let by_embedding = if !e.is_empty() && i.embedding.len() == e.len() {
                ((f64::from(crate::embed::cosine(e, &i.embedding)) - INTEREST_FLOOR)
                    / INTEREST_SPAN)
                    .clamp(0.0, 1.0)
            } else {
                0.0
            };
            let words = podsift_register::text::content_stems(&i.label);
            let by_words = if words.is_empty() {
                0.0
            } else {
                words.iter().filter(|w| stems.contains(*w)).count() as f64 / words.len() as f64
            };
            (i.label.as_str(), by_embedding.max(by_words))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// Scores one candidate that passed the hard rules.
pub(crate) fn score(
    c: &Candidate,
    verdict: &Verdict,
    embedding: &[f32],
    profile: &Profile,
    ctx: &Context<'_>,
    now: DateTime<Utc>,
) -> Scored {
    let mut features = Vec::new();
    let mut feature = |name: &str, value: f64, contribution: f64| {
        features.push(Feature {
            name: name.to_string(),
            value,
            contribution,
        });
        contribution
    };
    let mut quality = 0.0;
    let editor = c.editor_rank.map_or(EDITOR_UNRANKED, |r| {
        EDITOR_DECAY.powi(r.max(1).saturating_sub(1).min(20) as i32)
    });
    quality += feature(
        "editor_order",
        c.editor_rank.map_or(0.0, f64::from),
        W_EDITOR * editor,
    );
    let pass = |rule: Rule| if verdict.holds(rule) { 1.0 } else { 0.0 };
    quality += feature(
        "register_shape",
        pass(Rule::Shape),
        W_SHAPE * pass(Rule::Shape),
    );
    quality += feature(
        "register_specific",
        pass(Rule::Specific),
        W_SPECIFIC * pass(Rule::Specific),
    );
    quality += feature(
        "register_consequential",
        pass(Rule::Consequential),
        W_CONSEQUENTIAL * pass(Rule::Consequential),
    );
    let detail = (verdict.figures + verdict.names) as f64;
    quality += feature(
        "detail",
        detail,
        W_DETAIL * detail.min(DETAIL_FULL) / DETAIL_FULL,
    );
    let markers = verdict.consequence_markers as f64;
    quality += feature(
        "consequence",
        markers,
        W_CONSEQUENCE * markers.min(CONSEQUENCE_FULL) / CONSEQUENCE_FULL,
    );
    let s = &c.scores;
    let self_mean = (unit(s.importance) + unit(s.specificity) + unit(s.novelty)) / 3.0;
    quality += feature("self_scores", self_mean, W_SELF * self_mean);

    let age = age_days(c, now);
    let freshness = age.map_or(0.5, |d| 0.5f64.powf(d.min(3650) as f64 / HALF_LIFE_DAYS));
    let fresh_factor = FRESH_FLOOR + (1.0 - FRESH_FLOOR) * freshness;
    let mut score = quality * fresh_factor;
    feature("freshness", freshness, score - quality);

    let mut reasons: Vec<String> = Vec::new();
    if let Some(r) = &c.reason {
        reasons.push(r.trim().to_string());
    }
    reasons.extend(ctx.history_reasons.iter().cloned());

    let support = (ctx.other_shows.len() + ctx.other_episodes.min(1)).min(CORROBORATION_MAX);
    score += feature(
        "corroboration",
        support as f64,
        W_CORROBORATION * support as f64,
    );
    if !ctx.other_shows.is_empty() {
        reasons.push(format!(
            "said on {} shows: {}, {}",
            ctx.other_shows.len() + 1,
            c.podcast,
            ctx.other_shows.join(", ")
        ));
    } else if ctx.other_episodes > 0 {
        reasons.push(format!(
            "said in {} episodes of {}",
            ctx.other_episodes + 1,
            c.podcast
        ));
    }

    if let Some((label, m)) = interest_match(c, embedding, profile) {
        score += feature("interest", m, W_INTEREST * m);
        if m >= INTEREST_REASON {
            reasons.push(format!("matches your interest: {label}"));
        }
    }

    let affinity = profile.feedback_affinity(embedding);
    score += feature("feedback", affinity, W_FEEDBACK * affinity);
    if affinity >= 0.08 {
        reasons.push("like insights you gave a 👍".to_string());
    } else if affinity <= -0.08 {
        reasons.push("resembles insights you gave a 👎".to_string());
    }
    let likes = profile.show_likes.get(&c.podcast).copied().unwrap_or(0);
    if likes > 0 {
        reasons.push(format!(
            "you liked {likes} insight{} from {}",
            if likes == 1 { "" } else { "s" },
            c.podcast
        ));
    }

    let weight = f64::from(profile.show_weight(&c.podcast));
    let before = score.max(0.0);
    score = before * weight * ctx.penalty;
    feature("show_weight", weight, before * weight - before);
    if ctx.penalty < 1.0 {
        feature("stale", ctx.penalty, before * weight * (ctx.penalty - 1.0));
    }
    if weight >= 1.05 && likes == 0 {
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
    Scored {
        score,
        features,
        reasons,
    }
}

/// How well-written a candidate is, for choosing a cluster's representative: the register
/// rules it passes, the editor's order, its detail, then its length.
pub(crate) fn writing_key(c: &Candidate, v: &Verdict) -> (usize, i64, usize, usize) {
    let passed = podsift_register::Rule::ALL
        .iter()
        .filter(|r| v.holds(**r))
        .count();
    (
        passed,
        -i64::from(c.editor_rank.unwrap_or(99)),
        v.figures + v.names,
        c.text.chars().count().min(600),
    )
}
