//! One model call as extraction makes it: through the cache, with the answer parsed and one
//! repair attempt when it does not parse, tokens and dollars counted.

use podsift_core::config::{LlmConfig, Price};
use podsift_core::{Llm, LlmCache, LlmError, LlmRequest, LlmResponse};

use crate::parse::ParseError;
use crate::{cache, cost, prompt};

/// The least answer room a repair request keeps.
const MIN_REPAIR_ANSWER_TOKENS: u32 = 128;

/// What extraction's calls share.
pub(crate) struct Ctx<'a> {
    pub llm: &'a dyn Llm,
    pub cache: &'a dyn LlmCache,
    pub model_id: String,
    pub cfg: &'a LlmConfig,
    pub price: Price,
}

/// Why a call gave nothing usable.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub reason: String,
    /// Set when the engine itself failed (not its answer).
    pub engine_error: Option<LlmError>,
}

/// The result of one call (a repair included), with what it cost.
pub(crate) struct Called<T> {
    pub result: Result<T, Failure>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    pub cached: bool,
    /// Model calls made (0 when cached, 2 with a repair).
    pub calls: usize,
}

/// One question to the model.
pub(crate) struct Ask<'s> {
    pub system: String,
    pub user: String,
    pub schema: serde_json::Value,
    pub max_tokens: u32,
    /// The expected shape, for the repair request.
    pub shape: &'s str,
}

/// Asks, through the cache, parsing the answer with `parse`; an answer that does not parse
/// goes back once with the problem. Only a parsed answer is cached.
pub(crate) async fn ask<T>(
    ctx: &Ctx<'_>,
    q: Ask<'_>,
    parse: impl Fn(&str) -> Result<T, ParseError>,
) -> Called<T> {
    let key = cache::cache_key(&format!("{}\n\u{0}{}", q.system, q.user), &ctx.model_id);
    let mut out = Called {
        result: Err(Failure {
            reason: String::new(),
            engine_error: None,
        }),
        prompt_tokens: 0,
        completion_tokens: 0,
        cost_usd: 0.0,
        cached: false,
        calls: 0,
    };
    if let Some(hit) = ctx.cache.get(&key).await
        && let Ok(parsed) = parse(&hit.text)
    {
        out.result = Ok(parsed);
        out.cached = true;
        return out;
    }
    let mut req = LlmRequest {
        system: q.system,
        user: q.user,
        json_schema: Some(q.schema),
        max_tokens: q.max_tokens,
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
    let problem = match parse(&first.text) {
        Ok(parsed) => {
            ctx.cache.put(&key, &first).await;
            out.result = Ok(parsed);
            return out;
        }
        Err(problem) => problem,
    };
    let repaired = prompt::repair_message(&req.user, &first.text, &problem.to_string(), q.shape);
    // The first request fitted the model's context (prompt + answer room); the repair's
    // longer prompt comes out of the answer's room, with a margin for the 4-characters-a-token
    // estimate falling short of a real tokenizer.
    let added = cost::estimate_tokens(&repaired).saturating_sub(cost::estimate_tokens(&req.user));
    let margin = u32::try_from(added.saturating_mul(3) / 2).unwrap_or(u32::MAX);
    req.max_tokens = req
        .max_tokens
        .saturating_sub(margin)
        .max(MIN_REPAIR_ANSWER_TOKENS.min(req.max_tokens));
    req.user = repaired;
    out.result = match call(ctx, &req, &mut out).await {
        Err(e) => Err(Failure {
            reason: format!("invalid JSON ({problem}); the repair attempt failed: {e}"),
            engine_error: None,
        }),
        Ok(second) => match parse(&second.text) {
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

async fn call<T>(
    ctx: &Ctx<'_>,
    req: &LlmRequest,
    out: &mut Called<T>,
) -> Result<LlmResponse, LlmError> {
    out.calls += 1;
    let resp = ctx.llm.complete(req).await?;
    let usd = cost::cost_usd(ctx.price, resp.prompt_tokens, resp.completion_tokens);
    tracing::debug!(
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
