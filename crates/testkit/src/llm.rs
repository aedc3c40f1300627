//! A scripted OpenAI-compatible chat API on loopback, for what a real model cannot be made
//! to do on demand: answer instantly (benchmarks of the pipeline's own overhead) or throttle
//! (a storm of `429 Retry-After`). Its one insight per request quotes the first transcript
//! line of the excerpt it was sent (`[hh:mm:ss] text`), so the insight is grounded.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What the server saw and did.
#[derive(Debug, Default)]
pub struct LlmStats {
    pub requests: AtomicUsize,
    pub throttled: AtomicUsize,
    pub answered: AtomicUsize,
}

struct Script {
    /// Of every `period` requests, the first `throttle` are answered 429.
    throttle: usize,
    period: usize,
    /// How long each answer takes.
    latency: std::time::Duration,
    stats: Arc<LlmStats>,
}

/// A running scripted API; `base_url()` is what `[llm] base_url` takes.
pub struct ScriptedLlm {
    pub addr: SocketAddr,
    pub stats: Arc<LlmStats>,
}

impl ScriptedLlm {
    /// Answers every request at once.
    pub async fn start() -> Self {
        Self::serve(0, 1, std::time::Duration::ZERO).await
    }

    /// Answers every request after `latency` (a model that takes its time).
    pub async fn slow(latency: std::time::Duration) -> Self {
        Self::serve(0, 1, latency).await
    }

    /// Of every `period` requests the first `throttle` get `429 Retry-After: 1`.
    pub async fn throttling(throttle: usize, period: usize) -> Self {
        Self::serve(throttle, period, std::time::Duration::ZERO).await
    }

    async fn serve(throttle: usize, period: usize, latency: std::time::Duration) -> Self {
        let stats = Arc::new(LlmStats::default());
        let script = Arc::new(Script {
            throttle,
            period: period.max(1),
            latency,
            stats: stats.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the scripted LLM");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(chat))
            .with_state(script);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, stats }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.stats.requests.load(Ordering::SeqCst)
    }

    pub fn throttled(&self) -> usize {
        self.stats.throttled.load(Ordering::SeqCst)
    }
}

async fn chat(State(s): State<Arc<Script>>, Json(body): Json<serde_json::Value>) -> Response {
    let n = s.stats.requests.fetch_add(1, Ordering::SeqCst);
    if n % s.period < s.throttle {
        s.stats.throttled.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            "rate limited",
        )
            .into_response();
    }
    tokio::time::sleep(s.latency).await;
    let user = body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let system = body["messages"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["role"] == "system"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("");
    let content = if is_editor_request(system) {
        echo_editor_answer(user)
    } else {
        let excerpt = user.split("Transcript excerpt:\n").nth(1).unwrap_or("");
        let line = excerpt
            .lines()
            .find(|l| l.starts_with('['))
            .and_then(|l| l.split_once("] "))
            .map(|(_, t)| t)
            .unwrap_or("");
        let quote: Vec<&str> = line.split_whitespace().take(10).collect();
        let quote = quote.join(" ");
        // A claim in the digest's register (two sentences, not a copy of its quote, saying
        // what follows), so the ranking's register check lets it through.
        let opening: Vec<&str> = quote.split_whitespace().take(5).collect();
        serde_json::json!({"claims": [{
            "quote": quote,
            "claim": format!(
                "One speaker reported \"{}\" at this point of the programme. Listeners who \
                 follow the subject gain a concrete detail to weigh, and anyone deciding on it \
                 can now check the source.",
                opening.join(" ")
            ),
            "speaker": null, "kind": "fact", "topics": ["news"]
        }]})
    };
    s.stats.answered.fetch_add(1, Ordering::SeqCst);
    Json(serde_json::json!({
        "id": format!("c{n}"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content.to_string()},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 200, "completion_tokens": 40, "total_tokens": 240}
    }))
    .into_response()
}

/// Whether podsift sent `system` to its editor (reduce) rather than to read a window (map).
pub fn is_editor_request(system: &str) -> bool {
    system.contains("You are the editor of")
}

/// An editor's answer that keeps every claim of the message as it is: one insight per
/// `[Cn] ...` / `Claim: ...` pair, citing it.
pub fn echo_editor_answer(user: &str) -> serde_json::Value {
    let mut insights = Vec::new();
    let mut id: Option<String> = None;
    for line in user.lines() {
        if let Some(rest) = line.strip_prefix("[C")
            && let Some((n, _)) = rest.split_once(']')
        {
            id = Some(format!("C{n}"));
        } else if let Some(claim) = line.strip_prefix("Claim: ")
            && let Some(id) = id.take()
        {
            insights.push(serde_json::json!({
                "claims": [id], "text": claim, "reason": "Kept as found.", "topics": ["news"]
            }));
        }
    }
    serde_json::json!({ "insights": insights })
}
