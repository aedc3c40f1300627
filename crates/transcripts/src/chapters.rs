//! `podcast:chapters` JSON.

use podsift_core::model::Chapter;
use serde_json::Value;

use crate::TranscriptError;
use crate::decode::decode_text;
use crate::time::{MAX_SECONDS, next_later_starts, parse_clock};

/// Parses a podcast namespace chapters file (`{"version": "1.2.0", "chapters": [{
/// "startTime", "endTime"?, "title", "img", "url", "toc"}]}`).
///
/// Chapters without a readable `startTime` (number or numeric string) are dropped; the
/// rest are sorted by start. A missing (or inconsistent) `endTime` is filled from the
/// next chapter's start; the last chapter keeps `None` then. `toc` is `true` unless it is
/// explicitly `false`. At most [`crate::MAX_CHAPTERS`] chapters are kept.
pub fn parse_chapters(bytes: &[u8]) -> Result<Vec<Chapter>, TranscriptError> {
    crate::check_size(bytes)?;
    let text = decode_text(bytes);
    let value: Value =
        serde_json::from_str(&text).map_err(|e| TranscriptError::InvalidJson(e.to_string()))?;
    let Some(Value::Array(items)) = value.get("chapters") else {
        return Err(TranscriptError::NotChapters("no \"chapters\" array".into()));
    };
    let mut chapters: Vec<Chapter> = items
        .iter()
        .take(crate::MAX_CHAPTERS)
        .filter_map(|c| {
            let start = seconds(c.get("startTime")?)?;
            let end = c.get("endTime").and_then(seconds).filter(|&e| e >= start);
            let string = |k: &str| {
                c.get(k)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            Some(Chapter {
                start_seconds: start,
                end_seconds: end,
                title: string("title"),
                url: string("url"),
                img: string("img"),
                toc: !matches!(c.get("toc"), Some(Value::Bool(false))),
            })
        })
        .collect();
    chapters.sort_by(|a, b| a.start_seconds.total_cmp(&b.start_seconds));
    let starts: Vec<f64> = chapters.iter().map(|c| c.start_seconds).collect();
    for (c, next) in chapters.iter_mut().zip(next_later_starts(&starts)) {
        if c.end_seconds.is_none() {
            c.end_seconds = next;
        }
    }
    Ok(chapters)
}

fn seconds(v: &Value) -> Option<f64> {
    let t = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok().or_else(|| parse_clock(s))?,
        _ => return None,
    };
    (t.is_finite() && (0.0..=MAX_SECONDS).contains(&t)).then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_fills_ends() {
        let c = parse_chapters(
            br#"{"version":"1.2.0","chapters":[
              {"startTime":168,"title":"Hearing Aids","img":"https://e/x.jpg"},
              {"startTime":0,"title":"Intro"},
              {"startTime":"260.5","endTime":300,"title":"Progress","toc":false,"url":"https://e"},
              {"title":"no start"},
              {"startTime":410,"title":" "}]}"#,
        )
        .unwrap();
        assert_eq!(c.len(), 4);
        assert_eq!(c[0].title.as_deref(), Some("Intro"));
        assert_eq!(c[0].end_seconds, Some(168.0));
        assert_eq!(c[1].img.as_deref(), Some("https://e/x.jpg"));
        assert_eq!(c[1].end_seconds, Some(260.5));
        assert_eq!(c[2].end_seconds, Some(300.0));
        assert!(!c[2].toc);
        assert!(c[1].toc);
        assert_eq!(c[2].url.as_deref(), Some("https://e"));
        assert_eq!(c[3].title, None);
        assert_eq!(c[3].end_seconds, None);
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse_chapters(b"{"),
            Err(TranscriptError::InvalidJson(_))
        ));
        assert!(matches!(
            parse_chapters(br#"{"segments":[]}"#),
            Err(TranscriptError::NotChapters(_))
        ));
    }
}
