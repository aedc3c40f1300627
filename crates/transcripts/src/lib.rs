//! podsift-transcripts: publisher transcripts (the files podcasts attach with
//! `<podcast:transcript>`) parsed into podsift's one segment model, `podcast:chapters`
//! JSON, the choice among several offered transcripts, and export of stored segments.
//!
//! Every parser is lenient: a malformed cue is skipped and counted in
//! [`ParsedTranscript::skipped`], never fatal for the rest of the file. Everything is
//! bounded: input size ([`MAX_INPUT_BYTES`]), segment count ([`MAX_SEGMENTS`]) and text
//! per segment ([`MAX_SEGMENT_CHARS`]).

mod chapters;
mod decode;
mod detect;
pub mod export;
mod html;
mod json;
mod normalise;
mod plain;
mod sink;
mod srt;
mod text;
mod time;
mod vtt;

pub use chapters::parse_chapters;
pub use decode::decode_text;
pub use detect::{best_offer, detect_format};
pub use html::{html_to_plain, parse_html};
pub use json::parse_json;
pub use normalise::normalise;
pub use plain::parse_text;
pub use podsift_core::model::{
    Chapter, ParsedTranscript, Segment, TranscriptFormat, TranscriptRef,
};
pub use srt::parse_srt;
pub use vtt::parse_vtt;

/// Largest transcript or chapters file accepted, in bytes (32 MiB).
pub const MAX_INPUT_BYTES: usize = 32 * 1024 * 1024;
/// Most segments kept from one file; the rest are counted as skipped.
pub const MAX_SEGMENTS: usize = 200_000;
/// Longest text kept for one segment, in characters; longer text is cut.
pub const MAX_SEGMENT_CHARS: usize = 100_000;
/// Most chapters kept from one chapters file.
pub const MAX_CHAPTERS: usize = 10_000;

/// Why a transcript or chapters file could not be used. Every variant is permanent: the
/// same bytes will fail the same way, so retrying is pointless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TranscriptError {
    /// The input exceeds [`MAX_INPUT_BYTES`].
    #[error("input too large: {size} bytes (limit {limit})")]
    TooLarge { size: usize, limit: usize },
    /// The bytes are not valid JSON (or nest deeper than the parser allows).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// Valid JSON, but not a transcript shape this crate knows.
    #[error("JSON is not a transcript: {0}")]
    NotATranscript(String),
    /// Valid JSON, but not a `podcast:chapters` document.
    #[error("JSON is not a chapters file: {0}")]
    NotChapters(String),
}

impl TranscriptError {
    /// Always `false`: transcript errors come from the content, not from the network.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Parses transcript bytes of a known format: decodes the text ([`decode_text`]) and runs
/// the format's parser. Only JSON can fail as a whole (not JSON / not a transcript); the
/// other formats skip what they cannot read.
pub fn parse_transcript(
    bytes: &[u8],
    format: TranscriptFormat,
) -> Result<ParsedTranscript, TranscriptError> {
    check_size(bytes)?;
    let text = decode_text(bytes);
    Ok(match format {
        TranscriptFormat::Json => parse_json(&text)?,
        TranscriptFormat::Vtt => parse_vtt(&text),
        TranscriptFormat::Srt => parse_srt(&text),
        TranscriptFormat::Html => parse_html(&text),
        TranscriptFormat::Text => parse_text(&text),
    })
}

pub(crate) fn check_size(bytes: &[u8]) -> Result<(), TranscriptError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(TranscriptError::TooLarge {
            size: bytes.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_permanent() {
        let e = TranscriptError::TooLarge { size: 1, limit: 0 };
        assert!(!e.is_retryable());
        assert!(!TranscriptError::InvalidJson("x".into()).is_retryable());
        assert!(e.to_string().contains("too large"));
    }

    #[test]
    fn too_large_is_refused() {
        let big = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert!(matches!(
            parse_transcript(&big, TranscriptFormat::Text),
            Err(TranscriptError::TooLarge { .. })
        ));
    }

    #[test]
    fn dispatches_and_decodes() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "1\n00:00:01,000 --> 00:00:02,000\nHi\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let p = parse_transcript(&bytes, TranscriptFormat::Srt).unwrap();
        assert_eq!(p.segments.len(), 1);
        assert_eq!(p.segments[0].text, "Hi");
        assert!(parse_transcript(b"nope", TranscriptFormat::Json).is_err());
    }
}
