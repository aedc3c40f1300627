//! podsift-insights: read an episode's whole transcript and write the few things in it worth
//! knowing.
//!
//! The pipeline ([`extract_episode`]): sponsor reads are found and left out ([`ads`]); the
//! rest is cut into [`windows`] that fill the model's context (one call for the whole episode
//! when it fits); every window is read unless the user set a cap, in which case windows are
//! spread over the episode ([`select`]). Map: each window, with the episode's description,
//! speakers, chapters, the reader's interests and its position, gives up to four claims, each
//! with its verbatim supporting quote first ([`prompt`], parsed leniently with one repair,
//! [`parse`]); every quote is found in the transcript, which gives its real timestamps and
//! speaker ([`ground`]). Reduce: an editor call turns the episode's claims into its best
//! insights in the target register, each citing its claims and giving the reader a one-line
//! reason ([`editor`]); every number and name an insight states must be in its quotes or
//! their windows ([`faithful`]); duplicates are merged ([`merge`]); tokens and money are
//! counted ([`cost`]). Nothing is dropped silently: the [`ExtractionReport`] records every
//! skipped window and refused insight with its reason, the words read, the cap, the editor's
//! outcome and the cost.
//!
//! Engines ([`engines`]): any OpenAI-compatible API (OpenAI, OpenRouter, Groq, vLLM,
//! llama.cpp's server, LM Studio), Ollama's native API and Anthropic, behind core's [`Llm`]
//! port; [`resilient::Resilient`] adds a concurrency limit and retries.

#![warn(missing_docs)]

pub mod ads;
pub mod cache;
mod call;
pub mod cost;
pub mod daily;
pub mod editor;
pub mod engines;
mod extract;
pub mod ground;
pub mod merge;
pub mod parse;
pub mod prompt;
mod reduce;
pub mod resilient;
pub mod secret;
pub mod select;
mod text;
pub mod windows;

pub use cache::{MemoryCache, cache_key};
pub use cost::estimate_tokens;
pub use daily::{Connection, DailyError, DayInsight, connect};
pub use extract::{EpisodeInput, ExtractError, SKIP_BUDGET, baseline_tokens, extract_episode};
pub use podsift_core::{ExtractionReport, InsightDraft, Llm, LlmCache, LlmError};
/// Faithful figures, from the register check.
pub use podsift_register::faithful;
pub use prompt::PROMPT_VERSION;
pub use resilient::Resilient;
pub use secret::Secret;
