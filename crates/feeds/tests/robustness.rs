//! Deterministic mutation fuzzing: mangled feeds, OPML, HTML and dates never panic.
//! (No corpora needed; a tiny LCG keeps it reproducible.)

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    r#"<?xml version="1.0" encoding="UTF-8"?><rss xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><title>T&amp;é</title><link>https://x.example/</link><item><title>A</title><guid>g</guid><pubDate>Mon, 01 Jan 2024 05:00:00 GMT</pubDate><description><![CDATA[<p>x</p>]]></description><enclosure url="a.mp3" length="1" type="audio/mpeg"/><itunes:duration>1:02:03</itunes:duration><podcast:transcript url="t.vtt" type="text/vtt"/><podcast:person role="host">P</podcast:person></item></channel></rss>"#,
    r#"<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://b/"><title type="xhtml"><div>x</div></title><entry><id>1</id><link href="e"/><updated>2024-01-01T00:00:00Z</updated><content type="html">&lt;b&gt;x</content></entry></feed>"#,
    r#"<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><rss><channel><title>&b;&nbsp;&#x1F600;&#0;&#99999999;</title></channel></rss>"#,
    r#"<opml version="2.0"><body><outline text="F"><outline text="Caf&eacute;" xmlUrl="http://a/&amp;x" htmlUrl="h"/></outline></body></opml>"#,
    r#"<html><head><link rel="alternate" type="application/rss+xml" href="/f.xml"><base href="https://b/"></head></html>"#,
];

const SPICE: &[&[u8]] = &[
    b"<",
    b">",
    b"&",
    b";",
    b"</",
    b"/>",
    b"\"",
    b"'",
    b"]]>",
    b"<![CDATA[",
    b"<!--",
    b"&#x",
    b"\xC2\x92",
    b"\xFF",
    b"\xFE\xFF",
    b":",
    b"xmlns:a=\"",
    b"\x00",
    b"\xE2\x82",
];

fn mutate(rng: &mut Lcg, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(4) {
            0 => v.truncate(at),
            1 => {
                let s = SPICE[rng.below(SPICE.len())];
                v.splice(at..at, s.iter().copied());
            }
            2 if at < v.len() => {
                v[at] = rng.next() as u8;
            }
            _ => {
                let end = (at + rng.below(20)).min(v.len());
                v.drain(at..end);
            }
        }
    }
    v
}

#[test]
fn mutated_inputs_never_panic() {
    let mut rng = Lcg(0x5eed);
    let mut parsed = 0usize;
    let rounds: usize = std::env::var("FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    for i in 0..rounds {
        let seed = SEEDS[i % SEEDS.len()].as_bytes();
        let input = mutate(&mut rng, seed);
        if let Ok(f) = podsift_feeds::parse_feed(&input, Some("https://base.example/feed")) {
            parsed += 1;
            let _ = podsift_feeds::to_upserts(&f);
        }
        let _ = podsift_feeds::opml::parse_opml(&input);
        let _ = podsift_feeds::sniff(&input, Some("text/html"));
        let _ = podsift_feeds::discover_feed_links(&input, "https://base.example/page");
        let text = String::from_utf8_lossy(&input);
        let head: String = text.chars().take(60).collect();
        let _ = podsift_feeds::parse_date(&head);
        let _ = podsift_feeds::parse_duration(&head);
    }
    println!("mutation fuzz: {rounds} inputs, {parsed} parsed as feeds");
    assert!(parsed > 1000);
}

#[test]
fn mangled_dates_and_durations_never_panic() {
    let mut rng = Lcg(7);
    let alphabet: Vec<char> = "0123456789 :+-,.TZAPMESTGUadfjmnoprstuvy\u{e9}\u{2013}"
        .chars()
        .collect();
    for _ in 0..50_000 {
        let len = rng.below(40);
        let s: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let _ = podsift_feeds::parse_date(&s);
        let _ = podsift_feeds::parse_duration(&s);
    }
}
