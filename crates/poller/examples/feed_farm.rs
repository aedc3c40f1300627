//! A loopback farm of podcast feeds in its own process (so the poller's memory is measured
//! alone): `feed_farm N SHARE` prints `http://127.0.0.1:PORT` and serves until killed.

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let share: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0.8);
    let srv = podsift_testkit::feed_farm(n, share).await;
    println!("{}", srv.url(""));
    // Serve until the parent kills us.
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    }
}
