//! An LLM judge, one flag away (`podsift-eval golden --judge-model M`): a written rubric scored
//! 1–5 per insight, and a pairwise comparison of two digests for the same day, judged in both
//! orders so that the judge's preference for a position cancels out.
//!
//! Verdicts are cached by (what was judged, rubric version, judge model) in
//! `eval/judge-cache.jsonl`, which is committed: a run without an API key replays them, and a
//! verdict that is not cached then says so instead of calling anyone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use podsift_core::{Llm, LlmRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::EvalError;

/// Part of every cache key: change it whenever the rubric or the prompts change.
pub const RUBRIC_VERSION: &str = "rubric-v1";

/// The rubric, as the judge reads it.
pub const RUBRIC: &str = "Score the insight from 1 (poor) to 5 (excellent) on each criterion:
- faithful: everything it states is supported by the passage; no figure, name or claim is added.
- specific: it names its subject and keeps concrete figures, names and dates.
- standalone: a reader who never heard the episode understands it (no \"the host\", \"this \
episode\", \"they\", no unexplained references).
- consequence: it says what follows and for whom (who gains, who loses, what changes), and not \
with an empty phrase.
- non_obvious: a regular listener of the field would not already know it.";

/// The judge's scores of one insight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub faithful: f64,
    pub specific: f64,
    pub standalone: f64,
    pub consequence: f64,
    pub non_obvious: f64,
}

impl Scores {
    /// The mean of the five criteria.
    pub fn mean(&self) -> f64 {
        (self.faithful + self.specific + self.standalone + self.consequence + self.non_obvious)
            / 5.0
    }
}

/// Two digests compared in both orders.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Pairwise {
    /// +1 when the first digest won with it shown first, −1 when it lost, 0 a tie.
    pub first_shown_first: i8,
    /// The same with the first digest shown second.
    pub first_shown_second: i8,
}

impl Pairwise {
    /// −2..2: how much the first digest is preferred over both orders.
    pub fn net(&self) -> i8 {
        self.first_shown_first + self.first_shown_second
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    key: String,
    kind: String,
    rubric: String,
    model: String,
    verdict: Value,
}

/// The committed verdicts.
#[derive(Debug, Default)]
pub struct JudgeCache {
    path: Option<PathBuf>,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
}

impl JudgeCache {
    /// The cache in this repository.
    pub fn default_path() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/judge-cache.jsonl")
    }

    /// Reads `path` (a missing file is an empty cache).
    pub fn open(path: &Path) -> Result<Self, EvalError> {
        let mut cache = Self {
            path: Some(path.to_owned()),
            ..Self::default()
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(EvalError::io(path, e)),
        };
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let e: Entry = serde_json::from_str(line).map_err(|e| {
                EvalError::Golden(format!("{} line {}: {e}", path.display(), n + 1))
            })?;
            cache.entries.insert(e.key.clone(), e);
        }
        Ok(cache)
    }

    /// Verdicts held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No verdict held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Writes the cache back when something was added (sorted by key, one verdict a line).
    pub fn save(&mut self) -> Result<(), EvalError> {
        let (Some(path), true) = (&self.path, self.dirty) else {
            return Ok(());
        };
        let mut out = String::new();
        for e in self.entries.values() {
            out.push_str(&serde_json::to_string(e).map_err(|e| EvalError::Golden(e.to_string()))?);
            out.push('\n');
        }
        std::fs::write(path, out).map_err(|source| EvalError::Write {
            path: path.clone(),
            source,
        })?;
        self.dirty = false;
        Ok(())
    }
}

fn key(kind: &str, model: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in [kind, RUBRIC_VERSION, model].iter().chain(parts) {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// A judge: a model (absent: replay only) and the cache.
pub struct Judge<'a> {
    llm: Option<&'a dyn Llm>,
    model: String,
    cache: &'a mut JudgeCache,
    /// Verdicts asked of the model (not replayed).
    pub calls: usize,
}

impl<'a> Judge<'a> {
    /// `llm` None replays the cache and fails on a verdict it does not hold.
    pub fn new(llm: Option<&'a dyn Llm>, model: &str, cache: &'a mut JudgeCache) -> Self {
        Self {
            llm,
            model: model.to_owned(),
            cache,
            calls: 0,
        }
    }

    async fn verdict(
        &mut self,
        kind: &str,
        parts: &[&str],
        req: impl FnOnce() -> LlmRequest,
    ) -> Result<Value, EvalError> {
        let k = key(kind, &self.model, parts);
        if let Some(e) = self.cache.entries.get(&k) {
            return Ok(e.verdict.clone());
        }
        let Some(llm) = self.llm else {
            return Err(EvalError::Engine(format!(
                "the {kind} verdict is not in the judge cache and no API key was given \
                 (set the key to judge it)"
            )));
        };
        let answer = llm
            .complete(&req())
            .await
            .map_err(|e| EvalError::Engine(format!("judge: {e}")))?;
        self.calls += 1;
        let verdict = json_object(&answer.text)
            .ok_or_else(|| EvalError::Engine(format!("judge answered no JSON: {}", answer.text)))?;
        self.cache.entries.insert(
            k.clone(),
            Entry {
                key: k,
                kind: kind.to_owned(),
                rubric: RUBRIC_VERSION.to_owned(),
                model: self.model.clone(),
                verdict: verdict.clone(),
            },
        );
        self.cache.dirty = true;
        Ok(verdict)
    }

    /// The rubric's scores for one insight and the passage it rests on.
    pub async fn score(&mut self, insight: &str, passage: &str) -> Result<Scores, EvalError> {
        let v = self
            .verdict("score", &[insight, passage], || LlmRequest {
                system: format!(
                    "You judge short insights written from podcast transcripts.\n{RUBRIC}\n\
                     Answer with JSON only: {{\"faithful\": n, \"specific\": n, \"standalone\": n, \
                     \"consequence\": n, \"non_obvious\": n}}."
                ),
                user: format!("Passage:\n{passage}\n\nInsight:\n{insight}"),
                json_schema: Some(score_schema()),
                max_tokens: 200,
                temperature: 0.0,
            })
            .await?;
        let get = |name: &str| {
            v.get(name)
                .and_then(Value::as_f64)
                .filter(|x| (1.0..=5.0).contains(x))
                .ok_or_else(|| EvalError::Engine(format!("judge: no 1–5 score for {name}: {v}")))
        };
        Ok(Scores {
            faithful: get("faithful")?,
            specific: get("specific")?,
            standalone: get("standalone")?,
            consequence: get("consequence")?,
            non_obvious: get("non_obvious")?,
        })
    }

    async fn prefer(&mut self, first: &str, second: &str) -> Result<i8, EvalError> {
        let v = self
            .verdict("pairwise", &[first, second], || LlmRequest {
                system: format!(
                    "You compare two daily podcast digests for the same reader and day. Judge \
                     each insight by this rubric, then the digests as wholes.\n{RUBRIC}\n\
                     Answer with JSON only: {{\"better\": \"A\"}}, {{\"better\": \"B\"}} or \
                     {{\"better\": \"tie\"}}."
                ),
                user: format!("Digest A:\n{first}\n\nDigest B:\n{second}"),
                json_schema: Some(json!({
                    "type": "object",
                    "properties": {"better": {"type": "string", "enum": ["A", "B", "tie"]}},
                    "required": ["better"],
                    "additionalProperties": false
                })),
                max_tokens: 50,
                temperature: 0.0,
            })
            .await?;
        match v.get("better").and_then(Value::as_str) {
            Some("A") => Ok(1),
            Some("B") => Ok(-1),
            Some("tie") => Ok(0),
            _ => Err(EvalError::Engine(format!("judge: no A/B/tie: {v}"))),
        }
    }

    /// Digest `a` against digest `b` (each a list of insights), judged in both orders.
    pub async fn compare(&mut self, a: &[String], b: &[String]) -> Result<Pairwise, EvalError> {
        let render = |d: &[String]| {
            d.iter()
                .enumerate()
                .map(|(i, t)| format!("{}. {t}", i + 1))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (ra, rb) = (render(a), render(b));
        let first_shown_first = self.prefer(&ra, &rb).await?;
        let first_shown_second = -self.prefer(&rb, &ra).await?;
        Ok(Pairwise {
            first_shown_first,
            first_shown_second,
        })
    }
}

fn score_schema() -> Value {
    let n = json!({"type": "integer", "minimum": 1, "maximum": 5});
    json!({
        "type": "object",
        "properties": {
            "faithful": n, "specific": n, "standalone": n, "consequence": n, "non_obvious": n
        },
        "required": ["faithful", "specific", "standalone", "consequence", "non_obvious"],
        "additionalProperties": false
    })
}

/// The first JSON object in `text` (models wrap answers in prose or code fences).
fn json_object(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    serde_json::from_str(text.get(start..=end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_everything_judged() {
        let a = key("score", "m", &["t", "p"]);
        assert_eq!(a, key("score", "m", &["t", "p"]));
        assert_ne!(a, key("score", "m2", &["t", "p"]));
        assert_ne!(a, key("score", "m", &["t", "q"]));
        assert_ne!(a, key("score", "m", &["tp", ""]));
        assert_eq!(
            json_object("Sure: ```json\n{\"better\": \"A\"}\n```"),
            Some(json!({"better": "A"}))
        );
    }
}
