//! `podsift serve` rides out its dependencies' outages without losing or repeating work:
//! - a 429 storm from the LLM API (two requests in three answered `429 Retry-After: 1`);
//! - its PostgreSQL server crashing (`pg_ctl -m immediate`) mid-run and coming back;
//! - the SMTP server down when the digests are due, then back.
//!
//! Real parts: a PostgreSQL server of the test's own (initdb in a temp dir, so it can be
//! crashed), aiosmtpd, feeds and transcripts on loopback. The LLM is a scripted
//! OpenAI-compatible server, because a storm of 429s is what a real one cannot be made to
//! produce; its answers quote the transcript it was sent, so insights are grounded.
//!
//! Skips loudly without PostgreSQL's server binaries or aiosmtpd.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use podsift_core::{JobKind, JobState, Store};
use podsift_testkit::pg::TempCluster;
use podsift_testkit::{Route, ScriptedLlm, Smtp, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

const LINES: [&str; 4] = [
    "The tram line to the airport opens in May after six years of work.",
    "The river cleanup removed forty tonnes of plastic in one summer.",
    "The new bridge carries only bikes, buses and people on foot.",
    "A food market opens every Sunday in the old train depot.",
];

fn command(dir: &Path, env: &[(String, String)], args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(dir)
        .arg("--quiet")
        .args(args)
        // The service refuses --allow-private-networks: the loopback test servers are let
        // through as an administrator would let a home server through.
        .env("PODSIFT_HTTP__ALLOW_HOSTS", r#"["127.0.0.1"]"#)
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .env_remove("PODSIFT_CONFIG")
        .env_remove("PODSIFT_USER");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

fn wait_for(
    what: &str,
    limit: Duration,
    serve: &mut Child,
    log: &Path,
    mut done: impl FnMut() -> bool,
) {
    let deadline = Instant::now() + limit;
    while !done() {
        if let Ok(Some(status)) = serve.try_wait() {
            panic!(
                "podsift serve exited ({status}) while waiting for {what}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn serve_survives_a_429_storm_a_database_crash_and_an_smtp_outage() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let Some(mut smtp) = Smtp::start_or_skip("outages") else {
        return;
    };
    let Some(pg) = TempCluster::start() else {
        podsift_testkit::skip(
            "outages",
            "needs PostgreSQL's server binaries (scripts/ensure-postgres)",
        );
        return;
    };
    smtp.stop(); // down when the digests are due

    // Two requests in three answered `429 Retry-After: 1`.
    let llm = rt.block_on(ScriptedLlm::throttling(2, 3));
    let srv = rt.block_on(TestServer::start());
    let mut feed_urls = Vec::new();
    for f in 0..2 {
        let mut items = String::new();
        for e in 0..2 {
            let n = f * 2 + e;
            let vtt = format!(
                "WEBVTT\n\n00:00:02.000 --> 00:00:08.000\n<v Host>{}\n\n00:00:09.000 --> 00:00:15.000\n<v Host>That is all for today.\n",
                LINES[n]
            );
            srv.route(&format!("/t{n}.vtt"), Route::ok(vtt, "text/vtt"));
            items.push_str(&format!(
                r#"<item><title>Episode {n}</title><guid>ep-{n}</guid>
<pubDate>Mon, 0{} Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="https://cdn.example.com/ep{n}.mp3" type="audio/mpeg" length="1"/>
<podcast:transcript url="{}" type="text/vtt"/></item>"#,
                e + 1,
                srv.url(&format!("/t{n}.vtt"))
            ));
        }
        srv.route(
            &format!("/feed{f}.xml"),
            Route::ok(
                format!(
                    r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Town {f}</title><link>https://example.com/{f}</link>{items}</channel></rss>"#
                ),
                "application/rss+xml",
            ),
        );
        feed_urls.push(srv.url(&format!("/feed{f}.xml")));
    }

    let db_url = pg.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let env: Vec<(String, String)> = [
        ("PODSIFT_DATABASE_URL", db_url.clone()),
        ("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0".into()),
        ("PODSIFT_ASR__ENGINE", "off".into()),
        ("PODSIFT_RANKING__ENGINE", "simple".into()),
        ("PODSIFT_LLM__ENGINE", "openai".into()),
        ("PODSIFT_LLM__BASE_URL", llm.base_url()),
        ("PODSIFT_LLM__MODEL", "scripted".into()),
        ("PODSIFT_LLM__RETRIES", "6".into()),
        ("PODSIFT_LLM__TIMEOUT_SECS", "10".into()),
        ("PODSIFT_LLM__CONCURRENCY", "2".into()),
        ("PODSIFT_EMAIL__SMTP_HOST", "127.0.0.1".into()),
        ("PODSIFT_EMAIL__SMTP_PORT", smtp.port.to_string()),
        ("PODSIFT_EMAIL__TLS", "none".into()),
        ("PODSIFT_EMAIL__TIMEOUT_SECS", "3".into()),
        ("PODSIFT_SERVICE__POLL_EVERY_SECS", "2".into()),
        ("PODSIFT_SERVICE__SCHEDULE_EVERY_SECS", "1".into()),
        ("PODSIFT_SERVICE__WORKER_IDLE_MS", "200".into()),
        ("PODSIFT_SERVICE__JOB_LEASE_SECS", "3".into()),
        ("PODSIFT_SERVICE__DELIVERY_RETRY_SECS", "1".into()),
        ("PODSIFT_SERVICE__SHUTDOWN_GRACE_SECS", "5".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    let run = |args: &[&str]| {
        let out = command(dir.path(), &env, args).output().expect("podsift");
        assert!(
            out.status.success(),
            "podsift {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let at = (Utc::now() - chrono::Duration::hours(1))
        .format("%H:%M")
        .to_string();
    for (email, feeds) in [
        ("ann@example.org", &[0][..]),
        ("bob@example.org", &[0, 1][..]),
    ] {
        run(&["users", "add", email, "--tz", "UTC", "--at", &at]);
        let mut args = vec!["--user", email, "subscribe"];
        args.extend(feeds.iter().map(|&f| feed_urls[f].as_str()));
        run(&args);
    }

    let log = dir.path().join("serve.log");
    let log_file = std::fs::File::create(&log).expect("log");
    let mut serve = command(dir.path(), &env, &["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(log_file.try_clone().expect("log"))
        .stderr(log_file)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn serve");

    let store: Arc<dyn Store> = rt
        .block_on(podsift_store::connect_database(&db_url))
        .expect("open the database");
    let jobs_state = |kind: JobKind| {
        let jobs = rt.block_on(store.list_jobs(None, 1000)).expect("list jobs");
        let of: Vec<_> = jobs.into_iter().filter(|j| j.kind == kind).collect();
        let dead: Vec<String> = of
            .iter()
            .filter(|j| j.state == JobState::Dead)
            .map(|j| format!("{:?}", j.last_error))
            .collect();
        assert!(dead.is_empty(), "dead {kind:?} jobs: {dead:?}");
        (
            of.len(),
            of.iter().filter(|j| j.state == JobState::Done).count(),
        )
    };

    // The storm is on from the first request; the database crashes once the model has
    // been asked for a few windows, with extraction still under way.
    wait_for(
        "LLM requests",
        Duration::from_secs(120),
        &mut serve,
        &log,
        || llm.requests() >= 4,
    );
    assert!(pg.crash(), "pg_ctl stop -m immediate");
    std::thread::sleep(Duration::from_secs(4));
    assert!(pg.resume(), "restart PostgreSQL");
    eprintln!(
        "PostgreSQL crashed and restarted after {} LLM requests",
        llm.requests()
    );
    wait_for(
        "all 4 episodes extracted",
        Duration::from_secs(240),
        &mut serve,
        &log,
        || {
            let (n, done) = jobs_state(JobKind::ExtractInsights);
            n == 4 && done == 4
        },
    );

    // Today's slot (an hour ago) becomes due; SMTP is down.
    let users: Vec<_> = rt
        .block_on(store.list_users())
        .expect("users")
        .into_iter()
        .filter(|u| u.email != "local")
        .collect();
    for u in &users {
        let first = u.next_digest_at.expect("scheduled");
        assert!(
            rt.block_on(store.advance_next_digest(
                u.id,
                Some(first),
                Some(first - chrono::Duration::days(1))
            ))
            .expect("reschedule")
        );
    }
    let today = Utc::now().date_naive();
    let digest_of = |u: &podsift_core::UserProfile| {
        rt.block_on(store.get_digest(u.id, today))
            .expect("digest")
            .or_else(|| {
                rt.block_on(store.get_digest(u.id, today.pred_opt().unwrap_or(today)))
                    .expect("digest")
            })
    };
    let deliveries = |u: &podsift_core::UserProfile| {
        digest_of(u)
            .map(|(id, _)| rt.block_on(store.list_deliveries(id)).expect("outbox"))
            .unwrap_or_default()
    };
    wait_for(
        "failed deliveries while SMTP is down",
        Duration::from_secs(60),
        &mut serve,
        &log,
        || {
            users.iter().all(|u| {
                deliveries(u)
                    .iter()
                    .any(|d| d.attempts >= 1 && d.last_error.is_some())
            })
        },
    );
    assert!(smtp.messages().is_empty());
    assert!(smtp.resume(), "SMTP back");
    wait_for(
        "deliveries after SMTP is back",
        Duration::from_secs(90),
        &mut serve,
        &log,
        || {
            users.iter().all(|u| {
                let d = deliveries(u);
                !d.is_empty() && d.iter().all(|d| d.state == "sent")
            })
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    // Still the same process: it rode out every outage.
    assert!(serve.try_wait().expect("wait").is_none(), "serve exited");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(serve.id().to_string())
        .status();
    let status = serve.wait().expect("wait");
    assert!(status.success(), "serve exit after SIGTERM: {status}");

    // Every episode extracted once, every user emailed once.
    let (n, done) = jobs_state(JobKind::ExtractInsights);
    assert_eq!((n, done), (4, 4));
    let messages = smtp.messages();
    for u in &users {
        let to_user: Vec<&String> = messages
            .iter()
            .filter(|m| podsift_testkit::smtp::header(m, "To") == Some(u.email.as_str()))
            .collect();
        assert_eq!(to_user.len(), 1, "{}: {} emails", u.email, to_user.len());
    }
    assert_eq!(messages.len(), users.len());
    let throttled = llm.throttled();
    assert!(throttled >= 4, "the storm happened: {throttled} 429s");
    eprintln!(
        "outages passed: {} LLM requests, {throttled} answered 429; one email per user after the SMTP outage",
        llm.requests()
    );
}
