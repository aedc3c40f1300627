//! The podcast namespace's HTML transcript format.
//!
//! The format is a flat run of `<cite>Speaker:</cite> <time>0:00</time> <p>text</p>`
//! groups. A small hand-written tag scanner reads it: a full HTML5 parser (html5ever)
//! would be a heavy dependency for three tags, and the scanner is bounded and cannot fail.

use podsift_core::model::ParsedTranscript;

use crate::sink::Sink;
use crate::text::{collapse_ws, decode_entities};
use crate::time::{next_later_starts, parse_clock};

type Para = (Option<f64>, Option<String>, String);

/// Scanner state: which of the three elements is open, their text so far, and the
/// paragraphs read.
#[derive(Default)]
struct State {
    in_cite: bool,
    in_time: bool,
    /// The open `<time>` had a usable `datetime` attribute: ignore its text.
    time_from_attr: bool,
    in_para: bool,
    cite: String,
    time: String,
    para: String,
    visible: String,
    speaker: Option<String>,
    start: Option<f64>,
    paras: Vec<Para>,
    skipped: usize,
}

impl State {
    fn text(&mut self, s: &str) {
        let buf = if self.in_cite {
            &mut self.cite
        } else if self.in_time {
            &mut self.time
        } else if self.in_para {
            &mut self.para
        } else {
            if self.visible.len() + s.len() <= crate::MAX_INPUT_BYTES {
                self.visible.push_str(s);
            }
            return;
        };
        if buf.len() + s.len() <= crate::MAX_SEGMENT_CHARS * 4 {
            buf.push_str(s);
        }
    }

    fn flush_para(&mut self) {
        let t = tidy(&decode_entities(&self.para));
        self.para.clear();
        if !t.is_empty() && self.paras.len() < crate::MAX_SEGMENTS {
            self.paras.push((self.start, self.speaker.clone(), t));
        }
    }

    fn close_cite(&mut self) {
        if self.in_cite {
            let name = collapse_ws(&decode_entities(&self.cite));
            let name = name.trim_end_matches(':').trim().to_owned();
            self.speaker = (!name.is_empty()).then_some(name);
            self.cite.clear();
            self.in_cite = false;
        }
    }

    fn close_time(&mut self) {
        if self.in_time {
            if !self.time_from_attr {
                match parse_clock(&decode_entities(&self.time)) {
                    Some(t) => self.start = Some(t),
                    None => self.skipped += 1,
                }
            }
            self.time.clear();
            self.in_time = false;
        }
    }

    fn tag(&mut self, name: &str, closing: bool, tag: &str) {
        match (name, closing) {
            ("p", false) => {
                self.flush_para();
                self.in_para = true;
            }
            ("p", true) => {
                self.flush_para();
                self.in_para = false;
            }
            ("cite", false) => {
                // A new speaker ends the text before it (`<p><cite>` layouts too).
                self.flush_para();
                self.close_time();
                self.in_cite = true;
            }
            ("cite", true) => self.close_cite(),
            ("time", false) => {
                self.flush_para();
                self.close_cite();
                self.in_time = true;
                self.time_from_attr = false;
                if let Some(t) = attr(tag, "datetime").and_then(|d| parse_clock(&d)) {
                    self.start = Some(t);
                    self.time_from_attr = true;
                }
            }
            ("time", true) => self.close_time(),
            ("br", _) => self.text("\n"),
            ("div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "section", _)
                if !(self.in_para || self.in_cite || self.in_time) =>
            {
                self.text("\n\n");
            }
            _ => {}
        }
    }
}

/// The visible text of a piece of hostile HTML (a publisher's show notes), whitespace
/// collapsed, cut at `max_chars`: what reaches a model or a matcher, never rendered. Scripts,
/// styles and tags are dropped; entities decoded.
pub fn html_to_plain(html: &str, max_chars: usize) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    let parsed = parse_html(html);
    let words: Vec<&str> = parsed
        .segments
        .iter()
        .flat_map(|s| s.text.split_whitespace())
        .collect();
    let mut out = words.join(" ");
    if let Some((cut, _)) = out.char_indices().nth(max_chars) {
        out.truncate(cut);
    }
    out
}

/// Parses an HTML transcript: each `<p>` becomes a segment, with the speaker of the last
/// `<cite>` (trailing `:` removed) and the start of the last `<time>` (`m:ss`, `h:mm:ss`,
/// `hh:mm:ss.mmm`, or a `datetime` attribute); the end is the next later start. Without
/// any `<time>` all times are 0. Both the spec's flat layout and `<cite>`/`<time>` inside
/// the `<p>` are read. `<br>` inside a paragraph becomes a line break; `<script>`,
/// `<style>`, `<head>` and comments are ignored. A page without any `<p>` falls back to
/// the plain-text parser on its visible text.
pub fn parse_html(text: &str) -> ParsedTranscript {
    let mut st = State::default();
    let mut rest = text;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            st.text(rest);
            break;
        };
        st.text(&rest[..lt]);
        let tail = &rest[lt..];
        if let Some(after) = tail.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |e| &after[e + 3..]);
            continue;
        }
        let Some(gt) = tail.find('>') else {
            st.text(tail);
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
            st.text(&tail[..gt + 1]);
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
            _ => st.tag(&name, closing, tag),
        }
    }
    st.close_cite();
    st.close_time();
    st.flush_para();

    if st.paras.is_empty() {
        let mut p = crate::plain::parse_text(&decode_entities(&st.visible));
        p.skipped += st.skipped;
        return p;
    }
    let mut sink = Sink::new();
    for _ in 0..st.skipped {
        sink.skip();
    }
    // A paragraph before any `<time>` starts at 0 (and 0 is never a later start).
    let starts: Vec<f64> = st.paras.iter().map(|p| p.0.unwrap_or(0.0)).collect();
    let ends = next_later_starts(&starts);
    for ((start, end), (_, who, t)) in starts.iter().zip(ends).zip(st.paras) {
        sink.push(*start, end.unwrap_or(*start), who, t);
    }
    sink.finish()
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
    fn cite_and_time_inside_paragraphs() {
        let p = parse_html(
            "<p><cite>Ann:</cite> <time>0:05</time> Hello there.</p>\n<p><cite>Bob</cite><time>1:00</time>Hi<br/>Ann.</p><p>More from Bob.</p>",
        );
        let got: Vec<_> = p
            .segments
            .iter()
            .map(|s| (s.start, s.end, s.speaker.as_deref(), s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (5.0, 60.0, Some("Ann"), "Hello there."),
                (60.0, 60.0, Some("Bob"), "Hi\nAnn."),
                (60.0, 60.0, Some("Bob"), "More from Bob."),
            ]
        );
    }

    #[test]
    fn no_paragraphs_falls_back_to_text() {
        let p = parse_html("<div>Hello there.</div><div>Second block.</div>");
        let t: Vec<_> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(t, vec!["Hello there.", "Second block."]);
    }
}
