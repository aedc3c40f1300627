//! Parse throughput on a deterministic ~5.4 MB, 2,000-item podcast feed:
//! podsift vs the `feed-rs` and `rss` crates. Run: `cargo bench -p podsift-feeds --bench parse`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn parse(c: &mut Criterion) {
    let xml = podsift_feeds::synth::synthetic_feed(2000);
    let bytes = xml.as_bytes();
    let mut g = c.benchmark_group("parse_5mb_2000_items");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.sample_size(30);
    g.measurement_time(std::time::Duration::from_secs(8));
    g.bench_function("podsift", |b| {
        b.iter(|| {
            let f = podsift_feeds::parse_feed(black_box(bytes), None).unwrap();
            assert_eq!(f.episodes.len(), 2000);
            f
        })
    });
    g.bench_function("feed-rs", |b| {
        b.iter(|| {
            let f = feed_rs::parser::parse(black_box(bytes)).unwrap();
            assert_eq!(f.entries.len(), 2000);
            f
        })
    });
    g.bench_function("rss", |b| {
        b.iter(|| {
            let ch = rss::Channel::read_from(black_box(bytes)).unwrap();
            assert_eq!(ch.items().len(), 2000);
            ch
        })
    });
    g.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
