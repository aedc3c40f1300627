//! Conformance against transcriptator's real transcript files and their `*_parsed.json`
//! expectations (default options only; the option-specific expectations such as
//! `*_combine_*` or `*_parsed_32.json` describe transcriptator's optional merging modes).

mod common;

use std::path::Path;

use podsift_transcripts::{Segment, TranscriptFormat, parse_transcript};
use serde_json::Value;

const TOL: f64 = 0.0015;

/// Files whose expectation was produced by transcriptator's own merging of word-level JSON
/// (its JSON parser joins fragments by its rules; podsift's parser keeps the publisher's
/// segments and merges later, in `normalise`, by different rules). Segment boundaries
/// differ by design, so these are compared as speaker turns: same speakers in the same
/// order, same text, same start and end of every turn.
const TURN_LEVEL: &[&str] = &[
    "podnews_weekly_review_2023-05-05_json_parsed.json",
    "podnews_weekly_review_2023-06-02_json_parsed.json",
];

/// Differences on purpose, applied to the expectation before comparing:
/// * transcriptator keeps cue markup (`<i>…</i>`) in VTT/subtitle-JSON bodies; podsift
///   strips it;
/// * transcriptator leaves HTML character references (`Q&amp;A`) undecoded; podsift
///   decodes them.
fn adjust_expected(text: &str) -> String {
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
    out.replace("&amp;", "&").replace("&#39;", "'")
}

fn expected(path: &Path) -> Vec<Segment> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    // Most files wrap the list in `{"segments": [...]}`; some are a bare list.
    let list = if v.is_array() { &v } else { &v["segments"] };
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| Segment {
            start: s["startTime"].as_f64().unwrap(),
            end: s["endTime"].as_f64().unwrap(),
            speaker: s["speaker"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(Into::into),
            text: adjust_expected(s["body"].as_str().unwrap()),
        })
        .collect()
}

fn format_of(ext: &str) -> Option<TranscriptFormat> {
    Some(match ext {
        "srt" => TranscriptFormat::Srt,
        "vtt" => TranscriptFormat::Vtt,
        "json" => TranscriptFormat::Json,
        "html" => TranscriptFormat::Html,
        _ => return None,
    })
}

#[test]
fn transcriptator_parsed_files() {
    let Some(dir) = common::corpora("02_transcripts/peer-suites/transcriptator/test/test_files")
    else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut seg_ok, mut seg_total, mut turn_ok, mut turn_total, mut files) = (0, 0, 0, 0, 0);
    for name in &names {
        // `X_<fmt>_parsed.json` whose input `X.<fmt>` exists: default-option expectations.
        let Some(stem) = name.strip_suffix("_parsed.json") else {
            continue;
        };
        let Some((base, ext)) = stem.rsplit_once('_') else {
            continue;
        };
        let input = dir.join(format!("{base}.{ext}"));
        let Some(format) = format_of(ext) else {
            continue;
        };
        if !input.exists() {
            continue;
        }
        files += 1;
        let want = expected(&dir.join(name));
        let parsed = parse_transcript(&std::fs::read(&input).unwrap(), format).unwrap();
        let (ok, total, diffs) = common::compare(&parsed.segments, &want, TOL, true);
        let (tok, ttotal, tdiffs) = common::compare(
            &common::turns(&parsed.segments),
            &common::turns(&want),
            TOL,
            true,
        );
        println!(
            "{name}: segments {ok}/{total}, speaker turns {tok}/{ttotal}, skipped {}",
            parsed.skipped
        );
        let shown = if TURN_LEVEL.contains(&name.as_str()) {
            &tdiffs
        } else {
            &diffs
        };
        for d in shown.iter().take(4) {
            println!("   {d}");
        }
        if TURN_LEVEL.contains(&name.as_str()) {
            turn_ok += tok;
            turn_total += ttotal;
        } else {
            seg_ok += ok;
            seg_total += total;
        }
    }
    assert!(
        files >= 7,
        "expected at least 7 default-option expectation files, found {files}"
    );
    let seg_rate = seg_ok as f64 / seg_total as f64;
    let turn_rate = turn_ok as f64 / turn_total as f64;
    println!(
        "transcriptator: {files} files; segment-exact files: {seg_ok}/{seg_total} segments ({:.1}%); turn-level files: {turn_ok}/{turn_total} turns ({:.1}%)",
        seg_rate * 100.0,
        turn_rate * 100.0
    );
    // Measured: 100 % / 100 %.
    assert!(seg_rate >= 0.99, "segment pass rate {seg_rate}");
    assert!(turn_rate >= 0.99, "turn pass rate {turn_rate}");
}

/// One-word-per-segment JSON: `normalise` must merge it into phrase-sized segments
/// without losing or reordering a word (checked against transcriptator's own merged
/// version's word stream) and without exceeding 20 s per segment.
#[test]
fn one_word_segments_are_merged_into_phrases() {
    let Some(dir) = common::corpora("02_transcripts/peer-suites/transcriptator/test/test_files")
    else {
        return;
    };
    let raw = std::fs::read(dir.join("one_word_segments.json")).unwrap();
    let parsed = parse_transcript(&raw, TranscriptFormat::Json).unwrap();
    let merged = podsift_transcripts::normalise(parsed.segments.clone());
    let words = |segs: &[Segment]| {
        common::norm_text(
            &segs
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    let theirs = expected(&dir.join("one_word_segments_parsed_50.json"));
    assert_eq!(words(&merged), words(&theirs));
    assert_eq!(words(&merged), words(&parsed.segments));
    let avg_words = merged
        .iter()
        .map(|s| s.text.split_whitespace().count())
        .sum::<usize>() as f64
        / merged.len() as f64;
    println!(
        "one_word_segments: {} fragments -> {} segments (avg {avg_words:.1} words); transcriptator(50 chars): {}",
        parsed.segments.len(),
        merged.len(),
        theirs.len()
    );
    assert!(merged.len() * 4 < parsed.segments.len());
    assert!(avg_words >= 4.0);
    for s in &merged {
        assert!(s.end - s.start <= 20.0 + 1e-9, "{s:?}");
        assert!(s.end >= s.start);
    }
}

/// Buzzcast's SRT, JSON and HTML transcripts of one episode: the same speaker turns, the
/// same words, and turn starts within 1.5 s (the HTML has whole seconds, the JSON 10 ms).
#[test]
fn buzzcast_formats_agree() {
    let Some(dir) = common::corpora("02_transcripts/peer-suites/transcriptator/test/test_files")
    else {
        return;
    };
    let turns = |file: &str, format| {
        let p = parse_transcript(&std::fs::read(dir.join(file)).unwrap(), format).unwrap();
        common::turns(&p.segments)
    };
    let srt = turns("buzzcast.srt", TranscriptFormat::Srt);
    let words = |s: &str| {
        s.split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
    };
    for (file, format) in [
        ("buzzcast.json", TranscriptFormat::Json),
        ("buzzcast.html", TranscriptFormat::Html),
    ] {
        let other = turns(file, format);
        assert_eq!(other.len(), srt.len(), "{file}");
        let mut same = 0;
        for (a, b) in srt.iter().zip(&other) {
            assert_eq!(a.speaker, b.speaker, "{file}");
            assert!(
                common::close(a.start, b.start, 1.5),
                "{file}: {} vs {}",
                a.start,
                b.start
            );
            if words(&a.text) == words(&b.text) {
                same += 1;
            }
        }
        println!(
            "buzzcast.srt vs {file}: {} turns, {same} with identical words",
            srt.len()
        );
        assert!(same * 10 >= srt.len() * 9, "{file}: {same}/{}", srt.len());
    }
}
