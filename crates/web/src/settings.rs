//! The settings page: interests, schedule, digest size and channels (validated like
//! `podsift users add`).

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::auth::{Authed, PageUser};
use crate::error::WebError;
use crate::pages::{NoticeQuery, base, error_response, notice, render};
use crate::views::{self, MAX_DIGEST_SIZE};
use crate::{App, AppState};

fn settings_form(
    app: &App,
    a: &Authed,
    form: &views::SettingsView,
    status: StatusCode,
    notice_text: Option<&str>,
    error: Option<String>,
) -> Response {
    let ctx = context! {
        s => Value::from(Serde(form)),
        error => error,
        max_size => MAX_DIGEST_SIZE,
        zones => Value::from(Serde(COMMON_ZONES)),
        ..base(Some(a), "settings", "Settings", notice_text)
    };
    render(app, "settings.html", status, ctx)
}

/// Offered in the time zone field's suggestions (any IANA name is accepted).
const COMMON_ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Warsaw",
    "Europe/Helsinki",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "America/Toronto",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Africa/Lagos",
    "Africa/Johannesburg",
];

pub(crate) async fn settings_page(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let form = views::settings_view(&app, &a.user);
    settings_form(
        &app,
        &a,
        &form,
        StatusCode::OK,
        notice(q.ok.as_deref()),
        None,
    )
}

#[derive(Deserialize)]
pub(crate) struct SettingsForm {
    csrf: String,
    #[serde(default)]
    interests: String,
    time_zone: String,
    delivery_time: String,
    digest_size: u32,
    #[serde(default)]
    webhook_url: String,
    #[serde(default)]
    slack_url: String,
    #[serde(default)]
    discord_url: String,
}

pub(crate) async fn save_settings(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<SettingsForm>,
) -> Response {
    if let Err(e) = a.check_csrf(&f.csrf) {
        return error_response(&app, Some(&a), &e);
    }
    let mut form = views::settings_view(&app, &a.user);
    form.interests = f.interests;
    form.time_zone = f.time_zone;
    form.delivery_time = f.delivery_time;
    form.digest_size = f.digest_size;
    form.webhook_url = f.webhook_url;
    form.slack_url = f.slack_url;
    form.discord_url = f.discord_url;
    match views::update_settings(&app, &a.user, &form).await {
        Ok(()) => Redirect::to("/settings?ok=saved").into_response(),
        Err(WebError::BadRequest(msg)) => settings_form(
            &app,
            &a,
            &form,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(msg),
        ),
        Err(e) => error_response(&app, Some(&a), &e),
    }
}
