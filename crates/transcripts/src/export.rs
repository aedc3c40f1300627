//! Export of stored segments to text, SRT, WebVTT and podcast-namespace JSON.

use podsift_core::model::Segment;
use serde::Serialize;

use crate::time::{format_hms, format_srt, format_vtt};

/// Plain text: one paragraph per segment, `[hh:mm:ss] Speaker: text`, paragraphs separated
/// by a blank line (readable, and [`crate::parse_text`] reads it back).
pub fn to_text(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push('[');
        out.push_str(&format_hms(s.start));
        out.push_str("] ");
        if let Some(sp) = &s.speaker {
            out.push_str(sp);
            out.push_str(": ");
        }
        out.push_str(&crate::text::collapse_ws(&s.text));
        out.push('\n');
    }
    out
}

/// Cue text safe for SRT/VTT: no blank lines (they end a cue) and no `-->` (it starts one).
fn cue_lines(text: &str) -> String {
    crate::text::tidy_lines(&text.replace("-->", "->"))
}

/// SubRip: numbered cues, `hh:mm:ss,mmm` times, the speaker as a `Name:` prefix. Text is
/// written as is, except that what podsift's SRT reader would take for markup (`<b>`,
/// `{\an8}`, `&amp;`) is escaped so that reading the file back gives the same text.
pub fn to_srt(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (i, s) in segments.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n",
            i + 1,
            format_srt(s.start),
            format_srt(s.end.max(s.start))
        ));
        if let Some(sp) = &s.speaker {
            out.push_str(sp);
            out.push_str(": ");
        }
        out.push_str(&crate::text::escape_minimal(&cue_lines(&s.text)));
        out.push_str("\n\n");
    }
    out
}

fn escape_vtt(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// WebVTT: `hh:mm:ss.mmm` times, speakers as `<v Name>` voice spans, text escaped.
pub fn to_vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in segments {
        out.push_str(&format!(
            "{} --> {}\n",
            format_vtt(s.start),
            format_vtt(s.end.max(s.start))
        ));
        if let Some(sp) = &s.speaker {
            out.push_str("<v ");
            out.push_str(&escape_vtt(&crate::text::collapse_ws(sp)));
            out.push('>');
        }
        out.push_str(&escape_vtt(&cue_lines(&s.text)));
        out.push_str("\n\n");
    }
    out
}

#[derive(Serialize)]
struct JsonTranscript<'a> {
    version: &'static str,
    segments: Vec<JsonSegment<'a>>,
}

#[derive(Serialize)]
struct JsonSegment<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    speaker: Option<&'a str>,
    #[serde(rename = "startTime")]
    start_time: f64,
    #[serde(rename = "endTime")]
    end_time: f64,
    body: &'a str,
}

/// Podcast namespace JSON: `{"version":"1.0.0","segments":[{"speaker","startTime",
/// "endTime","body"}]}` (`speaker` omitted when unknown; non-finite times written as 0).
pub fn to_json(segments: &[Segment]) -> String {
    let fin = |t: f64| if t.is_finite() { t } else { 0.0 };
    let doc = JsonTranscript {
        version: "1.0.0",
        segments: segments
            .iter()
            .map(|s| JsonSegment {
                speaker: s.speaker.as_deref(),
                start_time: fin(s.start),
                end_time: fin(s.end),
                body: &s.text,
            })
            .collect(),
    };
    // Serialising plain strings and finite numbers cannot fail.
    serde_json::to_string(&doc)
        .unwrap_or_else(|_| String::from(r#"{"version":"1.0.0","segments":[]}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs() -> Vec<Segment> {
        vec![
            Segment {
                start: 0.0,
                end: 2.5,
                speaker: Some("Ann Lee".into()),
                text: "Hello & <welcome>\nto the show".into(),
            },
            Segment {
                start: 3723.004,
                end: 3725.0,
                speaker: Some("Bob".into()),
                text: "a --> b".into(),
            },
        ]
    }

    #[test]
    fn srt() {
        assert_eq!(
            to_srt(&segs()),
            "1\n00:00:00,000 --> 00:00:02,500\nAnn Lee: Hello & &lt;welcome>\nto the show\n\n2\n01:02:03,004 --> 01:02:05,000\nBob: a -> b\n\n"
        );
    }

    #[test]
    fn vtt() {
        assert_eq!(
            to_vtt(&segs()),
            "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\n<v Ann Lee>Hello &amp; &lt;welcome&gt;\nto the show\n\n01:02:03.004 --> 01:02:05.000\n<v Bob>a -&gt; b\n\n"
        );
    }

    #[test]
    fn json_and_text() {
        let j = to_json(&segs());
        assert!(j.starts_with(r#"{"version":"1.0.0","segments":[{"speaker":"Ann Lee","startTime":0.0,"endTime":2.5,"body":"Hello & <welcome>\nto the show"}"#));
        assert_eq!(
            to_text(&segs()),
            "[00:00:00] Ann Lee: Hello & <welcome> to the show\n\n[01:02:03] Bob: a --> b\n"
        );
    }
}
