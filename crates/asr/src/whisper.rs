//! whisper.cpp in-process through `whisper-rs`, with its Silero VAD.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};

use async_trait::async_trait;
use podsift_core::TranscriptSource;
use whisper_rs::{
    DtwMode, DtwModelPreset, DtwParameters, FullParams, SamplingStrategy, WhisperContext,
    WhisperContextParameters, WhisperVadContext, WhisperVadContextParams, WhisperVadParams,
};

use crate::engine::{DecodeOptions, RawSegment, Recognised, SpeechToText, clean_segment};
use crate::error::AsrError;
use crate::lanes;
use crate::onsets::{Loudness, split_by_onsets};
pub use crate::sentences::{TimedToken, split_sentences};
pub use crate::speech_map::{SpeechMap, build_speech_audio};

/// Settings of the local engine.
#[derive(Debug, Clone)]
pub struct WhisperOptions {
    /// The label stored with transcripts (`base.en`).
    pub model_name: String,
    /// 0: all cores.
    pub threads: usize,
    /// Parts of a piece transcribed side by side, the threads shared among them (0: one
    /// per thread, at most [`lanes::MAX_AUTO_LANES`]; 1: one part on every thread).
    pub lanes: usize,
    /// whisper.cpp's Silero VAD model; `None` transcribes everything, silence included.
    pub vad_model: Option<PathBuf>,
    /// whisper.cpp's flash attention. Made for GPUs; on CPU it was slower here (ggml's CPU
    /// kernel; BENCHMARKS.md, issue 17).
    pub flash_attention: bool,
    /// Sentence starts aligned by DTW over the cross-attention, which costs about a fifth more
    /// decoding time on CPU here; otherwise by the segment's text and the pauses in the audio
    /// ([`crate::onsets`]). whisper.cpp cannot do DTW with flash attention on.
    pub dtw_times: bool,
}

/// A loaded ggml Whisper model. Cheap to share: each transcription gets its own state.
pub struct WhisperEngine {
    ctx: Arc<WhisperContext>,
    /// The Silero VAD, run by podsift itself: whisper.cpp applies `params.vad` only in
    /// `whisper_full` on the context's own state, not in `whisper_full_with_state`, which
    /// whisper-rs' per-call states use (the flag would be silently ignored).
    vad: Option<Arc<Mutex<WhisperVadContext>>>,
    opts: WhisperOptions,
    multilingual: bool,
    /// Whether tokens carry DTW times (asked for, and the model's alignment heads known);
    /// otherwise sentence starts come from [`crate::onsets`].
    dtw: bool,
}

fn install_logging() {
    static ONCE: Once = Once::new();
    // whisper.cpp and ggml log to stderr by default; route them through `tracing`.
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

/// All cores (the machine's parallelism), or the configured number. With `[asr] lanes = 0`
/// the cores are shared among parallel parts, one thread each on up to four cores, so no
/// ggml worker spins waiting for another (crate::lanes).
pub fn effective_threads(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map_or(4, |n| n.get())
    }
}

impl WhisperEngine {
    pub fn load(model: &Path, opts: WhisperOptions) -> Result<Self, AsrError> {
        install_logging();
        let path = model.to_str().ok_or_else(|| {
            AsrError::Model(format!("model path is not UTF-8: {}", model.display()))
        })?;
        if !model.is_file() {
            return Err(AsrError::Model(format!(
                "no model file at {}",
                model.display()
            )));
        }
        if let Some(vad) = &opts.vad_model
            && !vad.is_file()
        {
            return Err(AsrError::Model(format!(
                "no VAD model file at {}",
                vad.display()
            )));
        }
        let mut params = WhisperContextParameters::default();
        params.flash_attn(opts.flash_attention);
        // DTW token times (cross-attention alignment) place sentence starts more precisely
        // than whisper's timestamp-token heuristic; they need the model's alignment heads, and
        // whisper.cpp drops them when flash attention is on.
        let preset = (opts.dtw_times && !opts.flash_attention)
            .then(|| dtw_preset(model))
            .flatten();
        let dtw = preset.is_some();
        if let Some(preset) = preset {
            params.dtw_parameters(DtwParameters {
                mode: DtwMode::ModelPreset {
                    model_preset: preset,
                },
                ..DtwParameters::default()
            });
        }
        let ctx = WhisperContext::new_with_params(path, params)
            .map_err(|e| AsrError::Model(format!("cannot load {}: {e}", model.display())))?;
        let multilingual = ctx.is_multilingual();
        let vad = match &opts.vad_model {
            Some(vad_path) => {
                let p = vad_path
                    .to_str()
                    .ok_or_else(|| AsrError::Model("VAD model path is not UTF-8".into()))?;
                // One thread: the Silero model is tiny and runs once per 32 ms frame; ggml's
                // worker threads spin at every sync, which costs far more than they save here
                // (minutes per hour of audio when the cores are shared).
                let mut params = WhisperVadContextParams::new();
                params.set_n_threads(1);
                let vctx = WhisperVadContext::new(p, params).map_err(|e| {
                    AsrError::Model(format!(
                        "cannot load the VAD model {}: {e}",
                        vad_path.display()
                    ))
                })?;
                Some(Arc::new(Mutex::new(vctx)))
            }
            None => None,
        };
        Ok(Self {
            ctx: Arc::new(ctx),
            vad,
            opts,
            multilingual,
            dtw,
        })
    }

    /// Blocking transcription (runs on the caller's thread).
    pub fn transcribe_blocking(
        &self,
        samples: &[f32],
        opts: &DecodeOptions,
    ) -> Result<Recognised, AsrError> {
        if samples.is_empty() {
            return Ok(Recognised::default());
        }
        let (samples, map) = match &self.vad {
            Some(vad) => {
                let regions = self.speech_regions(vad, samples)?;
                if regions.is_empty() {
                    return Ok(Recognised::default());
                }
                let (audio, map) = build_speech_audio(samples, &regions, 16_000.0);
                (std::borrow::Cow::Owned(audio), Some(map))
            }
            None => (std::borrow::Cow::Borrowed(samples), None),
        };
        let samples: &[f32] = &samples;
        let threads = effective_threads(self.opts.threads);
        let plan = lanes::plan(threads, self.opts.lanes);
        let starts = lanes::cuts(samples, plan.lanes);
        let parts: Vec<(usize, &[f32])> = starts
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                (
                    a,
                    &samples[a..starts.get(i + 1).copied().unwrap_or(samples.len())],
                )
            })
            .collect();
        let results = if let [(_, part)] = parts.as_slice() {
            vec![self.recognise(part, opts, threads)]
        } else {
            std::thread::scope(|scope| {
                let running: Vec<_> = parts
                    .iter()
                    .map(|(_, part)| {
                        scope.spawn(move || self.recognise(part, opts, plan.threads_per_lane))
                    })
                    .collect();
                running
                    .into_iter()
                    .map(|lane| {
                        lane.join().unwrap_or_else(|_| {
                            Err(AsrError::Engine("a speech-to-text lane panicked".into()))
                        })
                    })
                    .collect::<Vec<_>>()
            })
        };
        let mut segments = Vec::new();
        let mut language = None;
        for ((start, _), result) in parts.iter().zip(results) {
            let (raw_segments, lang) = result?;
            language = language.or(lang);
            let offset = *start as f64 / 16_000.0;
            for mut raw in raw_segments {
                raw.start += offset;
                raw.end += offset;
                // Times of the audio whisper saw; mapped back across the VAD gaps.
                if let Some(map) = &map {
                    raw.start = map.start_to_original(raw.start);
                    raw.end = map.end_to_original(raw.end).max(raw.start);
                }
                if let Some(clean) = clean_segment(raw) {
                    segments.push(clean);
                }
            }
        }
        let language = if self.multilingual {
            language
        } else {
            Some("en".to_owned())
        };
        Ok(Recognised { segments, language })
    }

    /// One part through whisper: its sentences (times within the part) and, for a
    /// multilingual model, the language it detected.
    fn recognise(
        &self,
        samples: &[f32],
        opts: &DecodeOptions,
        threads: usize,
    ) -> Result<(Vec<RawSegment>, Option<String>), AsrError> {
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| AsrError::Engine(format!("creating a whisper state: {e}")))?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(threads as i32);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        // Token times let a long segment be split into sentences, each with its own start.
        params.set_token_timestamps(self.dtw);
        // An English-only model has no language token to choose.
        let language = if self.multilingual {
            Some(opts.language.as_deref().unwrap_or("auto"))
        } else {
            Some("en")
        };
        params.set_language(language);
        if let Some(prompt) = opts.prompt.as_deref().filter(|p| !p.trim().is_empty()) {
            // whisper.cpp takes a C string: NUL would panic in whisper-rs.
            params.set_initial_prompt(&prompt.replace('\0', " "));
        }
        state
            .full(params, samples)
            .map_err(|e| AsrError::Engine(format!("whisper.cpp: {e}")))?;
        let eot = self.ctx.token_eot();
        let loudness = (!self.dtw).then(|| Loudness::of(samples));
        let mut segments = Vec::new();
        for seg in state.as_iter() {
            let span = (
                seg.start_timestamp() as f64 / 100.0,
                seg.end_timestamp() as f64 / 100.0,
            );
            let tokens: Vec<TimedToken> = (0..seg.n_tokens())
                .filter_map(|i| seg.get_token(i))
                .filter(|t| t.token_id() < eot)
                .map(|t| {
                    let d = t.token_data();
                    // DTW time when the model has alignment heads (-1 otherwise).
                    let t0 = if d.t_dtw >= 0 { d.t_dtw } else { d.t0 };
                    TimedToken {
                        bytes: t.to_bytes().map(<[u8]>::to_vec).unwrap_or_default(),
                        t0: t0 as f64 / 100.0,
                        t1: (d.t1.max(t0)) as f64 / 100.0,
                    }
                })
                .collect();
            let pieces = if tokens.is_empty() {
                let text = seg
                    .to_str_lossy()
                    .map_err(|e| AsrError::Engine(format!("reading a segment: {e}")))?
                    .into_owned();
                vec![RawSegment {
                    start: span.0,
                    end: span.1,
                    text,
                }]
            } else if let Some(loudness) = &loudness {
                split_by_onsets(&tokens, span, loudness)
            } else {
                split_sentences(&tokens, span)
            };
            segments.extend(pieces);
        }
        let language = self
            .multilingual
            .then(|| whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_owned))
            .flatten();
        Ok((segments, language))
    }
}

/// The alignment-head preset of a ggml Whisper model, from its header (the 11 hyper-parameters
/// after the magic): layer counts tell the size, the vocabulary English-only or not, the mel
/// count large-v3 from v2. `None` for a shape we do not know (no DTW then).
pub fn dtw_preset(model: &Path) -> Option<DtwModelPreset> {
    use std::io::Read;
    let mut header = [0u8; 48];
    std::fs::File::open(model)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    let field = |i: usize| {
        i32::from_le_bytes([
            header[4 * i],
            header[4 * i + 1],
            header[4 * i + 2],
            header[4 * i + 3],
        ])
    };
    if field(0) != 0x6767_6d6c {
        return None;
    }
    let (n_vocab, n_audio_layer, n_text_layer, n_mels) = (field(1), field(5), field(9), field(10));
    let en = n_vocab == 51864;
    Some(match (n_audio_layer, n_text_layer) {
        (4, 4) if en => DtwModelPreset::TinyEn,
        (4, 4) => DtwModelPreset::Tiny,
        (6, 6) if en => DtwModelPreset::BaseEn,
        (6, 6) => DtwModelPreset::Base,
        (12, 12) if en => DtwModelPreset::SmallEn,
        (12, 12) => DtwModelPreset::Small,
        (24, 24) if en => DtwModelPreset::MediumEn,
        (24, 24) => DtwModelPreset::Medium,
        (32, 32) if n_mels == 128 => DtwModelPreset::LargeV3,
        (32, 32) => DtwModelPreset::LargeV2,
        (32, 4) => DtwModelPreset::LargeV3Turbo,
        _ => return None,
    })
}

impl WhisperEngine {
    /// Speech regions (seconds) found by the Silero VAD.
    fn speech_regions(
        &self,
        vad: &Mutex<WhisperVadContext>,
        samples: &[f32],
    ) -> Result<Vec<(f64, f64)>, AsrError> {
        let mut vctx = vad
            .lock()
            .map_err(|_| AsrError::Engine("the VAD context was poisoned by a panic".into()))?;
        let mut params = WhisperVadParams::new();
        params.set_min_silence_duration(300);
        params.set_speech_pad(100);
        let segments = vctx
            .segments_from_samples(params, samples)
            .map_err(|e| AsrError::Engine(format!("voice activity detection: {e}")))?;
        // Centiseconds.
        Ok(segments
            .map(|s| (f64::from(s.start) / 100.0, f64::from(s.end) / 100.0))
            .filter(|(a, b)| b > a)
            .collect())
    }
}

#[async_trait]
impl SpeechToText for WhisperEngine {
    fn source(&self) -> TranscriptSource {
        TranscriptSource::Local {
            model: self.opts.model_name.clone(),
        }
    }

    async fn transcribe(
        &self,
        samples: Vec<f32>,
        opts: &DecodeOptions,
    ) -> Result<Recognised, AsrError> {
        let engine = Self {
            ctx: Arc::clone(&self.ctx),
            vad: self.vad.clone(),
            opts: self.opts.clone(),
            multilingual: self.multilingual,
            dtw: self.dtw,
        };
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || engine.transcribe_blocking(&samples, &opts))
            .await
            .map_err(|e| AsrError::Engine(format!("the transcription thread failed: {e}")))?
    }
}
