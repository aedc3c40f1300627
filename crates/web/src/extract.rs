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

/// Every body of the API is a JSON object. serde would also read a struct from an array of
/// its fields in order (`[null]` for `{"date": null}`, found by schemathesis), which the
/// OpenAPI document does not allow: anything but an object is refused (422).
fn object<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, String> {
    if !v.is_object() {
        return Err("the request body must be a JSON object".into());
    }
    serde_json::from_value(v)
        .map_err(|e| format!("Failed to deserialize the JSON body into the target type: {e}"))
}

fn unprocessable(msg: String) -> Response {
    error_response(&WebError::Rejected(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        msg,
    ))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let Json(v) = <Json<serde_json::Value> as FromRequest<S>>::from_request(req, state)
            .await
            .map_err(rejected)?;
        object(v).map(Self).map_err(unprocessable)
    }
}

/// An optional JSON body: none without a `Content-Type` and a body.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Response> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        match <Json<serde_json::Value> as OptionalFromRequest<S>>::from_request(req, state)
            .await
            .map_err(rejected)?
        {
            Some(Json(v)) => object(v).map(|v| Some(Self(v))).map_err(unprocessable),
            None => Ok(None),
        }
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
