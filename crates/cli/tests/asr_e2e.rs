//! Speech-to-text end to end: an episode synthesised with espeak-ng from a known script,
//! encoded to MP3 and served over loopback inside a feed with no transcript. `podsift poll`
//! queues it, `podsift transcribe` downloads and transcribes it with whisper.cpp (the
//! project's ggml conversion of tiny.en, Silero VAD), and the stored transcript has the
//! script's words at the times they were spoken. Broken audio in the same feed fails per
//! episode, with the reason, and is retried later. Skips loudly without the test assets,
//! espeak-ng or ffmpeg (`scripts/ci-deps` installs them).

use std::path::Path;
use std::process::{Command, Output};

use podsift_testkit::{Route, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

fn podsift(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .arg("--allow-private-networks")
        .args(args)
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0")
        .env("RUST_LOG", "error");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run podsift")
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "podsift failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `[asr] max_audio_hours_per_user_per_day`: once the show's only subscriber (the local
/// user) has used today's time, the next episode waits for tomorrow, untouched, and says
/// why; what was transcribed is counted against the day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_daily_speech_to_text_time_is_capped() {
    let Some(podsift_testkit::SpeechInputs {
        model,
        vad,
        espeak,
        ffmpeg,
    }) = podsift_testkit::speech_inputs("asr_e2e")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (mp3, _) = synthesise(work.path(), &espeak, &ffmpeg);
    let srv = TestServer::start().await;
    srv.route("/a.mp3", Route::ok(mp3.clone(), "audio/mpeg"));
    srv.route("/b.mp3", Route::ok(mp3, "audio/mpeg"));
    let item = |guid: &str, path: &str, day: u32| {
        format!(
            r#"<item><title>{guid}</title><guid>{guid}</guid><pubDate>Mon, {day:02} Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="{}" type="audio/mpeg" length="1"/></item>"#,
            srv.url(path)
        )
    };
    let feed = format!(
        r#"<rss version="2.0"><channel><title>City Desk</title><link>https://example.com/</link>
<language>en-us</language>{}{}</channel></rss>"#,
        item("a", "/a.mp3", 2),
        item("b", "/b.mp3", 3)
    );
    srv.route("/feed.xml", Route::ok(feed, "application/rss+xml"));
    let dir = tempfile::tempdir().unwrap();
    let mut env = speech_env(&model, &vad, None);
    // 18 s a day: the first episode (about half a minute) uses it up.
    env.push((
        "PODSIFT_ASR__MAX_AUDIO_HOURS_PER_USER_PER_DAY",
        "0.005".to_string(),
    ));
    let report = subscribe_and_transcribe(dir.path(), &env, &srv);
    assert_eq!(report["summary"]["done"], 1, "{report:#}");
    assert_eq!(report["summary"]["retrying"], 1, "{report:#}");
    assert_eq!(
        srv.hits("/a.mp3") + srv.hits("/b.mp3"),
        1,
        "the second episode was downloaded"
    );
    let jobs: serde_json::Value =
        serde_json::from_str(&ok(&podsift(dir.path(), &env, &["jobs", "--json"]))).unwrap();
    let waiting: Vec<&serde_json::Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "transcribe" && j["state"] == "queued")
        .collect();
    assert_eq!(waiting.len(), 1, "{jobs:#}");
    let why = waiting[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        why.contains("waiting for tomorrow") && why.contains("max_audio_hours_per_user_per_day"),
        "{why}"
    );
    // Run again the same day: still waiting, nothing downloaded.
    let again: serde_json::Value =
        serde_json::from_str(&ok(&podsift(dir.path(), &env, &["transcribe", "--json"]))).unwrap();
    assert_eq!(again["summary"]["done"], 0, "{again:#}");
    assert_eq!(srv.hits("/a.mp3") + srv.hits("/b.mp3"), 1);
}

/// The environment of a speech-to-text run: the test model, the VAD model, one thread, and
/// `[asr] max_episode_minutes` when given.
fn speech_env(model: &Path, vad: &Path, max_minutes: Option<&str>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("PODSIFT_ASR__MODEL_PATH", model.display().to_string()),
        ("PODSIFT_ASR__VAD_MODEL_PATH", vad.display().to_string()),
        ("PODSIFT_ASR__THREADS", "1".to_string()),
    ];
    if let Some(m) = max_minutes {
        env.push(("PODSIFT_ASR__MAX_EPISODE_MINUTES", m.to_string()));
    }
    env
}

/// Subscribes to the server's `/feed.xml`, polls and transcribes: `transcribe --json`.
fn subscribe_and_transcribe(
    dir: &Path,
    env: &[(&str, String)],
    srv: &TestServer,
) -> serde_json::Value {
    ok(&podsift(dir, env, &["subscribe", &srv.url("/feed.xml")]));
    ok(&podsift(dir, env, &["poll", "--all"]));
    let out = ok(&podsift(dir, env, &["transcribe", "--json"]));
    serde_json::from_str(&out).expect("transcribe --json")
}

const SCRIPT: &[&str] = &[
    "Welcome back to the city desk podcast.",
    "The council voted to build five hundred new bike lanes by next summer.",
    "The plan is paid for by a new parking fee downtown.",
    "Next week we talk to the mayor about the housing budget.",
];

/// Pauses after each sentence (seconds): a long one in the middle, as around an ad break.
const PAUSES: &[f64] = &[1.0, 12.0, 2.0, 3.0];

/// Writes 16 kHz mono 16-bit WAV.
fn write_wav(path: &Path, samples: &[i16]) {
    let mut out = Vec::new();
    let data = (samples.len() * 2) as u32;
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// Synthesises the script: each sentence spoken by espeak-ng (resampled to 16 kHz by
/// ffmpeg), then its pause. Returns the episode as MP3 bytes and each sentence's start.
fn synthesise(dir: &Path, espeak: &Path, ffmpeg: &Path) -> (Vec<u8>, Vec<f64>) {
    let mut all: Vec<i16> = Vec::new();
    let mut starts = Vec::new();
    for (i, sentence) in SCRIPT.iter().enumerate() {
        let wav = dir.join(format!("s{i}.wav"));
        let raw = dir.join(format!("s{i}.raw"));
        let status = Command::new(espeak)
            .args(["-v", "en-us", "-s", "150", "-w"])
            .arg(&wav)
            .arg(sentence)
            .status()
            .unwrap();
        assert!(status.success());
        let status = Command::new(ffmpeg)
            .args(["-nostdin", "-y", "-loglevel", "error", "-i"])
            .arg(&wav)
            .args(["-ac", "1", "-ar", "16000", "-f", "s16le"])
            .arg(&raw)
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = std::fs::read(&raw).unwrap();
        starts.push(all.len() as f64 / 16_000.0);
        all.extend(
            bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
        all.extend(std::iter::repeat_n(0i16, (PAUSES[i] * 16_000.0) as usize));
    }
    let wav = dir.join("episode.wav");
    write_wav(&wav, &all);
    let mp3 = dir.join("episode.mp3");
    let status = Command::new(ffmpeg)
        .args(["-nostdin", "-y", "-loglevel", "error", "-i"])
        .arg(&wav)
        .args(["-c:a", "libmp3lame", "-b:a", "48k", "-ar", "22050"])
        .arg(&mp3)
        .status()
        .unwrap();
    assert!(status.success());
    (std::fs::read(&mp3).unwrap(), starts)
}

fn words(s: &str) -> Vec<String> {
    s.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_episode_gets_a_timed_transcript_and_bad_audio_fails_per_episode() {
    let Some(podsift_testkit::SpeechInputs {
        model,
        vad,
        espeak,
        ffmpeg,
    }) = podsift_testkit::speech_inputs("asr_e2e")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (mp3, starts) = synthesise(work.path(), &espeak, &ffmpeg);
    let total = starts.last().unwrap() + 8.0;

    let srv = TestServer::start().await;
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    srv.route("/ep1.mp3", Route::ok(mp3, "audio/mpeg"));
    srv.route("/ep2.mp3", Route::ok(noise, "audio/mpeg"));
    srv.route("/ep3.mp3", Route::ok(Vec::new(), "audio/mpeg"));
    let item = |guid: &str, title: &str, path: &str, day: u32| {
        format!(
            r#"<item><title>{title}</title><guid>{guid}</guid><pubDate>Mon, {day:02} Jun 2025 10:00:00 +0000</pubDate>
<itunes:duration>{}</itunes:duration><enclosure url="{}" type="audio/mpeg" length="1"/></item>"#,
            total as u32,
            srv.url(path)
        )
    };
    let feed = format!(
        r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>City Desk</title><link>https://example.com/</link><language>en-us</language>
{}{}{}</channel></rss>"#,
        item("ep-1", "Bike lanes", "/ep1.mp3", 2),
        item("ep-2", "Noise", "/ep2.mp3", 3),
        item("ep-3", "Empty", "/ep3.mp3", 4),
    );
    srv.route("/feed.xml", Route::ok(feed, "application/rss+xml"));

    let dir = tempfile::tempdir().unwrap();
    let env = speech_env(&model, &vad, None);
    let report = subscribe_and_transcribe(dir.path(), &env, &srv);
    eprintln!("{report:#}");
    assert_eq!(report["summary"]["done"], 1, "{report}");
    assert_eq!(report["summary"]["retrying"], 2, "{report}");
    let errors = report["errors"].to_string();
    assert!(errors.contains("empty"), "0-byte file named: {errors}");
    assert!(
        errors.contains("corrupt") || errors.contains("no speech"),
        "{errors}"
    );

    // The good episode's transcript: the script's words, at the times they were spoken.
    let episodes: serde_json::Value =
        serde_json::from_str(&ok(&podsift(dir.path(), &env, &["episodes", "--json"]))).unwrap();
    let ep = episodes
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["title"] == "Bike lanes")
        .expect("episode ep-1");
    assert!(
        ep["transcript_source"]
            .as_str()
            .is_some_and(|s| s.contains("tiny.en")),
        "source recorded: {ep}"
    );
    let id = ep["id"].as_i64().unwrap().to_string();
    let transcript: serde_json::Value = serde_json::from_str(&ok(&podsift(
        dir.path(),
        &env,
        &["transcript", &id, "--format", "json"],
    )))
    .unwrap();
    let segments = transcript["segments"].as_array().expect("segments");
    assert!(!segments.is_empty());
    let heard: Vec<(f64, String)> = segments
        .iter()
        .map(|s| {
            (
                s["startTime"].as_f64().unwrap(),
                s["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (t, text) in &heard {
        eprintln!("[{t:6.2}] {text}");
    }
    let all_words: Vec<String> = heard.iter().flat_map(|(_, t)| words(t)).collect();
    let script_words: Vec<String> = SCRIPT.iter().flat_map(|s| words(s)).collect();
    let found = script_words
        .iter()
        .filter(|w| all_words.contains(w))
        .count();
    assert!(
        found * 100 >= script_words.len() * 85,
        "only {found}/{} script words were heard",
        script_words.len()
    );
    // Each sentence's distinctive word is in a segment that starts within 1.5 s of it.
    for (key, start) in ["welcome", "council", "parking", "mayor"]
        .iter()
        .zip(&starts)
    {
        let seg = heard
            .iter()
            .find(|(_, t)| words(t).iter().any(|w| w == key))
            .unwrap_or_else(|| panic!("no segment has {key:?}"));
        eprintln!("{key:?}: spoken at {start:.2} s, segment at {:.2} s", seg.0);
        assert!(
            (seg.0 - start).abs() <= 1.5,
            "{key:?} spoken at {start:.2} s, segment starts at {:.2} s",
            seg.0
        );
    }
    // The audio was deleted once transcribed.
    let audio_left: Vec<_> = std::fs::read_dir(dir.path().join("audio"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(audio_left.is_empty(), "audio kept: {audio_left:?}");

    // The broken episodes are queued for a later retry, with their reasons visible.
    let jobs: serde_json::Value =
        serde_json::from_str(&ok(&podsift(dir.path(), &env, &["jobs", "--json"]))).unwrap();
    let failed: Vec<&serde_json::Value> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "transcribe" && j["state"] == "queued")
        .collect();
    assert_eq!(failed.len(), 2, "{jobs:#}");
    assert!(
        failed
            .iter()
            .all(|j| j["last_error"].as_str().is_some_and(|e| !e.is_empty()))
    );

    // SRT export of the machine transcript works like a publisher's.
    let srt = ok(&podsift(
        dir.path(),
        &env,
        &["transcript", &id, "--format", "srt"],
    ));
    assert!(
        srt.contains("-->") && srt.to_lowercase().contains("council"),
        "{srt}"
    );
}

/// `[asr] max_episode_minutes`: an episode longer than the limit is not transcribed, and
/// says why. By the feed's duration it is not even downloaded; a feed that gives no
/// duration is caught by the file's own length, before the engine hears any of it. Both
/// jobs end for good (a longer wait changes nothing), their reasons in `podsift jobs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn episodes_over_the_length_limit_are_not_transcribed() {
    let Some(podsift_testkit::SpeechInputs { model, vad, .. }) =
        podsift_testkit::speech_inputs("asr_e2e")
    else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    // 30 s of a quiet tone: over a limit of 0.2 minutes (12 s).
    let tone: Vec<i16> = (0..30 * 16_000)
        .map(|i| ((i as f64 * 0.0785).sin() * 3000.0) as i16)
        .collect();
    let wav = work.path().join("tone.wav");
    write_wav(&wav, &tone);
    let srv = TestServer::start().await;
    srv.route("/long.mp3", Route::ok(vec![0u8; 1000], "audio/mpeg"));
    srv.route(
        "/tone.wav",
        Route::ok(std::fs::read(&wav).unwrap(), "audio/wav"),
    );
    let feed = format!(
        r#"<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel>
<title>Marathon</title><link>https://example.com/</link><language>en-us</language>
<item><title>All day</title><guid>long</guid><pubDate>Mon, 02 Jun 2025 10:00:00 +0000</pubDate>
<itunes:duration>05:00:00</itunes:duration><enclosure url="{}" type="audio/mpeg" length="1"/></item>
<item><title>Tone</title><guid>tone</guid><pubDate>Tue, 03 Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="{}" type="audio/wav" length="1"/></item>
</channel></rss>"#,
        srv.url("/long.mp3"),
        srv.url("/tone.wav")
    );
    srv.route("/feed.xml", Route::ok(feed, "application/rss+xml"));
    let dir = tempfile::tempdir().unwrap();
    let env = speech_env(&model, &vad, Some("0.2"));
    let report = subscribe_and_transcribe(dir.path(), &env, &srv);
    assert_eq!(report["summary"]["dead"], 2, "{report:#}");
    assert_eq!(report["summary"]["done"], 0, "{report:#}");
    assert_eq!(srv.hits("/long.mp3"), 0, "a 5-hour episode was downloaded");
    assert_eq!(srv.hits("/tone.wav"), 1);

    let jobs: serde_json::Value =
        serde_json::from_str(&ok(&podsift(dir.path(), &env, &["jobs", "--json"]))).unwrap();
    let errors: Vec<String> = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "transcribe" && j["state"] == "dead")
        .map(|j| j["last_error"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{jobs:#}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("5 h long (by the feed)") && e.contains("max_episode_minutes")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("30 s long (by the audio file)") && e.contains("12 s limit")),
        "{errors:?}"
    );
    // Nothing transcribed, no audio left behind.
    let audio_left: Vec<_> = std::fs::read_dir(dir.path().join("audio"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(audio_left.is_empty(), "audio kept: {audio_left:?}");
}
