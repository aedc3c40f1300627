//! How much of an episode podsift read, for its page and `/api/episodes/ID`: the share of the
//! words outside sponsor reads, the cap that cut it short (if one did), the editor's status
//! and the insights the checks dropped, each with its reason. Everything here is model- or
//! extractor-derived text: the template autoescapes it, and it is bounded in length here.

use podsift_core::{EpisodeId, ExtractionReport, Store};
use podsift_digest::coverage;
use serde::Serialize;

use crate::error::WebError;

/// Longest dropped insight or reason shown (in characters).
const MAX_DROPPED_CHARS: usize = 1000;
/// Most dropped insights listed.
const MAX_DROPPED: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DroppedView {
    pub text: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CoverageView {
    /// `Read 100 % of the episode (9,412 of 9,412 words outside sponsor reads).`
    pub sentence: String,
    /// 0–1.
    pub read_share: f64,
    pub words_content: usize,
    pub words_read: usize,
    /// The cap in force when it was read (`episode_token_budget = 8000`).
    pub cap: Option<String>,
    /// Whether that cap left part of the episode unread.
    pub capped: bool,
    pub editor: Option<String>,
    pub dropped: Vec<DroppedView>,
}

fn bounded(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() <= MAX_DROPPED_CHARS {
        return s.to_string();
    }
    let mut t: String = s.chars().take(MAX_DROPPED_CHARS - 1).collect();
    t.push('…');
    t
}

impl CoverageView {
    pub(crate) fn new(r: &ExtractionReport) -> Self {
        let content = coverage::content_words(r);
        Self {
            sentence: coverage::episode_sentence(r),
            read_share: r.read_share(),
            words_content: content,
            words_read: r.words_read.min(content),
            cap: r.cap.as_deref().map(bounded).filter(|c| !c.is_empty()),
            capped: coverage::was_capped(r),
            editor: coverage::editor_label(r),
            dropped: r
                .dropped
                .iter()
                .take(MAX_DROPPED)
                .map(|d| DroppedView {
                    text: bounded(&d.text),
                    reason: bounded(&d.reason),
                })
                .collect(),
        }
    }
}

/// The episode's coverage, or none when it has not been read yet. The caller has checked
/// that the user follows the episode.
pub(crate) async fn episode_coverage(
    store: &dyn Store,
    id: EpisodeId,
) -> Result<Option<CoverageView>, WebError> {
    Ok(store
        .get_extraction(id)
        .await?
        .map(|(_, r)| CoverageView::new(&r)))
}
