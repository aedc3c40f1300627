//! Speech-to-text benchmark: one audio file through podsift's path (streaming decode, pieces
//! cut at pauses, whisper.cpp with or without VAD) — wall time, realtime factor, peak RSS and,
//! with a reference text, the word error rate. Driven by `scripts/bench asr` (see
//! BENCHMARKS.md), which runs whisper.cpp's own CLI on the same audio in the same run.
//!
//!     cargo run --release -p podsift-asr --example asr_bench -- \
//!         --model ggml-tiny.en.bin --audio episode.mp3 [--vad ggml-silero-v6.2.0.bin] \
//!         [--threads 2] [--chunk-secs 300] [--reference script.txt] [--label NAME] \
//!         [--flash-attn on|off] [--dtw on|off] [--lanes N] [--out transcript.txt] \
//!         [--times sentences.tsv]
//!
//! Defaults as podsift's: flash attention off, DTW times off (sentence starts from the
//! pauses), lanes 0 (automatic). `--times` writes each sentence's start, end and text.
//!
//! `--score HYPOTHESIS.txt --reference script.txt` only scores a transcript made elsewhere
//! (faster-whisper's, in `scripts/bench asr-peer`) with the same word error rate.

use std::path::PathBuf;
use std::time::Instant;

use podsift_asr::audio::{AudioOptions, open};
use podsift_asr::chunk::Chunker;
use podsift_asr::whisper::{WhisperEngine, WhisperOptions};
use podsift_asr::{DecodeOptions, wer};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Peak resident memory of this process (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(hypothesis) = arg(&args, "--score") {
        let reference = arg(&args, "--reference").ok_or("--score needs --reference")?;
        let rate = wer::wer(
            &std::fs::read_to_string(reference)?,
            &std::fs::read_to_string(hypothesis)?,
        );
        println!("{}", serde_json::json!({ "wer": rate }));
        return Ok(());
    }
    let model = PathBuf::from(arg(&args, "--model").ok_or("--model PATH")?);
    let audio = PathBuf::from(arg(&args, "--audio").ok_or("--audio PATH")?);
    let vad = arg(&args, "--vad").map(PathBuf::from);
    let threads: usize = arg(&args, "--threads").map_or(Ok(2), |t| t.parse())?;
    let chunk_secs: u32 = arg(&args, "--chunk-secs").map_or(Ok(300), |t| t.parse())?;
    let flash_attention = match arg(&args, "--flash-attn").as_deref() {
        Some("on") => true,
        None | Some("off") => false,
        Some(other) => return Err(format!("--flash-attn on|off, not {other}").into()),
    };
    let dtw_times = match arg(&args, "--dtw").as_deref() {
        Some("on") => true,
        None | Some("off") => false,
        Some(other) => return Err(format!("--dtw on|off, not {other}").into()),
    };
    let times = arg(&args, "--times").map(PathBuf::from);
    let lanes: usize = arg(&args, "--lanes").map_or(Ok(0), |t| t.parse())?;
    let out = arg(&args, "--out").map(PathBuf::from);
    let label = arg(&args, "--label").unwrap_or_else(|| "podsift".into());
    let reference = arg(&args, "--reference")
        .map(std::fs::read_to_string)
        .transpose()?;

    let started = Instant::now();
    let engine = WhisperEngine::load(
        &model,
        WhisperOptions {
            model_name: model.display().to_string(),
            threads,
            lanes,
            vad_model: vad.clone(),
            flash_attention,
            dtw_times,
        },
    )?;
    let load_secs = started.elapsed().as_secs_f64();
    let mut chunker = Chunker::new(open(&audio, &AudioOptions::detect())?, chunk_secs);
    let opts = DecodeOptions {
        language: Some("en".into()),
        prompt: None,
    };
    let mut text = Vec::new();
    let mut timed = String::new();
    let mut segments = 0usize;
    while let Some(piece) = chunker.next_chunk()? {
        let got = engine.transcribe_blocking(&piece.samples, &opts)?;
        segments += got.segments.len();
        for s in got.segments {
            let at = piece.start_secs();
            timed.push_str(&format!(
                "{:.2}\t{:.2}\t{}\n",
                at + s.start,
                at + s.end,
                s.text
            ));
            text.push(s.text);
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let audio_secs = chunker.position() as f64 / 16_000.0;
    let wer = reference.map(|r| wer::wer(&r, &text.join(" ")));
    if let Some(out) = &out {
        std::fs::write(out, text.join("\n"))?;
    }
    if let Some(times) = &times {
        std::fs::write(times, timed)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "label": label,
            "model": model.file_name().map(|f| f.to_string_lossy().to_string()),
            "vad": vad.is_some(),
            "threads": threads,
            "flash_attention": flash_attention,
            "lanes": lanes,
            "dtw": dtw_times,
            "audio_secs": audio_secs,
            "wall_secs": wall,
            "load_secs": load_secs,
            "realtime_factor": audio_secs / wall,
            "segments": segments,
            "peak_rss_mb": peak_rss_mb(),
            "wer": wer,
        })
    );
    Ok(())
}
