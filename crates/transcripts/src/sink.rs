//! The bounded collector every parser pushes segments into.

use podsift_core::model::{ParsedTranscript, Segment};

use crate::time::MAX_SECONDS;
use crate::{MAX_SEGMENT_CHARS, MAX_SEGMENTS};

/// Collects segments, enforcing [`MAX_SEGMENTS`] and [`MAX_SEGMENT_CHARS`] and rejecting
/// non-finite or negative times (counted as skipped).
#[derive(Default)]
pub(crate) struct Sink {
    out: ParsedTranscript,
}

impl Sink {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Counts one malformed cue.
    pub(crate) fn skip(&mut self) {
        self.out.skipped = self.out.skipped.saturating_add(1);
    }

    pub(crate) fn set_language(&mut self, lang: Option<String>) {
        if self.out.language.is_none() {
            self.out.language = lang.filter(|l| !l.is_empty() && l.len() <= 35);
        }
    }

    /// Whether more segments would be refused.
    pub(crate) fn full(&self) -> bool {
        self.out.segments.len() >= MAX_SEGMENTS
    }

    pub(crate) fn push(&mut self, start: f64, end: f64, speaker: Option<String>, mut text: String) {
        let ok = |t: f64| t.is_finite() && (0.0..=MAX_SECONDS).contains(&t);
        if !ok(start) || !ok(end) || self.full() {
            self.skip();
            return;
        }
        if let Some((cut, _)) = text.char_indices().nth(MAX_SEGMENT_CHARS) {
            text.truncate(cut);
        }
        let speaker = speaker
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .map(|mut s| {
                if let Some((cut, _)) = s.char_indices().nth(200) {
                    s.truncate(cut);
                }
                s
            });
        self.out.segments.push(Segment {
            start,
            end,
            speaker,
            text,
        });
    }

    /// Appends a line to the last segment's text (continuation lines).
    pub(crate) fn append_text(&mut self, line: &str) {
        if let Some(last) = self.out.segments.last_mut()
            && last.text.len() + line.len() < MAX_SEGMENT_CHARS
        {
            last.text.push('\n');
            last.text.push_str(line);
        }
    }

    pub(crate) fn finish(self) -> ParsedTranscript {
        self.out
    }
}
