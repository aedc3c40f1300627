//! Runs the real `podsift-llm` binary with SmolLM2-135M (fetched by `scripts/fetch-test-assets`)
//! and talks to it over HTTP. Skips loudly when the model is absent.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const MODEL_FILE: &str = "smollm2-135m-instruct-q4_1.gguf";
/// Small, so an over-long prompt is cheap to build.
const CTX: u32 = 1024;

fn model_path() -> Option<PathBuf> {
    let dir = std::env::var_os("PODSIFT_TEST_ASSETS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/podsift-test-assets"))
        })?;
    let path = dir.join(MODEL_FILE);
    if path.is_file() {
        Some(path)
    } else {
        podsift_testkit::skip(
            module_path!(),
            &format!(
                "test model not found at {} (run scripts/fetch-test-assets)",
                path.display()
            ),
        );
        None
    }
}

/// Starts the binary and returns it with its base URL. One thread: the machine running the
/// tests may be shared, and ggml threads spin at barriers, so 2 threads on 2 busy cores are
/// far slower than 1.
fn spawn(model: &PathBuf) -> (Child, String) {
    spawn_with(model, &[])
}

/// [`spawn`] with more command-line arguments.
fn spawn_with(model: &PathBuf, extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_podsift-llm"))
        .arg("--model")
        .arg(model)
        .args(["--ctx", &CTX.to_string(), "--threads", "1"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, url)
}

/// One server shared by the tests of this binary (it exits when this process ends and its
/// stdin pipe closes).
fn server() -> Option<&'static str> {
    static SERVER: OnceLock<Option<(Child, String)>> = OnceLock::new();
    SERVER
        .get_or_init(|| model_path().map(|m| spawn(&m)))
        .as_ref()
        .map(|(_, url)| url.as_str())
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn chat(url: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{url}/v1/chat/completions"))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn health_and_models() {
    let Some(url) = server() else { return };
    let health: Value = client()
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["n_ctx"], CTX);
    let models: Value = client()
        .get(format!("{url}/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "smollm2-135m-instruct-q4_1");
}

#[tokio::test]
async fn json_schema_output_parses_and_fits_the_schema() {
    let Some(url) = server() else { return };
    // Bounded strings, item count and an integer range keep the answer short enough for a
    // small max_tokens, so the grammar always completes.
    let schema = json!({
        "type": "object",
        "properties": {
            "insights": {
                "type": "array",
                "minItems": 1,
                "maxItems": 2,
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string", "maxLength": 40},
                        "quote": {"type": "string", "maxLength": 40},
                        "importance": {"type": "integer", "minimum": 1, "maximum": 5}
                    },
                    "required": ["text", "quote", "importance"]
                }
            }
        },
        "required": ["insights"]
    });
    let body = json!({
        "model": "whatever",
        "messages": [
            {"role": "system", "content": "You extract insights from podcast transcripts as JSON."},
            {"role": "user", "content": "Transcript: Sleep is when the brain clears waste. Most adults need seven to nine hours. Caffeine stays in the body for many hours."}
        ],
        "max_tokens": 200,
        "temperature": 0,
        "seed": 1,
        "response_format": {"type": "json_schema", "json_schema": {"name": "insights", "schema": schema, "strict": true}}
    });
    let started = Instant::now();
    let (status, resp) = chat(url, &body).await;
    assert_eq!(status, 200, "{resp}");
    let content = resp["choices"][0]["message"]["content"].as_str().unwrap();
    eprintln!("json_schema answer in {:?}: {content}", started.elapsed());
    assert_eq!(resp["choices"][0]["finish_reason"], "stop", "{resp}");
    let parsed: Value = serde_json::from_str(content).unwrap();
    let insights = parsed["insights"].as_array().unwrap();
    assert!((1..=2).contains(&insights.len()), "{parsed}");
    for i in insights {
        assert!(i["text"].is_string(), "{i}");
        assert!(i["quote"].is_string(), "{i}");
        let imp = i["importance"].as_i64().unwrap();
        assert!((1..=5).contains(&imp), "{i}");
    }
    assert!(resp["usage"]["prompt_tokens"].as_u64().unwrap() > 10);
    assert!(resp["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        resp["usage"]["total_tokens"].as_u64().unwrap(),
        resp["usage"]["prompt_tokens"].as_u64().unwrap()
            + resp["usage"]["completion_tokens"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn json_object_mode_returns_an_object() {
    let Some(url) = server() else { return };
    let body = json!({
        "messages": [{"role": "user", "content": "Give a JSON object with a field name."}],
        "max_tokens": 60,
        "temperature": 0,
        "response_format": {"type": "json_object"}
    });
    let (status, resp) = chat(url, &body).await;
    assert_eq!(status, 200, "{resp}");
    let content = resp["choices"][0]["message"]["content"].as_str().unwrap();
    // The grammar guarantees a JSON object prefix; when cut by max_tokens it may be unfinished.
    assert!(content.trim_start().starts_with('{'), "{content}");
    if resp["choices"][0]["finish_reason"] == "stop" {
        assert!(serde_json::from_str::<Value>(content).unwrap().is_object());
    }
}

#[tokio::test]
async fn greedy_text_is_deterministic_and_max_tokens_is_honoured() {
    let Some(url) = server() else { return };
    let body = json!({
        "messages": [{"role": "user", "content": "Name three colours."}],
        "max_tokens": 8,
        "temperature": 0
    });
    let (s1, a) = chat(url, &body).await;
    let (s2, b) = chat(url, &body).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(
        a["choices"][0]["message"]["content"],
        b["choices"][0]["message"]["content"]
    );
    let n = a["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=8).contains(&n), "{a}");
    if n == 8 {
        assert_eq!(a["choices"][0]["finish_reason"], "length");
    }
}

/// podsift's windows of one episode share a long system prompt: the second request reuses its
/// KV cache, and greedy output is the same as a fresh server's.
#[tokio::test]
async fn prompt_cache_reuses_the_shared_prefix_without_changing_the_answer() {
    let Some(model) = model_path() else { return };
    // Servers of their own: the shared one serves other tests in between.
    let (_cached_child, cached) = spawn_with(&model, &[]);
    let (_fresh_child, fresh) = spawn_with(&model, &["--no-prompt-cache"]);
    let system = format!(
        "You extract insights from podcast transcripts. {}",
        "Each insight is one standalone sentence with a verbatim quote from the transcript. "
            .repeat(25)
    );
    let request = |window: &str| {
        json!({
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": format!("Transcript: {window}")}
            ],
            "max_tokens": 24,
            "temperature": 0
        })
    };
    let first = request("Sleep is when the brain clears waste. Most adults need seven hours.");
    let second = request("Caffeine stays in the body for many hours after an afternoon coffee.");
    let cached_tokens = |v: &Value| v["usage"]["prompt_tokens_details"]["cached_tokens"].as_u64();

    let (status, a) = chat(&cached, &first).await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(cached_tokens(&a), Some(0), "{a}");
    let (status, b) = chat(&cached, &second).await;
    assert_eq!(status, 200, "{b}");
    let reused = cached_tokens(&b).unwrap();
    let prompt = b["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(reused > 200 && reused < prompt, "{b}");

    let (status, c) = chat(&fresh, &second).await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(cached_tokens(&c), Some(0), "{c}");
    assert_eq!(c["usage"]["prompt_tokens"].as_u64(), Some(prompt), "{c}");
    assert_eq!(
        b["choices"][0]["message"]["content"], c["choices"][0]["message"]["content"],
        "the cached prefix changed the greedy answer"
    );

    // The same request again: all of it but the last, partial batch comes from the cache.
    let (status, d) = chat(&cached, &second).await;
    assert_eq!(status, 200, "{d}");
    let again = cached_tokens(&d).unwrap();
    assert!(again >= reused && again < prompt, "{d}");
    assert_eq!(
        d["choices"][0]["message"]["content"],
        c["choices"][0]["message"]["content"]
    );
}

#[tokio::test]
async fn over_long_prompt_is_a_400_not_a_truncation() {
    let Some(url) = server() else { return };
    let long = "podcast insight ".repeat(2000); // ~4000 tokens > CTX
    let body = json!({"messages": [{"role": "user", "content": long}], "max_tokens": 4});
    let (status, resp) = chat(url, &body).await;
    assert_eq!(status, 400, "{resp}");
    let msg = resp["error"]["message"].as_str().unwrap();
    assert!(msg.contains("context"), "{msg}");

    // Fits alone but not with max_tokens: also refused.
    let body = json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": CTX});
    let (status, resp) = chat(url, &body).await;
    assert_eq!(status, 400, "{resp}");
}

#[tokio::test]
async fn malformed_requests_are_400() {
    let Some(url) = server() else { return };
    let c = client();
    for body in [
        "not json at all".to_string(),
        "{\"messages\": 3}".to_string(),
        "{}".to_string(),
        json!({"messages": [{"role": "user", "content": "x"}], "stream": true}).to_string(),
        json!({"messages": [{"role": "user", "content": "x"}],
               "response_format": {"type": "json_schema", "json_schema": {"schema": "nope"}}})
        .to_string(),
    ] {
        let resp = c
            .post(format!("{url}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{body}");
        let v: Value = resp.json().await.unwrap();
        assert!(v["error"]["message"].is_string(), "{v}");
    }
    // Bodies beyond the limit are refused before parsing.
    let huge = "x".repeat(5 * 1024 * 1024);
    let resp = c
        .post(format!("{url}/v1/chat/completions"))
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);
}

#[test]
fn exits_when_stdin_closes() {
    let Some(model) = model_path() else { return };
    let (mut child, _url) = spawn(&model);
    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "podsift-llm still running after stdin closed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn missing_model_fails_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_podsift-llm"))
        .args(["--model", "/nonexistent/model.gguf"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("model file not found"));
}
