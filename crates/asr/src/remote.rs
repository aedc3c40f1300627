//! A remote transcription API: any OpenAI-compatible `POST /audio/transcriptions` with
//! `response_format=verbose_json` (OpenAI, Groq, a faster-whisper or whisper.cpp server on a
//! GPU box). Audio goes up as 16 kHz mono WAV pieces below the upload limit.

use std::time::Duration;

use async_trait::async_trait;
use podsift_core::TranscriptSource;
use serde::Deserialize;

use crate::audio::SAMPLE_RATE;
use crate::engine::{DecodeOptions, RawSegment, Recognised, SpeechToText, clean_segment};
use crate::error::AsrError;

#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// e.g. `https://api.openai.com/v1` (the path `/audio/transcriptions` is appended).
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// Largest upload in bytes; pieces are cut to fit (16-bit WAV: 32 kB per second).
    pub max_upload_bytes: u64,
}

pub struct RemoteEngine {
    opts: RemoteOptions,
    client: reqwest::Client,
}

impl std::fmt::Debug for RemoteEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the API key.
        f.debug_struct("RemoteEngine")
            .field("base_url", &self.opts.base_url)
            .field("model", &self.opts.model)
            .finish()
    }
}

#[derive(Deserialize)]
struct VerboseJson {
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    segments: Option<Vec<ApiSegment>>,
}

#[derive(Deserialize)]
struct ApiSegment {
    start: f64,
    end: f64,
    text: String,
}

/// OpenAI's verbose_json names languages in English ("english"); store ISO codes.
fn language_code(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    let code = match lower.as_str() {
        "english" => "en",
        "german" => "de",
        "french" => "fr",
        "spanish" => "es",
        "italian" => "it",
        "portuguese" => "pt",
        "dutch" => "nl",
        "japanese" => "ja",
        "chinese" => "zh",
        other => other,
    };
    code.to_string()
}

/// 16-bit PCM mono WAV.
pub fn wav_bytes(samples: &[f32]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    out.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        let v = (s.clamp(-1.0, 1.0) * i16::MAX as f32) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

impl RemoteEngine {
    pub fn new(opts: RemoteOptions) -> Result<Self, AsrError> {
        // The workspace builds rustls with ring only; another client may have installed it.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(20))
            .timeout(opts.timeout)
            // The upload carries the key and the episode's audio: never re-sent to where a
            // redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AsrError::Engine(format!("building the HTTP client: {e}")))?;
        Ok(Self { opts, client })
    }

    /// The longest piece (in seconds) that fits the upload limit.
    pub fn max_piece_secs(&self) -> u32 {
        ((self.opts.max_upload_bytes.saturating_sub(1024)) / (SAMPLE_RATE as u64 * 2))
            .clamp(10, 3600) as u32
    }

    async fn post_piece(
        &self,
        samples: &[f32],
        opts: &DecodeOptions,
    ) -> Result<VerboseJson, AsrError> {
        let url = format!(
            "{}/audio/transcriptions",
            self.opts.base_url.trim_end_matches('/')
        );
        let file = reqwest::multipart::Part::bytes(wav_bytes(samples))
            .file_name("audio.wav")
            .mime_str("audio/wav")
            .map_err(|e| AsrError::Engine(e.to_string()))?;
        let mut form = reqwest::multipart::Form::new()
            .part("file", file)
            .text("model", self.opts.model.clone())
            .text("response_format", "verbose_json")
            .text("timestamp_granularities[]", "segment");
        if let Some(lang) = &opts.language {
            form = form.text("language", lang.clone());
        }
        if let Some(prompt) = &opts.prompt {
            form = form.text("prompt", prompt.clone());
        }
        let mut req = self.client.post(&url).multipart(form);
        if let Some(key) = &self.opts.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req.send().await.map_err(|e| AsrError::Remote {
            reason: format!("{}: {}", self.opts.base_url, without_url(&e)),
            retryable: true,
            retry_after: None,
        })?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = resp.text().await.unwrap_or_default();
            let detail: String = body.chars().take(200).collect();
            return Err(AsrError::Remote {
                reason: format!("HTTP {status}: {detail}"),
                retryable: status == 408 || status == 429 || status >= 500,
                retry_after,
            });
        }
        let body = resp.bytes().await.map_err(|e| AsrError::Remote {
            reason: format!("reading the answer: {}", without_url(&e)),
            retryable: true,
            retry_after: None,
        })?;
        serde_json::from_slice::<VerboseJson>(&body).map_err(|e| AsrError::Remote {
            reason: format!("the answer is not verbose_json: {e}"),
            retryable: true,
            retry_after: None,
        })
    }
}

/// reqwest's messages end with the URL; the base URL is already in ours.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(i) = s.find(" for url (") {
        s.truncate(i);
    }
    s
}

#[async_trait]
impl SpeechToText for RemoteEngine {
    fn source(&self) -> TranscriptSource {
        TranscriptSource::Remote {
            endpoint: self.opts.base_url.clone(),
            model: self.opts.model.clone(),
        }
    }

    async fn transcribe(
        &self,
        samples: Vec<f32>,
        opts: &DecodeOptions,
    ) -> Result<Recognised, AsrError> {
        let piece = self.max_piece_secs() as usize * SAMPLE_RATE as usize;
        let mut out = Recognised::default();
        for (i, part) in samples.chunks(piece.max(1)).enumerate() {
            let offset = (i * piece) as f64 / SAMPLE_RATE as f64;
            let answer = self.post_piece(part, opts).await?;
            if out.language.is_none() {
                out.language = answer.language.as_deref().map(language_code);
            }
            let segments = match answer.segments {
                Some(s) => s,
                // A server that ignores verbose_json: one segment for the whole piece.
                None => vec![ApiSegment {
                    start: 0.0,
                    end: answer
                        .duration
                        .unwrap_or(part.len() as f64 / SAMPLE_RATE as f64),
                    text: answer.text.unwrap_or_default(),
                }],
            };
            out.segments.extend(segments.into_iter().filter_map(|s| {
                clean_segment(RawSegment {
                    start: offset + s.start,
                    end: offset + s.end,
                    text: s.text,
                })
            }));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header_is_valid() {
        let wav = wav_bytes(&[0.0, 0.5, -0.5, 1.5]);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(&wav[8..16], b"WAVEfmt ");
        assert_eq!(wav.len(), 44 + 8);
        assert_eq!(
            u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]),
            16_000
        );
        // Clamped, not wrapped.
        assert_eq!(i16::from_le_bytes([wav[50], wav[51]]), i16::MAX);
    }

    #[test]
    fn language_names_become_codes() {
        assert_eq!(language_code("English"), "en");
        assert_eq!(language_code("de"), "de");
    }
}
