//! `podsift rank` on the ranking crate's two-day evaluation set, with the test copy of
//! all-MiniLM-L6-v2 (`scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn minilm() -> Option<PathBuf> {
    let dir = std::env::var_os("PODSIFT_TEST_ASSETS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/podsift-test-assets"))
        })?
        .join("all-minilm-l6-v2");
    ["config.json", "tokenizer.json", "model.safetensors"]
        .iter()
        .all(|f| dir.join(f).is_file())
        .then_some(dir)
}

/// The evaluation file without its `claim` labels (they are the test's answer key, not input).
fn day_file(dir: &Path, name: &str) -> (PathBuf, Vec<String>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ranking/eval")
        .join(name);
    let text = std::fs::read_to_string(&src).expect("read eval file");
    let mut claims = Vec::new();
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut v: Value = serde_json::from_str(line).expect("eval line");
        let claim = v
            .as_object_mut()
            .and_then(|o| o.remove("claim"))
            .and_then(|c| c.as_str().map(str::to_string))
            .unwrap_or_default();
        // The day files' short quotes stand for passages whose figures the extraction
        // checked; without them the register's source rules are not checked (not failed).
        if let Some(o) = v.as_object_mut() {
            o.remove("quote");
        }
        claims.push(claim);
        out.push_str(&v.to_string());
        out.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, out).expect("write input");
    (path, claims)
}

fn podsift(dir: &Path, model: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .args(args)
        .env_remove("PODSIFT_CONFIG")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_RANKING__MODEL_DIR", model)
        .env("RUST_LOG", "error")
        .output()
        .expect("run podsift")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "podsift failed: {}\nstdout: {}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn rank_day1_picks_five_distinct_claims_with_reasons() {
    let Some(model) = minilm() else {
        podsift_testkit::skip(
            module_path!(),
            "the MiniLM test model is absent (scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (input, claims) = day_file(dir.path(), "day1.jsonl");
    let input = input.to_str().unwrap();

    let out = ok(&podsift(
        dir.path(),
        &model,
        &["rank", "--input", input, "--json"],
    ));
    let v: Value = serde_json::from_str(&out).expect("--json parses");
    let picks = v["picks"].as_array().expect("picks");
    assert_eq!(picks.len(), 5, "{out}");
    let mut seen = std::collections::BTreeSet::new();
    for p in picks {
        let reasons = p["reasons"].as_array().expect("reasons");
        assert!(!reasons.is_empty(), "a pick without reasons: {p}");
        let idx = p["index"].as_u64().unwrap() as usize;
        assert!(
            seen.insert(claims[idx].clone()),
            "claim {} picked twice",
            claims[idx]
        );
    }
    // The story told on three shows is one pick, naming the other two.
    let uv = picks
        .iter()
        .find(|p| claims[p["index"].as_u64().unwrap() as usize] == "uv-unified")
        .expect("the three-show story is picked");
    let why = uv["reasons"].to_string();
    assert!(why.contains("said on 3 shows"), "{why}");

    // The text form shows reasons; --explain adds what was suppressed and why.
    let text = ok(&podsift(
        dir.path(),
        &model,
        &["rank", "--input", input, "--top", "5", "--explain"],
    ));
    assert!(text.contains("said on 3 shows"), "{text}");
    assert!(
        text.contains("rule standalone"),
        "every rule's result: {text}"
    );
    assert!(
        text.contains("feature editor_order"),
        "every feature's part: {text}"
    );
    assert!(text.contains("same claim as #"), "{text}");

    // Day 2 with day 1's picks as history: repeats are suppressed, five are still sent.
    let (day2, _) = day_file(dir.path(), "day2.jsonl");
    let history = dir.path().join("history.jsonl");
    let lines: String = picks
        .iter()
        .map(|p| {
            format!(
                "{}\n",
                serde_json::json!({"text": p["text"], "podcast": p["podcast"], "sent_on": "2026-11-20"})
            )
        })
        .collect();
    std::fs::write(&history, lines).unwrap();
    let out = ok(&podsift(
        dir.path(),
        &model,
        &[
            "rank",
            "--input",
            day2.to_str().unwrap(),
            "--history",
            history.to_str().unwrap(),
            "--json",
        ],
    ));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["picks"].as_array().unwrap().len(), 5, "{out}");
    let already: Vec<&Value> = v["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["reason"]["kind"] == "already_sent")
        .collect();
    assert!(!already.is_empty(), "{out}");
}

#[test]
fn rank_reports_a_bad_line_by_number() {
    let Some(model) = minilm() else {
        podsift_testkit::skip(module_path!(), "the MiniLM test model is absent");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.jsonl");
    std::fs::write(
        &input,
        "{\"text\":\"a\",\"podcast\":\"p\",\"episode\":\"e\"}\n{\"text\": 3}\n",
    )
    .unwrap();
    let out = podsift(
        dir.path(),
        &model,
        &["rank", "--input", input.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2"), "{err}");
}
