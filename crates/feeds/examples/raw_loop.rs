//! Throughput ceiling check: quick-xml events alone vs the full parse (not a test).
fn main() {
    let xml = podsift_feeds::synth::synthetic_feed(2000);
    let n: u32 = std::env::var("ITER")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let only_full = std::env::args().any(|a| a == "full");
    let t = std::time::Instant::now();
    for _ in 0..if only_full { 0 } else { n } {
        let mut r = quick_xml::reader::Reader::from_str(&xml);
        r.config_mut().check_end_names = false;
        let mut c = 0usize;
        loop {
            match r.read_event() {
                Ok(quick_xml::events::Event::Eof) | Err(_) => break,
                Ok(_) => c += 1,
            }
        }
        std::hint::black_box(c);
    }
    let raw = t.elapsed().as_secs_f64() / f64::from(n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(podsift_feeds::parse_feed(xml.as_bytes(), None).unwrap());
    }
    let full = t.elapsed().as_secs_f64() / f64::from(n);
    let mb = xml.len() as f64 / 1e6;
    println!(
        "raw quick-xml: {:.1} MB/s, podsift: {:.1} MB/s",
        mb / raw,
        mb / full
    );
}
