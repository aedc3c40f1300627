//! The Atom feed of digests built from fuzzed insight text, titles, user names and URLs:
//! never panics, is well-formed XML (quick-xml with end-name and attribute checks, only
//! the predefined entities, every character allowed in XML 1.0), with one `<feed>` root.
#![no_main]

use arbitrary::Arbitrary;
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use podsift_core::{Digest, DigestItem, DigestStats};
use podsift_digest::feed::{FeedOptions, atom};
use quick_xml::events::Event;

#[derive(Debug, Arbitrary)]
struct Item {
    text: String,
    quote: String,
    podcast: String,
    episode: String,
    episode_url: Option<String>,
    audio_url: Option<String>,
    link: Option<String>,
    start_seconds: f64,
    end_seconds: f64,
    reasons: Vec<String>,
    insight_id: i64,
}

#[derive(Debug, Arbitrary)]
struct Input {
    self_url: String,
    title: Option<String>,
    home_page_url: Option<String>,
    digests: Vec<(i64, i32, String, Vec<Item>, Option<String>)>,
}

fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_well_formed(xml: &str) {
    if let Some(bad) = xml.chars().find(|&c| !xml_char(c)) {
        panic!("character {bad:?} not allowed in XML 1.0:\n{xml}");
    }
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("not well-formed ({e}):\n{xml}"));
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if depth == 0 {
                    roots += 1;
                    assert_eq!(e.name().into_inner(), "feed", "root is not <feed>");
                }
                for a in e.attributes() {
                    let a = a.unwrap_or_else(|err| panic!("bad attribute ({err}):\n{xml}"));
                    assert!(!a.value.contains('<'), "< in an attribute:\n{xml}");
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(_) => depth -= 1,
            Event::GeneralRef(r) => {
                let name: &str = &r;
                assert!(
                    matches!(name, "amp" | "lt" | "gt" | "quot" | "apos") || name.starts_with('#'),
                    "undefined entity &{name}; in:\n{xml}"
                );
            }
            Event::Text(t) => assert!(depth > 0 || t.trim().is_empty()),
            Event::CData(_) | Event::DocType(_) => panic!("unexpected CDATA/DOCTYPE:\n{xml}"),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0, "unclosed elements:\n{xml}");
    assert_eq!(roots, 1, "{roots} root elements:\n{xml}");
}

fuzz_target!(|input: Input| {
    let digests: Vec<(i64, Digest)> = input
        .digests
        .into_iter()
        .take(8)
        .map(|(id, day, user, items, short)| {
            let date = NaiveDate::from_num_days_from_ce_opt(day.rem_euclid(3_000_000))
                .unwrap_or(NaiveDate::MIN);
            let insights = items
                .into_iter()
                .take(16)
                .enumerate()
                .map(|(rank, it)| DigestItem {
                    rank: rank + 1,
                    text: it.text,
                    quote: it.quote,
                    podcast: it.podcast,
                    episode: it.episode,
                    episode_url: it.episode_url,
                    audio_url: it.audio_url,
                    start_seconds: it.start_seconds,
                    end_seconds: it.end_seconds,
                    link: it.link,
                    score: 0.5,
                    reasons: it.reasons,
                    insight_id: it.insight_id,
                })
                .collect();
            let stats = DigestStats {
                short,
                ..DigestStats::default()
            };
            (
                id,
                Digest {
                    date,
                    user,
                    insights,
                    stats,
                },
            )
        })
        .collect();
    let opts = FeedOptions {
        title: input.title,
        home_page_url: input.home_page_url,
    };
    check_well_formed(&atom(&digests, &input.self_url, &opts));
});
