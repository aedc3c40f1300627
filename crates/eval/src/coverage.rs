//! `podsift-eval coverage`: how much of long real episodes each configuration reads, and the
//! prompt tokens and dollars per episode-hour it takes, with an instant scripted engine (one
//! grounded claim per window, an editor that keeps them), so only the windowing, the caps
//! and the prompts are measured. Token counts are podsift's estimate (4 characters a token),
//! the same for every configuration.

use std::path::PathBuf;

use async_trait::async_trait;
use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_core::{LlmError, LlmRequest, LlmResponse, Segment};
use podsift_insights::{EpisodeInput, Llm, MemoryCache, estimate_tokens, extract_episode};

use crate::EvalError;

/// A configuration measured.
pub struct Setup {
    /// Its name in the table.
    pub name: &'static str,
    /// The configuration.
    pub cfg: LlmConfig,
}

/// The configurations compared: yesterday's default (the named baseline), the local
/// engine's 8k context, and an API model read in windows or whole.
pub fn setups() -> Vec<Setup> {
    let api = LlmConfig {
        engine: LlmEngine::Openai,
        model: Some("gpt-4o-mini".into()),
        ..LlmConfig::default()
    };
    vec![
        Setup {
            name: "baseline: 1,200-token windows, 8,000-token episode budget",
            cfg: LlmConfig {
                window_tokens: Some(1200),
                episode_token_budget: Some(8000),
                local_context: 4096,
                editor: false,
                ..LlmConfig::default()
            },
        },
        Setup {
            name: "local engine, 8k context (default)",
            cfg: LlmConfig::default(),
        },
        Setup {
            name: "API model, 1,200-token windows",
            cfg: LlmConfig {
                window_tokens: Some(1200),
                ..api.clone()
            },
        },
        Setup {
            name: "API model, whole episode (default)",
            cfg: api,
        },
    ]
}

/// One claim per window (its first line), and an editor that keeps every claim.
struct Instant;

#[async_trait]
impl Llm for Instant {
    fn model_id(&self) -> String {
        "eval:instant".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let text = if podsift_testkit::llm::is_editor_request(&req.system) {
            podsift_testkit::llm::echo_editor_answer(&req.user).to_string()
        } else {
            let excerpt = req.user.split("Transcript excerpt:\n").nth(1).unwrap_or("");
            let line = excerpt
                .lines()
                .find(|l| l.starts_with('['))
                .and_then(|l| l.split_once("] "))
                .map(|(_, t)| t.split_once(": ").map_or(t, |(_, x)| x))
                .unwrap_or("");
            let quote: Vec<&str> = line.split_whitespace().take(12).collect();
            let quote = quote.join(" ");
            serde_json::json!({"claims": [{"quote": quote, "claim": quote, "speaker": null,
                "kind": "fact", "topics": []}]})
            .to_string()
        };
        Ok(LlmResponse {
            prompt_tokens: estimate_tokens(&req.system) + estimate_tokens(&req.user),
            completion_tokens: u64::from(req.max_tokens),
            text,
        })
    }
}

/// One row: an episode under a setup.
pub struct Row {
    pub episode: String,
    pub minutes: f64,
    pub words: usize,
    pub windows: usize,
    pub calls: usize,
    pub read: f64,
    pub prompt_tokens: u64,
    pub completion_reserved: u64,
}

/// Measures `files` (Changelog-style Markdown transcripts) under every setup.
pub async fn measure(files: &[PathBuf]) -> Result<Vec<(&'static str, Vec<Row>)>, EvalError> {
    let mut episodes: Vec<(String, Vec<Segment>)> = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|source| EvalError::Io {
            path: f.clone(),
            source,
        })?;
        let parsed = podsift_transcripts::parse_text(&text);
        let name = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        episodes.push((name, parsed.segments));
    }
    let mut out = Vec::new();
    for setup in setups() {
        let mut rows = Vec::new();
        for (name, segs) in &episodes {
            let input = EpisodeInput {
                show: "The Changelog",
                title: name,
                segments: segs,
                ..EpisodeInput::default()
            };
            let (_, r) = extract_episode(&Instant, &MemoryCache::new(), &input, &setup.cfg)
                .await
                .map_err(|e| EvalError::Engine(e.to_string()))?;
            let minutes = segs
                .iter()
                .map(|s| s.end)
                .filter(|e| e.is_finite())
                .fold(0.0f64, f64::max)
                / 60.0;
            rows.push(Row {
                episode: name.clone(),
                minutes,
                words: r.words_total,
                windows: r.windows_total,
                calls: r.calls,
                read: r.read_share(),
                prompt_tokens: r.prompt_tokens,
                completion_reserved: r.completion_tokens,
            });
        }
        out.push((setup.name, rows));
    }
    Ok(out)
}

/// The Markdown table: per setup, the words read and tokens per episode-hour.
pub fn table(results: &[(&'static str, Vec<Row>)], usd_prompt: f64, usd_completion: f64) -> String {
    let mut s = String::from(
        "| setup | episodes | hours | non-ad words read | calls per ep.-hour | prompt tokens per ep.-hour | completion tokens reserved per ep.-hour | $ per ep.-hour (gpt-4o-mini prices) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for (name, rows) in results {
        let hours: f64 = rows.iter().map(|r| r.minutes).sum::<f64>() / 60.0;
        let words: f64 = rows.iter().map(|r| r.words as f64).sum();
        let read: f64 = rows.iter().map(|r| r.read * r.words as f64).sum::<f64>() / words.max(1.0);
        let calls: f64 = rows.iter().map(|r| r.calls as f64).sum::<f64>() / hours.max(1e-9);
        let prompt: f64 =
            rows.iter().map(|r| r.prompt_tokens as f64).sum::<f64>() / hours.max(1e-9);
        let completion: f64 = rows
            .iter()
            .map(|r| r.completion_reserved as f64)
            .sum::<f64>()
            / hours.max(1e-9);
        let usd = (prompt * usd_prompt + completion * usd_completion) / 1e6;
        s.push_str(&format!(
            "| {name} | {} | {hours:.1} | {:.0} % | {calls:.1} | {prompt:.0} | {completion:.0} | {usd:.4} |\n",
            rows.len(),
            read * 100.0
        ));
    }
    s.push_str("\n| episode | minutes | words | read (baseline) | read (local 8k) | windows (local 8k) |\n|---|---|---|---|---|---|\n");
    if let (Some((_, base)), Some((_, local))) = (results.first(), results.get(1)) {
        for (b, l) in base.iter().zip(local) {
            s.push_str(&format!(
                "| {} | {:.0} | {} | {:.0} % | {:.0} % | {} |\n",
                b.episode,
                b.minutes,
                b.words,
                b.read * 100.0,
                l.read * 100.0,
                l.windows
            ));
        }
    }
    s
}
