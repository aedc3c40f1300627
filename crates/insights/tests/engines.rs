//! The engines against a scripted loopback server speaking the OpenAI and Anthropic APIs:
//! what a real provider does not do on cue (429s, 500s, stalls, broken bodies).

use std::time::{Duration, Instant};

use podsift_core::{Llm, LlmError, LlmRequest};
use podsift_insights::engines::{Anthropic, OpenAiCompatible};
use podsift_insights::resilient::{Resilient, RetryPolicy};
use podsift_insights::{Secret, prompt};
use podsift_testkit::{Route, TestServer};

const KEY: &str = "sk-test-SECRET-0123456789";
const PATH: &str = "/v1/chat/completions";

fn req() -> LlmRequest {
    LlmRequest {
        system: "system".into(),
        user: "user".into(),
        json_schema: Some(prompt::schema(4)),
        max_tokens: 100,
        temperature: 0.2,
    }
}

fn openai_ok(content: &str) -> Route {
    let body = serde_json::json!({
        "id": "x",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 123, "completion_tokens": 45, "total_tokens": 168},
    });
    Route::ok(body.to_string(), "application/json")
}

fn openai(server: &TestServer, timeout: Duration) -> OpenAiCompatible {
    OpenAiCompatible::new(
        &server.url("/v1/"),
        "test-model",
        Some(Secret::new(KEY)),
        timeout,
    )
    .unwrap()
}

fn fast(retries: u32) -> RetryPolicy {
    RetryPolicy {
        retries,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(2),
        throttle_patience: Duration::ZERO,
    }
}

#[tokio::test]
async fn openai_success_sends_key_schema_and_reads_usage() {
    let server = TestServer::start().await;
    server.route(PATH, openai_ok("{\"insights\": []}"));
    let llm = openai(&server, Duration::from_secs(5));
    assert_eq!(llm.model_id(), "openai:test-model");
    let body = llm.body(&req());
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(body["messages"][0]["role"], "system");
    let r = llm.complete(&req()).await.unwrap();
    assert_eq!(r.text, "{\"insights\": []}");
    assert_eq!((r.prompt_tokens, r.completion_tokens), (123, 45));
    let sent = server.requests(PATH);
    assert_eq!(
        sent[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    // Local servers need no key: no Authorization header at all.
    let local =
        OpenAiCompatible::new(&server.url("/v1"), "m", None, Duration::from_secs(5)).unwrap();
    local.complete(&req()).await.unwrap();
    assert_eq!(server.requests(PATH)[1].header("authorization"), None);
}

#[tokio::test]
async fn rate_limited_with_retry_after_then_success() {
    let server = TestServer::start().await;
    server.route(
        PATH,
        Route::sequence(vec![Route::status(429).retry_after("1"), openai_ok("{}")]),
    );
    let bare = openai(&server, Duration::from_secs(5));
    // The bare engine reports the 429 with its Retry-After.
    let e = bare.complete(&req()).await.unwrap_err();
    assert_eq!(
        e,
        LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(1))
        }
    );
    // (A fresh path: a sequence follows the path's hit count.)
    let path = "/r/chat/completions";
    server.route(
        path,
        Route::sequence(vec![Route::status(429).retry_after("1"), openai_ok("{}")]),
    );
    let engine =
        OpenAiCompatible::new(&server.url("/r"), "m", None, Duration::from_secs(5)).unwrap();
    let llm = Resilient::new(engine, 1, fast(3));
    let started = Instant::now();
    let r = llm.complete(&req()).await.unwrap();
    assert_eq!(r.text, "{}");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(server.hits(path), 2, "429, then success");
}

#[tokio::test]
async fn server_errors_then_success_and_persistent_failure() {
    let server = TestServer::start().await;
    server.route(
        PATH,
        Route::sequence(vec![
            Route::status(500),
            Route::status(503),
            openai_ok("{}"),
        ]),
    );
    let llm = Resilient::new(openai(&server, Duration::from_secs(5)), 1, fast(3));
    assert!(llm.complete(&req()).await.is_ok());
    assert_eq!(server.hits(PATH), 3);

    server.route("/down/chat/completions", Route::status(500));
    let down = Resilient::new(
        OpenAiCompatible::new(&server.url("/down"), "m", None, Duration::from_secs(5)).unwrap(),
        1,
        fast(2),
    );
    let e = down.complete(&req()).await.unwrap_err();
    assert!(matches!(e, LlmError::Server { status: 500, .. }), "{e:?}");
    assert!(e.is_retryable());
    assert_eq!(
        server.hits("/down/chat/completions"),
        3,
        "1 + 2 retries, then given up"
    );
}

#[tokio::test]
async fn stalled_response_times_out() {
    let server = TestServer::start().await;
    server.route(PATH, Route::stall());
    let llm = openai(&server, Duration::from_millis(500));
    let started = Instant::now();
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(matches!(e, LlmError::Timeout { .. }), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Stalling before the headers, too.
    server.route(PATH, openai_ok("{}").delay(Duration::from_secs(5)));
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(matches!(e, LlmError::Timeout { .. }), "{e:?}");
}

#[tokio::test]
async fn broken_bodies_are_invalid_responses() {
    let server = TestServer::start().await;
    let llm = openai(&server, Duration::from_secs(5));
    server.route(
        PATH,
        Route::ok(
            "{\"choices\": [{\"message\": {\"content\": \"x",
            "application/json",
        ),
    );
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(
        matches!(e, LlmError::InvalidResponse(_)),
        "truncated JSON: {e:?}"
    );
    server.route(PATH, Route::ok("<html>Bad gateway</html>", "text/html"));
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(matches!(e, LlmError::InvalidResponse(_)), "non-JSON: {e:?}");
    server.route(
        PATH,
        Route::ok("{\"object\": \"list\"}", "application/json"),
    );
    assert!(matches!(
        llm.complete(&req()).await,
        Err(LlmError::InvalidResponse(_))
    ));
    // More than the 4 MB cap.
    server.route(PATH, Route::huge(5 * 1024 * 1024));
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(
        matches!(&e, LlmError::InvalidResponse(m) if m.contains("larger")),
        "{e:?}"
    );
}

#[tokio::test]
async fn refusals_are_permanent_and_the_key_never_shows() {
    let server = TestServer::start().await;
    let echo = format!("{{\"error\": {{\"message\": \"Incorrect API key provided: {KEY}\"}}}}");
    server.route(PATH, Route::ok(echo, "application/json").header("x", "y"));
    // A 200 with an error object is not an answer.
    let llm = openai(&server, Duration::from_secs(5));
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains(KEY));
    for code in [400u16, 401, 403, 404] {
        server.route(PATH, Route::status(code));
        let e = llm.complete(&req()).await.unwrap_err();
        assert!(matches!(e, LlmError::Permanent(_)), "{code}: {e:?}");
        assert!(!e.is_retryable());
        assert!(!format!("{e} {e:?}").contains(KEY));
    }
    assert!(
        !format!("{llm:?}").contains(KEY),
        "Debug of the engine hides the key"
    );
    let anth = Anthropic::new(
        &server.url(""),
        "claude",
        Secret::new(KEY),
        Duration::from_secs(5),
    )
    .unwrap();
    assert!(!format!("{anth:?}").contains(KEY));
    let wrapped = Resilient::new(anth, 1, fast(0));
    assert!(!format!("{wrapped:?}").contains(KEY));
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let llm = OpenAiCompatible::new(
        &format!("http://127.0.0.1:{port}/v1"),
        "m",
        None,
        Duration::from_secs(2),
    )
    .unwrap();
    let e = llm.complete(&req()).await.unwrap_err();
    assert!(matches!(e, LlmError::Transport(_)), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn anthropic_forced_tool_use() {
    let server = TestServer::start().await;
    let answer = serde_json::json!({
        "id": "msg_1", "type": "message", "role": "assistant",
        "content": [
            {"type": "text", "text": "Recording."},
            {"type": "tool_use", "id": "t1", "name": "record_insights",
             "input": {"insights": [{"text": "T.", "quote": "Q", "speaker": null, "topics": [],
                                     "importance": 0.5, "novelty": 0.5, "specificity": 0.5, "is_ad": false}]}}
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 321, "output_tokens": 54}
    });
    server.route(
        "/v1/messages",
        Route::ok(answer.to_string(), "application/json"),
    );
    let llm = Anthropic::new(
        &server.url("/"),
        "claude-x",
        Secret::new(KEY),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(llm.model_id(), "anthropic:claude-x");
    let body = llm.body(&req());
    assert_eq!(body["tool_choice"]["name"], "record_insights");
    assert_eq!(body["tools"][0]["input_schema"]["required"][0], "claims");
    let r = llm.complete(&req()).await.unwrap();
    let parsed = podsift_insights::parse::parse_answer(&r.text).unwrap();
    assert_eq!(parsed.claims[0].claim, "T.");
    assert_eq!((r.prompt_tokens, r.completion_tokens), (321, 54));
    let sent = &server.requests("/v1/messages")[0];
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    // Overloaded (529) is a retryable server error; 429 carries Retry-After.
    server.route("/v1/messages", Route::status(529));
    assert!(matches!(
        llm.complete(&req()).await,
        Err(LlmError::Server { status: 529, .. })
    ));
    server.route("/v1/messages", Route::status(429).retry_after("3"));
    assert_eq!(
        llm.complete(&req()).await.unwrap_err().retry_after(),
        Some(Duration::from_secs(3))
    );
}

#[tokio::test]
async fn body_cut_off_mid_way_is_invalid() {
    let server = TestServer::start().await;
    // Content-Length 1000, ten bytes, then the connection dies when the server stops.
    server.route(PATH, Route::stall());
    let llm = openai(&server, Duration::from_secs(10));
    let call = tokio::spawn(async move { llm.complete(&req()).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(server);
    let e = call.await.unwrap().unwrap_err();
    assert!(
        matches!(e, LlmError::InvalidResponse(_) | LlmError::Transport(_)),
        "{e:?}"
    );
    assert!(e.is_retryable());
}

/// An API that redirects (to another origin) gets neither the key nor the prompt sent on:
/// the redirect is not followed, and the error says so.
#[tokio::test]
async fn redirects_are_not_followed_with_the_key_or_the_prompt() {
    let elsewhere = TestServer::start().await;
    elsewhere.route(PATH, openai_ok("{}"));
    elsewhere.route("/v1/messages", openai_ok("{}"));
    let server = TestServer::start().await;
    for status in [301, 302, 307, 308] {
        server.route(PATH, Route::redirect(status, &elsewhere.url(PATH)));
        let err = openai(&server, Duration::from_secs(5))
            .complete(&req())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("redirect"), "{status}: {err}");
        assert!(!err.is_retryable(), "{status}");
        server.route(
            "/v1/messages",
            Route::redirect(status, &elsewhere.url("/v1/messages")),
        );
        let anth = Anthropic::new(
            &server.url("/"),
            "claude",
            Secret::new(KEY),
            Duration::from_secs(5),
        )
        .unwrap();
        let err = anth.complete(&req()).await.unwrap_err();
        assert!(err.to_string().contains("redirect"), "{status}: {err}");
    }
    assert_eq!(
        elsewhere.total_requests(),
        0,
        "nothing reached the other origin"
    );
}
