//! The per-episode pipeline: windows → ads → selection → model (cached) → parse (with one
//! repair) → grounding → merge.

use futures::StreamExt;
use podsift_core::config::LlmConfig;
use podsift_core::{
    Chapter, ExtractionReport, InsightDraft, Llm, LlmCache, LlmError, LlmRequest, LlmResponse,
    Segment,
};

use crate::cost::{self, estimate_tokens};
use crate::ground::TranscriptIndex;
use crate::parse::{Parsed, parse_answer};
use crate::windows::{Window, Windowed, build_windows};
use crate::{ads, cache, merge, prompt, select};

/// Skip reason of an ad-dense window.
pub const SKIP_SPONSOR: &str = "sponsor read";
/// Skip reason of a window left out by the budget.
pub const SKIP_BUDGET: &str = "over the episode token budget";

/// One episode to extract from.
#[derive(Debug, Clone, Copy)]
pub struct EpisodeInput<'a> {
    /// The show's name.
    pub show: &'a str,
    /// The episode's title.
    pub title: &'a str,
    /// The transcript.
    pub segments: &'a [Segment],
    /// The episode's chapters (may be empty).
    pub chapters: &'a [Chapter],
    /// The user's interest keywords (they raise a window's pre-score).
    pub interests: &'a [String],
}

/// Extraction failed for the whole episode.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    /// Every window sent failed in the engine, at least one with a retryable error (5xx,
    /// timeout, 429, unreachable): retry the episode later.
    #[error("the model failed for all {windows} windows sent; last error: {last}")]
    EngineUnavailable {
        /// Windows sent.
        windows: usize,
        /// The last error.
        last: LlmError,
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
        matches!(self, Self::EngineUnavailable { .. })
    }
}

/// Prompt tokens (estimate) a send-the-whole-transcript baseline would need: the system
/// prompt plus one user message holding the entire rendered transcript.
pub fn baseline_tokens(input: &EpisodeInput<'_>) -> u64 {
    let all = build_windows(input.segments, usize::MAX / 8, 0);
    let text: Vec<&str> = all.windows.iter().map(|w| w.text.as_str()).collect();
    estimate_tokens(&prompt::system_prompt())
        + estimate_tokens(&prompt::user_message(
            input.show,
            input.title,
            input.chapters,
            &text.join("\n"),
        ))
}

struct Failure {
    reason: String,
    engine_error: Option<LlmError>,
}

struct Outcome {
    index: usize,
    result: Result<Parsed, Failure>,
    prompt_tokens: u64,
    completion_tokens: u64,
    cost_usd: f64,
    cached: bool,
}

struct Ctx<'a> {
    llm: &'a dyn Llm,
    cache: &'a dyn LlmCache,
    model_id: String,
    system: String,
    schema: serde_json::Value,
    cfg: &'a LlmConfig,
    price: podsift_core::config::Price,
}

/// Extracts the insights of one episode. Partial failures are recorded per window in the
/// report; `Err` only when the engine failed for every window sent (see [`ExtractError`]).
pub async fn extract_episode(
    llm: &dyn Llm,
    cache: &dyn LlmCache,
    input: &EpisodeInput<'_>,
    cfg: &LlmConfig,
) -> Result<(Vec<InsightDraft>, ExtractionReport), ExtractError> {
    let windowed = build_windows(input.segments, cfg.window_tokens, cfg.window_overlap_tokens);
    let mut report = ExtractionReport {
        windows_total: windowed.windows.len(),
        transcript_tokens: windowed.pieces.iter().map(|p| p.tokens as u64).sum(),
        ..ExtractionReport::default()
    };
    let model_id = llm.model_id();
    let model_name = cfg.model.clone().unwrap_or_else(|| {
        model_id
            .split_once(':')
            .map_or(model_id.clone(), |(_, m)| m.to_owned())
    });
    let price = cost::lookup(&cfg.prices, &model_name);
    if !price.known {
        tracing::warn!(model = %model_name, "no price for this model in llm.prices; its cost is counted as 0");
    }
    let ctx = Ctx {
        llm,
        cache,
        model_id,
        system: prompt::system_prompt(),
        schema: prompt::schema(),
        cfg,
        price: price.price,
    };
    let ad_segs = ads::ad_segments(input.segments);
    let overhead = estimate_tokens(&ctx.system)
        + estimate_tokens(&prompt::user_message(
            input.show,
            input.title,
            input.chapters,
            "",
        ));

    // Ads, then the budget.
    let mut candidates = Vec::new();
    for w in &windowed.windows {
        if ad_share(&windowed, w, &ad_segs) >= ads::AD_WINDOW_SHARE {
            report.ad_windows += 1;
            report.windows_skipped.push((w.index, SKIP_SPONSOR.into()));
            continue;
        }
        let raw: Vec<&str> = windowed.pieces[w.pieces.clone()]
            .iter()
            .map(|p| p.text.as_str())
            .collect();
        candidates.push(select::Candidate {
            index: w.index,
            cost: w.tokens + overhead,
            score: select::prescore(&raw.join(" "), input.interests),
        });
    }
    let (chosen, over) = select::select(&candidates, cfg.episode_token_budget as u64);
    report
        .windows_skipped
        .extend(over.into_iter().map(|i| (i, SKIP_BUDGET.to_owned())));

    // The model, a few windows at a time (the engine's own limiter has the final say).
    let ctx = &ctx;
    // Boxed before `.buffered`: without it the future of a caller is not provably `Send`
    // (rust-lang/rust#104382), and the drivers would have to run it on a blocking thread.
    let windows: futures::stream::BoxStream<'_, _> =
        futures::stream::iter(chosen.iter().map(|&i| {
            let user = prompt::user_message(
                input.show,
                input.title,
                input.chapters,
                &windowed.windows[i].text,
            );
            async move { run_window(ctx, i, user).await }
        }))
        .boxed();
    let outcomes: Vec<Outcome> = windows.buffered(cfg.concurrency.max(1)).collect().await;

    let index = TranscriptIndex::new(input.segments);
    let mut candidates = Vec::new();
    let mut processed = Vec::new();
    let (mut retryable_fail, mut permanent_fail, mut last_err) = (0, 0, None);
    let mut ad_insights = 0;
    for o in outcomes {
        report.prompt_tokens += o.prompt_tokens;
        report.completion_tokens += o.completion_tokens;
        report.cost_usd += o.cost_usd;
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
                report.windows_skipped.push((o.index, f.reason));
                continue;
            }
        };
        report.windows_processed += 1;
        report.cached_windows += usize::from(o.cached);
        processed.push(o.index);
        let window = &windowed.windows[o.index];
        for raw in parsed.insights {
            if raw.is_ad {
                ad_insights += 1;
                continue;
            }
            let Some(g) = index.find(&raw.quote, Some(window.segments.clone())) else {
                report.dropped_ungrounded += 1;
                tracing::debug!(window = o.index, quote = %crate::text::truncate(&raw.quote, 120), "quote not in the transcript");
                continue;
            };
            if ad_segs[g.segments.clone()].iter().any(|&a| a) {
                ad_insights += 1;
                continue;
            }
            candidates.push(merge::Candidate {
                draft: InsightDraft {
                    text: raw.text,
                    quote: g.quote,
                    start_seconds: g.start,
                    end_seconds: g.end,
                    speaker: g.speaker,
                    topics: raw.topics,
                    importance: raw.importance,
                    novelty: raw.novelty,
                    specificity: raw.specificity,
                    chapter: chapter_at(input.chapters, g.start),
                },
                span: g.span,
            });
        }
    }
    if ad_insights > 0 {
        tracing::debug!(ad_insights, "insights dropped as ads");
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
    let (kept, merged) = merge::merge(candidates, cfg.insights_per_episode);
    report.merged = merged;
    report.insights_kept = kept.len();
    report.coverage = windowed.coverage(processed);
    report.windows_skipped.sort();
    Ok((kept, report))
}

fn ad_share(windowed: &Windowed, w: &Window, ad_segs: &[bool]) -> f64 {
    if w.words == 0 {
        return 0.0;
    }
    let ad: usize = windowed.pieces[w.pieces.clone()]
        .iter()
        .filter(|p| ad_segs.get(p.segment).copied().unwrap_or(false))
        .map(|p| p.words)
        .sum();
    ad as f64 / w.words as f64
}

/// The title of the chapter playing at `t` (chapters sorted or not).
fn chapter_at(chapters: &[Chapter], t: f64) -> Option<String> {
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

async fn run_window(ctx: &Ctx<'_>, index: usize, user: String) -> Outcome {
    let key = cache::cache_key(&user, &ctx.model_id);
    let mut out = Outcome {
        index,
        result: Err(Failure {
            reason: String::new(),
            engine_error: None,
        }),
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
        cached: false,
    };
    if let Some(hit) = ctx.cache.get(&key).await
        && let Ok(parsed) = parse_answer(&hit.text)
    {
        out.result = Ok(parsed);
        out.cached = true;
        return out;
    }
    let mut req = LlmRequest {
        system: ctx.system.clone(),
        user,
        json_schema: Some(ctx.schema.clone()),
        max_tokens: ctx.cfg.max_output_tokens,
        temperature: ctx.cfg.temperature,
    };
    let first = match call(ctx, &req, &mut out).await {
        Ok(r) => r,
        Err(e) => {
            out.result = Err(Failure {
                reason: format!("model error: {e}"),
                engine_error: Some(e),
            });
            return out;
        }
    };
    let problem = match parse_answer(&first.text) {
        Ok(parsed) => {
            ctx.cache.put(&key, &first).await;
            out.result = Ok(parsed);
            return out;
        }
        Err(problem) => problem,
    };
    // One repair attempt: the bad answer goes back with the schema.
    req.user = prompt::repair_message(&req.user, &first.text, &problem.to_string());
    out.result = match call(ctx, &req, &mut out).await {
        Err(e) => Err(Failure {
            reason: format!("invalid JSON ({problem}); the repair attempt failed: {e}"),
            engine_error: None,
        }),
        Ok(second) => match parse_answer(&second.text) {
            Ok(parsed) => {
                ctx.cache.put(&key, &second).await;
                Ok(parsed)
            }
            Err(again) => Err(Failure {
                reason: format!("invalid JSON after one repair attempt: {again}"),
                engine_error: None,
            }),
        },
    };
    out
}

async fn call(ctx: &Ctx<'_>, req: &LlmRequest, out: &mut Outcome) -> Result<LlmResponse, LlmError> {
    let resp = ctx.llm.complete(req).await?;
    let usd = cost::cost_usd(ctx.price, resp.prompt_tokens, resp.completion_tokens);
    tracing::debug!(
        window = out.index,
        prompt_tokens = resp.prompt_tokens,
        completion_tokens = resp.completion_tokens,
        cost_usd = usd,
        "model call"
    );
    out.prompt_tokens += resp.prompt_tokens;
    out.completion_tokens += resp.completion_tokens;
    out.cost_usd += usd;
    Ok(resp)
}
