//! whisper.cpp with real weights: the project's ggml conversion of tiny.en (test assets) on
//! human-read LibriVox clips and on synthetic speech with known timings.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{asset, speak, tool};
use podsift_asr::audio::{AudioOptions, SAMPLE_RATE, decode_all};
use podsift_asr::whisper::{WhisperEngine, WhisperOptions};
use podsift_asr::{DecodeOptions, wer};

fn engine(vad: bool) -> Option<WhisperEngine> {
    engine_with(vad, 1, 0, true)
}

/// `dtw`: sentence starts by DTW, or (false) by the segment's text and the audio's pauses.
fn engine_with(vad: bool, threads: usize, lanes: usize, dtw: bool) -> Option<WhisperEngine> {
    let model = asset("ggml-tiny.en.bin")?;
    let vad_model = if vad {
        Some(asset("ggml-silero-v6.2.0.bin")?)
    } else {
        None
    };
    Some(
        WhisperEngine::load(
            &model,
            WhisperOptions {
                model_name: "tiny.en".into(),
                threads,
                lanes,
                vad_model,
                flash_attention: false,
                dtw_times: dtw,
            },
        )
        .expect("load tiny.en"),
    )
}

fn en() -> DecodeOptions {
    DecodeOptions {
        language: Some("en".into()),
        prompt: None,
    }
}

/// `transcription` lines: `<s> words </s> (file-id)`.
fn references(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("transcription")).expect("transcription");
    text.lines()
        .filter_map(|line| {
            let (words, id) = line.rsplit_once('(')?;
            let id = id.trim().trim_end_matches(')').to_string();
            let words = words.replace("<s>", "").replace("</s>", "");
            Some((id, words.trim().to_string()))
        })
        .collect()
}

#[test]
fn librivox_word_error_rate_of_tiny_en_is_at_most_10_percent() {
    let (Some(engine), Some(dir)) = (engine(false), asset("librivox")) else {
        return;
    };
    let refs = references(&dir);
    assert_eq!(refs.len(), 5, "five reference clips");
    let (mut errors, mut words) = (0usize, 0usize);
    for (id, reference) in &refs {
        let samples = decode_all(&dir.join(format!("{id}.wav")), &AudioOptions::default()).unwrap();
        let got = engine.transcribe_blocking(&samples, &en()).unwrap();
        let hypothesis: Vec<&str> = got.segments.iter().map(|s| s.text.as_str()).collect();
        let hypothesis = hypothesis.join(" ");
        let r = wer::normalise(reference);
        let e = wer::word_errors(&r, &wer::normalise(&hypothesis));
        eprintln!("{id}: {e}/{} errors: {hypothesis}", r.len());
        errors += e;
        words += r.len();
    }
    let rate = errors as f64 / words as f64;
    eprintln!(
        "LibriVox WER (tiny.en, greedy): {:.1} % ({errors}/{words})",
        rate * 100.0
    );
    assert!(rate <= 0.10, "WER {:.1} % > 10 %", rate * 100.0);
}

#[test]
fn vad_skips_silence_and_keeps_episode_time() {
    vad_keeps_episode_time(true);
}

#[test]
fn vad_keeps_episode_time_with_starts_from_pauses() {
    vad_keeps_episode_time(false);
}

fn vad_keeps_episode_time(dtw: bool) {
    let Some(espeak) = tool("espeak-ng") else {
        return;
    };
    let Some(engine) = engine_with(true, 1, 0, dtw) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sentences = [
        "Welcome to the show. Today we talk about the price of electricity.",
        "Solar panels now cost less than half of what they cost ten years ago.",
    ];
    // sentence one, 25 s of silence, sentence two, 5 s of silence.
    let mut audio = Vec::new();
    let mut starts = Vec::new();
    for (i, s) in sentences.iter().enumerate() {
        let wav = dir.path().join(format!("s{i}.wav"));
        speak(&espeak, s, &wav);
        starts.push(audio.len() as f64 / SAMPLE_RATE as f64);
        audio.extend(decode_all(&wav, &AudioOptions::default()).unwrap());
        audio.extend(std::iter::repeat_n(
            0.0f32,
            (if i == 0 { 25 } else { 5 }) * SAMPLE_RATE as usize,
        ));
    }
    let got = engine.transcribe_blocking(&audio, &en()).unwrap();
    assert!(!got.segments.is_empty());
    for seg in &got.segments {
        eprintln!("[{:6.2} – {:6.2}] {}", seg.start, seg.end, seg.text);
    }
    // The second sentence's words are found, and where they were spoken (VAD gap mapped back).
    let second = got
        .segments
        .iter()
        .find(|s| s.text.to_lowercase().contains("solar"))
        .expect("the second sentence is transcribed");
    assert!(
        (second.start - starts[1]).abs() <= 1.5,
        "second sentence at {:.2} s, spoken at {:.2} s",
        second.start,
        starts[1]
    );
    // Nothing is placed inside the long silence.
    for seg in &got.segments {
        let inside = seg.start > starts[1] - 20.0 && seg.end < starts[1] - 3.0;
        assert!(!inside, "segment inside the silence: {seg:?}");
    }
    let all: Vec<&str> = got.segments.iter().map(|s| s.text.as_str()).collect();
    let rate = wer::wer(&sentences.join(" "), &all.join(" "));
    assert!(rate < 0.25, "WER {rate:.2} on clear synthetic speech");
}

/// Two lanes (two parts on one thread each) give the same sentences at the times they were
/// said: the second part's times are shifted by where it starts, nothing is lost or doubled
/// at the cut, and times never go back.
#[test]
fn parallel_lanes_keep_every_sentence_at_its_time() {
    lanes_keep_every_sentence_at_its_time(true);
}

#[test]
fn parallel_lanes_keep_sentence_times_from_pauses() {
    lanes_keep_every_sentence_at_its_time(false);
}

fn lanes_keep_every_sentence_at_its_time(dtw: bool) {
    let Some(espeak) = tool("espeak-ng") else {
        return;
    };
    let Some(engine) = engine_with(false, 2, 2, dtw) else {
        return;
    };
    let animals = [
        "zebra", "giraffe", "elephant", "penguin", "kangaroo", "dolphin", "tiger", "rabbit",
        "camel", "parrot", "turtle", "monkey", "horse", "spider", "eagle", "salmon", "donkey",
        "lobster", "gorilla", "hamster", "leopard", "octopus", "squirrel", "buffalo", "pelican",
        "walrus", "beaver", "cheetah", "ostrich", "panther", "raccoon", "falcon",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut audio = Vec::new();
    let mut said = Vec::new();
    let mut text = Vec::new();
    for (i, animal) in animals.iter().enumerate() {
        let sentence = format!("The next animal we talk about is the {animal}.");
        let wav = dir.path().join(format!("a{i}.wav"));
        speak(&espeak, &sentence, &wav);
        said.push(audio.len() as f64 / SAMPLE_RATE as f64);
        audio.extend(decode_all(&wav, &AudioOptions::default()).unwrap());
        audio.extend(std::iter::repeat_n(0.0f32, SAMPLE_RATE as usize * 5 / 2));
        text.push(sentence);
    }
    let secs = audio.len() as f64 / SAMPLE_RATE as f64;
    assert!(
        secs > 2.0 * podsift_asr::lanes::MIN_LANE_SECS,
        "{secs:.0} s: too short for two lanes"
    );
    assert_eq!(podsift_asr::lanes::cuts(&audio, 2).len(), 2);
    let got = engine.transcribe_blocking(&audio, &en()).unwrap();
    for seg in &got.segments {
        eprintln!("[{:6.2} – {:6.2}] {}", seg.start, seg.end, seg.text);
    }
    for pair in got.segments.windows(2) {
        assert!(
            pair[1].start >= pair[0].start - 0.5,
            "time goes back: {pair:?}"
        );
    }
    let all = got
        .segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ");
    // One sentence for each spoken (the cut neither drops nor repeats one), each at the time
    // it was said; most animals heard (tiny.en mishears rare names: "ostrich", "buffalo").
    assert_eq!(
        got.segments.len(),
        animals.len(),
        "one sentence per sentence spoken"
    );
    for (seg, at) in got.segments.iter().zip(&said) {
        eprintln!(
            "spoken at {at:6.2}, sentence at {:6.2}: {}",
            seg.start, seg.text
        );
    }
    for (seg, at) in got.segments.iter().zip(&said) {
        assert!(
            (seg.start - at).abs() <= 1.5,
            "{:?} starts at {:.2} s, spoken at {at:.2} s",
            seg.text,
            seg.start
        );
    }
    let heard = animals.iter().filter(|a| all.contains(*a)).count();
    assert!(
        heard * 5 >= animals.len() * 3,
        "{heard} of {} animals heard",
        animals.len()
    );
    let rate = wer::wer(&text.join(" "), &all);
    assert!(rate < 0.2, "WER {rate:.2} on clear synthetic speech");
}
