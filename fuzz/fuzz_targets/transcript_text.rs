//! The Text transcript parser on arbitrary bytes (decoded as podsift decodes fetched
//! transcripts): never panics, and its segments normalise as `normalise` documents.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_transcripts::{TranscriptFormat, normalise, parse_transcript};

#[path = "common/segments.rs"]
mod segments;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_transcript(data, TranscriptFormat::Text) {
        segments::check_normalised(&normalise(parsed.segments));
    }
});
