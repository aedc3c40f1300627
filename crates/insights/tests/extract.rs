//! The whole per-episode pipeline with inline fixtures (always run): a scripted engine for
//! answers a real model won't give on cue, and the real OpenAI-compatible engine against the
//! loopback server for the cache.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use podsift_core::config::{LlmConfig, Price};
use podsift_core::{Chapter, Llm, LlmError, LlmRequest, LlmResponse, Segment};
use podsift_insights::engines::OpenAiCompatible;
use podsift_insights::{EpisodeInput, ExtractError, MemoryCache, estimate_tokens, extract_episode};
use podsift_testkit::{Route, TestServer};

type Handler = dyn Fn(&LlmRequest, usize) -> Result<String, LlmError> + Send + Sync;

/// An engine whose answers a closure writes (given the request and the call number).
struct Scripted {
    handler: Box<Handler>,
    calls: AtomicUsize,
    seen: Mutex<Vec<LlmRequest>>,
}

impl Scripted {
    fn new(
        f: impl Fn(&LlmRequest, usize) -> Result<String, LlmError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            handler: Box::new(f),
            calls: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Llm for Scripted {
    fn model_id(&self) -> String {
        "fake:fake-model".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(req.clone());
        let text = (self.handler)(req, n)?;
        Ok(LlmResponse {
            prompt_tokens: estimate_tokens(&req.system) + estimate_tokens(&req.user),
            completion_tokens: estimate_tokens(&text),
            text,
        })
    }
}

/// The transcript text of each `[MM:SS] Speaker: text` line of the window in a request.
fn window_lines(req: &LlmRequest) -> Vec<String> {
    let excerpt = req.user.split("Transcript excerpt:\n").nth(1).unwrap_or("");
    excerpt
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.split_once(": ").map_or("", |x| x.1).to_owned())
        .collect()
}

/// One claim of a window's answer (`_importance` is what older prompts asked for).
fn insight(text: &str, quote: &str, _importance: f64, is_ad: bool) -> serde_json::Value {
    serde_json::json!({"quote": quote, "claim": text, "speaker": null, "kind": "fact",
        "topics": ["test"], "is_ad": is_ad})
}

fn answer(items: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "claims": items }).to_string()
}

const TOPICS: [&str; 12] = [
    "Celery 4.0 shipped with a new message protocol and dropped Python 2.6 support",
    "Instagram runs Django on Python 3 and measured a 12 percent CPU saving after the upgrade",
    "The pip 9 release refuses to install packages whose Python requirement does not match",
    "PyPy announced that its JIT now runs NumPy code at twice the speed of last year",
    "Mozilla awarded the PyPI rewrite a grant of 170 thousand dollars for the Warehouse project",
    "Pandas 0.19 added merge_asof which joins time series on the nearest earlier key",
    "The asyncio module leaves provisional status in Python 3.6 because the API is now stable",
    "Microsoft hired Guido van Rossum to work on CPython performance full time",
    "Flask 1.0 finally landed after eight years of zero point releases",
    "Black formats code deterministically so reviews stop arguing about style",
    "Mypy found 1.5 million type errors in the Dropbox codebase during the migration",
    "Jupyter notebooks now render in GitHub which makes sharing analyses trivial",
];

/// Alternating speakers (one line per segment), ~25 words a segment, 10 s each.
fn transcript() -> Vec<Segment> {
    let mut segs = Vec::new();
    for (i, t) in TOPICS.iter().enumerate() {
        segs.push(Segment {
            start: i as f64 * 10.0,
            end: i as f64 * 10.0 + 9.5,
            speaker: Some(if i % 2 == 0 { "Michael" } else { "Brian" }.into()),
            text: format!("{t}. That matters for anyone shipping Python in production today."),
        });
    }
    segs
}

/// The map stage alone: the claims are the insights (the editor has its own tests).
fn cfg(window_tokens: usize, overlap: usize) -> LlmConfig {
    LlmConfig {
        engine: podsift_core::config::LlmEngine::Openai,
        window_tokens: Some(window_tokens),
        window_overlap_tokens: overlap,
        insights_per_episode: 100,
        editor: false,
        ..LlmConfig::default()
    }
}

fn input<'a>(
    segs: &'a [Segment],
    chapters: &'a [Chapter],
    interests: &'a [String],
) -> EpisodeInput<'a> {
    EpisodeInput {
        show: "Python Bytes",
        title: "Episode 2",
        segments: segs,
        chapters,
        interests,
        ..EpisodeInput::default()
    }
}

#[tokio::test]
async fn quotes_are_grounded_with_transcript_times_and_inventions_dropped() {
    let segs = transcript();
    let chapters = vec![
        Chapter {
            start_seconds: 0.0,
            end_seconds: None,
            title: Some("Releases".into()),
            url: None,
            img: None,
            toc: true,
        },
        Chapter {
            start_seconds: 60.0,
            end_seconds: None,
            title: Some("People".into()),
            url: None,
            img: None,
            toc: true,
        },
    ];
    // Per window: the first line's first sentence, shouted and without punctuation (the
    // model's sloppy copy), plus a quote that is nowhere in the transcript.
    let llm = Scripted::new(|req, _| {
        let first = window_lines(req)[0].clone();
        let sentence = first
            .split(". ")
            .next()
            .unwrap()
            .to_uppercase()
            .replace(',', "");
        Ok(answer(vec![
            insight(
                &format!("Analyst note on {sentence}."),
                &sentence,
                0.8,
                false,
            ),
            insight(
                "Python 4 will remove the GIL.",
                "we are announcing Python 4 today without the GIL",
                0.9,
                false,
            ),
        ]))
    });
    let cache = MemoryCache::new();
    let mut c = cfg(200, 50);
    c.prices.insert(
        "fake-model".into(),
        Price {
            prompt: 1.0,
            completion: 2.0,
        },
    );
    let (insights, report) = extract_episode(&llm, &cache, &input(&segs, &chapters, &[]), &c)
        .await
        .unwrap();
    assert!(report.windows_total >= 3, "{report:?}");
    assert_eq!(report.windows_processed, report.windows_total);
    assert_eq!(
        report.dropped_ungrounded, report.windows_processed,
        "every invented quote dropped"
    );
    assert!(
        report.windows_skipped.is_empty(),
        "{:?}",
        report.windows_skipped
    );
    assert!((report.coverage - 1.0).abs() < 1e-9);
    assert!(!insights.is_empty());
    for i in &insights {
        let seg = segs
            .iter()
            .find(|s| s.text.starts_with(&i.quote))
            .unwrap_or_else(|| panic!("not verbatim: {}", i.quote));
        assert!(
            i.quote.ends_with('.') || i.quote.ends_with("production"),
            "{}",
            i.quote
        );
        assert_eq!(i.start_seconds, seg.start, "start from the transcript");
        assert!(
            i.end_seconds > seg.start && i.end_seconds < seg.end,
            "end interpolated: {}",
            i.end_seconds
        );
        assert_eq!(i.speaker, seg.speaker);
        let expected = if seg.start >= 60.0 {
            "People"
        } else {
            "Releases"
        };
        assert_eq!(i.chapter.as_deref(), Some(expected));
    }
    assert_eq!(report.insights_kept, insights.len());
    assert!(report.prompt_tokens > 0 && report.completion_tokens > 0);
    let expected_cost = (report.prompt_tokens as f64 + 2.0 * report.completion_tokens as f64) / 1e6;
    assert!((report.cost_usd - expected_cost).abs() < 1e-12);
    assert!(report.transcript_tokens > 0);
}

#[tokio::test]
async fn repair_attempt_fixes_invalid_json() {
    let segs = transcript();
    let llm = Scripted::new(|req, n| {
        if n == 0 {
            return Ok("Sure! {\"insights\": [{\"text\": \"Celery 4.0\", \"quote\": ".into());
        }
        assert!(
            req.user.contains("not valid JSON"),
            "the repair asks for valid JSON"
        );
        assert!(req.user.contains("Sure! {"), "and shows the bad answer");
        Ok(format!(
            "```json\n{}\n```",
            answer(vec![insight(
                "Celery 4.0 shipped a new protocol. Upgrades need care.",
                TOPICS[0],
                0.7,
                false
            )])
        ))
    });
    let cache = MemoryCache::new();
    let c = cfg(100_000, 0);
    let (insights, report) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &c)
        .await
        .unwrap();
    assert_eq!(llm.calls(), 2);
    assert_eq!(report.windows_total, 1);
    assert_eq!(report.windows_processed, 1);
    assert_eq!(insights.len(), 1);
    assert_eq!(cache.len(), 1, "the repaired answer is cached");
    let first = llm.seen.lock().unwrap()[0].clone();
    let both = estimate_tokens(&first.system) * 2;
    assert!(report.prompt_tokens > both, "both calls counted");
}

#[tokio::test]
async fn answer_still_invalid_after_repair_skips_the_window() {
    let segs = transcript();
    let llm = Scripted::new(|_, _| Ok("I cannot produce JSON today.".into()));
    let cache = MemoryCache::new();
    let (insights, report) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &cfg(120, 30))
        .await
        .unwrap();
    assert!(insights.is_empty());
    assert_eq!(
        llm.calls(),
        2 * report.windows_total,
        "one repair per window, no more"
    );
    assert_eq!(report.windows_processed, 0);
    assert_eq!(report.windows_skipped.len(), report.windows_total);
    for (_, reason) in &report.windows_skipped {
        assert!(
            reason.contains("invalid JSON after one repair attempt"),
            "{reason}"
        );
    }
    assert_eq!(report.coverage, 0.0);
    assert!(cache.is_empty(), "nothing unusable is cached");
}

#[tokio::test]
async fn sponsor_reads_are_never_sent_and_ad_insights_dropped() {
    let mut segs = transcript();
    let read = [
        "This episode is brought to you by Rollbar, the error tracking service for Python teams.",
        "Rollbar catches every exception in production and groups them so you fix what matters first.",
        "Thousands of teams rely on Rollbar to ship faster with confidence every single day of the week.",
        "Get a free trial and 50% off your first three months with promo code PYTHONBYTES at checkout.",
        "Visit pythonbytes.fm/rollbar to get started, and thank you to Rollbar for supporting the show.",
    ];
    let base = 200.0;
    for (k, t) in read.iter().enumerate() {
        segs.push(Segment {
            start: base + k as f64 * 10.0,
            end: base + k as f64 * 10.0 + 9.5,
            speaker: Some("Michael".into()),
            text: (*t).into(),
        });
    }
    for (k, t) in TOPICS.iter().take(4).enumerate() {
        segs.push(Segment {
            start: 300.0 + k as f64 * 10.0,
            end: 309.5 + k as f64 * 10.0,
            speaker: Some(if k % 2 == 0 { "Brian" } else { "Michael" }.into()),
            text: format!("Back to the news: {t}."),
        });
    }
    // The model labels an ad as one, and also quotes the read without the label.
    let llm = Scripted::new(|req, _| {
        let lines = window_lines(req);
        Ok(answer(vec![
            insight(
                "Rollbar groups exceptions.",
                "Rollbar catches every exception in production",
                0.9,
                true,
            ),
            insight(
                "Rollbar is used by thousands of teams.",
                "Thousands of teams rely on Rollbar to ship faster",
                0.9,
                false,
            ),
            insight(
                "A real note.",
                lines[0].split(". ").next().unwrap(),
                0.5,
                false,
            ),
        ]))
    });
    let cache = MemoryCache::new();
    let (insights, report) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &cfg(110, 0))
        .await
        .unwrap();
    assert_eq!(report.ad_windows, 1, "one sponsor read: {report:?}");
    assert!(report.words_ad > 60, "{report:?}");
    assert!(report.windows_skipped.is_empty(), "{report:?}");
    let seen = llm.seen.lock().unwrap();
    assert!(
        seen.iter()
            .all(|r| !r.user.contains("PYTHONBYTES") && !r.user.contains("Rollbar catches")),
        "the sponsor read never reaches the model"
    );
    assert!(
        insights.iter().all(|i| !i.text.contains("Rollbar")),
        "ad insights dropped: {insights:?}"
    );
    assert!(insights.iter().all(|i| i.text == "A real note."));
    assert!(report.coverage < 1.0, "the ad's words are not read");
    assert_eq!(report.read_share(), 1.0, "every other word is");
}

#[tokio::test]
async fn duplicates_from_overlapping_windows_merge() {
    let segs = transcript();
    // One insight per line: lines in the overlap are quoted by two windows.
    let llm = Scripted::new(|req, _| {
        let items = window_lines(req)
            .iter()
            .take(3)
            .map(|l| {
                let s = l.split(". ").next().unwrap();
                insight(&format!("Note: {s}."), s, 0.6, false)
            })
            .collect();
        Ok(answer(items))
    });
    let cache = MemoryCache::new();
    let (insights, report) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &cfg(100, 40))
        .await
        .unwrap();
    assert!(report.windows_total >= 4, "{report:?}");
    assert!(report.merged >= 1, "{report:?}");
    let mut quotes: Vec<&str> = insights.iter().map(|i| i.quote.as_str()).collect();
    let n = quotes.len();
    quotes.sort();
    quotes.dedup();
    assert_eq!(quotes.len(), n, "no duplicate survives");
    // The cap on insights per episode.
    let mut c = cfg(100, 40);
    c.insights_per_episode = 2;
    let (top, _) = extract_episode(&llm, &MemoryCache::new(), &input(&segs, &[], &[]), &c)
        .await
        .unwrap();
    assert_eq!(top.len(), 2);
}

#[tokio::test]
async fn everything_is_read_unless_a_cap_is_set_and_then_the_episode_decides() {
    let filler =
        "yeah um you know it was like kind of fun, okay, right, yeah so um anyway whatever";
    let digits = "In 1999 NASA and IBM spent 42 million on 77 percent of 3.5 billion units.";
    let mut segs = Vec::new();
    for i in 0..30 {
        let text = match i {
            7 => "Quantum error correction crossed the threshold where logical qubits beat physical ones.".to_owned(),
            22 => "Memory safety in the Linux kernel is why Rust drivers are now accepted upstream.".to_owned(),
            15 => digits.to_owned(),
            _ => filler.to_owned(),
        };
        segs.push(Segment {
            start: i as f64 * 10.0,
            end: i as f64 * 10.0 + 9.0,
            speaker: None,
            text,
        });
    }
    let llm = Scripted::new(|_, _| Ok(answer(vec![])));
    let mut c = cfg(60, 0);
    // No cap: every window is read, and the report says so.
    let (_, full) = extract_episode(&llm, &MemoryCache::new(), &input(&segs, &[], &[]), &c)
        .await
        .unwrap();
    assert!(full.windows_total >= 8, "{full:?}");
    assert_eq!(llm.calls(), full.windows_total);
    assert_eq!((full.read_share(), full.cap.clone()), (1.0, None));
    let windows_cost = full.prompt_tokens / full.windows_total as u64;
    // A cap of two and a half windows: the two that match what the episode is about (its
    // description and the reader's interests) are read, not the one full of digits.
    c.episode_token_budget = Some(windows_cost * 2 + windows_cost / 2);
    let before = llm.calls();
    let interests = vec!["memory safety".to_owned()];
    let mut inp = input(&segs, &[], &interests);
    inp.description = "Quantum computing milestones, and the state of systems programming.";
    let (_, report) = extract_episode(&llm, &MemoryCache::new(), &inp, &c)
        .await
        .unwrap();
    let sent: Vec<String> = llm.seen.lock().unwrap()[before..]
        .iter()
        .map(|r| r.user.clone())
        .collect();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().any(|u| u.contains("Quantum error")));
    assert!(sent.iter().any(|u| u.contains("Linux kernel")));
    assert!(
        !sent.iter().any(|u| u.contains("NASA")),
        "digits do not choose"
    );
    assert!(report.prompt_tokens <= c.episode_token_budget.unwrap());
    let over = report
        .windows_skipped
        .iter()
        .filter(|(_, r)| {
            r.starts_with(podsift_insights::SKIP_BUDGET) && r.contains("episode_token_budget")
        })
        .count();
    assert_eq!(over, report.windows_total - sent.len());
    assert!(report.read_share() < 0.3, "{}", report.read_share());
    assert_eq!(
        report.cap.as_deref(),
        Some(format!("episode_token_budget = {}", c.episode_token_budget.unwrap()).as_str())
    );
}

#[tokio::test]
async fn engine_failures_are_recorded_or_fail_the_episode() {
    let segs = transcript();
    let cache = MemoryCache::new();
    // Only the first window fails: recorded, the rest goes on.
    let llm = Scripted::new(|req, _| {
        if req.user.contains("Celery 4.0") {
            Err(LlmError::Server {
                status: 500,
                message: "boom".into(),
            })
        } else {
            Ok(answer(vec![]))
        }
    });
    let (_, report) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &cfg(120, 0))
        .await
        .unwrap();
    assert_eq!(report.windows_processed, report.windows_total - 1);
    assert!(
        report.windows_skipped[0].1.contains("model error"),
        "{:?}",
        report.windows_skipped
    );
    // Every window failing with a retryable error: the episode is retried later.
    let cache = MemoryCache::new();
    let down = Scripted::new(|_, _| Err(LlmError::Timeout { seconds: 1 }));
    let e = extract_episode(&down, &cache, &input(&segs, &[], &[]), &cfg(120, 0))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ExtractError::EngineUnavailable { .. }) && e.is_retryable(),
        "{e:?}"
    );
    // Every window refused: not retryable, but not silently "done" either.
    let refused = Scripted::new(|_, _| Err(LlmError::Permanent("invalid api key".into())));
    let e = extract_episode(&refused, &cache, &input(&segs, &[], &[]), &cfg(120, 0))
        .await
        .unwrap_err();
    assert!(!e.is_retryable());
    // Timeouts and a refusal mixed, nothing processed: still worth retrying later.
    let mixed = Scripted::new(|req, _| {
        if req.user.contains("Celery 4.0") {
            Err(LlmError::Permanent("context too long".into()))
        } else {
            Err(LlmError::Timeout { seconds: 1 })
        }
    });
    let e = extract_episode(
        &mixed,
        &MemoryCache::new(),
        &input(&segs, &[], &[]),
        &cfg(120, 0),
    )
    .await
    .unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    // Engine fine, answers unusable: the episode is done (the reasons are in the report).
    let junk = Scripted::new(|_, _| Ok("nope".into()));
    assert!(
        extract_episode(
            &junk,
            &MemoryCache::new(),
            &input(&segs, &[], &[]),
            &cfg(120, 0)
        )
        .await
        .is_ok()
    );
    // An empty transcript is no failure.
    let (none, report) = extract_episode(&down, &cache, &input(&[], &[], &[]), &cfg(120, 0))
        .await
        .unwrap();
    assert!(none.is_empty() && report.windows_total == 0);
}

#[tokio::test]
async fn cache_makes_a_rerun_free_through_a_real_engine() {
    let server = TestServer::start().await;
    let content = answer(vec![insight(
        "Instagram saved 12 percent CPU on Python 3. Upgrades pay.",
        "Instagram runs Django on Python 3 and measured a 12 percent CPU saving",
        0.8,
        false,
    )]);
    let body = serde_json::json!({
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 500, "completion_tokens": 60},
    });
    server.route(
        "/v1/chat/completions",
        Route::ok(body.to_string(), "application/json"),
    );
    let llm = OpenAiCompatible::new(&server.url("/v1"), "gpt-test", None, Duration::from_secs(5))
        .unwrap();
    let segs = transcript();
    let cache = MemoryCache::new();
    let c = cfg(120, 30);
    let (first, r1) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &c)
        .await
        .unwrap();
    let hits = server.hits("/v1/chat/completions");
    assert_eq!(hits, r1.windows_total);
    assert_eq!(r1.prompt_tokens, 500 * hits as u64);
    assert_eq!(r1.cached_windows, 0);
    assert_eq!(
        first.len(),
        1,
        "the same quote from every window merges into one"
    );
    // Windows that hold the quote merge their copies; the others quoted a passage they were
    // never shown, and those claims are dropped with the reason.
    assert_eq!(r1.merged + r1.dropped_ungrounded, hits - 1, "{r1:?}");
    assert!(r1.dropped.iter().all(|d| {
        d.reason
            .contains("not in the part of the transcript the model read")
    }));
    let (second, r2) = extract_episode(&llm, &cache, &input(&segs, &[], &[]), &c)
        .await
        .unwrap();
    assert_eq!(
        server.hits("/v1/chat/completions"),
        hits,
        "no model call on the rerun"
    );
    assert_eq!(r2.cached_windows, r2.windows_processed);
    assert_eq!(
        (r2.prompt_tokens, r2.completion_tokens, r2.cost_usd),
        (0, 0, 0.0)
    );
    assert_eq!(first, second);
}

/// A tokenizer that counts more tokens than the estimate: the engine refuses windows that
/// overflow its context, and the episode is windowed smaller and read whole anyway.
#[tokio::test]
async fn a_context_overflow_makes_the_windows_smaller() {
    let mut segs = Vec::new();
    for i in 0..200 {
        segs.push(Segment {
            start: i as f64 * 10.0,
            end: i as f64 * 10.0 + 9.0,
            speaker: Some("Ann".into()),
            text: format!(
                "{}. That matters for anyone shipping Python.",
                TOPICS[i % 12]
            ),
        });
    }
    let llm = Scripted::new(|req, _| {
        if req.user.len() > 6000 {
            return Err(LlmError::Permanent(
                "HTTP 400: the prompt is 2100 tokens and max_tokens is 700, more than the context of 2048 tokens".into(),
            ));
        }
        Ok(answer(vec![]))
    });
    let c = LlmConfig {
        engine: podsift_core::config::LlmEngine::Local,
        local_context: 4096,
        editor: false,
        ..LlmConfig::default()
    };
    let (_, report) = extract_episode(&llm, &MemoryCache::new(), &input(&segs, &[], &[]), &c)
        .await
        .unwrap();
    assert!(report.windows_total > 2, "{report:?}");
    assert_eq!(report.windows_processed, report.windows_total, "{report:?}");
    assert!(report.windows_skipped.is_empty());
    assert_eq!(report.read_share(), 1.0);
    assert!(
        llm.calls() > report.windows_total,
        "the refused round was retried smaller"
    );
}

/// An episode whose transcript is one line (a publisher's plain text without breaks) is cut
/// into windows on its sentences and read whole; a model that finds nothing anywhere gives an
/// episode with no insights and says so, not an error and not a silent loss.
#[tokio::test]
async fn a_one_line_transcript_is_read_whole_and_an_empty_answer_is_recorded() {
    let text: String = TOPICS
        .iter()
        .cycle()
        .take(60)
        .map(|t| format!("{t}. "))
        .collect();
    let segs = vec![Segment {
        start: 0.0,
        end: 1800.0,
        speaker: None,
        text: text.trim().to_owned(),
    }];
    let llm = Scripted::new(|_, _| Ok(answer(vec![])));
    let (drafts, report) = extract_episode(
        &llm,
        &MemoryCache::new(),
        &input(&segs, &[], &[]),
        &cfg(300, 0),
    )
    .await
    .expect("nothing found is not an error");
    assert!(drafts.is_empty());
    assert!(
        report.windows_total >= 4,
        "one line, many windows: {report:?}"
    );
    assert_eq!(report.windows_processed, report.windows_total, "{report:?}");
    assert!(report.windows_skipped.is_empty(), "{report:?}");
    assert_eq!(
        report.words_read, report.words_total,
        "read whole: {report:?}"
    );
    assert_eq!(report.claims, 0);
    assert_eq!(llm.calls(), report.windows_total);
}
