//! The Ollama engine and model-server detection against scripted loopback servers that speak
//! Ollama's documented native API (`POST /api/chat`, `GET /api/tags`) and the OpenAI-style
//! `GET /v1/models` of LM Studio and llama.cpp's server.
//!
//! The scripted Ollama behaves as the real one does where it matters here: it counts the
//! prompt with its own tokenizer (one that digits and punctuation make longer than podsift's
//! 4-characters-a-token estimate), and when prompt plus answer exceed `options.num_ctx` it
//! cuts the prompt and reports only what it kept in `prompt_eval_count`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_core::{Llm, LlmError, LlmRequest};
use podsift_insights::engines::detect::{self, ProbeTargets, ServerKind};
use podsift_insights::engines::{self, Ollama};
use podsift_insights::resilient::{Resilient, RetryPolicy};
use serde_json::{Value, json};

#[derive(Default)]
struct Scripted {
    /// The `/api/tags` (or `/v1/models`) answer.
    listing: Value,
    /// Names `/api/chat` knows.
    installed: Vec<String>,
    /// Every `/api/chat` body received.
    chats: Mutex<Vec<Value>>,
    /// Requests whose prompt was cut to fit `num_ctx`.
    cut: Mutex<usize>,
}

/// A tokenizer that is not podsift's: a run of letters is one token per 6 letters, every
/// digit and punctuation mark is a token of its own, plus 4 tokens of chat template per
/// message.
fn real_tokens(messages: &[Value]) -> u64 {
    let mut n = 0u64;
    for m in messages {
        n += 4;
        let text = m["content"].as_str().unwrap_or_default();
        for word in text.split_whitespace() {
            let mut letters = 0u64;
            for c in word.chars() {
                if c.is_alphabetic() {
                    letters += 1;
                } else {
                    n += letters.div_ceil(6) + 1;
                    letters = 0;
                }
            }
            n += letters.div_ceil(6);
        }
    }
    n
}

async fn chat(State(s): State<Arc<Scripted>>, Json(body): Json<Value>) -> Response {
    s.chats.lock().unwrap().push(body.clone());
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !s.installed.contains(&model) {
        let error = format!("model \"{model}\" not found, try pulling it first");
        return (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response();
    }
    if body["stream"] != json!(false) {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "this script only answers stream: false"})),
        )
            .into_response();
    }
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let real = real_tokens(&messages);
    let num_ctx = body["options"]["num_ctx"].as_u64().unwrap_or(2048);
    let num_predict = body["options"]["num_predict"].as_u64().unwrap_or(128);
    // What Ollama does when the prompt does not fit: it keeps what fits, silently.
    let kept = if real + num_predict > num_ctx {
        *s.cut.lock().unwrap() += 1;
        real.min(num_ctx.saturating_sub(num_predict.min(num_ctx / 2)))
    } else {
        real
    };
    Json(json!({
        "model": model,
        "created_at": "2026-12-02T10:00:00.000000Z",
        "message": {"role": "assistant", "content": "{\"claims\": []}"},
        "done": true,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "prompt_eval_count": kept,
        "eval_count": 5,
    }))
    .into_response()
}

async fn listing(State(s): State<Arc<Scripted>>) -> Json<Value> {
    Json(s.listing.clone())
}

/// A scripted server on 127.0.0.1:0; its root URL.
async fn serve(state: Arc<Scripted>) -> String {
    let app = Router::new()
        .route("/api/chat", post(chat))
        .route("/api/tags", get(listing))
        .route("/v1/models", get(listing))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn ollama_tag(name: &str, family: &str, params: &str) -> Value {
    json!({
        "name": name, "model": name, "modified_at": "2026-11-30T09:00:00Z", "size": 2_497_293_931u64,
        "digest": "0123abcd",
        "details": {"format": "gguf", "family": family, "families": [family],
                    "parameter_size": params, "quantization_level": "Q4_K_M"},
    })
}

fn ollama_state() -> Arc<Scripted> {
    Arc::new(Scripted {
        listing: json!({"models": [
            ollama_tag("llama3.2:1b", "llama", "1.2B"),
            ollama_tag("nomic-embed-text:latest", "nomic-bert", "137M"),
            ollama_tag("bge-m3:567m-big", "bert", "5.0B"),
            ollama_tag("qwen3:4b", "qwen3", "4.0B"),
            ollama_tag("qwen3:4b-q8_0", "qwen3", "4.0B"),
        ]}),
        installed: vec!["qwen3:4b".into(), "llama3.2:1b".into()],
        ..Scripted::default()
    })
}

/// Plain speech: the estimate holds.
fn transcript(words: usize) -> String {
    let text = "so the interesting part is that people rarely measure what they change and \
                then wonder why nothing improves over the years";
    let pool: Vec<&str> = text.split(' ').collect();
    (0..words)
        .map(|i| pool[i % pool.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

fn request(user: String, max_tokens: u32) -> LlmRequest {
    LlmRequest {
        system: "You read podcast transcripts and list the claims worth knowing, as JSON. \
                 Quote the speaker exactly; never invent a claim."
            .into(),
        user,
        json_schema: Some(schema()),
        max_tokens,
        temperature: 0.3,
    }
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"claims": {"type": "array", "maxItems": 4, "items": {
            "type": "object",
            "properties": {"quote": {"type": "string"}, "claim": {"type": "string"}},
            "required": ["quote", "claim"],
        }}},
        "required": ["claims"],
    })
}

fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy {
        retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(1),
        throttle_patience: Duration::ZERO,
    }
}

#[tokio::test]
async fn chat_asks_for_the_context_it_needs_and_sends_the_schema() {
    let state = ollama_state();
    let root = serve(state.clone()).await;
    let cfg = LlmConfig {
        engine: LlmEngine::Ollama,
        base_url: Some(format!("{root}/v1/")),
        model: Some("qwen3:4b".into()),
        ollama_num_ctx: 2048,
        context_tokens: Some(32768),
        ..LlmConfig::default()
    };
    let llm = engines::from_config(&cfg).unwrap();
    assert_eq!(llm.model_id(), "ollama:qwen3:4b");
    let req = request(transcript(9000), 1200);
    let out = llm.complete(&req).await.unwrap();
    assert_eq!(out.text, "{\"claims\": []}");
    assert_eq!(out.completion_tokens, 5);

    let chats = state.chats.lock().unwrap().clone();
    assert_eq!(
        chats.len(),
        1,
        "sent to {root}/api/chat, the /v1 suffix dropped"
    );
    let body = &chats[0];
    let real = real_tokens(body["messages"].as_array().unwrap());
    assert_eq!(out.prompt_tokens, real, "prompt_eval_count is the usage");
    let num_ctx = body["options"]["num_ctx"].as_u64().unwrap();
    let num_predict = body["options"]["num_predict"].as_u64().unwrap();
    assert_eq!(num_predict, 1200);
    assert!(
        num_ctx >= real + num_predict,
        "num_ctx {num_ctx} < prompt {real} + answer {num_predict}"
    );
    assert!(
        num_ctx > 8192 && num_ctx <= 32768 && num_ctx.is_multiple_of(256),
        "{num_ctx}"
    );
    assert_eq!(body["format"], schema());
    assert_eq!(body["stream"], json!(false));
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(body["messages"][1]["content"], req.user.as_str());
    assert!((body["options"]["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    assert_eq!(*state.cut.lock().unwrap(), 0);

    // A small request asks for the configured floor, and no schema means no `format`.
    let mut small = request("hello".into(), 100);
    small.json_schema = None;
    llm.complete(&small).await.unwrap();
    let body = state.chats.lock().unwrap()[1].clone();
    assert_eq!(body["options"]["num_ctx"], 2048);
    assert!(body.get("format").is_none());
}

#[tokio::test]
async fn text_that_tokenizes_worse_is_retried_with_a_larger_context() {
    let state = ollama_state();
    let root = serve(state.clone()).await;
    let engine = Ollama::new(&root, "qwen3:4b", Duration::from_secs(5))
        .unwrap()
        .context(2048, 65536);
    // Timestamps and numbers: about three real tokens where two were estimated.
    let user: String = (0..900)
        .map(|i| format!("[00:{:02}:{:02}] B: 19.{i} or 4{i}%? ", i / 60 % 60, i % 60))
        .collect();
    let req = request(user, 800);

    // The bare engine: the cut prompt is noticed, not passed off as an answer.
    let err = engine.complete(&req).await.unwrap_err();
    assert!(
        matches!(err, LlmError::InvalidResponse(ref m) if m.contains("filled")),
        "{err}"
    );
    assert_eq!(*state.cut.lock().unwrap(), 1);

    // Behind the retry layer, the retry asks for enough.
    let llm = Resilient::new(engine, 1, fast(3));
    llm.complete(&req).await.unwrap();
    let chats = state.chats.lock().unwrap().clone();
    let last = chats.last().unwrap();
    let real = real_tokens(last["messages"].as_array().unwrap());
    let num_ctx = last["options"]["num_ctx"].as_u64().unwrap();
    assert!(num_ctx >= real + 800, "num_ctx {num_ctx}, prompt {real}");
    let first = chats[0]["options"]["num_ctx"].as_u64().unwrap();
    assert!(num_ctx > first, "{first} → {num_ctx}");
}

#[tokio::test]
async fn a_missing_model_is_permanent_with_the_pull_hint() {
    let state = ollama_state();
    let root = serve(state.clone()).await;
    let llm = Ollama::new(&root, "qwen3:8b", Duration::from_secs(5)).unwrap();
    let err = Resilient::new(llm, 1, fast(3))
        .complete(&request("hi".into(), 50))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Permanent(_)), "{err:?}");
    assert!(!err.is_retryable());
    let msg = err.to_string();
    assert!(msg.contains("run `ollama pull qwen3:8b`"), "{msg}");
    assert!(msg.contains("not found"), "{msg}");
    assert_eq!(state.chats.lock().unwrap().len(), 1, "not retried");
}

#[tokio::test]
async fn a_request_too_big_for_the_context_is_refused_before_sending() {
    let state = ollama_state();
    let root = serve(state.clone()).await;
    let cfg = LlmConfig {
        engine: LlmEngine::Ollama,
        base_url: Some(root),
        model: Some("qwen3:4b".into()),
        ..LlmConfig::default()
    };
    assert_eq!(cfg.context(), 8192);
    let llm = engines::from_config(&cfg).unwrap();
    // ~9000 estimated prompt tokens: more than the 8192 the model is run with.
    let err = llm
        .complete(&request("word ".repeat(7200), 700))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("8192"), "{err}");
    assert!(state.chats.lock().unwrap().is_empty(), "nothing sent");
}

#[tokio::test]
async fn detection_finds_usable_models_best_first() {
    let ollama = serve(ollama_state()).await;
    let lm_studio = serve(Arc::new(Scripted {
        listing: json!({"object": "list", "data": [
            {"id": "text-embedding-nomic-embed-text-v1.5", "object": "model", "owned_by": "organization_owner"},
            {"id": "llama-3.2-1b-instruct", "object": "model", "owned_by": "organization_owner"},
            {"id": "mistral-nemo", "object": "model", "owned_by": "organization_owner"},
            {"id": "mixtral-8x7b-instruct", "object": "model", "owned_by": "organization_owner"},
            {"id": "qwen3-4b-instruct-2507", "object": "model", "owned_by": "organization_owner"},
        ]}),
        ..Scripted::default()
    }))
    .await;
    // Nothing listens on llama.cpp's address: skipped within the timeout.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let targets = ProbeTargets {
        ollama: ollama.clone(),
        lm_studio: lm_studio.clone(),
        llama_cpp: closed,
    };
    let started = std::time::Instant::now();
    let found = detect::detect(&targets, detect::PROBE_TIMEOUT).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let names: Vec<(ServerKind, &str)> =
        found.iter().map(|m| (m.server, m.name.as_str())).collect();
    assert_eq!(
        names,
        [
            (ServerKind::Ollama, "qwen3:4b"),
            (ServerKind::LmStudio, "qwen3-4b-instruct-2507"),
            (ServerKind::LmStudio, "mixtral-8x7b-instruct"),
            (ServerKind::Ollama, "qwen3:4b-q8_0"),
        ]
    );
    let best = &found[0];
    assert_eq!(
        (best.engine(), best.base_url()),
        (LlmEngine::Ollama, ollama.clone())
    );
    assert_eq!(best.params_b, 4.0);
    assert_eq!(found[1].base_url(), format!("{lm_studio}/v1"));
    assert_eq!(found[2].params_b, 56.0);

    let only_ollama = detect::ollama_models(&format!("{ollama}/api"), detect::PROBE_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(only_ollama[0].name, "qwen3:4b");
    assert!(
        detect::ollama_models(&lm_studio, detect::PROBE_TIMEOUT)
            .await
            .unwrap()
            .is_empty()
    );

    // A server that does not answer within the timeout is skipped.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let quiet = ProbeTargets {
        ollama: silent_url.clone(),
        lm_studio: silent_url.clone(),
        llama_cpp: silent_url,
    };
    let started = std::time::Instant::now();
    assert!(
        detect::detect(&quiet, Duration::from_millis(300))
            .await
            .is_empty()
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "probed concurrently"
    );
}
