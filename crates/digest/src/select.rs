//! Which insights make the digest: a simple, explainable score and a greedy pick with a
//! per-show cap and near-duplicate suppression.
//!
//! Score (0 to about 1.05), all inputs clamped to 0–1 (non-finite model scores count as 0):
//!
//! ```text
//! base      = 0.5·importance + 0.3·specificity + 0.2·novelty
//! freshness = 0.5 ^ (age_days / 3)          age from `published` (else `created_at`)
//! score     = base · (0.6 + 0.4·freshness)
//!           + 0.03 if the quote is 40–400 characters   (a real, checkable quote)
//!           + 0.02 if the quote has a speaker
//! ```
//!
//! A later ranking change (embeddings, MMR) replaces the score; [`select`] stays the entry
//! point.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use podsift_core::CandidateInsight;

/// Weights of the model's own scores.
const W_IMPORTANCE: f64 = 0.5;
const W_SPECIFICITY: f64 = 0.3;
const W_NOVELTY: f64 = 0.2;
/// Days after which freshness halves.
const HALF_LIFE_DAYS: f64 = 3.0;
/// Share of the base score that does not decay with age.
const FLOOR: f64 = 0.6;
const QUOTE_BONUS: f64 = 0.03;
const SPEAKER_BONUS: f64 = 0.02;
const QUOTE_SANE_CHARS: std::ops::RangeInclusive<usize> = 40..=400;
/// A model score at or above this is called out in the reasons ("specific", "novel").
const STRONG: f64 = 0.7;
/// Token Jaccard similarity at or above which two insights count as the same.
const NEAR_DUPLICATE: f64 = 0.8;
/// Only the first this-many characters of an insight are tokenised for the duplicate check.
const MAX_TOKENISED_CHARS: usize = 4000;

/// A chosen insight with its score and the human-readable reasons it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub candidate: CandidateInsight,
    pub score: f64,
    /// Short lines explaining the pick ("importance 0.90, specific", "fresh: published today").
    pub reasons: Vec<String>,
}

/// Picks up to `size` insights from `candidates`, best first.
///
/// At most `max_per_show` come from one show (`feed_id`; `0` means no cap); an insight whose
/// text is near-identical (token Jaccard ≥ 0.8) to an already chosen one is skipped; insights
/// with empty text are never chosen. Ties are broken by newer publication, then lower insight
/// id, then input order, so the result does not depend on the order of equal inputs.
pub fn select(
    candidates: &[CandidateInsight],
    size: usize,
    max_per_show: usize,
    now: DateTime<Utc>,
) -> Vec<Pick> {
    if size == 0 || candidates.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(usize, f64)> = candidates
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.draft.text.trim().is_empty())
        .map(|(i, c)| (i, score(c, now)))
        .collect();
    scored.sort_by(|&(ia, sa), &(ib, sb)| {
        let (a, b) = (&candidates[ia], &candidates[ib]);
        sb.total_cmp(&sa)
            .then_with(|| b.published.cmp(&a.published))
            .then_with(|| a.id.cmp(&b.id))
            .then_with(|| ia.cmp(&ib))
    });

    let mut per_show: HashMap<i64, usize> = HashMap::new();
    let mut chosen_tokens: Vec<HashSet<String>> = Vec::with_capacity(size);
    let mut picks = Vec::with_capacity(size);
    for (i, s) in scored {
        if picks.len() >= size {
            break;
        }
        let c = &candidates[i];
        let n = per_show.get(&c.feed_id).copied().unwrap_or(0);
        if max_per_show > 0 && n >= max_per_show {
            continue;
        }
        let tokens = tokens(&c.draft.text);
        if chosen_tokens
            .iter()
            .any(|t| jaccard(t, &tokens) >= NEAR_DUPLICATE)
        {
            continue;
        }
        per_show.insert(c.feed_id, n + 1);
        chosen_tokens.push(tokens);
        picks.push(Pick {
            candidate: c.clone(),
            score: s,
            reasons: reasons(c, now),
        });
    }
    picks
}

fn unit(x: f32) -> f64 {
    if x.is_finite() {
        f64::from(x).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Age in whole days (0 for today or a future date) and whether it came from `published`.
fn age_days(c: &CandidateInsight, now: DateTime<Utc>) -> (i64, bool) {
    let (at, known) = match c.published {
        Some(p) => (p, true),
        None => (c.created_at, false),
    };
    ((now - at).num_hours().max(0) / 24, known)
}

fn quote_sane(c: &CandidateInsight) -> bool {
    QUOTE_SANE_CHARS.contains(&c.draft.quote.trim().chars().count())
}

fn has_speaker(c: &CandidateInsight) -> bool {
    c.draft
        .speaker
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty())
}

fn score(c: &CandidateInsight, now: DateTime<Utc>) -> f64 {
    let d = &c.draft;
    let base = W_IMPORTANCE * unit(d.importance)
        + W_SPECIFICITY * unit(d.specificity)
        + W_NOVELTY * unit(d.novelty);
    let (age, _) = age_days(c, now);
    let freshness = 0.5f64.powf(age.min(3650) as f64 / HALF_LIFE_DAYS);
    let mut s = base * (FLOOR + (1.0 - FLOOR) * freshness);
    if quote_sane(c) {
        s += QUOTE_BONUS;
    }
    if has_speaker(c) {
        s += SPEAKER_BONUS;
    }
    s
}

fn reasons(c: &CandidateInsight, now: DateTime<Utc>) -> Vec<String> {
    let d = &c.draft;
    let mut first = format!("importance {:.2}", unit(d.importance));
    // f32 → f64 makes 0.7 into 0.69999…: compare against the shown two decimals.
    if unit(d.specificity) >= STRONG - 0.005 {
        first.push_str(", specific");
    }
    if unit(d.novelty) >= STRONG - 0.005 {
        first.push_str(", novel");
    }
    let mut out = vec![first];
    out.push(match age_days(c, now) {
        (0, true) => "fresh: published today".to_string(),
        (1, true) => "published yesterday".to_string(),
        (n, true) => format!("published {n} days ago"),
        (0, false) => "extracted today (publication date unknown)".to_string(),
        (n, false) => format!("extracted {n} days ago (publication date unknown)"),
    });
    if has_speaker(c) && quote_sane(c) {
        out.push("quoted with speaker".to_string());
    } else if quote_sane(c) {
        out.push("verbatim quote".to_string());
    }
    out
}

fn tokens(text: &str) -> HashSet<String> {
    let bounded: String = text.chars().take(MAX_TOKENISED_CHARS).collect();
    bounded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let inter = a.intersection(b).count();
    let union = a.len() + b.len() - inter;
    inter as f64 / union as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_basics() {
        let a = tokens("The studio pays 8 % of streaming revenue.");
        let b = tokens("the STUDIO pays 8% of streaming revenue");
        assert!((jaccard(&a, &b) - 1.0).abs() < 1e-9);
        let c = tokens("Something else entirely");
        assert!(jaccard(&a, &c) < 0.1);
    }
}
