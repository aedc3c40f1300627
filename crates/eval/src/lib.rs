//! podsift-eval: measures podsift's insight extraction on the Python Bytes corpus, and the
//! register check and the ranking on the golden set ([`golden`]).
//!
//! For each episode the hosts' show notes list the items they chose to talk about; the
//! evaluation extracts insights from the episode's transcript, picks the digest's top 5 and
//! reports how many of them correspond to a host item ([`matching`]), the quote grounding
//! rate, the transcript coverage and the prompt tokens sent against a send-everything
//! baseline ([`run`], [`report`]).

pub mod corpus;
pub mod coverage;
pub mod golden;
pub mod golden_run;
pub mod judge;
pub mod matching;
pub mod report;
pub mod run;
pub mod shownotes;

use std::path::{Path, PathBuf};

/// Why the evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A corpus file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is larger than the evaluation reads.
    #[error("{path} is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// No episode has both show notes with items and a transcript.
    #[error("no Python Bytes episode with show notes and a transcript under {0}")]
    NoEpisodes(PathBuf),
    /// The model engine could not be set up.
    #[error("cannot set up the model: {0}")]
    Engine(String),
    /// The golden set could not be read or used.
    #[error("golden set: {0}")]
    Golden(String),
    /// Writing the JSON output failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl EvalError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}
