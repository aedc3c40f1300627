//! Conformance against mozilla/vtt.js's WebVTT test files: each `X.vtt` with an `X.json`
//! expectation (the `-proc.json` files describe rendering and are not used).
//!
//! Compared per file: the number of cues, each cue's start and end (±0.5 ms) and text.
//! vtt.js keeps cue markup in its `text` (`<i Mary>No way!`), while podsift returns plain
//! text, so the expected text is reduced the way the WebVTT spec renders it: every `<…>`
//! tag removed (in cue text `<` always opens a tag) and the character references
//! `&amp; &lt; &gt; &nbsp; &lrm; &rlm;` decoded; both sides are then whitespace-normalised.
//! Files without `X.json` are checked against `X-proc.json` (what vtt.js rendered) where
//! that holds exactly one cue.
//! Segments podsift split from one multi-voice cue (same timing) are joined back first.
//! A speaker podsift took from a `<v>` span or `Name:` prefix is put back in front of the
//! text for the comparison only when the expected text starts with it.

mod common;

use std::path::{Path, PathBuf};

use podsift_transcripts::{TranscriptFormat, parse_transcript};
use serde_json::Value;

fn reduce_expected(text: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{A0}")
        .replace("&lrm;", "\u{200E}")
        .replace("&rlm;", "\u{200F}")
        .replace("&amp;", "&")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "vtt") {
            out.push(p);
        }
    }
}

#[test]
fn mozilla_vtt_conformance() {
    let Some(dir) = common::corpora("02_transcripts/peer-suites/mozilla-vtt.js/tests") else {
        return;
    };
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    let (mut compared, mut passed, mut unexpected_only) = (0, 0, 0);
    let (mut proc_checked, mut proc_passed, mut lenient_extra) = (0, 0, 0);
    let mut failures = Vec::new();
    for vtt in &files {
        let bytes = std::fs::read(vtt).unwrap();
        // Every file must parse without panicking, expectation or not.
        let mut parsed = parse_transcript(&bytes, TranscriptFormat::Vtt).unwrap();
        // podsift splits a cue with several voices into one segment per voice (same
        // timing); join them back into the one cue vtt.js reports.
        let mut cues_back: Vec<podsift_transcripts::Segment> = Vec::new();
        for s in parsed.segments {
            match cues_back.last_mut() {
                Some(l) if l.start == s.start && l.end == s.end => {
                    l.text.push('\n');
                    l.text.push_str(&s.text);
                }
                _ => cues_back.push(s),
            }
        }
        parsed.segments = cues_back;
        let json = vtt.with_extension("json");
        if !json.exists() {
            unexpected_only += 1;
            // No cue list, but `X-proc.json` holds what vtt.js rendered: with one
            // rendered cue, its text must be one of ours (whitespace ignored, as the
            // rendering turns line breaks into elements).
            let proc_path = vtt.with_file_name(format!(
                "{}-proc.json",
                vtt.file_stem().unwrap().to_string_lossy()
            ));
            if let Ok(raw) = std::fs::read(&proc_path) {
                let rendered: Value = serde_json::from_slice(&raw).unwrap();
                let squeeze =
                    |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
                match rendered.as_array().map(Vec::len) {
                    Some(1) => {
                        proc_checked += 1;
                        let want = squeeze(rendered[0]["textContent"].as_str().unwrap_or(""));
                        if parsed.segments.iter().any(|s| squeeze(&s.text) == want) {
                            proc_passed += 1;
                        } else {
                            let rel = vtt.strip_prefix(&dir).unwrap().display().to_string();
                            failures.push(format!(
                                "{rel} (rendered): want {want:?} in {:?}",
                                parsed.segments
                            ));
                        }
                    }
                    Some(0) if !parsed.segments.is_empty() => lenient_extra += 1,
                    _ => {}
                }
            }
            continue;
        }
        compared += 1;
        let want: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let cues = want["cues"].as_array().cloned().unwrap_or_default();
        let rel = vtt.strip_prefix(&dir).unwrap().display().to_string();
        let mut problems = Vec::new();
        // Cues whose text reduces to nothing are dropped by podsift (nothing to store).
        let cues: Vec<&Value> = cues
            .iter()
            .filter(|c| {
                !common::norm_text(&reduce_expected(c["text"].as_str().unwrap_or(""))).is_empty()
            })
            .collect();
        if cues.len() != parsed.segments.len() {
            problems.push(format!(
                "cue count: ours {} want {}",
                parsed.segments.len(),
                cues.len()
            ));
        }
        for (i, (c, s)) in cues.iter().zip(&parsed.segments).enumerate() {
            let start = c["startTime"].as_f64().unwrap_or(f64::NAN);
            let end = c["endTime"].as_f64().unwrap_or(f64::NAN);
            let want_text = common::norm_text(&reduce_expected(c["text"].as_str().unwrap_or("")));
            let mut ours = common::norm_text(&s.text);
            if let Some(sp) = &s.speaker
                && want_text.starts_with(sp.as_str())
                && !ours.starts_with(sp.as_str())
            {
                ours = common::norm_text(&format!("{sp}: {ours}"));
            }
            if !common::close(s.start, start, 0.0005) || !common::close(s.end, end, 0.0005) {
                problems.push(format!(
                    "cue {i} times: ours {}–{} want {start}–{end}",
                    s.start, s.end
                ));
            }
            if ours != want_text {
                problems.push(format!("cue {i} text: ours {ours:?} want {want_text:?}"));
            }
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!("{rel}: {}", problems.join("; ")));
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    let rate = passed as f64 / compared as f64;
    println!(
        "mozilla vtt.js: {passed}/{compared} files pass ({:.1}%); {unexpected_only} more .vtt files without X.json parsed without error",
        rate * 100.0
    );
    println!(
        "mozilla vtt.js rendered-only files: {proc_passed}/{proc_checked} rendered cue texts found; {lenient_extra} files vtt.js rejects (bad signature etc.) still give cues here (podsift is lenient on purpose)"
    );
    assert!(compared >= 140, "only {compared} comparable files found");
    assert!(
        proc_passed * 100 >= proc_checked * 90,
        "rendered {proc_passed}/{proc_checked}"
    );
    // Measured: 143/143 (100 %).
    assert!(rate >= 0.97, "pass rate {rate}");
}
