//! The remote engine against a scripted OpenAI-compatible `/audio/transcriptions` server
//! (a fake is the only way to get 429s and garbage on demand): multipart fields, the audio
//! split below the upload limit with segment times shifted into episode time, the API key
//! sent as a bearer token, and errors classified.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use podsift_asr::remote::{RemoteEngine, RemoteOptions};
use podsift_asr::{AsrError, DecodeOptions, SpeechToText};

/// One upload: file size, the other form fields, the Authorization header.
type Upload = (usize, Vec<(String, String)>, Option<String>);

#[derive(Default, Clone)]
struct Seen {
    uploads: Arc<Mutex<Vec<Upload>>>,
    mode: Arc<Mutex<&'static str>>,
}

async fn transcribe(State(seen): State<Seen>, headers: HeaderMap, mut form: Multipart) -> Response {
    let mut file_len = 0;
    let mut fields = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            file_len = field.bytes().await.map(|b| b.len()).unwrap_or(0);
        } else {
            fields.push((name, field.text().await.unwrap_or_default()));
        }
    }
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let n = {
        let mut u = seen.uploads.lock().unwrap();
        u.push((file_len, fields, auth));
        u.len()
    };
    match *seen.mode.lock().unwrap() {
        "429" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "7")],
            "slow down",
        )
            .into_response(),
        "400" => (StatusCode::BAD_REQUEST, "bad model").into_response(),
        "garbage" => (StatusCode::OK, "<html>not json").into_response(),
        _ => {
            // Two segments per piece, in piece-relative time.
            let body = serde_json::json!({
                "language": "english",
                "duration": 10.0,
                "text": format!("piece {n}"),
                "segments": [
                    {"id": 0, "start": 0.5, "end": 2.0, "text": format!(" piece {n} first.")},
                    {"id": 1, "start": 2.5, "end": 4.0, "text": " [BLANK_AUDIO]"},
                ]
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
    }
}

async fn server(mode: &'static str) -> (String, Seen) {
    let seen = Seen::default();
    *seen.mode.lock().unwrap() = mode;
    let app = axum::Router::new()
        .route("/v1/audio/transcriptions", post(transcribe))
        .layer(axum::extract::DefaultBodyLimit::max(64 << 20))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/v1"), seen)
}

fn engine(base: String, max_upload: u64) -> RemoteEngine {
    RemoteEngine::new(RemoteOptions {
        base_url: base,
        model: "whisper-1".into(),
        api_key: Some("sk-test-secret".into()),
        timeout: Duration::from_secs(10),
        max_upload_bytes: max_upload,
    })
    .unwrap()
}

#[tokio::test]
async fn audio_is_split_below_the_upload_limit_and_times_are_shifted() {
    let (base, seen) = server("ok").await;
    // 25 s of audio; a 330 kB limit allows 10 s pieces (16-bit WAV: 32 kB/s).
    let e = engine(base, 330_000);
    assert_eq!(e.max_piece_secs(), 10);
    let samples = vec![0.01f32; 25 * 16_000];
    let opts = DecodeOptions {
        language: Some("en".into()),
        prompt: Some("City Desk. With Ann Lee.".into()),
    };
    let got = e.transcribe(samples, &opts).await.unwrap();
    let uploads = seen.uploads.lock().unwrap().clone();
    assert_eq!(uploads.len(), 3, "pieces of 10 s, 10 s and 5 s");
    for (len, fields, auth) in &uploads {
        assert!(*len as u64 <= 330_000, "upload of {len} bytes");
        assert_eq!(auth.as_deref(), Some("Bearer sk-test-secret"));
        let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(field("model"), Some("whisper-1"));
        assert_eq!(field("response_format"), Some("verbose_json"));
        assert_eq!(field("language"), Some("en"));
        assert_eq!(field("prompt"), Some("City Desk. With Ann Lee."));
    }
    assert_eq!(uploads[2].0, 44 + 5 * 32_000);
    // Annotations dropped; the second piece's segment starts at 10 s + 0.5 s.
    let starts: Vec<f64> = got.segments.iter().map(|s| s.start).collect();
    assert_eq!(starts, [0.5, 10.5, 20.5]);
    assert_eq!(got.segments[1].text, "piece 2 first.");
    assert_eq!(got.language.as_deref(), Some("en"));
    assert!(
        !format!("{e:?}").contains("sk-test-secret"),
        "the key never appears in Debug"
    );
}

#[tokio::test]
async fn rate_limits_are_retryable_with_the_servers_wait() {
    let (base, _) = server("429").await;
    let err = engine(base, 24 << 20)
        .transcribe(vec![0.0; 16_000], &DecodeOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn client_errors_are_permanent_and_garbage_is_retryable() {
    let (base, _) = server("400").await;
    let err = engine(base, 24 << 20)
        .transcribe(vec![0.0; 16_000], &DecodeOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AsrError::Remote {
                retryable: false,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("400"));

    let (base, _) = server("garbage").await;
    let err = engine(base, 24 << 20)
        .transcribe(vec![0.0; 16_000], &DecodeOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("verbose_json"), "{err}");
}

#[tokio::test]
async fn a_dead_server_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = engine(format!("http://{addr}/v1"), 24 << 20)
        .transcribe(vec![0.0; 16_000], &DecodeOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}
