//! The judge against a scripted OpenAI-compatible judge on loopback (no API here): the rubric
//! is sent and scored, a pairwise comparison is asked in both orders, verdicts are cached
//! and replayed without a call, and a verdict neither cached nor callable is an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use podsift_eval::judge::{Judge, JudgeCache, RUBRIC_VERSION};
use podsift_insights::engines::OpenAiCompatible;
use serde_json::{Value, json};

/// Scores every insight 4 (faithful 5 when it mentions "Acme"); prefers the digest that
/// mentions "Acme", wherever it is shown.
async fn chat(State(calls): State<Arc<AtomicUsize>>, Json(body): Json<Value>) -> Json<Value> {
    calls.fetch_add(1, Ordering::SeqCst);
    let msgs = body["messages"].as_array().cloned().unwrap_or_default();
    let text = |role: &str| {
        msgs.iter()
            .find(|m| m["role"] == role)
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_owned()
    };
    let (system, user) = (text("system"), text("user"));
    assert!(system.contains("non_obvious"), "the rubric is sent");
    let answer = if system.contains("compare two daily") {
        let (a, b) = user.split_once("Digest B:").unwrap_or((&user, ""));
        let better = match (a.contains("Acme"), b.contains("Acme")) {
            (true, false) => "A",
            (false, true) => "B",
            _ => "tie",
        };
        json!({ "better": better })
    } else {
        let faithful = if user.contains("Acme") { 5 } else { 3 };
        json!({"faithful": faithful, "specific": 4, "standalone": 4, "consequence": 4, "non_obvious": 4})
    };
    Json(json!({
        "id": "j",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.to_string()},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    }))
}

#[tokio::test]
async fn the_judge_scores_compares_both_ways_and_replays_its_cache() {
    let calls = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(chat))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let engine = OpenAiCompatible::new(
        &format!("http://{addr}/v1"),
        "judge-test",
        None,
        Duration::from_secs(10),
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("judge-cache.jsonl");
    let ours = vec!["Acme raised 40 million dollars. Rivals face a richer Acme.".to_string()];
    let theirs = vec!["Big changes are coming. Watch this space.".to_string()];
    {
        let mut cache = JudgeCache::open(&path).unwrap();
        assert!(cache.is_empty());
        let mut judge = Judge::new(Some(&engine), "judge-test", &mut cache);
        let s = judge
            .score(&ours[0], "we raised forty million")
            .await
            .unwrap();
        assert_eq!(s.faithful, 5.0);
        assert!((s.mean() - 4.2).abs() < 1e-9);
        let p = judge.compare(&ours, &theirs).await.unwrap();
        assert_eq!((p.first_shown_first, p.first_shown_second), (1, 1));
        assert_eq!(p.net(), 2, "preferred in both orders");
        assert_eq!(judge.calls, 3, "one score, two orders");
        cache.save().unwrap();
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(saved.lines().count(), 3);
    assert!(saved.contains(RUBRIC_VERSION) && saved.contains("judge-test"));

    // Replayed without a model: the same verdicts, no call.
    let mut cache = JudgeCache::open(&path).unwrap();
    assert_eq!(cache.len(), 3);
    let mut replay = Judge::new(None, "judge-test", &mut cache);
    let s = replay
        .score(&ours[0], "we raised forty million")
        .await
        .unwrap();
    assert_eq!(s.faithful, 5.0);
    assert_eq!(replay.compare(&ours, &theirs).await.unwrap().net(), 2);
    assert_eq!(replay.calls, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // Something new, with no model to ask: a clear error, not a guess.
    let err = replay
        .score("Something else entirely.", "x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not in the judge cache"), "{err}");
    // Another judge model does not reuse these verdicts.
    let mut other = Judge::new(None, "another-model", &mut cache);
    assert!(
        other
            .score(&ours[0], "we raised forty million")
            .await
            .is_err()
    );
}
