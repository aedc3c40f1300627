//! HTTP routes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::api::{self, ChatRequest};
use crate::engine::{Engine, JobError};

/// Largest request body accepted (a prompt that fits any sensible context is far smaller).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

struct AppState {
    engine: Arc<Engine>,
    next_id: AtomicU64,
}

/// The application.
pub fn router(engine: Arc<Engine>) -> Router {
    let state = Arc::new(AppState {
        engine,
        next_id: AtomicU64::new(1),
    });
    Router::new()
        .route("/health", get(health))
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn error(status: StatusCode, message: &str) -> Response {
    let kind = if status.is_client_error() {
        "invalid_request_error"
    } else {
        "server_error"
    };
    (status, axum::Json(api::error_body(message, kind))).into_response()
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({"status": "ok", "model": state.engine.name, "n_ctx": state.engine.n_ctx}))
        .into_response()
}

async fn models(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(json!({
        "object": "list",
        "data": [{"id": state.engine.name, "object": "model", "created": 0, "owned_by": "local"}],
    }))
    .into_response()
}

async fn chat(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return error(e.status(), &e.body_text()),
    };
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid request body: {e}"),
            );
        }
    };
    let job = match request.into_job() {
        Ok(j) => j,
        Err(e) => return job_error(e),
    };
    let started = std::time::Instant::now();
    match state.engine.run(job).await {
        Err(e) => job_error(e),
        Ok(out) => {
            let rate = |n: usize, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
            let decoded = out.prompt_tokens - out.cached_tokens;
            tracing::info!(
                prompt_tokens = out.prompt_tokens,
                cached_tokens = out.cached_tokens,
                completion_tokens = out.completion_tokens,
                prompt_tok_per_s = format!("{:.1}", rate(decoded, out.prompt_secs)),
                gen_tok_per_s = format!("{:.1}", rate(out.completion_tokens, out.gen_secs)),
                total_secs = format!("{:.2}", started.elapsed().as_secs_f64()),
                "chat completion"
            );
            let created = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let id = state.next_id.fetch_add(1, Ordering::Relaxed);
            axum::Json(api::completion(&state.engine.name, &out, created, id)).into_response()
        }
    }
}

fn job_error(e: JobError) -> Response {
    match e {
        JobError::BadRequest(m) => error(StatusCode::BAD_REQUEST, &m),
        JobError::Internal(m) => error(StatusCode::INTERNAL_SERVER_ERROR, &m),
        JobError::Busy => error(StatusCode::SERVICE_UNAVAILABLE, &JobError::Busy.to_string()),
    }
}
