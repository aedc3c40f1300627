//! The podcast namespace's HTML transcript format.
//!
//! The format is a flat run of `<cite>Speaker:</cite> <time>0:00</time> <p>text</p>`
//! groups. A small hand-written tag scanner reads it: a full HTML5 parser (html5ever)
//! would be a heavy dependency for three tags, and the scanner is bounded and cannot fail.

use podsift_core::model::ParsedTranscript;

use crate::sink::Sink;
use crate::text::{collapse_ws, decode_entities};
use crate::time::{next_later_starts, parse_clock};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    Cite,
    Time,
    Para,
}

/// Parses an HTML transcript: each `<p>` becomes a segment, with the speaker of the last
/// `<cite>` (trailing `:` removed) and the start of the last `<time>` (`m:ss`, `h:mm:ss`,
/// `hh:mm:ss.mmm`, or a `datetime` attribute); the end is the next later start. Without
/// any `<time>` all times are 0. `<br>` inside a paragraph becomes a line break; `<script>`,
/// `<style>`, `<head>` and comments are ignored. A page without any `<p>` falls back to
/// the plain-text parser on its visible text.
pub fn parse_html(text: &str) -> ParsedTranscript {
    let mut field = Field::None;
    let mut buf = String::new();
    let mut speaker: Option<String> = None;
    let mut start: Option<f64> = None;
    let mut paras: Vec<(Option<f64>, Option<String>, String)> = Vec::new();
    let mut visible = String::new();
    let mut rest = text;
    let mut skipped = 0usize;

    let flush = |field: Field,
                 buf: &mut String,
                 speaker: &mut Option<String>,
                 start: &mut Option<f64>,
                 paras: &mut Vec<(Option<f64>, Option<String>, String)>,
                 skipped: &mut usize| {
        let content = decode_entities(buf);
        buf.clear();
        match field {
            Field::Cite => {
                let name = collapse_ws(&content);
                let name = name.trim_end_matches(':').trim().to_owned();
                *speaker = (!name.is_empty()).then_some(name);
            }
            Field::Time => match parse_clock(&content) {
                Some(t) => *start = Some(t),
                None => *skipped += 1,
            },
            Field::Para => {
                let t = tidy(&content);
                if !t.is_empty() && paras.len() < crate::MAX_SEGMENTS {
                    paras.push((*start, speaker.clone(), t));
                }
            }
            Field::None => {}
        }
    };

    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            push_text(field, &mut buf, &mut visible, rest);
            break;
        };
        push_text(field, &mut buf, &mut visible, &rest[..lt]);
        let tail = &rest[lt..];
        if let Some(after) = tail.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let Some(gt) = tail.find('>') else {
            push_text(field, &mut buf, &mut visible, tail);
            break;
        };
        let tag = &tail[1..gt];
        rest = &tail[gt + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            // `a < b` in text: not a tag.
            push_text(field, &mut buf, &mut visible, &tail[..gt + 1]);
            continue;
        }
        match name.as_str() {
            "script" | "style" | "head" | "title" if !closing => {
                let close = format!("</{name}");
                rest = match find_ci(rest, &close) {
                    Some(p) => rest[p..].find('>').map_or("", |e| &rest[p + e + 1..]),
                    None => "",
                };
            }
            "cite" | "time" | "p" => {
                let this = match name.as_str() {
                    "cite" => Field::Cite,
                    "time" => Field::Time,
                    _ => Field::Para,
                };
                if field != Field::None {
                    flush(
                        field,
                        &mut buf,
                        &mut speaker,
                        &mut start,
                        &mut paras,
                        &mut skipped,
                    );
                    field = Field::None;
                }
                if !closing {
                    field = this;
                    if this == Field::Time
                        && let Some(t) = attr(tag, "datetime").and_then(|d| parse_clock(&d))
                    {
                        start = Some(t);
                        field = Field::None;
                    }
                }
            }
            "br" => push_text(field, &mut buf, &mut visible, "\n"),
            "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "section" => {
                push_text(Field::None, &mut buf, &mut visible, "\n\n");
            }
            _ => {}
        }
    }
    if field != Field::None {
        flush(
            field,
            &mut buf,
            &mut speaker,
            &mut start,
            &mut paras,
            &mut skipped,
        );
    }

    if paras.is_empty() {
        let mut p = crate::plain::parse_text(&decode_entities(&visible));
        p.skipped += skipped;
        return p;
    }
    let mut sink = Sink::new();
    for _ in 0..skipped {
        sink.skip();
    }
    // A paragraph before any `<time>` starts at 0 (and 0 is never a later start).
    let starts: Vec<f64> = paras.iter().map(|p| p.0.unwrap_or(0.0)).collect();
    let ends = next_later_starts(&starts);
    for ((start, end), (_, who, t)) in starts.iter().zip(ends).zip(paras) {
        sink.push(*start, end.unwrap_or(*start), who, t);
    }
    sink.finish()
}

fn push_text(field: Field, buf: &mut String, visible: &mut String, s: &str) {
    if field != Field::None {
        if buf.len() + s.len() <= crate::MAX_SEGMENT_CHARS * 4 {
            buf.push_str(s);
        }
    } else if visible.len() + s.len() <= crate::MAX_INPUT_BYTES {
        visible.push_str(s);
    }
}

/// Collapses whitespace within lines, keeping `<br>` line breaks.
fn tidy(s: &str) -> String {
    s.split('\n')
        .map(collapse_ws)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Case-insensitive (ASCII) substring search.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    hay.as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// The value of attribute `name` in a tag's inside (`time datetime="0:53"`).
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let p = lower.find(&format!("{name}="))?;
    let v = &tag[p + name.len() + 1..];
    let v = v.trim_start();
    let value = if let Some(q) = v.strip_prefix(['"', '\'']) {
        let quote = v.as_bytes()[0] as char;
        &q[..q.find(quote)?]
    } else {
        v.split_whitespace().next()?
    };
    Some(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_shape() {
        let p = parse_html(
            "<html><head><title>T</title><style>p{}</style></head><body>\n<cite>Travis:</cite>\n<time>0:00</time>\n<p>When you first get started, it&#39;s<br>hard.</p>\n<!-- <p>hidden</p> -->\n<cite>Sarah:</cite><time>0:53</time><p>Creating   good audio</p><p>More &amp; more</p><cite>Kevin:</cite><time>1:02:03</time><p>Last</p></body></html>",
        );
        let got: Vec<_> = p
            .segments
            .iter()
            .map(|s| (s.start, s.end, s.speaker.as_deref(), s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    0.0,
                    53.0,
                    Some("Travis"),
                    "When you first get started, it's\nhard."
                ),
                (53.0, 3723.0, Some("Sarah"), "Creating good audio"),
                (53.0, 3723.0, Some("Sarah"), "More & more"),
                (3723.0, 3723.0, Some("Kevin"), "Last"),
            ]
        );
    }

    #[test]
    fn datetime_attribute_and_bad_time() {
        let p = parse_html(
            "<cite>A</cite><time datetime=\"00:01:00\">one minute</time><p>x</p><time>soon</time><p>y</p>",
        );
        assert_eq!(p.segments[0].start, 60.0);
        assert_eq!(p.segments[0].speaker.as_deref(), Some("A"));
        assert_eq!(p.segments[1].start, 60.0);
        assert_eq!(p.skipped, 1);
    }

    #[test]
    fn no_paragraphs_falls_back_to_text() {
        let p = parse_html("<div>Hello there.</div><div>Second block.</div>");
        let t: Vec<_> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(t, vec!["Hello there.", "Second block."]);
    }
}
