//! Shared helpers for the corpus-driven conformance tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared corpora folder (`PODSIFT_CORPORA`, else `../shared/corpora` beside the
/// workspace), or `None` after printing a loud SKIP line.
pub fn corpora(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("PODSIFT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpora"
            ))
        });
    if dir.is_dir() {
        Some(dir)
    } else {
        podsift_testkit::skip(
            module_path!(),
            &format!("corpora not found at {} (test {test})", dir.display()),
        );
        None
    }
}

/// All files under `dir` (recursively) accepted by `keep`, sorted.
pub fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Collapses whitespace and strips HTML tags, for comparing descriptions.
pub fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
