//! The golden set with an engine (`podsift-eval golden --model …`): each golden episode is
//! read by the engine as `podsift run` reads it (whole, evidence first, the editor), its
//! insights ranked by the ranker users get, and the digest measured: the share of the top 5
//! that pass the register check, recall of the reference insights in the top 5 and top 10 (a
//! pick recalls a reference when their quotes are the same passage of the transcript: they
//! overlap or lie within 40 words), coverage, and tokens and dollars per episode-hour.

use chrono::{DateTime, Utc};
use podsift_core::config::LlmConfig;
use podsift_core::{CandidateInsight, Llm};
use podsift_insights::ground::TranscriptIndex;
use podsift_insights::{EpisodeInput, MemoryCache};
use podsift_ranking::{Candidate, Profile, RankConfig, rank};
use serde::Serialize;

use crate::EvalError;
use crate::golden::{GoldenEpisode, read_transcript, transcript_path};

/// Words between two quotes that still count as one passage.
const SAME_PASSAGE_WORDS: usize = 40;

/// One pick of an episode's digest.
#[derive(Debug, Clone, Serialize)]
pub struct Picked {
    pub text: String,
    pub quote: String,
    /// It passes every rule of the register check.
    pub passes: bool,
    /// The register check's summary.
    pub register: String,
    /// The reference (line number) it recalls, if any.
    pub recalls: Option<usize>,
}

/// One golden episode read by the engine.
#[derive(Debug, Clone, Serialize)]
pub struct EngineEpisode {
    pub id: String,
    pub hours: f64,
    /// Insights the extraction kept.
    pub insights: usize,
    /// The top 10, best first (the digest is the first 5).
    pub top: Vec<Picked>,
    /// References whose quote was found in the transcript.
    pub references: usize,
    /// Of those, recalled by the top 5 / the top 10.
    pub recalled_5: usize,
    pub recalled_10: usize,
    /// Share of the non-ad words read.
    pub read: f64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
    /// Set when the extraction failed for the episode.
    pub error: Option<String>,
    /// Windows read / in all, and why any was skipped.
    pub windows: (usize, usize),
    pub skipped: Vec<String>,
    /// Grounded claims the windows gave, and the editor's line.
    pub claims: usize,
    pub editor: Option<String>,
    /// Insights refused (an invented figure, a quote not found), with why.
    pub dropped: Vec<String>,
}

impl EngineEpisode {
    /// Picks of the top 5 that pass the register check.
    pub fn top5_passing(&self) -> usize {
        self.top.iter().take(5).filter(|p| p.passes).count()
    }
}

fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end + SAME_PASSAGE_WORDS && b.start < a.end + SAME_PASSAGE_WORDS
}

/// Reads one golden episode with `llm` and measures its digest.
pub async fn evaluate(
    llm: &dyn Llm,
    cfg: &LlmConfig,
    ep: &GoldenEpisode,
    corpora: &std::path::Path,
    now: DateTime<Utc>,
) -> Result<EngineEpisode, EvalError> {
    let path = transcript_path(corpora, &ep.id)
        .ok_or_else(|| EvalError::Golden(format!("no transcript for {}", ep.id)))?;
    let segments = read_transcript(&path)?;
    let first = ep.lines.first().map(|l| &l.candidate);
    let show = first.map(|c| c.podcast.clone()).unwrap_or_default();
    let title = first.map(|c| c.episode.clone()).unwrap_or_default();
    let input = EpisodeInput {
        show: &show,
        title: &title,
        segments: &segments,
        ..EpisodeInput::default()
    };
    let hours = segments.iter().map(|s| s.end).fold(0.0, f64::max) / 3600.0;
    let (drafts, report, error) =
        match podsift_insights::extract_episode(llm, &MemoryCache::new(), &input, cfg).await {
            Ok((d, r)) => (d, r, None),
            Err(e) => (Vec::new(), Default::default(), Some(e.to_string())),
        };
    let stored: Vec<CandidateInsight> = drafts
        .iter()
        .enumerate()
        .map(|(i, d)| CandidateInsight {
            id: i as i64,
            episode_id: 1,
            feed_id: 1,
            podcast: show.clone(),
            episode: title.clone(),
            episode_link: None,
            audio_url: None,
            published: Some(now),
            draft: d.clone(),
            created_at: now,
            found_for: None,
        })
        .collect();
    let cands: Vec<Candidate> = stored
        .iter()
        .map(|c| Candidate::from_insight(c, None))
        .collect();
    let config = RankConfig {
        top_k: 10,
        max_per_show: 0,
        max_per_episode: 0,
        ..RankConfig::default()
    };
    let ranking = rank(&cands, &Profile::default(), &[], &config, now);

    let index = TranscriptIndex::new(&segments);
    let refs: Vec<(usize, std::ops::Range<usize>)> = ep
        .references()
        .filter_map(|r| {
            let q = r.candidate.quote.as_deref()?;
            index.find(q, None).map(|g| (r.line, g.span))
        })
        .collect();
    let mut top = Vec::new();
    let (mut hit5, mut hit10) = (vec![false; refs.len()], vec![false; refs.len()]);
    for (k, p) in ranking.picks.iter().enumerate() {
        let c = &cands[p.index];
        let verdict = podsift_register::check(&c.register_input());
        let span = c
            .quote
            .as_deref()
            .and_then(|q| index.find(q, None))
            .map(|g| g.span);
        let recalls = span.and_then(|s| {
            let hit = refs.iter().position(|(_, r)| overlaps(r, &s))?;
            hit10[hit] = true;
            if k < 5 {
                hit5[hit] = true;
            }
            Some(refs[hit].0)
        });
        top.push(Picked {
            text: c.text.clone(),
            quote: c.quote.clone().unwrap_or_default(),
            passes: verdict.passes(),
            register: verdict.summary(),
            recalls,
        });
    }
    Ok(EngineEpisode {
        id: ep.id.clone(),
        hours,
        insights: drafts.len(),
        top,
        references: refs.len(),
        recalled_5: hit5.iter().filter(|h| **h).count(),
        recalled_10: hit10.iter().filter(|h| **h).count(),
        read: report.read_share(),
        prompt_tokens: report.prompt_tokens,
        completion_tokens: report.completion_tokens,
        cost_usd: report.cost_usd,
        error,
        windows: (report.windows_processed, report.windows_total),
        skipped: report
            .windows_skipped
            .iter()
            .map(|(w, why)| format!("window {w}: {why}"))
            .collect(),
        claims: report.claims,
        editor: report.editor.clone(),
        dropped: report
            .dropped
            .iter()
            .map(|d| format!("{}: {}", d.reason, d.text))
            .collect(),
    })
}

/// The run's totals, for BENCHMARKS.md.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub episodes: usize,
    pub hours: f64,
    /// Share of the top-5 picks passing the register check.
    pub top5_passing: f64,
    /// Recall of the references in the top 5 / top 10.
    pub recall_5: f64,
    pub recall_10: f64,
    /// Mean share of the non-ad words read.
    pub read: f64,
    pub prompt_tokens_per_hour: f64,
    pub completion_tokens_per_hour: f64,
    pub usd_per_hour: f64,
}

/// Sums the episodes.
pub fn totals(eps: &[EngineEpisode]) -> Totals {
    let hours: f64 = eps.iter().map(|e| e.hours).sum::<f64>().max(1e-9);
    let picks: usize = eps.iter().map(|e| e.top.len().min(5)).sum();
    let refs: usize = eps.iter().map(|e| e.references).sum();
    Totals {
        episodes: eps.len(),
        hours,
        top5_passing: eps.iter().map(EngineEpisode::top5_passing).sum::<usize>() as f64
            / picks.max(1) as f64,
        recall_5: eps.iter().map(|e| e.recalled_5).sum::<usize>() as f64 / refs.max(1) as f64,
        recall_10: eps.iter().map(|e| e.recalled_10).sum::<usize>() as f64 / refs.max(1) as f64,
        read: eps.iter().map(|e| e.read).sum::<f64>() / eps.len().max(1) as f64,
        prompt_tokens_per_hour: eps.iter().map(|e| e.prompt_tokens).sum::<u64>() as f64 / hours,
        completion_tokens_per_hour: eps.iter().map(|e| e.completion_tokens).sum::<u64>() as f64
            / hours,
        usd_per_hour: eps.iter().map(|e| e.cost_usd).sum::<f64>() / hours,
    }
}
