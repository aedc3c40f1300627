//! Real and regression feeds from other parsers' suites: how many parse into a feed with at
//! least one item or a title. Also: partytime's Podcasting 2.0 feed yields its tags.

mod common;

use std::path::Path;
use std::time::Instant;

struct Tally {
    total: usize,
    useful: usize,
    empty: usize,
    not_feed: usize,
    errors: usize,
}

fn run_suite(root: &Path, rel: &str, exts: &[&str]) -> Tally {
    let dir = root.join(rel);
    let files = common::files(&dir, &|p| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| exts.contains(&e))
    });
    let mut t = Tally {
        total: 0,
        useful: 0,
        empty: 0,
        not_feed: 0,
        errors: 0,
    };
    let start = Instant::now();
    for p in &files {
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        t.total += 1;
        match podsift_feeds::parse_feed(&bytes, Some("https://example.com/feed.xml")) {
            Ok(f) if !f.episodes.is_empty() || f.title.is_some() => t.useful += 1,
            Ok(_) => {
                t.empty += 1;
                if std::env::var_os("PODSIFT_SHOW_EMPTY").is_some() {
                    println!("  empty {}", p.display());
                }
            }
            Err(
                e @ (podsift_feeds::FeedError::NotAFeed(_) | podsift_feeds::FeedError::NotXml(_)),
            ) => {
                t.not_feed += 1;
                println!("  not a feed {}: {e}", p.display());
            }
            Err(e) => {
                t.errors += 1;
                println!("  error {}: {e}", p.display());
            }
        }
    }
    println!(
        "{rel}: {} files, {} with items/title, {} parsed but empty, {} not a feed, {} errors ({:?})",
        t.total,
        t.useful,
        t.empty,
        t.not_feed,
        t.errors,
        start.elapsed()
    );
    t
}

#[test]
fn real_feed_suites() {
    let Some(root) = common::corpora("real_feed_suites") else {
        return;
    };
    let base = "01_feeds/peer-suites/";
    // (folder, extensions, minimum files with items or a title: a floor near what we get)
    let suites: &[(&str, &[&str], usize)] = &[
        // Most gofeed/feedparser "empty" files are one-element snippets (a channel
        // description alone, an author alone): parsed fine, no title and no items.
        ("feed-rs/feed-rs/fixture", &["xml"], 62),
        ("gofeed/testdata", &["xml"], 305),
        ("rss-parser-npm/test/input", &["rss", "atom", "xml"], 29),
        // feedjira's other 7 are HTML fragments / an XHTML page, correctly "not a feed".
        ("feedjira", &["xml"], 34),
        ("rust-syndication-rss", &["xml"], 20),
        ("antennapod", &["xml"], 9),
        ("partytime", &["xml"], 11),
        ("feedparser/tests/wellformed", &["xml"], 1255),
        ("feedparser/tests/illformed", &["xml"], 15),
    ];
    let mut failures = Vec::new();
    let (mut total, mut useful) = (0, 0);
    for (rel, exts, floor) in suites {
        let t = run_suite(&root, &format!("{base}{rel}"), exts);
        total += t.total;
        useful += t.useful;
        if t.useful < *floor {
            failures.push(format!("{rel}: {} < floor {floor}", t.useful));
        }
    }
    println!("all suites: {useful}/{total} files yield a feed with items or a title");
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn partytime_podcasting20_feed() {
    let Some(root) = common::corpora("partytime_podcasting20_feed") else {
        return;
    };
    let p = root.join("01_feeds/peer-suites/partytime/src/parser/__test__/fixtures/pc20rss.xml");
    let f = podsift_feeds::parse_feed(&std::fs::read(p).unwrap(), None).unwrap();
    assert_eq!(f.episodes.len(), 56);
    let transcripts: usize = f.episodes.iter().map(|e| e.transcripts.len()).sum();
    let chapters = f.episodes.iter().filter(|e| e.chapters.is_some()).count();
    let persons: usize =
        f.episodes.iter().map(|e| e.persons.len()).sum::<usize>() + f.persons.len();
    println!("pc20rss.xml: {transcripts} transcripts, {chapters} chapters, {persons} persons");
    assert_eq!(transcripts, 47);
    assert_eq!(chapters, 48);
    // 18 tags, two of them empty (`<podcast:person/>`): a person needs a name.
    assert_eq!(persons, 16);
    let e = &f.episodes[0];
    assert_eq!(
        e.transcripts[0].url,
        "https://mp3s.nashownotes.com/PC20-57-Captions.srt"
    );
    assert_eq!(
        e.transcripts[0].mime_type.as_deref(),
        Some("application/srt")
    );
    assert_eq!(e.persons[0].name, "Adam Curry");
    assert_eq!(e.persons[0].role.as_deref(), Some("host"));
    assert_eq!(
        e.persons[0].img.as_deref(),
        Some("https://feeds.podcastindex.org/adam_avatar.jpg")
    );
    assert_eq!(e.persons[2].role.as_deref(), Some("guest"));
}
