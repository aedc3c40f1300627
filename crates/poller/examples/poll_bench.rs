//! Poll benchmark: N feeds on a loopback farm (a separate process), a real SQLite store and the
//! real HTTP fetcher.
//!
//! `cargo run --release -p podsift-poller --example poll_bench -- [N] [NOT_MODIFIED_SHARE] [USERS] [DATABASE_URL]`
//!
//! With USERS > 0 the feeds belong to that many users of a shared instance, 50 subscriptions
//! each, overlapping (every feed has at least one subscriber): the service's poll cycle, where a
//! feed followed by many users is still fetched once. DATABASE_URL (`postgres://…`, an empty
//! database) replaces the SQLite file.
//!
//! Phase 1 (baseline): the first poll of every feed: all 200, full parse, every episode
//! inserted. Phase 2 (the goal's case): a second poll where the given share of feeds answer
//! 304 to the conditional GET and the rest changed. Prints wall time and peak RSS per phase.
//! Politeness limits are relaxed because all feeds share one loopback host.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use podsift_core::config::{HttpConfig, PollConfig};
use podsift_core::store::NewFeed;
use podsift_core::{Clock, FeedMetadata, Store, SystemClock};
use podsift_poller::{Poller, PollerSettings};

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn reset_peak_rss() {
    // Linux: writing 5 resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let share: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0.8);

    let farm_bin = std::env::current_exe()?.with_file_name("feed_farm");
    let mut farm = Command::new(&farm_bin)
        .args([n.to_string(), share.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!(
                "start {} (build the feed_farm example first): {e}",
                farm_bin.display()
            )
        })?;
    let mut line = String::new();
    std::io::BufReader::new(farm.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    let base = line.trim().trim_end_matches('/').to_string();

    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> = match args.next() {
        Some(url) => podsift_store::connect_database(&url).await?,
        None => Arc::new(podsift_store::SqlStore::open(&dir.path().join("bench.db")).await?),
    };
    let http = HttpConfig {
        per_host_concurrency: 64,
        per_host_interval_ms: 0,
        retries: 0,
        ..HttpConfig::default()
    };
    let poll = PollConfig {
        concurrency: 64,
        ..PollConfig::default()
    };
    let fetcher = Arc::new(podsift_fetch::HttpFetcher::new(&http, true)?);
    let clock = Arc::new(SystemClock);
    let feed = |i: usize| NewFeed {
        url: format!("{base}/feed/{i}.xml"),
        metadata: FeedMetadata::default(),
        next_check_at: clock.now(),
    };
    let t = Instant::now();
    if users == 0 {
        let user = store.default_user(clock.now()).await?;
        for i in 0..n {
            store.subscribe(user, &feed(i), clock.now()).await?;
        }
    } else {
        // Feed i's first subscriber is user i % USERS; 49 more per user at pseudo-random
        // (a multiplicative hash), so popular and niche feeds overlap.
        let mut ids = Vec::with_capacity(users);
        for u in 0..users {
            let profile = store
                .add_user(
                    &podsift_core::NewUserProfile {
                        email: format!("user{u}@bench.invalid"),
                        time_zone: "UTC".into(),
                        delivery_time: "07:00".into(),
                        digest_size: 5,
                        interests: None,
                        channels: Vec::new(),
                        next_digest_at: None,
                        feed_token: format!("bench-feed-token-{u:06}"),
                    },
                    clock.now(),
                )
                .await?;
            ids.push(profile.id);
        }
        let mut subs = 0;
        for i in 0..n {
            store
                .subscribe(ids[i % users], &feed(i), clock.now())
                .await?;
            subs += 1;
        }
        for (u, id) in ids.iter().enumerate() {
            for k in 0..49usize {
                let i = (u.wrapping_mul(7919) + k.wrapping_mul(104_729))
                    .wrapping_mul(2_654_435_761)
                    % n;
                store.subscribe(*id, &feed(i), clock.now()).await?;
                subs += 1;
            }
        }
        println!(
            "users: {users}, subscriptions: {subs} over {} feeds (set up in {:.1} s)",
            store.list_feeds(None).await?.len(),
            t.elapsed().as_secs_f64()
        );
    }
    let poller = Poller::new(
        store.clone(),
        fetcher,
        clock,
        PollerSettings::new(&poll, &http),
    );

    println!("feeds: {n}, not-modified share on re-poll: {share}");
    for phase in [
        "first poll (baseline: all 200, full parse + insert)",
        "re-poll (conditional GET)",
    ] {
        reset_peak_rss();
        let t = Instant::now();
        let feeds = store.list_feeds(None).await?;
        let s = poller.poll_feeds(&feeds, |_| {}, |_| {}).await;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{phase}: {secs:.2} s ({:.0} feeds/s), peak RSS {:.1} MB; {} not modified, {} updated, {} failed, {} new episodes",
            n as f64 / secs,
            peak_rss_mb(),
            s.not_modified,
            s.updated,
            s.failed,
            s.new_episodes
        );
    }
    let _ = farm.kill();
    Ok(())
}
