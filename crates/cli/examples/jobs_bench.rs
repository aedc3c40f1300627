//! Jobs per second through 1, 2, 4 … `podsift worker` processes sharing one PostgreSQL
//! database. Every episode has a publisher transcript on loopback and the LLM is a scripted
//! API that answers at once, so the figure is the pipeline's own overhead: claiming, leases
//! and heartbeats, transcript download and parse, windowing, grounding, the database writes.
//!
//! ```text
//! cargo build --release -p podsift-cli --bin podsift --example jobs_bench
//! target/release/examples/jobs_bench target/release/podsift 1000 1,2,4
//! ```
//!
//! Each worker count gets a fresh database on `PODSIFT_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and the same EPISODES (5 per feed): the
//! feeds are subscribed (which queues one transcript job per episode), then the workers start
//! and the clock runs until every episode's extraction job is done. Two jobs per episode.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use podsift_core::{JobKind, JobState, Store};
use podsift_testkit::pg::TestDb;
use podsift_testkit::{Route, ScriptedLlm, TestServer};

const PER_FEED: usize = 5;

fn vtt(n: usize) -> String {
    format!(
        "WEBVTT\n\n00:00:01.000 --> 00:00:06.000\n<v Host>Story {n}: the council approved {n} new bike lanes this week.\n\n\
         00:00:06.500 --> 00:00:12.000\n<v Host>The plan for story {n} costs {n} million and a parking fee pays for it.\n\n\
         00:00:12.500 --> 00:00:18.000\n<v Guest>Cycling to work doubled in the three years before story {n}.\n"
    )
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let bin = args
        .next()
        .ok_or("usage: jobs_bench PODSIFT_BIN [EPISODES] [WORKERS,…]")?;
    let episodes: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let counts: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,2,4".into())
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let feeds = episodes.div_ceil(PER_FEED);
    let episodes = feeds * PER_FEED;

    let srv = TestServer::start().await;
    let mut urls = Vec::new();
    for f in 0..feeds {
        let mut items = String::new();
        for e in 0..PER_FEED {
            let n = f * PER_FEED + e;
            srv.route(&format!("/t/{n}.vtt"), Route::ok(vtt(n), "text/vtt"));
            items.push_str(&format!(
                "<item><title>Episode {n}</title><guid>ep-{n}</guid>\
                 <pubDate>Mon, 0{} Jun 2025 10:00:00 +0000</pubDate>\
                 <enclosure url=\"https://cdn.example.com/{n}.mp3\" type=\"audio/mpeg\" length=\"1\"/>\
                 <podcast:transcript url=\"{}\" type=\"text/vtt\"/></item>",
                e + 1,
                srv.url(&format!("/t/{n}.vtt"))
            ));
        }
        srv.route(
            &format!("/f/{f}.xml"),
            Route::ok(
                format!(
                    "<rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\">\
                     <channel><title>Show {f}</title>{items}</channel></rss>"
                ),
                "application/rss+xml",
            ),
        );
        urls.push(srv.url(&format!("/f/{f}.xml")));
    }
    let llm = ScriptedLlm::start().await;
    println!(
        "{episodes} episodes ({feeds} feeds), 2 jobs each (transcript download, extraction); \
         scripted instant LLM; PostgreSQL"
    );
    println!("| worker processes | jobs | wall time | jobs/s | peak RSS per worker |");
    println!("|---|---|---|---|---|");
    for &workers in &counts {
        let Some(db) = TestDb::create().await else {
            return Err("PostgreSQL not reachable".into());
        };
        let dir = tempfile::tempdir()?;
        let env: Vec<(&str, String)> = vec![
            ("PODSIFT_DATABASE_URL", db.url.clone()),
            ("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0".into()),
            ("PODSIFT_HTTP__PER_HOST_CONCURRENCY", "64".into()),
            ("PODSIFT_POLL__INITIAL_EPISODES", PER_FEED.to_string()),
            ("PODSIFT_ASR__ENGINE", "off".into()),
            ("PODSIFT_LLM__ENGINE", "openai".into()),
            ("PODSIFT_LLM__BASE_URL", llm.base_url()),
            ("PODSIFT_LLM__MODEL", "scripted".into()),
            ("PODSIFT_LLM__CONCURRENCY", "4".into()),
            ("PODSIFT_SERVICE__WORKER_IDLE_MS", "100".into()),
            ("RUST_LOG", "warn".into()),
        ];
        let cmd = |args: &[&str]| {
            let mut c = Command::new(&bin);
            c.arg("--data-dir")
                .arg(dir.path())
                .arg("--quiet")
                .args(args)
                .env("PODSIFT_HTTP__ALLOW_HOSTS", r#"["127.0.0.1"]"#)
                .env("XDG_CONFIG_HOME", dir.path().join("no-config"));
            for (k, v) in &env {
                c.env(k, v);
            }
            c
        };
        for chunk in urls.chunks(100) {
            let mut args = vec!["subscribe"];
            args.extend(chunk.iter().map(String::as_str));
            let out = cmd(&args).output()?;
            if !out.status.success() {
                return Err(
                    format!("subscribe failed: {}", String::from_utf8_lossy(&out.stderr)).into(),
                );
            }
        }
        let store: Arc<dyn Store> = podsift_store::connect_database(&db.url).await?;
        let t = Instant::now();
        let mut procs: Vec<Child> = (0..workers)
            .map(|i| {
                let log = std::fs::File::create(dir.path().join(format!("worker-{i}.log")))?;
                cmd(&["worker"]).stdout(Stdio::null()).stderr(log).spawn()
            })
            .collect::<Result<_, _>>()?;
        let mut peaks = vec![0.0f64; workers];
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for (p, c) in peaks.iter_mut().zip(&procs) {
                *p = p.max(peak_rss_mb(c.id()));
            }
            let jobs = store.list_jobs(None, 100_000).await?;
            // Episodes whose extraction job is done (a racing second job for one, completed
            // without work, is not counted twice).
            let done = jobs
                .iter()
                .filter(|j| j.kind == JobKind::ExtractInsights && j.state == JobState::Done)
                .filter_map(|j| j.episode_id())
                .collect::<std::collections::HashSet<_>>()
                .len();
            let dead = jobs.iter().filter(|j| j.state == JobState::Dead).count();
            if dead > 0 {
                return Err(format!("{dead} dead jobs; see {}", dir.path().display()).into());
            }
            if done == episodes {
                break;
            }
            if t.elapsed() > Duration::from_secs(1800) {
                return Err("not done in 30 min".into());
            }
        }
        let secs = t.elapsed().as_secs_f64();
        for c in &mut procs {
            let _ = c.kill();
            let _ = c.wait();
        }
        let peak = peaks.iter().cloned().fold(0.0, f64::max);
        println!(
            "| {workers} | {} | {secs:.1} s | {:.0} | {peak:.0} MB |",
            2 * episodes,
            (2 * episodes) as f64 / secs
        );
        drop(store);
        db.drop_db().await;
    }
    Ok(())
}
