//! First-use download of all-MiniLM-L6-v2's official files from Hugging Face, pinned to one
//! revision and checked by sha256 (the llm-local crate's resumable download does the work).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use podsift_llm_local::ModelSpec;

use crate::error::RankError;

/// The pinned revision of `sentence-transformers/all-MiniLM-L6-v2`. The sha256 sums below are
/// those of the test copy (see the project's ASSETS.md), which is byte-identical to the
/// official files; a revision whose files differ fails safely with a hash mismatch.
pub const MINILM_REVISION: &str = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf";
/// Sub-directory of the cache that holds the model.
pub const MINILM_DIR: &str = "all-minilm-l6-v2";

const BASE: &str = "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/";

/// `(file name, sha256, size in bytes)` of the three files the embedder needs.
const FILES: [(&str, &str, u64); 3] = [
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
        612,
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
        466_247,
    ),
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        90_868_376,
    ),
];

/// The download specs of the model's files (pinned URL, size and sha256).
pub fn minilm_specs() -> Vec<ModelSpec> {
    FILES
        .iter()
        .map(|(name, sha, size)| ModelSpec {
            name: Cow::Borrowed(name),
            url: Cow::Owned(format!("{BASE}{MINILM_REVISION}/{name}")),
            sha256: Cow::Borrowed(sha),
            size: *size,
        })
        .collect()
}

/// Returns `cache_dir/all-minilm-l6-v2`, downloading whatever of the model is missing or
/// does not match its pinned hash from Hugging Face (resumable; verified files are not fetched
/// again). `progress(file, downloaded, total)` reports bytes as they arrive.
pub async fn ensure_model(
    cache_dir: &Path,
    progress: &(dyn Fn(&str, u64, Option<u64>) + Send + Sync),
) -> Result<PathBuf, RankError> {
    ensure_model_from(&format!("{BASE}{MINILM_REVISION}"), cache_dir, progress).await
}

/// [`ensure_model`] from another place holding the same files (a mirror, a test server):
/// `base_url/config.json` and so on. The pinned sizes and hashes still apply.
pub async fn ensure_model_from(
    base_url: &str,
    cache_dir: &Path,
    progress: &(dyn Fn(&str, u64, Option<u64>) + Send + Sync),
) -> Result<PathBuf, RankError> {
    let dir = cache_dir.join(MINILM_DIR);
    for mut spec in minilm_specs() {
        spec.url = Cow::Owned(format!("{}/{}", base_url.trim_end_matches('/'), spec.name));
        let name = spec.name.to_string();
        let report = |done: u64, total: Option<u64>| progress(&name, done, total);
        podsift_llm_local::ensure_model(&spec, &dir, &report)
            .await
            .map_err(|e| RankError::Download {
                retryable: e.is_retryable(),
                message: e.to_string(),
            })?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_pinned_to_a_revision_and_name_every_model_file() {
        let specs = minilm_specs();
        let names: Vec<&str> = specs.iter().map(|s| s.name.as_ref()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        let mut want = crate::embed::MODEL_FILES.to_vec();
        want.sort_unstable();
        assert_eq!(sorted, want);
        for s in &specs {
            assert!(s.url.contains(MINILM_REVISION), "{}", s.url);
            assert!(s.url.ends_with(s.name.as_ref()));
            assert_eq!(s.sha256.len(), 64);
        }
    }
}
