//! podsift-asr: speech-to-text for episodes without a publisher transcript.
//!
//! [`stage::AsrStage`] runs `transcribe` jobs: it downloads the enclosure through the
//! [`podsift_core::Downloader`] port (resumable, capped, SSRF-guarded), decodes it as a stream
//! ([`audio`]: symphonia in-process, ffmpeg as the fallback), cuts it into pieces at pauses
//! ([`chunk`]) so memory stays bounded, and hands each piece to a [`engine::SpeechToText`]:
//! whisper.cpp in-process with its Silero VAD ([`whisper`]) or an OpenAI-compatible API
//! ([`remote`]). Models come from [`models`]' pinned catalogue.

pub mod audio;
pub mod chunk;
pub mod engine;
mod error;
pub mod lanes;
pub mod models;
mod mp4_check;
pub mod onsets;
mod port;
pub mod remote;
pub mod sentences;
pub mod speech_map;
pub mod stage;
pub mod wer;
#[cfg(feature = "whisper")]
pub mod whisper;
pub use port::progress_message;

pub use engine::{DecodeOptions, RawSegment, Recognised, SpeechToText};
pub use error::AsrError;
pub use stage::{ASR_JOBS, AsrSettings, AsrStage, Progress};
pub use wer::wer as word_error_rate;
