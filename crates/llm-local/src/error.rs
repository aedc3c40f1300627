//! Errors of the local runtime.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong downloading a model or running `podsift-llm`.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// `podsift-llm` was found nowhere.
    #[error("cannot find the `podsift-llm` binary (looked at: {}); install it next to `podsift` or set llm.local_server_bin", .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    BinaryNotFound { searched: Vec<PathBuf> },
    /// The model file given does not exist.
    #[error("model file not found: {0}")]
    ModelNotFound(PathBuf),
    /// Starting the child process failed.
    #[error("cannot start {bin}: {source}")]
    Spawn {
        bin: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The child did not report its address in time.
    #[error("podsift-llm did not start within {timeout:?}{}", stderr_suffix(.stderr))]
    StartupTimeout { timeout: Duration, stderr: String },
    /// The child exited before it was ready (bad model file, out of memory, ...).
    #[error("podsift-llm exited before it was ready ({status}){}", stderr_suffix(.stderr))]
    Exited { status: String, stderr: String },
    /// The child printed something other than the expected `listening on` line.
    #[error("unexpected first line from podsift-llm: {0:?}")]
    Handshake(String),
    /// The server answered the download with an error status.
    #[error("downloading {url}: HTTP {status}")]
    Http { url: String, status: u16 },
    /// The connection failed or timed out.
    #[error("downloading {url}: {source}")]
    Network {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The download ended before `size` bytes (kept for resuming).
    #[error("download of {name} ended early at {got} of {want} bytes (will resume)")]
    Incomplete { name: String, got: u64, want: u64 },
    /// The server sent more bytes than the pinned size, or a resume it could not honour.
    #[error("download of {name}: {reason}")]
    BadResponse { name: String, reason: String },
    /// The file's sha256 is not the pinned one; the partial file was deleted.
    #[error(
        "sha256 mismatch for {name}: expected {expected}, got {actual}; the download was deleted"
    )]
    HashMismatch {
        name: String,
        expected: String,
        actual: String,
    },
    /// A model spec that cannot be valid (bad name or hash).
    #[error("invalid model spec: {0}")]
    InvalidSpec(String),
    /// `[llm] local_model` names no model of the catalogue.
    #[error(
        "unknown local model {name:?}: not a tier or file of the catalogue ({known}); set llm.local_model_path for another GGUF file"
    )]
    UnknownModel { name: String, known: String },
    /// A local file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("; its last output:\n{}", stderr.trim_end())
    }
}

impl LocalError {
    /// Whether trying again later may succeed (network trouble, server errors, an interrupted
    /// download); `false` for problems that need a change by the user or the project.
    pub fn is_retryable(&self) -> bool {
        match self {
            LocalError::Http { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            LocalError::Network { .. } | LocalError::Incomplete { .. } => true,
            LocalError::StartupTimeout { .. } => true,
            LocalError::BinaryNotFound { .. }
            | LocalError::ModelNotFound(_)
            | LocalError::Spawn { .. }
            | LocalError::Exited { .. }
            | LocalError::Handshake(_)
            | LocalError::BadResponse { .. }
            | LocalError::HashMismatch { .. }
            | LocalError::InvalidSpec(_)
            | LocalError::UnknownModel { .. }
            | LocalError::Io { .. } => false,
        }
    }

    pub(crate) fn io(what: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        LocalError::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}
