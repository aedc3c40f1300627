//! `ensure_model` against loopback servers: testkit's for plain answers, a small axum server
//! of our own for byte ranges (testkit's routes ignore `Range`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use podsift_llm_local::{LocalError, ModelSpec, ensure_model};
use podsift_testkit::{Route, TestServer};
use sha2::{Digest, Sha256};

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn spec(url: String, body: &[u8]) -> ModelSpec {
    ModelSpec {
        name: "model.gguf".into(),
        url: url.into(),
        sha256: hex::encode(Sha256::digest(body)).into(),
        size: body.len() as u64,
    }
}

fn no_progress(_: u64, _: Option<u64>) {}

#[tokio::test]
async fn fresh_download_is_verified_and_renamed() {
    let body = payload(300_000);
    let server = TestServer::start().await;
    server.route(
        "/m.gguf",
        Route::ok(body.clone(), "application/octet-stream"),
    );
    let dir = tempfile::tempdir().unwrap();
    let seen = AtomicU64::new(0);
    let progress = |done: u64, total: Option<u64>| {
        assert_eq!(total, Some(300_000));
        seen.fetch_max(done, Ordering::Relaxed);
    };
    let spec = spec(server.url("/m.gguf"), &body);
    let path = ensure_model(&spec, dir.path(), &progress).await.unwrap();
    assert_eq!(path, dir.path().join("model.gguf"));
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(seen.load(Ordering::Relaxed), 300_000);
    assert!(!dir.path().join("model.gguf.part").exists());
    assert!(server.requests("/m.gguf")[0].header("range").is_none());

    // Second call: reused without a request.
    let again = ensure_model(&spec, dir.path(), &no_progress).await.unwrap();
    assert_eq!(again, path);
    assert_eq!(server.hits("/m.gguf"), 1);
}

#[tokio::test]
async fn wrong_sha256_errors_and_leaves_no_file() {
    let body = payload(50_000);
    let server = TestServer::start().await;
    server.route(
        "/m.gguf",
        Route::ok(body.clone(), "application/octet-stream"),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(server.url("/m.gguf"), &body);
    spec.sha256 = "00".repeat(32).into();
    let err = ensure_model(&spec, dir.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(matches!(err, LocalError::HashMismatch { .. }), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn server_errors_are_retryable_and_404_is_not() {
    let server = TestServer::start().await;
    server.route("/busy", Route::status(503));
    server.route("/gone", Route::status(404));
    let dir = tempfile::tempdir().unwrap();
    let err = ensure_model(&spec(server.url("/busy"), b"x"), dir.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(matches!(err, LocalError::Http { status: 503, .. }), "{err}");
    assert!(err.is_retryable());
    let err = ensure_model(&spec(server.url("/gone"), b"x"), dir.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(!dir.path().join("model.gguf").exists());
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    // Bind then drop: nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/m.gguf");
    let err = ensure_model(&spec(url, b"abc"), dir.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(matches!(err, LocalError::Network { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn oversized_body_is_cut_off() {
    let body = payload(10_000);
    let server = TestServer::start().await;
    server.route(
        "/m.gguf",
        Route::ok(payload(20_000), "application/octet-stream"),
    );
    let dir = tempfile::tempdir().unwrap();
    let err = ensure_model(
        &spec(server.url("/m.gguf"), &body),
        dir.path(),
        &no_progress,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LocalError::BadResponse { .. }), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A server that honours `Range: bytes=N-` with 206, and records the Range headers it saw.
/// `cut_first` > 0: the first whole-file answer carries only that many bytes (a download
/// that ends early but cleanly).
struct RangeServer {
    addr: SocketAddr,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    cut_first: Arc<AtomicU64>,
}

#[derive(Clone)]
struct RangeState {
    body: Arc<Vec<u8>>,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    cut_first: Arc<AtomicU64>,
}

async fn serve_range(State(st): State<RangeState>, headers: HeaderMap) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    st.ranges.lock().unwrap().push(range.clone());
    let total = st.body.len();
    match range.and_then(|r| {
        r.strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<usize>()
            .ok()
    }) {
        Some(start) if start < total => (
            StatusCode::PARTIAL_CONTENT,
            [(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{total}", total - 1),
            )],
            st.body[start..].to_vec(),
        )
            .into_response(),
        Some(_) => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        None => {
            let cut = st.cut_first.swap(0, Ordering::Relaxed) as usize;
            let end = if cut > 0 { cut.min(total) } else { total };
            (StatusCode::OK, st.body[..end].to_vec()).into_response()
        }
    }
}

async fn range_server(body: Vec<u8>) -> RangeServer {
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let cut_first = Arc::new(AtomicU64::new(0));
    let state = RangeState {
        body: Arc::new(body),
        ranges: ranges.clone(),
        cut_first: cut_first.clone(),
    };
    let app = axum::Router::new()
        .route("/m.gguf", axum::routing::get(serve_range))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    RangeServer {
        addr,
        ranges,
        cut_first,
    }
}

#[tokio::test]
async fn partial_file_is_resumed_with_a_range_request() {
    let body = payload(200_000);
    let server = range_server(body.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.gguf.part"), &body[..123_456]).unwrap();
    let first = Mutex::new(None);
    let progress = |done: u64, _| {
        first.lock().unwrap().get_or_insert(done);
    };
    let spec = spec(format!("http://{}/m.gguf", server.addr), &body);
    let path = ensure_model(&spec, dir.path(), &progress).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec![Some("bytes=123456-".to_string())]
    );
    // Progress starts from the resumed prefix.
    assert_eq!(*first.lock().unwrap(), Some(123_456));
}

#[tokio::test]
async fn corrupt_partial_file_fails_the_hash_and_is_deleted() {
    let body = payload(100_000);
    let server = range_server(body.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    // Same length as a real prefix, different bytes: the resumed file is wrong.
    std::fs::write(dir.path().join("model.gguf.part"), vec![0u8; 40_000]).unwrap();
    let spec = spec(format!("http://{}/m.gguf", server.addr), &body);
    let err = ensure_model(&spec, dir.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(matches!(err, LocalError::HashMismatch { .. }), "{err}");
    assert!(!dir.path().join("model.gguf.part").exists());
    // The next attempt starts from zero and succeeds.
    let path = ensure_model(&spec, dir.path(), &no_progress).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
    assert_eq!(server.ranges.lock().unwrap().last().unwrap(), &None);
}

#[tokio::test]
async fn server_ignoring_range_restarts_from_zero() {
    let body = payload(80_000);
    let server = TestServer::start().await; // testkit answers 200 with the whole body
    server.route(
        "/m.gguf",
        Route::ok(body.clone(), "application/octet-stream"),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.gguf.part"), &body[..30_000]).unwrap();
    let path = ensure_model(
        &spec(server.url("/m.gguf"), &body),
        dir.path(),
        &no_progress,
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
    assert_eq!(
        server.requests("/m.gguf")[0].header("range"),
        Some("bytes=30000-")
    );
}

#[tokio::test]
async fn download_cut_short_is_retryable_and_resumes_next_time() {
    let body = payload(150_000);
    let server = range_server(body.clone()).await;
    server.cut_first.store(60_000, Ordering::Relaxed);
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(format!("http://{}/m.gguf", server.addr), &body);
    let err = ensure_model(&spec, dir.path(), &no_progress)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LocalError::Incomplete { got: 60_000, .. }),
        "{err}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        std::fs::metadata(dir.path().join("model.gguf.part"))
            .unwrap()
            .len(),
        60_000
    );
    let path = ensure_model(&spec, dir.path(), &no_progress).await.unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
    assert_eq!(
        *server.ranges.lock().unwrap(),
        vec![None, Some("bytes=60000-".to_string())]
    );
}

#[tokio::test]
async fn a_cached_file_with_the_wrong_hash_is_replaced() {
    let body = payload(20_000);
    let server = TestServer::start().await;
    server.route(
        "/m.gguf",
        Route::ok(body.clone(), "application/octet-stream"),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.gguf"), vec![7u8; 20_000]).unwrap();
    let path = ensure_model(
        &spec(server.url("/m.gguf"), &body),
        dir.path(),
        &no_progress,
    )
    .await
    .unwrap();
    assert_eq!(std::fs::read(path).unwrap(), body);
    assert_eq!(server.hits("/m.gguf"), 1);
}
