//! Any OpenAI-compatible chat completions API: OpenAI, OpenRouter, Groq, Ollama
//! (`http://localhost:11434/v1`), vLLM, llama.cpp's server.

use std::time::Duration;

use async_trait::async_trait;
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse};
use serde_json::{Value, json};

use super::{EngineConfigError, base, client, post_json};
use crate::cost::estimate_tokens;
use crate::secret::Secret;

/// OpenAI's API.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// `POST {base_url}/chat/completions`, bearer key optional (local servers need none).
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<Secret>,
    timeout: Duration,
    structured: bool,
}

impl OpenAiCompatible {
    /// An engine for `model` at `base_url` (e.g. `https://openrouter.ai/api/v1`).
    pub fn new(
        base_url: &str,
        model: &str,
        key: Option<Secret>,
        timeout: Duration,
    ) -> Result<Self, EngineConfigError> {
        Ok(Self {
            client: client(timeout)?,
            url: format!("{}/chat/completions", base(base_url)),
            model: model.to_owned(),
            key,
            timeout,
            structured: true,
        })
    }

    /// Whether to send `response_format: json_schema` (on by default; turn off for servers
    /// that reject it — the prompt still asks for JSON and the parser is lenient).
    pub fn structured_output(mut self, on: bool) -> Self {
        self.structured = on;
        self
    }

    /// The request body for `req`.
    pub fn body(&self, req: &LlmRequest) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": req.system},
                {"role": "user", "content": req.user},
            ],
            "temperature": req.temperature,
            "max_tokens": req.max_tokens,
        });
        if let (true, Some(schema)) = (self.structured, &req.json_schema) {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {"name": "insights", "schema": schema, "strict": true},
            });
        }
        body
    }
}

#[async_trait]
impl Llm for OpenAiCompatible {
    fn model_id(&self) -> String {
        format!("openai:{}", self.model)
    }

    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let mut http = self.client.post(&self.url);
        if let Some(key) = &self.key {
            http = http.bearer_auth(key.expose());
        }
        let answer = post_json(http, &self.body(req), self.timeout, self.key.as_ref()).await?;
        parse_response(&answer, req)
    }
}

/// `choices[0].message.content` and `usage`; usage is estimated when the server omits it.
pub fn parse_response(answer: &Value, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
    let message = answer
        .pointer("/choices/0/message")
        .ok_or_else(|| LlmError::InvalidResponse("no choices[0].message in the answer".into()))?;
    let text = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            let refusal = message
                .get("refusal")
                .and_then(Value::as_str)
                .unwrap_or("no content");
            return Err(LlmError::InvalidResponse(format!(
                "empty answer: {}",
                crate::text::truncate(refusal, 200)
            )));
        }
    };
    let usage = |k: &str| {
        answer
            .pointer(&format!("/usage/{k}"))
            .and_then(Value::as_u64)
    };
    Ok(LlmResponse {
        prompt_tokens: usage("prompt_tokens")
            .unwrap_or_else(|| estimate_tokens(&req.system) + estimate_tokens(&req.user)),
        completion_tokens: usage("completion_tokens").unwrap_or_else(|| estimate_tokens(&text)),
        text,
    })
}
