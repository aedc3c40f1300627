//! Lenient parsing of the model's answer.
//!
//! Models wrap JSON in ```json fences, add a sentence before it, return numbers as strings or
//! scores above 1. The parser takes the outermost JSON object (or array), accepts
//! `{"insights": [...]}` or a bare array, clamps scores to 0–1 and drops insights with empty
//! text or quote. Only an answer with no usable JSON at all is an error (the caller then makes
//! one repair attempt).

use serde_json::Value;

use crate::text::truncate;

/// Longest answer parsed (bytes).
pub const MAX_ANSWER_BYTES: usize = 512 * 1024;
/// Insights read from one answer (more are ignored).
pub const MAX_INSIGHTS_PER_ANSWER: usize = 10;
const MAX_TEXT_BYTES: usize = 2000;
const MAX_QUOTE_BYTES: usize = 1500;
const MAX_TOPICS: usize = 6;
const MAX_TOPIC_BYTES: usize = 48;

/// One insight as the model wrote it (validated, not yet grounded).
#[derive(Debug, Clone, PartialEq)]
pub struct RawInsight {
    /// The note.
    pub text: String,
    /// The quote as the model wrote it.
    pub quote: String,
    /// The speaker the model named.
    pub speaker: Option<String>,
    /// Lowercased topic tags.
    pub topics: Vec<String>,
    /// 0–1.
    pub importance: f32,
    /// 0–1.
    pub novelty: f32,
    /// 0–1.
    pub specificity: f32,
    /// The model says this is an ad.
    pub is_ad: bool,
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("the answer is empty")]
    /// Nothing but whitespace.
    Empty,
    #[error("the answer is too long ({0} bytes)")]
    /// Over the size bound.
    TooLong(usize),
    #[error("no JSON object in the answer")]
    /// No `{` or `[` at all.
    NoJson,
    #[error("invalid JSON: {0}")]
    /// JSON that does not parse.
    InvalidJson(String),
    #[error("JSON without an \"insights\" array")]
    /// Parses, but holds no insights array.
    WrongShape,
}

/// The answer's insights plus how many were dropped as invalid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The valid insights.
    pub insights: Vec<RawInsight>,
    /// Items without text or quote, or not objects.
    pub invalid_items: usize,
}

/// Parses a model answer.
pub fn parse_answer(answer: &str) -> Result<Parsed, ParseError> {
    let answer = answer.trim();
    if answer.is_empty() {
        return Err(ParseError::Empty);
    }
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(ParseError::TooLong(answer.len()));
    }
    let json = outermost_json(strip_fences(answer)).ok_or(ParseError::NoJson)?;
    // serde_json bounds nesting depth (128) itself.
    let value: Value = serde_json::from_str(json)
        .map_err(|e| ParseError::InvalidJson(truncate(&e.to_string(), 200).to_owned()))?;
    let items = match &value {
        Value::Object(map) => match map.get("insights") {
            Some(Value::Array(items)) => items,
            Some(Value::Null) => return Ok(Parsed::default()),
            _ => return Err(ParseError::WrongShape),
        },
        Value::Array(items) => items,
        _ => return Err(ParseError::WrongShape),
    };
    let mut parsed = Parsed::default();
    for item in items.iter().take(MAX_INSIGHTS_PER_ANSWER) {
        match validate(item) {
            Some(i) => parsed.insights.push(i),
            None => parsed.invalid_items += 1,
        }
    }
    parsed.invalid_items += items.len().saturating_sub(MAX_INSIGHTS_PER_ANSWER);
    Ok(parsed)
}

fn strip_fences(s: &str) -> &str {
    let Some(start) = s.find("```") else {
        return s;
    };
    let rest = &s[start + 3..];
    // Skip the info string (`json`) up to the end of the line.
    let body = rest.find('\n').map_or(rest, |nl| &rest[nl + 1..]);
    match body.rfind("```") {
        Some(end) => &body[..end],
        None => body,
    }
}

/// From the first `{` (or `[` when no object comes first) to the last matching closer.
fn outermost_json(s: &str) -> Option<&str> {
    let obj = s.find('{');
    let arr = s.find('[');
    let (start, close) = match (obj, arr) {
        (Some(o), Some(a)) if a < o => (a, ']'),
        (Some(o), _) => (o, '}'),
        (None, Some(a)) => (a, ']'),
        (None, None) => return None,
    };
    let end = s.rfind(close)?;
    (end > start).then(|| &s[start..=end])
}

fn validate(item: &Value) -> Option<RawInsight> {
    let obj = item.as_object()?;
    let text = clean(obj.get("text")?.as_str()?, MAX_TEXT_BYTES);
    let quote = clean(obj.get("quote")?.as_str()?, MAX_QUOTE_BYTES);
    if text.is_empty() || quote.is_empty() {
        return None;
    }
    let speaker = obj
        .get("speaker")
        .and_then(Value::as_str)
        .map(|s| clean(s, 100))
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("null"));
    let topics = obj
        .get("topics")
        .and_then(Value::as_array)
        .map(|ts| {
            let mut out: Vec<String> = Vec::new();
            for t in ts.iter().filter_map(Value::as_str) {
                let t = clean(t, MAX_TOPIC_BYTES).to_lowercase();
                if !t.is_empty() && !out.contains(&t) && out.len() < MAX_TOPICS {
                    out.push(t);
                }
            }
            out
        })
        .unwrap_or_default();
    let is_ad = match obj.get("is_ad") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Some(RawInsight {
        text,
        quote,
        speaker,
        topics,
        importance: score(obj.get("importance")),
        novelty: score(obj.get("novelty")),
        specificity: score(obj.get("specificity")),
        is_ad,
    })
}

fn clean(s: &str, max: usize) -> String {
    truncate(s.trim(), max).trim().to_owned()
}

/// A 0–1 score from a number or numeric string; missing or unreadable → 0.5; scores given on
/// a 0–10 or 0–100 scale are scaled down; clamped.
fn score(v: Option<&Value>) -> f32 {
    let x = match v {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let Some(mut x) = x.filter(|x| x.is_finite()) else {
        return 0.5;
    };
    if x > 10.0 {
        x /= 100.0;
    } else if x > 1.0 {
        x /= 10.0;
    }
    x.clamp(0.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_and_chatty() {
        let a = "Sure! Here you go:\n```json\n{\"insights\":[{\"text\":\"T.\",\"quote\":\"Q\",\
                 \"speaker\":null,\"topics\":[\"AI\",\"ai\"],\"importance\":\"0.8\",\
                 \"novelty\":7,\"specificity\":1.5,\"is_ad\":false}]}\n```\nHope it helps.";
        let p = parse_answer(a).unwrap();
        assert_eq!(p.insights.len(), 1);
        let i = &p.insights[0];
        assert_eq!(i.topics, vec!["ai"]);
        assert!((i.importance - 0.8).abs() < 1e-6);
        assert!((i.novelty - 0.7).abs() < 1e-6);
        assert!((i.specificity - 0.15).abs() < 1e-6);
        assert_eq!(i.speaker, None);
    }

    #[test]
    fn drops_empty_and_clamps() {
        let a = r#"{"insights":[{"text":"  ","quote":"q"},{"text":"t","quote":""},
                  {"text":"t","quote":"q","importance":-3,"novelty":null},"junk"]}"#;
        let p = parse_answer(a).unwrap();
        assert_eq!(p.insights.len(), 1);
        assert_eq!(p.invalid_items, 3);
        assert_eq!(p.insights[0].importance, 0.0);
        assert_eq!(p.insights[0].novelty, 0.5);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_answer("  "), Err(ParseError::Empty));
        assert_eq!(parse_answer("no json here"), Err(ParseError::NoJson));
        assert!(matches!(
            parse_answer("{\"insights\": [ {\"text\": "),
            Err(ParseError::NoJson | ParseError::InvalidJson(_))
        ));
        assert_eq!(parse_answer("{\"foo\": 1}"), Err(ParseError::WrongShape));
        assert_eq!(
            parse_answer("{\"insights\": null}").unwrap().insights,
            vec![]
        );
        assert_eq!(parse_answer("[]").unwrap().insights, vec![]);
    }
}
