//! Any OpenAI-compatible chat completions API: OpenAI, OpenRouter, Groq, Ollama
//! (`http://localhost:11434/v1`), vLLM, llama.cpp's server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Learnt from a 400: the model wants `max_completion_tokens` (OpenAI's reasoning models).
    completion_tokens_param: Arc<AtomicBool>,
    /// Learnt from a 400: the model only accepts its default temperature.
    default_temperature: Arc<AtomicBool>,
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
            completion_tokens_param: Arc::new(AtomicBool::new(false)),
            default_temperature: Arc::new(AtomicBool::new(false)),
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
        });
        if self.completion_tokens_param.load(Ordering::Relaxed) {
            body["max_completion_tokens"] = json!(req.max_tokens);
        } else {
            body["max_tokens"] = json!(req.max_tokens);
        }
        if !self.default_temperature.load(Ordering::Relaxed) {
            body["temperature"] = json!(req.temperature);
        }
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
        let mut adapted = 0;
        loop {
            let mut http = self.client.post(&self.url);
            if let Some(key) = &self.key {
                http = http.bearer_auth(key.expose());
            }
            match post_json(http, &self.body(req), self.timeout, self.key.as_ref()).await {
                Ok(answer) => return parse_response(&answer, req),
                Err(LlmError::Permanent(msg)) if adapted < 2 && self.adapt(&msg) => adapted += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

impl OpenAiCompatible {
    /// Learns from a refusal naming a parameter the model does not take (`max_tokens` →
    /// `max_completion_tokens`; a non-default `temperature`); `true` when the request changed.
    fn adapt(&self, message: &str) -> bool {
        let m = message.to_lowercase();
        if m.contains("max_completion_tokens")
            && !self.completion_tokens_param.swap(true, Ordering::Relaxed)
        {
            return true;
        }
        if m.contains("temperature")
            && (m.contains("unsupported") || m.contains("not support"))
            && !self.default_temperature.swap(true, Ordering::Relaxed)
        {
            return true;
        }
        false
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapts_to_reasoning_models() {
        let e = OpenAiCompatible::new(
            "http://localhost:1/v1",
            "o-model",
            None,
            Duration::from_secs(1),
        )
        .unwrap();
        let req = LlmRequest {
            system: "s".into(),
            user: "u".into(),
            json_schema: None,
            max_tokens: 50,
            temperature: 0.2,
        };
        assert_eq!(e.body(&req)["max_tokens"], 50);
        assert!(!e.adapt("HTTP 400: Invalid model"));
        assert!(e.adapt("HTTP 400: Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."));
        assert!(
            !e.adapt("HTTP 400: ... use 'max_completion_tokens' instead."),
            "learnt once"
        );
        assert!(e.adapt(
            "HTTP 400: Unsupported value: 'temperature' does not support 0.2 with this model."
        ));
        let body = e.body(&req);
        assert_eq!(body["max_completion_tokens"], 50);
        assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none());
        assert!(
            body.get("response_format").is_none(),
            "no schema, no response_format"
        );
    }
}
