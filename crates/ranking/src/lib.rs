//! podsift's ranking: which of the day's candidate insights a reader gets, and why.
//!
//! * [`embed`]: the [`Embedder`] port and [`MiniLmEmbedder`] (all-MiniLM-L6-v2 on candle, CPU,
//!   pure Rust); [`ensure_model`] fetches its official files once, pinned and sha256-checked.
//! * [`rank()`]: pure and deterministic, one path for both engines (with or without
//!   embeddings): the register check (`podsift-register`) gates and scores, same-claim
//!   clusters decided by figures, names and words as well as cosine ([`claim`]), memory of
//!   what was sent ("Update:" when a story moved), interests and bounded feedback, MMR
//!   selection with per-show and per-episode caps, reasons a reader can use and an
//!   explanation of every rule and feature.
//! * [`rank_jsonl`] + [`render_text`]: the engine of `podsift rank` and `podsift lint`.

pub mod claim;
mod download;
pub mod embed;
mod error;
mod history;
mod jsonl;
mod lint;
mod rank;
mod score;
mod select;
pub mod similarity;
mod types;

pub use download::{MINILM_DIR, MINILM_REVISION, ensure_model, ensure_model_from, minilm_specs};
pub use embed::{Embedder, MINILM_DIM, MiniLmEmbedder, cosine};
pub use error::{LineError, RankError};
pub use history::new_material;
pub use jsonl::{
    CandidateLine, RankReport, WORDS_ONLY, embed_candidates, embed_history, embed_interests,
    interest_labels, parse_candidate_lines, parse_candidates, parse_history, rank_jsonl,
    render_text,
};
pub use lint::{LintLine, LintReport, lint_jsonl, render_lint};
pub use rank::rank;
pub use similarity::SimilarityMethod;
pub use types::{
    Candidate, Cluster, DEFAULT_DUPLICATE_THRESHOLD, DEFAULT_UPDATE_THRESHOLD, Explain, Feature,
    Interest, Pick, Profile, RankConfig, Ranking, Scores, SentInsight, SuppressReason, Suppressed,
    UpdateOf, Vote,
};

/// Where the test copy of the model lives (`scripts/fetch-test-assets minilm-config
/// minilm-model minilm-tokenizer`): `$PODSIFT_TEST_ASSETS/all-minilm-l6-v2`, else
/// `~/.cache/podsift-test-assets/all-minilm-l6-v2`. `None` when it is not complete there.
pub fn test_model_dir() -> Option<std::path::PathBuf> {
    let root = std::env::var_os("PODSIFT_TEST_ASSETS")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::Path::new(&h).join(".cache/podsift-test-assets"))
        })?;
    let dir = root.join(MINILM_DIR);
    embed::MODEL_FILES
        .iter()
        .all(|f| dir.join(f).is_file())
        .then_some(dir)
}
