//! The daily editor across episodes: from the day's best insights, at most one
//! "connection" insight that ties claims from two or more episodes (or shows) together.
//!
//! [`connect`] sends the model up to [`MAX_ITEMS`] of the day's insights (at most
//! [`MAX_PER_EPISODE`] from any one episode, in the order given, so the caller's best come
//! first), numbered `[I1]`, `[I2]`, ..., each as `Show — Episode: insight` with its quote. No
//! call is made when they come from fewer than two episodes. The model answers
//! `{"connections": [{"items": ["I2", "I5"], "text": ..., "reason": ...}]}`, an empty list
//! when nothing genuinely connects (through `call::ask`: cached, one repair).
//!
//! The connection is kept only when
//! - it cites items of at least two different episodes,
//! - every cited item's quote is found again in its own episode's transcript
//!   ([`ground::TranscriptIndex::find`], similarity ≥ 0.9), which gives the real times and
//!   speaker, and
//! - every figure and multi-word name of its text is in the cited quotes or the cited shows'
//!   and episodes' titles ([`faithful::Source`]).
//!
//! Otherwise [`Connection::None`] says why. A kept connection is an [`InsightDraft`] of the
//! first cited episode: its quote and moment are the first cited item's, the other cited
//! quotes are its `evidence`, each with its `episode_id`; `topics` is `["connection"]`
//! ([`TOPIC`]), `kind` none, `reason` the model's.

use std::collections::HashMap;

use podsift_core::config::LlmConfig;
use podsift_core::{EpisodeId, Evidence, InsightDraft, Llm, LlmCache, LlmError, Segment};
use serde_json::{Value, json};

use crate::call::{Ask, Ctx, ask};
use crate::cost;
use crate::faithful::{self, Source};
use crate::ground::{Grounded, TranscriptIndex};
use crate::parse::{self, ParseError};
use crate::text::truncate;

/// Most insights sent to the daily editor.
pub const MAX_ITEMS: usize = 12;
/// Most insights of one episode among them (so two or more episodes are heard).
pub const MAX_PER_EPISODE: usize = 4;
/// The topic a connection insight carries (how the pipeline recognises one).
pub const TOPIC: &str = "connection";
/// Items one connection may cite.
const MAX_CITED: usize = 4;
/// Answer tokens for one connection.
const ANSWER_TOKENS: u32 = 600;

/// One of the day's insights as the daily editor sees it.
#[derive(Debug, Clone, Copy)]
pub struct DayInsight<'a> {
    /// The episode it is from.
    pub episode_id: EpisodeId,
    /// The show's title.
    pub show: &'a str,
    /// The episode's title.
    pub episode: &'a str,
    /// The insight.
    pub text: &'a str,
    /// Its grounded quote.
    pub quote: &'a str,
    /// The episode's transcript (the quote is found again in it).
    pub segments: &'a [Segment],
}

/// A connection the daily editor wrote and the checks accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The episode it belongs to (the first cited item's).
    pub episode_id: EpisodeId,
    /// The insight: the first cited quote, the others as evidence with their episodes.
    pub draft: InsightDraft,
    /// The episodes it ties together, the first one first.
    pub episodes: Vec<EpisodeId>,
}

/// What the daily editor did.
#[derive(Debug, Clone, PartialEq)]
pub enum Connection {
    /// A connection, kept.
    Written(Box<Written>),
    /// None written, or the one written was refused: why.
    None {
        /// Shown in logs (`the connection cites only one episode`).
        reason: String,
    },
}

impl Connection {
    fn none(reason: impl Into<String>) -> Self {
        Self::None {
            reason: reason.into(),
        }
    }
}

/// Why the daily editor could not run at all (its answer being unusable is a
/// [`Connection::None`], not an error).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DailyError {
    /// The engine failed (after the client's own retries).
    #[error("the daily editor's model call failed: {0}")]
    Engine(#[from] LlmError),
}

/// The daily editor's system prompt.
pub fn system_prompt() -> String {
    "You write the one cross-episode note of a daily podcast briefing. You get today's best \
insights from several podcast episodes, each with an id, its show and episode, and the verbatim quote it \
rests on. Find at most one connection: two or more insights from different episodes whose \
claims, read together, tell the reader something neither says alone (one confirms, \
contradicts, explains or puts a figure on another). Most days nothing genuinely connects: \
then answer with an empty list. A shared topic is not a connection.

For the connection give:
- items: the ids of the insights it ties together, from at least two different episodes.
- text: 2-3 sentences. First the claims with their subjects named and their figures, names \
and dates exact, each attributed to its show (\"On Acquired, ...; on Hard Fork, ...\"). Then \
what they imply together and for whom: who gains, who loses, what changes.
- reason: one line telling the reader why the connection is worth their time.

Every figure and name you write must come from the cited quotes or the shows' and episodes' \
titles. Never write \"the host\", \"the guest\", \"the speaker\" or \"this episode\": name them \
or leave them out. No empty phrases (\"highlights the importance of\", \"remains to be seen\", \
\"could reshape\", \"underscores\"), no hype.

Answer with JSON only, matching the schema: {\"connections\": [...]} with zero or one item."
        .to_owned()
}

/// The daily editor's answer schema.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "connections": {
                "type": "array",
                "maxItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": {"type": "string"}},
                        "text": {"type": "string"},
                        "reason": {"type": "string"}
                    },
                    "required": ["items", "text", "reason"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["connections"],
        "additionalProperties": false
    })
}

/// The shape of an answer, for the repair request.
pub const SHAPE: &str = "{\"connections\": [{\"items\": [\"I1\", \"I2\"], \"text\": ..., \"reason\": ...}]} or \
     {\"connections\": []}";

/// The user message: every item, numbered from `I1`.
pub fn user_message(items: &[&DayInsight<'_>]) -> String {
    let mut out = String::from("Today's insights:\n\n");
    for (k, d) in items.iter().enumerate() {
        out.push_str(&format!(
            "[I{}] {} — {}: {}\nQuote: \"{}\"\n\n",
            k + 1,
            truncate(d.show, 200),
            truncate(d.episode, 300),
            truncate(d.text, 1200),
            truncate(d.quote, 1200)
        ));
    }
    out.push_str("Write at most one connection as JSON, or an empty list.");
    out
}

/// The connection as the model wrote it (not yet checked).
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    /// Indices into the items sent, in the order cited.
    pub cites: Vec<usize>,
    /// The connection.
    pub text: String,
    /// Why it is worth reading.
    pub reason: Option<String>,
}

/// Parses the answer: the first usable connection, or none (an empty list).
pub fn parse_answer(answer: &str, sent: usize) -> Result<Option<Proposed>, ParseError> {
    let items = parse::answer_items(answer, &["connections", "connection"])?;
    let found = items.items.iter().find_map(|item| proposed(item, sent));
    if found.is_none() && !items.items.is_empty() {
        // Something was written, but nothing usable: worth the repair attempt.
        return Err(ParseError::NoUsableItems(items.items.len()));
    }
    Ok(found)
}

fn proposed(item: &Value, sent: usize) -> Option<Proposed> {
    let obj = item.as_object()?;
    let text = parse::clean(obj.get("text")?.as_str()?, 2000);
    if text.is_empty() {
        return None;
    }
    let cites: Vec<usize> = parse::cited_numbers(obj.get("items"), 'I')
        .into_iter()
        .filter(|n| (1..=sent).contains(n))
        .map(|n| n - 1)
        .take(MAX_CITED)
        .collect();
    if cites.is_empty() {
        return None;
    }
    let reason = parse::reason(obj);
    Some(Proposed {
        cites,
        text,
        reason,
    })
}

/// The items sent: in the order given, at most [`MAX_PER_EPISODE`] per episode and
/// [`MAX_ITEMS`] in all.
fn pick<'d, 'a>(day: &'d [DayInsight<'a>]) -> Vec<&'d DayInsight<'a>> {
    let mut per: HashMap<EpisodeId, usize> = HashMap::new();
    let mut out = Vec::new();
    for d in day {
        let n = per.entry(d.episode_id).or_insert(0);
        if *n < MAX_PER_EPISODE && out.len() < MAX_ITEMS {
            *n += 1;
            out.push(d);
        }
    }
    out
}

fn episodes_of(items: &[&DayInsight<'_>]) -> Vec<EpisodeId> {
    let mut eps: Vec<EpisodeId> = Vec::new();
    for d in items {
        if !eps.contains(&d.episode_id) {
            eps.push(d.episode_id);
        }
    }
    eps
}

/// The daily editor: at most one connection across the day's insights (best first), checked
/// as the module says. An engine failure is an error; everything else is a [`Connection`].
pub async fn connect(
    llm: &dyn Llm,
    cache: &dyn LlmCache,
    cfg: &LlmConfig,
    day: &[DayInsight<'_>],
) -> Result<Connection, DailyError> {
    let sent = pick(day);
    let episodes = episodes_of(&sent);
    if episodes.len() < 2 {
        return Ok(Connection::none(format!(
            "the day's insights come from {} episode(s); a connection needs two",
            episodes.len()
        )));
    }
    let model_id = llm.model_id();
    let price = cost::price_of(cfg, &model_id).1.price;
    let ctx = Ctx {
        llm,
        cache,
        model_id,
        cfg,
        price,
    };
    let q = Ask {
        system: system_prompt(),
        user: user_message(&sent),
        schema: schema(),
        max_tokens: ANSWER_TOKENS.max(cfg.max_output_tokens.min(2 * ANSWER_TOKENS)),
        shape: SHAPE,
    };
    let called = ask(&ctx, q, |a| parse_answer(a, sent.len())).await;
    tracing::info!(
        items = sent.len(),
        episodes = episodes.len(),
        calls = called.calls,
        cached = called.cached,
        prompt_tokens = called.prompt_tokens,
        completion_tokens = called.completion_tokens,
        cost_usd = called.cost_usd,
        "daily editor"
    );
    let proposed = match called.result {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(Connection::none("the daily editor found no connection")),
        Err(f) => {
            if let Some(e) = f.engine_error {
                return Err(DailyError::Engine(e));
            }
            return Ok(Connection::none(format!(
                "the daily editor's answer was unusable: {}",
                f.reason
            )));
        }
    };
    Ok(check(&sent, &proposed))
}

/// The checks of the module doc, and the draft when they pass.
fn check(sent: &[&DayInsight<'_>], p: &Proposed) -> Connection {
    let cited: Vec<&DayInsight<'_>> = p.cites.iter().map(|&k| sent[k]).collect();
    let episodes = episodes_of(&cited);
    if episodes.len() < 2 {
        return Connection::none(format!(
            "the connection cites only one episode ({}): it connects nothing",
            cited.iter().map(|d| d.episode).next().unwrap_or_default()
        ));
    }
    let mut indexes: HashMap<EpisodeId, TranscriptIndex<'_>> = HashMap::new();
    let mut grounded: Vec<Grounded> = Vec::with_capacity(cited.len());
    for (&k, d) in p.cites.iter().zip(&cited) {
        let idx = indexes
            .entry(d.episode_id)
            .or_insert_with(|| TranscriptIndex::new(d.segments));
        match idx.find(d.quote, None) {
            Some(g) => grounded.push(g),
            None => {
                return Connection::none(format!(
                    "the quote of I{} is not found in the transcript of \"{}\"",
                    k + 1,
                    d.episode
                ));
            }
        }
    }
    let metadata: Vec<&str> = cited.iter().flat_map(|d| [d.show, d.episode]).collect();
    let source = Source::new(grounded.iter().map(|g| g.quote.as_str()), metadata);
    if let Err(reason) = source.check(&p.text) {
        return Connection::none(format!("the connection was refused: {reason}"));
    }
    let main = &grounded[0];
    let n = faithful::numbers(&p.text).len() + faithful::names(&p.text).len();
    let draft = InsightDraft {
        text: p.text.clone(),
        quote: main.quote.clone(),
        start_seconds: main.start,
        end_seconds: main.end,
        speaker: main.speaker.clone(),
        topics: vec![TOPIC.to_owned()],
        importance: 0.8,
        novelty: 0.7,
        specificity: (0.4 + 0.15 * n as f32).min(1.0),
        chapter: None,
        kind: None,
        reason: p.reason.clone(),
        editor_rank: Some(1),
        faithful_checked: true,
        evidence: grounded[1..]
            .iter()
            .zip(&cited[1..])
            .map(|(g, d)| Evidence {
                quote: g.quote.clone(),
                start_seconds: g.start,
                end_seconds: g.end,
                speaker: g.speaker.clone(),
                episode_id: Some(d.episode_id),
            })
            .collect(),
    };
    Connection::Written(Box::new(Written {
        episode_id: cited[0].episode_id,
        draft,
        episodes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_empty_lists() {
        let a =
            r#"{"connections": [{"items": ["I2", "3", 1, "I9"], "text": "T.", "reason": "R"}]}"#;
        let p = parse_answer(a, 3).unwrap().unwrap();
        assert_eq!(p.cites, vec![1, 2, 0]);
        assert_eq!(p.reason.as_deref(), Some("R"));
        assert_eq!(parse_answer(r#"{"connections": []}"#, 3), Ok(None));
        assert_eq!(
            parse_answer(r#"{"connections": [{"items": ["I7"], "text": "x"}]}"#, 3),
            Err(ParseError::NoUsableItems(1))
        );
    }

    #[test]
    fn caps_items_per_episode() {
        let seg: [Segment; 0] = [];
        let day: Vec<DayInsight<'_>> = (0..20)
            .map(|k| DayInsight {
                episode_id: if k < 10 { 1 } else { 2 + k },
                show: "S",
                episode: "E",
                text: "t",
                quote: "q",
                segments: &seg,
            })
            .collect();
        let sent = pick(&day);
        assert_eq!(sent.len(), MAX_ITEMS);
        assert_eq!(
            sent.iter().filter(|d| d.episode_id == 1).count(),
            MAX_PER_EPISODE
        );
    }
}
