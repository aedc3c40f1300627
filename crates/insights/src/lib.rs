//! podsift-insights: read an episode's transcript and extract the few things worth knowing.
//!
//! The pipeline ([`extract_episode`]): the transcript's segments are cut into overlapping
//! [`windows`]; sponsor reads are found and skipped ([`ads`]); a cheap pre-score picks the
//! windows worth the model's time within the episode's token budget ([`select`]); each chosen
//! window goes to the model (through the [`cache`]) with the [`prompt`]; the answer is parsed
//! leniently with one repair attempt ([`parse`]); every insight's quote is found in the
//! transcript, which gives its real timestamps and speaker ([`ground`]); duplicates from
//! overlapping windows are merged and the best few kept ([`merge`]); tokens and money are
//! counted ([`cost`]). Nothing is dropped silently: the [`ExtractionReport`] records every
//! skipped window with its reason, the coverage, drops and cost.
//!
//! Engines ([`engines`]): any OpenAI-compatible API (OpenAI, OpenRouter, Groq, Ollama, vLLM,
//! llama.cpp's server) and Anthropic, behind core's [`Llm`] port; [`resilient::Resilient`]
//! adds a concurrency limit and retries.

#![warn(missing_docs)]

pub mod ads;
pub mod cache;
pub mod cost;
pub mod engines;
mod extract;
pub mod ground;
pub mod merge;
pub mod parse;
pub mod prompt;
pub mod resilient;
pub mod secret;
pub mod select;
mod text;
pub mod windows;

pub use cache::{MemoryCache, cache_key};
pub use cost::estimate_tokens;
pub use extract::{EpisodeInput, ExtractError, baseline_tokens, extract_episode};
pub use podsift_core::{ExtractionReport, InsightDraft, Llm, LlmCache, LlmError};
pub use prompt::PROMPT_VERSION;
pub use resilient::Resilient;
pub use secret::Secret;
