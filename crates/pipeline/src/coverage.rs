//! How much of the episodes a pass read: `podsift run`'s "read" lines and the `read` object
//! of its `--json`. The words come from each episode's [`ExtractionReport`]; the phrasing is
//! podsift-digest's ([`podsift_digest::coverage`]), the same as the digest's footer.

use podsift_core::{DigestStats, ExtractionReport, JobOutcome};
use podsift_digest::coverage;
use serde::Serialize;

use crate::Tally;

/// One episode read in the pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeCoverage {
    pub episode_id: i64,
    pub title: String,
    /// Share of the words outside sponsor reads that the model read (0–1).
    pub read_share: f64,
    /// Words outside sponsor reads, and of those the words read.
    pub words_content: usize,
    pub words_read: usize,
    /// The cap that left part of the episode unread (none: nothing was cut for a cap).
    pub capped_by: Option<String>,
    /// The editor pass's status line.
    pub editor: Option<String>,
    /// Insights the checks refused (the reasons are in the report).
    pub dropped: usize,
}

impl EpisodeCoverage {
    fn new(episode_id: i64, title: &str, r: &ExtractionReport) -> Self {
        let content = coverage::content_words(r);
        Self {
            episode_id,
            title: title.to_string(),
            read_share: r.read_share(),
            words_content: content,
            words_read: r.words_read.min(content),
            capped_by: coverage::cap_label(r),
            editor: coverage::editor_label(r),
            dropped: r.dropped.len(),
        }
    }
}

/// The pass's episodes together.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReadCoverage {
    pub episodes: usize,
    pub words_content: u64,
    pub words_read: u64,
    /// Share of all their non-ad words read (1 when none were read in this pass).
    pub read_share: f64,
    /// Episodes a cap left partly unread.
    pub episodes_capped: usize,
    pub per_episode: Vec<EpisodeCoverage>,
    /// The same sentence as the digest's footer (`Read 100 % of 4 episodes (52,310 words).`),
    /// when the words are known.
    pub summary: Option<String>,
}

impl ReadCoverage {
    /// The coverage of the reports of the episodes extracted in a pass.
    pub fn of<'a>(reports: impl IntoIterator<Item = (i64, &'a str, &'a ExtractionReport)>) -> Self {
        let mut stats = DigestStats::default();
        let mut per_episode = Vec::new();
        for (id, title, r) in reports {
            stats.episodes += 1;
            coverage::add_episode(&mut stats, r);
            per_episode.push(EpisodeCoverage::new(id, title, r));
        }
        // Reports stored before podsift counted words have only a share: average those.
        let read_share = if stats.words_content > 0 || per_episode.is_empty() {
            stats.read_share()
        } else {
            per_episode.iter().map(|e| e.read_share).sum::<f64>() / per_episode.len() as f64
        };
        Self {
            episodes: stats.episodes,
            words_content: stats.words_content,
            words_read: stats.words_read,
            read_share,
            episodes_capped: stats.episodes_capped,
            summary: coverage::digest_line(&stats),
            per_episode,
        }
    }

    /// Lines for a terminal: one per episode (`  Title: read 64 % (…; capped: …)`, the
    /// editor's status on the next line), then the total. Nothing when no episode was read.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in &self.per_episode {
            let title = if e.title.trim().is_empty() {
                format!("episode {}", e.episode_id)
            } else {
                e.title.clone()
            };
            let mut line = format!("  {title}: {}", episode_phrase(e));
            if e.dropped > 0 {
                line.push_str(&format!(
                    ", {} insight{} dropped by the checks",
                    e.dropped,
                    if e.dropped == 1 { "" } else { "s" }
                ));
            }
            out.push(line);
            if let Some(editor) = &e.editor {
                out.push(format!("    editor: {editor}"));
            }
        }
        if let Some(total) = &self.summary {
            out.push(total.clone());
        } else if !self.per_episode.is_empty() {
            out.push(format!(
                "Read {} % of {} episode{}.",
                coverage::percent(self.read_share),
                self.episodes,
                if self.episodes == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

fn episode_phrase(e: &EpisodeCoverage) -> String {
    let pct = coverage::percent(e.read_share);
    let mut details = Vec::new();
    if e.words_content > 0 {
        let content = coverage::thousands(e.words_content as u64);
        details.push(if pct == 100 {
            format!("{content} words")
        } else {
            format!(
                "{} of {content} words",
                coverage::thousands(e.words_read as u64)
            )
        });
    }
    if let Some(cap) = &e.capped_by {
        details.push(format!("capped: {cap}"));
    }
    if details.is_empty() {
        format!("read {pct} %")
    } else {
        format!("read {pct} % ({})", details.join("; "))
    }
}

impl Tally {
    /// How much of the episodes extracted in this pass was read.
    pub fn coverage(&self) -> ReadCoverage {
        ReadCoverage::of(
            self.extracted
                .iter()
                .filter(|x| x.state == JobOutcome::Done)
                .filter_map(|x| {
                    x.report
                        .as_ref()
                        .map(|r| (x.episode_id, x.title.as_str(), r))
                }),
        )
    }
}
