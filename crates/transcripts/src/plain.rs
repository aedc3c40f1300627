//! Plain-text (and Markdown) transcripts.

use podsift_core::model::ParsedTranscript;

use crate::sink::Sink;
use crate::srt::normalise_newlines;
use crate::text::{collapse_ws, split_speaker};
use crate::time::{next_later_starts, parse_clock};

/// Parses a plain-text transcript into paragraphs.
///
/// A new paragraph starts at a blank line, or at a line that starts with a timestamp or a
/// speaker label. Recognised line starts: `[00:01:02]`, `(01:02)`, `\[01:02\]` (escaped
/// Markdown), a bare `00:01:02` (hours required unless a speaker label follows), and
/// speaker labels `Name:`, `**Name:**`, `[Name]`, in either order with the stamp
/// (`**Name:** \[12:34\] text`, `00:01:02 Name: text`). Speakers carry over to unlabelled
/// paragraphs. When some paragraph has a timestamp, unstamped paragraphs take the previous
/// start and each end is the next later start; without any stamp every segment has
/// start = end = 0. Markdown escapes (`\[`, `\*`, ...) are removed.
pub fn parse_text(text: &str) -> ParsedTranscript {
    let text = normalise_newlines(text);
    let mut paras: Vec<(Option<f64>, Option<String>, String)> = Vec::new();
    let mut cur: Option<(Option<f64>, Option<String>, String)> = None;
    let mut speaker: Option<String> = None;
    let mut sink = Sink::new();

    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            if let Some(p) = cur.take() {
                paras.push(p);
            }
            continue;
        }
        let (stamp, who, rest) = split_line_start(line);
        if stamp.is_some() || who.is_some() || cur.is_none() {
            if let Some(p) = cur.take() {
                paras.push(p);
            }
            if who.is_some() {
                speaker = who;
            }
            cur = Some((stamp, speaker.clone(), unescape(rest)));
        } else if let Some(c) = cur.as_mut()
            && c.2.len() + line.len() < crate::MAX_SEGMENT_CHARS
        {
            if !c.2.is_empty() {
                c.2.push(' ');
            }
            c.2.push_str(&unescape(line));
        }
        if paras.len() >= crate::MAX_SEGMENTS {
            break;
        }
    }
    if let Some(p) = cur.take() {
        paras.push(p);
    }
    let paras: Vec<_> = paras
        .into_iter()
        .map(|(s, w, t)| (s, w, collapse_ws(&t)))
        .filter(|p| !p.2.is_empty())
        .collect();
    let timed = paras.iter().any(|p| p.0.is_some());
    // Unstamped paragraphs take the previous start.
    let mut last_start = 0.0;
    let starts: Vec<f64> = paras
        .iter()
        .map(|p| {
            let s = if timed {
                p.0.unwrap_or(last_start)
            } else {
                0.0
            };
            last_start = s;
            s
        })
        .collect();
    let ends = next_later_starts(&starts);
    for ((start, end), (_, who, t)) in starts.iter().zip(ends).zip(paras) {
        sink.push(*start, end.unwrap_or(*start), who, t);
    }
    sink.finish()
}

/// Reads an optional timestamp and speaker label (either order) off a line start.
fn split_line_start(line: &str) -> (Option<f64>, Option<String>, &str) {
    if let Some((t, rest)) = leading_stamp(line, true) {
        if let Some((who, rest2)) = split_speaker(rest) {
            return (Some(t), Some(who), rest2);
        }
        return (Some(t), None, rest);
    }
    // A bare `mm:ss` stamp only counts when a speaker label follows.
    if let Some((t, rest)) = leading_stamp(line, false)
        && let Some((who, rest2)) = split_speaker(rest)
    {
        return (Some(t), Some(who), rest2);
    }
    if let Some((who, rest)) = split_speaker(line) {
        if let Some((t, rest2)) = leading_stamp(rest, false) {
            return (Some(t), Some(who), rest2);
        }
        return (None, Some(who), rest);
    }
    (None, None, line)
}

/// A timestamp at the start of `s`: bracketed (`[..]`, `(..)`, `\[..\]`) in any clock
/// form, or bare. Bare stamps need hours unless `strict` is false.
fn leading_stamp(s: &str, strict: bool) -> Option<(f64, &str)> {
    for (open, close) in [("\\[", "\\]"), ("[", "]"), ("(", ")")] {
        if let Some(after) = s.strip_prefix(open) {
            let end = after.find(close)?;
            let inner = &after[..end];
            if !inner.contains(':') {
                return None;
            }
            let t = parse_clock(inner)?;
            return Some((t, after[end + close.len()..].trim_start()));
        }
    }
    let token_end = s.find(char::is_whitespace).unwrap_or(s.len());
    let token = s[..token_end].trim_end_matches([':', '-', '–']);
    let colons = token.matches(':').count();
    if colons == 0 || (strict && colons < 2) {
        return None;
    }
    let t = parse_clock(token)?;
    let rest = s[token_end..].trim_start();
    let rest = rest
        .strip_prefix(['-', '–', '|'])
        .unwrap_or(rest)
        .trim_start();
    Some((t, rest))
}

/// Removes Markdown backslash escapes (`\[`, `\]`, `\*`, `\_`, `\#`).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\'
            && let Some(&n) = chars.peek()
            && n.is_ascii_punctuation()
        {
            out.push(n);
            chars.next();
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &ParsedTranscript) -> Vec<(f64, f64, Option<&str>, &str)> {
        p.segments
            .iter()
            .map(|s| (s.start, s.end, s.speaker.as_deref(), s.text.as_str()))
            .collect()
    }

    #[test]
    fn untimed_paragraphs() {
        let p = parse_text("First paragraph\ncontinues here.\n\n\nSecond one.\n");
        assert_eq!(
            segs(&p),
            vec![
                (0.0, 0.0, None, "First paragraph continues here."),
                (0.0, 0.0, None, "Second one."),
            ]
        );
    }

    #[test]
    fn changelog_markdown() {
        let p = parse_text(
            "**Daniel Whitenack:** Welcome to \\[laughs\\] the show.\n\n**Chris Benson:** \\[00:16:09\\] Yeah, definitely.\n\n**Daniel Whitenack:** Right.\n\n**Break:** \\[00:27:13\\]\n\n**Chris Benson:** \\[28:00\\] Back.\n",
        );
        assert_eq!(
            segs(&p),
            vec![
                (
                    0.0,
                    969.0,
                    Some("Daniel Whitenack"),
                    "Welcome to [laughs] the show."
                ),
                (969.0, 1680.0, Some("Chris Benson"), "Yeah, definitely."),
                (969.0, 1680.0, Some("Daniel Whitenack"), "Right."),
                (1680.0, 1680.0, Some("Chris Benson"), "Back."),
            ]
        );
    }

    #[test]
    fn line_stamps() {
        let p = parse_text(
            "[00:00:05] Intro text\n00:01:02 Anna: hello\nmore words\n01:30 Ben: hi\n10:30 is not a stamp line\n",
        );
        assert_eq!(
            segs(&p),
            vec![
                (5.0, 62.0, None, "Intro text"),
                (62.0, 90.0, Some("Anna"), "hello more words"),
                (90.0, 90.0, Some("Ben"), "hi 10:30 is not a stamp line"),
            ]
        );
    }
}
