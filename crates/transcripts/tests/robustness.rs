//! Hostile and random input: no parser panics, everything stays bounded and fast.

use std::time::{Duration, Instant};

use podsift_transcripts::export::{to_json, to_srt, to_text, to_vtt};
use podsift_transcripts::{
    TranscriptFormat, decode_text, detect_format, normalise, parse_chapters, parse_transcript,
};

const TOKENS: &[&str] = &[
    "<",
    ">",
    "</",
    "{\\",
    "}",
    "&",
    ";",
    "&amp;",
    "&#",
    "&#x1F600;",
    "-->",
    " --> ",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    "00:00:01,000",
    "00:01.000",
    "1:02:03",
    "é",
    "日本",
    "😀",
    ":",
    "[",
    "]",
    "\\[",
    "**",
    "WEBVTT",
    "NOTE",
    "STYLE",
    "7",
    " ",
    "\t",
    "<v ",
    "<v.loud A>",
    "<c.x>",
    "Name:",
    "<cite>",
    "</cite>",
    "<time>",
    "</time>",
    "<p>",
    "</p>",
    "<br>",
    "<!--",
    "{",
    "\"",
    ",",
    "\"segments\":[",
    "{\"startTime\":",
    "\"body\":\"",
    "]",
    "\u{FEFF}",
    "\0",
    "\u{FFFD}",
];

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn exercise(bytes: &[u8]) {
    let _ = detect_format(None, "x", bytes);
    let _ = decode_text(bytes);
    let _ = parse_chapters(bytes);
    for f in [
        TranscriptFormat::Json,
        TranscriptFormat::Vtt,
        TranscriptFormat::Srt,
        TranscriptFormat::Html,
        TranscriptFormat::Text,
    ] {
        let t = Instant::now();
        let parsed = parse_transcript(bytes, f);
        if t.elapsed() > Duration::from_millis(500) {
            println!(
                "slow: {f:?} {:?} on {:?}",
                t.elapsed(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(20)])
            );
        }
        if let Ok(p) = parsed {
            for s in &p.segments {
                assert!(s.start.is_finite() && s.end.is_finite() && s.start >= 0.0);
            }
            let n = normalise(p.segments);
            assert!(n.iter().all(|s| s.end >= s.start && !s.text.is_empty()));
            let _ = (to_srt(&n), to_vtt(&n), to_json(&n), to_text(&n));
        }
    }
}

#[test]
fn random_token_soup_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = (rng.next() % 60) as usize;
        let mut s = String::new();
        for _ in 0..len {
            s.push_str(TOKENS[(rng.next() % TOKENS.len() as u64) as usize]);
        }
        exercise(s.as_bytes());
    }
    for _ in 0..500 {
        let len = (rng.next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&bytes);
    }
}

#[test]
fn pathological_inputs_are_fast() {
    let cases: Vec<Vec<u8>> = vec![
        "<".repeat(300_000).into_bytes(),
        "&".repeat(300_000).into_bytes(),
        "{\\".repeat(150_000).into_bytes(),
        format!(
            "WEBVTT\n\n00:00.000 --> 00:01.000\n{}",
            "<v ".repeat(100_000)
        )
        .into_bytes(),
        "00:00:01,000 --> 00:00:02,000\n"
            .repeat(50_000)
            .into_bytes(),
        format!(
            "1\n00:00:01,000 --> 00:00:02,000\n{}\n",
            "word ".repeat(200_000)
        )
        .into_bytes(),
        "<p>".repeat(100_000).into_bytes(),
        "<script>".repeat(100_000).into_bytes(),
        "[".repeat(300_000).into_bytes(),
        "A: ".repeat(100_000).into_bytes(),
    ];
    for c in cases {
        let t = Instant::now();
        exercise(&c);
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn segment_count_is_bounded() {
    let mut s = String::from("WEBVTT\n\n");
    for i in 0..200_010u32 {
        s.push_str(&format!("00:00.000 --> 00:01.000\n{i}\n\n"));
    }
    let p = parse_transcript(s.as_bytes(), TranscriptFormat::Vtt).unwrap();
    assert_eq!(p.segments.len(), podsift_transcripts::MAX_SEGMENTS);
}
