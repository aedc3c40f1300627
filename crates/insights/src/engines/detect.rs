//! Finding the language models a user already runs: Ollama (`GET /api/tags`), LM Studio and
//! llama.cpp's server (`GET /v1/models`), probed concurrently on loopback with a short
//! timeout, so that podsift can offer one instead of downloading its own.
//!
//! Only instruction models of [`MIN_PARAMS_B`] billion parameters or more are returned
//! (smaller ones give poor insights; a model whose size cannot be told is left out), without
//! embedding models, best first ([`rank`]).

use std::cmp::Ordering;
use std::fmt;
use std::time::Duration;

use podsift_core::config::LlmEngine;
use serde_json::Value;

use super::{base, client};

/// How long each server gets to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(700);

/// The smallest model offered, in billions of parameters.
pub const MIN_PARAMS_B: f64 = 3.0;

/// Largest listing read from a server.
const MAX_LISTING_BYTES: usize = 1024 * 1024;

/// Where to look (root URLs, no `/v1`); [`Default`] is each server's default port on
/// 127.0.0.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTargets {
    /// Ollama's root.
    pub ollama: String,
    /// LM Studio's root.
    pub lm_studio: String,
    /// llama.cpp's `llama-server` root.
    pub llama_cpp: String,
}

impl Default for ProbeTargets {
    fn default() -> Self {
        Self {
            ollama: super::ollama::DEFAULT_BASE_URL.into(),
            lm_studio: "http://127.0.0.1:1234".into(),
            llama_cpp: "http://127.0.0.1:8080".into(),
        }
    }
}

/// Which kind of server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerKind {
    /// Ollama (native API: podsift's `ollama` engine).
    Ollama,
    /// LM Studio (OpenAI-compatible).
    LmStudio,
    /// llama.cpp's server (OpenAI-compatible).
    LlamaCpp,
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ollama => "Ollama",
            Self::LmStudio => "LM Studio",
            Self::LlamaCpp => "llama.cpp",
        })
    }
}

/// An installed model podsift could use.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedModel {
    /// The server it is on.
    pub server: ServerKind,
    /// The server's root URL.
    pub root: String,
    /// The name to put in `llm.model` (`qwen3:4b`, `qwen3-4b-instruct-2507`).
    pub name: String,
    /// Billions of parameters.
    pub params_b: f64,
    /// Size on disk, when the server says (Ollama does).
    pub size_bytes: Option<u64>,
}

impl DetectedModel {
    /// The podsift engine that talks to its server.
    pub fn engine(&self) -> LlmEngine {
        match self.server {
            ServerKind::Ollama => LlmEngine::Ollama,
            ServerKind::LmStudio | ServerKind::LlamaCpp => LlmEngine::Openai,
        }
    }

    /// The `llm.base_url` for [`DetectedModel::engine`] (`/v1` for OpenAI-compatible servers).
    pub fn base_url(&self) -> String {
        match self.server {
            ServerKind::Ollama => self.root.clone(),
            ServerKind::LmStudio | ServerKind::LlamaCpp => format!("{}/v1", self.root),
        }
    }

    /// Whether its name marks an instruction model (`instruct`, `chat`, `-it`) or is one of
    /// Ollama's default tags (`qwen3:4b`, `llama3.1:latest`: those are instruction-tuned).
    pub fn preferred(&self) -> bool {
        let n = self.name.to_lowercase();
        if ["instruct", "chat", "-it"].iter().any(|m| n.contains(m)) {
            return true;
        }
        self.server == ServerKind::Ollama
            && match n.rsplit_once(':') {
                None => true,
                Some((_, tag)) => tag == "latest" || parse_size_token(tag).is_some(),
            }
    }
}

/// Every usable model on the servers at `targets`, best first. A server that is not running
/// (the usual case) or answers nonsense is skipped; each gets `timeout`.
pub async fn detect(targets: &ProbeTargets, timeout: Duration) -> Vec<DetectedModel> {
    let (a, b, c) = tokio::join!(
        probe(ServerKind::Ollama, &targets.ollama, timeout),
        probe(ServerKind::LmStudio, &targets.lm_studio, timeout),
        probe(ServerKind::LlamaCpp, &targets.llama_cpp, timeout),
    );
    let mut models: Vec<DetectedModel> = [a, b, c].into_iter().flatten().collect();
    rank(&mut models);
    models
}

/// The usable models of the Ollama at `root`, best first; an error when it does not answer.
pub async fn ollama_models(root: &str, timeout: Duration) -> Result<Vec<DetectedModel>, String> {
    let root = super::ollama::normalise_base(root);
    let listing = get_json(&format!("{root}/api/tags"), timeout).await?;
    let mut models = usable(ServerKind::Ollama, &root, &listing);
    rank(&mut models);
    Ok(models)
}

async fn probe(kind: ServerKind, root: &str, timeout: Duration) -> Vec<DetectedModel> {
    let root = base(root);
    let path = match kind {
        ServerKind::Ollama => "/api/tags",
        ServerKind::LmStudio | ServerKind::LlamaCpp => "/v1/models",
    };
    match get_json(&format!("{root}{path}"), timeout).await {
        Ok(listing) => {
            let models = usable(kind, &root, &listing);
            tracing::debug!(server = %kind, %root, usable = models.len(), "model server found");
            models
        }
        Err(e) => {
            tracing::debug!(server = %kind, %root, error = %e, "no model server");
            Vec::new()
        }
    }
}

async fn get_json(url: &str, timeout: Duration) -> Result<Value, String> {
    let client = client(timeout).map_err(|e| e.to_string())?;
    let fut = async {
        let mut resp = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status().as_u16()));
        }
        let mut buf = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if buf.len() + chunk.len() > MAX_LISTING_BYTES {
                return Err(format!("listing larger than {MAX_LISTING_BYTES} bytes"));
            }
            buf.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&buf).map_err(|e| format!("not JSON: {e}"))
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
}

/// The listing's models that pass the size and kind filters.
fn usable(kind: ServerKind, root: &str, listing: &Value) -> Vec<DetectedModel> {
    let entries = match kind {
        ServerKind::Ollama => listing.get("models"),
        ServerKind::LmStudio | ServerKind::LlamaCpp => listing.get("data"),
    };
    let Some(entries) = entries.and_then(Value::as_array) else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|m| {
            let name = match kind {
                ServerKind::Ollama => m.get("name").or_else(|| m.get("model")),
                ServerKind::LmStudio | ServerKind::LlamaCpp => m.get("id"),
            }?
            .as_str()?
            .trim();
            let family = m
                .pointer("/details/family")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if name.is_empty() || !chat_model(name, family) {
                return None;
            }
            let params_b = m
                .pointer("/details/parameter_size")
                .and_then(Value::as_str)
                .and_then(parse_params)
                .or_else(|| params_from_name(name))?;
            (params_b >= MIN_PARAMS_B).then(|| DetectedModel {
                server: kind,
                root: root.to_owned(),
                name: name.to_owned(),
                params_b,
                size_bytes: m.get("size").and_then(Value::as_u64),
            })
        })
        .collect()
}

/// Not an embedding, reranking or base (non-instruction) model.
fn chat_model(name: &str, family: &str) -> bool {
    let n = name.to_lowercase();
    let f = family.to_lowercase();
    if f.contains("bert")
        || ["embed", "rerank", "bge-", "minilm"]
            .iter()
            .any(|w| n.contains(w))
    {
        return false;
    }
    !n.split(['-', '_', ':', '/', '.'])
        .any(|t| t == "base" || t == "text")
}

/// Sorts best first: marked instruction models and Ollama's default tags, then 4–14B, then
/// 3–4B, then larger (slow on most machines); then Ollama (whose native API honours the
/// context size) before the OpenAI-compatible servers; then the larger model.
pub fn rank(models: &mut [DetectedModel]) {
    let band = |p: f64| {
        if (4.0..=14.5).contains(&p) {
            0
        } else if p < 4.0 {
            1
        } else {
            2
        }
    };
    models.sort_by(|a, b| {
        (!a.preferred(), band(a.params_b), a.server)
            .cmp(&(!b.preferred(), band(b.params_b), b.server))
            .then_with(|| {
                b.params_b
                    .partial_cmp(&a.params_b)
                    .unwrap_or(Ordering::Equal)
            })
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// Ollama's `parameter_size`: `4.0B`, `8B`, `567M`, `1.2T`.
pub fn parse_params(s: &str) -> Option<f64> {
    let s = s.trim().to_lowercase();
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.trim().parse().ok()?;
    let scale = match unit.trim() {
        "k" => 1e-6,
        "m" => 1e-3,
        "b" => 1.0,
        "t" => 1e3,
        _ => return None,
    };
    (n.is_finite() && n > 0.0).then_some(n * scale)
}

/// The size written in a model's name: `qwen3-4b-instruct` → 4, `llama-3.1-8B` → 8,
/// `mixtral-8x7b` → 56, `qwen3:0.6b` → 0.6; none when no part of the name is a size.
pub fn params_from_name(name: &str) -> Option<f64> {
    name.to_lowercase()
        .split(['-', '_', ':', '/', ' '])
        .find_map(parse_size_token)
}

/// One name part such as `4b`, `0.5b`, `8x7b`, `500m`.
fn parse_size_token(t: &str) -> Option<f64> {
    let t = t.to_lowercase();
    let (experts, rest) = match t.split_once('x') {
        Some((e, r)) => (e.parse::<u32>().ok().filter(|&e| e > 0)?, r.to_owned()),
        None => (1, t),
    };
    let scale = match rest.chars().last()? {
        'b' => 1.0,
        'm' => 1e-3,
        _ => return None,
    };
    let num = &rest[..rest.len() - 1];
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    (n > 0.0).then_some(n * scale * f64::from(experts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_from_names_and_details() {
        assert_eq!(params_from_name("qwen3-4b-instruct"), Some(4.0));
        assert_eq!(params_from_name("llama-3.1-8B"), Some(8.0));
        assert_eq!(params_from_name("mixtral-8x7b"), Some(56.0));
        assert_eq!(params_from_name("qwen2.5-coder-0.5b-instruct"), Some(0.5));
        assert_eq!(params_from_name("qwen3:4b"), Some(4.0));
        assert_eq!(params_from_name("qwen3-30b-a3b"), Some(30.0));
        assert_eq!(params_from_name("phi-3-mini-4k-instruct"), None);
        assert_eq!(params_from_name("mistral-nemo"), None);
        assert_eq!(parse_params("4.0B"), Some(4.0));
        assert_eq!(parse_params("137M"), Some(0.137));
        assert_eq!(parse_params("big"), None);
    }

    #[test]
    fn filters_and_order() {
        assert!(!chat_model("nomic-embed-text:latest", "nomic-bert"));
        assert!(!chat_model("all-minilm", "bert"));
        assert!(!chat_model("llama3:8b-text-q4_0", "llama"));
        assert!(chat_model("qwen3:4b", "qwen3"));
        let m = |server, name: &str, params_b| DetectedModel {
            server,
            root: "http://x".into(),
            name: name.into(),
            params_b,
            size_bytes: None,
        };
        let mut v = vec![
            m(ServerKind::Ollama, "llama3.3:70b", 70.0),
            m(ServerKind::LlamaCpp, "some-model-8b-q4", 8.0),
            m(ServerKind::Ollama, "qwen3:4b-q8_0", 4.0),
            m(ServerKind::LmStudio, "qwen3-4b-instruct", 4.0),
            m(ServerKind::Ollama, "qwen3:3b", 3.0),
            m(ServerKind::Ollama, "qwen3:4b", 4.0),
        ];
        rank(&mut v);
        let names: Vec<&str> = v.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "qwen3:4b",
                "qwen3-4b-instruct",
                "qwen3:3b",
                "llama3.3:70b",
                "qwen3:4b-q8_0",
                "some-model-8b-q4"
            ]
        );
        assert_eq!(v[1].base_url(), "http://x/v1");
        assert_eq!(v[0].engine(), LlmEngine::Ollama);
    }
}
