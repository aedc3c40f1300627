//! A chosen insight with its score and the reasons it was chosen. The choosing itself is
//! `podsift-ranking`'s (one path for both engines).

use podsift_core::CandidateInsight;

/// A chosen insight with its score and the human-readable reasons it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub candidate: CandidateInsight,
    pub score: f64,
    /// Lines for the reader: the editor's reason, then what moved it ("said on 2 shows",
    /// "matches your interest: home batteries", "fresh: published today").
    pub reasons: Vec<String>,
}
