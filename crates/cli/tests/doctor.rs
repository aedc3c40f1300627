//! `podsift doctor` reports the state truthfully: a fresh data directory is fine with a
//! model still to download; an API engine without its key, an LLM server or SMTP server
//! that does not answer fail with their fix and exit 1; a reachable one is ok.

use std::path::Path;
use std::process::{Command, Output};

use podsift_testkit::{Route, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn doctor(dir: &Path, env: &[(&str, String)], json: bool) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(dir)
        .arg("doctor")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env_remove("PODSIFT_CONFIG")
        .env_remove("PODSIFT_DATABASE_URL");
    if json {
        c.arg("--json");
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run podsift doctor")
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn line<'a>(out: &'a str, check: &str) -> &'a str {
    out.lines()
        .find(|l| l.get(5..).is_some_and(|rest| rest.starts_with(check)))
        .unwrap_or_else(|| panic!("no {check:?} line in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_says_what_is_there_what_will_be_downloaded_and_what_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    // Defaults: nothing is broken; the model is still to come. (The local runtime named
    // explicitly: a test build may not have built podsift-llm beside podsift.)
    let runtime = [("PODSIFT_LLM__LOCAL_SERVER_BIN", BIN.to_string())];
    let out = doctor(dir.path(), &runtime, false);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(line(&text, "database").starts_with("ok"), "{text}");
    assert!(
        line(&text, "database").contains("migrated; 0 feeds"),
        "{text}"
    );
    let llm = line(&text, "language model");
    assert!(
        llm.starts_with("note") && llm.contains("downloaded to"),
        "{text}"
    );
    assert!(line(&text, "data directory").contains("GB free"), "{text}");
    assert!(line(&text, "email").starts_with("note"), "{text}");
    assert!(line(&text, "local runtime").starts_with("ok"), "{text}");
    let missing = [(
        "PODSIFT_LLM__LOCAL_SERVER_BIN",
        dir.path().join("no-such-podsift-llm").display().to_string(),
    )];
    let out = doctor(dir.path(), &missing, false);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(line(&text, "local runtime").starts_with("FAIL"), "{text}");

    // An API engine without its key; an SMTP server that is not there.
    let smtp = closed_port();
    let mut env = vec![
        ("PODSIFT_LLM__ENGINE", "openai".to_string()),
        ("PODSIFT_LLM__MODEL", "m".to_string()),
        (
            "PODSIFT_LLM__BASE_URL",
            format!("http://127.0.0.1:{}/v1", closed_port()),
        ),
        ("PODSIFT_LLM__API_KEY_ENV", "DOCTOR_TEST_KEY".to_string()),
        ("PODSIFT_EMAIL__SMTP_HOST", "127.0.0.1".to_string()),
        ("PODSIFT_EMAIL__SMTP_PORT", smtp.to_string()),
        ("PODSIFT_EMAIL__TLS", "none".to_string()),
    ];
    let out = doctor(dir.path(), &env, false);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let llm = line(&text, "language model");
    assert!(
        llm.starts_with("FAIL") && llm.contains("DOCTOR_TEST_KEY is not set"),
        "{text}"
    );
    assert!(text.contains("fix: export DOCTOR_TEST_KEY="), "{text}");
    let email = line(&text, "email");
    assert!(
        email.starts_with("FAIL") && email.contains("cannot connect"),
        "{text}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("language model, email needs attention"),
        "{err}"
    );

    // The key set, the server still down: unreachable, said so.
    env.push(("DOCTOR_TEST_KEY", "not-a-secret".to_string()));
    let text = String::from_utf8_lossy(&doctor(dir.path(), &env, false).stdout).into_owned();
    assert!(
        line(&text, "language model").contains("cannot connect"),
        "{text}"
    );

    // A server that answers: ok (the JSON form).
    let srv = TestServer::start().await;
    srv.route("/v1/models", Route::ok("{}", "application/json"));
    env.retain(|(k, _)| *k != "PODSIFT_LLM__BASE_URL");
    env.push(("PODSIFT_LLM__BASE_URL", srv.url("/v1")));
    let out = doctor(dir.path(), &env, true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json");
    let llm = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "language model")
        .expect("llm check");
    assert_eq!(llm["status"], "ok", "{v:#}");
    assert!(
        llm["detail"].as_str().unwrap().contains("reachable"),
        "{v:#}"
    );
}
