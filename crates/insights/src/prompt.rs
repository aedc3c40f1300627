//! The prompt: version, system prompt, JSON schema and the user message.

use podsift_core::Chapter;
use serde_json::{Value, json};

/// Part of every cache key: change it whenever the prompt or schema changes.
pub const PROMPT_VERSION: &str = "insights-v1";

/// Insights asked for per window.
pub const MAX_INSIGHTS_PER_WINDOW: usize = 3;

/// The system prompt: the analyst's-note register, with an invented example.
pub fn system_prompt() -> String {
    format!(
        "You read an excerpt of a podcast transcript and extract the few things in it worth \
knowing. Return at most {MAX_INSIGHTS_PER_WINDOW} insights; return none if the excerpt holds \
nothing substantive (banter, greetings, housekeeping).

Each insight is 2-3 sentences in the register of an analyst's note: a concrete claim from the \
excerpt, then what it implies. It must stand alone for a reader who never heard the episode: \
name the subject (the company, person, project, number), never \"he said\", \"this\", \"the \
guest\" or \"the host\". No hype, no filler.

Example of the register (invented):
\"The studio's new deal pays the voice actors' union 8 % of streaming revenue instead of a flat \
fee. That ties actors' income to a title's success, and gives the union a reason to promote the \
shows it once boycotted.\"

For every insight give:
- text: the 2-3 sentence note.
- quote: a short passage copied VERBATIM from the transcript (one to three sentences, exactly \
as written there, without the [MM:SS] timestamp or speaker label) that supports the claim.
- speaker: who says the quote, if the transcript names them, else null.
- topics: 1-4 short lowercase topic tags.
- importance, novelty, specificity: your scores from 0 to 1 (how much it matters, how new it \
is, how concrete and checkable it is).
- is_ad: true if the passage is an advertisement or sponsor read (those are not insights).

Answer with JSON only, matching the schema: {{\"insights\": [...]}}."
    )
}

/// The JSON schema of the answer (strict-mode compatible: every property required, no extras).
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "insights": {
                "type": "array",
                "maxItems": MAX_INSIGHTS_PER_WINDOW,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "quote": {"type": "string"},
                        "speaker": {"type": ["string", "null"]},
                        "topics": {"type": "array", "items": {"type": "string"}},
                        "importance": {"type": "number"},
                        "novelty": {"type": "number"},
                        "specificity": {"type": "number"},
                        "is_ad": {"type": "boolean"}
                    },
                    "required": ["text", "quote", "speaker", "topics", "importance", "novelty", "specificity", "is_ad"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["insights"],
        "additionalProperties": false
    })
}

/// The user message: show, episode, chapter titles (when present) and the window's text.
pub fn user_message(show: &str, title: &str, chapters: &[Chapter], window_text: &str) -> String {
    let mut out = String::with_capacity(window_text.len() + 512);
    out.push_str("Podcast: ");
    out.push_str(crate::text::truncate(show.trim(), 300));
    out.push_str("\nEpisode: ");
    out.push_str(crate::text::truncate(title.trim(), 300));
    out.push('\n');
    let titles: Vec<&str> = chapters
        .iter()
        .filter_map(|c| c.title.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .take(50)
        .map(|t| crate::text::truncate(t, 120))
        .collect();
    if !titles.is_empty() {
        out.push_str("Chapters: ");
        out.push_str(&titles.join(" | "));
        out.push('\n');
    }
    out.push_str("\nTranscript excerpt:\n");
    out.push_str(window_text);
    out.push_str("\n\nExtract at most ");
    out.push_str(&MAX_INSIGHTS_PER_WINDOW.to_string());
    out.push_str(" insights as JSON.");
    out
}

/// The repair request: the invalid answer goes back with the schema.
pub fn repair_message(original_user: &str, bad_answer: &str, problem: &str) -> String {
    format!(
        "{original_user}\n\nYour previous answer was not valid JSON for the schema ({problem}):\n\
---\n{}\n---\nAnswer again with ONLY a JSON object of the form \
{{\"insights\": [{{\"text\": ..., \"quote\": ..., \"speaker\": ..., \"topics\": [...], \
\"importance\": 0-1, \"novelty\": 0-1, \"specificity\": 0-1, \"is_ad\": false}}]}}.",
        crate::text::truncate(bad_answer, 4000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_message_has_context() {
        let ch = Chapter {
            start_seconds: 0.0,
            end_seconds: None,
            title: Some("Intro".into()),
            url: None,
            img: None,
            toc: true,
        };
        let m = user_message("Show", "Ep 1", &[ch], "[00:01] A: hi");
        assert!(m.contains("Podcast: Show"));
        assert!(m.contains("Chapters: Intro"));
        assert!(m.contains("[00:01] A: hi"));
        assert!(system_prompt().contains("8 % of streaming revenue"));
        assert_eq!(schema()["required"][0], "insights");
    }
}
