//! SubRip (SRT).

use podsift_core::model::ParsedTranscript;

use crate::sink::Sink;
use crate::text::{decode_entities, split_speaker, strip_tags, tidy_lines};
use crate::time::parse_clock;

/// Parses SubRip text. Lenient: indexes may be missing or wrong, `,` or `.` may separate
/// milliseconds (or be absent), cues may be separated by several blank lines, and text
/// after a stray blank line is kept with its cue. Markup (`<i>`, `<font>`, `{\an8}`) is
/// stripped. A `Name:` / `NAME:` / `[Name]` prefix on a cue's first line becomes the
/// speaker, which then carries over to following cues until another prefix appears (the
/// usual convention of podcast SRT files). A cue whose timing line cannot be read is
/// skipped and counted.
pub fn parse_srt(text: &str) -> ParsedTranscript {
    let text = normalise_newlines(text);
    let lines: Vec<&str> = text.lines().collect();
    let mut sink = Sink::new();
    let mut speaker: Option<String> = None;
    // Whether the last cue can take continuation text (no timing line seen since).
    let mut open_cue = false;
    let mut i = 0;
    while i < lines.len() && !sink.full() {
        let line = lines[i].trim();
        if !line.contains("-->") {
            if !line.is_empty() && open_cue && !is_index_before_timing(&lines, i) {
                // Text after a blank line inside a cue: keep it with the cue.
                let cont = clean_line(line);
                if !cont.is_empty() {
                    sink.append_text(&cont);
                }
            }
            i += 1;
            continue;
        }
        let timing = parse_timing(line);
        let mut j = i + 1;
        let mut body: Vec<&str> = Vec::new();
        while j < lines.len() && !lines[j].trim().is_empty() && !lines[j].contains("-->") {
            body.push(lines[j]);
            j += 1;
        }
        // Missing blank line before the next cue: its index got collected as text.
        if j < lines.len() && lines[j].contains("-->") && body.last().is_some_and(|l| is_index(l)) {
            body.pop();
        }
        i = j;
        let Some((start, end)) = timing else {
            sink.skip();
            open_cue = false;
            continue;
        };
        let cleaned: Vec<String> = body.iter().map(|l| clean_line(l)).collect();
        let mut joined = tidy_lines(&cleaned.join("\n"));
        if let Some((name, rest)) = split_speaker(&joined) {
            speaker = Some(name);
            joined = tidy_lines(rest);
        }
        if joined.is_empty() {
            open_cue = false;
            continue;
        }
        sink.push(start, end, speaker.clone(), joined);
        open_cue = true;
    }
    sink.finish()
}

pub(crate) fn normalise_newlines(text: &str) -> String {
    let t = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    t.replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\0', "\u{FFFD}")
}

fn clean_line(line: &str) -> String {
    decode_entities(&strip_tags(line)).trim().to_owned()
}

fn is_index(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit())
}

fn is_index_before_timing(lines: &[&str], i: usize) -> bool {
    is_index(lines[i]) && lines.get(i + 1).is_some_and(|l| l.contains("-->"))
}

/// `00:00:01,000 --> 00:00:04,000 [X1:.. settings]`.
fn parse_timing(line: &str) -> Option<(f64, f64)> {
    let (a, b) = line.split_once("-->")?;
    let b = b.split_whitespace().next()?;
    Some((parse_clock(a)?, parse_clock(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &ParsedTranscript) -> Vec<(f64, f64, Option<&str>, &str)> {
        p.segments
            .iter()
            .map(|s| (s.start, s.end, s.speaker.as_deref(), s.text.as_str()))
            .collect()
    }

    #[test]
    fn basic_with_sticky_speakers() {
        let p = parse_srt(
            "1\r\n00:00:00,000 --> 00:00:04,799\r\nAlban: It is so\r\nnice\r\n\r\n2\r\n00:00:04,799 --> 00:00:08,250\r\nshow.\r\n\r\n3\r\n00:00:30,480 --> 00:00:32,850\r\nKevin: You guys\r\n",
        );
        assert_eq!(
            texts(&p),
            vec![
                (0.0, 4.799, Some("Alban"), "It is so\nnice"),
                (4.799, 8.25, Some("Alban"), "show."),
                (30.48, 32.85, Some("Kevin"), "You guys"),
            ]
        );
        assert_eq!(p.skipped, 0);
    }

    #[test]
    fn missing_indexes_and_blank_lines() {
        let p = parse_srt(
            "00:00:01,000 --> 00:00:02,000\nOne\n\n\n\n00:00:03.5 --> 00:00:04\nTwo\n3\n00:00:05,000 --> 00:00:06,000\nThree",
        );
        let t: Vec<_> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(t, vec!["One", "Two", "Three"]);
        assert_eq!(p.segments[1].start, 3.5);
        assert_eq!(p.segments[1].end, 4.0);
    }

    #[test]
    fn malformed_cues_are_skipped_and_counted() {
        let p = parse_srt(
            "1\n00:00:01,000 --> nonsense\nBad\n\n2\n00:00:02,000 --> 00:00:03,000\nGood\n",
        );
        assert_eq!(p.skipped, 1);
        assert_eq!(p.segments.len(), 1);
        assert_eq!(p.segments[0].text, "Good");
    }

    #[test]
    fn markup_and_speaker_forms() {
        let p = parse_srt(
            "1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>JOHN:</i> <b>hello</b> &amp; bye\n\n2\n00:00:02,000 --> 00:00:03,000\n[Mary] hi\n\n3\n00:00:03,000 --> 00:00:04,000\nNote: not a speaker\n",
        );
        assert_eq!(
            texts(&p),
            vec![
                (1.0, 2.0, Some("JOHN"), "hello & bye"),
                (2.0, 3.0, Some("Mary"), "hi"),
                (3.0, 4.0, Some("Mary"), "Note: not a speaker"),
            ]
        );
    }

    #[test]
    fn continuation_after_stray_blank_line() {
        let p = parse_srt(
            "1\n00:00:01,000 --> 00:00:02,000\nfirst\n\nsecond\n\n2\n00:00:03,000 --> 00:00:04,000\nthird\n",
        );
        assert_eq!(p.segments[0].text, "first\nsecond");
        assert_eq!(p.segments[1].text, "third");
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_srt("").segments.is_empty());
        let p = parse_srt("1\n00:00:01,000 --> 00:00:02,000\n\n\n2\njust garbage\n");
        assert!(p.segments.is_empty());
    }
}
