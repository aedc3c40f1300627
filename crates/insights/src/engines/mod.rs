//! Remote LLM engines behind core's [`Llm`] port, and what they share: the HTTP client,
//! the body cap and the status → error mapping; [`detect`] finds model servers already
//! running on this machine.
//!
//! LLM endpoints come from the user's own configuration and are very often on the user's own
//! machine or network (Ollama on `localhost:11434`, llama.cpp's server, vLLM on a home GPU
//! box). They are therefore deliberately NOT routed through podsift-fetch's SSRF guard, which
//! exists for URLs that come from untrusted feeds.

pub mod anthropic;
pub mod detect;
pub mod ollama;
pub mod openai;

use std::sync::Once;
use std::time::Duration;

use podsift_core::LlmError;
use podsift_core::config::{LlmConfig, LlmEngine};

use crate::secret::Secret;

pub use anthropic::Anthropic;
pub use ollama::Ollama;
pub use openai::OpenAiCompatible;

/// Largest response body read from a model API.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Why an engine could not be built from the configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineConfigError {
    #[error(
        "llm.engine = {0:?} is not a remote engine (use \"openai\", \"anthropic\" or \"ollama\")"
    )]
    /// The engine name is not openai, anthropic or ollama.
    UnknownEngine(String),
    #[error("llm.model is required for the {0} engine")]
    /// No model named.
    MissingModel(String),
    #[error("environment variable {0} (llm.api_key_env) is not set")]
    /// The key's environment variable is unset.
    MissingKey(String),
    #[error("cannot build the HTTP client: {0}")]
    /// reqwest could not build a client.
    Client(String),
}

/// Builds the engine named by `cfg.engine` (`openai`, `anthropic` or `ollama`), reading the
/// API key from the environment variable `cfg.api_key_env` when one is named (Ollama takes
/// none). Ollama needs `cfg.model` here too: picking an installed one is the caller's job
/// (see [`detect`]).
pub fn from_config(cfg: &LlmConfig) -> Result<Box<dyn podsift_core::Llm>, EngineConfigError> {
    let key = match cfg.api_key_env.as_deref().filter(|v| !v.is_empty()) {
        Some(var) => {
            Some(Secret::new(std::env::var(var).map_err(|_| {
                EngineConfigError::MissingKey(var.to_owned())
            })?))
        }
        None => None,
    };
    let model = cfg
        .model
        .clone()
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| EngineConfigError::MissingModel(cfg.engine.to_string()))?;
    let timeout = Duration::from_secs(cfg.timeout_secs.max(1));
    match cfg.engine {
        LlmEngine::Openai => Ok(Box::new(OpenAiCompatible::new(
            cfg.base_url.as_deref().unwrap_or(openai::DEFAULT_BASE_URL),
            &model,
            key,
            timeout,
        )?)),
        LlmEngine::Anthropic => {
            let key = key.ok_or_else(|| {
                EngineConfigError::MissingKey("llm.api_key_env (e.g. ANTHROPIC_API_KEY)".into())
            })?;
            Ok(Box::new(Anthropic::new(
                cfg.base_url
                    .as_deref()
                    .unwrap_or(anthropic::DEFAULT_BASE_URL),
                &model,
                key,
                timeout,
            )?))
        }
        LlmEngine::Ollama => Ok(Box::new(
            Ollama::new(
                cfg.base_url.as_deref().unwrap_or(ollama::DEFAULT_BASE_URL),
                &model,
                timeout,
            )?
            .context(cfg.ollama_num_ctx, cfg.context()),
        )),
        other @ LlmEngine::Local => Err(EngineConfigError::UnknownEngine(other.to_string())),
    }
}

/// Installs ring as rustls' crypto provider once (reqwest is built without one); another
/// crate having installed one first is fine.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, EngineConfigError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .user_agent(concat!("podsift/", env!("CARGO_PKG_VERSION")))
        // Never follow a redirect: a hop to another origin would carry the prompt (the
        // transcript) and, for `x-api-key`, the key, which reqwest strips only as
        // `Authorization`. A 3xx is an error naming where it pointed.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| EngineConfigError::Client(e.to_string()))
}

/// POSTs `body` as JSON and returns the parsed JSON answer, mapping every failure to an
/// [`LlmError`]. `key` is only used to scrub error messages.
pub(crate) async fn post_json(
    req: reqwest::RequestBuilder,
    body: &serde_json::Value,
    timeout: Duration,
    key: Option<&Secret>,
) -> Result<serde_json::Value, LlmError> {
    let payload = serde_json::to_vec(body)
        .map_err(|e| LlmError::Permanent(format!("cannot encode the request: {e}")))?;
    let seconds = timeout.as_secs().max(1);
    let fut = async {
        let resp = req
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(payload)
            .send()
            .await
            .map_err(|e| map_reqwest(&e, seconds))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = read_capped(resp, seconds).await?;
        Ok::<_, LlmError>((status, retry_after, bytes))
    };
    // reqwest's timeout covers the body too; the outer one is a backstop.
    let (status, retry_after, bytes) = tokio::time::timeout(timeout + Duration::from_secs(1), fut)
        .await
        .map_err(|_| LlmError::Timeout { seconds })??;
    let scrub = |s: String| match key {
        Some(k) => k.redact(&s),
        None => s,
    };
    if !(200..300).contains(&status) {
        let message = scrub(error_message(&bytes));
        return Err(match status {
            429 => LlmError::RateLimited { retry_after },
            408 => LlmError::Timeout { seconds },
            500..=599 => LlmError::Server { status, message },
            300..=399 => LlmError::Permanent(format!(
                "HTTP {status}: the API answered with a redirect, which podsift does not follow \
                 (the request carries the key and the transcript); set base_url to the final URL"
            )),
            _ => LlmError::Permanent(format!("HTTP {status}: {message}")),
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        LlmError::InvalidResponse(scrub(format!(
            "not JSON ({e}): {}",
            crate::text::truncate(&String::from_utf8_lossy(&bytes), 200)
        )))
    })
}

async fn read_capped(mut resp: reqwest::Response, seconds: u64) -> Result<Vec<u8>, LlmError> {
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(LlmError::InvalidResponse(format!(
            "response larger than {MAX_RESPONSE_BYTES} bytes"
        )));
    }
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| map_reqwest(&e, seconds))? {
        if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(LlmError::InvalidResponse(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

fn map_reqwest(e: &reqwest::Error, seconds: u64) -> LlmError {
    if e.is_timeout() {
        LlmError::Timeout { seconds }
    } else if e.is_connect() {
        LlmError::Transport(format!("connection failed: {}", describe(e)))
    } else if e.is_body() || e.is_decode() {
        LlmError::InvalidResponse(format!("body cut short: {}", describe(e)))
    } else {
        LlmError::Transport(describe(e))
    }
}

/// The error and its sources, without the URL (which may carry a key in its query).
fn describe(e: &reqwest::Error) -> String {
    let mut out = match e.url() {
        Some(u) => e.to_string().replace(u.as_str(), "<url>"),
        None => e.to_string(),
    };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    crate::text::truncate(&out, 300).to_owned()
}

/// `Retry-After`: delay seconds or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The provider's error message (`{"error": {"message": ..}}` in both APIs), else the body.
fn error_message(bytes: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str().map(str::to_owned))
        });
    let msg = from_json.unwrap_or_else(|| String::from_utf8_lossy(bytes).trim().to_owned());
    crate::text::truncate(&msg, 300).to_owned()
}

/// Trims the trailing `/` of a base URL.
pub(crate) fn base(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            error_message(br#"{"error":{"message":"Invalid model"}}"#),
            "Invalid model"
        );
        assert_eq!(error_message(b"plain"), "plain");
    }

    #[test]
    fn config_errors() {
        let mut cfg = LlmConfig {
            engine: LlmEngine::Openai,
            ..LlmConfig::default()
        };
        assert!(matches!(
            from_config(&cfg),
            Err(EngineConfigError::MissingModel(_))
        ));
        cfg.model = Some("m".into());
        cfg.api_key_env = Some("PODSIFT_TEST_SURELY_UNSET_KEY_VAR".into());
        assert!(matches!(
            from_config(&cfg),
            Err(EngineConfigError::MissingKey(_))
        ));
        cfg.api_key_env = None;
        assert_eq!(from_config(&cfg).unwrap().model_id(), "openai:m");
        // A boxed engine goes behind the retry layer.
        let wrapped = crate::Resilient::boxed_from_config(from_config(&cfg).unwrap(), &cfg);
        assert_eq!(podsift_core::Llm::model_id(&wrapped), "openai:m");
        cfg.engine = LlmEngine::Ollama;
        cfg.base_url = Some("http://127.0.0.1:9/v1/".into());
        assert_eq!(from_config(&cfg).unwrap().model_id(), "ollama:m");
        cfg.engine = LlmEngine::Local;
        assert!(matches!(
            from_config(&cfg),
            Err(EngineConfigError::UnknownEngine(_))
        ));
    }
}
