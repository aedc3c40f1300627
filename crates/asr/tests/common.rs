//! Shared helpers for the speech-to-text tests: test assets and synthetic speech.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The test-asset cache (`scripts/fetch-test-assets`).
pub fn assets_dir() -> PathBuf {
    std::env::var_os("PODSIFT_TEST_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/podsift-test-assets")
        })
}

/// A test asset, or `None` after a loud SKIP line.
pub fn asset(name: &str) -> Option<PathBuf> {
    let path = assets_dir().join(name);
    if path.exists() {
        Some(path)
    } else {
        podsift_testkit::skip(
            module_path!(),
            &format!(
                "test asset {} missing; run scripts/fetch-test-assets",
                path.display()
            ),
        );
        None
    }
}

/// A tool on PATH, or `None` after a loud SKIP line.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        podsift_testkit::skip(
            module_path!(),
            &format!("{name} is not installed (scripts/ci-deps installs it)"),
        );
    }
    found
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Speak `text` with espeak-ng into a WAV file.
pub fn speak(espeak: &Path, text: &str, out: &Path) {
    run(Command::new(espeak)
        .args(["-v", "en-us", "-s", "160", "-w"])
        .arg(out)
        .arg(text));
}

/// Encode `wav` into `out` with ffmpeg (format from the extension).
pub fn ffmpeg_encode(ffmpeg: &Path, wav: &Path, out: &Path, extra: &[&str]) {
    run(Command::new(ffmpeg)
        .args(["-nostdin", "-y", "-loglevel", "error", "-i"])
        .arg(wav)
        .args(extra)
        .arg(out));
}
