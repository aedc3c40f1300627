//! Evaluating one episode: extract, pick the top 5, match against the host items, measure.

use std::time::Instant;

use chrono::{DateTime, Utc};
use podsift_core::config::LlmConfig;
use podsift_core::{CandidateInsight, InsightDraft, Llm};
use podsift_insights::{EpisodeInput, ExtractionReport, MemoryCache};

use crate::EvalError;
use crate::corpus::{self, EpisodeFiles, MAX_TRANSCRIPT_BYTES};
use crate::matching::{ItemMatch, ItemTokens, match_insight};
use crate::shownotes::{HostItem, MAX_NOTES_BYTES, parse_show_notes};

/// Size of the digest's top list that is evaluated.
pub const TOP_N: usize = 5;
/// The show's name given to the model.
pub const SHOW: &str = "Python Bytes";

/// A loaded episode: its host items and transcript.
#[derive(Debug, Clone)]
pub struct Episode {
    /// Episode number.
    pub number: u32,
    /// Title (the notes' first heading, else "Episode N").
    pub title: String,
    /// The hosts' items.
    pub items: Vec<HostItem>,
    /// The normalised transcript.
    pub segments: Vec<podsift_core::Segment>,
}

impl Episode {
    /// Reads and parses an episode's files.
    pub fn load(files: &EpisodeFiles) -> Result<Self, EvalError> {
        let notes = corpus::read_bounded(&files.notes, MAX_NOTES_BYTES as u64)?;
        let vtt = corpus::read_bounded(&files.transcript, MAX_TRANSCRIPT_BYTES)?;
        let segments =
            podsift_transcripts::normalise(podsift_transcripts::parse_vtt(&vtt).segments);
        let title = files
            .transcript
            .file_stem()
            .and_then(|s| s.to_str())
            .map(|s| {
                s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_')
                    .replace(['-', '_'], " ")
            })
            .filter(|t| !t.trim().is_empty() && t.trim() != "python bytes")
            .unwrap_or_else(|| format!("Episode {}", files.number));
        Ok(Self {
            number: files.number,
            title: format!("#{} {}", files.number, title.trim()),
            items: parse_show_notes(&notes),
            segments,
        })
    }

    /// Length of the transcript in hours (end of the last segment).
    pub fn hours(&self) -> f64 {
        self.segments
            .iter()
            .map(|s| s.end)
            .filter(|e| e.is_finite())
            .fold(0.0_f64, f64::max)
            / 3600.0
    }
}

/// One top-5 pick and the host item it was matched to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TopPick {
    /// The insight's text.
    pub text: String,
    /// Its grounded quote.
    pub quote: String,
    /// Where the quote starts, in seconds.
    pub start_seconds: f64,
    /// The digest score.
    pub score: f64,
    /// The matched item's title.
    pub item_title: Option<String>,
    /// The evidence.
    pub matched: Option<ItemMatch>,
}

/// The measurements of one episode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EpisodeResult {
    /// Episode number.
    pub number: u32,
    /// Title given to the model.
    pub title: String,
    /// Host items in the notes.
    pub host_items: usize,
    /// Transcript length in hours.
    pub hours: f64,
    /// Insights extracted (after merging).
    pub insights: usize,
    /// The top picks (at most [`TOP_N`]).
    pub top: Vec<TopPick>,
    /// Top picks that match a host item.
    pub top_on_items: usize,
    /// Distinct host items matched by any extracted insight.
    pub items_found: usize,
    /// Prompt tokens a send-the-whole-transcript request would need.
    pub baseline_tokens: u64,
    /// The extraction's own report.
    pub report: ExtractionReport,
    /// The whole-episode error, when extraction failed.
    pub error: Option<String>,
    /// Wall time of the extraction, seconds.
    pub wall_seconds: f64,
}

impl EpisodeResult {
    /// kept / (kept + dropped_ungrounded); `None` when the model produced nothing.
    pub fn grounding(&self) -> Option<f64> {
        ratio(
            self.report.insights_kept as f64,
            (self.report.insights_kept + self.report.dropped_ungrounded) as f64,
        )
    }

    /// Prompt tokens sent / baseline tokens.
    pub fn token_share(&self) -> Option<f64> {
        ratio(
            self.report.prompt_tokens as f64,
            self.baseline_tokens as f64,
        )
    }

    /// Top picks on host items / top picks.
    pub fn top_share(&self) -> Option<f64> {
        ratio(self.top_on_items as f64, self.top.len() as f64)
    }
}

pub(crate) fn ratio(num: f64, den: f64) -> Option<f64> {
    (den > 0.0).then(|| num / den)
}

fn candidates(number: u32, drafts: &[InsightDraft], now: DateTime<Utc>) -> Vec<CandidateInsight> {
    drafts
        .iter()
        .enumerate()
        .map(|(i, d)| CandidateInsight {
            id: i as i64,
            episode_id: i64::from(number),
            feed_id: 1,
            podcast: SHOW.to_owned(),
            episode: String::new(),
            episode_link: None,
            audio_url: None,
            published: Some(now),
            draft: d.clone(),
            created_at: now,
            found_for: None,
        })
        .collect()
}

/// Extracts, picks and matches one episode. Extraction failing for the whole episode is a
/// result (recorded in `error`), not an error of the evaluation.
pub async fn evaluate_episode(
    llm: &dyn Llm,
    episode: &Episode,
    cfg: &LlmConfig,
    interests: &[String],
) -> EpisodeResult {
    let input = EpisodeInput {
        show: SHOW,
        title: &episode.title,
        segments: &episode.segments,
        chapters: &[],
        interests,
        ..EpisodeInput::default()
    };
    let baseline = podsift_insights::baseline_tokens(&input);
    let cache = MemoryCache::new();
    let started = Instant::now();
    let outcome = podsift_insights::extract_episode(llm, &cache, &input, cfg).await;
    let wall_seconds = started.elapsed().as_secs_f64();
    let (drafts, report, error) = match outcome {
        Ok((d, r)) => (d, r, None),
        Err(e) => (Vec::new(), ExtractionReport::default(), Some(e.to_string())),
    };
    let item_tokens: Vec<ItemTokens> = episode.items.iter().map(ItemTokens::of).collect();
    let now = Utc::now();
    // The ranker users get (words only: no embedding model in the evaluation's loop).
    let stored = candidates(episode.number, &drafts, now);
    let ranked: Vec<podsift_ranking::Candidate> = stored
        .iter()
        .map(|c| podsift_ranking::Candidate::from_insight(c, None))
        .collect();
    let config = podsift_ranking::RankConfig {
        top_k: TOP_N,
        max_per_show: 0,
        ..podsift_ranking::RankConfig::default()
    };
    let ranking = podsift_ranking::rank(
        &ranked,
        &podsift_ranking::Profile::default(),
        &[],
        &config,
        now,
    );
    let top: Vec<TopPick> = ranking
        .picks
        .iter()
        .map(|p| {
            let d = &stored[p.index].draft;
            let matched = match_insight(&d.text, &d.quote, &item_tokens);
            TopPick {
                text: d.text.clone(),
                quote: d.quote.clone(),
                start_seconds: d.start_seconds,
                score: p.score,
                item_title: matched
                    .as_ref()
                    .and_then(|m| episode.items.get(m.item))
                    .map(|it| it.title.clone()),
                matched,
            }
        })
        .collect();
    let mut found: Vec<usize> = drafts
        .iter()
        .filter_map(|d| match_insight(&d.text, &d.quote, &item_tokens).map(|m| m.item))
        .collect();
    found.sort_unstable();
    found.dedup();
    EpisodeResult {
        number: episode.number,
        title: episode.title.clone(),
        host_items: episode.items.len(),
        hours: episode.hours(),
        insights: drafts.len(),
        top_on_items: top.iter().filter(|t| t.matched.is_some()).count(),
        top,
        items_found: found.len(),
        baseline_tokens: baseline,
        report,
        error,
        wall_seconds,
    }
}
