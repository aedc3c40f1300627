//! `podsift run` with `[llm] engine = "ollama"` and no model named, against a scripted
//! Ollama on loopback (`GET /api/tags`, `POST /api/chat`): the best installed model is
//! picked, the native chat route is used, and the summary names the engine; with nothing
//! installed the run stops with one line saying what to pull.

use std::path::Path;
use std::process::{Command, Output};

use podsift_testkit::{Route, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn podsift(dir: &Path, ollama: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .arg("--allow-private-networks")
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0")
        .env("PODSIFT_RANKING__ENGINE", "simple")
        .env("PODSIFT_LLM__ENGINE", "ollama")
        .env("PODSIFT_LLM__BASE_URL", ollama)
        .env("PODSIFT_LLM__RETRIES", "0")
        .env("RUST_LOG", "error")
        .output()
        .expect("run podsift")
}

const VTT: &str = "WEBVTT

00:00:01.000 --> 00:00:06.000
<v Ann>The city council approved a plan to build 500 new bike lanes by 2027.

00:00:06.500 --> 00:00:12.000
<v Bob>Cycling to work has doubled in the last three years in the city.
";

fn tags(models: &[(&str, &str, &str)]) -> Route {
    let models: Vec<serde_json::Value> = models
        .iter()
        .map(|(name, family, size)| {
            serde_json::json!({"name": name, "model": name, "size": 2_497_293_931u64,
                "details": {"family": family, "parameter_size": size, "quantization_level": "Q4_K_M"}})
        })
        .collect();
    Route::ok(
        serde_json::json!({ "models": models }).to_string(),
        "application/json",
    )
}

/// A feed with one episode and its transcript, subscribed in `dir`.
async fn subscribed(dir: &Path, ollama: &str) -> TestServer {
    let srv = TestServer::start().await;
    let feed = format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>City Desk</title><link>https://example.com/</link>
<item><title>Bike lanes</title><guid>ep-1</guid><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="https://cdn.example.com/ep1.mp3" type="audio/mpeg" length="1"/>
<podcast:transcript url="{}" type="text/vtt"/></item></channel></rss>"#,
        srv.url("/t1.vtt")
    );
    srv.route("/feed.xml", Route::ok(feed, "application/rss+xml"));
    srv.route("/t1.vtt", Route::ok(VTT, "text/vtt"));
    let out = podsift(dir, ollama, &["subscribe", &srv.url("/feed.xml")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    srv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_picks_the_installed_model_and_uses_the_native_api() {
    let ollama = TestServer::start().await;
    ollama.route(
        "/api/tags",
        tags(&[
            ("llama3.2:1b", "llama", "1.2B"),
            ("nomic-embed-text:latest", "nomic-bert", "137M"),
            ("qwen3:4b", "qwen3", "4.0B"),
        ]),
    );
    let answer = serde_json::json!({
        "model": "qwen3:4b", "created_at": "2026-12-02T10:00:00Z",
        "message": {"role": "assistant", "content": "{\"claims\": []}"},
        "done": true, "done_reason": "stop", "prompt_eval_count": 321, "eval_count": 7,
    });
    ollama.route(
        "/api/chat",
        Route::ok(answer.to_string(), "application/json"),
    );
    let root = ollama.url("");
    let dir = tempfile::tempdir().unwrap();
    let _feeds = subscribed(dir.path(), &root).await;

    let out = podsift(dir.path(), &root, &["run", "--date", "2026-12-02"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ollama.hits("/api/tags"), 1, "one look at what is installed");
    assert!(
        ollama.hits("/api/chat") >= 1,
        "the native chat route was used"
    );
    assert_eq!(ollama.hits("/v1/chat/completions"), 0);
    let want = format!(
        "insights: ollama qwen3:4b at {} (configured; the best model installed)",
        root.trim_end_matches('/')
    );
    assert!(
        stdout.lines().any(|l| l == want),
        "{want:?} not in\n{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_an_installed_model_says_what_to_pull() {
    let ollama = TestServer::start().await;
    ollama.route(
        "/api/tags",
        tags(&[
            ("llama3.2:1b", "llama", "1.2B"),
            ("nomic-embed-text:latest", "nomic-bert", "137M"),
        ]),
    );
    let root = ollama.url("");
    let dir = tempfile::tempdir().unwrap();
    let _feeds = subscribed(dir.path(), &root).await;

    let out = podsift(dir.path(), &root, &["run"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("ollama pull qwen3:4b"), "{stderr}");
    assert_eq!(ollama.hits("/api/chat"), 0);
}
