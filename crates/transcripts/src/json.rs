//! The Podcasting 2.0 JSON transcript format (and a plain subtitle-JSON variant).

use podsift_core::model::ParsedTranscript;
use serde_json::{Map, Value};

use crate::TranscriptError;
use crate::sink::Sink;
use crate::text::{decode_entities, split_speaker, strip_tags, tidy_lines};
use crate::time::{next_later_starts, parse_clock};

/// Parses a JSON transcript.
///
/// * The podcast namespace format: `{"version": "1.0.0", "segments": [{"speaker",
///   "startTime", "endTime", "body"}]}`. Times may be numbers or strings (`"12.5"`,
///   `"00:00:12.500"`); a missing `endTime` is filled from the next segment's start (or
///   the segment's own start for the last one). Segments without a readable `startTime`
///   are skipped and counted. `start`/`end`/`text` are accepted as alternative keys (in
///   seconds, as Whisper-style output writes them).
/// * A top-level array of `{"start", "end", "text"}` objects in **milliseconds** (the
///   subtitle-JSON shape other converters emit). Having no speaker field, its texts are
///   read for `Name:` prefixes as in SRT (the speaker carries over).
///
/// Podcast-JSON bodies are plain text and kept as written (apart from trimming lines);
/// subtitle-JSON texts have their caption markup stripped.
///
/// Fails only when the text is not JSON or has neither shape. Nesting depth is bounded
/// by `serde_json`'s recursion limit.
pub fn parse_json(text: &str) -> Result<ParsedTranscript, TranscriptError> {
    crate::check_size(text.as_bytes())?;
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| TranscriptError::InvalidJson(e.to_string()))?;
    let (items, scale) = match &value {
        Value::Object(obj) => match obj.get("segments") {
            Some(Value::Array(items)) => (items, 1.0),
            _ => {
                return Err(TranscriptError::NotATranscript(
                    "object without a \"segments\" array".into(),
                ));
            }
        },
        Value::Array(items) => (items, 0.001),
        _ => {
            return Err(TranscriptError::NotATranscript(
                "not an object or array".into(),
            ));
        }
    };
    let mut sink = Sink::new();
    if let Value::Object(obj) = &value {
        sink.set_language(
            obj.get("language")
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
    }
    // First pass: read what each item has.
    struct Raw {
        start: f64,
        end: Option<f64>,
        speaker: Option<String>,
        body: String,
    }
    let mut raws: Vec<Raw> = Vec::new();
    for item in items {
        if raws.len() >= crate::MAX_SEGMENTS {
            sink.skip();
            continue;
        }
        let Value::Object(obj) = item else {
            sink.skip();
            continue;
        };
        let Some(start) = time_field(obj, &["startTime", "start"]).map(|t| t * scale) else {
            sink.skip();
            continue;
        };
        let end = time_field(obj, &["endTime", "end"]).map(|t| t * scale);
        let body = match obj.get("body").or_else(|| obj.get("text")) {
            // Podcast JSON bodies are plain text; subtitle JSON carries caption markup.
            Some(Value::String(s)) if scale == 1.0 => tidy_lines(s),
            Some(Value::String(s)) => tidy_lines(&decode_entities(&strip_tags(s))),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let speaker = match obj.get("speaker") {
            Some(Value::String(s)) => Some(crate::text::collapse_ws(s)),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        raws.push(Raw {
            start,
            end,
            speaker,
            body,
        });
    }
    // Subtitle-JSON has no speaker field: read `Name:` prefixes like SRT (sticky).
    let mut current: Option<String> = None;
    if scale != 1.0 {
        for r in raws.iter_mut() {
            if r.speaker.is_none() {
                if let Some((name, rest)) = split_speaker(&r.body) {
                    current = Some(name);
                    r.body = tidy_lines(rest);
                }
                r.speaker.clone_from(&current);
            }
        }
    }
    let starts: Vec<f64> = raws.iter().map(|r| r.start).collect();
    let next = next_later_starts(&starts);
    for (r, next) in raws.into_iter().zip(next) {
        if r.body.is_empty() {
            continue;
        }
        let end = r.end.or(next).unwrap_or(r.start);
        sink.push(r.start, end, r.speaker, r.body);
    }
    Ok(sink.finish())
}

fn time_field(obj: &Map<String, Value>, keys: &[&str]) -> Option<f64> {
    let v = keys.iter().find_map(|k| obj.get(*k))?;
    let t = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok().or_else(|| parse_clock(s))?,
        _ => return None,
    };
    (t.is_finite() && t >= 0.0).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podcast_namespace_json() {
        let p = parse_json(
            r#"{"version":"1.0.0","segments":[
              {"speaker":"Darth Vader","startTime":0.5,"endTime":0.75,"body":"I"},
              {"speaker":"Darth Vader","startTime":"1","endTime":"1.25","body":"am"},
              {"startTime":"00:00:01.500","body":"your"},
              {"speaker":"Luke","startTime":2.75,"body":"Nooooo"}]}"#,
        )
        .unwrap();
        let got: Vec<_> = p
            .segments
            .iter()
            .map(|s| (s.start, s.end, s.speaker.as_deref(), s.text.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (0.5, 0.75, Some("Darth Vader"), "I"),
                (1.0, 1.25, Some("Darth Vader"), "am"),
                (1.5, 2.75, None, "your"),
                (2.75, 2.75, Some("Luke"), "Nooooo"),
            ]
        );
    }

    #[test]
    fn bad_segments_are_skipped() {
        let p = parse_json(
            r#"{"segments":[{"startTime":"x","body":"a"},7,{"startTime":-1,"body":"b"},{"startTime":1,"endTime":2,"body":"ok"}]}"#,
        )
        .unwrap();
        assert_eq!(p.skipped, 3);
        assert_eq!(p.segments.len(), 1);
    }

    #[test]
    fn subtitle_json_in_milliseconds() {
        let p = parse_json(
            r#"[{"start":1,"end":5000,"text":"Ann: Hi <i>there</i>"},{"start":5000,"end":6000,"text":"more"}]"#,
        )
        .unwrap();
        assert_eq!(p.segments[0].start, 0.001);
        assert_eq!(p.segments[0].end, 5.0);
        assert_eq!(p.segments[0].text, "Hi there");
        assert_eq!(p.segments[1].speaker.as_deref(), Some("Ann"));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse_json("{nope"),
            Err(TranscriptError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_json(r#"{"chapters":[]}"#),
            Err(TranscriptError::NotATranscript(_))
        ));
        assert!(matches!(
            parse_json("3"),
            Err(TranscriptError::NotATranscript(_))
        ));
        let deep = "[".repeat(10_000);
        assert!(matches!(
            parse_json(&deep),
            Err(TranscriptError::InvalidJson(_))
        ));
    }
}
