//! `LocalRuntime`: with stand-in scripts for the failure paths, and with the real
//! `podsift-llm` + SmolLM2 when both are present (skipping loudly otherwise).
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use podsift_llm_local::{LocalError, LocalOptions, LocalRuntime};
use serde_json::{Value, json};

/// A shell script standing in for podsift-llm.
fn fake_bin(dir: &Path, script: &str) -> PathBuf {
    let path = dir.join("podsift-llm");
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn opts(dir: &Path, bin: PathBuf) -> LocalOptions {
    let model = dir.join("m.gguf");
    std::fs::write(&model, b"GGUF").unwrap();
    let mut o = LocalOptions::new(model);
    o.bin = Some(bin);
    o.startup_timeout = Duration::from_secs(5);
    o
}

#[tokio::test]
async fn a_child_that_dies_reports_its_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(
        dir.path(),
        "echo 'cannot load model: bad magic' >&2; exit 3",
    );
    let err = LocalRuntime::start(opts(dir.path(), bin))
        .await
        .unwrap_err();
    assert!(matches!(err, LocalError::Exited { .. }), "{err}");
    assert!(err.to_string().contains("bad magic"), "{err}");
}

#[tokio::test]
async fn a_silent_child_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path(), "exec sleep 30");
    let mut o = opts(dir.path(), bin);
    o.startup_timeout = Duration::from_millis(300);
    let err = LocalRuntime::start(o).await.unwrap_err();
    assert!(matches!(err, LocalError::StartupTimeout { .. }), "{err}");
}

#[tokio::test]
async fn an_unexpected_first_line_is_a_handshake_error() {
    let dir = tempfile::tempdir().unwrap();
    let bin = fake_bin(dir.path(), "echo hello; exec sleep 30");
    let err = LocalRuntime::start(opts(dir.path(), bin))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LocalError::Handshake(ref l) if l == "hello"),
        "{err}"
    );
}

#[tokio::test]
async fn arguments_are_passed_and_the_url_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let args = dir.path().join("args");
    let bin = fake_bin(
        dir.path(),
        &format!(
            "echo \"$@\" > {}; echo 'listening on http://127.0.0.1:45678'; exec sleep 30",
            args.display()
        ),
    );
    let mut o = opts(dir.path(), bin);
    o.threads = 3;
    o.ctx = 2048;
    let rt = LocalRuntime::start(o).await.unwrap();
    assert_eq!(rt.base_url(), "http://127.0.0.1:45678/v1");
    let got = std::fs::read_to_string(&args).unwrap();
    assert!(
        got.contains("--listen 127.0.0.1:0 --threads 3 --ctx 2048"),
        "{got}"
    );
    assert!(got.starts_with("--model "), "{got}");
    rt.shutdown().await;
}

#[tokio::test]
async fn missing_binary_and_model_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = opts(dir.path(), dir.path().join("nope"));
    let err = LocalRuntime::start(o.clone()).await.unwrap_err();
    assert!(matches!(err, LocalError::BinaryNotFound { .. }), "{err}");
    o.model = dir.path().join("missing.gguf");
    let err = LocalRuntime::start(o).await.unwrap_err();
    assert!(matches!(err, LocalError::ModelNotFound(_)), "{err}");
}

/// `target/debug/podsift-llm` (built by `cargo build -p podsift-llm-server`; scripts/test
/// builds it before the tests), or `PODSIFT_LLM_BIN`.
fn real_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PODSIFT_LLM_BIN") {
        return Some(PathBuf::from(p));
    }
    // This test runs as target/<profile>/deps/runtime-HASH.
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("podsift-llm");
    if bin.is_file() {
        Some(bin)
    } else {
        podsift_testkit::skip(
            module_path!(),
            &format!(
                "{} not built (run `cargo build -p podsift-llm-server` first; scripts/test does)",
                bin.display()
            ),
        );
        None
    }
}

fn smollm2() -> Option<PathBuf> {
    let dir = std::env::var_os("PODSIFT_TEST_ASSETS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/podsift-test-assets"))
        })?;
    let path = dir.join("smollm2-135m-instruct-q4_1.gguf");
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

#[tokio::test]
async fn real_server_answers_through_the_runtime_and_dies_with_it() {
    let (Some(bin), Some(model)) = (real_binary(), smollm2()) else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut o = LocalOptions::new(model);
    o.bin = Some(bin);
    o.threads = 1;
    o.ctx = 1024;
    o.startup_timeout = Duration::from_secs(60);
    let rt = LocalRuntime::start(o).await.unwrap();
    let base = rt.base_url();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{base}"
    );
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = json!({
        "messages": [{"role": "user", "content": "Say hello."}],
        "max_tokens": 5,
        "temperature": 0
    });
    let text = client
        .post(format!("{base}/chat/completions"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let resp: Value = serde_json::from_str(&text).unwrap();
    assert!(
        resp["choices"][0]["message"]["content"].is_string(),
        "{resp}"
    );
    assert!(resp["usage"]["completion_tokens"].as_u64().unwrap() >= 1);

    let health = format!("{}/health", rt.root_url());
    drop(rt);
    // Killed on drop: the port stops answering.
    let mut gone = false;
    for _ in 0..100 {
        if client.get(&health).send().await.is_err() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        gone,
        "podsift-llm still answers after LocalRuntime was dropped"
    );
}
