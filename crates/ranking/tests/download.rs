//! `ensure_model_from` against a loopback server holding the test copy: the pinned sizes and
//! hashes match the real files, a verified model is not fetched again, a tampered file is
//! refused.

use podsift_ranking::{MiniLmEmbedder, RankError, ensure_model_from, test_model_dir};
use podsift_testkit::{Route, TestServer};

const FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

fn no_progress(_: &str, _: u64, _: Option<u64>) {}

#[tokio::test]
async fn downloads_verifies_and_reuses_the_model() {
    let Some(src) = test_model_dir() else {
        podsift_testkit::skip(
            module_path!(),
            "all-MiniLM-L6-v2 test copy absent; run scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer",
        );
        return;
    };
    let server = TestServer::start().await;
    for f in FILES {
        let bytes = std::fs::read(src.join(f)).unwrap();
        server.route(
            &format!("/m/{f}"),
            Route::ok(bytes, "application/octet-stream"),
        );
    }
    let cache = tempfile::tempdir().unwrap();
    let seen = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let progress = |name: &str, _done: u64, total: Option<u64>| {
        assert!(total.is_some());
        seen.lock().unwrap().insert(name.to_string());
    };
    let dir = ensure_model_from(&server.url("/m"), cache.path(), &progress)
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
    MiniLmEmbedder::load(&dir).expect("the downloaded model loads");

    let again = ensure_model_from(&server.url("/m"), cache.path(), &no_progress)
        .await
        .unwrap();
    assert_eq!(again, dir);
    for f in FILES {
        assert_eq!(server.hits(&format!("/m/{f}")), 1, "{f} fetched once");
    }
}

#[tokio::test]
async fn a_file_that_does_not_match_its_pin_is_refused() {
    let Some(src) = test_model_dir() else {
        podsift_testkit::skip(module_path!(), "all-MiniLM-L6-v2 test copy absent");
        return;
    };
    let server = TestServer::start().await;
    // Same size as the real config.json, different bytes.
    let mut config = std::fs::read(src.join("config.json")).unwrap();
    config[10] ^= 0x20;
    server.route("/m/config.json", Route::ok(config, "application/json"));
    let cache = tempfile::tempdir().unwrap();
    let err = ensure_model_from(&server.url("/m"), cache.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RankError::Download {
                retryable: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("config.json"), "{err}");
    assert!(!cache.path().join("all-minilm-l6-v2/config.json").exists());

    let empty = TestServer::start().await;
    empty.route("/m/config.json", Route::status(503));
    let err = ensure_model_from(&empty.url("/m"), cache.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
