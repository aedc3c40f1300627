//! The Discover page: shows on a subject from the show directories (iTunes; the Podcast
//! Index with the operator's key), each with how often it publishes and whether it ships
//! transcripts, and a Follow button (the subscriptions form); and the reader's topics, which
//! the daily scan reads new episodes for.

use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use podsift_core::discovery::TopicOwner;
use serde::{Deserialize, Serialize};

use crate::auth::PageUser;
use crate::pages::{CsrfForm, base, error_response, render};
use crate::{AppState, WebError};

/// Shows listed for one search (each one's feed is read to describe it).
const MAX_SHOWS: usize = 10;
const DESCRIBE_CONCURRENCY: usize = 4;

#[derive(Deserialize)]
pub(crate) struct DiscoverQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    ok: Option<String>,
}

#[derive(Serialize)]
struct Row {
    title: String,
    author: Option<String>,
    description: Option<String>,
    categories: Vec<String>,
    feed_url: String,
    cadence: Option<String>,
    transcripts: Option<String>,
    feed_error: Option<String>,
    following: bool,
}

pub(crate) async fn page(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<DiscoverQuery>,
) -> Response {
    let query = q.q.trim().chars().take(200).collect::<String>();
    let r: Result<Response, WebError> = async {
        let user = a.user.id;
        let topics = app.web.store.list_topics(TopicOwner::Reader(user)).await?;
        let mut rows = Vec::new();
        let mut problems = Vec::new();
        if !query.is_empty() {
            let dir = app
                .web
                .directory
                .as_ref()
                .ok_or(WebError::Unavailable("show discovery"))?;
            let found = dir.search(&query, MAX_SHOWS).await;
            problems.extend(found.errors.iter().map(ToString::to_string));
            let followed: std::collections::HashSet<String> = app
                .web
                .store
                .list_feeds(Some(user))
                .await?
                .iter()
                .map(|f| podsift_discovery::feed_key(&f.url))
                .collect();
            let shows: Vec<_> = found.shows.into_iter().take(MAX_SHOWS).collect();
            // Without a poller (a server started without one) the shows are listed unread.
            let described: Vec<_> = match &app.web.poller {
                Some(p) => podsift_discovery::describe(p, shows, DESCRIBE_CONCURRENCY)
                    .await
                    .into_iter()
                    .map(|(s, read)| (s, Some(read)))
                    .collect(),
                None => shows.into_iter().map(|s| (s, None)).collect(),
            };
            rows = described
                .into_iter()
                .map(|(s, read)| {
                    let (profile, feed_error) = match read {
                        Some(Ok(p)) => (Some(p), None),
                        Some(Err(e)) => (None, Some(e)),
                        None => (None, None),
                    };
                    Row {
                        following: followed.contains(&podsift_discovery::feed_key(&s.feed_url)),
                        title: s.title,
                        author: s.author,
                        description: s
                            .description
                            .map(|d| podsift_discovery::short_text(&d, 300)),
                        categories: s.categories,
                        feed_url: s.feed_url,
                        cadence: profile.as_ref().map(|p| p.cadence.clone()),
                        transcripts: profile.as_ref().map(|p| p.transcripts_line()),
                        feed_error,
                    }
                })
                .collect();
        }
        let notice = match q.ok.as_deref() {
            Some("topic") => Some("Topic added: new episodes are scanned for it daily."),
            Some("removed") => Some("Topic removed."),
            _ => None,
        };
        let ctx = context! {
            searched => !query.is_empty(),
            q => query,
            rows => Value::from(Serde(&rows)),
            problems => problems,
            topics => Value::from(Serde(&topics)),
            ..base(Some(&a), "discover", "Discover", notice)
        };
        Ok(render(&app, "discover.html", StatusCode::OK, ctx))
    }
    .await;
    r.unwrap_or_else(|e| error_response(&app, Some(&a), &e))
}

#[derive(Deserialize)]
pub(crate) struct TopicForm {
    csrf: String,
    topic: String,
}

pub(crate) async fn add_topic(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<TopicForm>,
) -> Response {
    let r: Result<Response, WebError> = async {
        a.check_csrf(&f.csrf)?;
        let topic = f.topic.trim();
        if topic.is_empty() || topic.len() > 200 {
            return Err(WebError::BadRequest(
                "a topic is a few words, up to 200 characters".into(),
            ));
        }
        let now = app.web.clock.now();
        app.web.store.add_topic(Some(a.user.id), topic, now).await?;
        Ok(Redirect::to("/discover?ok=topic").into_response())
    }
    .await;
    r.unwrap_or_else(|e| error_response(&app, Some(&a), &e))
}

pub(crate) async fn remove_topic(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let r: Result<Response, WebError> = async {
        a.check_csrf(&f.csrf)?;
        let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
        if !app.web.store.remove_topic(Some(a.user.id), id).await? {
            return Err(WebError::NotFound);
        }
        Ok(Redirect::to("/discover?ok=removed").into_response())
    }
    .await;
    r.unwrap_or_else(|e| error_response(&app, Some(&a), &e))
}
