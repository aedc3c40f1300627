//! The ranking crate's one error type.

use std::path::{Path, PathBuf};

/// One bad line of a JSONL input (1-based line number).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RankError {
    /// The model directory lacks a file (run the download, or point at a complete copy).
    #[error("embedding model incomplete: {file} is missing in {}", dir.display())]
    ModelMissing { dir: PathBuf, file: String },
    /// A model file is there but unusable (corrupt, wrong format).
    #[error("embedding model file {}: {message}", path.display())]
    Model { path: PathBuf, message: String },
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Inference failed (shape or tokenizer error): a bug or bad input, not worth a retry.
    #[error("embedding failed: {0}")]
    Embed(String),
    /// The model download failed; `retryable` says whether a later try may succeed.
    #[error("model download failed: {message}")]
    Download { message: String, retryable: bool },
    /// Lines of a JSONL input that could not be used (all of them, up to a cap).
    #[error("{} invalid line(s) in {source_name}: {}", errors.len(), errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Input {
        source_name: String,
        errors: Vec<LineError>,
    },
}

impl RankError {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn model(path: &Path, message: String) -> Self {
        Self::Model {
            path: path.to_path_buf(),
            message,
        }
    }

    /// Whether trying again later may help (only network trouble during the download).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Download {
                retryable: true,
                ..
            }
        )
    }
}
