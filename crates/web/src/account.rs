//! The private feed's token: `/feeds/TOKEN.atom` needs no sign-in, so a URL that leaked
//! (a shared reader, a screenshot) is replaced from the settings page (`POST
//! /settings/feed-token`, with the session's CSRF token) or the API (`POST
//! /api/settings/feed-token`). The old URL stops working at once.

use axum::Json;
use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};

use crate::api::ApiResult;
use crate::auth::{ApiUser, PageUser, random_token};
use crate::error::WebError;
use crate::pages::{CsrfForm, error_response};
use crate::views;
use crate::{App, AppState};

/// A new random token for the user; the old one no longer finds them.
async fn rotate(app: &App, user: &podsift_core::UserProfile) -> Result<(), WebError> {
    if app
        .web
        .store
        .set_feed_token(user.id, &random_token())
        .await?
    {
        tracing::info!(user = %user.email, "private feed token replaced");
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

/// `POST /settings/feed-token`: back to the settings page, which shows the new URL.
pub(crate) async fn rotate_page(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<CsrfForm>,
) -> Response {
    let r = async {
        a.check_csrf(&f.csrf)?;
        rotate(&app, &a.user).await
    }
    .await;
    match r {
        Ok(()) => Redirect::to("/settings?ok=feed_token").into_response(),
        Err(e) => error_response(&app, Some(&a), &e),
    }
}

/// `POST /api/settings/feed-token`: the settings with the new feed URL.
pub(crate) async fn rotate_api(State(app): State<AppState>, ApiUser(a): ApiUser) -> ApiResult {
    rotate(&app, &a.user).await?;
    let user = app
        .web
        .store
        .user_profile(a.user.id)
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(Json(views::settings_view(&app, &user)).into_response())
}
