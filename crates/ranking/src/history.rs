//! Memory of what was sent: the same claim again is suppressed; a new claim on a story
//! already sent is new, marked "Update:" when it brings new figures or names, and only a
//! related candidate that adds nothing is held back a little.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::claim::{self, ClaimKey};
use crate::embed::cosine;
use crate::types::{SentInsight, UpdateOf};

/// Units shown with the number before them ("10 percent", not "10").
const UNITS: [&str; 24] = [
    "percent", "million", "billion", "thousand", "times", "x", "gb", "mb", "tb", "kb", "ms",
    "seconds", "minutes", "hours", "days", "weeks", "months", "years", "users", "people",
    "dollars", "euros", "points", "bits",
];

/// Facts that carry checkable material: anything with a digit (with its unit, when one
/// follows), and capitalised words that do not start a sentence (names). Each is
/// `(key, shown)`: the lower-cased word to look up, and the text to show.
fn facts(text: &str) -> Vec<(String, String)> {
    let clean = |raw: &str| -> String {
        raw.trim_matches(|c: char| !(c.is_alphanumeric() || c == '%' || c == '$'))
            .to_string()
    };
    let raw: Vec<&str> = text.split_whitespace().collect();
    let mut out: Vec<(String, String)> = Vec::new();
    let mut sentence_start = true;
    for (k, r) in raw.iter().enumerate() {
        let word = clean(r);
        let ends = r.ends_with(['.', '!', '?', ':']);
        if !word.is_empty() {
            let has_digit = word.chars().any(|c| c.is_ascii_digit());
            let capital = word.chars().next().is_some_and(char::is_uppercase) && !sentence_start;
            if has_digit || (capital && word.chars().count() > 1) {
                let key = word.to_lowercase();
                let mut shown = word.clone();
                if has_digit
                    && !ends
                    && let Some(next) = raw.get(k + 1).map(|n| clean(n))
                    && UNITS.contains(&next.to_lowercase().as_str())
                {
                    shown = format!("{word} {next}");
                }
                if !out.iter().any(|(k2, _)| *k2 == key) {
                    out.push((key, shown));
                }
            }
        }
        sentence_start = ends;
    }
    out
}

fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '%' || c == '$' || c == '.'))
        .map(|w| w.trim_matches('.').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The facts of `new` that `old` does not mention (at most 3, in order of appearance).
pub fn new_material(new: &str, old: &str) -> Vec<String> {
    let known = words(old);
    facts(new)
        .into_iter()
        .filter(|(key, _)| !known.contains(key))
        .map(|(_, shown)| shown)
        .take(3)
        .collect()
}

/// Content-word overlap from which, without embeddings, a candidate is related to
/// something sent.
const RELATED_WORDS: f64 = 0.25;

/// A sent insight ready to compare with.
pub(crate) struct Sent<'a> {
    pub item: &'a SentInsight,
    pub vector: Option<Vec<f32>>,
    pub key: ClaimKey,
}

/// What the history says of one candidate.
pub(crate) enum Verdict<'a> {
    /// Nothing related was sent.
    New,
    /// The same claim was sent.
    Repeat {
        sent: &'a SentInsight,
        similarity: f32,
    },
    /// A related story was sent; this one adds these facts.
    Update(UpdateOf),
    /// A related story was sent and this adds nothing checkable: kept, held back a little.
    Close { sent_on: NaiveDate },
}

/// Compares one candidate with what was sent (`vector` is empty without embeddings).
pub(crate) fn check<'a>(
    text: &str,
    key: &ClaimKey,
    vector: &[f32],
    sent: &'a [Sent<'a>],
    duplicate_threshold: f32,
    update_threshold: f32,
) -> Verdict<'a> {
    // The nearest sent insight (ties: the most recent); its similarity is the cosine, or the
    // content-word overlap without embeddings.
    let nearest = sent
        .iter()
        .map(|s| {
            let sim = match &s.vector {
                Some(v) if !vector.is_empty() && v.len() == vector.len() => Some(cosine(vector, v)),
                _ => None,
            };
            (s, sim)
        })
        .max_by(|a, b| {
            let (sa, sb) = (
                a.1.unwrap_or(claim::word_overlap(key, &a.0.key) as f32),
                b.1.unwrap_or(claim::word_overlap(key, &b.0.key) as f32),
            );
            sa.total_cmp(&sb)
                .then(a.0.item.sent_on.cmp(&b.0.item.sent_on))
        });
    let Some((s, cos)) = nearest else {
        return Verdict::New;
    };
    let similarity = cos.unwrap_or(claim::word_overlap(key, &s.key) as f32);
    if claim::same_claim(key, &s.key, cos, duplicate_threshold) {
        return Verdict::Repeat {
            sent: s.item,
            similarity,
        };
    }
    let related = match cos {
        Some(c) => c >= update_threshold,
        None => f64::from(similarity) >= RELATED_WORDS,
    };
    if !related {
        return Verdict::New;
    }
    let new = new_material(text, &s.item.text);
    if new.is_empty() {
        Verdict::Close {
            sent_on: s.item.sent_on,
        }
    } else {
        Verdict::Update(UpdateOf {
            sent_on: s.item.sent_on,
            sent_text: s.item.text.clone(),
            similarity,
            new_material: new,
        })
    }
}
