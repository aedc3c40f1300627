//! Shared by the CLI test targets: the `podsift` binary on a private data directory, its
//! output checks, and loopback feed builders.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_podsift");

/// Run podsift with a private data dir; loopback allowed unless `strict`.
pub fn podsift(dir: &Path, args: &[&str]) -> Output {
    podsift_env(dir, args, true, &[])
}

pub fn podsift_env(dir: &Path, args: &[&str], allow_private: bool, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir").arg(dir).arg("--quiet");
    if allow_private {
        cmd.arg("--allow-private-networks");
    }
    cmd.args(args)
        .env_remove("PODSIFT_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0")
        .env("PODSIFT_HTTP__RETRIES", "0")
        .env("PODSIFT_HTTP__TIMEOUT_SECS", "3")
        .env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run podsift")
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "podsift failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn fails(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "podsift should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(
        err.lines().count(),
        1,
        "one-line error expected, got: {err}"
    );
    err
}

pub fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("valid JSON")
}

pub fn item(n: u32, transcript: Option<(&str, &str)>, title: &str) -> String {
    let t = transcript
        .map(|(url, ty)| format!(r#"<podcast:transcript url="{url}" type="{ty}" language="en"/>"#))
        .unwrap_or_default();
    format!(
        r#"<item><title>{title}</title><guid isPermaLink="false">ep-{n}</guid>
<pubDate>Mon, {n:02} Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="https://cdn.example.com/ep{n}.mp3" type="audio/mpeg" length="1000"/>
<itunes:duration>{n}:30</itunes:duration>{t}</item>"#
    )
}

pub fn feed(title: &str, items: &[String], extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>{title}</title><link>https://example.com/</link><language>en</language>{extra}
{}
</channel></rss>"#,
        items.join("\n")
    )
}

pub const VTT: &str = "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Alice>The union now gets eight percent of streaming revenue.\n\n00:00:04.500 --> 00:00:08.000\n<v Bob>That ties income to success.\n";
pub const SRT: &str = "1\n00:00:00,000 --> 00:00:02,000\nCarol: Hello from the fourth episode.\n";

pub fn episodes(dir: &Path) -> Vec<Value> {
    json(&podsift(dir, &["episodes", "--json"]))
        .as_array()
        .cloned()
        .unwrap_or_default()
}
