//! `podsift run` is one pass of the pipeline `podsift serve` loops: a run killed with SIGKILL
//! in the middle of reading an episode, or of transcribing one, leaves its job leased; the
//! next run takes the job over when the lease runs out and finishes the episode. And
//! `podsift --user EMAIL run` makes that user's digest with their size and channels.
//! Feeds, transcripts and audio are served over loopback, the model is the scripted
//! OpenAI-compatible API, email goes to aiosmtpd, speech-to-text is whisper.cpp.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use podsift_testkit::{Route, ScriptedLlm, Smtp, TestServer};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn command(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .arg("--allow-private-networks")
        .args(args)
        .env_remove("PODSIFT_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0")
        .env("PODSIFT_RANKING__ENGINE", "simple")
        .env("PODSIFT_LLM__ENGINE", "openai")
        .env("PODSIFT_LLM__MODEL", "scripted")
        .env("PODSIFT_LLM__TIMEOUT_SECS", "60")
        // A killed run's job is taken over 2 s after its last heartbeat.
        .env("PODSIFT_SERVICE__JOB_LEASE_SECS", "2")
        .env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "podsift failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn podsift(dir: &Path, env: &[(&str, String)], args: &[&str]) -> String {
    ok(command(dir, env, args).output().expect("run podsift"))
}

fn jobs(dir: &Path, env: &[(&str, String)]) -> Vec<Value> {
    let out = podsift(dir, env, &["jobs", "--json"]);
    serde_json::from_str::<Value>(&out)
        .expect("jobs --json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `podsift run` in the background, to be killed.
fn spawn_run(dir: &Path, env: &[(&str, String)]) -> Child {
    command(dir, env, &["run", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn podsift run")
}

/// The job of `kind`, once it is running (claimed by the run being watched).
fn wait_running(dir: &Path, env: &[(&str, String)], kind: &str, run: &mut Child) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(job) = jobs(dir, env)
            .into_iter()
            .find(|j| j["kind"] == kind && j["state"] == "running")
        {
            return job;
        }
        if let Ok(Some(status)) = run.try_wait() {
            panic!("the run ended ({status}) before a {kind} job was running");
        }
        assert!(Instant::now() < deadline, "no {kind} job ever ran");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Kills the run with SIGKILL and checks the kill landed while `job` was still running.
fn kill_mid_job(dir: &Path, env: &[(&str, String)], mut run: Child, job: &Value) {
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run finished before the kill"
    );
    run.kill().expect("SIGKILL");
    let status = run.wait().unwrap();
    assert!(!status.success(), "killed: {status}");
    let after = jobs(dir, env);
    let held = after.iter().find(|j| j["id"] == job["id"]).unwrap();
    assert_eq!(held["state"], "running", "the kill landed mid-job: {held}");
}

/// After the rerun the job is done, and it is the same job taken over (a second attempt).
fn assert_taken_over(dir: &Path, env: &[(&str, String)], job: &Value) {
    let after = jobs(dir, env);
    let j = after.iter().find(|j| j["id"] == job["id"]).unwrap();
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(j["attempts"], 2, "taken over once: {j}");
    assert!(
        after
            .iter()
            .all(|j| j["state"] == "done" || j["kind"] == "fetch_chapters"),
        "nothing left: {after:?}"
    );
}

fn vtt(lines: &[&str]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (i, l) in lines.iter().enumerate() {
        out.push_str(&format!(
            "00:00:{:02}.000 --> 00:00:{:02}.000\n<v Host>{l}\n\n",
            i * 10 + 1,
            i * 10 + 9
        ));
    }
    out
}

/// A feed of `episodes` (title, transcript path or none, audio path).
fn feed(srv: &TestServer, title: &str, episodes: &[(&str, Option<&str>, &str)]) -> String {
    let mut items = String::new();
    for (i, (name, transcript, audio)) in episodes.iter().enumerate() {
        let transcript = transcript
            .map(|p| {
                format!(
                    r#"<podcast:transcript url="{}" type="text/vtt"/>"#,
                    srv.url(p)
                )
            })
            .unwrap_or_default();
        items.push_str(&format!(
            r#"<item><title>{name}</title><guid>{title}-{i}</guid>
<pubDate>Mon, 0{} Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="{}" type="audio/mpeg" length="1"/>{transcript}</item>"#,
            i + 1,
            srv.url(audio)
        ));
    }
    format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>{title}</title><link>https://example.com/</link><language>en-us</language>{items}</channel></rss>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_while_reading_an_episode_is_finished_by_the_next_run() {
    // Each answer takes 30 s: the first run is surely still reading when it is killed.
    let slow = ScriptedLlm::slow(Duration::from_secs(30)).await;
    let fast = ScriptedLlm::start().await;
    let srv = TestServer::start().await;
    srv.route(
        "/t1.vtt",
        Route::ok(
            vtt(&["The city bought 40 electric buses for 12 million euros."]),
            "text/vtt",
        ),
    );
    let xml = feed(&srv, "Transit", &[("Buses", Some("/t1.vtt"), "/a1.mp3")]);
    srv.route("/feed.xml", Route::ok(xml, "application/rss+xml"));
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let env = vec![("PODSIFT_ASR__ENGINE", "off".to_string())];
    podsift(dir, &env, &["subscribe", &srv.url("/feed.xml")]);

    let mut slow_env = env.clone();
    slow_env.push(("PODSIFT_LLM__BASE_URL", slow.base_url()));
    let mut run = spawn_run(dir, &slow_env);
    let job = wait_running(dir, &env, "extract_insights", &mut run);
    let deadline = Instant::now() + Duration::from_secs(30);
    while slow.requests() == 0 {
        assert!(Instant::now() < deadline, "the model was never asked");
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_mid_job(dir, &env, run, &job);

    let mut fast_env = env.clone();
    fast_env.push(("PODSIFT_LLM__BASE_URL", fast.base_url()));
    let out = podsift(dir, &fast_env, &["run", "--json", "--date", "2026-12-01"]);
    let report: Value = serde_json::from_str(&out).expect("run --json");
    let extracted = report["extracted"].as_array().unwrap();
    assert_eq!(extracted.len(), 1, "{report:#}");
    assert_eq!(extracted[0]["state"], "done", "{report:#}");
    assert_eq!(report["digest"]["result"], "created", "{report:#}");
    // How much of it was read travels with the run's JSON (issue 13).
    assert_eq!(report["read"]["episodes"], 1, "{report:#}");
    assert!(
        report["read"]["per_episode"][0]["read_share"].is_number(),
        "{report:#}"
    );
    assert!(fast.requests() >= 1);
    assert_taken_over(dir, &env, &job);
}

/// About a minute of speech (espeak-ng), as MP3.
fn speech_mp3(work: &Path, espeak: &Path, ffmpeg: &Path) -> Vec<u8> {
    let text = "The harbour authority will dredge the north channel next spring. \
                The work costs eight million euros and closes the ferry for six weeks. "
        .repeat(10);
    let wav = work.join("speech.wav");
    let status = Command::new(espeak)
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(&text)
        .status()
        .unwrap();
    assert!(status.success());
    let mp3 = work.join("speech.mp3");
    let status = Command::new(ffmpeg)
        .args(["-nostdin", "-y", "-loglevel", "error", "-i"])
        .arg(&wav)
        .args([
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "32k",
        ])
        .arg(&mp3)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(&mp3).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_while_transcribing_is_finished_by_the_next_run() {
    let Some(podsift_testkit::SpeechInputs {
        model,
        vad,
        espeak,
        ffmpeg,
    }) = podsift_testkit::speech_inputs("resume")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let mp3 = speech_mp3(work.path(), &espeak, &ffmpeg);
    let llm = ScriptedLlm::start().await;
    let srv = TestServer::start().await;
    srv.route("/a1.mp3", Route::ok(mp3, "audio/mpeg"));
    let xml = feed(&srv, "Harbour", &[("Dredging", None, "/a1.mp3")]);
    srv.route("/feed.xml", Route::ok(xml, "application/rss+xml"));
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let env = vec![
        ("PODSIFT_ASR__MODEL_PATH", model.display().to_string()),
        ("PODSIFT_ASR__VAD_MODEL_PATH", vad.display().to_string()),
        ("PODSIFT_ASR__THREADS", "1".to_string()),
        ("PODSIFT_ASR__CHUNK_SECS", "20".to_string()),
        ("PODSIFT_LLM__BASE_URL", llm.base_url()),
    ];
    podsift(dir, &env, &["subscribe", &srv.url("/feed.xml")]);

    let mut run = spawn_run(dir, &env);
    let job = wait_running(dir, &env, "transcribe", &mut run);
    // The audio is on loopback: a moment after the claim, whisper.cpp is at work.
    std::thread::sleep(Duration::from_millis(1500));
    kill_mid_job(dir, &env, run, &job);
    assert_eq!(llm.requests(), 0, "nothing was read before the kill");

    let out = podsift(dir, &env, &["run", "--json", "--date", "2026-12-01"]);
    let report: Value = serde_json::from_str(&out).expect("run --json");
    assert_eq!(report["speech_to_text"]["done"], 1, "{report:#}");
    let extracted = report["extracted"].as_array().unwrap();
    assert_eq!(extracted.len(), 1, "{report:#}");
    assert_eq!(extracted[0]["state"], "done", "{report:#}");
    assert_taken_over(dir, &env, &job);
    let transcript = podsift(dir, &env, &["transcript", "1"]).to_lowercase();
    assert!(
        transcript.contains("ferry") && transcript.contains("spring"),
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_as_a_user_makes_their_digest_with_their_size_and_channels() {
    let Some(smtp) = Smtp::start_or_skip("resume") else {
        return;
    };
    let llm = ScriptedLlm::start().await;
    let srv = TestServer::start().await;
    srv.route("/hook", Route::ok("ok", "text/plain"));
    let lines = [
        "The port will add 3 new cranes by March.",
        "Rents in the old town rose 9 percent this year.",
        "The council cut the bus fare to 1 euro for students.",
    ];
    let mut urls = Vec::new();
    for (f, pair) in [(0, &lines[..2]), (1, &lines[2..])] {
        let mut eps = Vec::new();
        for (i, line) in pair.iter().enumerate() {
            let path = format!("/f{f}-{i}.vtt");
            srv.route(&path, Route::ok(vtt(&[line]), "text/vtt"));
            eps.push((format!("Episode {f}-{i}"), path, format!("/f{f}-{i}.mp3")));
        }
        let eps: Vec<(&str, Option<&str>, &str)> = eps
            .iter()
            .map(|(t, p, a)| (t.as_str(), Some(p.as_str()), a.as_str()))
            .collect();
        let xml = feed(&srv, &format!("Town {f}"), &eps);
        srv.route(
            &format!("/feed{f}.xml"),
            Route::ok(xml, "application/rss+xml"),
        );
        urls.push(srv.url(&format!("/feed{f}.xml")));
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let env = vec![
        ("PODSIFT_ASR__ENGINE", "off".to_string()),
        ("PODSIFT_LLM__BASE_URL", llm.base_url()),
        ("PODSIFT_EMAIL__SMTP_HOST", "127.0.0.1".to_string()),
        ("PODSIFT_EMAIL__SMTP_PORT", smtp.port.to_string()),
        ("PODSIFT_EMAIL__TLS", "none".to_string()),
    ];
    let hook = srv.url("/hook");
    podsift(
        dir,
        &env,
        &[
            "users",
            "add",
            "bob@example.org",
            "--size",
            "1",
            "--webhook",
            &hook,
        ],
    );
    let mut subscribe = vec!["--user", "bob@example.org", "subscribe"];
    subscribe.extend(urls.iter().map(String::as_str));
    podsift(dir, &env, &subscribe);

    let out = podsift(
        dir,
        &env,
        &[
            "--user",
            "bob@example.org",
            "run",
            "--json",
            "--date",
            "2026-12-01",
        ],
    );
    let report: Value = serde_json::from_str(&out).expect("run --json");
    assert_eq!(
        report["extracted"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    assert_eq!(report["digest"]["result"], "created", "{report:#}");
    let picked = report["digest"]["digest"]["insights"].as_array().unwrap();
    assert_eq!(
        picked.len(),
        1,
        "bob's digest size, of 3 candidates: {report:#}"
    );
    let deliveries = report["deliveries"].as_array().unwrap();
    let sent = |prefix: &str| {
        deliveries.iter().any(|d| {
            d["result"] == "sent" && d["channel"].as_str().unwrap_or("").starts_with(prefix)
        })
    };
    assert!(sent("email:bob@example.org"), "{deliveries:?}");
    assert!(sent("webhook"), "{deliveries:?}");
    assert!(
        !sent("file:"),
        "a user's digest is not the local files: {deliveries:?}"
    );
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert_eq!(srv.hits("/hook"), 1);
    let mail = smtp.messages();
    assert_eq!(mail.len(), 1);
    assert!(
        podsift_testkit::smtp::header(&mail[0], "To")
            .is_some_and(|to| to.contains("bob@example.org")),
        "{}",
        mail[0]
    );
}
