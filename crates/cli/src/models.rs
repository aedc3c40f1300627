//! The language-model part of `podsift models list`: the catalogue's tiers with their size,
//! the memory they need, the time an episode-hour takes and whether they are downloaded.

use std::path::Path;

use podsift_llm_local::{CATALOGUE, LlmModel, entry_for};
use serde::Serialize;

use crate::app::App;
use crate::output::table;

/// Measured minutes per episode-hour of the test stand-in models (BENCHMARKS.md, "The local
/// language model: prompt cache", windows as podsift sends them): `(model, with the prompt
/// cache, without it)`.
pub const MEASURED: &[(&str, f64, f64)] = &[
    ("SmolLM2-135M-Instruct Q4_1", 6.2, 7.2),
    ("Qwen2.5-Coder-0.5B-Instruct", 11.8, 12.6),
];
/// Where [`MEASURED`] was measured.
pub const MEASURED_ON: &str = "2 shared x86-64 cores, 1 thread, no GPU";

/// One row of the listing (also its JSON form).
#[derive(Debug, Serialize)]
pub struct LlmRow {
    /// `llm`: a model of the catalogue; `llm-stand-in`: a test model, measured.
    pub kind: &'static str,
    pub tier: Option<&'static str>,
    pub name: String,
    pub file: Option<String>,
    pub params: Option<&'static str>,
    pub quant: Option<&'static str>,
    pub size_bytes: Option<u64>,
    /// File + KV cache at 8,192 tokens + overhead.
    pub ram_bytes: Option<u64>,
    /// From the documented CPU throughput assumption, not measured.
    pub minutes_per_episode_hour_estimate: Option<f64>,
    /// Measured with the prompt cache (stand-ins only).
    pub minutes_per_episode_hour_measured: Option<f64>,
    /// Measured with `--no-prompt-cache` (stand-ins only).
    pub minutes_per_episode_hour_measured_without_cache: Option<f64>,
    pub licence: Option<&'static str>,
    pub sha256: Option<String>,
    pub url: Option<String>,
    pub downloaded: bool,
    pub path: Option<String>,
    /// The one `[llm] local_model` picks (when no `local_model_path` overrides it).
    pub default: bool,
}

fn catalogue_row(m: &LlmModel, dir: &Path, chosen: Option<&LlmModel>) -> LlmRow {
    let path = dir.join(m.spec.name.as_ref());
    LlmRow {
        kind: "llm",
        tier: Some(m.tier.as_str()),
        name: m.id.to_string(),
        file: Some(m.spec.name.to_string()),
        params: Some(m.params),
        quant: Some(m.quant),
        size_bytes: Some(m.spec.size),
        ram_bytes: Some(m.ram_bytes()),
        minutes_per_episode_hour_estimate: Some(round1(m.estimated_minutes_per_episode_hour())),
        minutes_per_episode_hour_measured: None,
        minutes_per_episode_hour_measured_without_cache: None,
        licence: Some(m.licence),
        sha256: Some(m.spec.sha256.to_string()),
        url: Some(m.spec.url.to_string()),
        downloaded: path.is_file(),
        path: Some(path.display().to_string()),
        default: chosen.is_some_and(|c| c.id == m.id),
    }
}

fn stand_in_row(name: &str, minutes: f64, without_cache: f64) -> LlmRow {
    LlmRow {
        kind: "llm-stand-in",
        tier: None,
        name: name.to_string(),
        file: None,
        params: None,
        quant: None,
        size_bytes: None,
        ram_bytes: None,
        minutes_per_episode_hour_estimate: None,
        minutes_per_episode_hour_measured: Some(minutes),
        minutes_per_episode_hour_measured_without_cache: Some(without_cache),
        licence: None,
        sha256: None,
        url: None,
        downloaded: false,
        path: None,
        default: false,
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The rows for `models_dir`, marking the model `local_model` picks (none when
/// `local_model_path` is set, or the name is unknown).
pub fn rows(models_dir: &Path, local_model: Option<&str>, path_set: bool) -> Vec<LlmRow> {
    let chosen = if path_set {
        None
    } else {
        entry_for(local_model).ok()
    };
    CATALOGUE
        .iter()
        .map(|m| catalogue_row(m, models_dir, chosen))
        .chain(
            MEASURED
                .iter()
                .filter(|(_, cached, _)| *cached > 0.0)
                .map(|(name, cached, fresh)| stand_in_row(name, *cached, *fresh)),
        )
        .collect()
}

/// The rows for the app's data dir and `[llm]` config.
pub fn app_rows(app: &App) -> Vec<LlmRow> {
    let cfg = &app.config.llm;
    rows(
        &app.data_dir.join("models"),
        cfg.local_model.as_deref(),
        cfg.local_model_path.is_some(),
    )
}

fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

/// The text listing: the tiers, then what the minutes mean, then the engine in use.
pub fn render(rows: &[LlmRow], in_use: &str) -> String {
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r.kind == "llm")
        .map(|r| {
            vec![
                r.tier.unwrap_or("-").to_string(),
                format!("{}{}", r.name, if r.default { " *" } else { "" }),
                r.size_bytes.map_or_else(|| "-".into(), gb),
                r.ram_bytes.map_or_else(|| "-".into(), gb),
                r.minutes_per_episode_hour_estimate
                    .map_or_else(|| "-".into(), |m| format!("~{m:.0} min")),
                if r.downloaded { "yes" } else { "-" }.into(),
                r.licence.unwrap_or("-").to_string(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "TIER",
            "LANGUAGE MODEL",
            "SIZE",
            "RAM",
            "PER EPISODE-HOUR",
            "DOWNLOADED",
            "LICENCE",
        ],
        &table_rows,
    );
    out.push_str(&format!(
        "* default ([llm] local_model); RAM: the file, the KV cache of {} tokens and {} MiB\n",
        podsift_llm_local::RAM_CONTEXT_TOKENS,
        podsift_llm_local::RAM_OVERHEAD_BYTES >> 20
    ));
    out.push_str(&format!(
        "per episode-hour: an ESTIMATE for an 8-thread AVX2 laptop CPU ({:.0} GFLOP/s reading \
         the prompt, {:.0} GB/s generating; {:.0} prompt + {:.0} answer tokens)\n",
        podsift_llm_local::ASSUMED_PREFILL_GFLOPS,
        podsift_llm_local::ASSUMED_GEN_GBPS,
        podsift_llm_local::EPISODE_HOUR_PROMPT_TOKENS,
        podsift_llm_local::EPISODE_HOUR_ANSWER_TOKENS,
    ));
    let measured: Vec<String> = rows
        .iter()
        .filter(|r| r.kind == "llm-stand-in")
        .filter_map(|r| {
            let cached = r.minutes_per_episode_hour_measured?;
            let fresh = r.minutes_per_episode_hour_measured_without_cache?;
            Some(format!(
                "{} {cached:.1} min ({fresh:.1} without the prompt cache)",
                r.name
            ))
        })
        .collect();
    if !measured.is_empty() {
        out.push_str(&format!(
            "measured on {MEASURED_ON} (test stand-ins, BENCHMARKS.md): {}\n",
            measured.join(", ")
        ));
    }
    out.push_str(in_use);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_configured_tier_and_what_is_downloaded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Qwen3-8B-Q4_K_M.gguf"), b"x").unwrap();
        let rows = rows(dir.path(), Some("quality"), false);
        let llm: Vec<&LlmRow> = rows.iter().filter(|r| r.kind == "llm").collect();
        assert_eq!(llm.len(), 3);
        assert_eq!(
            llm.iter().map(|r| r.tier.unwrap()).collect::<Vec<_>>(),
            ["small", "default", "quality"]
        );
        assert!(llm[2].default && llm[2].downloaded);
        assert!(!llm[1].default && !llm[1].downloaded);
        // No tier is the default when a file path overrides the catalogue, or the name is
        // unknown.
        assert!(
            self::rows(dir.path(), None, true)
                .iter()
                .all(|r| !r.default)
        );
        assert!(
            self::rows(dir.path(), Some("nope"), false)
                .iter()
                .all(|r| !r.default)
        );
        assert!(self::rows(dir.path(), None, false)[1].default);
    }

    #[test]
    fn the_listing_flags_estimates_and_names_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let text = render(&rows(dir.path(), None, false), "insights: local X");
        assert!(text.contains("qwen3-4b-instruct-2507 *"), "{text}");
        assert!(text.contains("ESTIMATE"), "{text}");
        assert!(text.contains("Apache-2.0"), "{text}");
        assert!(text.trim_end().ends_with("insights: local X"), "{text}");
        assert!(text.contains("without the prompt cache"), "{text}");
        let json = serde_json::to_value(rows(dir.path(), None, false)).unwrap();
        assert_eq!(json[1]["tier"], "default");
        assert_eq!(json[1]["size_bytes"], 2_497_280_736u64);
    }
}
