//! The golden set: `eval/golden/<episode>.jsonl`, ten episodes of the corpus (Changelog,
//! Founders Talk, Practical AI, Python Bytes), each with 6–8 hand-written reference insights
//! in the target register and 12–16 deliberately weak ones (vague, not standalone, a copied
//! quote, an invented figure, an empty implication, an ad, housekeeping, one sentence). Every
//! line is a candidate in the `podsift rank` input format with its `label`, `flaw` and, for
//! references, the `span` of its verbatim quote in the episode (seconds, from the transcript's
//! own times; `podsift-eval golden --write-spans` finds them).
//!
//! Measured with no model at all ([`register_rates`], [`ranking_check`],
//! [`window_coverage`]): the register check separates the references from the weak ones, the
//! ranker users get puts the references above the weak ones even when the weak ones rate
//! themselves 0.95 and the references 0.6, and the windows a capped reading chooses contain
//! the references' quotes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use podsift_core::Segment;
use podsift_ranking::{CandidateLine, Profile, RankConfig, Scores, rank};
use serde::Serialize;

use crate::EvalError;

/// One episode of the golden set.
#[derive(Debug, Clone)]
pub struct GoldenEpisode {
    /// `changelog-580`, `python-bytes-390`, …
    pub id: String,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its lines, references and weak ones.
    pub lines: Vec<CandidateLine>,
}

impl GoldenEpisode {
    /// Lines labelled `reference`.
    pub fn references(&self) -> impl Iterator<Item = &CandidateLine> {
        self.lines
            .iter()
            .filter(|l| l.label.as_deref() == Some("reference"))
    }

    /// Lines labelled `weak`.
    pub fn weak(&self) -> impl Iterator<Item = &CandidateLine> {
        self.lines
            .iter()
            .filter(|l| l.label.as_deref() == Some("weak"))
    }
}

/// The golden set in this repository (`eval/golden`).
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/golden")
}

/// Reads every `*.jsonl` of `dir`, sorted by name.
pub fn load(dir: &Path) -> Result<Vec<GoldenEpisode>, EvalError> {
    let rd = std::fs::read_dir(dir).map_err(|e| EvalError::io(dir, e))?;
    let mut paths: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| EvalError::io(&path, e))?;
        let name = path.display().to_string();
        let lines = podsift_ranking::parse_candidate_lines(&text, &name)
            .map_err(|e| EvalError::Golden(e.to_string()))?;
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(GoldenEpisode { id, path, lines });
    }
    if out.is_empty() {
        return Err(EvalError::Golden(format!(
            "no *.jsonl golden file in {}",
            dir.display()
        )));
    }
    Ok(out)
}

/// Where an episode's transcript is under the corpora root.
pub fn transcript_path(corpora: &Path, id: &str) -> Option<PathBuf> {
    let changelog = corpora.join("03_longform/changelog/transcripts");
    let (prefix, number) = id.rsplit_once('-')?;
    match prefix {
        "changelog" => Some(changelog.join(format!("podcast/the-changelog-{number}.md"))),
        "founders-talk" => Some(changelog.join(format!("founderstalk/founders-talk-{number}.md"))),
        "practical-ai" => Some(changelog.join(format!("practicalai/practical-ai-{number}.md"))),
        "python-bytes" => {
            let dir = corpora.join("03_longform/python-bytes/transcripts");
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .ok()?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(crate::corpus::episode_number)
                        .is_some_and(|n| n.to_string() == number)
                })
                .collect();
            found.sort();
            found.into_iter().next()
        }
        _ => None,
    }
}

/// Parses a corpus transcript (WebVTT or the Changelog's Markdown).
pub fn read_transcript(path: &Path) -> Result<Vec<Segment>, EvalError> {
    let text = crate::corpus::read_bounded(path, crate::corpus::MAX_TRANSCRIPT_BYTES)?;
    let parsed = if path.extension().is_some_and(|e| e == "vtt") {
        podsift_transcripts::parse_vtt(&text)
    } else {
        podsift_transcripts::parse_text(&text)
    };
    Ok(parsed.segments)
}

/// How the register check separates the references from the weak ones.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegisterRates {
    /// References passing every rule.
    pub references_passed: usize,
    /// References.
    pub references: usize,
    /// Weak ones failing at least one rule.
    pub weak_failed: usize,
    /// Weak ones.
    pub weak: usize,
    /// Per flaw: (failed, of).
    pub by_flaw: BTreeMap<String, (usize, usize)>,
    /// Per rule: failures among (references, weak ones).
    pub by_rule: BTreeMap<String, (usize, usize)>,
    /// The misses: a reference that failed (with why) or a weak one that passed.
    pub misses: Vec<String>,
}

impl RegisterRates {
    /// Share of references passing.
    pub fn reference_share(&self) -> f64 {
        self.references_passed as f64 / self.references.max(1) as f64
    }
    /// Share of weak ones failing.
    pub fn weak_share(&self) -> f64 {
        self.weak_failed as f64 / self.weak.max(1) as f64
    }
}

/// Runs the register check on every golden line.
pub fn register_rates(episodes: &[GoldenEpisode]) -> RegisterRates {
    let mut r = RegisterRates::default();
    for ep in episodes {
        for l in &ep.lines {
            let v = podsift_register::check(&l.candidate.register_input());
            let reference = l.label.as_deref() == Some("reference");
            for f in v.failures() {
                let e = r.by_rule.entry(f.rule.as_str().to_string()).or_default();
                if reference {
                    e.0 += 1;
                } else {
                    e.1 += 1;
                }
            }
            if reference {
                r.references += 1;
                if v.passes() {
                    r.references_passed += 1;
                } else {
                    r.misses.push(format!(
                        "{} line {} (reference) {}",
                        ep.id,
                        l.line,
                        v.summary()
                    ));
                }
            } else {
                r.weak += 1;
                let flaw = l.flaw.clone().unwrap_or_else(|| "weak".into());
                let e = r.by_flaw.entry(flaw.clone()).or_default();
                e.1 += 1;
                if v.passes() {
                    r.misses.push(format!(
                        "{} line {} (weak: {flaw}) passes: {}",
                        ep.id, l.line, l.candidate.text
                    ));
                } else {
                    r.weak_failed += 1;
                    e.0 += 1;
                }
            }
        }
    }
    r
}

/// How the ranker orders the golden lines.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RankingCheck {
    /// Per episode: (id, references in its top 5, picks).
    pub per_episode: Vec<(String, usize, usize)>,
    /// All episodes pooled: references in the top 5.
    pub pooled_references: usize,
    /// Picks of the pooled top 5.
    pub pooled_picks: usize,
    /// Within each episode, the share of (reference, weak) pairs the ranker orders
    /// reference first (a weak one it left out counts as below every pick).
    pub pairwise: f64,
}

/// Ranks each episode's lines (and all of them pooled) with the ranker users get, words
/// only, with the weak ones rating themselves `weak_self` and the references `strong_self`.
pub fn ranking_check(
    episodes: &[GoldenEpisode],
    weak_self: f32,
    strong_self: f32,
    now: DateTime<Utc>,
) -> RankingCheck {
    let prepared = |l: &CandidateLine| {
        let mut c = l.candidate.clone();
        let s = if l.label.as_deref() == Some("reference") {
            strong_self
        } else {
            weak_self
        };
        c.scores = Scores {
            importance: s,
            novelty: s,
            specificity: s,
        };
        c.published = Some(now - chrono::Duration::hours(6));
        c
    };
    let mut out = RankingCheck::default();
    let (mut ordered, mut pairs) = (0usize, 0usize);
    let mut pool = Vec::new();
    let mut pool_refs = Vec::new();
    for ep in episodes {
        let cands: Vec<_> = ep.lines.iter().map(prepared).collect();
        let is_ref: Vec<bool> = ep
            .lines
            .iter()
            .map(|l| l.label.as_deref() == Some("reference"))
            .collect();
        let five = rank(
            &cands,
            &Profile::default(),
            &[],
            &RankConfig::default(),
            now,
        );
        let refs = five.picks.iter().filter(|p| is_ref[p.index]).count();
        out.per_episode
            .push((ep.id.clone(), refs, five.picks.len()));
        let all = RankConfig {
            top_k: cands.len(),
            max_per_show: 0,
            max_per_episode: 0,
            ..RankConfig::default()
        };
        let full = rank(&cands, &Profile::default(), &[], &all, now);
        let mut position = vec![usize::MAX; cands.len()];
        for p in &full.picks {
            position[p.index] = p.rank;
        }
        for (a, &ra) in is_ref.iter().enumerate() {
            for (b, &rb) in is_ref.iter().enumerate() {
                if ra && !rb {
                    pairs += 1;
                    if position[a] < position[b] {
                        ordered += 1;
                    }
                }
            }
        }
        pool.extend(cands);
        pool_refs.extend(is_ref);
    }
    let pooled = rank(&pool, &Profile::default(), &[], &RankConfig::default(), now);
    out.pooled_references = pooled.picks.iter().filter(|p| pool_refs[p.index]).count();
    out.pooled_picks = pooled.picks.len();
    out.pairwise = ordered as f64 / pairs.max(1) as f64;
    out
}

/// Whether the windows a capped reading chooses hold the references' quotes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WindowCoverage {
    /// The cap, in prompt tokens per episode.
    pub cap_tokens: u64,
    /// References whose quote was found in the transcript.
    pub located: usize,
    /// Of those, quotes inside a chosen window.
    pub covered: usize,
    /// References.
    pub references: usize,
    /// Share of the episodes' words the chosen windows hold.
    pub words_read: f64,
    /// References whose quote was not found (id, line).
    pub not_found: Vec<String>,
}

/// Prompt tokens a window costs besides its own (the system prompt and the episode header).
const WINDOW_OVERHEAD: u64 = 900;

/// For each episode, cuts the transcript into `window_tokens` windows, chooses windows under
/// a cap of `cap_tokens` the way `podsift-insights` does (spread over the episode, then by
/// relevance to the title), and counts the references whose quote lies in a chosen window.
pub fn window_coverage(
    episodes: &[GoldenEpisode],
    corpora: &Path,
    cap_tokens: u64,
    window_tokens: usize,
) -> Result<WindowCoverage, EvalError> {
    use podsift_insights::select::{Candidate, Query, bucket, select};
    let mut out = WindowCoverage {
        cap_tokens,
        ..WindowCoverage::default()
    };
    let (mut read, mut total) = (0usize, 0usize);
    for ep in episodes {
        let path = transcript_path(corpora, &ep.id)
            .ok_or_else(|| EvalError::Golden(format!("no transcript for {}", ep.id)))?;
        let segments = read_transcript(&path)?;
        // The default overlap between windows (`[llm] window_overlap_tokens`).
        let overlap = podsift_core::config::LlmConfig::default().window_overlap_tokens;
        let windowed = podsift_insights::windows::build_windows(&segments, window_tokens, overlap);
        let title = ep
            .lines
            .first()
            .map(|l| l.candidate.episode.clone())
            .unwrap_or_default();
        let query = Query::new(&title, "", &[]);
        let duration = segments.iter().map(|s| s.end).fold(0.0, f64::max);
        let cands: Vec<Candidate> = windowed
            .windows
            .iter()
            .map(|w| Candidate {
                index: w.index,
                cost: w.tokens + WINDOW_OVERHEAD,
                bucket: bucket(w.start, duration, &[]),
                relevance: query.relevance(&w.text),
            })
            .collect();
        let (chosen, _) = select(&cands, cap_tokens);
        read += windowed.words_in(chosen.iter().copied());
        total += windowed.total_words;
        let index = podsift_insights::ground::TranscriptIndex::new(&segments);
        for r in ep.references() {
            out.references += 1;
            let Some(quote) = r.candidate.quote.as_deref() else {
                continue;
            };
            let Some(found) = index.find(quote, None) else {
                out.not_found.push(format!("{} line {}", ep.id, r.line));
                continue;
            };
            out.located += 1;
            let inside = chosen.iter().any(|&w| {
                let segs = &windowed.windows[w].segments;
                segs.start <= found.segments.start && found.segments.end <= segs.end
            });
            if inside {
                out.covered += 1;
            }
        }
    }
    out.words_read = read as f64 / total.max(1) as f64;
    Ok(out)
}

/// Finds each reference's quote in its transcript and sets its `span` (seconds); returns the
/// file's new text, and how many spans were set.
pub fn with_spans(ep: &GoldenEpisode, segments: &[Segment]) -> Result<(String, usize), EvalError> {
    let text = std::fs::read_to_string(&ep.path).map_err(|e| EvalError::io(&ep.path, e))?;
    let index = podsift_insights::ground::TranscriptIndex::new(segments);
    let mut out = String::with_capacity(text.len() + 1024);
    let mut set = 0;
    for raw in text.lines() {
        let v: Option<serde_json::Value> = serde_json::from_str(raw).ok();
        let is_ref = v
            .as_ref()
            .and_then(|v| v.get("label"))
            .and_then(|l| l.as_str())
            == Some("reference");
        let quote = v
            .as_ref()
            .and_then(|v| v.get("quote"))
            .and_then(|q| q.as_str());
        let has_span = v.as_ref().is_some_and(|v| v.get("span").is_some());
        let line = raw.trim_end();
        match quote.and_then(|q| index.find(q, None)) {
            // Appended, so the line keeps its order of fields.
            Some(found) if is_ref && !has_span && line.ends_with('}') => {
                let round = |x: f64| (x * 10.0).round() / 10.0;
                out.push_str(&line[..line.len() - 1]);
                out.push_str(&format!(
                    ",\"span\":[{},{}]}}",
                    round(found.start),
                    round(found.end)
                ));
                set += 1;
            }
            _ => out.push_str(raw),
        }
        out.push('\n');
    }
    Ok((out, set))
}
