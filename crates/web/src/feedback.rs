//! The digest's signed 👍/👎 links: `GET /feedback?i=INSIGHT&v=up|down&u=USER&t=TOKEN`.
//!
//! Mail scanners and link previewers follow every link in a message, so a GET records
//! nothing: it shows the vote and the insight and a form that POSTs the same four fields, and
//! only that POST records the vote. No sign-in is needed either way: the token is an HMAC of
//! exactly this insight, vote and user (no ambient credential, so no CSRF token).

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;
use podsift_digest::{FeedbackVote, verify_feedback_token};
use serde::Deserialize;

use crate::error::WebError;
use crate::pages::{base, error_response, render};
use crate::{App, AppState};

/// The four fields of a vote link (and of its confirmation form).
#[derive(Debug, Deserialize)]
pub(crate) struct FeedbackLink {
    i: i64,
    v: String,
    u: i64,
    t: String,
}

/// The vote the link signs; a link that is not this server's is refused.
fn check(app: &App, link: &FeedbackLink) -> Result<FeedbackVote, WebError> {
    let secret = app
        .web
        .config
        .feedback_secret
        .as_ref()
        .ok_or(WebError::NotFound)?;
    let vote = FeedbackVote::parse(&link.v)
        .ok_or_else(|| WebError::BadRequest("a vote is up or down".into()))?;
    if !verify_feedback_token(secret, link.i, vote, link.u, &link.t) {
        return Err(WebError::Forbidden("this vote link is not valid"));
    }
    Ok(vote)
}

/// The insight's text and episode title, when the user may still see it.
async fn insight_text(app: &App, link: &FeedbackLink) -> Result<(String, String), WebError> {
    let store = &app.web.store;
    let Some(episode) = store.visible_insight(link.u, link.i).await? else {
        return Ok((String::new(), String::new()));
    };
    Ok(store
        .episode_insights(episode)
        .await?
        .into_iter()
        .find(|c| c.id == link.i)
        .map(|c| (c.draft.text, c.episode))
        .unwrap_or_default())
}

/// `GET /feedback`: the confirmation page; records nothing.
pub(crate) async fn confirm(
    State(app): State<AppState>,
    Query(link): Query<FeedbackLink>,
) -> Response {
    let r = async {
        let vote = check(&app, &link)?;
        let (insight, episode) = insight_text(&app, &link).await?;
        let ctx = context! {
            done => false,
            up => vote.sign() > 0,
            insight => insight,
            episode => episode,
            i => link.i,
            v => link.v,
            u => link.u,
            t => link.t,
            ..base(None, "", "Your vote", None)
        };
        Ok::<_, WebError>(render(&app, "feedback.html", StatusCode::OK, ctx))
    }
    .await;
    r.unwrap_or_else(|e| error_response(&app, None, &e))
}

/// `POST /feedback`: records the vote the form's link signs.
pub(crate) async fn record(
    State(app): State<AppState>,
    Form(link): Form<FeedbackLink>,
) -> Response {
    let r = async {
        let vote = check(&app, &link)?;
        app.web
            .store
            .record_feedback(link.u, link.i, vote.sign(), app.web.clock.now())
            .await?;
        let ctx = context! {
            done => true,
            up => vote.sign() > 0,
            ..base(None, "", "Thanks", None)
        };
        Ok::<_, WebError>(render(&app, "feedback.html", StatusCode::OK, ctx))
    }
    .await;
    r.unwrap_or_else(|e| error_response(&app, None, &e))
}
