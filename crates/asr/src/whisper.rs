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

/// Settings of the local engine.
#[derive(Debug, Clone)]
pub struct WhisperOptions {
    /// The label stored with transcripts (`base.en`).
    pub model_name: String,
    /// 0: all cores.
    pub threads: usize,
    /// whisper.cpp's Silero VAD model; `None` transcribes everything, silence included.
    pub vad_model: Option<PathBuf>,
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
}

/// Speech regions closer than this are kept as one region (a natural pause stays in).
const VAD_MERGE_GAP: f64 = 1.0;
/// Audio kept around each region so no word is clipped.
const VAD_PAD: f64 = 0.2;
/// Silence put between regions in the audio handed to whisper.
const VAD_SEPARATOR: f64 = 0.3;

/// Where each kept region sits in the filtered audio and in the original.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeechMap {
    /// (start in the filtered audio, start in the original, length), in seconds.
    pieces: Vec<(f64, f64, f64)>,
}

impl SpeechMap {
    /// Original time of a segment start in the filtered audio. A start that falls in the
    /// silence between two regions belongs to the next one (whisper often starts a segment
    /// where the previous one ended).
    pub fn start_to_original(&self, t: f64) -> f64 {
        self.map(t, true)
    }

    /// Original time of a segment end; an end in the silence belongs to the previous region.
    pub fn end_to_original(&self, t: f64) -> f64 {
        self.map(t, false)
    }

    fn map(&self, t: f64, forward: bool) -> f64 {
        if self.pieces.is_empty() {
            return t;
        }
        let i = self
            .pieces
            .iter()
            .rposition(|(fs, _, _)| *fs <= t)
            .unwrap_or(0);
        let (fs, os, len) = self.pieces[i];
        if t > fs + len
            && forward
            && let Some(next) = self.pieces.get(i + 1)
        {
            return next.1;
        }
        os + (t - fs).clamp(0.0, len)
    }
}

/// Speech regions (seconds) → merged, padded regions and the filtered audio with its map.
pub fn build_speech_audio(
    samples: &[f32],
    regions: &[(f64, f64)],
    rate: f64,
) -> (Vec<f32>, SpeechMap) {
    let total = samples.len() as f64 / rate;
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for &(start, end) in regions {
        let (start, end) = ((start - VAD_PAD).max(0.0), (end + VAD_PAD).min(total));
        if end <= start {
            continue;
        }
        match merged.last_mut() {
            Some(last) if start - last.1 <= VAD_MERGE_GAP => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let mut out = Vec::new();
    let mut map = SpeechMap::default();
    let gap = vec![0.0f32; (VAD_SEPARATOR * rate).round() as usize];
    for (i, (start, end)) in merged.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(&gap);
        }
        let a = ((start * rate).round() as usize).min(samples.len());
        let b = ((end * rate).round() as usize).clamp(a, samples.len());
        map.pieces.push((
            out.len() as f64 / rate,
            a as f64 / rate,
            (b - a) as f64 / rate,
        ));
        out.extend_from_slice(&samples[a..b]);
    }
    (out, map)
}

fn install_logging() {
    static ONCE: Once = Once::new();
    // whisper.cpp and ggml log to stderr by default; route them through `tracing`.
    ONCE.call_once(whisper_rs::install_logging_hooks);
}

/// All cores (the machine's parallelism), or the configured number.
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
        // DTW token times (cross-attention alignment) place sentence starts far more precisely
        // than whisper's timestamp-token heuristic; they need the model's alignment heads.
        if let Some(preset) = dtw_preset(model) {
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
        let mut state = self
            .ctx
            .create_state()
            .map_err(|e| AsrError::Engine(format!("creating a whisper state: {e}")))?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(effective_threads(self.opts.threads) as i32);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        // Token times let a long segment be split into sentences, each with its own start.
        params.set_token_timestamps(true);
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
            } else {
                split_sentences(&tokens, span)
            };
            for mut raw in pieces {
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
            whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_owned)
        } else {
            Some("en".to_owned())
        };
        Ok(Recognised { segments, language })
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

/// A decoded token and its time span (seconds).
#[derive(Debug, Clone)]
pub struct TimedToken {
    pub bytes: Vec<u8>,
    pub t0: f64,
    pub t1: f64,
}

/// Splits one whisper segment into sentences at `.`, `?` and `!`, each starting at its first
/// token's time, so a transcript line points at the moment its sentence was said. Bytes are
/// joined before decoding (a token may hold half of a UTF-8 character).
pub fn split_sentences(tokens: &[TimedToken], span: (f64, f64)) -> Vec<RawSegment> {
    let mut out = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut start: Option<f64> = None;
    let clamp = |t: f64| t.clamp(span.0, span.1.max(span.0));
    for (i, tok) in tokens.iter().enumerate() {
        if start.is_none() && !String::from_utf8_lossy(&tok.bytes).trim().is_empty() {
            start = Some(clamp(tok.t0));
        }
        bytes.extend_from_slice(&tok.bytes);
        let text = String::from_utf8_lossy(&tok.bytes);
        let ends_sentence = text.trim_end().ends_with(['.', '?', '!']);
        // "3.5" is not a sentence end: the next token must start a new word.
        let next_starts_word = tokens
            .get(i + 1)
            .is_none_or(|n| n.bytes.first() == Some(&b' '));
        if ends_sentence && next_starts_word {
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            if !text.is_empty() {
                let s = start.unwrap_or(span.0);
                out.push(RawSegment {
                    start: s,
                    end: clamp(tok.t1).max(s),
                    text,
                });
            }
            bytes.clear();
            start = None;
        }
    }
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if !text.is_empty() {
        let s = start.unwrap_or(span.0);
        out.push(RawSegment {
            start: s,
            end: span.1.max(s),
            text,
        });
    }
    out
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
        };
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || engine.transcribe_blocking(&samples, &opts))
            .await
            .map_err(|e| AsrError::Engine(format!("the transcription thread failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_map_round_trips_kept_regions() {
        let rate = 100.0;
        let samples: Vec<f32> = (0..10_000).map(|i| i as f32).collect(); // 100 s
        // Two regions 40 s apart, and a third 0.5 s after the second (merged with it).
        let (audio, map) =
            build_speech_audio(&samples, &[(10.0, 12.0), (52.0, 55.0), (55.5, 57.0)], rate);
        // 2.4 s + 0.3 s gap + 5.4 s (52-0.2 .. 57+0.2)
        assert_eq!(audio.len(), 240 + 30 + 540);
        assert_eq!(map.pieces.len(), 2);
        // A time in the second piece maps into the original at the same audio sample.
        let t = 2.7 + 1.0;
        let orig = map.start_to_original(t);
        assert!((orig - 52.8).abs() < 1e-9, "{orig}");
        assert_eq!(
            audio[(t * rate) as usize],
            samples[(orig * rate).round() as usize]
        );
        // A start in the separator belongs to the next piece, an end to the previous one.
        assert!((map.start_to_original(2.5) - 51.8).abs() < 1e-9);
        assert!((map.end_to_original(2.5) - 12.2).abs() < 1e-9);
        assert_eq!(map.start_to_original(0.0), 9.8);
        assert!((map.end_to_original(99.0) - 57.2).abs() < 1e-9);
    }

    fn tok(text: &str, t0: f64, t1: f64) -> TimedToken {
        TimedToken {
            bytes: text.as_bytes().to_vec(),
            t0,
            t1,
        }
    }

    #[test]
    fn sentences_get_their_own_start() {
        let tokens = [
            tok(" Hello", 0.0, 0.5),
            tok(" Mr", 0.5, 0.7),
            tok(".", 0.7, 0.8),
            tok(" Smith", 0.8, 1.2),
            tok(".", 1.2, 1.3),
            tok(" It", 5.0, 5.2),
            tok(" costs", 5.2, 5.6),
            tok(" 3", 5.6, 5.7),
            tok(".", 5.7, 5.75),
            tok("5", 5.75, 5.8),
            tok("%", 5.8, 6.0),
            tok("!", 6.0, 6.1),
            tok(" And", 9.0, 9.3),
        ];
        let got = split_sentences(&tokens, (0.0, 10.0));
        let texts: Vec<&str> = got.iter().map(|s| s.text.as_str()).collect();
        // A period before a new word splits (even after "Mr"); "3.5" does not.
        assert_eq!(texts, ["Hello Mr.", "Smith.", "It costs 3.5%!", "And"]);
        assert_eq!(got[2].start, 5.0);
        assert_eq!(got[2].end, 6.1);
        assert_eq!(got[3].end, 10.0);
    }

    #[test]
    fn split_bytes_of_one_character_are_joined() {
        let e = "é".as_bytes();
        let tokens = [
            TimedToken {
                bytes: vec![b' ', b'C', b'a', b'f', e[0]],
                t0: 1.0,
                t1: 1.2,
            },
            TimedToken {
                bytes: vec![e[1], b'.'],
                t0: 1.2,
                t1: 1.4,
            },
        ];
        let got = split_sentences(&tokens, (0.0, 2.0));
        assert_eq!(got[0].text, "Café.");
        assert_eq!(got[0].start, 1.0);
    }

    #[test]
    fn no_regions_no_audio() {
        let (audio, map) = build_speech_audio(&[0.0; 100], &[], 100.0);
        assert!(audio.is_empty());
        assert_eq!(map.start_to_original(3.0), 3.0);
    }
}
