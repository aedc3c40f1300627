//! The per-episode pipeline: sponsor reads out → windows sized to the engine → (a cap's
//! selection, only when one is set) → map: each window's grounded claims → reduce: the
//! editor's insights → faithful figures → merge.

use futures::StreamExt;
use podsift_core::config::LlmConfig;
use podsift_core::{
    Chapter, DroppedInsight, ExtractionReport, InsightDraft, Llm, LlmCache, LlmError, Segment,
};

use crate::call::{Ask, Called, Ctx, ask};
use crate::cost::{self, estimate_tokens};
use crate::ground::{Grounded, TranscriptIndex};
use crate::parse::{RawClaim, parse_answer};
use crate::prompt::{self, EpisodeContext};
use crate::windows::build_windows;
use crate::{ads, reduce, select};

/// Skip reason of a window left out by a cap.
pub const SKIP_BUDGET: &str = "left out by the cap";
/// Share of the context kept free for the error of the token estimate (4 characters a token).
const ESTIMATE_SLACK: f64 = 0.2;

/// Whether the engine refused a call because the prompt and answer overflow its context
/// (llama.cpp's server, OpenAI's "maximum context length", Anthropic's "prompt is too long").
fn context_overflow(e: &LlmError) -> bool {
    let LlmError::Permanent(m) = e else {
        return false;
    };
    let m = m.to_ascii_lowercase();
    m.contains("context") || m.contains("too long")
}

/// One episode to extract from.
#[derive(Debug, Clone, Copy, Default)]
pub struct EpisodeInput<'a> {
    /// The show's name.
    pub show: &'a str,
    /// The episode's title.
    pub title: &'a str,
    /// The episode's description as plain text (sanitised by the caller).
    pub description: &'a str,
    /// Who speaks, from the feed's `podcast:person` (the transcript's labels are added).
    pub speakers: &'a [String],
    /// The transcript.
    pub segments: &'a [Segment],
    /// The episode's chapters (may be empty).
    pub chapters: &'a [Chapter],
    /// The reader's interests.
    pub interests: &'a [String],
    /// A cap from outside (what is left of a daily cap): prompt tokens, and the cap's name.
    pub cap: Option<(u64, &'a str)>,
}

/// Extraction failed for the whole episode.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    /// Every window sent failed in the engine, at least one with a retryable error (5xx,
    /// timeout, 429, unreachable), or the editor could not be reached: retry the episode
    /// later (the windows' answers are cached).
    #[error("the model failed for all {windows} calls sent; last error: {last}")]
    EngineUnavailable {
        /// Calls sent.
        windows: usize,
        /// The last error.
        last: LlmError,
    },
    /// A cap left not one window's worth of tokens: nothing was read, the episode waits (for
    /// tomorrow, when the cap is a daily one).
    #[error("{cap} leaves too little to read any of the episode's {windows} windows")]
    CapSpent {
        /// The cap's name.
        cap: String,
        /// The episode's windows.
        windows: usize,
    },
    /// Every window sent was refused (bad key, unknown model): fix the configuration. Not
    /// retryable, but not "done with no insights" either.
    #[error("the model refused all {windows} windows sent; last error: {last}")]
    EngineRefused {
        /// Windows sent.
        windows: usize,
        /// The last error.
        last: LlmError,
    },
}

impl ExtractError {
    /// `true` when retrying the episode later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::EngineUnavailable { .. } | Self::CapSpent { .. })
    }
}

/// Prompt tokens (estimate) a send-the-whole-transcript baseline would need: the system
/// prompt plus one user message holding the entire rendered transcript.
pub fn baseline_tokens(input: &EpisodeInput<'_>) -> u64 {
    let all = build_windows(input.segments, usize::MAX / 8, 0);
    let text: Vec<&str> = all.windows.iter().map(|w| w.text.as_str()).collect();
    let header = prompt::header(&context(input, &[]), true);
    estimate_tokens(&prompt::system_prompt())
        + estimate_tokens(&prompt::user_message(&header, "", &text.join("\n"), 4))
}

fn context<'a>(input: &EpisodeInput<'a>, speakers: &'a [String]) -> EpisodeContext<'a> {
    EpisodeContext {
        show: input.show,
        title: input.title,
        description: input.description,
        speakers,
        chapters: input.chapters,
        interests: input.interests,
    }
}

/// Speakers from the metadata, then the transcript's own labels (at most 20).
fn speakers(input: &EpisodeInput<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let labels = input.segments.iter().filter_map(|s| s.speaker.as_deref());
    for s in input.speakers.iter().map(String::as_str).chain(labels) {
        let s = s.trim();
        if !s.is_empty() && out.len() < 20 && !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
            out.push(s.to_owned());
        }
    }
    out
}

/// Answer tokens to reserve for `claims` claims (at least `max_output_tokens`).
pub(crate) fn answer_tokens(cfg: &LlmConfig, claims: usize) -> u32 {
    cfg.max_output_tokens
        .max(claims as u32 * prompt::ANSWER_TOKENS_PER_CLAIM + 100)
}

/// Claims asked of a window of `tokens`: four per window, fewer when `max_output_tokens`
/// cannot hold four (a small local model's setting is honoured), more for a window much
/// longer than usual (a whole episode in one call).
pub(crate) fn claims_asked(cfg: &LlmConfig, tokens: u64) -> usize {
    if tokens > prompt::TOKENS_PER_CLAIM_BATCH {
        return prompt::claims_for(tokens);
    }
    let fit = cfg.max_output_tokens.saturating_sub(100) / prompt::ANSWER_TOKENS_PER_CLAIM;
    (fit as usize).clamp(1, prompt::MAX_CLAIMS_PER_WINDOW)
}

/// The context tokens usable for the prompt and answer (the estimate's slack taken off).
pub(crate) fn usable_context(cfg: &LlmConfig) -> u64 {
    (f64::from(cfg.context()) * (1.0 - ESTIMATE_SLACK)) as u64
}

/// Transcript tokens per window: what fills the context after the prompt and the answer (or
/// `window_tokens` when set, never more than fits). `None` when the whole transcript of
/// `transcript` tokens fits in one call.
fn window_size(cfg: &LlmConfig, overhead: u64, transcript: u64, scale: f64) -> Option<usize> {
    let usable = usable_context(cfg).saturating_sub(overhead);
    let fits = |w: u64| w + u64::from(answer_tokens(cfg, claims_asked(cfg, w))) <= usable;
    let mut fill = usable.saturating_sub(u64::from(answer_tokens(cfg, claims_asked(cfg, 1))));
    while fill > 200 && !fits(fill) {
        fill -= fill / 10;
    }
    let fill = fill.max(200);
    let scaled = |w: u64| ((w as f64 * scale) as usize).max(50);
    match cfg.window_tokens {
        Some(w) => Some(scaled((w as u64).min(fill))),
        None if scale >= 1.0 && fits(transcript) => None,
        None => Some(scaled(fill.min(transcript.max(200)))),
    }
}

/// A claim grounded in the transcript, from one window.
pub(crate) struct Claim {
    pub raw: RawClaim,
    pub grounded: Grounded,
    pub window: usize,
}

/// Extracts the insights of one episode. Partial failures are recorded per window in the
/// report; `Err` only when the engine failed for every window sent, or could not be reached
/// for the editor (see [`ExtractError`]).
pub async fn extract_episode(
    llm: &dyn Llm,
    cache: &dyn LlmCache,
    input: &EpisodeInput<'_>,
    cfg: &LlmConfig,
) -> Result<(Vec<InsightDraft>, ExtractionReport), ExtractError> {
    let speakers = speakers(input);
    let ectx = context(input, &speakers);
    let header = prompt::header(&ectx, true);
    let system = prompt::system_prompt();

    // Sponsor reads are never sent; the rest is windowed to fill the engine's context.
    let ad_segs = ads::ad_segments(input.segments);
    let (content, orig): (Vec<Segment>, Vec<usize>) = input
        .segments
        .iter()
        .enumerate()
        .filter(|(i, _)| !ad_segs[*i])
        .map(|(i, s)| (s.clone(), i))
        .unzip();
    let all = build_windows(input.segments, usize::MAX / 8, 0);
    let overhead = estimate_tokens(&system)
        + estimate_tokens(&prompt::user_message(
            &header,
            &prompt::position(0.0, 1.0, 1.0, 0, 2),
            "",
            24,
        ));
    // The content as one window: what a call reading it whole sends.
    let whole = build_windows(&content, usize::MAX / 8, 0);
    let content_tokens: u64 = whole.windows.iter().map(|w| w.tokens).sum();
    let duration = input
        .segments
        .iter()
        .map(|s| s.end)
        .filter(|e| e.is_finite())
        .fold(0.0f64, f64::max);
    let model_id = llm.model_id();
    let (model_name, price) = cost::price_of(cfg, &model_id);
    if !price.known && cfg.engine.is_remote_api() {
        tracing::warn!(model = %model_name, "no price for this model in llm.prices; its cost is counted as 0");
    }
    let ctx = Ctx {
        llm,
        cache,
        model_id,
        cfg,
        price: price.price,
    };

    let ctx = &ctx;
    // Every window, unless a cap is set.
    let cap = match (cfg.episode_token_budget, input.cap) {
        (Some(a), Some((b, name))) if b < a => Some((b, name.to_owned())),
        (Some(a), _) => Some((a, format!("episode_token_budget = {a}"))),
        (None, Some((b, name))) => Some((b, name.to_owned())),
        (None, None) => None,
    };
    let words_total = all.total_words;
    let mut scale = 1.0f64;
    let (windowed, chosen, outcomes, mut report) = loop {
        let windowed = match window_size(cfg, overhead, content_tokens, scale) {
            None => whole.clone(),
            Some(w) => build_windows(&content, w, cfg.window_overlap_tokens),
        };
        let mut report = ExtractionReport {
            windows_total: windowed.windows.len(),
            transcript_tokens: all.pieces.iter().map(|p| p.tokens as u64).sum(),
            words_total,
            words_ad: words_total.saturating_sub(windowed.total_words),
            ad_windows: sponsor_reads(&ad_segs),
            ..ExtractionReport::default()
        };

        let chosen: Vec<usize> = match &cap {
            None => (0..windowed.windows.len()).collect(),
            Some((budget, name)) => {
                report.cap = Some(name.clone());
                let query = select::Query::new(input.title, input.description, input.interests);
                let mut starts: Vec<f64> = input.chapters.iter().map(|c| c.start_seconds).collect();
                starts.sort_by(f64::total_cmp);
                let cands: Vec<select::Candidate> = windowed
                    .windows
                    .iter()
                    .map(|w| {
                        let raw: Vec<&str> = windowed.pieces[w.pieces.clone()]
                            .iter()
                            .map(|p| p.text.as_str())
                            .collect();
                        select::Candidate {
                            index: w.index,
                            cost: w.tokens + overhead,
                            bucket: select::bucket(w.start, duration, &starts),
                            relevance: query.relevance(&raw.join(" ")),
                        }
                    })
                    .collect();
                let (chosen, over) = select::select(&cands, *budget);
                if chosen.is_empty() && !over.is_empty() && input.cap.is_some() {
                    return Err(ExtractError::CapSpent {
                        cap: name.clone(),
                        windows: over.len(),
                    });
                }
                report.windows_skipped.extend(
                    over.into_iter()
                        .map(|i| (i, format!("{SKIP_BUDGET} ({name})"))),
                );
                chosen
            }
        };

        // Map: each window's claims, a few windows at a time (the engine's limiter decides).
        let n_windows = windowed.windows.len();
        let (header, system, windowed_ref) = (&header, &system, &windowed);
        // Boxed before `.buffered`: without it the future of a caller is not provably `Send`
        // (rust-lang/rust#104382), and the drivers would have to run it on a blocking thread.
        let calls: futures::stream::BoxStream<'_, _> =
            futures::stream::iter(chosen.iter().map(|&i| {
                let w = &windowed_ref.windows[i];
                let claims = claims_asked(cfg, w.tokens);
                let position = prompt::position(w.start, w.end, duration, i, n_windows);
                let q = Ask {
                    system: system.clone(),
                    user: prompt::user_message(header, &position, &w.text, claims),
                    schema: prompt::schema(claims),
                    max_tokens: answer_tokens(cfg, claims),
                    shape: prompt::CLAIMS_SHAPE,
                };
                async move { (i, ask(ctx, q, parse_answer).await) }
            }))
            .boxed();
        let outcomes: Vec<(usize, Called<_>)> =
            calls.buffered(cfg.concurrency.max(1)).collect().await;
        let overflow = outcomes.iter().any(|(_, o)| {
            matches!(&o.result, Err(f) if f.engine_error.as_ref().is_some_and(context_overflow))
        });
        if overflow && scale > 0.3 {
            // The estimate (4 characters a token) fell short for this model's tokenizer:
            // smaller windows, read again (the refused calls cost nothing).
            tracing::info!(
                scale,
                "the model's context overflowed; windows made smaller"
            );
            scale *= 0.6;
            continue;
        }
        break (windowed, chosen, outcomes, report);
    };

    let index = TranscriptIndex::new(input.segments);
    let mut claims: Vec<Claim> = Vec::new();
    let mut processed = Vec::new();
    let (mut retryable_fail, mut permanent_fail, mut last_err) = (0, 0, None);
    for (i, o) in outcomes {
        report.prompt_tokens += o.prompt_tokens;
        report.completion_tokens += o.completion_tokens;
        report.cost_usd += o.cost_usd;
        report.calls += o.calls;
        let parsed = match o.result {
            Ok(p) => p,
            Err(f) => {
                if let Some(e) = f.engine_error {
                    if e.is_retryable() {
                        retryable_fail += 1;
                    } else {
                        permanent_fail += 1;
                    }
                    last_err = Some(e);
                }
                report.windows_skipped.push((i, f.reason));
                continue;
            }
        };
        report.windows_processed += 1;
        report.cached_windows += usize::from(o.cached);
        processed.push(i);
        if parsed.cut_off {
            tracing::debug!(
                window = i,
                kept = parsed.claims.len(),
                "answer cut off; its complete claims kept"
            );
        }
        let w = &windowed.windows[i];
        let near = orig[w.segments.start]..orig[w.segments.end - 1] + 1;
        for raw in parsed.claims {
            if raw.is_ad {
                continue;
            }
            let Some(g) = index.find(&raw.quote, Some(near.clone())) else {
                report.dropped_ungrounded += 1;
                tracing::debug!(window = i, quote = %crate::text::truncate(&raw.quote, 120), "quote not in the transcript");
                continue;
            };
            if g.segments.start >= near.end || g.segments.end <= near.start {
                report.dropped_ungrounded += 1;
                report.dropped.push(DroppedInsight {
                    text: raw.claim,
                    reason: "its quote is not in the part of the transcript the model read".into(),
                });
                continue;
            }
            if ad_segs[g.segments.clone()].iter().any(|&a| a) {
                continue;
            }
            let dup = claims.iter().any(|c| {
                crate::merge::span_overlap(&c.grounded.span, &g.span)
                    >= crate::merge::MIN_SPAN_OVERLAP
            });
            if dup {
                report.merged += 1;
            } else {
                claims.push(Claim {
                    raw,
                    grounded: g,
                    window: i,
                });
            }
        }
    }
    if !chosen.is_empty() && report.windows_processed == 0 {
        let windows = chosen.len();
        // Every window sent failed in the engine (not in its answer): nothing was learnt about
        // the episode, so it must not count as done. Any retryable failure among them means
        // "try again later"; all refusals mean "fix the configuration".
        if let Some(last) = last_err.clone()
            && retryable_fail + permanent_fail == windows
        {
            return Err(if retryable_fail > 0 {
                ExtractError::EngineUnavailable { windows, last }
            } else {
                ExtractError::EngineRefused { windows, last }
            });
        }
    }
    claims.sort_by(|a, b| a.grounded.start.total_cmp(&b.grounded.start));
    report.claims = claims.len();
    report.words_read = windowed.words_in(processed.iter().copied());
    report.coverage = if words_total == 0 {
        1.0
    } else {
        report.words_read as f64 / words_total as f64
    };

    // Reduce: the editor writes the episode's insights from its claims.
    let reduced = reduce::reduce(
        ctx,
        &reduce::Episode {
            header: &prompt::header(&ectx, false),
            windowed: &windowed,
            metadata: metadata(input, &speakers),
            chapters: input.chapters,
        },
        &claims,
        &mut report,
    )
    .await?;
    let (kept, merged) = crate::merge::merge(reduced, cfg.insights_per_episode);
    report.merged += merged;
    report.insights_kept = kept.len();
    report.windows_skipped.sort();
    Ok((kept, report))
}

/// Where names may also come from: the show, the title, the description and the speakers.
fn metadata<'a>(input: &EpisodeInput<'a>, speakers: &'a [String]) -> Vec<&'a str> {
    let mut m = vec![input.show, input.title, input.description];
    m.extend(speakers.iter().map(String::as_str));
    m.extend(input.chapters.iter().filter_map(|c| c.title.as_deref()));
    m
}

/// Sponsor reads: runs of ad segments.
fn sponsor_reads(ad_segs: &[bool]) -> usize {
    ad_segs
        .iter()
        .enumerate()
        .filter(|(i, a)| **a && (*i == 0 || !ad_segs[i - 1]))
        .count()
}

/// The title of the chapter playing at `t` (chapters sorted or not).
pub(crate) fn chapter_at(chapters: &[Chapter], t: f64) -> Option<String> {
    let mut best: Option<&Chapter> = None;
    for c in chapters {
        if c.start_seconds <= t
            && c.end_seconds.is_none_or(|e| t < e)
            && best.is_none_or(|b| c.start_seconds >= b.start_seconds)
        {
            best = Some(c);
        }
    }
    best.and_then(|c| c.title.clone())
}
