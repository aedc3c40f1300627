//! pysrt's SRT samples: every file (UTF-8/16/32 with BOMs, Windows-1252, no indexes,
//! empty cues, invalid) parses without error into sensible segments.

mod common;

use podsift_transcripts::{Segment, TranscriptFormat, parse_transcript};

fn parse(dir: &std::path::Path, name: &str) -> podsift_transcripts::ParsedTranscript {
    parse_transcript(
        &std::fs::read(dir.join(name)).unwrap(),
        TranscriptFormat::Srt,
    )
    .unwrap()
}

fn sensible(name: &str, segs: &[Segment]) {
    for s in segs {
        assert!(
            s.start.is_finite() && s.end.is_finite() && s.start >= 0.0,
            "{name}: {s:?}"
        );
        assert!(!s.text.trim().is_empty(), "{name}: empty text {s:?}");
        assert!(
            !s.text.contains('\u{FFFD}') && !s.text.contains('\0'),
            "{name}: bad decode {s:?}"
        );
        assert!(!s.text.contains("-->"), "{name}: timing line in text {s:?}");
        assert!(!s.text.contains('\u{FEFF}'), "{name}: BOM in text");
    }
}

#[test]
fn pysrt_static_files() {
    let Some(dir) = common::corpora("02_transcripts/peer-suites/pysrt/tests/static") else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".srt"))
        .collect();
    names.sort();
    assert!(names.len() >= 11);
    for name in &names {
        let p = parse(&dir, name);
        println!(
            "{name}: {} segments, {} skipped",
            p.segments.len(),
            p.skipped
        );
        sensible(name, &p.segments);
    }

    // The same 7 cues in five encodings.
    let reference = parse(&dir, "bom-utf-8.srt").segments;
    assert_eq!(reference.len(), 7);
    assert_eq!(reference[0].start, 6.5);
    assert_eq!(reference[0].end, 9.0);
    assert_eq!(
        reference[0].text,
        "About 2 months ago I found myself on\nthe comment section of YouTube"
    );
    for name in [
        "bom-utf-16-le.srt",
        "bom-utf-16-be.srt",
        "bom-utf-32-le.srt",
        "bom-utf-32-be.srt",
    ] {
        assert_eq!(parse(&dir, name).segments, reference, "{name}");
    }
    // Same cues without index lines.
    let no_idx = parse(&dir, "no-indexes.srt").segments;
    assert_eq!(no_idx.len(), 7);
    assert_eq!(no_idx[0].text, reference[0].text);

    // Windows-1252 decodes to exactly the UTF-8 version.
    let utf8 = parse(&dir, "utf-8.srt").segments;
    assert_eq!(utf8.len(), 1332);
    assert_eq!(parse(&dir, "windows-1252.srt").segments, utf8);

    // Two of the seven cues have no text: nothing to keep, nothing malformed.
    let empty = parse(&dir, "empty.srt");
    assert_eq!(empty.segments.len(), 5);
    assert_eq!(empty.skipped, 0);

    // pysrt rejects `00:00:01 --> 00:00:10` (no milliseconds); podsift reads it.
    let invalid = parse(&dir, "invalid.srt").segments;
    assert_eq!(invalid.len(), 1);
    assert_eq!((invalid[0].start, invalid[0].end), (1.0, 10.0));

    // Markup is stripped, literal `<` comparisons survive.
    let cap = parse(&dir, "capability_tester.srt").segments;
    assert!(
        cap.iter()
            .all(|s| !s.text.contains("<font") && !s.text.contains("</"))
    );
    assert!(cap.iter().any(|s| s.text.contains("2<3,5>1,4<6")));
}
