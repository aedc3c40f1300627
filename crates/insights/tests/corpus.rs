//! Real transcripts (Python Bytes WebVTT from the shared corpora): windowing, grounding speed
//! and accuracy, ads, and a whole extraction with a scripted engine. Skips loudly without
//! the corpora.

use std::path::Path;
use std::time::Instant;

use async_trait::async_trait;
use podsift_core::config::LlmConfig;
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse, Segment};
use podsift_insights::ground::TranscriptIndex;
use podsift_insights::windows::build_windows;
use podsift_insights::{
    EpisodeInput, MemoryCache, ads, baseline_tokens, estimate_tokens, extract_episode,
};
use podsift_testkit::require_corpora;

const FILES: [&str; 4] = [
    "002_python_bytes.vtt",
    "150-winning-the-python-software-interview.vtt",
    "214-year-in-review.vtt",
    "261-please-re-enable-spacebar-heating.vtt",
];

fn load(dir: &Path, name: &str) -> Vec<Segment> {
    let path = dir.join("03_longform/python-bytes/transcripts").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = podsift_transcripts::decode_text(&bytes);
    let parsed = podsift_transcripts::parse_vtt(&text);
    assert!(
        parsed.segments.len() > 50,
        "{name}: {} segments",
        parsed.segments.len()
    );
    parsed.segments
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn windows_cover_real_transcripts() {
    let dir = require_corpora!();
    let cfg = LlmConfig::default();
    // The size windows of the local engine's default 8k context come to.
    let size = 4500;
    for name in FILES {
        let segs = load(&dir, name);
        let w = build_windows(&segs, size, cfg.window_overlap_tokens);
        let words: usize = segs.iter().map(|s| s.text.split_whitespace().count()).sum();
        assert_eq!(w.total_words, words, "{name}");
        assert!(
            (w.coverage(0..w.windows.len()) - 1.0).abs() < 1e-9,
            "{name}"
        );
        for pair in w.windows.windows(2) {
            assert!(
                pair[1].pieces.start < pair[0].pieces.end,
                "{name}: consecutive windows overlap"
            );
            assert!(
                pair[1].pieces.start > pair[0].pieces.start,
                "{name}: windows advance"
            );
            assert!(pair[1].start >= pair[0].start, "{name}: time order");
        }
        for win in &w.windows {
            assert!(
                win.tokens <= size as u64 + 150,
                "{name}: window of {} tokens",
                win.tokens
            );
            assert!(win.text.starts_with('['), "{name}");
        }
        let sizes: Vec<u64> = w.windows.iter().map(|w| w.tokens).collect();
        eprintln!(
            "{name}: {} segments, {words} words, {} windows, tokens/window min {} max {}",
            segs.len(),
            w.windows.len(),
            sizes.iter().min().unwrap(),
            sizes.iter().max().unwrap()
        );
    }
}

#[test]
fn grounding_real_quotes_fast_and_exact() {
    let dir = require_corpora!();
    // A three-hour-sized transcript: four episodes back to back (~30k words).
    let mut segs: Vec<Segment> = Vec::new();
    for name in FILES {
        let offset = segs.last().map_or(0.0, |s| s.end + 1.0);
        segs.extend(load(&dir, name).into_iter().map(|mut s| {
            s.start += offset;
            s.end += offset;
            s
        }));
    }
    let started = Instant::now();
    let idx = TranscriptIndex::new(&segs);
    let built = started.elapsed();
    // Quotes: a segment's text plus the start of the next, case and punctuation lost.
    let picks: Vec<usize> = (0..segs.len() - 1)
        .step_by(segs.len() / 80)
        .filter(|&i| segs[i].text.split_whitespace().count() >= 8)
        .collect();
    let started = Instant::now();
    let (mut found, mut exact_time) = (0, 0);
    for &i in &picks {
        let next: Vec<&str> = segs[i + 1].text.split_whitespace().take(4).collect();
        let quote = norm(&format!("{} {}", segs[i].text, next.join(" ")));
        if let Some(g) = idx.find(&quote, None) {
            found += 1;
            assert_eq!(
                norm(&g.quote),
                quote,
                "the stored quote is the transcript's text"
            );
            if g.start == segs[i].start {
                exact_time += 1;
            }
        }
    }
    let searched = started.elapsed();
    eprintln!(
        "ground: {} words indexed in {built:?}; {} quotes found {found}, exact start {exact_time}, in {searched:?}",
        idx.len(),
        picks.len()
    );
    assert!(idx.len() > 28_000, "{}", idx.len());
    assert_eq!(found, picks.len());
    assert!(
        exact_time * 10 >= picks.len() * 9,
        "{exact_time}/{}",
        picks.len()
    );
    assert!(
        searched.as_secs_f64() < 2.0,
        "grounding too slow: {searched:?}"
    );
    // Paraphrases of real sentences: every third word changed.
    let mut rejected = 0;
    for &i in &picks {
        let words: Vec<String> = segs[i]
            .text
            .split_whitespace()
            .enumerate()
            .map(|(k, w)| {
                if k % 3 == 1 {
                    "indeed".to_owned()
                } else {
                    w.to_owned()
                }
            })
            .collect();
        if idx.find(&words.join(" "), None).is_none() {
            rejected += 1;
        }
    }
    assert_eq!(rejected, picks.len());
}

#[test]
fn sponsor_reads_found_in_real_episode() {
    let dir = require_corpora!();
    let segs = load(&dir, "150-winning-the-python-software-interview.vtt");
    let flags = ads::ad_segments(&segs);
    let ad_text: Vec<&str> = segs
        .iter()
        .zip(&flags)
        .filter(|(_, f)| **f)
        .map(|(s, _)| s.text.as_str())
        .collect();
    eprintln!("ads: {} of {} segments flagged", ad_text.len(), segs.len());
    assert!(
        ad_text.iter().any(|t| t.contains("modern cloud")),
        "mid-roll read body flagged"
    );
    assert!(ad_text.iter().any(|t| t.contains("free t-shirt")));
    assert!(
        ad_text.len() * 10 < segs.len(),
        "most of the episode is not an ad"
    );
    let interview = segs
        .iter()
        .position(|s| s.text.contains("stand out in the Python coding interview"))
        .unwrap();
    assert!(
        !flags[interview],
        "content after the opening mention is not an ad"
    );
}

/// Quotes the middle line of each window.
struct MiddleLine;

#[async_trait]
impl Llm for MiddleLine {
    fn model_id(&self) -> String {
        "fake:middle".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        if podsift_testkit::llm::is_editor_request(&req.system) {
            return Ok(LlmResponse {
                prompt_tokens: estimate_tokens(&req.system) + estimate_tokens(&req.user),
                completion_tokens: 80,
                text: podsift_testkit::llm::echo_editor_answer(&req.user).to_string(),
            });
        }
        let excerpt = req.user.split("Transcript excerpt:\n").nth(1).unwrap_or("");
        let lines: Vec<&str> = excerpt.lines().filter(|l| l.starts_with('[')).collect();
        let line = lines[lines.len() / 2];
        let text = line.split_once("] ").map_or(line, |(_, t)| t);
        let quote: Vec<&str> = text.split_whitespace().take(12).collect();
        let answer = serde_json::json!({"claims": [{"quote": quote.join(" "), "claim": format!("Note: {}.", quote.join(" ")),
            "speaker": null, "kind": "fact", "topics": ["python"]}]});
        Ok(LlmResponse {
            prompt_tokens: estimate_tokens(&req.system) + estimate_tokens(&req.user),
            completion_tokens: 80,
            text: answer.to_string(),
        })
    }
}

#[tokio::test]
async fn extraction_on_a_real_episode() {
    let dir = require_corpora!();
    let segs = load(&dir, "214-year-in-review.vtt");
    let cfg = LlmConfig {
        insights_per_episode: 50,
        ..LlmConfig::default()
    };
    let input = EpisodeInput {
        show: "Python Bytes",
        title: "Year in review",
        segments: &segs,
        chapters: &[],
        interests: &[],
        ..EpisodeInput::default()
    };
    let (insights, report) = extract_episode(&MiddleLine, &MemoryCache::new(), &input, &cfg)
        .await
        .unwrap();
    let baseline = baseline_tokens(&input);
    eprintln!(
        "214-year-in-review: {} windows, {} processed, {} skipped ({} ads), coverage {:.2}, prompt tokens {} vs whole-transcript baseline {baseline}, {} insights",
        report.windows_total,
        report.windows_processed,
        report.windows_skipped.len(),
        report.ad_windows,
        report.coverage,
        report.prompt_tokens,
        insights.len()
    );
    assert_eq!(
        report.dropped_ungrounded, 0,
        "verbatim quotes always ground"
    );
    assert_eq!(
        report.windows_processed + report.windows_skipped.len(),
        report.windows_total
    );
    assert!(
        report.windows_skipped.is_empty(),
        "{:?}",
        report.windows_skipped
    );
    assert_eq!(report.read_share(), 1.0, "every non-ad word is read");
    assert!(
        report
            .editor
            .as_deref()
            .is_some_and(|e| e.starts_with("the editor wrote")),
        "{:?}",
        report.editor
    );
    assert!(!insights.is_empty());
    let all = norm(
        &segs
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    for i in &insights {
        assert!(i.end_seconds >= i.start_seconds);
        assert!(
            segs.iter()
                .any(|s| s.start <= i.start_seconds && i.start_seconds <= s.end),
            "start inside a segment"
        );
        assert!(
            all.contains(&norm(&i.quote)),
            "stored quote is transcript text: {}",
            i.quote
        );
    }
}
