//! Sentence starts without DTW: each sentence placed in its segment by where its first
//! character falls in the segment's text, then moved to the nearest onset of speech after a
//! pause in the audio itself.
//!
//! Why: whisper's segment times (its timestamp tokens) are good to about a second, but its
//! token times without DTW (`token_timestamps`, a heuristic on the timestamp-token
//! probabilities) put sentence starts seconds off, 25 s in one of our tests. DTW over the
//! cross-attention fixes that at about a fifth of the decoding time on CPU (BENCHMARKS.md,
//! issue 17). A sentence starts after a pause far more often than not, and the audio's
//! loudness shows pauses for free: the same idea as stable-ts' `suppress_silence`, which moves
//! timestamps out of silent stretches.

use crate::engine::RawSegment;
use crate::sentences::{TimedToken, split_sentences};

/// Loudness frames of 10 ms (whisper's time unit is a centisecond too).
const FRAME: usize = 160;
/// A pause is at least this many quiet frames (150 ms): shorter gaps are stops inside words.
const MIN_PAUSE_FRAMES: usize = 15;
/// How far an estimated start may move to meet an onset.
const SNAP_SECS: f64 = 1.5;
/// Quiet: 26 dB under the part's loud speech (its 90th-percentile frame).
const QUIET_RATIO: f32 = 0.05;
/// Speech already under way at a segment's start that ends within this long after it, before
/// a pause, is the previous segment's last words: whisper often starts a segment where the
/// previous one ended, before the pause rather than after it, and ends one early.
const TAIL_SECS: f64 = 1.2;
/// Pauses are measured up to this long (1 s): longer ones count the same, both as an onset's
/// claim to be a sentence start and in how far back a pause is looked for.
const LONG_PAUSE_FRAMES: usize = 100;

/// The loudness frame holding `secs` (frames are centiseconds).
fn to_frame(secs: f64) -> usize {
    (secs.max(0.0) * 100.0).round() as usize
}

/// The loudness of one part of audio, frame by frame.
pub struct Loudness {
    rms: Vec<f32>,
    quiet: f32,
}

impl Loudness {
    /// Frame loudness of 16 kHz samples.
    pub fn of(samples: &[f32]) -> Self {
        let rms: Vec<f32> = samples
            .chunks(FRAME)
            .map(|f| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt())
            .collect();
        let mut sorted = rms.clone();
        sorted.sort_by(f32::total_cmp);
        let loud = sorted
            .get(sorted.len().saturating_mul(9) / 10)
            .copied()
            .unwrap_or(0.0);
        Self {
            rms,
            quiet: loud * QUIET_RATIO,
        }
    }

    fn is_quiet(&self, frame: usize) -> bool {
        self.rms.get(frame).is_none_or(|r| *r <= self.quiet)
    }

    /// Frames where speech begins after a pause of at least [`MIN_PAUSE_FRAMES`] (or at the
    /// first frame when the part opens with speech), from `lo` to `hi` (frames).
    fn onsets(&self, lo: usize, hi: usize) -> Vec<usize> {
        self.onsets_with_pauses(lo, hi)
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    /// [`Loudness::onsets`], each with the length of the pause before it (frames; the
    /// part's opening counts as a long pause).
    fn onsets_with_pauses(&self, lo: usize, hi: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        // Look back far enough to measure a long pause before `lo`.
        let from = lo.saturating_sub(LONG_PAUSE_FRAMES);
        let mut quiet_run = if from == 0 { LONG_PAUSE_FRAMES } else { 0 };
        for f in from..hi.min(self.rms.len()) {
            if self.is_quiet(f) {
                quiet_run += 1;
            } else {
                if quiet_run >= MIN_PAUSE_FRAMES && f >= lo {
                    out.push((f, quiet_run));
                }
                quiet_run = 0;
            }
        }
        out
    }

    /// Cumulative count of speech frames from `lo` (frames) up to each frame before `hi`:
    /// `out[i]` = speech frames in `lo..lo + i`.
    fn voiced_prefix(&self, lo: usize, hi: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(hi.saturating_sub(lo) + 1);
        let mut n = 0;
        out.push(0);
        for f in lo..hi {
            n += usize::from(!self.is_quiet(f));
            out.push(n);
        }
        out
    }

    /// Where a segment whisper placed at `span` starts: after the pause when it opens on
    /// the tail of the speech before it (see [`TAIL_SECS`]), else where whisper said.
    pub fn segment_start(&self, span: (f64, f64)) -> f64 {
        let (start, end) = (to_frame(span.0), to_frame(span.1));
        // Speech of its own: an onset within a quarter second of the start (whisper's
        // timestamps come in 20 ms steps and run a little early or late).
        let own = !self.onsets(start.saturating_sub(25), start + 26).is_empty();
        if self.quiet <= 0.0 || own || self.is_quiet(start) {
            return span.0;
        }
        let tail_end = (start..end).find(|&f| self.is_quiet(f));
        match tail_end {
            Some(q) if q <= start + to_frame(TAIL_SECS) => self
                .onsets(q, end)
                .first()
                .map_or(span.0, |&f| f as f64 / 100.0),
            _ => span.0,
        }
    }

    /// Where a sentence estimated to start at `t` (seconds) starts: at the first speech after
    /// `t` in `span` when `t` falls in a pause, else at the onset nearest to `t` within
    /// [`SNAP_SECS`], never outside `span`. Without a pause nearby (music under the voice, one
    /// long breathless stretch) `t` stays.
    pub fn snap(&self, t: f64, span: (f64, f64)) -> f64 {
        if self.quiet <= 0.0 {
            return t;
        }
        let here = to_frame(t);
        let best = if self.is_quiet(here) {
            // Nothing is said in a pause: the sentence starts with the next speech in its
            // segment, however far (whisper often opens a segment at the previous one's end).
            self.onsets(here, to_frame(span.1) + 1).first().copied()
        } else {
            // The nearest onset, a longer pause before it counting as nearer (by up to a
            // second): a sentence more often follows a long pause than a breath inside it.
            let lo = to_frame((t - SNAP_SECS).max(span.0));
            let hi = to_frame((t + SNAP_SECS).min(span.1)) + 1;
            self.onsets_with_pauses(lo, hi)
                .into_iter()
                .min_by_key(|&(f, pause)| {
                    f.abs_diff(here) as i64 - pause.min(LONG_PAUSE_FRAMES) as i64
                })
                .map(|(f, _)| f)
        };
        best.map_or(t, |f| f as f64 / 100.0)
    }
}

/// Sentences of one segment timed without DTW: each token placed at its share of the
/// segment's characters, counted in the segment's speech (its pauses take no characters),
/// the sentences split as usual, then each start snapped to an onset.
pub fn split_by_onsets(
    tokens: &[TimedToken],
    span: (f64, f64),
    loudness: &Loudness,
) -> Vec<RawSegment> {
    let span = (loudness.segment_start(span), span.1);
    let total: usize = tokens.iter().map(|t| t.bytes.len()).sum();
    let length = (span.1 - span.0).max(0.0);
    let lo = to_frame(span.0);
    let hi = to_frame(span.1).max(lo);
    let voiced = loudness.voiced_prefix(lo, hi);
    let speech = voiced.last().copied().unwrap_or(0);
    let mut before = 0usize;
    let placed: Vec<TimedToken> = tokens
        .iter()
        .map(|t| {
            // The leading space belongs to the gap before the word.
            let lead = usize::from(t.bytes.first() == Some(&b' '));
            let at = |n: usize| {
                let share = n as f64 / total.max(1) as f64;
                if speech == 0 || loudness.quiet <= 0.0 {
                    return span.0 + length * share;
                }
                // The frame where that share of the segment's speech is reached.
                let target = (share * speech as f64).round() as usize;
                let i = voiced.partition_point(|&v| v < target.max(1));
                (span.0 + i.saturating_sub(1) as f64 / 100.0).min(span.1)
            };
            let token = TimedToken {
                bytes: t.bytes.clone(),
                t0: at(before + lead),
                t1: at(before + t.bytes.len()),
            };
            before += t.bytes.len();
            token
        })
        .collect();
    let mut sentences = split_sentences(&placed, span);
    let mut floor = span.0;
    for s in &mut sentences {
        s.start = loudness.snap(s.start, (floor, span.1)).max(floor);
        s.end = s.end.max(s.start);
        floor = s.start;
    }
    // A sentence ends where the next begins, so no two overlap after the snap.
    for i in 1..sentences.len() {
        let next = sentences[i].start;
        let prev = &mut sentences[i - 1];
        prev.end = prev.end.min(next).max(prev.start);
    }
    sentences
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(seconds of silence, seconds of tone)` pieces at 16 kHz.
    fn audio(pieces: &[(f64, f64)]) -> Vec<f32> {
        let mut out = Vec::new();
        for &(quiet, loud) in pieces {
            out.extend(std::iter::repeat_n(0.0f32, (quiet * 16_000.0) as usize));
            out.extend((0..(loud * 16_000.0) as usize).map(|i| (i as f32 * 0.07).sin() * 0.3));
        }
        out
    }

    fn tok(text: &str) -> TimedToken {
        TimedToken {
            bytes: text.as_bytes().to_vec(),
            t0: 0.0,
            t1: 0.0,
        }
    }

    #[test]
    fn a_start_in_a_pause_moves_to_the_speech_after_it() {
        // speech 0–2 s, pause 2–4 s, speech 4–6 s.
        let l = Loudness::of(&audio(&[(0.0, 2.0), (2.0, 2.0)]));
        assert_eq!(l.snap(3.0, (0.0, 6.0)), 4.0);
        // Inside speech, the nearest onset within reach.
        assert_eq!(l.snap(4.6, (0.0, 6.0)), 4.0);
        // Beyond reach, the estimate stays.
        assert_eq!(l.snap(5.9, (0.0, 6.0)), 5.9);
        // In a pause, however far the speech after it (within the span).
        assert_eq!(l.snap(2.1, (0.0, 6.0)), 4.0);
        assert_eq!(l.snap(2.1, (0.0, 3.5)), 2.1);
        // Never before the span.
        assert_eq!(l.snap(4.6, (4.5, 6.0)), 4.6);
    }

    #[test]
    fn a_segment_opening_on_the_last_word_before_a_pause_starts_after_it() {
        // speech 0–2.7 s, pause to 5.2 s, speech to 8 s; whisper's segment starts at 2.4 s.
        let l = Loudness::of(&audio(&[(0.0, 2.7), (2.5, 2.8)]));
        assert_eq!(l.segment_start((2.4, 8.0)), 5.2);
        // A segment that starts with speech of its own stays.
        assert_eq!(l.segment_start((5.2, 8.0)), 5.2);
        // Long speech under way: not a tail, whisper's start stays.
        assert_eq!(l.segment_start((1.0, 8.0)), 1.0);
        // Close enough to an onset: whisper's start stays.
        assert_eq!(l.segment_start((5.4, 8.0)), 5.4);
        let tokens = [tok(" The"), tok(" giraffe"), tok(".")];
        let got = split_by_onsets(&tokens, (2.4, 8.0), &l);
        assert_eq!(got[0].start, 5.2);
    }

    #[test]
    fn characters_are_spread_over_speech_not_pauses() {
        // "Aaaa." spoken 0–1 s, a 3 s pause, "Bbbb." spoken 4–5 s: the second sentence's
        // first character is half way through the speech, which is at 4 s, not 2.5 s.
        let l = Loudness::of(&audio(&[(0.0, 1.0), (3.0, 1.0)]));
        let got = split_by_onsets(&[tok(" Aaaa."), tok(" Bbbb.")], (0.0, 5.0), &l);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].start, 4.0);
    }

    #[test]
    fn a_long_pause_wins_over_a_nearer_breath() {
        // speech 0–3 s, a 1 s pause, speech 4–5.5 s, a 0.2 s breath, speech 5.7–8 s.
        let l = Loudness::of(&audio(&[(0.0, 3.0), (1.0, 1.5), (0.2, 2.3)]));
        // 5.2 s is 0.5 s from the breath's end and 1.2 s from the pause's.
        assert_eq!(l.snap(5.2, (0.0, 8.0)), 4.0);
        // Right at a breath, it stays there.
        assert_eq!(l.snap(5.7, (0.0, 8.0)), 5.7);
    }

    #[test]
    fn short_gaps_inside_words_are_not_onsets() {
        // speech, a 50 ms stop, speech: no pause, so nothing to snap to.
        let l = Loudness::of(&audio(&[(0.0, 2.0), (0.05, 2.0)]));
        assert_eq!(l.snap(2.5, (0.0, 4.05)), 2.5);
    }

    #[test]
    fn silence_everywhere_leaves_times_alone() {
        let l = Loudness::of(&vec![0.0; 16_000 * 3]);
        assert_eq!(l.snap(1.2, (0.0, 3.0)), 1.2);
    }

    #[test]
    fn each_sentence_of_a_segment_lands_on_its_own_onset() {
        // Two sentences: speech 0.5–3 s, pause, speech 4–7 s; the segment spans 0–7 s and the
        // first sentence has fewer characters than its share of time.
        let l = Loudness::of(&audio(&[(0.5, 2.5), (1.0, 3.0)]));
        let tokens = [
            tok(" Solar"),
            tok(" is"),
            tok(" cheap"),
            tok("."),
            tok(" Wind"),
            tok(" is"),
            tok(" cheaper"),
            tok(" still"),
            tok("."),
        ];
        let got = split_by_onsets(&tokens, (0.0, 7.0), &l);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "Solar is cheap.");
        assert_eq!(got[0].start, 0.5);
        assert_eq!(got[1].start, 4.0);
        assert!(got[0].end <= got[1].start);
    }
}
