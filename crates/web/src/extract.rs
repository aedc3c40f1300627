//! The API's request extractors: axum's own, with their rejections (a missing or wrong
//! `Content-Type`, malformed JSON, a missing field) answered as the API's JSON errors with
//! the same status (415, 400, 422), as the OpenAPI document describes them.

use axum::Json;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::header;
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::api::error_response;
use crate::error::WebError;

/// A JSON body (`Content-Type: application/json`).
pub(crate) struct ApiJson<T>(pub T);

fn rejected(r: axum::extract::rejection::JsonRejection) -> Response {
    error_response(&WebError::Rejected(r.status(), r.body_text()))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        <Json<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(|Json(v)| Self(v))
            .map_err(rejected)
    }
}

/// An optional JSON body: none without a `Content-Type` and a body.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Response> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Json<T> as OptionalFromRequest<S>>::from_request(req, state)
            .await
            .map(|o| o.map(|Json(v)| Self(v)))
            .map_err(rejected)
    }
}

/// The media types an OPML import may be sent as.
pub(crate) const OPML_TYPES: &[&str] = &["text/x-opml", "text/xml", "application/xml"];

/// The request's media type is one of `types` (parameters such as `charset` aside).
pub(crate) fn media_type_is(headers: &axum::http::HeaderMap, types: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .is_some_and(|t| types.contains(&t.as_str()))
}
