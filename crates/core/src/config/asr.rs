//! `[asr]`: speech-to-text for episodes without a publisher transcript (engine, model,
//! VAD, threads, limits on what is downloaded and transcribed).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The speech model when none is configured (`podsift_asr::models::DEFAULT_MODEL` says why).
pub const DEFAULT_ASR_MODEL: &str = "base.en-q8_0";

config_enum! {
    /// `[asr] engine`: speech-to-text for episodes without a publisher transcript.
    AsrEngine {
        /// whisper.cpp in-process.
        Local = "local",
        /// An OpenAI-compatible `/v1/audio/transcriptions`.
        Remote = "remote",
        Off = "off",
    }
}

/// Speech-to-text for episodes without a publisher transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsrConfig {
    /// `local` (whisper.cpp in-process, default), `remote` (an OpenAI-compatible
    /// `/v1/audio/transcriptions`) or `off`.
    pub engine: AsrEngine,
    /// A catalogue name (`podsift models list`), downloaded on first use.
    pub model: String,
    /// A ggml model file to use instead of the catalogue download.
    pub model_path: Option<PathBuf>,
    /// Skip silence and music with whisper.cpp's Silero VAD (its model is downloaded too).
    pub vad: bool,
    pub vad_model_path: Option<PathBuf>,
    /// Inference threads in all (0: every core).
    pub threads: usize,
    /// Parts of each piece transcribed side by side, the threads shared among them (0: one
    /// part per thread on up to 4 threads; 1: one part on every thread). On 2 cores two
    /// parts of one thread each were about a fifth faster than one part on two threads
    /// (BENCHMARKS.md, issue 17); a later part does not see the text before it as context.
    pub lanes: usize,
    /// whisper.cpp's flash attention: for GPU builds (`--features cuda|metal|vulkan`); on CPU
    /// ggml's kernel was slower here.
    pub flash_attention: bool,
    /// Align sentence starts by DTW over the cross-attention (a second decoder pass per
    /// window, about a fifth more decoding time on CPU). Off (the default): each sentence is
    /// placed in its segment by its text and moved to the nearest onset of speech after a
    /// pause (`podsift_asr::onsets`), as close as DTW in the tests; whisper's own token times,
    /// the other cheap way, put starts seconds off (3.6 s and 25 s in the tests).
    pub dtw_times: bool,
    /// Spoken language (ISO 639-1) when the feed does not say; `auto` detects it.
    pub language: String,
    /// Audio larger than this is refused.
    pub max_audio_bytes: u64,
    /// Keep the downloaded audio after transcription (under DATA_DIR/audio).
    pub keep_audio: bool,
    /// Seconds without a byte before a download counts as stalled (it resumes later).
    pub stall_timeout_secs: u64,
    /// Slowest average download accepted, in KiB a second (0: none): past the stall timeout a
    /// slower download is cut and resumed later, and no attempt outlasts the size at this rate.
    pub min_download_kib_per_sec: u64,
    /// Audio is transcribed in pieces of about this length, cut at a pause, so memory stays
    /// bounded whatever the episode's length.
    pub chunk_secs: u32,
    /// Longest episode transcribed, in minutes (0: no limit). A longer one (by the feed's
    /// duration, else the file's, else what was decoded) is not downloaded or transcribed,
    /// and says so on its episode and in `podsift jobs`: one 12-hour livestream would
    /// otherwise hold the speech-to-text worker for a day.
    pub max_episode_minutes: f64,
    /// Hours of speech-to-text one user's shows may use per UTC day (0: no limit). An
    /// episode's audio counts against the subscribers of its show who still had time that
    /// day, shared among them; when none has, it waits for the next day and says so.
    pub max_audio_hours_per_user_per_day: f64,
    /// Remote engine: base URL (`https://api.openai.com/v1`), model and the environment
    /// variable holding the API key.
    pub remote_base_url: Option<String>,
    pub remote_model: String,
    pub remote_api_key_env: String,
    /// Remote engine: the largest upload (the audio is split to stay below it).
    pub remote_max_upload_bytes: u64,
    pub remote_timeout_secs: u64,
}

impl Default for AsrConfig {
    fn default() -> Self {
        Self {
            engine: AsrEngine::Local,
            model: DEFAULT_ASR_MODEL.into(),
            model_path: None,
            vad: true,
            vad_model_path: None,
            threads: 0,
            lanes: 0,
            flash_attention: false,
            dtw_times: false,
            language: "en".into(),
            max_audio_bytes: 1 << 30,
            keep_audio: false,
            stall_timeout_secs: 60,
            min_download_kib_per_sec: 16,
            chunk_secs: 300,
            max_episode_minutes: 240.0,
            max_audio_hours_per_user_per_day: 0.0,
            remote_base_url: None,
            remote_model: "whisper-1".into(),
            remote_api_key_env: "PODSIFT_ASR_API_KEY".into(),
            remote_max_upload_bytes: 24 * 1024 * 1024,
            remote_timeout_secs: 600,
        }
    }
}
