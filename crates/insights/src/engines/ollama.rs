//! Ollama's native chat API, `POST {base}/api/chat`.
//!
//! Why not Ollama's OpenAI-compatible `/v1` route: it ignores `num_ctx` and runs every model
//! at Ollama's default context (2k–4k tokens), silently cutting the start of a longer prompt.
//! The native route takes `options.num_ctx` per request, so each request asks for the context
//! it needs (prompt + answer, never below `ollama_num_ctx`, never above the configured
//! context), and a request that cannot fit is refused here instead of truncated there.
//!
//! The prompt's size is estimated (4 characters a token); text that tokenizes worse (digits,
//! timestamps, other scripts) is learnt from Ollama's `prompt_eval_count`, and an answer whose
//! prompt filled the context is refused as retryable so that the retry asks for more.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse};
use serde_json::{Value, json};

use super::{EngineConfigError, base, client, post_json};
use crate::cost::estimate_tokens;

/// Where Ollama listens by default.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434";

/// `num_ctx` is rounded up to a multiple of this.
const CTX_STEP: u32 = 256;

/// The most real tokens per estimated one that is believed (thousandths).
const MAX_RATIO: u64 = 4000;

/// An Ollama server and one of its models.
#[derive(Debug, Clone)]
pub struct Ollama {
    client: reqwest::Client,
    base: String,
    model: String,
    timeout: Duration,
    /// The least `num_ctx` asked for (`llm.ollama_num_ctx`).
    min_ctx: u32,
    /// The most `num_ctx` asked for (`llm.context()`).
    max_ctx: u32,
    /// Real prompt tokens per estimated one, in thousandths (1000 until an answer shows more).
    ratio: Arc<AtomicU64>,
}

/// Ollama's root URL from a configured one: `http://host:11434/v1/` and
/// `http://host:11434/api` both give `http://host:11434`.
pub fn normalise_base(url: &str) -> String {
    let mut b = base(url);
    for suffix in ["/v1", "/api"] {
        if let Some(root) = b.strip_suffix(suffix) {
            b = base(root);
            break;
        }
    }
    b
}

impl Ollama {
    /// An engine for `model` at `base_url` (Ollama's root, e.g. [`DEFAULT_BASE_URL`]), asking
    /// for a context of 8192 tokens; see [`Ollama::context`].
    pub fn new(base_url: &str, model: &str, timeout: Duration) -> Result<Self, EngineConfigError> {
        Ok(Self {
            client: client(timeout)?,
            base: normalise_base(base_url),
            model: model.to_owned(),
            timeout,
            min_ctx: 8192,
            max_ctx: 8192,
            ratio: Arc::new(AtomicU64::new(1000)),
        })
    }

    /// The context asked for: at least `min` tokens (`llm.ollama_num_ctx`), at most `max`
    /// (`llm.context()`, what the model and the machine can hold).
    pub fn context(mut self, min: u32, max: u32) -> Self {
        self.max_ctx = max.max(1);
        self.min_ctx = min.min(self.max_ctx);
        self
    }

    /// Ollama's root URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The `num_ctx` for `req`: the estimated prompt with a safety margin (10 % + 64 tokens,
    /// for the chat template and the estimate's error) plus the answer, rounded up to a
    /// multiple of 256, at least the minimum; an error when that exceeds the maximum.
    pub fn num_ctx(&self, req: &LlmRequest) -> Result<u32, LlmError> {
        let ratio = self.ratio.load(Ordering::Relaxed);
        let prompt = (estimate(req) * ratio).div_ceil(1000);
        let need = prompt + prompt / 10 + 64 + u64::from(req.max_tokens);
        if need > u64::from(self.max_ctx) {
            return Err(LlmError::Permanent(format!(
                "the request needs about {need} tokens of context ({prompt} prompt + {} answer + margin), \
                 more than the {} configured (llm.context_tokens / llm.ollama_num_ctx); \
                 raise it if the model and memory allow, or use smaller windows (llm.window_tokens)",
                req.max_tokens, self.max_ctx
            )));
        }
        // `need` ≤ max_ctx, a u32.
        let rounded = (need as u32).div_ceil(CTX_STEP).saturating_mul(CTX_STEP);
        Ok(rounded.max(self.min_ctx).min(self.max_ctx))
    }

    /// The request body for `req`.
    pub fn body(&self, req: &LlmRequest) -> Result<Value, LlmError> {
        let mut body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.user},
            ],
            "stream": false,
            "options": {
                "num_ctx": self.num_ctx(req)?,
                "temperature": req.temperature,
                "num_predict": req.max_tokens,
            },
        });
        if let Some(schema) = &req.json_schema {
            body["format"] = schema.clone();
        }
        Ok(body)
    }
}

#[async_trait]
impl Llm for Ollama {
    fn model_id(&self) -> String {
        format!("ollama:{}", self.model)
    }

    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let body = self.body(req)?;
        let http = self.client.post(format!("{}/api/chat", self.base));
        let answer = post_json(http, &body, self.timeout, None)
            .await
            .map_err(|e| self.explain(e))?;
        let num_ctx = body
            .pointer("/options/num_ctx")
            .and_then(Value::as_u64)
            .unwrap_or(u64::from(self.max_ctx));
        if let Some(seen) = answer.get("prompt_eval_count").and_then(Value::as_u64) {
            self.learn(req, seen, num_ctx)?;
        }
        parse_response(&answer, req)
    }
}

impl Ollama {
    /// Learns from the prompt's real size (`seen` tokens); an error when the prompt and the
    /// answer did not fit in `num_ctx` (Ollama then cuts the prompt without saying so).
    fn learn(&self, req: &LlmRequest, seen: u64, num_ctx: u64) -> Result<(), LlmError> {
        let est = estimate(req).max(1);
        let observed = (seen * 1000).div_ceil(est).min(MAX_RATIO);
        let filled = seen + u64::from(req.max_tokens) >= num_ctx;
        // A cut prompt reports only what was kept: ask for half as much again.
        let wanted = if filled {
            (observed.max(self.ratio.load(Ordering::Relaxed)) * 3 / 2).min(MAX_RATIO)
        } else {
            observed
        };
        let before = self.ratio.fetch_max(wanted, Ordering::Relaxed);
        if wanted > before {
            tracing::debug!(
                ratio = wanted as f64 / 1000.0,
                "this text takes more tokens than estimated; asking Ollama for more context"
            );
        }
        if filled {
            tracing::warn!(
                seen,
                num_ctx,
                max_tokens = req.max_tokens,
                "the prompt filled Ollama's context; retrying with a larger num_ctx"
            );
            return Err(LlmError::InvalidResponse(format!(
                "the prompt filled Ollama's context ({seen} of {num_ctx} tokens with {} kept for \
                 the answer), so it was probably cut; the next request asks for more",
                req.max_tokens
            )));
        }
        Ok(())
    }

    /// Adds the fix to a missing-model refusal.
    fn explain(&self, e: LlmError) -> LlmError {
        match e {
            LlmError::Permanent(msg)
                if msg.contains("not found") || msg.starts_with("HTTP 404") =>
            {
                LlmError::Permanent(format!(
                    "{msg} (Ollama at {}: run `ollama pull {}`, or pick an installed model with `ollama list`)",
                    self.base, self.model
                ))
            }
            other => other,
        }
    }
}

fn estimate(req: &LlmRequest) -> u64 {
    estimate_tokens(&req.system) + estimate_tokens(&req.user)
}

/// `message.content`, `prompt_eval_count` and `eval_count` of a non-streamed answer; counts
/// are estimated when missing (Ollama omits `prompt_eval_count` when the prompt was cached).
pub fn parse_response(answer: &Value, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
    if let Some(err) = answer.get("error").and_then(Value::as_str) {
        return Err(LlmError::InvalidResponse(
            crate::text::truncate(err, 300).to_owned(),
        ));
    }
    let text = answer
        .pointer("/message/content")
        .and_then(Value::as_str)
        .ok_or_else(|| LlmError::InvalidResponse("no message.content in the answer".into()))?
        .to_owned();
    if answer.get("done_reason").and_then(Value::as_str) == Some("length") {
        tracing::debug!(
            max_tokens = req.max_tokens,
            "Ollama stopped at num_predict; the answer may be cut off"
        );
    }
    let count = |k: &str| answer.get(k).and_then(Value::as_u64);
    Ok(LlmResponse {
        prompt_tokens: count("prompt_eval_count")
            .unwrap_or_else(|| estimate_tokens(&req.system) + estimate_tokens(&req.user)),
        completion_tokens: count("eval_count").unwrap_or_else(|| estimate_tokens(&text)),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(user_chars: usize, max_tokens: u32) -> LlmRequest {
        LlmRequest {
            system: "s".repeat(400),
            user: "u".repeat(user_chars),
            json_schema: None,
            max_tokens,
            temperature: 0.2,
        }
    }

    #[test]
    fn base_urls_are_normalised() {
        for url in [
            "http://h:11434",
            "http://h:11434/",
            "http://h:11434/v1",
            "http://h:11434/v1/",
            "http://h:11434/api/",
        ] {
            assert_eq!(normalise_base(url), "http://h:11434", "{url}");
        }
        assert_eq!(normalise_base("http://h/ollama/v1"), "http://h/ollama");
    }

    #[test]
    fn num_ctx_covers_the_request_within_bounds() {
        let e = Ollama::new(DEFAULT_BASE_URL, "m", Duration::from_secs(1))
            .unwrap()
            .context(4096, 32768);
        // Small request: the floor.
        assert_eq!(e.num_ctx(&req(100, 500)).unwrap(), 4096);
        // 100 + 10000 prompt tokens, 1200 answer: 100+10000+1010+64+1200 = 12374 → 12544.
        let n = e.num_ctx(&req(40_000, 1200)).unwrap();
        assert_eq!(n, 12544);
        assert!(n.is_multiple_of(256));
        // Too big for the maximum: refused, permanently.
        let err = e.num_ctx(&req(130_000, 1200)).unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        // Exactly at the top: capped, not rounded past it.
        let e = e.context(2048, 12400);
        assert_eq!(e.num_ctx(&req(40_000, 1200)).unwrap(), 12400);
    }

    #[test]
    fn a_filled_context_is_refused_and_learnt() {
        let e = Ollama::new(DEFAULT_BASE_URL, "m", Duration::from_secs(1))
            .unwrap()
            .context(2048, 65536);
        let r = req(40_000, 1000);
        let first = e.num_ctx(&r).unwrap();
        // Ollama saw 15000 prompt tokens where 10100 were estimated: learnt, no error.
        e.learn(&r, 15_000, 20_000).unwrap();
        let second = e.num_ctx(&r).unwrap();
        assert!(
            second > first && u64::from(second) >= 15_000 + 1000,
            "{first} {second}"
        );
        // The prompt filled the context: a retryable error, and more asked next time.
        let err = e
            .learn(&r, u64::from(second) - 500, u64::from(second))
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(e.num_ctx(&r).unwrap() > second);
        // A cached prompt (fewer tokens evaluated) teaches nothing.
        let before = e.num_ctx(&r).unwrap();
        e.learn(&r, 10, 20_000).unwrap();
        assert_eq!(e.num_ctx(&r).unwrap(), before);
    }

    #[test]
    fn answers_are_parsed() {
        let r = req(10, 10);
        let a = json!({"message": {"role": "assistant", "content": "{}"}, "done": true,
            "done_reason": "length", "prompt_eval_count": 7, "eval_count": 3});
        let out = parse_response(&a, &r).unwrap();
        assert_eq!(
            (out.text.as_str(), out.prompt_tokens, out.completion_tokens),
            ("{}", 7, 3)
        );
        let a = json!({"message": {"role": "assistant", "content": "abcdefgh"}, "done": true});
        assert_eq!(parse_response(&a, &r).unwrap().completion_tokens, 2);
        assert!(matches!(
            parse_response(&json!({"done": true}), &r),
            Err(LlmError::InvalidResponse(_))
        ));
    }
}
