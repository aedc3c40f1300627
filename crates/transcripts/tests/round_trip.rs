//! Export round trips: parse → export → parse gives the same segments (SRT, VTT, JSON;
//! text keeps speakers, words and whole-second starts). Inline fixtures always run; the
//! corpus files add real transcripts when the corpora are present.

mod common;

use podsift_transcripts::export::{to_json, to_srt, to_text, to_vtt};
use podsift_transcripts::{
    Segment, TranscriptFormat, parse_json, parse_srt, parse_text, parse_transcript, parse_vtt,
};

fn seg(start: f64, end: f64, speaker: Option<&str>, text: &str) -> Segment {
    Segment {
        start,
        end,
        speaker: speaker.map(Into::into),
        text: text.into(),
    }
}

fn fixture() -> Vec<Segment> {
    vec![
        seg(0.0, 2.5, Some("Ann Lee"), "Hello & <welcome>,\nfriends"),
        seg(2.5, 4.75, Some("Ann Lee"), "2 < 3 and Q&A"),
        seg(5.001, 9.999, Some("Bob"), "Café “quotes” — ünïcode 日本語"),
        seg(3723.004, 3725.5, Some("Bob"), "an hour in --> later"),
    ]
}

/// Same segments: times within 0.5 ms, same speaker and text.
fn assert_same(label: &str, a: &[Segment], b: &[Segment]) {
    assert_eq!(a.len(), b.len(), "{label}: count");
    for (x, y) in a.iter().zip(b) {
        assert!(
            common::close(x.start, y.start, 0.0005) && common::close(x.end, y.end, 0.0005),
            "{label}: times {x:?} vs {y:?}"
        );
        assert_eq!(x.speaker, y.speaker, "{label}");
        assert_eq!(x.text, y.text, "{label}");
    }
}

/// `-->` cannot survive in cue text; SRT/VTT export writes `->` instead.
fn cue_safe(segs: &[Segment]) -> Vec<Segment> {
    segs.iter()
        .cloned()
        .map(|mut s| {
            s.text = s.text.replace("-->", "->");
            s
        })
        .collect()
}

#[test]
fn inline_round_trips() {
    let segs = fixture();
    assert_same("srt", &cue_safe(&segs), &parse_srt(&to_srt(&segs)).segments);
    assert_same("vtt", &cue_safe(&segs), &parse_vtt(&to_vtt(&segs)).segments);
    assert_same(
        "json",
        &segs,
        &parse_json(&to_json(&segs)).unwrap().segments,
    );

    let back = parse_text(&to_text(&segs)).segments;
    assert_eq!(back.len(), segs.len());
    for (x, y) in segs.iter().zip(&back) {
        assert_eq!(x.start.floor(), y.start);
        assert_eq!(x.speaker, y.speaker);
        assert_eq!(common::norm_text(&x.text), y.text);
    }
}

#[test]
fn unnamed_speakers_round_trip() {
    let segs = vec![
        seg(1.0, 2.0, None, "no speaker here"),
        seg(2.0, 3.0, None, "nor here"),
    ];
    assert_same("srt", &segs, &parse_srt(&to_srt(&segs)).segments);
    assert_same("vtt", &segs, &parse_vtt(&to_vtt(&segs)).segments);
    assert_same(
        "json",
        &segs,
        &parse_json(&to_json(&segs)).unwrap().segments,
    );
}

fn round_trip_file(label: &str, bytes: &[u8], format: TranscriptFormat) {
    let first = parse_transcript(bytes, format).unwrap().segments;
    assert!(!first.is_empty(), "{label}");
    let safe = cue_safe(&first);
    assert_same(
        &format!("{label} srt"),
        &safe,
        &parse_srt(&to_srt(&first)).segments,
    );
    assert_same(
        &format!("{label} vtt"),
        &safe,
        &parse_vtt(&to_vtt(&first)).segments,
    );
    assert_same(
        &format!("{label} json"),
        &first,
        &parse_json(&to_json(&first)).unwrap().segments,
    );
    // And after normalisation, as stored.
    let stored = podsift_transcripts::normalise(first);
    assert_same(
        &format!("{label} stored srt"),
        &cue_safe(&stored),
        &parse_srt(&to_srt(&stored)).segments,
    );
    assert_same(
        &format!("{label} stored vtt"),
        &cue_safe(&stored),
        &parse_vtt(&to_vtt(&stored)).segments,
    );
    println!("{label}: {} segments round-trip", stored.len());
}

#[test]
fn corpus_round_trips() {
    let Some(t) = common::corpora("02_transcripts") else {
        return;
    };
    let tt = t.join("peer-suites/transcriptator/test/test_files");
    let ex = t.join("podcast-namespace-spec/docs/examples/transcripts");
    let files = [
        (tt.join("buzzcast.srt"), TranscriptFormat::Srt),
        (tt.join("buzzcast.json"), TranscriptFormat::Json),
        (tt.join("LaLaLand.vtt"), TranscriptFormat::Vtt),
        (tt.join("one_word_segments.json"), TranscriptFormat::Json),
        (ex.join("example.srt"), TranscriptFormat::Srt),
        (ex.join("example.vtt"), TranscriptFormat::Vtt),
        (ex.join("example.json"), TranscriptFormat::Json),
        (
            t.join("peer-suites/pysrt/tests/static/utf-8.srt"),
            TranscriptFormat::Srt,
        ),
    ];
    for (path, format) in files {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        round_trip_file(&label, &std::fs::read(&path).unwrap(), format);
    }
}
