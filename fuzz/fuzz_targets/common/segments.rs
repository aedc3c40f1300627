//! Invariants `podsift_transcripts::normalise` documents for its output.

use podsift_transcripts::Segment;

/// Times finite, non-negative, `end >= start`, sorted by start, text and speakers trimmed
/// and non-empty.
pub fn check_normalised(segs: &[Segment]) {
    let mut prev = 0.0f64;
    for s in segs {
        assert!(s.start.is_finite() && s.start >= 0.0, "bad start {s:?}");
        assert!(s.end.is_finite() && s.end >= s.start, "bad end {s:?}");
        assert!(s.start >= prev, "not sorted by start: {s:?} after {prev}");
        prev = s.start;
        assert!(!s.text.is_empty() && s.text.trim() == s.text, "text {s:?}");
        if let Some(sp) = &s.speaker {
            assert!(!sp.is_empty() && sp.trim() == sp, "speaker {s:?}");
        }
    }
}
