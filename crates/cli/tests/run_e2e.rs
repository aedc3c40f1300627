//! `podsift run` end to end with real parts: feeds and transcripts over loopback HTTP, the
//! local model runtime (`podsift-llm`) with the SmolLM2-135M GGUF from the test assets, and a
//! real SMTP server (aiosmtpd). Skips loudly when the model, the runtime binary or aiosmtpd is
//! missing (`scripts/ci-deps` installs them in CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use podsift_testkit::{Route, Smtp, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn model() -> Option<PathBuf> {
    podsift_testkit::test_asset("smollm2-135m-instruct-q4_1.gguf")
}

fn minilm() -> Option<PathBuf> {
    podsift_testkit::test_asset("all-minilm-l6-v2/model.safetensors")
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

fn llm_bin() -> Option<PathBuf> {
    let p = Path::new(BIN).with_file_name("podsift-llm");
    p.exists().then_some(p)
}

/// The stand-in model and the runtime binary, or a loud skip.
fn local_parts() -> Option<(PathBuf, PathBuf)> {
    let parts = model().zip(llm_bin());
    if parts.is_none() {
        podsift_testkit::skip(
            "run_e2e",
            "needs the SmolLM2 test model (scripts/fetch-test-assets) and the \
             podsift-llm binary (cargo build -p podsift-llm-server)",
        );
    }
    parts
}

fn podsift(dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .arg("--allow-private-networks")
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0")
        .env("RUST_LOG", "error");
    // The digest ranks with the test copy of the embedding model; without it, the simple
    // selection (never a download from a test).
    match minilm() {
        Some(m) => cmd.env("PODSIFT_RANKING__MODEL_DIR", m),
        None => cmd.env("PODSIFT_RANKING__ENGINE", "simple"),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run podsift")
}

/// The local runtime with the stand-in model and a small context, plus `extra` settings.
fn local_env(model: &Path, llm_bin: &Path, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let base = [
        ("PODSIFT_LLM__ENGINE", "local".to_string()),
        ("PODSIFT_LLM__LOCAL_MODEL_PATH", model.display().to_string()),
        (
            "PODSIFT_LLM__LOCAL_SERVER_BIN",
            llm_bin.display().to_string(),
        ),
        ("PODSIFT_LLM__LOCAL_CONTEXT", "2048".to_string()),
        ("PODSIFT_LLM__MAX_OUTPUT_TOKENS", "600".to_string()),
        ("PODSIFT_LLM__TEMPERATURE", "0".to_string()),
    ];
    base.iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Subscribes to `feed` and runs once for 2026-11-26; the run's `--json` summary.
fn subscribe_and_run(dir: &Path, env: &[(String, String)], feed: &str) -> serde_json::Value {
    let out = podsift(dir, env, &["subscribe", feed]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = podsift(dir, env, &["run", "--json", "--date", "2026-11-26"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("run --json")
}

const VTT: &str = "WEBVTT

00:00:01.000 --> 00:00:06.000
<v Ann>The city council approved a plan to build 500 new bike lanes by 2027.

00:00:06.500 --> 00:00:12.000
<v Ann>The plan costs 40 million dollars and is paid for by a new parking fee.

00:00:12.500 --> 00:00:18.000
<v Bob>Cycling to work has doubled in the last three years in the city.
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_extracts_grounded_insights_and_emails_the_digest_once() {
    let Some((model, llm_bin)) = local_parts() else {
        return;
    };
    let Some(smtp) = Smtp::start_or_skip("run_e2e") else {
        return;
    };
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

    let dir = tempfile::tempdir().unwrap();
    let env = local_env(
        &model,
        &llm_bin,
        &[
            ("PODSIFT_EMAIL__TO", "reader@example.org".to_string()),
            ("PODSIFT_EMAIL__SMTP_HOST", "127.0.0.1".to_string()),
            ("PODSIFT_EMAIL__SMTP_PORT", smtp.port.to_string()),
            ("PODSIFT_EMAIL__TLS", "none".to_string()),
        ],
    );
    let run = subscribe_and_run(dir.path(), &env, &srv.url("/feed.xml"));
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&run["extracted"]).unwrap()
    );
    assert_eq!(run["transcripts"]["transcripts"], 1);
    let ex = &run["extracted"][0];
    assert_eq!(ex["state"], "done", "{ex}");
    let report = &ex["report"];
    assert!(
        report["prompt_tokens"].as_u64().unwrap() > 0,
        "the model was called"
    );
    assert!(report["coverage"].as_f64().unwrap() > 0.99, "{report}");

    // Whatever the small model said, only grounded insights survive: every stored quote is
    // verbatim transcript text, and its time is where that text is.
    let insights = ex["insights"].as_u64().unwrap();
    if insights == 0 {
        assert_eq!(run["digest"]["result"], "nothing_new");
        assert!(smtp.messages().is_empty(), "no email when nothing is new");
        eprintln!(
            "NOTE: SmolLM2-135M produced no grounded insight this time ({} dropped as ungrounded)",
            report["dropped_ungrounded"]
        );
        return;
    }
    assert_eq!(run["digest"]["result"], "created");
    let items = run["digest"]["digest"]["insights"].as_array().unwrap();
    for it in items {
        let quote = it["quote"].as_str().unwrap();
        let plain = "The city council approved a plan to build 500 new bike lanes by 2027. The plan costs 40 million dollars and is paid for by a new parking fee. Cycling to work has doubled in the last three years in the city.";
        assert!(
            plain.contains(quote.trim()),
            "quote not verbatim: {quote:?}"
        );
        assert!(
            it["link"]
                .as_str()
                .unwrap()
                .starts_with("https://cdn.example.com/ep1.mp3#t=")
        );
    }
    let deliveries = run["deliveries"].as_array().unwrap();
    assert!(
        deliveries
            .iter()
            .any(|d| d["channel"] == "email:reader@example.org" && d["result"] == "sent")
    );
    let msgs = smtp.messages();
    assert_eq!(msgs.len(), 1, "exactly one email");
    let m = &msgs[0];
    assert!(m.contains("multipart/alternative"), "{m}");
    assert!(m.contains("text/plain") && m.contains("text/html"));
    assert!(m.contains("List-Unsubscribe"));
    assert!(dir.path().join("digests/2026-11-26.html").exists());

    // A second run: nothing new, nothing sent twice, and the model is not called again.
    let out = podsift(dir.path(), &env, &["run", "--json", "--date", "2026-11-26"]);
    assert!(out.status.success());
    let run2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(run2["digest"]["result"], "existing");
    assert_eq!(run2["extracted"].as_array().unwrap().len(), 0);
    assert_eq!(run2["deliveries"].as_array().unwrap().len(), 0);
    assert_eq!(smtp.messages().len(), 1);
    let shown = podsift(dir.path(), &env, &["digest", "--format", "md"]);
    assert!(shown.status.success());
    assert!(String::from_utf8_lossy(&shown.stdout).contains("City Desk"));
}

/// A long episode (about 2,500 words, 14 minutes) through `podsift run` with the local
/// runtime (the SmolLM2-135M stand-in) and a small context: it takes many windows, every one of
/// them is sent, and each is read or skipped with the model's fault named, never lost or
/// refused for podsift's own overflow. (Found by this test: a repair request that overflowed
/// a filled context, and the JSON grammar's whitespace.) With a model that follows the schema
/// every window is read: the three-hour episode in `crates/insights/tests/editor.rs`; a 135M
/// model writes unusable JSON for some windows, which is what the report must then say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_reads_every_window_of_a_long_episode() {
    let Some((model, llm_bin)) = local_parts() else {
        return;
    };
    const TOPICS: [&str; 8] = [
        "the harbour authority raised docking fees by 12 percent this spring",
        "the new ferry line to the island carries 400 passengers a day",
        "fishing quotas for cod were cut in half after the survey",
        "the shipyard hired 80 welders to build two research vessels",
        "a storm in March closed the port for three days",
        "the city plans a tidal power pilot near the lighthouse",
        "container traffic grew for the fifth year in a row",
        "the maritime school opened a course on electric engines",
    ];
    let mut vtt = String::from("WEBVTT\n");
    let cues = 160;
    for i in 0..cues {
        let (a, b) = (i * 7, i * 7 + 6);
        let who = if i % 2 == 0 { "Ann" } else { "Bob" };
        vtt.push_str(&format!(
            "\n{:02}:{:02}:{:02}.000 --> {:02}:{:02}:{:02}.000\n<v {who}>In part {i} we heard that {}, and we talked it through.\n",
            a / 3600, (a / 60) % 60, a % 60, b / 3600, (b / 60) % 60, b % 60,
            TOPICS[i % TOPICS.len()]
        ));
    }
    let srv = TestServer::start().await;
    let feed = format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Harbour Radio</title><link>https://example.com/</link>
<item><title>The long one</title><guid>long-1</guid><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate>
<description>&lt;p&gt;Ann and Bob on the harbour.&lt;/p&gt;</description>
<enclosure url="https://cdn.example.com/long.mp3" type="audio/mpeg" length="1"/>
<podcast:transcript url="{}" type="text/vtt"/></item></channel></rss>"#,
        srv.url("/long.vtt")
    );
    srv.route("/feed.xml", Route::ok(feed, "application/rss+xml"));
    srv.route("/long.vtt", Route::ok(vtt, "text/vtt"));
    let dir = tempfile::tempdir().unwrap();
    let env = local_env(&model, &llm_bin, &[]);
    let run = subscribe_and_run(dir.path(), &env, &srv.url("/feed.xml"));
    let ex = &run["extracted"][0];
    assert_eq!(ex["state"], "done", "{ex}");
    let report = &ex["report"];
    let total = report["windows_total"].as_u64().unwrap();
    assert!(total >= 4, "a small context takes many windows: {report}");
    let processed = report["windows_processed"].as_u64().unwrap();
    let skipped = report["windows_skipped"].as_array().unwrap();
    assert_eq!(
        processed + skipped.len() as u64,
        total,
        "every window read or skipped with why: {report}"
    );
    assert!(processed >= 1, "{report}");
    assert!(
        report["calls"].as_u64().unwrap() >= total,
        "every window was sent: {report}"
    );
    for s in skipped {
        let why = s[1].as_str().unwrap();
        assert!(
            why.contains("invalid JSON") && !why.contains("context") && !why.contains("HTTP 400"),
            "a window is skipped only for the model's answer, never for podsift's own overflow: {why}"
        );
    }
    if skipped.is_empty() {
        assert_eq!(report["words_read"], report["words_total"], "{report}");
    } else {
        assert!(report["words_read"].as_u64() < report["words_total"].as_u64());
    }
    assert!(report["cap"].is_null());
    assert!(
        report["editor"].is_string(),
        "the editor ran or said why not: {report}"
    );
    // The run's summary carries what was read.
    let share = run["read"]["per_episode"][0]["read_share"]
        .as_f64()
        .unwrap();
    let expected = report["words_read"].as_f64().unwrap() / report["words_total"].as_f64().unwrap();
    assert!(
        (share - expected).abs() < 0.01,
        "{share} vs {expected}: {run}"
    );
    eprintln!(
        "long episode: {total} windows, {processed} read, {} skipped, {} words read of {}, {} claims, editor: {}",
        skipped.len(),
        report["words_read"],
        report["words_total"],
        report["claims"],
        report["editor"]
    );
}
