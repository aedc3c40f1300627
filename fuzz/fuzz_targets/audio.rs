//! The in-process audio decoder (symphonia, resampled to 16 kHz mono; never ffmpeg) on
//! arbitrary bytes: never panics, and every sample it yields is finite. The first byte picks
//! the container hint, as a file's extension would.
//!
//! symphonia's own panics on crafted headers are contained by podsift (`contain_panic` in
//! `podsift_asr::audio`: the file is corrupt audio), so this target restores the default
//! panic hook: libfuzzer-sys's hook aborts on every panic, a caught one included. A panic
//! that escapes `open_bytes`/`next_block` still aborts (libfuzzer-sys aborts when the
//! target unwinds), and is reported as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_asr::audio::open_bytes;

const HINTS: [Option<&str>; 8] = [
    None,
    Some("mp3"),
    Some("wav"),
    Some("flac"),
    Some("ogg"),
    Some("m4a"),
    Some("aac"),
    Some("mp4"),
];

/// Stop after this many output samples (a minute at 16 kHz), so one input cannot run long.
const MAX_SAMPLES: usize = 60 * 16_000;

fuzz_target!(
    init: {
        drop(std::panic::take_hook());
    },
    |data: &[u8]| {
    let Some((&pick, audio)) = data.split_first() else {
        return;
    };
    let hint = HINTS[usize::from(pick) % HINTS.len()];
    let Ok(mut src) = open_bytes(audio.to_vec(), hint) else {
        return;
    };
    let mut total = 0usize;
    while let Ok(Some(block)) = src.next_block() {
        assert!(block.iter().all(|s| s.is_finite()), "non-finite sample");
        total += block.len();
        if total > MAX_SAMPLES {
            break;
        }
    }
    }
);
