//! Merging near-identical insights from overlapping windows and keeping the best few.

use std::collections::HashSet;
use std::ops::Range;

use podsift_core::InsightDraft;

/// Token-set Jaccard similarity of two insights' texts from which they are the same insight.
pub const MIN_JACCARD: f64 = 0.6;
/// Share of the shorter quote span two quotes must share to be the same insight.
pub const MIN_SPAN_OVERLAP: f64 = 0.5;

/// A grounded insight with its quote's word span in the transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The insight.
    pub draft: InsightDraft,
    /// Its quote's word positions in the transcript index.
    pub span: Range<usize>,
}

/// The ranking score: importance first, then specificity, then novelty.
pub fn rank_score(d: &InsightDraft) -> f64 {
    0.5 * f64::from(d.importance) + 0.3 * f64::from(d.specificity) + 0.2 * f64::from(d.novelty)
}

/// Merges duplicates (overlapping quote spans, or Jaccard of the texts ≥ 0.6), keeping the
/// earlier one (with the topics of both), then keeps the first `keep`. `cands` come best
/// first (the editor's order). Returns the kept insights and how many were merged away.
pub fn merge(cands: Vec<Candidate>, keep: usize) -> (Vec<InsightDraft>, usize) {
    let mut kept: Vec<(Candidate, HashSet<String>)> = Vec::new();
    let mut merged = 0;
    for c in cands {
        let set = word_set(&c.draft.text);
        let dup = kept.iter_mut().find(|(k, kset)| {
            span_overlap(&k.span, &c.span) >= MIN_SPAN_OVERLAP || jaccard(kset, &set) >= MIN_JACCARD
        });
        match dup {
            Some((k, _)) => {
                merged += 1;
                for t in c.draft.topics {
                    if !k.draft.topics.contains(&t) && k.draft.topics.len() < 8 {
                        k.draft.topics.push(t);
                    }
                }
            }
            None => kept.push((c, set)),
        }
    }
    let out = kept.into_iter().take(keep).map(|(c, _)| c.draft).collect();
    (out, merged)
}

fn word_set(text: &str) -> HashSet<String> {
    crate::text::words(text).into_iter().collect()
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

pub(crate) fn span_overlap(a: &Range<usize>, b: &Range<usize>) -> f64 {
    let shorter = a.len().min(b.len());
    if shorter == 0 {
        return 0.0;
    }
    let inter = a.end.min(b.end).saturating_sub(a.start.max(b.start));
    inter as f64 / shorter as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(text: &str, span: Range<usize>, importance: f32) -> Candidate {
        Candidate {
            draft: InsightDraft {
                text: text.into(),
                quote: "q".into(),
                start_seconds: 0.0,
                end_seconds: 1.0,
                speaker: None,
                topics: vec![text.split(' ').next().unwrap_or("").to_lowercase()],
                importance,
                novelty: 0.5,
                specificity: 0.5,
                chapter: None,
                ..Default::default()
            },
            span,
        }
    }

    #[test]
    fn merges_and_keeps_best() {
        let cands = vec![
            cand(
                "Celery 4.0 is a huge release for Django users.",
                10..20,
                0.6,
            ),
            cand(
                "Celery 4.0 is a huge release for all Django users.",
                100..110,
                0.9,
            ),
            cand("Pandas adds Arrow strings.", 102..112, 0.4),
            cand("Rust ships async closures.", 200..210, 0.7),
            cand("Go adds generics.", 300..310, 0.1),
        ];
        let mut cands = cands;
        cands.sort_by(|a, b| rank_score(&b.draft).total_cmp(&rank_score(&a.draft)));
        let (kept, merged) = merge(cands, 2);
        assert_eq!(merged, 2, "text near-duplicate and overlapping span");
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].importance, 0.9);
        assert!(kept[0].topics.contains(&"pandas".to_owned()));
        assert_eq!(kept[1].text, "Rust ships async closures.");
    }
}
