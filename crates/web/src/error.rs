//! Errors at the HTTP edge: the user's mistake (400, 404, 403, 429) apart from ours (503).

use std::time::Duration;

use axum::http::StatusCode;
use podsift_core::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// Unknown, or another user's: the same answer, so ids reveal nothing.
    #[error("not found")]
    NotFound,
    /// Not signed in (the API; pages redirect to the sign-in page instead).
    #[error("sign in first")]
    Unauthorized,
    /// A form or API write without the session's CSRF token.
    #[error("the form expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    /// A request the extractors refused (a missing or wrong `Content-Type`, malformed
    /// JSON, a missing field), with the status they chose.
    #[error("{1}")]
    Rejected(StatusCode, String),
    /// A signed link (a digest's vote link) whose signature does not match.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Failed sign-ins in a row: the next attempt must wait this long.
    #[error("too many sign-in attempts; try again in {}", wait_text(*.0))]
    TooManyAttempts(Duration),
    /// A part the server was started without (the poller, the digest maker).
    #[error("{0} is not available on this server")]
    Unavailable(&'static str),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Csrf | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Rejected(status, _) => *status,
            Self::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            Self::Store(_) | Self::Internal(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What the user is shown: our own failures are logged, not described.
    pub fn public_message(&self) -> String {
        match self {
            Self::Store(StoreError::NotFound(_)) => "not found".into(),
            Self::Store(_) | Self::Internal(_) => {
                tracing::warn!("web: {self}");
                "something went wrong on the server; try again in a moment".into()
            }
            other => other.to_string(),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            // Whole seconds, rounded up (`Retry-After: 0` would invite a retry now).
            Self::TooManyAttempts(d) => Some(Duration::from_secs(
                d.as_secs() + u64::from(d.subsec_nanos() > 0),
            )),
            _ => None,
        }
    }
}

/// "3 seconds", "2 minutes".
fn wait_text(d: Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    match secs {
        1 => "1 second".into(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}
