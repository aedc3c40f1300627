//! The podcast namespace's own examples: every example transcript (files and fenced
//! blocks in `transcripts.md`) and chapters file parses; the SRT and HTML versions of the
//! same episode agree.

mod common;

use std::path::Path;

use podsift_transcripts::{TranscriptFormat, parse_chapters, parse_transcript};

/// Fenced code blocks of a Markdown file: (language, content).
fn fenced(md: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, String)> = None;
    for line in md.lines() {
        if let Some(lang) = line.trim_start().strip_prefix("```") {
            match cur.take() {
                Some(block) => out.push(block),
                None => cur = Some((lang.trim().to_owned(), String::new())),
            }
        } else if let Some((_, body)) = cur.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn example_transcripts_parse() {
    let Some(dir) =
        common::corpora("02_transcripts/podcast-namespace-spec/docs/examples/transcripts")
    else {
        return;
    };
    for (file, format, min) in [
        ("example.srt", TranscriptFormat::Srt, 200),
        ("example.vtt", TranscriptFormat::Vtt, 7),
        ("example.json", TranscriptFormat::Json, 5),
        ("example.html", TranscriptFormat::Html, 10),
    ] {
        let bytes = read(&dir.join(file));
        assert_eq!(
            podsift_transcripts::detect_format(None, file, &bytes),
            Some(format),
            "{file}"
        );
        assert_eq!(
            podsift_transcripts::detect_format(None, "noext", &bytes),
            Some(format),
            "{file} sniffed"
        );
        let p = parse_transcript(&bytes, format).unwrap();
        println!(
            "{file}: {} segments, {} skipped",
            p.segments.len(),
            p.skipped
        );
        assert!(p.segments.len() >= min, "{file}: {}", p.segments.len());
        assert_eq!(p.skipped, 0, "{file}");
        assert!(
            p.segments.iter().all(|s| s.speaker.is_some()),
            "{file}: every example names speakers"
        );
    }
    let json = parse_transcript(&read(&dir.join("example.json")), TranscriptFormat::Json).unwrap();
    let words: Vec<_> = json.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(words, ["I", "am", "your", "father.", "Nooooo"]);
    let merged = podsift_transcripts::normalise(json.segments);
    assert_eq!(merged[0].text, "I am your father.");
    assert_eq!(merged[1].speaker.as_deref(), Some("Luke"));

    // Fenced examples inside transcripts.md (the HTML player snippet is not a transcript).
    let md = String::from_utf8(read(&dir.join("transcripts.md"))).unwrap();
    let mut checked = 0;
    for (lang, body) in fenced(&md) {
        let format = match lang.as_str() {
            "vtt" => TranscriptFormat::Vtt,
            "srt" => TranscriptFormat::Srt,
            "json" => TranscriptFormat::Json,
            "html" if !body.contains("<audio") => TranscriptFormat::Html,
            _ => continue,
        };
        let p = parse_transcript(body.as_bytes(), format).unwrap();
        assert!(!p.segments.is_empty(), "{lang} block: {body}");
        checked += 1;
    }
    assert_eq!(checked, 4, "vtt, html, json and srt blocks");
}

/// `example.srt` and `example.html` are the same episode: the same speaker turns with the
/// same words, and each HTML turn's start (whole seconds) within 1.5 s of the SRT's.
#[test]
fn srt_and_html_versions_agree() {
    let Some(dir) =
        common::corpora("02_transcripts/podcast-namespace-spec/docs/examples/transcripts")
    else {
        return;
    };
    let srt = parse_transcript(&read(&dir.join("example.srt")), TranscriptFormat::Srt).unwrap();
    let html = parse_transcript(&read(&dir.join("example.html")), TranscriptFormat::Html).unwrap();
    let a = common::turns(&srt.segments);
    let b = common::turns(&html.segments);
    let speakers = |t: &[podsift_transcripts::Segment]| {
        t.iter().map(|s| s.speaker.clone()).collect::<Vec<_>>()
    };
    assert_eq!(speakers(&a), speakers(&b));
    let mut same_text = 0;
    for (x, y) in a.iter().zip(&b) {
        assert!(
            common::close(x.start, y.start, 1.5),
            "{} vs {}",
            x.start,
            y.start
        );
        // Words compared case-insensitively without punctuation: the HTML was edited
        // lightly (spacing around punctuation).
        let words = |s: &str| {
            s.split_whitespace()
                .map(|w| {
                    w.trim_matches(|c: char| !c.is_alphanumeric())
                        .to_lowercase()
                })
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        };
        if words(&x.text) == words(&y.text) {
            same_text += 1;
        } else {
            println!("turn text differs:\n  srt  {}\n  html {}", x.text, y.text);
        }
    }
    println!(
        "example.srt vs example.html: {} turns, {same_text} with identical words",
        a.len()
    );
    assert!(same_text * 10 >= a.len() * 9);
}

#[test]
fn chapters_examples_parse() {
    let Some(dir) = common::corpora("02_transcripts/podcast-namespace-spec/docs/examples/chapters")
    else {
        return;
    };
    let simple = parse_chapters(&read(&dir.join("example.json"))).unwrap();
    assert_eq!(simple.len(), 9);
    assert_eq!(simple[0].title.as_deref(), Some("Intro"));
    assert_eq!(simple[0].end_seconds, Some(168.0));
    assert_eq!(
        simple[1].img.as_deref(),
        Some("https://example.com/images/hearing_aids.jpg")
    );
    assert!(simple.last().unwrap().end_seconds.is_none());
    assert!(
        simple
            .windows(2)
            .all(|w| w[0].start_seconds <= w[1].start_seconds)
    );

    let complex = parse_chapters(&read(&dir.join("exampleComplex.json"))).unwrap();
    assert_eq!(complex.len(), 11);
    assert_eq!(complex.iter().filter(|c| !c.toc).count(), 1);

    let md = String::from_utf8(read(&dir.join("jsonChapters.md"))).unwrap();
    let mut parsed = 0;
    for (lang, body) in fenced(&md) {
        if lang == "json" && body.contains("\"chapters\"") {
            let c = parse_chapters(body.as_bytes()).unwrap();
            assert!(!c.is_empty());
            parsed += 1;
        }
    }
    println!("jsonChapters.md: {parsed} chapter documents parsed");
    assert!(parsed >= 2);
}
