//! Signed 👍/👎 links: `BASE/feedback?i=INSIGHT&v=up&u=USER&t=TOKEN`, where TOKEN is the hex
//! HMAC-SHA256 of `INSIGHT:up:USER` under a server secret, so a link only votes for the one
//! user, insight and direction it was made for. The web server checks a click with
//! [`verify_feedback_token`].

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The secret's file in the data dir (written once, mode 0600).
pub const FEEDBACK_KEY_FILE: &str = "feedback.key";
/// Secrets shorter than this are refused: they could be guessed.
const MIN_SECRET_BYTES: usize = 16;

/// What a feedback link says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackVote {
    Up,
    Down,
}

impl FeedbackVote {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
        }
    }

    /// `up` / `down` (as in the link's `v=`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "up" => Some(Self::Up),
            "down" => Some(Self::Down),
            _ => None,
        }
    }

    /// +1 / −1, as stored.
    pub fn sign(self) -> i8 {
        match self {
            Self::Up => 1,
            Self::Down => -1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedbackKeyError {
    #[error("the feedback secret variable {0} is not set")]
    EnvMissing(String),
    #[error("the feedback secret is shorter than {MIN_SECRET_BYTES} bytes")]
    TooShort,
    #[error("feedback key {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn mac(secret: &[u8], insight: i64, vote: FeedbackVote, user: i64) -> hmac::Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` only fails for fixed-size MACs.
    let mut m = match hmac::Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    m.update(format!("{insight}:{}:{user}", vote.as_str()).as_bytes());
    m
}

/// Hex HMAC-SHA256 of `INSIGHT:VOTE:USER`.
pub fn feedback_token(secret: &[u8], insight: i64, vote: FeedbackVote, user: i64) -> String {
    hex::encode(mac(secret, insight, vote, user).finalize().into_bytes())
}

/// Whether `token` (hex, from the link's `t=`) was made for this insight, vote and user
/// (compared in constant time).
pub fn verify_feedback_token(
    secret: &[u8],
    insight: i64,
    vote: FeedbackVote,
    user: i64,
    token: &str,
) -> bool {
    let Ok(bytes) = hex::decode(token.trim()) else {
        return false;
    };
    mac(secret, insight, vote, user)
        .verify_slice(&bytes)
        .is_ok()
}

/// Everything needed to put 👍/👎 links in a user's digest.
#[derive(Clone)]
pub struct FeedbackLinks {
    base_url: String,
    secret: Vec<u8>,
    user: i64,
}

impl std::fmt::Debug for FeedbackLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedbackLinks")
            .field("base_url", &self.base_url)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl FeedbackLinks {
    /// `None` unless `base_url` is a usable `http`/`https` URL.
    pub fn new(base_url: &str, secret: &[u8], user: i64) -> Option<Self> {
        let base = crate::text::safe_url(base_url)?;
        Some(Self {
            base_url: base.trim_end_matches('/').to_string(),
            secret: secret.to_vec(),
            user,
        })
    }

    pub fn url(&self, insight: i64, vote: FeedbackVote) -> String {
        format!(
            "{}/feedback?i={insight}&v={}&u={}&t={}",
            self.base_url,
            vote.as_str(),
            self.user,
            feedback_token(&self.secret, insight, vote, self.user)
        )
    }
}

/// The signing secret: the variable `env_var` names when given (its bytes), else
/// DATA_DIR/feedback.key, generated (32 random bytes, hex, mode 0600) on first use.
pub fn load_or_create_secret(
    env_var: Option<&str>,
    data_dir: &Path,
) -> Result<Vec<u8>, FeedbackKeyError> {
    if let Some(var) = env_var {
        let value =
            std::env::var(var).map_err(|_| FeedbackKeyError::EnvMissing(var.to_string()))?;
        let value = value.trim().as_bytes().to_vec();
        if value.len() < MIN_SECRET_BYTES {
            return Err(FeedbackKeyError::TooShort);
        }
        return Ok(value);
    }
    let path = data_dir.join(FEEDBACK_KEY_FILE);
    let io = |source| FeedbackKeyError::Io {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) => return Err(FeedbackKeyError::TooShort),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let key: [u8; 32] = rand::random();
    let text = hex::encode(key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut f) => {
            f.write_all(text.as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
            Ok(text.into_bytes())
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(&path)
            .map(|s| s.trim().as_bytes().to_vec())
            .map_err(io),
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_bind_insight_vote_and_user() {
        let s = b"0123456789abcdef0123";
        let t = feedback_token(s, 7, FeedbackVote::Up, 3);
        assert_eq!(t.len(), 64);
        assert!(verify_feedback_token(s, 7, FeedbackVote::Up, 3, &t));
        assert!(!verify_feedback_token(s, 7, FeedbackVote::Down, 3, &t));
        assert!(!verify_feedback_token(s, 8, FeedbackVote::Up, 3, &t));
        assert!(!verify_feedback_token(s, 7, FeedbackVote::Up, 4, &t));
        assert!(!verify_feedback_token(
            b"another secret 1234",
            7,
            FeedbackVote::Up,
            3,
            &t
        ));
        assert!(!verify_feedback_token(s, 7, FeedbackVote::Up, 3, "zz"));
        assert!(!verify_feedback_token(s, 7, FeedbackVote::Up, 3, ""));
    }

    #[test]
    fn the_token_is_hmac_sha256_of_the_documented_message() {
        // RFC 4231-style check against an independent computation: HMAC(key, "7:up:3").
        let mut m = hmac::Hmac::<Sha256>::new_from_slice(b"key key key key key").unwrap();
        m.update(b"7:up:3");
        let want = hex::encode(m.finalize().into_bytes());
        assert_eq!(
            feedback_token(b"key key key key key", 7, FeedbackVote::Up, 3),
            want
        );
    }

    #[test]
    fn links_need_an_http_base() {
        let l = FeedbackLinks::new("https://pod.example.org/", b"0123456789abcdef", 3).unwrap();
        let u = l.url(7, FeedbackVote::Down);
        assert!(
            u.starts_with("https://pod.example.org/feedback?i=7&v=down&u=3&t="),
            "{u}"
        );
        assert!(FeedbackLinks::new("javascript:alert(1)", b"0123456789abcdef", 3).is_none());
    }

    #[test]
    fn secret_is_generated_once_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(None, dir.path()).unwrap();
        let b = load_or_create_secret(None, dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FEEDBACK_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(load_or_create_secret(None, other.path()).unwrap(), a);
    }

    #[test]
    fn secret_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load_or_create_secret(Some("PODSIFT_TEST_SURELY_UNSET_VAR"), dir.path()),
            Err(FeedbackKeyError::EnvMissing(_))
        ));
        // PATH is set in any test environment and long enough.
        let path = std::env::var("PATH").unwrap_or_default();
        if path.len() >= MIN_SECRET_BYTES {
            assert_eq!(
                load_or_create_secret(Some("PATH"), dir.path()).unwrap(),
                path.trim().as_bytes()
            );
        }
        assert!(!dir.path().join(FEEDBACK_KEY_FILE).exists());
    }
}
