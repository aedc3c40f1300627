//! Long real transcripts (03_longform): Python Bytes WebVTT and Changelog Markdown. No
//! expectations exist beyond the files themselves, so these check sensible output at
//! scale: every file parses, nothing is skipped, speakers and `[hh:mm:ss]` stamps are read.

mod common;

use std::path::Path;

use podsift_transcripts::{TranscriptFormat, normalise, parse_transcript};

fn files(dir: &Path, ext: &str, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

#[test]
fn python_bytes_vtt() {
    let Some(dir) = common::corpora("03_longform/python-bytes/transcripts") else {
        return;
    };
    let mut list = Vec::new();
    files(&dir, "vtt", &mut list);
    list.sort();
    let (mut segs, mut skipped, mut with_speakers, mut stored) = (0, 0, 0, 0);
    for f in &list {
        let p = parse_transcript(&std::fs::read(f).unwrap(), TranscriptFormat::Vtt).unwrap();
        assert!(!p.segments.is_empty(), "{}", f.display());
        segs += p.segments.len();
        skipped += p.skipped;
        if p.segments.iter().any(|s| s.speaker.is_some()) {
            with_speakers += 1;
        }
        let n = normalise(p.segments);
        assert!(n.windows(2).all(|w| w[0].start <= w[1].start));
        stored += n.len();
    }
    println!(
        "python-bytes: {} files, {segs} cues ({stored} after normalise), {skipped} skipped, {with_speakers} files with speakers",
        list.len()
    );
    assert!(list.len() >= 390);
    assert_eq!(skipped, 0);
}

#[test]
fn changelog_markdown() {
    let Some(dir) = common::corpora("03_longform/changelog/transcripts") else {
        return;
    };
    let mut list = Vec::new();
    files(&dir, "md", &mut list);
    list.retain(|p| p.file_name().is_some_and(|n| n != "README.md"));
    list.sort();
    let (mut paras, mut with_speaker, mut stamped_files) = (0usize, 0usize, 0usize);
    for f in &list {
        let bytes = std::fs::read(f).unwrap();
        assert_eq!(
            podsift_transcripts::detect_format(None, &f.display().to_string(), &bytes),
            Some(TranscriptFormat::Text)
        );
        let p = parse_transcript(&bytes, TranscriptFormat::Text).unwrap();
        paras += p.segments.len();
        with_speaker += p.segments.iter().filter(|s| s.speaker.is_some()).count();
        if p.segments.iter().any(|s| s.start > 0.0) {
            stamped_files += 1;
        }
        for s in &p.segments {
            assert!(!s.text.starts_with("**"), "{}: {s:?}", f.display());
            assert!(!s.text.contains("\\["), "{}: {s:?}", f.display());
        }
    }
    let share = with_speaker as f64 / paras as f64;
    println!(
        "changelog: {} files, {paras} paragraphs, {:.1}% with a speaker, {stamped_files} files with timestamps",
        list.len(),
        share * 100.0
    );
    assert!(list.len() >= 10);
    assert!(share >= 0.95, "speaker share {share}");
    assert!(stamped_files * 10 >= list.len() * 8);
}
