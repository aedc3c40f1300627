//! Shared helpers for the corpus conformance tests.
#![allow(dead_code)]

use std::path::PathBuf;

use podsift_transcripts::Segment;

/// The shared corpora: `$PODSIFT_CORPORA`, else `../shared/corpora` beside the workspace.
/// `None` (after a loud SKIP line) when absent.
pub fn corpora(sub: &str) -> Option<PathBuf> {
    let root = std::env::var_os("PODSIFT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpora"
            ))
        });
    let dir = root.join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        podsift_testkit::skip(
            module_path!(),
            &format!("corpora not found at {}", dir.display()),
        );
        None
    }
}

/// Whitespace-normalised text, with spaces before closing punctuation removed (so `word ,`
/// and `word,` compare equal whatever the joining rule of either side).
pub fn norm_text(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(collapsed.len());
    for (i, c) in collapsed.char_indices() {
        if c == ' ' {
            let next = collapsed[i + 1..].chars().next();
            if next.is_some_and(|n| matches!(n, ',' | '.' | '?' | '!' | ';' | ':')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Times equal within `tol` seconds.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

/// Merges consecutive segments of the same speaker into one "turn" (text joined with a
/// space, start of the first, end of the last).
pub fn turns(segs: &[Segment]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for s in segs {
        if let Some(last) = out.last_mut()
            && last.speaker == s.speaker
        {
            last.text.push(' ');
            last.text.push_str(&s.text);
            last.end = s.end;
            continue;
        }
        out.push(s.clone());
    }
    for t in &mut out {
        t.text = norm_text(&t.text);
    }
    out
}

/// Element-wise comparison; returns (matching, total = max of both lengths, first
/// differences for the log).
pub fn compare(
    ours: &[Segment],
    expected: &[Segment],
    tol: f64,
    check_speaker: bool,
) -> (usize, usize, Vec<String>) {
    let total = ours.len().max(expected.len());
    let mut ok = 0;
    let mut diffs = Vec::new();
    for (i, (a, e)) in ours.iter().zip(expected).enumerate() {
        // An expected end of 0 after a positive start means "unknown" (transcriptator).
        let end_ok = close(a.end, e.end, tol) || (e.end == 0.0 && e.start > 0.0);
        let same = close(a.start, e.start, tol)
            && end_ok
            && (!check_speaker || a.speaker == e.speaker)
            && norm_text(&a.text) == norm_text(&e.text);
        if same {
            ok += 1;
        } else if diffs.len() < 5 {
            diffs.push(format!("#{i}: ours {a:?}\n      want {e:?}"));
        }
    }
    if ours.len() != expected.len() {
        diffs.push(format!(
            "count: ours {} want {}",
            ours.len(),
            expected.len()
        ));
    }
    (ok, total, diffs)
}
