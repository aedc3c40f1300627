//! The speech-to-text port: whisper.cpp in-process ([`crate::whisper`]) or a remote API
//! ([`crate::remote`]).

use async_trait::async_trait;
use podsift_core::TranscriptSource;

use crate::error::AsrError;

/// What to tell the model about the audio.
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// ISO 639-1 code; `None` detects the language.
    pub language: Option<String>,
    /// Context that steers spelling: the show's name, hosts and guests, and the end of the
    /// previous piece.
    pub prompt: Option<String>,
}

/// A stretch of recognised speech, in seconds from the start of the audio handed in.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct Recognised {
    pub segments: Vec<RawSegment>,
    /// The language the model heard (when it detected one).
    pub language: Option<String>,
}

#[async_trait]
pub trait SpeechToText: Send + Sync {
    /// How transcripts made by this engine are labelled (`local:base.en`, `remote:whisper-1`).
    fn source(&self) -> TranscriptSource;
    /// Transcribe 16 kHz mono samples.
    async fn transcribe(
        &self,
        samples: Vec<f32>,
        opts: &DecodeOptions,
    ) -> Result<Recognised, AsrError>;
}

/// Whisper's non-speech annotations (`[BLANK_AUDIO]`, `(music)`, `♪`): not words anyone said.
pub fn is_annotation(text: &str) -> bool {
    let t = text.trim();
    if t.is_empty() {
        return true;
    }
    let stripped: String = t
        .chars()
        .filter(|c| !matches!(c, '♪' | '♫' | '*' | '-' | ' ' | '.'))
        .collect();
    if stripped.is_empty() {
        return true;
    }
    let bracketed = |open: char, close: char| {
        t.starts_with(open)
            && t.ends_with(close)
            && t[1..t.len() - 1].chars().all(|c| c != open && c != close)
    };
    bracketed('[', ']') || bracketed('(', ')')
}

/// Cleans one recognised segment; `None` when nothing spoken is left.
pub fn clean_segment(seg: RawSegment) -> Option<RawSegment> {
    let text = seg.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if is_annotation(&text) || seg.end < seg.start {
        return None;
    }
    Some(RawSegment { text, ..seg })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_not_speech() {
        for t in [
            "[BLANK_AUDIO]",
            " (music) ",
            "♪ ♪",
            "[Music]",
            "",
            "  ",
            "*",
        ] {
            assert!(is_annotation(t), "{t:?}");
        }
        for t in ["Hello there.", "[laughs] that was great", "(a) and (b)"] {
            assert!(!is_annotation(t), "{t:?}");
        }
    }

    #[test]
    fn cleaning_collapses_whitespace_and_drops_annotations() {
        let seg = |t: &str| RawSegment {
            start: 1.0,
            end: 2.0,
            text: t.into(),
        };
        assert_eq!(
            clean_segment(seg("  Hello \n world ")).unwrap().text,
            "Hello world"
        );
        assert!(clean_segment(seg("[BLANK_AUDIO]")).is_none());
    }
}
