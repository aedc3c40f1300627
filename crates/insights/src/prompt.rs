//! The map prompt (evidence first): version, system prompt, JSON schema and the user message
//! of one window. The editor's prompt is in [`crate::editor`].

use podsift_core::Chapter;
use serde_json::{Value, json};

use crate::text::truncate;

/// Part of every cache key: change it whenever a prompt or schema changes.
pub const PROMPT_VERSION: &str = "insights-v2";

/// Claims asked for per window of up to [`TOKENS_PER_CLAIM_BATCH`] tokens.
pub const MAX_CLAIMS_PER_WINDOW: usize = 4;
/// A window longer than this (a whole episode read in one call) may give more claims: four
/// per this many tokens, up to [`MAX_CLAIMS_PER_CALL`].
pub const TOKENS_PER_CLAIM_BATCH: u64 = 6000;
/// Most claims asked of one call.
pub const MAX_CLAIMS_PER_CALL: usize = 24;
/// Answer tokens reserved per claim asked for (quote, claim, labels, JSON).
pub const ANSWER_TOKENS_PER_CLAIM: u32 = 170;

/// Claims asked of a window of `tokens` transcript tokens.
pub fn claims_for(tokens: u64) -> usize {
    let batches = tokens.div_ceil(TOKENS_PER_CLAIM_BATCH).max(1) as usize;
    (batches * MAX_CLAIMS_PER_WINDOW).min(MAX_CLAIMS_PER_CALL)
}

/// What every window of an episode is told about it (identical across its windows, so a
/// local runtime keeps it in its KV cache).
#[derive(Debug, Clone, Copy, Default)]
pub struct EpisodeContext<'a> {
    /// The show's name.
    pub show: &'a str,
    /// The episode's title.
    pub title: &'a str,
    /// The episode's description, as plain text (sanitised by the caller).
    pub description: &'a str,
    /// Who speaks, from the feed's `podcast:person`, the description, chapter titles and the
    /// transcript's speaker labels.
    pub speakers: &'a [String],
    /// The episode's chapters.
    pub chapters: &'a [Chapter],
    /// The reader's interests.
    pub interests: &'a [String],
}

/// The map system prompt: evidence first, one claim per passage, labelled.
pub fn system_prompt() -> String {
    "You read part of a podcast transcript and pull out the claims in it that are worth a \
busy, well-informed listener's attention.

For each claim give, in this order:
- quote: the supporting passage copied VERBATIM from the transcript excerpt (one to three \
consecutive sentences, exactly as written there, without the [MM:SS] time or the speaker label).
- claim: one sentence stating the claim, keeping every figure, name and date exactly as said. \
Name its subject (the company, person, product, law, number); never write \"he\", \"they\", \
\"the host\", \"the guest\" or \"this episode\".
- speaker: who makes the claim (from the speaker labels or the speaker list), else null.
- kind: \"fact\" (a checkable statement of what is or what happened), \"opinion\" (a \
judgement) or \"prediction\" (about the future).
- topics: 1-3 short lowercase topic tags.

Give at most the number of claims asked for, best first, and none when nothing qualifies. \
Skip background an informed listener already knows, definitions, generic advice, \
self-promotion, sponsor reads and ads, and episode logistics (introductions, housekeeping, \
requests to subscribe or review).

Answer with JSON only, matching the schema: {\"claims\": [...]}."
        .to_owned()
}

/// The JSON schema of a window's answer (strict-mode compatible: every property required,
/// no extras). The quote comes first, so a model generating in order copies before it writes.
pub fn schema(max_claims: usize) -> Value {
    json!({
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "maxItems": max_claims,
                "items": {
                    "type": "object",
                    "properties": {
                        "quote": {"type": "string"},
                        "claim": {"type": "string"},
                        "speaker": {"type": ["string", "null"]},
                        "kind": {"type": "string", "enum": ["fact", "opinion", "prediction"]},
                        "topics": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["quote", "claim", "speaker", "kind", "topics"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["claims"],
        "additionalProperties": false
    })
}

/// The episode header every window (and the editor) gets: show, episode, description,
/// speakers, chapters and the reader's interests.
pub fn header(ctx: &EpisodeContext<'_>, with_chapters: bool) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str("Podcast: ");
    out.push_str(truncate(ctx.show.trim(), 300));
    out.push_str("\nEpisode: ");
    out.push_str(truncate(ctx.title.trim(), 300));
    out.push('\n');
    let description = ctx.description.split_whitespace().collect::<Vec<_>>();
    if !description.is_empty() {
        out.push_str("About the episode: ");
        out.push_str(truncate(&description.join(" "), 1500));
        out.push('\n');
    }
    let speakers: Vec<&str> = ctx
        .speakers
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .take(20)
        .map(|s| truncate(s, 80))
        .collect();
    if !speakers.is_empty() {
        out.push_str("Speakers: ");
        out.push_str(&speakers.join(", "));
        out.push('\n');
    }
    if with_chapters {
        let titles: Vec<&str> = ctx
            .chapters
            .iter()
            .filter_map(|c| c.title.as_deref())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .take(50)
            .map(|t| truncate(t, 120))
            .collect();
        if !titles.is_empty() {
            out.push_str("Chapters: ");
            out.push_str(&titles.join(" | "));
            out.push('\n');
        }
    }
    let interests: Vec<&str> = ctx
        .interests
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .take(30)
        .map(|s| truncate(s, 60))
        .collect();
    if !interests.is_empty() {
        out.push_str("The listener's interests: ");
        out.push_str(&interests.join(", "));
        out.push('\n');
    }
    out
}

/// Where a window is: `minutes 34–40 of 92`, or the whole episode.
pub fn position(start: f64, end: f64, duration: f64, index: usize, windows: usize) -> String {
    let m = |s: f64| (s.max(0.0) / 60.0).floor() as u64;
    let total = (duration.max(end).max(0.0) / 60.0).ceil() as u64;
    if windows <= 1 {
        format!("the whole episode ({total} minutes)")
    } else {
        format!(
            "minutes {}–{} of {total} (part {} of {windows})",
            m(start),
            (end.max(0.0) / 60.0).ceil() as u64,
            index + 1
        )
    }
}

/// The user message of one window: the episode header, the window's position and its text.
pub fn user_message(header: &str, position: &str, window_text: &str, max_claims: usize) -> String {
    let mut out = String::with_capacity(header.len() + window_text.len() + 256);
    out.push_str(header);
    out.push_str("Position: ");
    out.push_str(position);
    out.push_str("\n\nTranscript excerpt:\n");
    out.push_str(window_text);
    out.push_str("\n\nList at most ");
    out.push_str(&max_claims.to_string());
    out.push_str(" claims as JSON.");
    out
}

/// The repair request: the invalid answer goes back with the expected shape.
pub fn repair_message(original_user: &str, bad_answer: &str, problem: &str, shape: &str) -> String {
    // Only the start of the bad answer goes back: the window already fills the model's
    // context (less the answer's room and a fifth for the token estimate), so the repair may
    // add little. A long bad answer is usually one cut off at its token limit.
    let excerpt = truncate(bad_answer, REPAIR_EXCERPT_CHARS);
    let cut = if excerpt.len() < bad_answer.len() {
        " …"
    } else {
        ""
    };
    format!(
        "{original_user}\n\nYour previous answer was not valid JSON for the schema ({problem}). \
It began:\n---\n{excerpt}{cut}\n---\nAnswer again with ONLY a JSON object of the form {shape}. \
If it was cut off, give fewer items and keep every string short (a quote of at most 40 words)."
    )
}

/// Characters of a bad answer quoted back in the repair request.
pub const REPAIR_EXCERPT_CHARS: usize = 400;

/// The shape of a map answer, for the repair request.
pub const CLAIMS_SHAPE: &str = "{\"claims\": [{\"quote\": ..., \"claim\": ..., \"speaker\": ..., \
\"kind\": \"fact\"|\"opinion\"|\"prediction\", \"topics\": [...]}]}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repair_adds_little_to_a_window_that_fills_the_context() {
        let window = "word ".repeat(5000);
        let bad = format!("{{\"claims\": [{{\"quote\": \"{}", "Axel ".repeat(2000));
        let repair = repair_message(&window, &bad, "no JSON object in the answer", CLAIMS_SHAPE);
        let added = crate::cost::estimate_tokens(&repair) - crate::cost::estimate_tokens(&window);
        assert!(added < 250, "the repair adds {added} tokens");
        assert!(repair.contains("It began:\n---\n{\"claims\""), "{repair}");
        assert!(repair.contains(" …\n---"), "cut, and says so: {repair}");
        assert!(repair.contains("give fewer items"));
    }

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
        let speakers = vec!["Ann Lee".to_owned()];
        let interests = vec!["rust".to_owned()];
        let ctx = EpisodeContext {
            show: "Show",
            title: "Ep 1",
            description: "  A talk\n about <b>things</b>. ",
            speakers: &speakers,
            chapters: std::slice::from_ref(&ch),
            interests: &interests,
        };
        let h = header(&ctx, true);
        let m = user_message(
            &h,
            &position(2040.0, 2400.0, 5520.0, 4, 14),
            "[00:01] A: hi",
            4,
        );
        assert!(m.contains("Podcast: Show\nEpisode: Ep 1\n"));
        assert!(m.contains("About the episode: A talk about <b>things</b>."));
        assert!(m.contains("Speakers: Ann Lee\n"));
        assert!(m.contains("Chapters: Intro"));
        assert!(m.contains("interests: rust"));
        assert!(
            m.contains("Position: minutes 34–40 of 92 (part 5 of 14)"),
            "{m}"
        );
        assert!(m.contains("[00:01] A: hi"));
        assert!(m.ends_with("List at most 4 claims as JSON."));
        assert_eq!(
            position(0.0, 600.0, 600.0, 0, 1),
            "the whole episode (10 minutes)"
        );
        assert_eq!(schema(4)["required"][0], "claims");
        assert_eq!(claims_for(1200), 4);
        assert_eq!(claims_for(13_000), 12);
        assert_eq!(claims_for(1_000_000), MAX_CLAIMS_PER_CALL);
    }
}
