//! Grounding: find a model's quote in the transcript, or drop the insight.
//!
//! A quote is accepted when some span of the transcript matches it with similarity ≥ 0.9,
//! where similarity = 1 − (token edit distance / quote length) over normalised words (case,
//! whitespace and punctuation removed, see `text::words_with_spans`). The insight then takes
//! its timestamps, speaker and quote text from the transcript span, not from the model.
//!
//! Speed (a 3-hour episode is ~30k words, and an episode has a few dozen quotes): the index
//! interns every transcript word and keeps a posting list per word. For a quote of `m` words
//! at most `e = ⌊0.1·m⌋` edits are allowed, so among any `e + 1` quote positions at least one
//! word is matched unchanged (pigeonhole). We take the `e + 1` *rarest* quote words as anchors;
//! each occurrence of an anchor in the transcript proposes a start position (occurrence −
//! the anchor's offset in the quote). Each proposed start is checked with a semi-global edit
//! distance (the quote must align fully, the transcript span is free) restricted to a band of
//! `e + 1` words around it: O(m·(m + 2e)) per candidate, with a handful of candidates since
//! rare words are rare. No scan of the whole transcript per quote.

use std::collections::HashMap;
use std::ops::Range;

use podsift_core::Segment;

use crate::text::words_with_spans;

/// Least similarity for a quote to count as found.
pub const MIN_SIMILARITY: f64 = 0.9;
/// Quotes shorter than this (in words) are too ambiguous to place.
pub const MIN_QUOTE_WORDS: usize = 3;
/// Longer quotes are not searched (the model was asked for one to three sentences).
pub const MAX_QUOTE_WORDS: usize = 300;
/// Candidate starts checked per quote.
const MAX_CANDIDATES: usize = 400;

#[derive(Debug, Clone, Copy)]
struct TokPos {
    seg: u32,
    widx: u32,
    nw: u32,
    bstart: u32,
    bend: u32,
}

/// Word positions of a transcript, built once per episode.
#[derive(Debug)]
pub struct TranscriptIndex<'a> {
    segments: &'a [Segment],
    tokens: Vec<u32>,
    pos: Vec<TokPos>,
    postings: Vec<Vec<u32>>,
    vocab: HashMap<String, u32>,
    /// Lowercased speaker names, to strip `Name:` labels a model copied into a quote.
    speakers: Vec<String>,
}

/// Where a quote really is.
#[derive(Debug, Clone, PartialEq)]
pub struct Grounded {
    /// The transcript's own text of the span.
    pub quote: String,
    /// Start of the span's first word (seconds).
    pub start: f64,
    /// End of the span's last word (seconds).
    pub end: f64,
    /// The speaker of the span's first segment.
    pub speaker: Option<String>,
    /// Word positions in the index (for merging overlapping quotes).
    pub span: Range<usize>,
    /// Segments the span touches.
    pub segments: Range<usize>,
    /// 1 − edit distance / quote words.
    pub similarity: f64,
}

impl<'a> TranscriptIndex<'a> {
    /// Indexes the words of `segments`.
    pub fn new(segments: &'a [Segment]) -> Self {
        let mut idx = TranscriptIndex {
            segments,
            tokens: Vec::new(),
            pos: Vec::new(),
            postings: Vec::new(),
            vocab: HashMap::new(),
            speakers: Vec::new(),
        };
        for (si, seg) in segments.iter().enumerate() {
            if let Some(sp) = seg.speaker.as_deref().map(|s| s.trim().to_lowercase())
                && !sp.is_empty()
                && idx.speakers.len() < 1000
                && !idx.speakers.contains(&sp)
            {
                idx.speakers.push(sp);
            }
            let ws = words_with_spans(&seg.text);
            let nw = ws.len() as u32;
            for (wi, (w, a, b)) in ws.into_iter().enumerate() {
                let next = idx.vocab.len() as u32;
                let id = *idx.vocab.entry(w).or_insert(next);
                if id as usize == idx.postings.len() {
                    idx.postings.push(Vec::new());
                }
                idx.postings[id as usize].push(idx.tokens.len() as u32);
                idx.tokens.push(id);
                idx.pos.push(TokPos {
                    seg: si as u32,
                    widx: wi as u32,
                    nw,
                    bstart: a as u32,
                    bend: b as u32,
                });
            }
        }
        idx
    }

    /// Words indexed.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// `true` for an empty transcript.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Finds `quote`; among equally good matches prefers one inside the segments `near` (the
    /// window the model read).
    pub fn find(&self, quote: &str, near: Option<Range<usize>>) -> Option<Grounded> {
        let quote = self.strip_labels(quote);
        let qwords: Vec<String> = words_with_spans(&quote)
            .into_iter()
            .map(|(w, _, _)| w)
            .collect();
        let m = qwords.len();
        if !(MIN_QUOTE_WORDS..=MAX_QUOTE_WORDS).contains(&m) || self.tokens.is_empty() {
            return None;
        }
        // Unknown words get an id no transcript word has.
        let qids: Vec<u32> = qwords
            .iter()
            .map(|w| self.vocab.get(w).copied().unwrap_or(u32::MAX))
            .collect();
        let max_err = m / 10;
        let band = max_err + 1;
        // The e+1 rarest known quote positions.
        let mut anchors: Vec<(usize, usize)> = qids
            .iter()
            .enumerate()
            .filter(|(_, id)| **id != u32::MAX)
            .map(|(k, id)| (self.postings[*id as usize].len(), k))
            .collect();
        anchors.sort_unstable();
        anchors.truncate(max_err + 1);
        let mut starts: Vec<usize> = Vec::new();
        for &(_, k) in &anchors {
            for &p in &self.postings[qids[k] as usize] {
                starts.push((p as usize).saturating_sub(k));
            }
        }
        starts.sort_unstable();
        starts.dedup();
        let near_tok = near.map(|r| self.segment_token_range(r));
        if starts.len() > MAX_CANDIDATES {
            // Keep those nearest the window the model read.
            let centre = near_tok.as_ref().map_or(0, |r| r.start);
            starts.sort_by_key(|&s| s.abs_diff(centre));
            starts.truncate(MAX_CANDIDATES);
            starts.sort_unstable();
        }
        let n = self.tokens.len();
        let mut best: Option<(usize, bool, Range<usize>)> = None;
        for &s in &starts {
            let lo = s.saturating_sub(band);
            let hi = (s + m + band).min(n);
            if lo >= hi {
                continue;
            }
            let Some((dist, span)) = semi_global(&qids, &self.tokens[lo..hi], max_err) else {
                continue;
            };
            let span = lo + span.start..lo + span.end;
            let inside = near_tok
                .as_ref()
                .is_some_and(|r| span.start >= r.start && span.end <= r.end);
            let better = match &best {
                None => true,
                Some((d, ins, _)) => dist < *d || (dist == *d && inside && !ins),
            };
            if better {
                best = Some((dist, inside, span));
            }
        }
        let (dist, _, span) = best?;
        let similarity = 1.0 - dist as f64 / m as f64;
        (similarity >= MIN_SIMILARITY && !span.is_empty()).then(|| self.grounded(span, similarity))
    }

    /// Removes what the model may have copied from the window's rendering rather than the
    /// speech: `[MM:SS]` timestamps and `Speaker:` labels of known speakers.
    fn strip_labels(&self, quote: &str) -> String {
        let mut out = String::with_capacity(quote.len());
        let mut rest = quote;
        while let Some(open) = rest.find('[') {
            let after = &rest[open + 1..];
            match after.find(']') {
                Some(close)
                    if close > 0
                        && after[..close]
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == ':' || c == '.') =>
                {
                    out.push_str(&rest[..open]);
                    out.push(' ');
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push_str(&rest[..=open]);
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        if self.speakers.is_empty() {
            return out;
        }
        let mut cleaned = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(colon) = rest.find(':') {
            let before = &rest[..colon];
            // The label is the text since the last sentence break or line start.
            let cut = before
                .rfind(['\n', '.', '!', '?', '"'])
                .map_or(0, |i| i + 1);
            let label = before[cut..].trim().to_lowercase();
            if self.speakers.contains(&label) {
                cleaned.push_str(&before[..cut]);
                cleaned.push(' ');
            } else {
                cleaned.push_str(&rest[..=colon]);
            }
            rest = &rest[colon + 1..];
        }
        cleaned.push_str(rest);
        cleaned
    }

    fn segment_token_range(&self, segs: Range<usize>) -> Range<usize> {
        let start = self.pos.partition_point(|p| (p.seg as usize) < segs.start);
        let end = self.pos.partition_point(|p| (p.seg as usize) < segs.end);
        start..end
    }

    fn grounded(&self, span: Range<usize>, similarity: f64) -> Grounded {
        let a = self.pos[span.start];
        let b = self.pos[span.end - 1];
        let time = |p: TokPos, after: bool| {
            let seg = &self.segments[p.seg as usize];
            let start = if seg.start.is_finite() {
                seg.start
            } else {
                0.0
            };
            let dur = if seg.end.is_finite() && seg.end > start {
                seg.end - start
            } else {
                0.0
            };
            let w = p.widx as f64 + if after { 1.0 } else { 0.0 };
            start + dur * w / p.nw.max(1) as f64
        };
        let mut parts = Vec::new();
        for si in a.seg..=b.seg {
            let text = &self.segments[si as usize].text;
            let from = if si == a.seg { a.bstart as usize } else { 0 };
            let to = if si == b.seg {
                // Keep the punctuation glued to the last word (`2016.`).
                let end = b.bend as usize;
                text[end..]
                    .find(char::is_whitespace)
                    .map_or(text.len(), |ws| end + ws)
            } else {
                text.len()
            };
            let part = text.get(from..to).unwrap_or("").trim();
            if !part.is_empty() {
                parts.push(part);
            }
        }
        Grounded {
            quote: parts.join(" "),
            start: time(a, false),
            end: time(b, true),
            speaker: self.segments[a.seg as usize].speaker.clone(),
            span,
            segments: a.seg as usize..b.seg as usize + 1,
            similarity,
        }
    }
}

/// Edit distance of the whole `q` against the best substring of `w` (free start and end in
/// `w`), if ≤ `max_err`; with that substring's range. Unit costs.
fn semi_global(q: &[u32], w: &[u32], max_err: usize) -> Option<(usize, Range<usize>)> {
    let n = w.len();
    // prev[j] = (distance, start in w) for q[..i] ending at w[..j].
    let mut prev: Vec<(usize, usize)> = (0..=n).map(|j| (0, j)).collect();
    let mut cur = vec![(0usize, 0usize); n + 1];
    for (i, &qc) in q.iter().enumerate() {
        cur[0] = (i + 1, 0);
        let mut row_min = cur[0].0;
        for j in 1..=n {
            let sub = (prev[j - 1].0 + usize::from(w[j - 1] != qc), prev[j - 1].1);
            let del = (prev[j].0 + 1, prev[j].1);
            let ins = (cur[j - 1].0 + 1, cur[j - 1].1);
            let mut c = sub;
            if del.0 < c.0 {
                c = del;
            }
            if ins.0 < c.0 {
                c = ins;
            }
            cur[j] = c;
            row_min = row_min.min(c.0);
        }
        if row_min > max_err {
            return None;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (end, &(dist, start)) = prev
        .iter()
        .enumerate()
        .skip(1)
        .min_by_key(|(j, (d, s))| (*d, j - s))?;
    (dist <= max_err).then_some((dist, start..end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64, speaker: Option<&str>, text: &str) -> Segment {
        Segment {
            start,
            end,
            speaker: speaker.map(str::to_owned),
            text: text.to_owned(),
        }
    }

    fn fixture() -> Vec<Segment> {
        vec![
            seg(
                0.0,
                8.0,
                Some("Michael"),
                "Hello and welcome to episode two of Python Bytes.",
            ),
            seg(
                8.0,
                16.0,
                Some("Michael"),
                "Celery came out with a 4.0 release, and it is a huge release.",
            ),
            seg(
                16.0,
                26.0,
                Some("Brian"),
                "I don't personally use Celery, but I know it's used a lot in Django and other projects.",
            ),
        ]
    }

    #[test]
    fn punctuation_and_case_differences_match() {
        let segs = fixture();
        let idx = TranscriptIndex::new(&segs);
        let g = idx
            .find(
                "celery came out with a 4.0 release and it is a HUGE release",
                None,
            )
            .unwrap();
        assert_eq!(g.similarity, 1.0);
        assert_eq!(
            g.quote,
            "Celery came out with a 4.0 release, and it is a huge release."
        );
        assert_eq!((g.start, g.end), (8.0, 16.0));
        assert_eq!(g.speaker.as_deref(), Some("Michael"));
        // Curly apostrophe and missing comma; a span across two segments.
        let g = idx
            .find("a huge release. I don’t personally use celery but", None)
            .unwrap();
        assert_eq!(g.segments, 1..3);
        assert_eq!(
            g.quote,
            "a huge release. I don't personally use Celery, but"
        );
        assert!(g.start > 8.0 && g.start < 16.0, "{}", g.start);
        assert!(g.end > 16.0 && g.end < 26.0, "{}", g.end);
        assert_eq!(g.speaker.as_deref(), Some("Michael"));
    }

    #[test]
    fn small_slip_is_tolerated() {
        let segs = fixture();
        let idx = TranscriptIndex::new(&segs);
        // One inserted word ("the") in a 12-word quote: similarity 11/12 ≥ 0.9.
        let g = idx
            .find(
                "I know it's used a lot in the Django and other projects",
                None,
            )
            .unwrap();
        assert!(g.similarity >= 0.9 && g.similarity < 1.0);
        assert_eq!(
            g.quote,
            "I know it's used a lot in Django and other projects."
        );
    }

    #[test]
    fn paraphrase_and_inventions_are_rejected() {
        let segs = fixture();
        let idx = TranscriptIndex::new(&segs);
        assert!(
            idx.find("Celery released version 4, which is a big release", None)
                .is_none()
        );
        assert!(
            idx.find("Django is the most popular framework in the world", None)
                .is_none()
        );
        assert!(
            idx.find("Celery came", None).is_none(),
            "too short to place"
        );
        assert!(idx.find("", None).is_none());
    }

    #[test]
    fn copied_timestamps_and_labels_are_ignored() {
        let segs = fixture();
        let idx = TranscriptIndex::new(&segs);
        let g = idx
            .find("[00:08] Michael: Celery came out with a 4.0 release, and it is a huge release.\n[00:16] Brian: I don't personally use Celery", None)
            .unwrap();
        assert_eq!(g.similarity, 1.0);
        assert_eq!(g.segments, 1..3);
        // A colon after words that are no speaker name is just punctuation.
        assert!(
            idx.find("Celery came out: with a 4.0 release", None)
                .is_some()
        );
    }

    #[test]
    fn prefers_the_window_read() {
        let segs = vec![
            seg(0.0, 5.0, None, "we should ship the release today"),
            seg(5.0, 50.0, None, "filler words go here for a while"),
            seg(50.0, 55.0, None, "we should ship the release today"),
        ];
        let idx = TranscriptIndex::new(&segs);
        assert_eq!(
            idx.find("we should ship the release today", Some(2..3))
                .unwrap()
                .start,
            50.0
        );
        assert_eq!(
            idx.find("we should ship the release today", Some(0..1))
                .unwrap()
                .start,
            0.0
        );
    }
}
