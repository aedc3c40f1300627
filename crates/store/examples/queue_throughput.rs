//! Job-queue throughput of a store: enqueue N jobs, then W concurrent tasks claim and complete
//! them until the queue is empty; prints jobs per second for each W. Use an empty database:
//!
//! ```text
//! createdb -h 127.0.0.1 -U postgres podsift_bench
//! cargo run --release -p podsift-store --example queue_throughput -- \
//!     postgres://postgres@127.0.0.1/podsift_bench 2000 1,2,4,8
//! cargo run --release -p podsift-store --example queue_throughput -- sqlite:///tmp/q.db 2000 1,2,4
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use podsift_core::jobs::{JobKind, NewJob};
use podsift_core::store::{Store, StoreError};

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1/podsift_bench".into());
    let jobs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2000);
    let workers: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,2,4,8".into())
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    let store = podsift_store::connect(&url).await?;
    println!("store {}", podsift_store::redact_url(&url));
    for (round, &w) in workers.iter().enumerate() {
        let start = Instant::now();
        for i in 0..jobs {
            let job = NewJob {
                kind: JobKind::FetchTranscript,
                dedupe_key: format!("bench-{round}-{i}"),
                payload: serde_json::json!({ "episode_id": i }),
                run_after: Utc::now(),
                max_attempts: 3,
            };
            store.enqueue(&job, Utc::now()).await?;
        }
        let enqueue = start.elapsed();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for t in 0..w {
            let store: Arc<dyn Store> = store.clone();
            tasks.push(tokio::spawn(async move {
                let worker = format!("bench-{t}");
                let mut n = 0usize;
                while let Some(j) = store
                    .claim(JobKind::ALL, &worker, Duration::from_secs(60), Utc::now())
                    .await?
                {
                    store.complete(j.id, &worker, Utc::now()).await?;
                    n += 1;
                }
                Ok::<usize, StoreError>(n)
            }));
        }
        let mut done = 0;
        for t in tasks {
            done += t
                .await
                .map_err(|e| StoreError::Permanent(e.to_string()))??;
        }
        let run = start.elapsed();
        println!(
            "workers {w}: enqueue {:.0} jobs/s; claim+complete {done} jobs in {:.2} s = {:.0} jobs/s",
            jobs as f64 / enqueue.as_secs_f64(),
            run.as_secs_f64(),
            done as f64 / run.as_secs_f64()
        );
    }
    Ok(())
}
