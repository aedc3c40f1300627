//! `podsift users` and `podsift serve` as a process: users round-trip through the CLI,
//! serve answers /healthz and /metrics on a port it picked, and SIGTERM ends it with exit 0
//! within a few seconds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn cmd(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .env_remove("PODSIFT_CONFIG")
        .env_remove("PODSIFT_WEBHOOK_SECRET")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        // No speech-to-text engine is ever needed here.
        .env("PODSIFT_ASR__ENGINE", "off")
        .env("RUST_LOG", "info");
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    cmd(dir).args(args).output().expect("run podsift")
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn users_add_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "users",
            "add",
            "ann@example.org",
            "--tz",
            "Europe/Berlin",
            "--at",
            "7:30",
            "--size",
            "3",
            "--interests",
            "batteries",
            "--webhook",
            "https://hooks.example.org/x",
            "--webhook-secret",
            "s3cret",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["user"]["time_zone"], "Europe/Berlin");
    assert_eq!(v["user"]["delivery_time"], "07:30");
    assert_eq!(v["user"]["digest_size"], 3);
    assert_eq!(v["user"]["channels"][0]["kind"], "webhook");
    assert!(v["feed_url"].as_str().unwrap().ends_with(".atom"));
    assert!(
        v["user"].get("feed_token").is_none(),
        "the token is not listed"
    );

    let dup = run(dir.path(), &["users", "add", "ann@example.org"]);
    assert!(!dup.status.success());
    let bad = run(
        dir.path(),
        &["users", "add", "bob@example.org", "--tz", "Mars/Base"],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("time zone"));
    let insecure = run(
        dir.path(),
        &[
            "users",
            "add",
            "bob@example.org",
            "--webhook",
            "http://hooks.example.org/x",
        ],
    );
    assert!(
        !insecure.status.success(),
        "plain http to a public host is refused"
    );
    // The SSRF guard: a webhook, Slack or Discord URL to a private, loopback or link-local
    // host is refused with a one-line error naming the host and not the secret path.
    for (flag, url) in [
        ("--webhook", "https://10.1.2.3/hook"),
        ("--slack", "https://169.254.169.254/services/T0/SECRET"),
        ("--discord", "https://[::1]/api/webhooks/SECRET"),
        ("--webhook", "https://nas.local/hook"),
    ] {
        let out = run(dir.path(), &["users", "add", "eve@example.org", flag, url]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} {url} accepted");
        assert!(err.contains("is not allowed"), "{url}: {err}");
        assert!(!err.contains("SECRET"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }

    let list = run(dir.path(), &["users", "list", "--json"]);
    let users: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(users.as_array().unwrap().len(), 1, "{users}");
    assert!(
        run(dir.path(), &["users", "remove", "ann@example.org"])
            .status
            .success()
    );
    assert!(
        !run(dir.path(), &["users", "remove", "ann@example.org"])
            .status
            .success()
    );
    let list = run(dir.path(), &["users", "list", "--json"]);
    let users: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert!(users.as_array().unwrap().is_empty());
}

/// Starts `podsift serve` on a free port; returns the child and the address it printed.
fn serve(dir: &Path) -> (Child, SocketAddr) {
    let mut child = cmd(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn podsift serve");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1) {
                let _ = tx.send(addr.trim().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve printed its address");
    (child, addr.parse().unwrap())
}

#[test]
fn serve_health_metrics_and_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path());
    let (status, body) = get(addr, "/healthz");
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, metrics) = get(addr, "/metrics");
    assert_eq!(status, 200);
    for needle in [
        "# TYPE podsift_jobs gauge",
        "podsift_feeds 0",
        "podsift_deliveries{state=\"dead\"} 0",
        "podsift_uptime_seconds ",
    ] {
        assert!(metrics.contains(needle), "no {needle:?} in\n{metrics}");
    }
    assert_eq!(get(addr, "/feeds/nope.atom").0, 404);

    let t = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("podsift serve did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("stopped {:.2} s after SIGTERM", t.elapsed().as_secs_f64());
}
