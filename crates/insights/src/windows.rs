//! Cutting a transcript into overlapping windows of about `window_tokens` tokens.
//!
//! Segments are first split into *pieces*: a segment is one piece unless it is long (plain
//! text transcripts are often one segment per paragraph, or one for the whole episode), in
//! which case it is split on sentence ends, and an endless sentence on word boundaries; times
//! are interpolated by character position. Windows are runs of whole pieces: a window ends at
//! a speaker turn if one falls in its last 40 %, else at a sentence end, else where the size
//! runs out. The next window starts `window_overlap_tokens` back. Every piece is in at least
//! one window, so no text is lost (see the property test).

use std::ops::Range;

use podsift_core::Segment;

use crate::cost::estimate_tokens;

/// A line is not grown past this many characters (a new `[MM:SS]` line starts).
const MAX_LINE_CHARS: usize = 400;

/// A sentence-or-segment-sized unit of the transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Index of the segment the piece comes from.
    pub segment: usize,
    /// Start (seconds, interpolated within a split segment).
    pub start: f64,
    /// End (seconds).
    pub end: f64,
    /// The segment's speaker.
    pub speaker: Option<String>,
    /// The text.
    pub text: String,
    /// Whitespace-separated words.
    pub words: usize,
    /// Estimated tokens.
    pub tokens: usize,
    /// The speaker differs from the previous piece's.
    pub turn_start: bool,
}

/// One window: a run of pieces rendered as `[MM:SS] Speaker: text` lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Position in [`Windowed::windows`].
    pub index: usize,
    /// Start of its first piece, end of its last (seconds).
    pub start: f64,
    /// End of its last piece.
    pub end: f64,
    /// What the model reads.
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: u64,
    /// Transcript words in the window.
    pub words: usize,
    /// Its pieces, indices into [`Windowed::pieces`].
    pub pieces: Range<usize>,
    /// The segments it spans.
    pub segments: Range<usize>,
}

/// A transcript cut into pieces and windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windowed {
    /// The transcript in pieces.
    pub pieces: Vec<Piece>,
    /// The windows, in time order.
    pub windows: Vec<Window>,
    /// Words in the whole transcript.
    pub total_words: usize,
}

impl Windowed {
    /// Share of the transcript's words inside the given windows (each piece counted once).
    pub fn coverage(&self, windows: impl IntoIterator<Item = usize>) -> f64 {
        if self.total_words == 0 {
            return 1.0;
        }
        self.words_in(windows) as f64 / self.total_words as f64
    }

    /// Words inside the given windows (each piece counted once).
    pub fn words_in(&self, windows: impl IntoIterator<Item = usize>) -> usize {
        let mut seen = vec![false; self.pieces.len()];
        for w in windows {
            if let Some(win) = self.windows.get(w) {
                for p in win.pieces.clone() {
                    seen[p] = true;
                }
            }
        }
        let read: usize = self
            .pieces
            .iter()
            .zip(&seen)
            .filter(|(_, s)| **s)
            .map(|(p, _)| p.words)
            .sum();
        read
    }
}

/// Cuts `segments` into windows of about `window_tokens` with `overlap_tokens` overlap.
pub fn build_windows(
    segments: &[Segment],
    window_tokens: usize,
    overlap_tokens: usize,
) -> Windowed {
    let target = window_tokens.max(50);
    let overlap = overlap_tokens.min(target / 2);
    let pieces = split_pieces(segments, (target / 3).max(16));
    let total_words = pieces.iter().map(|p| p.words).sum();
    let mut windows = Vec::new();
    let n = pieces.len();
    let mut i = 0;
    while i < n {
        let end = cut_point(&pieces, i, target);
        windows.push(render(&pieces, i..end, windows.len()));
        if end >= n {
            break;
        }
        let mut k = end;
        let mut ov = 0;
        while k > i + 1 && ov < overlap {
            k -= 1;
            ov += pieces[k].tokens;
        }
        i = if overlap == 0 { end } else { k };
    }
    Windowed {
        pieces,
        windows,
        total_words,
    }
}

/// End (exclusive) of the window starting at piece `i`.
fn cut_point(pieces: &[Piece], i: usize, target: usize) -> usize {
    let n = pieces.len();
    let mut tok = 0;
    let mut j = i;
    // `cum[k]` = tokens of pieces i..i+k+1.
    let mut cum = Vec::new();
    while j < n {
        let t = pieces[j].tokens;
        if j > i && tok + t > target {
            break;
        }
        tok += t;
        cum.push(tok);
        j += 1;
    }
    if j >= n {
        return n;
    }
    let min_fill = target * 3 / 5;
    // Candidate cuts c in (i+1 ..= j): window i..c.
    let candidates = || (i + 1..=j).rev().filter(|&c| cum[c - i - 1] >= min_fill);
    if let Some(c) = candidates().find(|&c| pieces[c].turn_start) {
        return c;
    }
    if let Some(c) = candidates().find(|&c| ends_sentence(&pieces[c - 1].text)) {
        return c;
    }
    j
}

fn ends_sentence(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(['"', '\'', ')', '\u{201d}'])
        .ends_with(['.', '?', '!', '…'])
}

fn split_pieces(segments: &[Segment], max_piece_tokens: usize) -> Vec<Piece> {
    let max_chars = max_piece_tokens * 4;
    let mut pieces: Vec<Piece> = Vec::new();
    let mut last_end = 0.0f64;
    for (si, seg) in segments.iter().enumerate() {
        let text = seg.text.trim();
        if text.is_empty() {
            continue;
        }
        let start = if seg.start.is_finite() && seg.start >= 0.0 {
            seg.start
        } else {
            last_end
        };
        let end = if seg.end.is_finite() && seg.end >= start {
            seg.end
        } else {
            start
        };
        last_end = end;
        let speaker = seg
            .speaker
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let chunks = if text.len() <= max_chars {
            vec![(0, text.len())]
        } else {
            chunk_text(text, max_chars)
        };
        let total = text.len().max(1) as f64;
        for (a, b) in chunks {
            let part = text[a..b].trim();
            if part.is_empty() {
                continue;
            }
            let turn_start = match pieces.last() {
                Some(prev) => prev.speaker != speaker,
                None => true,
            };
            pieces.push(Piece {
                segment: si,
                start: start + (end - start) * a as f64 / total,
                end: start + (end - start) * b as f64 / total,
                speaker: speaker.clone(),
                text: part.to_owned(),
                words: crate::text::word_count(part),
                tokens: estimate_tokens(part) as usize,
                turn_start,
            });
        }
    }
    pieces
}

/// Byte ranges covering `text`, each at most about `max_chars`: sentences grouped greedily,
/// an over-long sentence split on whitespace (or anywhere, on a char boundary, if it has none).
fn chunk_text(text: &str, max_chars: usize) -> Vec<(usize, usize)> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '?' | '!') && bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace) {
            sentences.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < text.len() {
        sentences.push((start, text.len()));
    }
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (a, b) in sentences {
        if b - a > max_chars {
            let mut s = a;
            while b - s > max_chars {
                let mut cut = s + max_chars;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                let cut = text[s..cut]
                    .rfind(char::is_whitespace)
                    .map_or(cut, |w| s + w);
                let cut = if cut <= s { s + max_chars.max(1) } else { cut };
                let mut cut = cut.min(b);
                while !text.is_char_boundary(cut) {
                    cut += 1;
                }
                out.push((s, cut));
                s = cut;
            }
            out.push((s, b));
        } else if let Some(last) = out.last_mut().filter(|l| b - l.0 <= max_chars) {
            last.1 = b;
        } else {
            out.push((a, b));
        }
    }
    out
}

fn render(pieces: &[Piece], range: Range<usize>, index: usize) -> Window {
    let mut text = String::new();
    let mut line_len = 0;
    let mut words = 0;
    for (k, p) in pieces[range.clone()].iter().enumerate() {
        words += p.words;
        let new_line = k == 0 || p.turn_start || line_len + p.text.len() > MAX_LINE_CHARS;
        if new_line {
            if k > 0 {
                text.push('\n');
            }
            let head = match &p.speaker {
                Some(s) => format!("[{}] {}: ", timestamp(p.start), s),
                None => format!("[{}] ", timestamp(p.start)),
            };
            text.push_str(&head);
            line_len = 0;
        } else {
            text.push(' ');
        }
        text.push_str(&p.text);
        line_len += p.text.len() + 1;
    }
    let first = &pieces[range.start];
    let last = &pieces[range.end - 1];
    Window {
        index,
        start: first.start,
        end: last.end,
        tokens: estimate_tokens(&text),
        text,
        words,
        segments: first.segment..last.segment + 1,
        pieces: range,
    }
}

/// `MM:SS`, or `H:MM:SS` from one hour on.
pub fn timestamp(seconds: f64) -> String {
    let s = if seconds.is_finite() && seconds > 0.0 {
        seconds as u64
    } else {
        0
    };
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn seg(start: f64, end: f64, speaker: Option<&str>, text: &str) -> Segment {
        Segment {
            start,
            end,
            speaker: speaker.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    #[test]
    fn renders_lines() {
        let segs = vec![
            seg(5.0, 8.0, Some("Ann"), "Hello there."),
            seg(8.0, 9.0, Some("Ann"), "Second."),
            seg(3700.0, 3710.0, Some("Bob"), "Late."),
        ];
        let w = build_windows(&segs, 1000, 100);
        assert_eq!(w.windows.len(), 1);
        assert_eq!(
            w.windows[0].text,
            "[00:05] Ann: Hello there. Second.\n[1:01:40] Bob: Late."
        );
        assert_eq!(w.total_words, 4);
        assert_eq!(w.coverage([0]), 1.0);
    }

    #[test]
    fn long_segment_is_split_with_times() {
        let sentence = "The quick brown fox jumps over the lazy dog again. ";
        let text = sentence.repeat(200);
        let segs = vec![seg(0.0, 1000.0, None, &text)];
        let w = build_windows(&segs, 300, 30);
        assert!(w.windows.len() > 5, "{}", w.windows.len());
        for win in &w.windows {
            assert!(win.tokens <= 300 + 20, "window of {} tokens", win.tokens);
        }
        let words: usize = w.pieces.iter().map(|p| p.words).sum();
        assert_eq!(words, 2000);
        assert!(w.pieces.windows(2).all(|p| p[0].end <= p[1].start + 1e-9));
        assert!((w.pieces.last().unwrap().end - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn endless_sentence_and_unicode() {
        let text = "ééé ".repeat(3000) + &"x".repeat(5000);
        let segs = vec![seg(0.0, 10.0, None, &text)];
        let w = build_windows(&segs, 200, 20);
        // No character is lost (the unbreakable word is cut into pieces).
        let strip = |s: &str| s.split_whitespace().collect::<String>();
        let joined: String = w.pieces.iter().map(|p| strip(&p.text)).collect();
        assert_eq!(joined, strip(&text));
        assert!(w.pieces.iter().all(|p| p.text.len() <= 200 / 3 * 4 + 4));
        assert!((w.coverage(0..w.windows.len()) - 1.0).abs() < 1e-9);
    }

    /// Property-style: random transcripts; every piece is in some window, windows advance,
    /// consecutive windows overlap, no word is lost in splitting, coverage of all windows is 1.
    #[test]
    fn windows_cover_everything_with_overlap() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        let vocab = [
            "alpha", "beta.", "Gamma", "delta?", "42", "épée", "x!", "and",
        ];
        for case in 0..200 {
            let nseg = next(120) as usize;
            let mut segs = Vec::new();
            let mut t = 0.0;
            for _ in 0..nseg {
                let long = next(10) == 0;
                let nw = next(if long { 600 } else { 30 }) as usize;
                let text: Vec<&str> = (0..nw).map(|_| vocab[next(8) as usize]).collect();
                let d = next(20) as f64;
                let speaker = ["A", "B", ""][next(3) as usize];
                segs.push(seg(t, t + d, Some(speaker), &text.join(" ")));
                t += d;
            }
            let target = 50 + next(800) as usize;
            let overlap = next(150) as usize;
            let w = build_windows(&segs, target, overlap);
            let expected: usize = segs.iter().map(|s| crate::text::word_count(&s.text)).sum();
            assert_eq!(w.total_words, expected, "case {case}");
            let mut covered = vec![0usize; w.pieces.len()];
            for (k, win) in w.windows.iter().enumerate() {
                assert_eq!(win.index, k);
                assert!(!win.pieces.is_empty());
                for p in win.pieces.clone() {
                    covered[p] += 1;
                }
                if k > 0 {
                    let prev = &w.windows[k - 1];
                    assert!(
                        win.pieces.start > prev.pieces.start,
                        "case {case}: no progress"
                    );
                    assert!(win.pieces.start <= prev.pieces.end, "case {case}: gap");
                    if overlap.min(target.max(50) / 2) > 0 && prev.pieces.len() > 1 {
                        assert!(
                            win.pieces.start < prev.pieces.end,
                            "case {case}: no overlap"
                        );
                    }
                }
            }
            assert!(covered.iter().all(|&c| c > 0), "case {case}: piece lost");
            if expected > 0 {
                assert!((w.coverage(0..w.windows.len()) - 1.0).abs() < 1e-9);
            }
        }
    }
}
