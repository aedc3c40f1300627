//! Where `scripts/fetch-test-assets` put the pinned test weights: `PODSIFT_TEST_ASSETS`, else
//! `~/.cache/podsift-test-assets`.

use std::path::PathBuf;

/// The test assets directory (it may not exist).
pub fn test_assets_dir() -> Option<PathBuf> {
    std::env::var_os("PODSIFT_TEST_ASSETS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/podsift-test-assets"))
        })
}

/// A program on `PATH` (espeak-ng, ffmpeg), when it is installed.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What the end-to-end speech tests need: the Whisper tiny.en and Silero VAD test models, and
/// espeak-ng and ffmpeg to make the audio.
pub struct SpeechInputs {
    pub model: PathBuf,
    pub vad: PathBuf,
    pub espeak: PathBuf,
    pub ffmpeg: PathBuf,
}

/// [`SpeechInputs`], or `None` after [`crate::skip`] naming `test` and what is missing.
pub fn speech_inputs(test: &str) -> Option<SpeechInputs> {
    let (Some(espeak), Some(ffmpeg)) = (which("espeak-ng"), which("ffmpeg")) else {
        crate::skip(
            test,
            "espeak-ng and ffmpeg are needed (scripts/ci-deps installs them)",
        );
        return None;
    };
    let (Some(model), Some(vad)) = (
        test_asset("ggml-tiny.en.bin"),
        test_asset("ggml-silero-v6.2.0.bin"),
    ) else {
        crate::skip(test, "test models missing (scripts/fetch-test-assets)");
        return None;
    };
    Some(SpeechInputs {
        model,
        vad,
        espeak,
        ffmpeg,
    })
}

/// One test asset (a file or a directory), when it is there.
pub fn test_asset(name: &str) -> Option<PathBuf> {
    let p = test_assets_dir()?.join(name);
    p.exists().then_some(p)
}
