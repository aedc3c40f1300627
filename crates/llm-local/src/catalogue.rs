//! The language models podsift can download, as tiers: `small` for low memory, `default`,
//! and `quality`. Each is pinned by exact size and sha256 from two or more independent public
//! sources (named next to each pin), and described by what it costs to run: the memory it
//! needs and an estimate of the time an episode-hour takes on a CPU.

use std::borrow::Cow;
use std::fmt;

use crate::download::ModelSpec;
use crate::error::LocalError;

/// A model's place in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// For machines with little memory (about 4 GB free).
    Small,
    /// What podsift downloads when the configuration names no model.
    Default,
    /// Better insights for machines with memory and time to spare.
    Quality,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Small => "small",
            Tier::Default => "default",
            Tier::Quality => "quality",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One downloadable language model with what it costs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmModel {
    pub tier: Tier,
    /// Short id, e.g. `qwen3-4b-instruct-2507`.
    pub id: &'static str,
    /// Parameters, as the publisher counts them (e.g. `4.0B`).
    pub params: &'static str,
    /// Quantization of the GGUF file.
    pub quant: &'static str,
    /// SPDX identifier of the weights' licence.
    pub licence: &'static str,
    /// The file, its URL and its pins.
    pub spec: ModelSpec,
    /// Parameters in billions, for the compute estimate.
    pub params_billions: f64,
    /// KV cache bytes per token of context (f16 keys and values, every layer:
    /// 2 x layers x KV heads x head size x 2 bytes, from the model's config).
    pub kv_bytes_per_token: u64,
    /// Anything a user should know (e.g. a hybrid thinking model).
    pub note: &'static str,
}

/// Context the RAM figure is computed for (podsift's default `local_context`).
pub const RAM_CONTEXT_TOKENS: u64 = 8192;
/// Memory beyond the weights and the KV cache: llama.cpp's compute buffers for a 512-token
/// batch, the tokenizer, the server. A rounded allowance, not a measurement.
pub const RAM_OVERHEAD_BYTES: u64 = 512 * 1024 * 1024;

/// The CPU the minutes-per-episode-hour estimate assumes: an 8-thread laptop CPU with AVX2
/// and dual-channel memory. Reading the prompt is bound by arithmetic: 2 FLOP per parameter
/// per token at this effective rate.
pub const ASSUMED_PREFILL_GFLOPS: f64 = 200.0;
/// Generating is bound by memory: every token reads the whole file at this effective rate.
pub const ASSUMED_GEN_GBPS: f64 = 25.0;
/// An episode-hour for the estimate: ~9,000 words ≈ 12,000 transcript tokens in 8 windows of
/// ~1,500, each answered with ~300 tokens; plus the system prompt (~500 tokens, read once: the
/// prompt cache keeps it) and the episode header (~450 tokens, read with every window, as
/// podsift sends it at the start of the user message; in the system message it would be read
/// once too, see BENCHMARKS.md).
pub const EPISODE_HOUR_PROMPT_TOKENS: f64 = 12_000.0 + 500.0 + 8.0 * 450.0;
pub const EPISODE_HOUR_ANSWER_TOKENS: f64 = 8.0 * 300.0;

impl LlmModel {
    /// Memory to run it with an 8,192-token context: file + KV cache + overhead.
    pub fn ram_bytes(&self) -> u64 {
        self.spec.size + self.kv_bytes_per_token * RAM_CONTEXT_TOKENS + RAM_OVERHEAD_BYTES
    }

    /// Minutes of CPU time an episode-hour takes, estimated from the assumed throughput
    /// ([`ASSUMED_PREFILL_GFLOPS`], [`ASSUMED_GEN_GBPS`]). An estimate, not a measurement.
    pub fn estimated_minutes_per_episode_hour(&self) -> f64 {
        let prefill_tok_s = ASSUMED_PREFILL_GFLOPS * 1e9 / (2.0 * self.params_billions * 1e9);
        let gen_tok_s = ASSUMED_GEN_GBPS * 1e9 / self.spec.size as f64;
        (EPISODE_HOUR_PROMPT_TOKENS / prefill_tok_s + EPISODE_HOUR_ANSWER_TOKENS / gen_tok_s) / 60.0
    }

    /// Whether `name` names this model: its tier, its id or its file name (any case).
    pub fn answers_to(&self, name: &str) -> bool {
        let name = name.trim();
        [self.tier.as_str(), self.id, self.spec.name.as_ref()]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Qwen3-1.7B, Q8_0, from Qwen's own GGUF repository (Qwen publishes only Q8_0 of it).
///
/// Pin sources (size 1,834,426,016 bytes, sha256 061b54da…):
/// * `Pavithran-R-A/clipgauge`, `pipeline/clipgauge_pipeline/local_runtime.py` (sha256, size,
///   revision 90862c4b) and `pipeline/runtime-manifest.json` (sha256, size);
/// * `Maninder1220/OS.rs`, `get-osai-os-ready/linux-lets-rust-now.sh` (sha256);
/// * `thebestbradley/webos-phoenix`, `apps/assistant/service/lib/models.js` (sha256, size,
///   revision 90862c4b).
const SMALL: ModelSpec = ModelSpec {
    name: Cow::Borrowed("Qwen3-1.7B-Q8_0.gguf"),
    url: Cow::Borrowed(
        "https://huggingface.co/Qwen/Qwen3-1.7B-GGUF/resolve/90862c4b9d2787eaed51d12237eafdfe7c5f6077/Qwen3-1.7B-Q8_0.gguf",
    ),
    sha256: Cow::Borrowed("061b54daade076b5d3362dac252678d17da8c68f07560be70818cace6590cb1a"),
    size: 1_834_426_016,
};

/// Qwen3-4B-Instruct-2507, Q4_K_M. Qwen publishes no GGUF of the 2507 update, so this is
/// bartowski's conversion (`bartowski/Qwen_Qwen3-4B-Instruct-2507-GGUF`, revision ae44f08e),
/// the one the sources below pin.
///
/// Pin sources (size 2,497,280,736 bytes, sha256 2fde00ce…):
/// * `wayfindercollective/wayfinder-aura`, `src/wayfinder/core/setup.py` (sha256, size,
///   revision ae44f08e) and `catalog/v1.json` (size);
/// * `colliery-io/kairos`, `Dockerfile` (`ADD --checksum=sha256:…` of the same URL);
/// * `Yincloudhub/Go2W_SLAM_AI`, `robot/README.md` at b64d59a9 (sha256).
const DEFAULT: ModelSpec = ModelSpec {
    name: Cow::Borrowed("Qwen_Qwen3-4B-Instruct-2507-Q4_K_M.gguf"),
    url: Cow::Borrowed(
        "https://huggingface.co/bartowski/Qwen_Qwen3-4B-Instruct-2507-GGUF/resolve/ae44f08e1392f39c0e474af10c3ff8355c8b6688/Qwen_Qwen3-4B-Instruct-2507-Q4_K_M.gguf",
    ),
    sha256: Cow::Borrowed("2fde00ce69dd4899c70d020845e2638353015bba0fdf161b3eb965f2bca4464e"),
    size: 2_497_280_736,
};

/// Qwen3-8B, Q4_K_M, from Qwen's own GGUF repository.
///
/// Pin sources (size 5,027,783,488 bytes, sha256 d98cdcbd…):
/// * `cyh-2101/HAVRE-sc`, `mlsys/serving/manifests/qwen3-8b-q4-k-m.json` (sha256, size,
///   revision 7c41481f, LFS blob id);
/// * `thebestbradley/webos-phoenix`, `apps/assistant/service/lib/models.js` (sha256, size,
///   revision 7c41481f).
const QUALITY: ModelSpec = ModelSpec {
    name: Cow::Borrowed("Qwen3-8B-Q4_K_M.gguf"),
    url: Cow::Borrowed(
        "https://huggingface.co/Qwen/Qwen3-8B-GGUF/resolve/7c41481f57cb95916b40956ab2f0b139b296d974/Qwen3-8B-Q4_K_M.gguf",
    ),
    sha256: Cow::Borrowed("d98cdcbd03e17ce47681435b5150e34c1417f50b5c0019dd560e4882c5745785"),
    size: 5_027_783_488,
};

/// The model podsift downloads when the configuration names none: the `default` tier,
/// Qwen3-4B-Instruct-2507 Q4_K_M (Apache-2.0).
pub const DEFAULT_MODEL: ModelSpec = DEFAULT;

/// The catalogue, smallest first.
pub static CATALOGUE: [LlmModel; 3] = [
    LlmModel {
        tier: Tier::Small,
        id: "qwen3-1.7b",
        params: "1.7B",
        quant: "Q8_0",
        licence: "Apache-2.0",
        spec: SMALL,
        params_billions: 2.03,
        // 28 layers, 8 KV heads of 128.
        kv_bytes_per_token: 2 * 28 * 8 * 128 * 2,
        note: "hybrid thinking model",
    },
    LlmModel {
        tier: Tier::Default,
        id: "qwen3-4b-instruct-2507",
        params: "4.0B",
        quant: "Q4_K_M",
        licence: "Apache-2.0",
        spec: DEFAULT,
        params_billions: 4.02,
        // 36 layers, 8 KV heads of 128.
        kv_bytes_per_token: 2 * 36 * 8 * 128 * 2,
        note: "non-thinking instruct model",
    },
    LlmModel {
        tier: Tier::Quality,
        id: "qwen3-8b",
        params: "8.2B",
        quant: "Q4_K_M",
        licence: "Apache-2.0",
        spec: QUALITY,
        params_billions: 8.19,
        // 36 layers, 8 KV heads of 128.
        kv_bytes_per_token: 2 * 36 * 8 * 128 * 2,
        note: "hybrid thinking model",
    },
];

/// The catalogue entry `name` names (a tier, an id or a file name), if any.
pub fn find(name: &str) -> Option<&'static LlmModel> {
    CATALOGUE.iter().find(|m| m.answers_to(name))
}

/// The model `[llm] local_model` names; none: the default tier.
pub fn model_for(name: Option<&str>) -> Result<&'static ModelSpec, LocalError> {
    entry_for(name).map(|m| &m.spec)
}

/// Like [`model_for`], the whole catalogue entry.
pub fn entry_for(name: Option<&str>) -> Result<&'static LlmModel, LocalError> {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let found = match name {
        None => CATALOGUE.iter().find(|m| m.tier == Tier::Default),
        Some(n) => find(n),
    };
    found.ok_or_else(|| LocalError::UnknownModel {
        name: name.unwrap_or_default().to_string(),
        known: CATALOGUE
            .iter()
            .map(|m| format!("{} ({})", m.tier, m.spec.name))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_is_a_valid_spec_on_hugging_face() {
        for m in &CATALOGUE {
            m.spec.validate().unwrap();
            assert!(
                m.spec.url.starts_with("https://huggingface.co/"),
                "{}",
                m.id
            );
            assert!(m.spec.url.ends_with(m.spec.name.as_ref()), "{}", m.id);
        }
        assert_eq!(DEFAULT_MODEL, CATALOGUE[1].spec);
    }

    #[test]
    fn names_pick_tiers_ids_and_files() {
        assert_eq!(model_for(None).unwrap(), &DEFAULT_MODEL);
        assert_eq!(model_for(Some("  ")).unwrap(), &DEFAULT_MODEL);
        assert_eq!(
            model_for(Some("small")).unwrap().name,
            "Qwen3-1.7B-Q8_0.gguf"
        );
        assert_eq!(
            model_for(Some("Quality")).unwrap().name,
            "Qwen3-8B-Q4_K_M.gguf"
        );
        assert_eq!(find("qwen3-8b-q4_k_m.gguf").unwrap().tier, Tier::Quality);
        assert_eq!(find("qwen3-4b-instruct-2507").unwrap().tier, Tier::Default);
        let err = model_for(Some("llama-70b")).unwrap_err();
        assert!(matches!(err, LocalError::UnknownModel { .. }));
        assert!(err.to_string().contains("small"), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn ram_is_file_plus_kv_cache_plus_overhead() {
        let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
        let ram: Vec<f64> = CATALOGUE.iter().map(|m| gib(m.ram_bytes())).collect();
        // 1.7B: 1.71 GiB + 0.875 GiB KV + 0.5 GiB; 4B: 2.33 + 1.125 + 0.5; 8B: 4.68 + 1.125 + 0.5.
        assert!((ram[0] - 3.08).abs() < 0.01, "{ram:?}");
        assert!((ram[1] - 3.95).abs() < 0.01, "{ram:?}");
        assert!((ram[2] - 6.31).abs() < 0.01, "{ram:?}");
    }

    #[test]
    fn bigger_models_take_longer() {
        let minutes: Vec<f64> = CATALOGUE
            .iter()
            .map(LlmModel::estimated_minutes_per_episode_hour)
            .collect();
        assert!(minutes.windows(2).all(|w| w[0] < w[1]), "{minutes:?}");
        assert!(minutes[0] > 1.0 && minutes[2] < 60.0, "{minutes:?}");
    }
}
