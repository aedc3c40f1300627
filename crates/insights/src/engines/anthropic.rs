//! Anthropic's Messages API; structured output by forcing a tool whose input schema is ours.

use std::time::Duration;

use async_trait::async_trait;
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse};
use serde_json::{Value, json};

use super::{EngineConfigError, base, client, post_json};
use crate::secret::Secret;

/// Anthropic's API.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version header sent.
pub const API_VERSION: &str = "2023-06-01";
/// The forced tool's name.
pub const TOOL_NAME: &str = "record_insights";

/// `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`.
#[derive(Debug, Clone)]
pub struct Anthropic {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Secret,
    timeout: Duration,
}

impl Anthropic {
    /// An engine for `model` (e.g. `claude-3-5-haiku-latest`) at `base_url`.
    pub fn new(
        base_url: &str,
        model: &str,
        key: Secret,
        timeout: Duration,
    ) -> Result<Self, EngineConfigError> {
        Ok(Self {
            client: client(timeout)?,
            url: format!("{}/v1/messages", base(base_url)),
            model: model.to_owned(),
            key,
            timeout,
        })
    }

    /// The request body for `req`.
    pub fn body(&self, req: &LlmRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "max_tokens": req.max_tokens,
            "system": req.system,
            "messages": [{"role": "user", "content": req.user}],
            "temperature": req.temperature,
        });
        if let Some(schema) = &req.json_schema {
            body["tools"] = json!([{
                "name": TOOL_NAME,
                "description": "Record the insights extracted from the transcript excerpt.",
                "input_schema": schema,
            }]);
            body["tool_choice"] = json!({"type": "tool", "name": TOOL_NAME});
        }
        body
    }
}

#[async_trait]
impl Llm for Anthropic {
    fn model_id(&self) -> String {
        format!("anthropic:{}", self.model)
    }

    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let http = self
            .client
            .post(&self.url)
            .header("x-api-key", self.key.expose())
            .header("anthropic-version", API_VERSION);
        let answer = post_json(http, &self.body(req), self.timeout, Some(&self.key)).await?;
        parse_response(&answer, req)
    }
}

/// The forced tool call's `input` as JSON text (else the text blocks), and `usage`
/// (estimated from `req` and the answer when absent).
pub fn parse_response(answer: &Value, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
    let blocks = answer
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| LlmError::InvalidResponse("no content array in the answer".into()))?;
    let tool_input = blocks
        .iter()
        .find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
        .and_then(|b| b.get("input"));
    let text = match tool_input {
        Some(input) => input.to_string(),
        None => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if text.trim().is_empty() {
        return Err(LlmError::InvalidResponse("empty answer".into()));
    }
    let usage = |k: &str| {
        answer
            .pointer(&format!("/usage/{k}"))
            .and_then(Value::as_u64)
    };
    Ok(LlmResponse {
        prompt_tokens: usage("input_tokens").unwrap_or_else(|| {
            crate::cost::estimate_tokens(&req.system) + crate::cost::estimate_tokens(&req.user)
        }),
        completion_tokens: usage("output_tokens")
            .unwrap_or_else(|| crate::cost::estimate_tokens(&text)),
        text,
    })
}
