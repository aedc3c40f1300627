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

/// One test asset (a file or a directory), when it is there.
pub fn test_asset(name: &str) -> Option<PathBuf> {
    let p = test_assets_dir()?.join(name);
    p.exists().then_some(p)
}
