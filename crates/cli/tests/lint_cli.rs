//! `podsift lint`: the register check on candidate lines, per line, with why; the source
//! rules "not checked" on a line without a quote; exit 1 when a line fails; and the golden set
//! separated at the rates BENCHMARKS.md gives.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn lint(args: &[&str]) -> Output {
    // No data directory is needed: run it from an empty one to prove it.
    let dir = tempfile::tempdir().unwrap();
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("lint")
        .args(args)
        .env_remove("PODSIFT_CONFIG")
        .output()
        .expect("run podsift")
}

#[test]
fn lint_names_each_failed_rule_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("c.jsonl");
    let lines = [
        serde_json::json!({"text": "The studio's new deal pays the voice actors' union 8 % of streaming revenue instead of a flat fee. That ties actors' income to a title's success, and gives the union a reason to promote the shows it once boycotted.", "podcast": "P", "episode": "E", "quote": "the union gets eight percent of streaming revenue rather than a flat fee"}),
        serde_json::json!({"text": "The host and the guest discuss big changes ahead.", "podcast": "P", "episode": "E"}),
        serde_json::json!({"text": "The studio's new deal pays the union 12 % of streaming revenue instead of a flat fee. That ties actors' income to a title's success, and gives the union a reason to promote the shows.", "podcast": "P", "episode": "E", "quote": "the union gets eight percent of streaming revenue"}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&input, body).unwrap();
    let path = input.to_str().unwrap();

    let out = lint(&[path]);
    assert_eq!(out.status.code(), Some(1), "a failing line exits 1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("line 1: The studio's new deal"), "{text}");
    assert!(text.contains("  pass"), "{text}");
    assert!(text.contains("standalone: says \"the host\""), "{text}");
    assert!(text.contains("shape: 1 sentence"), "{text}");
    assert!(
        text.contains("not checked (no quote): faithful, not_copy"),
        "{text}"
    );
    assert!(text.contains("faithful: the figure 12"), "{text}");
    assert!(text.contains("3 lines: 1 pass, 2 fail."), "{text}");

    let out = lint(&[path, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("--json");
    assert_eq!(v["passed"], 1);
    assert_eq!(v["lines"][1]["verdict"]["results"][3]["rule"], "faithful");
    assert_eq!(
        v["lines"][1]["verdict"]["results"][3]["outcome"],
        "not_checked"
    );
    assert_eq!(v["lines"][2]["pass"], false);

    let missing = lint(&["/nonexistent/c.jsonl"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn lint_separates_the_golden_references_from_the_weak_ones() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/golden");
    let mut refs = (0usize, 0usize);
    let mut weak = (0usize, 0usize);
    for entry in std::fs::read_dir(&golden).unwrap() {
        let path = entry.unwrap().path();
        let out = lint(&[path.to_str().unwrap(), "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).expect("--json");
        let r = &v["references_passed"];
        let w = &v["weak_failed"];
        refs.0 += r[0].as_u64().unwrap() as usize;
        refs.1 += r[1].as_u64().unwrap() as usize;
        weak.0 += w[0].as_u64().unwrap() as usize;
        weak.1 += w[1].as_u64().unwrap() as usize;
    }
    eprintln!("references passing {refs:?}, weak failing {weak:?}");
    assert!(refs.1 >= 70 && weak.1 >= 120);
    assert!(refs.0 * 100 >= refs.1 * 95, "{refs:?}");
    assert!(weak.0 * 100 >= weak.1 * 95, "{weak:?}");
}
