//! Fetches every feed of a loopback `feed_farm` twice (plain, then conditional) through
//! `HttpFetcher` and prints the wall time of each round.
//!
//! `cargo run -p podsift-fetch --example farm_fetch -- [N_FEEDS] [CONCURRENCY]`
//!
//! All feeds live on one host (127.0.0.1), so the per-host limits are the knob: this uses
//! `per_host_concurrency = CONCURRENCY` and `per_host_interval_ms = 0`.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use podsift_core::config::HttpConfig;
use podsift_core::{FetchRequest, Fetcher};
use podsift_fetch::HttpFetcher;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let conc: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    let farm = podsift_testkit::feed_farm(n, 0.8).await;
    let cfg = HttpConfig {
        per_host_concurrency: conc,
        per_host_interval_ms: 0,
        ..HttpConfig::default()
    };
    let fetcher = Arc::new(HttpFetcher::new(&cfg, true).expect("fetcher"));

    let started = Instant::now();
    let etags: Vec<Option<String>> = futures::stream::iter(0..n)
        .map(|i| {
            let f = fetcher.clone();
            let url = farm.url(&format!("/feed/{i}.xml"));
            async move {
                f.fetch(FetchRequest::get(url, 1 << 20))
                    .await
                    .expect("fetch")
                    .etag
            }
        })
        .buffered(conc)
        .collect()
        .await;
    let plain = started.elapsed();

    let started = Instant::now();
    let not_modified = futures::stream::iter(etags.into_iter().enumerate())
        .map(|(i, etag)| {
            let f = fetcher.clone();
            let mut req = FetchRequest::get(farm.url(&format!("/feed/{i}.xml")), 1 << 20);
            req.etag = etag;
            async move { f.fetch(req).await.expect("fetch").not_modified }
        })
        .buffered(conc)
        .fold(0usize, |acc, nm| async move { acc + usize::from(nm) })
        .await;
    let conditional = started.elapsed();
    println!(
        "{n} feeds, concurrency {conc}: plain round {:.2?} ({:.0} req/s), conditional round {:.2?} ({:.0} req/s, {not_modified} not modified)",
        plain,
        n as f64 / plain.as_secs_f64(),
        conditional,
        n as f64 / conditional.as_secs_f64(),
    );
}
