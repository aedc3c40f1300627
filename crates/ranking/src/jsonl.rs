//! `podsift rank`'s engine: candidate and history JSONL in, a ranking with reasons out.
//!
//! Candidate line: `{"text", "podcast", "episode", "quote"?, "speaker"?, "sources"?: [...],
//! "reason"?, "editor_rank"?, "scores"?: {"importance", "novelty", "specificity"},
//! "published"?: RFC 3339 or YYYY-MM-DD, "id"?}`, plus the evaluation's labels, which the
//! ranking ignores: `"label"?` (reference | weak), `"flaw"?`, `"span"?: [start, end]` seconds,
//! `"claim"?`.
//! History line: `{"text", "podcast"?, "sent_on": YYYY-MM-DD or RFC 3339}`.
//! Blank lines and lines starting with `#` are skipped.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::error::{LineError, RankError};
use crate::rank::rank;
use crate::types::{
    Candidate, Interest, Profile, RankConfig, Ranking, Scores, SentInsight, SuppressReason,
};

/// At most this many bad lines are listed in one error.
const MAX_LINE_ERRORS: usize = 20;

/// What `podsift rank` prints (`--json`: this, serialised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankReport {
    /// The embedding model used.
    pub model: String,
    #[serde(flatten)]
    pub ranking: Ranking,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    id: Option<i64>,
    text: String,
    podcast: String,
    episode: String,
    #[serde(default)]
    quote: Option<String>,
    #[serde(default)]
    speaker: Option<String>,
    #[serde(default, alias = "passages")]
    sources: Vec<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    editor_rank: Option<u32>,
    #[serde(default)]
    scores: Option<Scores>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    flaw: Option<String>,
    #[serde(default)]
    span: Option<[f64; 2]>,
    #[serde(default)]
    claim: Option<String>,
}

/// A candidate line with the evaluation's labels (absent on ordinary input).
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub candidate: Candidate,
    /// `reference` or `weak` in the golden set.
    pub label: Option<String>,
    /// What is wrong with a weak one.
    pub flaw: Option<String>,
    /// Where a reference's quote is in the episode, seconds.
    pub span: Option<[f64; 2]>,
    /// Lines with the same claim id make the same claim.
    pub claim: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryLine {
    text: String,
    #[serde(default)]
    podcast: Option<String>,
    #[serde(alias = "sent", alias = "date")]
    sent_on: String,
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("`{s}` is neither RFC 3339 (2026-11-26T08:00:00Z) nor YYYY-MM-DD"))
}

fn check_score(name: &str, v: f32) -> Result<(), String> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("scores.{name} must be between 0 and 1, got {v}"))
    }
}

/// serde_json's message without its own "at line 1 column N" (each JSONL line is parsed
/// alone, so its line is always 1 and would contradict ours).
fn json_message(e: &serde_json::Error) -> String {
    let full = e.to_string();
    match full.rfind(" at line ") {
        Some(at) => format!("{} (column {})", &full[..at], e.column()),
        None => full,
    }
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn fail(source_name: &str, errors: Vec<LineError>) -> RankError {
    RankError::Input {
        source_name: source_name.to_string(),
        errors,
    }
}

/// Parses candidate JSONL; every bad line is reported (up to 20), with its line number.
pub fn parse_candidates(text: &str, source_name: &str) -> Result<Vec<Candidate>, RankError> {
    Ok(parse_candidate_lines(text, source_name)?
        .into_iter()
        .map(|l| l.candidate)
        .collect())
}

/// [`parse_candidates`] keeping each line's number and evaluation labels.
pub fn parse_candidate_lines(
    text: &str,
    source_name: &str,
) -> Result<Vec<CandidateLine>, RankError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (line, raw) in lines(text) {
        let parsed = serde_json::from_str::<Line>(raw)
            .map_err(|e| json_message(&e))
            .and_then(|c| {
                if c.text.trim().is_empty() {
                    return Err("`text` is empty".to_string());
                }
                let scores = c.scores.unwrap_or_default();
                check_score("importance", scores.importance)?;
                check_score("novelty", scores.novelty)?;
                check_score("specificity", scores.specificity)?;
                let published = c.published.as_deref().map(parse_time).transpose()?;
                Ok(CandidateLine {
                    line,
                    candidate: Candidate {
                        id: c.id,
                        text: c.text,
                        podcast: c.podcast,
                        episode: c.episode,
                        quote: c.quote.filter(|q| !q.trim().is_empty()),
                        speaker: c.speaker.filter(|s| !s.trim().is_empty()),
                        sources: c.sources,
                        faithful_checked: false,
                        editor_rank: c.editor_rank,
                        reason: c.reason.filter(|r| !r.trim().is_empty()),
                        scores,
                        published,
                        embedding: None,
                    },
                    label: c.label,
                    flaw: c.flaw,
                    span: c.span,
                    claim: c.claim,
                })
            });
        match parsed {
            Ok(c) => out.push(c),
            Err(message) if errors.len() < MAX_LINE_ERRORS => {
                errors.push(LineError { line, message })
            }
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(fail(source_name, errors))
    }
}

/// Parses history JSONL (what was sent, and when).
pub fn parse_history(text: &str, source_name: &str) -> Result<Vec<SentInsight>, RankError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (line, raw) in lines(text) {
        let parsed = serde_json::from_str::<HistoryLine>(raw)
            .map_err(|e| json_message(&e))
            .and_then(|h| {
                if h.text.trim().is_empty() {
                    return Err("`text` is empty".to_string());
                }
                let sent_on = parse_time(&h.sent_on)?.date_naive();
                Ok(SentInsight {
                    text: h.text,
                    podcast: h.podcast,
                    sent_on,
                    embedding: None,
                })
            });
        match parsed {
            Ok(h) => out.push(h),
            Err(message) if errors.len() < MAX_LINE_ERRORS => {
                errors.push(LineError { line, message })
            }
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(fail(source_name, errors))
    }
}

/// Embeds whatever lacks an embedding (when there is an embedder), then ranks. The entry of
/// `podsift rank`: `candidates_jsonl` is the `--input` file's text, `history_jsonl` the
/// `--history` file's, `config.top_k` comes from `--top`. Without an embedder the words
/// decide "same claim" (the `simple` engine).
pub fn rank_jsonl(
    candidates_jsonl: &str,
    history_jsonl: Option<&str>,
    embedder: Option<&dyn Embedder>,
    profile: &Profile,
    config: &RankConfig,
    now: DateTime<Utc>,
) -> Result<RankReport, RankError> {
    let mut candidates = parse_candidates(candidates_jsonl, "input")?;
    let mut history = match history_jsonl {
        Some(h) => parse_history(h, "history")?,
        None => Vec::new(),
    };
    if let Some(embedder) = embedder {
        embed_candidates(embedder, &mut candidates)?;
        embed_history(embedder, &mut history)?;
    }
    Ok(RankReport {
        model: embedder.map_or_else(|| WORDS_ONLY.to_string(), |e| e.model_id().to_string()),
        ranking: rank(&candidates, profile, &history, config, now),
    })
}

/// The model named in a report ranked without embeddings.
pub const WORDS_ONLY: &str = "no embedding model: words only";

/// Fills in missing candidate embeddings (one batch call).
pub fn embed_candidates(embedder: &dyn Embedder, items: &mut [Candidate]) -> Result<(), RankError> {
    let todo: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].embedding.is_none())
        .collect();
    let texts: Vec<String> = todo.iter().map(|&i| items[i].text.clone()).collect();
    for (i, e) in todo.into_iter().zip(embedder.embed(&texts)?) {
        items[i].embedding = Some(e);
    }
    Ok(())
}

/// Fills in missing history embeddings (one batch call).
pub fn embed_history(embedder: &dyn Embedder, items: &mut [SentInsight]) -> Result<(), RankError> {
    let todo: Vec<usize> = (0..items.len())
        .filter(|&i| items[i].embedding.is_none())
        .collect();
    let texts: Vec<String> = todo.iter().map(|&i| items[i].text.clone()).collect();
    for (i, e) in todo.into_iter().zip(embedder.embed(&texts)?) {
        items[i].embedding = Some(e);
    }
    Ok(())
}

pub(crate) fn short(text: &str, max: usize) -> String {
    let t: String = text.chars().take(max).collect();
    if t.len() < text.len() {
        format!("{}…", t.trim_end())
    } else {
        t
    }
}

/// The terminal rendering: the picks with their reasons and the clusters; with `explain`,
/// also every register rule's result and every feature's contribution to each pick's score,
/// and every suppressed candidate with why. Candidates are named `#N`, their 1-based line
/// among the input's candidates.
pub fn render_text(report: &RankReport, explain: bool) -> String {
    let r = &report.ranking;
    let mut s = String::new();
    if r.picks.is_empty() {
        let _ = writeln!(s, "Nothing to pick ({} candidates).", r.considered);
    }
    for p in &r.picks {
        let _ = write!(
            s,
            "{}. [{} — {}] {}",
            p.rank,
            p.podcast,
            p.episode,
            p.text.trim()
        );
        if explain {
            let _ = write!(s, "  (#{}, score {:.3})", p.index + 1, p.score);
        }
        s.push('\n');
        if let Some(q) = &p.quote {
            let _ = writeln!(s, "   “{}”", short(q.trim(), 300));
        }
        let _ = writeln!(s, "   why: {}", p.reasons.join("; "));
        if explain {
            for rule in &p.explain.rules {
                let outcome = match rule.outcome {
                    podsift_register::Outcome::Pass => "pass",
                    podsift_register::Outcome::Fail => "FAIL",
                    podsift_register::Outcome::NotChecked => "not checked",
                };
                let _ = writeln!(
                    s,
                    "   rule {:<14} {outcome}: {}",
                    rule.rule.as_str(),
                    rule.detail
                );
            }
            for f in &p.explain.features {
                let _ = writeln!(
                    s,
                    "   feature {:<22} {:>7.3} → {:+.3}",
                    f.name, f.value, f.contribution
                );
            }
        }
    }
    if let Some(short) = &r.short {
        let _ = writeln!(s, "\n{short}");
    }
    if !r.clusters.is_empty() {
        let _ = writeln!(s, "\nClusters (same claim):");
        for c in &r.clusters {
            let members: Vec<String> = c.members.iter().map(|m| format!("#{}", m + 1)).collect();
            let _ = writeln!(
                s,
                "  #{} represents {} — {}",
                c.representative + 1,
                members.join(", "),
                c.shows.join(", ")
            );
        }
    }
    if explain && !r.suppressed.is_empty() {
        let _ = writeln!(s, "\nSuppressed:");
        for x in &r.suppressed {
            let why = match &x.reason {
                SuppressReason::DuplicateOf { index, similarity } => {
                    format!("same claim as #{} (similarity {similarity:.2})", index + 1)
                }
                SuppressReason::AlreadySent {
                    sent_on,
                    sent_text,
                    similarity,
                } => format!(
                    "already sent on {sent_on} (similarity {similarity:.2}): {}",
                    short(sent_text, 80)
                ),
                SuppressReason::Register { rule, detail } => {
                    format!("fails the register check, {rule}: {detail}")
                }
                SuppressReason::EmptyText => "empty text".to_string(),
            };
            let _ = writeln!(
                s,
                "  #{} [{}] {} — {why}",
                x.index + 1,
                x.podcast,
                short(&x.text, 80)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n{} candidates, {} chosen, {} clusters, {} suppressed ({} failed the register check; {}).",
        r.considered,
        r.picks.len(),
        r.clusters.len(),
        r.suppressed.len(),
        r.failed_register,
        report.model
    );
    s
}

/// The user's free-text interests ("Rust, home automation; AI policy") as phrases: one per
/// comma-, semicolon- or line-separated part, whitespace collapsed, duplicates dropped.
pub fn interest_labels(text: &str) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for part in text.split([',', ';', '\n']) {
        let label = part.split_whitespace().collect::<Vec<_>>().join(" ");
        if !label.is_empty() && !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

/// The user's free-text interests as [`Interest`]s: each phrase of [`interest_labels`]
/// embedded (without an embedder, matched by its words).
pub fn embed_interests(
    embedder: Option<&dyn Embedder>,
    text: &str,
) -> Result<Vec<Interest>, RankError> {
    let labels = interest_labels(text);
    let Some(embedder) = embedder else {
        return Ok(labels.into_iter().map(Interest::words).collect());
    };
    let vectors = embedder.embed(&labels)?;
    Ok(labels
        .into_iter()
        .zip(vectors)
        .map(|(label, embedding)| Interest { label, embedding })
        .collect())
}
