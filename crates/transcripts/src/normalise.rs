//! Normalisation of segments for storage.

use podsift_core::model::Segment;

use crate::text::collapse_ws;

/// Gap below which fragments of the same speaker are merged (seconds).
const MERGE_MAX_GAP: f64 = 1.0;
/// Longest merged segment (seconds).
const MERGE_MAX_SPAN: f64 = 20.0;
/// A segment of at most this many words counts as a fragment (word-level output).
const FRAGMENT_WORDS: usize = 3;
/// Longest merged text (characters), so merging never builds huge segments.
const MERGE_MAX_CHARS: usize = 600;

/// Prepares segments for storage: trims and collapses whitespace (text and speaker),
/// drops empty segments, clamps non-finite or negative times to 0, fixes `end < start`
/// (end = start), sorts by start (stable), and merges word-level fragments into
/// phrase-sized segments.
///
/// Merging: a segment is folded into the previous one when both have the same speaker, it
/// starts no earlier than the previous one and less than 1 s after its end, the merged
/// span stays within 20 s and 600 characters, the previous text does not end a sentence
/// (`.`, `?`, `!`, `…`), and either side is a fragment (≤ 3 words) or it repeats the
/// exact timing of the previous piece (one cue split into lines). Ordinary phrase-sized
/// cues (SRT/VTT captions) are therefore kept as they are.
pub fn normalise(segments: Vec<Segment>) -> Vec<Segment> {
    let mut segs: Vec<Segment> = segments
        .into_iter()
        .filter_map(|s| {
            let text = collapse_ws(&s.text);
            if text.is_empty() {
                return None;
            }
            let clean = |t: f64| if t.is_finite() && t > 0.0 { t } else { 0.0 };
            let start = clean(s.start);
            let end = clean(s.end).max(start);
            let speaker = s.speaker.map(|n| collapse_ws(&n)).filter(|n| !n.is_empty());
            Some(Segment {
                start,
                end,
                speaker,
                text,
            })
        })
        .collect();
    segs.sort_by(|a, b| a.start.total_cmp(&b.start));

    let mut out: Vec<Segment> = Vec::with_capacity(segs.len());
    // Timing of the last piece merged into `out.last()`.
    let mut last_piece = (f64::NAN, f64::NAN);
    for s in segs {
        let piece = (s.start, s.end);
        if let Some(prev) = out.last_mut()
            && should_merge(prev, &s, last_piece)
        {
            join_text(&mut prev.text, &s.text);
            prev.end = prev.end.max(s.end);
            last_piece = piece;
            continue;
        }
        last_piece = piece;
        out.push(s);
    }
    out
}

fn should_merge(prev: &Segment, next: &Segment, last_piece: (f64, f64)) -> bool {
    if prev.speaker != next.speaker {
        return false;
    }
    let gap = next.start - prev.end;
    if gap >= MERGE_MAX_GAP || next.start < prev.start {
        return false;
    }
    if next.end.max(prev.end) - prev.start > MERGE_MAX_SPAN
        || prev.text.len() + next.text.len() > MERGE_MAX_CHARS
    {
        return false;
    }
    let same_cue = next.start == last_piece.0 && next.end == last_piece.1;
    if same_cue {
        return true;
    }
    if ends_sentence(&prev.text) {
        return false;
    }
    word_count(&prev.text) <= FRAGMENT_WORDS || word_count(&next.text) <= FRAGMENT_WORDS
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

fn ends_sentence(s: &str) -> bool {
    let t = s.trim_end_matches(['"', '\'', '”', '’', ')', ']']);
    t.ends_with(['.', '?', '!', '…'])
}

/// Joins with a space, except before closing punctuation (`word` + `,` → `word,`).
fn join_text(acc: &mut String, next: &str) {
    if !next.starts_with(['.', ',', '?', '!', ';', ':', ')', ']', '…', '%']) {
        acc.push(' ');
    }
    acc.push_str(next);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: f64, end: f64, speaker: Option<&str>, text: &str) -> Segment {
        Segment {
            start,
            end,
            speaker: speaker.map(Into::into),
            text: text.into(),
        }
    }

    #[test]
    fn cleans_sorts_and_fixes() {
        let out = normalise(vec![
            seg(5.0, 6.0, Some(" Bob "), "  later \n text  "),
            seg(1.0, 0.5, None, "Backwards end."),
            seg(2.0, 3.0, None, "   "),
            seg(f64::NAN, -1.0, None, "Nan time."),
        ]);
        assert_eq!(
            out,
            vec![
                seg(0.0, 0.0, None, "Nan time."),
                seg(1.0, 1.0, None, "Backwards end."),
                seg(5.0, 6.0, Some("Bob"), "later text"),
            ]
        );
    }

    #[test]
    fn merges_word_fragments_until_sentence_end() {
        let words = [
            (0.3, 0.6, "Hey,"),
            (0.601, 0.93, "Travis"),
            (0.931, 1.08, "here"),
            (1.1, 1.3, "today."),
            (1.35, 1.5, "Next"),
            (1.6, 1.8, "one"),
        ];
        let mut input: Vec<Segment> = words
            .iter()
            .map(|&(s, e, t)| seg(s, e, Some("T"), t))
            .collect();
        input.push(seg(1.9, 2.0, Some("U"), "Other"));
        input.push(seg(5.0, 5.2, Some("U"), "gap"));
        let out = normalise(input);
        assert_eq!(
            out,
            vec![
                seg(0.3, 1.3, Some("T"), "Hey, Travis here today."),
                seg(1.35, 1.8, Some("T"), "Next one"),
                seg(1.9, 2.0, Some("U"), "Other"),
                seg(5.0, 5.2, Some("U"), "gap"),
            ]
        );
    }

    #[test]
    fn keeps_phrase_cues_and_caps_span() {
        let a = seg(0.0, 3.0, None, "this is a full caption line");
        let b = seg(3.0, 6.0, None, "and another full caption line");
        assert_eq!(normalise(vec![a.clone(), b.clone()]).len(), 2);
        // Same-timing halves of one cue are joined.
        let c = seg(0.0, 3.0, None, "second half of the cue");
        assert_eq!(normalise(vec![a.clone(), c]).len(), 1);
        // 30 one-word fragments over 30 s: split at 20 s.
        let many: Vec<Segment> = (0..30)
            .map(|i| seg(i as f64, i as f64 + 0.9, None, "w"))
            .collect();
        let out = normalise(many);
        assert_eq!(out.len(), 2);
        assert!(out[0].end - out[0].start <= MERGE_MAX_SPAN);
        // Punctuation joins without a space.
        let out = normalise(vec![seg(0.0, 0.5, None, "word"), seg(0.5, 0.6, None, ",")]);
        assert_eq!(out[0].text, "word,");
    }
}
