//! The JSON API: what the pages do, under `/api/`, described by `/api/openapi.json`.
//!
//! Authentication: the session cookie (writes also send the session's CSRF token in
//! `X-CSRF-Token`), or `Authorization: Bearer TOKEN` with the token `POST /api/session`
//! returns (no CSRF token needed: nothing ambient). Errors are `{"error": "..."}`.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{self, ApiUser, SESSION_COOKIE, clear_cookie, set_cookie};
use crate::error::WebError;
use crate::extract::{ApiJson, OPML_TYPES, media_type_is};
use crate::limiter::ClientIp;
use crate::views;
use crate::{AppState, OPENAPI_JSON};

pub(crate) fn error_response(e: &WebError) -> Response {
    let mut res = (e.status(), Json(json!({ "error": e.public_message() }))).into_response();
    if let Some(wait) = e.retry_after()
        && let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}

pub(crate) type ApiResult = Result<Response, WebError>;

fn ok(v: impl serde::Serialize) -> ApiResult {
    Ok(Json(v).into_response())
}

/// Every API route: the router is built from this list, and a test checks that the OpenAPI
/// document describes each one with each method it answers.
pub(crate) fn api_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/openapi.json", get(openapi)),
        ("/api/session", post(create_session).delete(delete_session)),
        ("/api/me", get(me)),
        ("/api/feeds", get(list_feeds).post(add_feed)),
        ("/api/feeds/import", post(import_opml)),
        ("/api/feeds/export", get(export_opml)),
        ("/api/feeds/{id}", get(feed).delete(unsubscribe)),
        ("/api/feeds/{id}/weight", put(set_weight)),
        ("/api/digests", get(list_digests).post(make_digest)),
        ("/api/digests/today", get(today)),
        ("/api/digests/{date}", get(digest_on)),
        ("/api/feedback", post(feedback)),
        ("/api/episodes/{id}", get(episode)),
        ("/api/search", get(search)),
        ("/api/settings", get(settings).put(save_settings)),
        ("/api/settings/feed-token", post(crate::account::rotate_api)),
    ]
}

pub(crate) fn routes() -> Router<AppState> {
    api_routes()
        .into_iter()
        .fold(Router::new(), |r, (path, route)| r.route(path, route))
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

fn parse_id(s: &str) -> Result<i64, WebError> {
    s.parse().map_err(|_| WebError::NotFound)
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
}

async fn create_session(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<LoginBody>,
) -> ApiResult {
    let (token, session) = auth::login(&app, &ip, &b.email, &b.password).await?;
    let cookie = set_cookie(
        SESSION_COOKIE,
        &token,
        app.web.config.session_ttl,
        app.web.config.secure_cookies(),
    );
    let mut res = (
        StatusCode::CREATED,
        Json(json!({
            "token": token,
            "csrf": session.csrf,
            "expires_at": session.expires_at,
        })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

async fn delete_session(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    app.web.store.delete_session(&a.session.token_hash).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(
        SESSION_COOKIE,
        app.web.config.secure_cookies(),
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

async fn me(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    ok(json!({
        "id": a.user.id,
        "email": a.user.email,
        "csrf": a.session.csrf,
        "today": views::today(&app, &a.user),
    }))
}

async fn list_feeds(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    ok(views::feeds(&app, &a.user).await?)
}

#[derive(Deserialize)]
struct AddFeedBody {
    url: String,
}

async fn add_feed(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    ApiJson(b): ApiJson<AddFeedBody>,
) -> ApiResult {
    Ok(match crate::adds::add_feed(&app, &a.user, &b.url).await? {
        crate::adds::Added::Subscribed(s) => {
            let status = if s.new_subscription {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(json!(s))).into_response()
        }
        crate::adds::Added::Done => (
            StatusCode::ACCEPTED,
            Json(json!({ "state": "subscribed", "url": b.url.trim() })),
        )
            .into_response(),
        crate::adds::Added::Pending { url, note } => (
            StatusCode::ACCEPTED,
            Json(json!({ "state": "pending", "url": url, "note": note })),
        )
            .into_response(),
    })
}

async fn import_opml(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    if !media_type_is(&headers, OPML_TYPES) {
        return Err(WebError::Rejected(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("send the OPML document as {}", OPML_TYPES.join(", ")),
        ));
    }
    ok(crate::adds::import_opml(&app, &a.user, &body).await?)
}

async fn export_opml(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    let doc = views::export_opml(&app, &a.user).await?;
    Ok(([(header::CONTENT_TYPE, "text/x-opml; charset=utf-8")], doc).into_response())
}

async fn feed(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
) -> ApiResult {
    ok(views::feed_detail(&app, &a.user, parse_id(&id)?).await?)
}

async fn unsubscribe(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
) -> ApiResult {
    views::unsubscribe(&app, &a.user, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
struct WeightBody {
    weight: f64,
}

async fn set_weight(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<WeightBody>,
) -> ApiResult {
    let id = parse_id(&id)?;
    views::set_weight(&app, &a.user, id, b.weight).await?;
    ok(views::owned_feed(&app, &a.user, id).await?)
}

async fn list_digests(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    ok(views::archive(&app, &a.user).await?)
}

#[derive(Deserialize, Default)]
struct MakeDigestBody {
    date: Option<NaiveDate>,
}

async fn make_digest(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    body: Option<ApiJson<MakeDigestBody>>,
) -> ApiResult {
    let date = body.and_then(|ApiJson(b)| b.date);
    let (date, made) = views::make_digest(&app, &a.user, date).await?;
    let digest = views::digest(&app, &a.user, date).await?;
    ok(json!({ "date": date, "result": made, "digest": digest }))
}

async fn today(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    let date = views::today(&app, &a.user);
    ok(views::digest(&app, &a.user, date)
        .await?
        .ok_or(WebError::NotFound)?)
}

async fn digest_on(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    Path(date): Path<String>,
) -> ApiResult {
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| WebError::NotFound)?;
    ok(views::digest(&app, &a.user, date)
        .await?
        .ok_or(WebError::NotFound)?)
}

#[derive(Deserialize)]
struct FeedbackBody {
    insight_id: i64,
    vote: String,
}

async fn feedback(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    ApiJson(b): ApiJson<FeedbackBody>,
) -> ApiResult {
    let vote = views::parse_vote(&b.vote)?;
    let episode = views::vote(&app, &a.user, b.insight_id, vote).await?;
    ok(json!({ "insight_id": b.insight_id, "vote": vote, "episode_id": episode }))
}

async fn episode(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    Path(id): Path<String>,
) -> ApiResult {
    ok(views::episode(&app, &a.user, parse_id(&id)?).await?)
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    Query(q): Query<SearchQuery>,
) -> ApiResult {
    let q =
        q.q.filter(|q| !q.trim().is_empty())
            .ok_or_else(|| WebError::BadRequest("q: the words to search for".into()))?;
    ok(views::search(&app, &a.user, &q).await?)
}

async fn settings(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    ok(views::settings_view(&app, &a.user))
}

async fn save_settings(
    State(app): State<AppState>,
    ApiUser(a): ApiUser,
    ApiJson(b): ApiJson<views::SettingsView>,
) -> ApiResult {
    views::update_settings(&app, &a.user, &b).await?;
    let user = app
        .web
        .store
        .user_profile(a.user.id)
        .await?
        .ok_or(WebError::NotFound)?;
    ok(views::settings_view(&app, &user))
}
