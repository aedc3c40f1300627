//! The results as a Markdown table and as JSON.

use std::fmt::Write as _;

use crate::matching::RULE;
use crate::run::{EpisodeResult, ratio};

/// The whole evaluation: settings, per-episode results and totals.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Evaluation {
    /// The model, as `engine:model`.
    pub model: String,
    /// Prompt-token cap per episode (0: none, every window read).
    pub budget_tokens: usize,
    /// The matching rule.
    pub rule: String,
    /// Per episode.
    pub episodes: Vec<EpisodeResult>,
    /// Over all episodes.
    pub totals: Totals,
}

/// Sums and pooled ratios over all episodes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Totals {
    /// Episodes evaluated.
    pub episodes: usize,
    /// Episodes whose extraction failed as a whole.
    pub failed: usize,
    /// Top picks, all episodes.
    pub top: usize,
    /// Top picks on a host item.
    pub top_on_items: usize,
    /// `top_on_items / top`.
    pub top_share: Option<f64>,
    /// Insights kept.
    pub kept: usize,
    /// Insights dropped because their quote was not in the transcript.
    pub dropped_ungrounded: usize,
    /// `kept / (kept + dropped_ungrounded)`.
    pub grounding: Option<f64>,
    /// Mean coverage (share of transcript words read).
    pub coverage: Option<f64>,
    /// Prompt tokens sent.
    pub prompt_tokens: u64,
    /// Completion tokens received.
    pub completion_tokens: u64,
    /// Baseline prompt tokens.
    pub baseline_tokens: u64,
    /// `prompt_tokens / baseline_tokens`.
    pub token_share: Option<f64>,
    /// Transcript hours.
    pub hours: f64,
    /// (prompt + completion) tokens per transcript hour.
    pub tokens_per_hour: Option<f64>,
    /// Baseline prompt tokens per transcript hour.
    pub baseline_per_hour: Option<f64>,
    /// Host items, all episodes.
    pub host_items: usize,
    /// Host items matched by any insight.
    pub items_found: usize,
    /// Extraction wall time, seconds.
    pub wall_seconds: f64,
}

impl Totals {
    /// Pools the episodes' figures.
    pub fn of(episodes: &[EpisodeResult]) -> Self {
        let mut t = Totals {
            episodes: episodes.len(),
            ..Totals::default()
        };
        let mut coverage = 0.0;
        for e in episodes {
            t.failed += usize::from(e.error.is_some());
            t.top += e.top.len();
            t.top_on_items += e.top_on_items;
            t.kept += e.report.insights_kept;
            t.dropped_ungrounded += e.report.dropped_ungrounded;
            coverage += e.report.coverage;
            t.prompt_tokens += e.report.prompt_tokens;
            t.completion_tokens += e.report.completion_tokens;
            t.baseline_tokens += e.baseline_tokens;
            t.hours += e.hours;
            t.host_items += e.host_items;
            t.items_found += e.items_found;
            t.wall_seconds += e.wall_seconds;
        }
        t.top_share = ratio(t.top_on_items as f64, t.top as f64);
        t.grounding = ratio(t.kept as f64, (t.kept + t.dropped_ungrounded) as f64);
        t.coverage = ratio(coverage, episodes.len() as f64);
        t.token_share = ratio(t.prompt_tokens as f64, t.baseline_tokens as f64);
        t.tokens_per_hour = ratio((t.prompt_tokens + t.completion_tokens) as f64, t.hours);
        t.baseline_per_hour = ratio(t.baseline_tokens as f64, t.hours);
        t
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{:.0} %", v * 100.0))
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"))
}

/// Markdown cell text: no pipes or newlines, bounded length.
fn cell(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The evaluation as Markdown: a per-episode table, a totals row, the rule and the top picks.
pub fn markdown(ev: &Evaluation) -> String {
    let mut out = String::new();
    let t = &ev.totals;
    let _ = writeln!(
        out,
        "Model: `{}`, {}.\n",
        ev.model,
        if ev.budget_tokens == 0 {
            "every window read (no cap)".to_owned()
        } else {
            format!("episode cap {} prompt tokens", ev.budget_tokens)
        }
    );
    out.push_str("| Episode | Hours | Host items | Insights | Top-5 on host items | Items found | Grounded | Coverage | Prompt tokens / baseline | Tokens per hour | Wall |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for e in &ev.episodes {
        let per_hour = ratio(
            (e.report.prompt_tokens + e.report.completion_tokens) as f64,
            e.hours,
        );
        let _ = writeln!(
            out,
            "| {}{} | {:.2} | {} | {} | {}/{} ({}) | {}/{} | {} | {} | {}/{} ({}) | {} | {:.0} s |",
            e.number,
            if e.error.is_some() { " (failed)" } else { "" },
            e.hours,
            e.host_items,
            e.insights,
            e.top_on_items,
            e.top.len(),
            pct(e.top_share()),
            e.items_found,
            e.host_items,
            pct(e.grounding()),
            pct(Some(e.report.coverage)),
            e.report.prompt_tokens,
            e.baseline_tokens,
            pct(e.token_share()),
            num(per_hour),
            e.wall_seconds,
        );
    }
    let _ = writeln!(
        out,
        "| **all {}** | {:.2} | {} | {} | **{}/{} ({})** | {}/{} | **{}** ({}/{}) | {} | **{}/{} ({})** | {} (baseline {}) | {:.0} s |",
        t.episodes,
        t.hours,
        t.host_items,
        t.kept,
        t.top_on_items,
        t.top,
        pct(t.top_share),
        t.items_found,
        t.host_items,
        pct(t.grounding),
        t.kept,
        t.kept + t.dropped_ungrounded,
        pct(t.coverage),
        t.prompt_tokens,
        t.baseline_tokens,
        pct(t.token_share),
        num(t.tokens_per_hour),
        num(t.baseline_per_hour),
        t.wall_seconds,
    );
    let _ = writeln!(out, "\nMatching rule: {}.\n", ev.rule);
    for e in &ev.episodes {
        if let Some(err) = &e.error {
            let _ = writeln!(
                out,
                "- Episode {}: extraction failed: {}",
                e.number,
                cell(err, 300)
            );
        }
        for (i, p) in e.top.iter().enumerate() {
            let _ = writeln!(
                out,
                "- {} top {}: {} → {}",
                e.number,
                i + 1,
                cell(&p.text, 160),
                p.item_title.as_deref().map_or_else(
                    || "no host item".to_owned(),
                    |t| format!("“{}”", cell(t, 80))
                )
            );
        }
    }
    out
}

/// Builds the evaluation from its parts.
pub fn evaluation(model: String, budget_tokens: usize, episodes: Vec<EpisodeResult>) -> Evaluation {
    Evaluation {
        model,
        budget_tokens,
        rule: RULE.to_owned(),
        totals: Totals::of(&episodes),
        episodes,
    }
}
