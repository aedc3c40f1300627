//! The HTML pages. Every POST handler checks the session's CSRF token (the sign-in form, which
//! has no session yet, a double-submit cookie) before it does anything.

use axum::Router;
use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use chrono::NaiveDate;
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::auth::{
    self, Authed, LOGIN_COOKIE, PageUser, SESSION_COOKIE, clear_cookie, cookie, local_path,
    set_cookie,
};
use crate::error::WebError;
use crate::limiter::ClientIp;
use crate::views;
use crate::{App, AppState, MadeDigest};

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// Every page route: the router is built from this list, and the tests walk it (every
/// state-changing route refuses a request without the CSRF token; every id or date in a
/// path answers 404 for another user's).
pub(crate) fn page_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/", get(home)),
        ("/login", get(login_page).post(login)),
        ("/logout", post(logout)),
        ("/digest", get(today)),
        ("/digests", get(archive).post(make_digest)),
        ("/digests/{date}", get(digest_on)),
        ("/vote", post(vote)),
        (
            "/feedback",
            get(crate::feedback::confirm).post(crate::feedback::record),
        ),
        ("/subscriptions", get(subscriptions).post(add_feed)),
        ("/subscriptions/import", post(import_opml)),
        ("/subscriptions/export.opml", get(export_opml)),
        ("/subscriptions/{id}", get(feed_page)),
        ("/subscriptions/{id}/unsubscribe", post(unsubscribe)),
        ("/subscriptions/{id}/weight", post(set_weight)),
        ("/episodes/{id}", get(episode_page)),
        ("/search", get(search)),
        ("/discover", get(crate::discover::page)),
        ("/topics", post(crate::discover::add_topic)),
        ("/topics/{id}/remove", post(crate::discover::remove_topic)),
        (
            "/settings",
            get(crate::settings::settings_page).post(crate::settings::save_settings),
        ),
        ("/settings/feed-token", post(crate::account::rotate_page)),
        ("/static/app.css", get(css)),
        ("/static/app.js", get(js)),
    ]
}

pub(crate) fn routes() -> Router<AppState> {
    page_routes()
        .into_iter()
        .fold(Router::new(), |r, (path, route)| r.route(path, route))
        .layer(axum::middleware::map_response(security_headers))
}

/// Strict defaults: scripts and styles only from this site, no framing; audio may come from
/// the publishers' servers.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; media-src 'self' https: http:; img-src 'self' https: data:; \
             script-src 'self'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; \
             base-uri 'none'; object-src 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// The layout's context: who is signed in, their CSRF token, the active tab and a notice.
pub(crate) fn base(authed: Option<&Authed>, nav: &str, title: &str, notice: Option<&str>) -> Value {
    context! {
        email => authed.map(|a| a.user.email.clone()),
        csrf => authed.map(|a| a.session.csrf.clone()),
        nav => nav,
        title => title,
        notice => notice,
    }
}

pub(crate) fn render(app: &App, name: &str, status: StatusCode, ctx: Value) -> Response {
    match app.templates.render(name, ctx) {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.public_message()).into_response(),
    }
}

pub(crate) fn error_response(app: &App, authed: Option<&Authed>, e: &WebError) -> Response {
    let status = e.status();
    let ctx = context! {
        status => status.as_u16(),
        message => e.public_message(),
        ..base(authed, "", "Error", None)
    };
    let mut res = render(app, "error.html", status, ctx);
    if let Some(wait) = e.retry_after()
        && let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A page handler's result: errors become the error page.
type PageResult = Result<Response, (Option<Authed>, WebError)>;

fn fail(a: &Authed) -> impl Fn(WebError) -> (Option<Authed>, WebError) + '_ {
    move |e| (Some(a.clone()), e)
}

fn finish(app: &App, r: PageResult) -> Response {
    r.unwrap_or_else(|(a, e)| error_response(app, a.as_ref(), &e))
}

/// Fixed notices after a redirect (never text from the query itself).
pub(crate) fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "subscribed" => "Subscribed. New episodes are read as they arrive.",
        "already" => "You already follow that feed.",
        "held" => {
            "Subscribed. Its earlier episodes were not queued, because many episodes of your shows are already waiting; new ones are read as they arrive."
        }
        "pending" => {
            "The feed is being fetched and checked in the background; it appears here when it is ready."
        }
        "unsubscribed" => "Unsubscribed.",
        "weight" => "Show weight saved.",
        "saved" => "Settings saved.",
        "feed_token" => "Your private feed has a new URL; the old one no longer works.",
        "voted" => "Thanks: your vote steers the next digests.",
        "created" => "Your digest is ready.",
        "existing" => "That day's digest was made already; here it is.",
        "nothing" => "Nothing new since your last digest yet: no digest made.",
        _ => return None,
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct NoticeQuery {
    pub ok: Option<String>,
}

fn parse_id(s: &str) -> Result<i64, WebError> {
    s.parse().map_err(|_| WebError::NotFound)
}

fn parse_date(s: &str) -> Result<NaiveDate, WebError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| WebError::NotFound)
}

async fn home() -> Redirect {
    Redirect::to("/digest")
}

// ----- sign in / out -------------------------------------------------------------------------

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    login_form(&app, &headers, q.next.as_deref(), None, StatusCode::OK)
}

fn login_form(
    app: &App,
    headers: &HeaderMap,
    next: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let existing = cookie(headers, LOGIN_COOKIE).filter(|t| t.len() == 64);
    let token = existing.clone().unwrap_or_else(auth::random_token);
    let ctx = context! {
        login_csrf => token.clone(),
        next => next.and_then(local_path),
        error => error,
        ..base(None, "login", "Sign in", None)
    };
    let mut res = render(app, "login.html", status, ctx);
    if existing.is_none()
        && let Ok(v) = HeaderValue::from_str(&set_cookie(
            LOGIN_COOKIE,
            &token,
            std::time::Duration::from_secs(3600),
            app.web.config.secure_cookies(),
        ))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(app): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::same_token(&expected, &f.csrf) {
        return login_form(
            &app,
            &headers,
            f.next.as_deref(),
            Some(WebError::Csrf.to_string()),
            StatusCode::FORBIDDEN,
        );
    }
    match auth::login(&app, &ip, &f.email, &f.password).await {
        Ok((token, _)) => {
            let secure = app.web.config.secure_cookies();
            let target = f.next.as_deref().and_then(local_path).unwrap_or("/digest");
            let mut res = Redirect::to(target).into_response();
            for c in [
                set_cookie(SESSION_COOKIE, &token, app.web.config.session_ttl, secure),
                clear_cookie(LOGIN_COOKIE, secure),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(e) => {
            let mut res = login_form(
                &app,
                &headers,
                f.next.as_deref(),
                Some(e.public_message()),
                e.status(),
            );
            if let Some(wait) = e.retry_after()
                && let Ok(v) = HeaderValue::from_str(&wait.as_secs().to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfForm {
    pub csrf: String,
}

async fn logout(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<CsrfForm>,
) -> Response {
    let r: PageResult = async {
        a.check_csrf(&f.csrf).map_err(fail(&a))?;
        app.web
            .store
            .delete_session(&a.session.token_hash)
            .await
            .map_err(|e| fail(&a)(e.into()))?;
        let mut res = Redirect::to("/login").into_response();
        if let Ok(v) = HeaderValue::from_str(&clear_cookie(
            SESSION_COOKIE,
            app.web.config.secure_cookies(),
        )) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        Ok(res)
    }
    .await;
    finish(&app, r)
}

// ----- digests -------------------------------------------------------------------------------

async fn today(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let r: PageResult = async {
        let today = views::today(&app, &a.user);
        let mut digest = views::digest(&app, &a.user, today)
            .await
            .map_err(fail(&a))?;
        let mut is_today = digest.is_some();
        if digest.is_none()
            && let Some((_, latest)) = app
                .web
                .store
                .latest_digest(a.user.id)
                .await
                .map_err(|e| fail(&a)(e.into()))?
        {
            digest = views::digest(&app, &a.user, latest.date)
                .await
                .map_err(fail(&a))?;
            is_today = false;
        }
        let ctx = context! {
            digest => Value::from(Serde(&digest)),
            is_today => is_today,
            today => today.to_string(),
            can_make => app.web.digests.is_some(),
            ..base(Some(&a), "digest", "Today's digest", notice(q.ok.as_deref()))
        };
        Ok(render(&app, "digest.html", StatusCode::OK, ctx))
    }
    .await;
    finish(&app, r)
}

async fn digest_on(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Path(date): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let r: PageResult = async {
        let date = parse_date(&date).map_err(fail(&a))?;
        let digest = views::digest(&app, &a.user, date)
            .await
            .map_err(fail(&a))?
            .ok_or(WebError::NotFound)
            .map_err(fail(&a))?;
        let title = format!("Digest of {date}");
        let ctx = context! {
            digest => Value::from(Serde(&digest)),
            is_today => date == views::today(&app, &a.user),
            today => views::today(&app, &a.user).to_string(),
            can_make => app.web.digests.is_some(),
            ..base(Some(&a), "archive", &title, notice(q.ok.as_deref()))
        };
        Ok(render(&app, "digest.html", StatusCode::OK, ctx))
    }
    .await;
    finish(&app, r)
}

async fn archive(State(app): State<AppState>, PageUser(a): PageUser) -> Response {
    let r: PageResult = async {
        let digests = views::archive(&app, &a.user).await.map_err(fail(&a))?;
        let ctx = context! {
            digests => Value::from(Serde(&digests)),
            ..base(Some(&a), "archive", "Archive", None)
        };
        Ok(render(&app, "archive.html", StatusCode::OK, ctx))
    }
    .await;
    finish(&app, r)
}

#[derive(Deserialize)]
struct MakeDigestForm {
    csrf: String,
    #[serde(default)]
    date: String,
}

async fn make_digest(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<MakeDigestForm>,
) -> Response {
    let r: PageResult = async {
        a.check_csrf(&f.csrf).map_err(fail(&a))?;
        let date = match f.date.trim() {
            "" => None,
            d => Some(
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| WebError::BadRequest(format!("{d:?} is not a date")))
                    .map_err(fail(&a))?,
            ),
        };
        let (date, made) = views::make_digest(&app, &a.user, date)
            .await
            .map_err(fail(&a))?;
        let target = match made {
            MadeDigest::Created => format!("/digests/{date}?ok=created"),
            MadeDigest::Existing => format!("/digests/{date}?ok=existing"),
            MadeDigest::NothingNew => "/digest?ok=nothing".to_string(),
        };
        Ok(Redirect::to(&target).into_response())
    }
    .await;
    finish(&app, r)
}

#[derive(Deserialize)]
struct VoteForm {
    csrf: String,
    insight: i64,
    vote: String,
    #[serde(default)]
    back: String,
}

async fn vote(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<VoteForm>,
) -> Response {
    let r: PageResult = async {
        a.check_csrf(&f.csrf).map_err(fail(&a))?;
        let v = views::parse_vote(&f.vote).map_err(fail(&a))?;
        views::vote(&app, &a.user, f.insight, v)
            .await
            .map_err(fail(&a))?;
        let back = local_path(&f.back).unwrap_or("/digest");
        let (path, _) = back.split_once('#').unwrap_or((back, ""));
        let (path, _) = path.split_once('?').unwrap_or((path, ""));
        Ok(Redirect::to(&format!("{path}?ok=voted#i{}", f.insight)).into_response())
    }
    .await;
    finish(&app, r)
}

// ----- subscriptions -------------------------------------------------------------------------

async fn subscriptions_page(
    app: &App,
    a: &Authed,
    status: StatusCode,
    notice_text: Option<&str>,
    error: Option<String>,
    url: &str,
    report: Option<crate::adds::ImportReport>,
) -> PageResult {
    let feeds = views::feeds(app, &a.user).await.map_err(fail(a))?;
    let adds = crate::adds::feed_adds(app, &a.user)
        .await
        .map_err(fail(a))?;
    let ctx = context! {
        feeds => Value::from(Serde(&feeds)),
        adds => Value::from(Serde(&adds)),
        error => error,
        url => url,
        report => Value::from(Serde(&report)),
        can_add => app.web.poller.is_some(),
        ..base(Some(a), "subscriptions", "Subscriptions", notice_text)
    };
    Ok(render(app, "feeds.html", status, ctx))
}

async fn subscriptions(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let r = subscriptions_page(
        &app,
        &a,
        StatusCode::OK,
        notice(q.ok.as_deref()),
        None,
        "",
        None,
    )
    .await;
    finish(&app, r)
}

#[derive(Deserialize)]
struct AddFeedForm {
    csrf: String,
    url: String,
}

async fn add_feed(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Form(f): Form<AddFeedForm>,
) -> Response {
    let r: PageResult = async {
        a.check_csrf(&f.csrf).map_err(fail(&a))?;
        match crate::adds::add_feed(&app, &a.user, &f.url).await {
            Ok(added) => {
                let ok = match added {
                    crate::adds::Added::Subscribed(s) if !s.new_subscription => "already",
                    crate::adds::Added::Subscribed(s) if s.held_back.is_some() => "held",
                    crate::adds::Added::Subscribed(_) | crate::adds::Added::Done => "subscribed",
                    crate::adds::Added::Pending { .. } => "pending",
                };
                Ok(Redirect::to(&format!("/subscriptions?ok={ok}")).into_response())
            }
            // The same one-line error as `podsift subscribe`, next to the form; too many
            // feeds waiting is said there too (429).
            Err(e @ (WebError::BadRequest(_) | WebError::Rejected(..))) => {
                subscriptions_page(
                    &app,
                    &a,
                    e.status(),
                    None,
                    Some(e.to_string()),
                    &f.url,
                    None,
                )
                .await
            }
            Err(e) => Err(fail(&a)(e)),
        }
    }
    .await;
    finish(&app, r)
}

/// Reads the import form: its CSRF token and the OPML file.
async fn read_import(mut form: Multipart) -> Result<(String, Vec<u8>), WebError> {
    let (mut csrf, mut file) = (String::new(), Vec::new());
    let bad = |e: axum::extract::multipart::MultipartError| WebError::BadRequest(e.body_text());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(bad)?,
            Some("opml") => file = field.bytes().await.map_err(bad)?.to_vec(),
            _ => {}
        }
    }
    Ok((csrf, file))
}

async fn import_opml(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    form: Multipart,
) -> Response {
    let r: PageResult = async {
        let (csrf, file) = read_import(form).await.map_err(fail(&a))?;
        a.check_csrf(&csrf).map_err(fail(&a))?;
        match crate::adds::import_opml(&app, &a.user, &file).await {
            Ok(report) => {
                let mut text = format!(
                    "Imported {} feeds; {} could not be subscribed.",
                    report.subscribed.len(),
                    report.failed.len()
                );
                if !report.pending.is_empty() {
                    text.push_str(&format!(
                        " {} more are being fetched in the background and appear here when ready.",
                        report.pending.len()
                    ));
                }
                subscriptions_page(
                    &app,
                    &a,
                    StatusCode::OK,
                    Some(&text),
                    None,
                    "",
                    Some(report),
                )
                .await
            }
            Err(e @ (WebError::BadRequest(_) | WebError::Rejected(..))) => {
                subscriptions_page(&app, &a, e.status(), None, Some(e.to_string()), "", None).await
            }
            Err(e) => Err(fail(&a)(e)),
        }
    }
    .await;
    finish(&app, r)
}

async fn export_opml(State(app): State<AppState>, PageUser(a): PageUser) -> Response {
    let r: PageResult = async {
        let doc = views::export_opml(&app, &a.user).await.map_err(fail(&a))?;
        Ok((
            [
                (header::CONTENT_TYPE, "text/x-opml; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"podsift.opml\"",
                ),
            ],
            doc,
        )
            .into_response())
    }
    .await;
    finish(&app, r)
}

async fn feed_page(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
) -> Response {
    let r: PageResult = async {
        let id = parse_id(&id).map_err(fail(&a))?;
        let detail = views::feed_detail(&app, &a.user, id)
            .await
            .map_err(fail(&a))?;
        let title = detail.feed.title.clone();
        let ctx = context! {
            feed => Value::from(Serde(&detail.feed)),
            episodes => Value::from(Serde(&detail.episodes)),
            ..base(Some(&a), "subscriptions", &title, None)
        };
        Ok(render(&app, "feed.html", StatusCode::OK, ctx))
    }
    .await;
    finish(&app, r)
}

async fn unsubscribe(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    let r: PageResult = async {
        a.check_csrf(&f.csrf).map_err(fail(&a))?;
        let id = parse_id(&id).map_err(fail(&a))?;
        views::unsubscribe(&app, &a.user, id)
            .await
            .map_err(fail(&a))?;
        Ok(Redirect::to("/subscriptions?ok=unsubscribed").into_response())
    }
    .await;
    finish(&app, r)
}

#[derive(Deserialize)]
struct WeightForm {
    csrf: String,
    weight: f64,
}

async fn set_weight(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Form(f): Form<WeightForm>,
) -> Response {
    let r: PageResult = async {
        a.check_csrf(&f.csrf).map_err(fail(&a))?;
        let id = parse_id(&id).map_err(fail(&a))?;
        views::set_weight(&app, &a.user, id, f.weight)
            .await
            .map_err(fail(&a))?;
        Ok(Redirect::to("/subscriptions?ok=weight").into_response())
    }
    .await;
    finish(&app, r)
}

// ----- episodes and search -------------------------------------------------------------------

async fn episode_page(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Path(id): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Response {
    let r: PageResult = async {
        let id = parse_id(&id).map_err(fail(&a))?;
        let ep = views::episode(&app, &a.user, id).await.map_err(fail(&a))?;
        let title = ep.title.clone();
        let ctx = context! {
            ep => Value::from(Serde(&ep)),
            ..base(Some(&a), "", &title, notice(q.ok.as_deref()))
        };
        Ok(render(&app, "episode.html", StatusCode::OK, ctx))
    }
    .await;
    finish(&app, r)
}

#[derive(Deserialize, Default)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(
    State(app): State<AppState>,
    PageUser(a): PageUser,
    Query(q): Query<SearchQuery>,
) -> Response {
    let r: PageResult = async {
        let query = q.q.trim();
        let results = if query.is_empty() {
            Vec::new()
        } else {
            views::search(&app, &a.user, query)
                .await
                .map_err(fail(&a))?
        };
        let ctx = context! {
            q => query,
            results => Value::from(Serde(&results)),
            searched => !query.is_empty(),
            ..base(Some(&a), "search", "Search", None)
        };
        Ok(render(&app, "search.html", StatusCode::OK, ctx))
    }
    .await;
    finish(&app, r)
}

// ----- static files --------------------------------------------------------------------------

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

async fn js() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
}
