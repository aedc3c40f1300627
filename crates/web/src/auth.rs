//! Passwords (argon2id), database sessions behind a cookie (or a bearer token for API
//! clients), CSRF tokens and sign-in (through the limiter in `limiter`).

use std::sync::OnceLock;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use podsift_core::{Session, UserProfile};
use sha2::{Digest, Sha256};

use crate::error::WebError;
use crate::limiter::Keys;
use crate::{App, AppState};

/// The session cookie.
pub(crate) const SESSION_COOKIE: &str = "podsift_session";
/// The sign-in form's CSRF cookie (double submit: there is no session yet).
pub(crate) const LOGIN_COOKIE: &str = "podsift_login";
/// The header a cookie-authenticated API write carries the CSRF token in.
pub(crate) const CSRF_HEADER: &str = "x-csrf-token";

/// Shortest password `hash_password` accepts.
pub const MIN_PASSWORD_LEN: usize = 8;
const MAX_PASSWORD_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    #[error("the password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("the password must be at most {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("hashing the password failed: {0}")]
    Hash(String),
}

/// An argon2id PHC string of `password` with a fresh random salt (argon2's default cost:
/// 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    let salt_bytes: [u8; 16] = rand::random();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the account does not exist or has no password, so the
/// answer takes as long as for a real account.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let pw = hex::encode(rand::random::<[u8; 16]>());
        hash_password(&pw).unwrap_or_default()
    })
}

/// Check a password off the async threads (argon2 takes tens of milliseconds by design).
pub(crate) async fn check_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            verify_password(&password, decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

pub(crate) fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Equal strings, in time independent of where they differ.
pub(crate) fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A cookie's value from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure on https.
pub(crate) fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

pub(crate) fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", Duration::ZERO, secure)
}

/// The signed-in user of a request.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub user: UserProfile,
    pub session: Session,
    /// Authenticated by `Authorization: Bearer` (no ambient credentials: no CSRF check).
    pub bearer: bool,
}

impl Authed {
    /// The form's (or header's) CSRF token must be this session's.
    pub fn check_csrf(&self, given: &str) -> Result<(), WebError> {
        if self.bearer || same_token(given, &self.session.csrf) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

fn session_token(parts: &Parts) -> Option<(String, bool)> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| (t.trim().to_string(), true));
    let token = bearer.or_else(|| cookie(&parts.headers, SESSION_COOKIE).map(|t| (t, false)))?;
    (token.0.len() == 64 && token.0.bytes().all(|b| b.is_ascii_hexdigit())).then_some(token)
}

pub(crate) async fn authenticate(app: &App, parts: &Parts) -> Result<Option<Authed>, WebError> {
    let Some((token, bearer)) = session_token(parts) else {
        return Ok(None);
    };
    let now = app.web.clock.now();
    let Some(session) = app.web.store.get_session(&token_hash(&token), now).await? else {
        return Ok(None);
    };
    let Some(user) = app.web.store.user_profile(session.user_id).await? else {
        return Ok(None);
    };
    Ok(Some(Authed {
        user,
        session,
        bearer,
    }))
}

/// A page's signed-in user; anyone else is sent to the sign-in page (and back afterwards).
pub(crate) struct PageUser(pub Authed);

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        match authenticate(app, parts).await {
            Ok(Some(a)) => Ok(Self(a)),
            Ok(None) => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let target = format!("/login?next={}", url_encode(next));
                Err(Redirect::to(&target).into_response())
            }
            Err(e) => Err(crate::pages::error_response(app, None, &e)),
        }
    }
}

/// An API request's signed-in user (401 otherwise). Writes must call [`ApiUser::write`].
pub(crate) struct ApiUser(pub Authed);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let authed = match authenticate(app, parts).await {
            Ok(Some(a)) => a,
            Ok(None) => return Err(crate::api::error_response(&WebError::Unauthorized)),
            Err(e) => return Err(crate::api::error_response(&e)),
        };
        // Cookie-authenticated writes carry the session's CSRF token in a header.
        if !parts.method.is_safe() {
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if let Err(e) = authed.check_csrf(given) {
                return Err(crate::api::error_response(&e));
            }
        }
        Ok(Self(authed))
    }
}

/// Percent-encode for a query value.
pub(crate) fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A local path to go back to after a form (never another site: `//host` and `/\host` are
/// refused).
pub(crate) fn local_path(p: &str) -> Option<&str> {
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && !p.starts_with("/\\")
        && !p.chars().any(|c| c.is_control());
    ok.then_some(p)
}

/// Sign in: the limiter's wait, then the password. Returns the new session's cookie token.
pub(crate) async fn login(
    app: &App,
    ip: &str,
    email: &str,
    password: &str,
) -> Result<(String, Session), WebError> {
    let keys = Keys::new(ip, email);
    if let Some(wait) = app.limiter.wait(&keys) {
        return Err(WebError::TooManyAttempts(wait));
    }
    let found = app.web.store.password_hash(email.trim()).await?;
    let (user, hash) = match found {
        Some((id, hash)) => (Some(id), hash),
        None => (None, None),
    };
    let ok = check_password(password.to_string(), hash).await;
    let Some(user) = user.filter(|_| ok) else {
        app.limiter.failed(&keys);
        tracing::info!(ip, "failed sign-in");
        return Err(WebError::BadRequest("wrong email or password".into()));
    };
    app.limiter.succeeded(&keys);
    let token = random_token();
    let now = app.web.clock.now();
    let ttl = chrono::Duration::from_std(app.web.config.session_ttl)
        .unwrap_or_else(|_| chrono::Duration::days(30));
    let session = Session {
        token_hash: token_hash(&token),
        user_id: user,
        csrf: random_token(),
        created_at: now,
        expires_at: now + ttl,
    };
    app.web.store.create_session(&session, now).await?;
    Ok((token, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(h, hash_password("correct horse").unwrap(), "salted");
        assert!(matches!(
            hash_password("short"),
            Err(PasswordError::TooShort)
        ));
    }

    #[test]
    fn local_paths_only() {
        assert_eq!(
            local_path("/digests/2026-01-01"),
            Some("/digests/2026-01-01")
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn cookies_parse_and_are_strict() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; podsift_session=abc ; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        let c = set_cookie(SESSION_COOKIE, "t", Duration::from_secs(60), true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.ends_with("; Secure"));
        assert!(
            !set_cookie(SESSION_COOKIE, "t", Duration::from_secs(60), false).contains("Secure")
        );
    }
}
