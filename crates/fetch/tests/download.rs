//! Audio downloads: resumed with `Range` after a dropped connection, capped, stall-guarded,
//! SSRF-guarded like every other fetch.

mod common;

use std::time::Duration;

use common::{cfg, fetcher, fetcher_with};
use podsift_core::{DownloadRequest, Downloader, FetchError};
use podsift_fetch::HttpFetcher;
use podsift_testkit::{Route, TestServer};

fn body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn request(url: String, dest: &std::path::Path, max: u64) -> DownloadRequest {
    DownloadRequest {
        url,
        dest: dest.to_path_buf(),
        max_bytes: max,
        stall_timeout: Duration::from_secs(5),
        min_bytes_per_sec: 0,
    }
}

#[tokio::test]
async fn dropped_download_resumes_with_range() {
    let server = TestServer::start().await;
    let data = body(300_000);
    server.route(
        "/ep.mp3",
        Route::sequence(vec![
            Route::cut(data.clone(), 120_000),
            Route::ok(data.clone(), "audio/mpeg"),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("audio/1.mp3");
    let seen = std::sync::Mutex::new(Vec::new());
    let done = fetcher()
        .download(&request(server.url("/ep.mp3"), &dest, 1 << 20), &|b, _| {
            seen.lock().unwrap().push(b)
        })
        .await
        .expect("download completes on the second attempt");
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        data,
        "resumed file is byte-identical"
    );
    assert_eq!(done.bytes, data.len() as u64);
    assert_eq!(done.resumed_from, 120_000);
    let reqs = server.requests("/ep.mp3");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].header("range"), None);
    assert_eq!(reqs[1].header("range"), Some("bytes=120000-"));
    assert!(
        !dest.with_extension("mp3.part").exists(),
        "no partial file left"
    );
    assert_eq!(seen.lock().unwrap().last().copied(), Some(300_000));
}

#[tokio::test]
async fn partial_file_from_an_earlier_run_is_resumed() {
    let server = TestServer::start().await;
    let data = body(50_000);
    server.route("/ep.mp3", Route::ok(data.clone(), "audio/mpeg"));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("2.mp3");
    std::fs::write(dir.path().join("2.mp3.part"), &data[..20_000]).unwrap();
    let done = fetcher()
        .download(&request(server.url("/ep.mp3"), &dest, 1 << 20), &|_, _| {})
        .await
        .unwrap();
    assert_eq!(done.resumed_from, 20_000);
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(
        server.requests("/ep.mp3")[0].header("range"),
        Some("bytes=20000-")
    );
}

#[tokio::test]
async fn too_large_is_refused_and_cleaned_up() {
    let server = TestServer::start().await;
    server.route("/big.mp3", Route::huge_chunked(3 << 20));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("3.mp3");
    let err = fetcher()
        .download(&request(server.url("/big.mp3"), &dest, 1 << 20), &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    assert!(!dest.exists());
    assert!(!dir.path().join("3.mp3.part").exists());
}

#[tokio::test]
async fn stalled_download_times_out() {
    let server = TestServer::start().await;
    server.route("/stall.mp3", Route::stall());
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg();
    c.retries = 0;
    let mut req = request(server.url("/stall.mp3"), &dir.path().join("4.mp3"), 1 << 20);
    req.stall_timeout = Duration::from_millis(300);
    let err = fetcher_with(&c)
        .download(&req, &|_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn missing_audio_is_a_status_error() {
    let server = TestServer::start().await;
    server.route("/gone.mp3", Route::status(404));
    let dir = tempfile::tempdir().unwrap();
    let err = fetcher()
        .download(
            &request(server.url("/gone.mp3"), &dir.path().join("5.mp3"), 1 << 20),
            &|_, _| {},
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn private_addresses_are_refused_without_opt_in() {
    let server = TestServer::start().await;
    server.route("/ep.mp3", Route::ok(body(10), "audio/mpeg"));
    let dir = tempfile::tempdir().unwrap();
    let guarded = HttpFetcher::new(&cfg(), false).unwrap();
    let err = guarded
        .download(
            &request(server.url("/ep.mp3"), &dir.path().join("6.mp3"), 1 << 20),
            &|_, _| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Blocked { .. }), "{err}");
    assert_eq!(server.total_requests(), 0, "nothing was sent");
}

/// A server that never stalls but trickles (64 bytes every 50 ms, about 1.3 KB/s) is cut once
/// the stall timeout has passed, by the minimum rate, and the part kept for a resume; without
/// a minimum the same download would have run for minutes.
#[tokio::test]
async fn a_trickling_server_is_cut_by_the_minimum_rate() {
    let server = TestServer::start().await;
    let data = body(400_000);
    server.route(
        "/slow.mp3",
        Route::slow_body(data, Duration::from_millis(50)),
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("slow.mp3");
    let mut req = request(server.url("/slow.mp3"), &dest, 10_000_000);
    req.stall_timeout = Duration::from_secs(1);
    req.min_bytes_per_sec = 64 * 1024;
    let started = std::time::Instant::now();
    let err = fetcher().download(&req, &|_, _| {}).await.unwrap_err();
    assert!(err.to_string().contains("too slow"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "cut early: {:?}",
        started.elapsed()
    );
    assert!(!dest.exists(), "not finished");
    assert!(
        dir.path().join("slow.mp3.part").exists(),
        "the part is kept for a resume"
    );
}
