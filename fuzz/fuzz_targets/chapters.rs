//! The `podcast:chapters` JSON parser on arbitrary bytes: never panics; chapters have
//! finite, non-negative starts and no end before their start.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chapters) = podsift_transcripts::parse_chapters(data) {
        for c in &chapters {
            assert!(
                c.start_seconds.is_finite() && c.start_seconds >= 0.0,
                "start {c:?}"
            );
            if let Some(end) = c.end_seconds {
                assert!(end.is_finite() && end >= c.start_seconds, "end {c:?}");
            }
        }
    }
});
