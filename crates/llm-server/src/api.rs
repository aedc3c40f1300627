//! The OpenAI-compatible subset: request parsing and validation, response shapes.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::{Constraint, Job, JobError, Output, schema_grammar};

/// Messages in one request, at most.
pub const MAX_MESSAGES: usize = 256;
/// Stop strings in one request, at most, and their length.
const MAX_STOP: usize = 8;
const MAX_STOP_LEN: usize = 64;
/// Seed used when the request has none: llama.cpp's "pick one at random".
const RANDOM_SEED: u32 = u32::MAX;

/// `POST /v1/chat/completions` body (unknown fields are ignored, as OpenAI servers do).
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    // `model` is ignored: this server has one.
    pub messages: Vec<Message>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// The newer name of `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub stop: Option<Stop>,
    #[serde(default)]
    pub response_format: Option<ResponseFormat>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub n: Option<u32>,
}

/// One chat message.
#[derive(Debug, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: Content,
}

/// A message's content: a string, or text parts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

/// A content part; only `text` parts are supported.
#[derive(Debug, Deserialize)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
}

/// `stop`: one string or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

/// `response_format`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchemaSpec },
}

/// `response_format.json_schema`.
#[derive(Debug, Deserialize)]
pub struct JsonSchemaSpec {
    /// `name` and `strict` are accepted and ignored (the grammar is always strict).
    pub schema: Value,
}

impl ChatRequest {
    /// Validates the request and turns it into a job for the engine.
    pub fn into_job(self) -> Result<Job, JobError> {
        let bad = |m: String| Err(JobError::BadRequest(m));
        if self.stream == Some(true) {
            return bad("stream=true is not supported by podsift-llm".into());
        }
        if self.n.is_some_and(|n| n != 1) {
            return bad("only n=1 is supported".into());
        }
        if self.messages.is_empty() {
            return bad("messages is empty".into());
        }
        if self.messages.len() > MAX_MESSAGES {
            return bad(format!("more than {MAX_MESSAGES} messages"));
        }
        let mut messages = Vec::with_capacity(self.messages.len());
        for m in self.messages {
            let role = match m.role.as_str() {
                "system" | "developer" => "system",
                "user" => "user",
                "assistant" => "assistant",
                other => return bad(format!("unsupported message role {other:?}")),
            };
            let content = match m.content {
                Content::Text(t) => t,
                Content::Parts(parts) => {
                    let mut text = String::new();
                    for p in parts {
                        match (p.kind.as_str(), p.text) {
                            ("text", Some(t)) => text.push_str(&t),
                            (kind, _) => {
                                return bad(format!("unsupported content part {kind:?}"));
                            }
                        }
                    }
                    text
                }
            };
            messages.push((role.to_string(), content));
        }
        let stop = match self.stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s],
            Some(Stop::Many(v)) => v,
        };
        if stop.len() > MAX_STOP || stop.iter().any(|s| s.len() > MAX_STOP_LEN) {
            return bad(format!(
                "at most {MAX_STOP} stop strings of {MAX_STOP_LEN} bytes"
            ));
        }
        let temperature = self.temperature.unwrap_or(1.0);
        if !(0.0..=2.0).contains(&temperature) {
            return bad("temperature must be between 0 and 2".into());
        }
        let top_p = self.top_p.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&top_p) {
            return bad("top_p must be between 0 and 1".into());
        }
        let max_tokens = self.max_completion_tokens.or(self.max_tokens);
        if max_tokens == Some(0) {
            return bad("max_tokens must be at least 1".into());
        }
        let constraint = match self.response_format {
            None | Some(ResponseFormat::Text) => Constraint::None,
            Some(ResponseFormat::JsonObject) => {
                Constraint::Grammar(schema_grammar(&json!({"type": "object"}))?)
            }
            Some(ResponseFormat::JsonSchema { json_schema }) => {
                if !json_schema.schema.is_object() {
                    return bad("response_format.json_schema.schema must be an object".into());
                }
                Constraint::Grammar(schema_grammar(&json_schema.schema)?)
            }
        };
        Ok(Job {
            messages,
            max_tokens,
            temperature,
            top_p,
            // OpenAI seeds are integers; llama.cpp's are 32 bits.
            seed: self.seed.map(|s| s as u32).unwrap_or(RANDOM_SEED),
            stop,
            constraint,
        })
    }
}

/// The `chat.completion` object.
pub fn completion(model: &str, out: &Output, created: u64, id: u64) -> Value {
    json!({
        "id": format!("chatcmpl-{id}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": out.content},
            "finish_reason": out.finish.as_str(),
        }],
        "usage": {
            "prompt_tokens": out.prompt_tokens,
            "completion_tokens": out.completion_tokens,
            "total_tokens": out.prompt_tokens + out.completion_tokens,
            // As OpenAI reports prompt caching: prompt tokens not processed again.
            "prompt_tokens_details": {"cached_tokens": out.cached_tokens},
        },
        // Not OpenAI's: llama.cpp server's timing fields, for benchmarks (clients ignore them).
        "timings": {
            "cache_n": out.cached_tokens,
            "prompt_n": out.prompt_tokens - out.cached_tokens,
            "prompt_ms": out.prompt_secs * 1000.0,
            "predicted_n": out.completion_tokens,
            "predicted_ms": out.gen_secs * 1000.0,
        },
    })
}

/// An OpenAI-style error body.
pub fn error_body(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Job, JobError> {
        serde_json::from_value::<ChatRequest>(v).unwrap().into_job()
    }

    #[test]
    fn accepts_string_and_part_contents() {
        let job = parse(json!({"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
        ], "max_tokens": 5, "temperature": 0, "seed": 7, "stop": "x"}))
        .unwrap();
        assert_eq!(job.messages[1], ("user".to_string(), "ab".to_string()));
        assert_eq!(job.max_tokens, Some(5));
        assert_eq!(job.seed, 7);
        assert_eq!(job.stop, vec!["x".to_string()]);
        assert_eq!(job.constraint, Constraint::None);
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        for body in [
            json!({"messages": []}),
            json!({"messages": [{"role": "tool", "content": "x"}]}),
            json!({"messages": [{"role": "user", "content": "x"}], "stream": true}),
            json!({"messages": [{"role": "user", "content": "x"}], "n": 2}),
            json!({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            json!({"messages": [{"role": "user", "content": "x"}], "temperature": 5.0}),
            json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
        ] {
            assert!(
                matches!(parse(body.clone()), Err(JobError::BadRequest(_))),
                "{body}"
            );
        }
    }
}
