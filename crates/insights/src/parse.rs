//! Lenient parsing of the model's answers.
//!
//! Models wrap JSON in ```json fences, add a sentence before it, return numbers as strings,
//! or are cut off mid-answer when they run out of tokens. The parser takes the outermost JSON
//! object (or array) and the array under one of the expected keys (or a bare array); an answer
//! cut off mid-JSON keeps its complete items ([`Items::cut_off`]). Only an answer with no
//! usable JSON at all is an error (the caller then makes one repair attempt).

use podsift_core::ClaimKind;
use serde_json::Value;

use crate::text::truncate;

/// Longest answer parsed (bytes).
pub const MAX_ANSWER_BYTES: usize = 512 * 1024;
/// Items read from one answer (more are ignored and counted invalid).
pub const MAX_ITEMS_PER_ANSWER: usize = 32;
const MAX_TEXT_BYTES: usize = 2000;
const MAX_QUOTE_BYTES: usize = 1500;
const MAX_TOPICS: usize = 6;
const MAX_TOPIC_BYTES: usize = 48;

/// One claim as the model wrote it (validated, not yet grounded).
#[derive(Debug, Clone, PartialEq)]
pub struct RawClaim {
    /// The quote as the model wrote it.
    pub quote: String,
    /// The claim, one sentence.
    pub claim: String,
    /// The speaker the model named.
    pub speaker: Option<String>,
    /// Fact, opinion or prediction.
    pub kind: Option<ClaimKind>,
    /// Lowercased topic tags.
    pub topics: Vec<String>,
    /// The model says this is an ad (older answers).
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
    /// JSON that does not parse, and no complete item could be saved from it.
    InvalidJson(String),
    #[error("JSON without a {0:?} array")]
    /// Parses, but holds no array under the expected key.
    WrongShape(&'static str),
    #[error("none of its {0} items has the fields asked for")]
    /// Items, but not one usable (the editor cited no claim it was given, say).
    NoUsableItems(usize),
}

/// The JSON items of an answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Items {
    /// The array's items.
    pub items: Vec<Value>,
    /// The answer was cut off mid-JSON; `items` are the complete ones before the cut.
    pub cut_off: bool,
}

/// The items of the array under one of `keys` (or a bare array) in `answer`.
pub fn answer_items(answer: &str, keys: &[&'static str]) -> Result<Items, ParseError> {
    let answer = answer.trim();
    if answer.is_empty() {
        return Err(ParseError::Empty);
    }
    if answer.len() > MAX_ANSWER_BYTES {
        return Err(ParseError::TooLong(answer.len()));
    }
    let body = strip_fences(answer);
    let expected = keys.first().copied().unwrap_or("items");
    let Some(json) = outermost_json(body) else {
        return salvage(body, keys).ok_or(ParseError::NoJson);
    };
    // serde_json bounds nesting depth (128) itself.
    let value: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return salvage(body, keys)
                .ok_or_else(|| ParseError::InvalidJson(truncate(&e.to_string(), 200).to_owned()));
        }
    };
    let items = match value {
        Value::Object(mut map) => {
            let Some(key) = keys.iter().find(|k| map.contains_key(**k)) else {
                return Err(ParseError::WrongShape(expected));
            };
            match map.remove(*key) {
                Some(Value::Array(items)) => items,
                Some(Value::Null) => Vec::new(),
                _ => return Err(ParseError::WrongShape(expected)),
            }
        }
        Value::Array(items) => items,
        _ => return Err(ParseError::WrongShape(expected)),
    };
    Ok(Items {
        items,
        cut_off: false,
    })
}

/// A window's claims plus how many items were unusable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// The valid claims.
    pub claims: Vec<RawClaim>,
    /// Items without a claim or quote, or not objects.
    pub invalid_items: usize,
    /// The answer was cut off; the complete claims before the cut are kept.
    pub cut_off: bool,
}

/// Parses a window's answer: `{"claims": [...]}` (or, from older prompts and simple
/// servers, `{"insights": [{"text", "quote"}]}`).
pub fn parse_answer(answer: &str) -> Result<Parsed, ParseError> {
    let items = answer_items(answer, &["claims", "insights"])?;
    let mut parsed = Parsed {
        cut_off: items.cut_off,
        ..Parsed::default()
    };
    let n = items.items.len();
    for item in items.items.iter().take(MAX_ITEMS_PER_ANSWER) {
        match validate(item) {
            Some(c) => parsed.claims.push(c),
            None => parsed.invalid_items += 1,
        }
    }
    parsed.invalid_items += n.saturating_sub(MAX_ITEMS_PER_ANSWER);
    Ok(parsed)
}

/// Complete `{...}` objects of the array after the first of `keys` in a cut-off answer.
fn salvage(body: &str, keys: &[&'static str]) -> Option<Items> {
    let at = keys
        .iter()
        .filter_map(|k| body.find(&format!("\"{k}\"")))
        .min()?;
    let open = at + body[at..].find('[')?;
    let mut items = Vec::new();
    let bytes = body.as_bytes();
    let (mut depth, mut in_str, mut escape, mut start) = (0usize, false, false, None);
    for (i, &b) in bytes.iter().enumerate().skip(open + 1) {
        if in_str {
            match b {
                _ if escape => escape = false,
                b'\\' => escape = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' => {
                if depth == 0 {
                    start = Some(i);
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0
                    && let Some(s) = start.take()
                    && let Ok(v) = serde_json::from_str::<Value>(&body[s..=i])
                {
                    items.push(v);
                }
            }
            b']' if depth == 0 => return None, // a complete array: not a cut-off answer
            _ => {}
        }
    }
    (!items.is_empty()).then_some(Items {
        items,
        cut_off: true,
    })
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

fn validate(item: &Value) -> Option<RawClaim> {
    let obj = item.as_object()?;
    let text = |k: &str| obj.get(k).and_then(Value::as_str);
    let claim = clean(text("claim").or_else(|| text("text"))?, MAX_TEXT_BYTES);
    let quote = clean(text("quote")?, MAX_QUOTE_BYTES);
    if claim.is_empty() || quote.is_empty() {
        return None;
    }
    let speaker = text("speaker")
        .map(|s| clean(s, 100))
        .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case("null"));
    let is_ad = match obj.get("is_ad") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    Some(RawClaim {
        quote,
        claim,
        speaker,
        kind: text("kind").and_then(ClaimKind::parse),
        topics: topics(obj.get("topics")),
        is_ad,
    })
}

/// The numbers an answer's citation field gives (`["C3", "c1", 2, "[C4]"]` with prefix `C`
/// gives 3, 1, 2, 4), in order, de-duplicated; what does not read as one is skipped. Both the
/// editor (`C` claims) and the daily editor (`I` items) cite this way.
pub(crate) fn cited_numbers(v: Option<&Value>, prefix: char) -> Vec<usize> {
    let refs = match v {
        Some(Value::Array(a)) => a.as_slice(),
        Some(one @ (Value::String(_) | Value::Number(_))) => std::slice::from_ref(one),
        _ => &[],
    };
    let mut out = Vec::new();
    for r in refs {
        let n = match r {
            Value::String(s) => {
                let s = s.trim().trim_matches(['[', ']']);
                s.strip_prefix([prefix, prefix.to_ascii_lowercase()])
                    .unwrap_or(s)
                    .parse::<usize>()
                    .ok()
            }
            Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
            _ => None,
        };
        if let Some(n) = n
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

/// An item's one-line `reason`, cleaned; none when absent or empty.
pub(crate) fn reason(obj: &serde_json::Map<String, Value>) -> Option<String> {
    obj.get("reason")
        .and_then(Value::as_str)
        .map(|r| clean(r, 300))
        .filter(|r| !r.is_empty())
}

/// Lowercased, de-duplicated topic tags (at most six).
pub(crate) fn topics(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in v.and_then(Value::as_array).into_iter().flatten() {
        if let Some(t) = t.as_str() {
            let t = clean(t, MAX_TOPIC_BYTES).to_lowercase();
            if !t.is_empty() && !out.contains(&t) && out.len() < MAX_TOPICS {
                out.push(t);
            }
        }
    }
    out
}

pub(crate) fn clean(s: &str, max: usize) -> String {
    truncate(s.trim(), max).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_and_chatty() {
        let a = "Sure! Here you go:\n```json\n{\"claims\":[{\"quote\":\"Q\",\"claim\":\"C.\",\
                 \"speaker\":null,\"kind\":\"Prediction\",\"topics\":[\"AI\",\"ai\"]}]}\n```\nHope it helps.";
        let p = parse_answer(a).unwrap();
        assert_eq!(p.claims.len(), 1);
        let c = &p.claims[0];
        assert_eq!(c.topics, vec!["ai"]);
        assert_eq!(c.kind, Some(ClaimKind::Prediction));
        assert_eq!(c.speaker, None);
        // The older shape is still read.
        let old = r#"{"insights":[{"text":"T.","quote":"Q","is_ad":true}]}"#;
        let p = parse_answer(old).unwrap();
        assert_eq!(
            (p.claims[0].claim.as_str(), p.claims[0].is_ad),
            ("T.", true)
        );
    }

    #[test]
    fn drops_empty_items() {
        let a = r#"{"claims":[{"claim":"  ","quote":"q"},{"claim":"t","quote":""},
                  {"claim":"t","quote":"q","kind":"rumour"},"junk"]}"#;
        let p = parse_answer(a).unwrap();
        assert_eq!(p.claims.len(), 1);
        assert_eq!(p.invalid_items, 3);
        assert_eq!(p.claims[0].kind, None);
    }

    #[test]
    fn cut_off_answer_keeps_complete_items() {
        let a = r#"{"claims": [{"quote": "a b c", "claim": "x {y}", "speaker": null, "kind": "fact",
                  "topics": []}, {"quote": "d e f", "claim": "cut here"#;
        let p = parse_answer(a).unwrap();
        assert!(p.cut_off);
        assert_eq!(p.claims.len(), 1);
        assert_eq!(p.claims[0].claim, "x {y}");
        // Nothing complete before the cut: an error, so the caller repairs.
        assert!(parse_answer(r#"{"claims": [{"quote": "a b"#).is_err());
    }

    #[test]
    fn errors() {
        assert_eq!(parse_answer("  "), Err(ParseError::Empty));
        assert_eq!(parse_answer("no json here"), Err(ParseError::NoJson));
        assert_eq!(
            parse_answer("{\"foo\": 1}"),
            Err(ParseError::WrongShape("claims"))
        );
        assert_eq!(parse_answer("{\"claims\": null}").unwrap().claims, vec![]);
        assert_eq!(parse_answer("[]").unwrap().claims, vec![]);
    }
}
