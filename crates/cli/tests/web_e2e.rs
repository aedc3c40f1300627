//! The web UI end to end in real headless Chromium: `podsift serve` on a free port with
//! loopback feeds, transcripts and audio, users made with `podsift users add --password-stdin`,
//! and `e2e/web.mjs` driving Debian's chromium through playwright-core: sign in, add a feed,
//! wait for the service to read it, make the digest, jump to an insight's moment (the audio
//! element's `currentTime`), 👎 an insight and see the next digest change, search, and get
//! 404 on another user's feed and episode. Screenshots of every page go to
//! `$CARGO_TARGET_TMPDIR/web-e2e/`.
//!
//! The insight model is a scripted OpenAI-compatible endpoint on loopback (the engine code is
//! the real one): this test checks the web UI, and needs insights every time; `run_e2e.rs`
//! covers the local model. Skips LOUDLY without chromium, node or `e2e/node_modules`
//! (`scripts/ci-deps` installs them).

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use podsift_testkit::{Route, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");
const PASSWORD: &str = "e2e password 123";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("PODSIFT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.exists().then_some(p)
}

fn node_ready() -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    node && repo_root()
        .join("e2e/node_modules/playwright-core/package.json")
        .exists()
}

const VTT: &str = "WEBVTT

00:00:01.000 --> 00:00:06.000
<v Ann>The city council approved a plan to build 500 new bike lanes by 2027.

00:00:12.000 --> 00:00:18.000
<v Ann>The plan costs 40 million dollars and is paid for by a new parking fee.

00:00:25.000 --> 00:00:31.000
<v Bob>Cycling to work has doubled in the last three years in the city.
";

/// The scripted model's answer for every window: three grounded insights.
fn chat_answer() -> String {
    let insights = serde_json::json!({"insights": [
        {"text": "The city council approved 500 new bike lanes, to be built by 2027.",
         "quote": "The city council approved a plan to build 500 new bike lanes by 2027.",
         "speaker": "Ann", "topics": ["cycling"], "importance": 0.9, "novelty": 0.7, "specificity": 0.9},
        {"text": "A new parking fee pays for the 40 million dollar cycling plan.",
         "quote": "The plan costs 40 million dollars and is paid for by a new parking fee.",
         "speaker": "Ann", "topics": ["budget"], "importance": 0.8, "novelty": 0.6, "specificity": 0.8},
        {"text": "Cycling to work in the city has doubled in three years.",
         "quote": "Cycling to work has doubled in the last three years in the city.",
         "speaker": "Bob", "topics": ["cycling"], "importance": 0.7, "novelty": 0.5, "specificity": 0.7}
    ]});
    serde_json::json!({
        "id": "e2e", "object": "chat.completion", "model": "scripted",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": insights.to_string()}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50}
    })
    .to_string()
}

/// 40 s of quiet 8 kHz mono PCM: something the browser can load and seek.
fn wav() -> Vec<u8> {
    let rate: u32 = 8000;
    let samples = rate * 40;
    let mut w = Vec::with_capacity(44 + samples as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + samples).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&rate.to_le_bytes()); // byte rate (8-bit mono)
    w.extend_from_slice(&1u16.to_le_bytes()); // block align
    w.extend_from_slice(&8u16.to_le_bytes()); // bits
    w.extend_from_slice(b"data");
    w.extend_from_slice(&samples.to_le_bytes());
    w.extend((0..samples).map(|i| 128u8.wrapping_add(((i / 20) % 3) as u8)));
    w
}

fn feed(srv: &TestServer, name: &str, show: &str) -> String {
    let xml = format!(
        r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>{show}</title><link>https://example.com/{name}</link><language>en</language>
<item><title>Bike lanes and budgets ({name})</title><guid>{name}-ep-1</guid>
<pubDate>Mon, 23 Nov 2026 10:00:00 +0000</pubDate>
<description>&lt;p&gt;Show notes &lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</description>
<enclosure url="{}" type="audio/wav" length="320044"/>
<podcast:transcript url="{}" type="text/vtt"/></item></channel></rss>"#,
        srv.url("/audio.wav"),
        srv.url(&format!("/{name}.vtt"))
    );
    srv.route(
        &format!("/{name}.xml"),
        Route::ok(xml, "application/rss+xml"),
    );
    srv.route(&format!("/{name}.vtt"), Route::ok(VTT, "text/vtt"));
    srv.url(&format!("/{name}.xml"))
}

fn podsift(dir: &Path, srv: &TestServer) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        // The service refuses --allow-private-networks: the loopback test servers are let
        // through as an administrator would let a home server through.
        .env("PODSIFT_HTTP__ALLOW_HOSTS", r#"["127.0.0.1"]"#)
        .env_remove("PODSIFT_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_ASR__ENGINE", "off")
        .env("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0")
        .env("PODSIFT_LLM__ENGINE", "openai")
        .env("PODSIFT_LLM__BASE_URL", srv.url("/v1"))
        .env("PODSIFT_LLM__MODEL", "scripted")
        .env("PODSIFT_LLM__API_KEY_ENV", "E2E_SCRIPTED_LLM_KEY")
        .env("E2E_SCRIPTED_LLM_KEY", "not-a-secret")
        .env("PODSIFT_RANKING__ENGINE", "simple")
        .env("RUST_LOG", "info");
    c
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        podsift_testkit::skip(
            "web_e2e",
            "no chromium at /usr/bin/chromium (or $PODSIFT_CHROMIUM); \
             scripts/ci-deps installs Debian's chromium",
        );
        return;
    };
    if !node_ready() {
        podsift_testkit::skip(
            "web_e2e",
            "node or e2e/node_modules/playwright-core missing; run \
             `npm ci --prefix e2e` (scripts/ci-deps does)",
        );
        return;
    }
    let srv = TestServer::start().await;
    let ann_feed = feed(&srv, "city", "City Desk");
    let bob_feed = feed(&srv, "bobs", "Bob's Show");
    srv.route("/audio.wav", Route::ok(wav(), "audio/wav"));
    srv.route(
        "/v1/chat/completions",
        Route::ok(chat_answer(), "application/json"),
    );

    let dir = tempfile::tempdir().unwrap();
    for email in ["ann@example.org", "bob@example.org"] {
        let mut child = podsift(dir.path(), &srv)
            .args(["users", "add", email, "--password-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "users add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let mut child = podsift(dir.path(), &srv)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn podsift serve");
    let stderr = child.stderr.take().unwrap();
    let serve = Serve(child);
    let (tx, rx) = std::sync::mpsc::channel();
    let log_path = dir.path().join("serve.log");
    let mut log = std::fs::File::create(&log_path).unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let addr: SocketAddr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("serve printed its address")
        .parse()
        .unwrap();

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-e2e");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    let script = repo_root().join("e2e/web.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .current_dir(repo_root().join("e2e"))
        .env("BASE_URL", format!("http://{addr}"))
        .env("CHROMIUM", &chromium)
        .env("SHOTS", &shots)
        .env("ANN", "ann@example.org")
        .env("BOB", "bob@example.org")
        .env("PASSWORD", PASSWORD)
        .env("ANN_FEED", &ann_feed)
        .env("BOB_FEED", &bob_feed)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), out)
        .await
        .expect("the browser script finished within 5 minutes")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    drop(serve);
    if !out.status.success() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "web e2e failed:\n{stdout}\n{stderr}\n--- serve log (last lines) ---\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    eprintln!("{stdout}");
    let report: serde_json::Value = serde_json::from_str(
        stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .expect("the script's JSON report"),
    )
    .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    for name in [
        "01-login.png",
        "03-subscriptions.png",
        "05-digest.png",
        "06-episode.png",
        "08-next-digest.png",
        "09-search.png",
        "11-other-users-episode-404.png",
    ] {
        assert!(shots.join(name).exists(), "screenshot {name}");
    }
    eprintln!("screenshots: {}", shots.display());
}

fn users_cmd(dir: &Path, srv: &TestServer, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = podsift(dir, srv)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `users add --password-stdin` and `users passwd` set the web UI password (checked by
/// signing in through `podsift serve`'s API); a short one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_from_stdin_sign_in_to_the_api() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = users_cmd(
        dir.path(),
        &srv,
        &["users", "add", "cy@example.org", "--password-stdin"],
        "short\n",
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8"));
    let out = users_cmd(
        dir.path(),
        &srv,
        &["users", "add", "cy@example.org", "--password-stdin"],
        "first password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = users_cmd(
        dir.path(),
        &srv,
        &["users", "passwd", "nobody@example.org"],
        "long enough pw\n",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user"));
    assert!(!out.status.success());

    let mut child = podsift(dir.path(), &srv)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let _serve = Serve(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let sign_in = |password: &str| {
        let body = serde_json::json!({"email": "cy@example.org", "password": password}).to_string();
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut s, &mut text).unwrap();
        text.split_whitespace().nth(1).unwrap_or("").to_string()
    };
    assert_eq!(sign_in("first password"), "201");
    assert_eq!(sign_in("wrong password"), "422");
    let out = users_cmd(
        dir.path(),
        &srv,
        &["users", "passwd", "cy@example.org"],
        "second password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sign_in("first password"), "422");
    assert_eq!(sign_in("second password"), "201");
}
