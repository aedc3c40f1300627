//! podsift's local LLM runtime, for users with neither an API key nor a model server.
//!
//! * [`ensure_model`] downloads a pinned GGUF file once (resumable, sha256-verified) into a
//!   cache directory; [`CATALOGUE`] lists the models it can fetch as tiers (`small`,
//!   `default`, `quality`) and [`model_for`] picks the one `[llm] local_model` names.
//! * [`LocalRuntime::start`] runs the `podsift-llm` binary (crate `podsift-llm-server`) on
//!   loopback with that model; [`LocalRuntime::base_url`] is an OpenAI-compatible API base
//!   (`http://127.0.0.1:PORT/v1`) for podsift's OpenAI engine.
//!
//! Inference lives in a separate process because llama.cpp and whisper.cpp both vendor ggml
//! and cannot be linked into one binary; this crate therefore does not depend on llama.cpp.

mod catalogue;
mod download;
mod error;
mod runtime;

pub use catalogue::{
    ASSUMED_GEN_GBPS, ASSUMED_PREFILL_GFLOPS, CATALOGUE, DEFAULT_MODEL, EPISODE_HOUR_ANSWER_TOKENS,
    EPISODE_HOUR_PROMPT_TOKENS, LlmModel, RAM_CONTEXT_TOKENS, RAM_OVERHEAD_BYTES, Tier, entry_for,
    find, model_for,
};
pub use download::{ModelSpec, ensure_model};
pub use error::LocalError;
pub use runtime::{BIN_NAME, LocalOptions, LocalRuntime, find_binary};
