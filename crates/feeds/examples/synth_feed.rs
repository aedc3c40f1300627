//! Writes the benchmark's synthetic feed to a file:
//! `cargo run -p podsift-feeds --example synth_feed -- OUT.xml [ITEMS]`.

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .unwrap_or_else(|| "synthetic-feed.xml".to_string());
    let items = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let xml = podsift_feeds::synth::synthetic_feed(items);
    std::fs::write(&out, &xml)?;
    println!("wrote {} bytes, {items} items, to {out}", xml.len());
    Ok(())
}
