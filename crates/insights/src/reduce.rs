//! Reduce: the editor's pass over an episode's grounded claims, the faithful-figures check,
//! and the fallback when the editor is off or fails (the claims are shown as they are, and
//! the report says so).

use podsift_core::{Chapter, DroppedInsight, Evidence, ExtractionReport, InsightDraft};

use crate::call::{Ask, Ctx, ask};
use crate::cost::estimate_tokens;
use crate::editor::{self, ClaimNote, Edited};
use crate::extract::{Claim, ExtractError, answer_tokens, chapter_at, usable_context};
use crate::faithful::{self, Source};
use crate::merge;
use crate::windows::Windowed;

/// Answer tokens reserved per insight the editor writes.
const TOKENS_PER_INSIGHT: u32 = 260;
/// Most insights asked of the editor in one call (more would not fit a small context).
const MAX_EDITOR_INSIGHTS: usize = 10;

/// What the editor is told about the episode.
pub(crate) struct Episode<'a> {
    /// The episode header (no chapters: the claims carry their times).
    pub header: &'a str,
    pub windowed: &'a Windowed,
    /// Where names may also come from (show, title, description, speakers, chapters).
    pub metadata: Vec<&'a str>,
    pub chapters: &'a [Chapter],
}

/// The episode's insight candidates (best first) from its claims; the editor's outcome and
/// every refused insight are recorded in `report`.
pub(crate) async fn reduce(
    ctx: &Ctx<'_>,
    ep: &Episode<'_>,
    claims: &[Claim],
    report: &mut ExtractionReport,
) -> Result<Vec<merge::Candidate>, ExtractError> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let keep = ctx.cfg.insights_per_episode.clamp(1, MAX_EDITOR_INSIGHTS);
    if !ctx.cfg.editor {
        report.editor = Some("editor off: the claims are shown as they are".into());
        return Ok(as_they_are(ep, claims, report));
    }
    let notes: Vec<ClaimNote<'_>> = claims
        .iter()
        .enumerate()
        .map(|(k, c)| ClaimNote {
            id: format!("C{}", k + 1),
            claim: &c.raw.claim,
            quote: &c.grounded.quote,
            kind: c.raw.kind,
            speaker: c.grounded.speaker.as_deref().or(c.raw.speaker.as_deref()),
            start: c.grounded.start,
        })
        .collect();
    let system = editor::system_prompt();
    let max_tokens = answer_tokens(ctx.cfg, 0).max(keep as u32 * TOKENS_PER_INSIGHT + 100);
    let room = usable_context(ctx.cfg)
        .saturating_sub(estimate_tokens(&system) + estimate_tokens(ep.header) + 40)
        .saturating_sub(u64::from(max_tokens));
    let (given, fitted) = fit(&notes, claims, room);
    if given.is_empty() {
        report.editor = Some(format!(
            "the editor was skipped: not one claim fits the model's context of {} tokens next to \
             its prompt; the claims are shown as they are",
            ctx.cfg.context()
        ));
        return Ok(as_they_are(ep, claims, report));
    }
    let user = editor::user_message(ep.header, &given, keep);
    let q = Ask {
        system,
        user,
        schema: editor::schema(keep),
        max_tokens,
        shape: editor::SHAPE,
    };
    let called = ask(ctx, q, |a| editor::parse_answer(a, &given)).await;
    report.prompt_tokens += called.prompt_tokens;
    report.completion_tokens += called.completion_tokens;
    report.cost_usd += called.cost_usd;
    report.calls += called.calls;
    let read = if fitted.len() < claims.len() {
        format!(
            " (it read {} of the {} claims: the rest did not fit the model's context)",
            fitted.len(),
            claims.len()
        )
    } else {
        String::new()
    };
    let answer = match called.result {
        Ok(a) => a,
        Err(f) => {
            if let Some(e) = f.engine_error.filter(|e| e.is_retryable()) {
                // The windows' answers are cached: a retry costs only the editor's call.
                return Err(ExtractError::EngineUnavailable {
                    windows: 1,
                    last: e,
                });
            }
            report.editor = Some(format!(
                "the editor failed ({}); the claims are shown as they are",
                f.reason
            ));
            return Ok(as_they_are(ep, claims, report));
        }
    };
    let mut out = Vec::new();
    for (rank, e) in answer.insights.iter().enumerate() {
        let cited: Vec<&Claim> = e.cites.iter().map(|&k| &claims[fitted[k]]).collect();
        match check(ep, &cited, &e.text) {
            Ok(()) => out.push(edited_draft(ep, &cited, e, rank)),
            Err(reason) => report.dropped.push(DroppedInsight {
                text: e.text.clone(),
                reason,
            }),
        }
    }
    report.editor = Some(if answer.insights.is_empty() {
        format!(
            "the editor found none of the {} claims worth an insight{read}",
            claims.len()
        )
    } else {
        format!(
            "the editor wrote {} insights from {} claims{read}",
            answer.insights.len(),
            claims.len()
        )
    });
    if answer.invalid_items > 0 {
        tracing::debug!(
            invalid = answer.invalid_items,
            "editor items without text or a known claim"
        );
    }
    Ok(out)
}

/// The claims that fit `room` tokens: the first claim of every window, then the second, ...
/// (so a long episode's editor hears from all of it). Returns the notes renumbered `C1..` in
/// time order, and for each the index of its claim.
fn fit<'a>(
    notes: &[ClaimNote<'a>],
    claims: &[Claim],
    room: u64,
) -> (Vec<ClaimNote<'a>>, Vec<usize>) {
    let total: u64 = notes.iter().map(editor::note_tokens).sum();
    if total <= room {
        return (notes.to_vec(), (0..notes.len()).collect());
    }
    let mut order: Vec<(usize, usize)> = Vec::new(); // (rank within window, claim)
    let mut per_window = std::collections::HashMap::new();
    for (k, c) in claims.iter().enumerate() {
        let r = per_window.entry(c.window).or_insert(0usize);
        order.push((*r, k));
        *r += 1;
    }
    order.sort_unstable();
    let mut used = 0;
    let mut picked: Vec<usize> = Vec::new();
    for (_, k) in order {
        let t = editor::note_tokens(&notes[k]);
        if used + t <= room {
            used += t;
            picked.push(k);
        }
    }
    picked.sort_unstable();
    let given = picked
        .iter()
        .enumerate()
        .map(|(j, &k)| ClaimNote {
            id: format!("C{}", j + 1),
            ..notes[k].clone()
        })
        .collect();
    (given, picked)
}

/// Every number and multi-word name of `text` must be in the cited quotes or their windows.
fn check(ep: &Episode<'_>, cited: &[&Claim], text: &str) -> Result<(), String> {
    let mut texts: Vec<&str> = cited.iter().map(|c| c.grounded.quote.as_str()).collect();
    texts.extend(
        cited
            .iter()
            .map(|c| ep.windowed.windows[c.window].text.as_str()),
    );
    Source::new(texts, ep.metadata.iter().copied()).check(text)
}

/// How concrete a text is: its figures and names (0.4 for none, 1 from four on).
fn specificity(text: &str) -> f32 {
    let n = faithful::numbers(text).len() + faithful::names(text).len();
    (0.4 + 0.15 * n as f32).min(1.0)
}

fn draft(ep: &Episode<'_>, main: &Claim, text: String) -> InsightDraft {
    let g = &main.grounded;
    InsightDraft {
        specificity: specificity(&text),
        text,
        quote: g.quote.clone(),
        start_seconds: g.start,
        end_seconds: g.end,
        speaker: g.speaker.clone(),
        topics: main.raw.topics.clone(),
        importance: 0.5,
        novelty: 0.5,
        chapter: chapter_at(ep.chapters, g.start),
        kind: main.raw.kind,
        reason: None,
        evidence: Vec::new(),
        editor_rank: None,
        // Every draft is made after `check` (its figures and names against its quotes
        // and their windows).
        faithful_checked: true,
    }
}

/// The editor's insight: its first cited claim gives the quote and the moment, the others
/// are further evidence. Its rank becomes the importance (the editor writes best first).
fn edited_draft(ep: &Episode<'_>, cited: &[&Claim], e: &Edited, rank: usize) -> merge::Candidate {
    let main = cited[0];
    let mut d = draft(ep, main, e.text.clone());
    d.importance = (0.95 - 0.1 * rank as f32).max(0.3);
    d.editor_rank = Some(rank as u32 + 1);
    d.reason = e.reason.clone();
    if !e.topics.is_empty() {
        d.topics = e.topics.clone();
    }
    d.evidence = cited[1..]
        .iter()
        .map(|c| Evidence {
            quote: c.grounded.quote.clone(),
            start_seconds: c.grounded.start,
            end_seconds: c.grounded.end,
            speaker: c.grounded.speaker.clone(),
            episode_id: None,
        })
        .collect();
    merge::Candidate {
        draft: d,
        span: main.grounded.span.clone(),
    }
}

/// The claims as insights (editor off or failed), each checked like the editor's.
fn as_they_are(
    ep: &Episode<'_>,
    claims: &[Claim],
    report: &mut ExtractionReport,
) -> Vec<merge::Candidate> {
    let mut out = Vec::new();
    for c in claims {
        if let Err(reason) = check(ep, &[c], &c.raw.claim) {
            report.dropped.push(DroppedInsight {
                text: c.raw.claim.clone(),
                reason,
            });
            continue;
        }
        out.push(merge::Candidate {
            draft: draft(ep, c, c.raw.claim.clone()),
            span: c.grounded.span.clone(),
        });
    }
    out
}
