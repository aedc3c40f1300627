//! The editor (reduce): one call reads all of an episode's grounded claims and writes its best
//! insights in the target register, each citing the claims it rests on and giving a one-line
//! reason for the reader.

use podsift_core::ClaimKind;
use serde_json::{Value, json};

use crate::parse::{self, ParseError};
use crate::text::truncate;
use crate::windows::timestamp;

/// Claims one insight may cite.
pub const MAX_CITED: usize = 3;

/// A claim as the editor sees it: grounded in the transcript, with an id.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimNote<'a> {
    /// `C1`, `C2`, ...
    pub id: String,
    /// The claim sentence.
    pub claim: &'a str,
    /// The transcript's own text of the quote.
    pub quote: &'a str,
    /// Fact, opinion or prediction.
    pub kind: Option<ClaimKind>,
    /// Who makes it.
    pub speaker: Option<&'a str>,
    /// Where the quote starts (seconds).
    pub start: f64,
}

/// The editor's system prompt.
pub fn system_prompt() -> String {
    "You are the editor of a daily podcast briefing. You get the claims found in one podcast \
episode, each with an id, its kind, who made it, when, and the verbatim quote that supports it. \
Write the episode's best insights, best first: at most the number asked for, fewer when few \
claims deserve a reader's time, none when none does.

For each insight give, in this order:
- claims: the ids of the claims it rests on: one, or two or three that belong together (every \
figure and name you write must come from those claims).
- text: 2-3 sentences. First the claim with its subject named and its figures, names and dates \
exact; attribute opinions and predictions (\"According to Jane Doe, ...\"). Then what it implies \
and for whom: who gains, who loses, what changes.
- reason: one line telling the reader why it is worth their time (what is new or what it \
changes), not a score.
- topics: 1-3 short lowercase topic tags.

Never write \"the host\", \"the guest\", \"the speaker\" or \"this episode\": name them or leave \
them out. No empty implications (\"highlights the importance of\", \"remains to be seen\", \
\"could reshape\", \"underscores\"), no hype, and no facts that are not in the claims.

Example of the register (invented): \"The studio's new deal pays the voice actors' union 8 % of \
streaming revenue instead of a flat fee. That ties actors' income to a title's success, and \
gives the union a reason to promote the shows it once boycotted.\"

Answer with JSON only, matching the schema: {\"insights\": [...]}."
        .to_owned()
}

/// The editor's answer schema.
pub fn schema(max_insights: usize) -> Value {
    json!({
        "type": "object",
        "properties": {
            "insights": {
                "type": "array",
                "maxItems": max_insights,
                "items": {
                    "type": "object",
                    "properties": {
                        "claims": {"type": "array", "items": {"type": "string"}},
                        "text": {"type": "string"},
                        "reason": {"type": "string"},
                        "topics": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["claims", "text", "reason", "topics"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["insights"],
        "additionalProperties": false
    })
}

/// The shape of an editor answer, for the repair request.
pub const SHAPE: &str = "{\"insights\": [{\"claims\": [\"C1\"], \"text\": ..., \"reason\": ..., \
\"topics\": [...]}]}";

/// Tokens one claim takes in the editor's message (for fitting the context).
pub fn note_tokens(note: &ClaimNote<'_>) -> u64 {
    crate::cost::estimate_tokens(&render_note(note))
}

fn render_note(n: &ClaimNote<'_>) -> String {
    let kind = n.kind.map_or("claim", ClaimKind::as_str);
    let who = n.speaker.map(|s| format!(" · {s}")).unwrap_or_default();
    format!(
        "[{}] {kind}{who} · at {}\nClaim: {}\nQuote: \"{}\"\n",
        n.id,
        timestamp(n.start),
        truncate(n.claim, 600),
        truncate(n.quote, 1200)
    )
}

/// The editor's user message: the episode header, then every claim.
pub fn user_message(header: &str, notes: &[ClaimNote<'_>], max_insights: usize) -> String {
    let mut out = String::with_capacity(header.len() + notes.len() * 400 + 128);
    out.push_str(header);
    out.push_str("\nClaims found in the episode:\n\n");
    for n in notes {
        out.push_str(&render_note(n));
        out.push('\n');
    }
    out.push_str("Write at most ");
    out.push_str(&max_insights.to_string());
    out.push_str(" insights as JSON.");
    out
}

/// One insight as the editor wrote it (not yet checked against its quotes).
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    /// Indices into the notes the editor was given, first the main one.
    pub cites: Vec<usize>,
    /// The insight.
    pub text: String,
    /// Why it is worth reading.
    pub reason: Option<String>,
    /// Lowercased tags.
    pub topics: Vec<String>,
}

/// The editor's insights plus what was unusable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EditorAnswer {
    /// Usable insights, best first.
    pub insights: Vec<Edited>,
    /// Items without text, or citing no claim it was given.
    pub invalid_items: usize,
}

/// Parses the editor's answer; claim ids (`"C3"`, `"3"`, `3`) are resolved against `notes`.
pub fn parse_answer(answer: &str, notes: &[ClaimNote<'_>]) -> Result<EditorAnswer, ParseError> {
    let items = parse::answer_items(answer, &["insights"])?;
    let mut out = EditorAnswer::default();
    for item in items.items.iter().take(parse::MAX_ITEMS_PER_ANSWER) {
        match edited(item, notes) {
            Some(e) => out.insights.push(e),
            None => out.invalid_items += 1,
        }
    }
    out.invalid_items += items
        .items
        .len()
        .saturating_sub(parse::MAX_ITEMS_PER_ANSWER);
    if out.insights.is_empty() && out.invalid_items > 0 {
        // Something was written, but nothing usable: worth the repair attempt.
        return Err(ParseError::NoUsableItems(out.invalid_items));
    }
    Ok(out)
}

fn edited(item: &Value, notes: &[ClaimNote<'_>]) -> Option<Edited> {
    let obj = item.as_object()?;
    let text = parse::clean(obj.get("text")?.as_str()?, 2000);
    if text.is_empty() {
        return None;
    }
    let mut cites: Vec<usize> = Vec::new();
    for n in parse::cited_numbers(obj.get("claims"), 'C') {
        let id = format!("C{n}");
        if let Some(k) = notes.iter().position(|note| note.id == id)
            && !cites.contains(&k)
            && cites.len() < MAX_CITED
        {
            cites.push(k);
        }
    }
    if cites.is_empty() {
        return None;
    }
    let reason = parse::reason(obj);
    Some(Edited {
        cites,
        text,
        reason,
        topics: parse::topics(obj.get("topics")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(id: &str) -> ClaimNote<'static> {
        ClaimNote {
            id: id.into(),
            claim: "Acme raised 5 million dollars.",
            quote: "we raised five million",
            kind: Some(ClaimKind::Fact),
            speaker: Some("Ann"),
            start: 75.0,
        }
    }

    #[test]
    fn renders_and_parses() {
        let notes = vec![note("C1"), note("C2")];
        let m = user_message("Podcast: P\n", &notes, 5);
        assert!(
            m.contains("[C2] fact · Ann · at 01:15\nClaim: Acme raised"),
            "{m}"
        );
        assert!(m.ends_with("Write at most 5 insights as JSON."));
        let a = r#"{"insights": [
            {"claims": ["C2", "c1", "C9"], "text": "T.", "reason": "R", "topics": ["X"]},
            {"claims": [1], "text": "U.", "reason": "", "topics": []},
            {"claims": ["C7"], "text": "orphan", "reason": "r", "topics": []},
            {"claims": [], "text": "none", "reason": "r", "topics": []}]}"#;
        let p = parse_answer(a, &notes).unwrap();
        let orphans = r#"{"insights": [{"claims": ["C7"], "text": "orphan"}]}"#;
        assert_eq!(
            parse_answer(orphans, &notes),
            Err(ParseError::NoUsableItems(1))
        );
        assert_eq!(
            parse_answer(r#"{"insights": []}"#, &notes)
                .unwrap()
                .insights,
            vec![]
        );
        assert_eq!(p.insights.len(), 2);
        assert_eq!(p.insights[0].cites, vec![1, 0]);
        assert_eq!(p.insights[0].reason.as_deref(), Some("R"));
        assert_eq!(p.insights[0].topics, vec!["x"]);
        assert_eq!(p.insights[1].cites, vec![0]);
        assert_eq!(p.insights[1].reason, None);
        assert_eq!(p.invalid_items, 2);
    }
}
