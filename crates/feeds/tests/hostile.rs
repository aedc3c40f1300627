//! Hostile XML (defusedxml's test data): every file is refused or parsed without entity
//! expansion or external access. Each file is tried as-is (feed and OPML parser) and
//! rewritten into a feed that keeps its DOCTYPE and uses its entities in a `<title>`,
//! so the parser really meets the references. Timings are printed, not asserted.

mod common;

use std::time::Instant;

/// Keeps the DOCTYPE (with its internal subset) and puts the body's text into a feed title.
fn as_feed(src: &str) -> String {
    let (doctype, body) = match src.find("<!DOCTYPE") {
        Some(i) => {
            let rest = &src[i..];
            let end = rest
                .find("]>")
                .map(|j| j + 2)
                .or_else(|| rest.find('>').map(|j| j + 1))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        }
        None => ("", src),
    };
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    format!(
        "{doctype}\n<rss><channel><title>{}</title></channel></rss>",
        text.trim()
    )
}

#[test]
fn defusedxml_files_are_harmless() {
    let Some(root) = common::corpora("defusedxml_files_are_harmless") else {
        return;
    };
    let dir = root.join("05_hostile/defusedxml/xmltestdata");
    let files = common::files(&dir, &|_| true);
    assert!(files.len() >= 10, "found {}", files.len());
    for p in &files {
        let bytes = std::fs::read(p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy();
        let t = Instant::now();
        let direct = podsift_feeds::parse_feed(&bytes, None);
        let opml = podsift_feeds::opml::parse_opml(&bytes);
        let wrapped = as_feed(&String::from_utf8_lossy(&bytes));
        let feed = podsift_feeds::parse_feed(wrapped.as_bytes(), None);
        let elapsed = t.elapsed();
        let direct_desc = match &direct {
            Ok(f) => format!("parsed, {} items", f.episodes.len()),
            Err(e) => format!("refused ({e})"),
        };
        println!(
            "{name}: as-is {direct_desc}; opml {:?}; wrapped {:?} ({elapsed:?})",
            opml.as_ref().map(Vec::len),
            feed.as_ref().map(|f| f.title.as_ref().map(String::len))
        );
        // Whatever came out is no bigger than what went in: nothing was expanded.
        if let Ok(f) = &direct {
            let out = serde_json::to_string(f).unwrap();
            assert!(out.len() < bytes.len() * 2 + 4096, "{name}: output grew");
        }
        let f = feed.unwrap_or_else(|e| panic!("{name}: wrapped feed refused: {e}"));
        let title = f.title.unwrap_or_default();
        assert!(
            title.len() <= wrapped.len(),
            "{name}: title expanded to {} bytes",
            title.len()
        );
        assert!(
            !title.contains("1234567890"),
            "{name}: internal entity expanded"
        );
        assert!(!title.contains("<note>"), "{name}: external entity fetched");
    }
}

/// A generated billion-laughs bomb (10 levels of 10): refused or left unexpanded; does not
/// need the corpora.
#[test]
fn generated_bomb_is_harmless() {
    let mut s =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 \"lol\">\n");
    for i in 1..=10 {
        s.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    s.push_str("]>\n<rss><channel><title>&lol10;</title><item><title>&lol10;&lol10;</title><description>&lol9;</description></item></channel></rss>");
    let t = Instant::now();
    let f = podsift_feeds::parse_feed(s.as_bytes(), None).unwrap();
    println!("generated bomb parsed in {:?}", t.elapsed());
    assert_eq!(f.title.as_deref(), Some("&lol10;"));
    assert_eq!(f.episodes[0].title.as_deref(), Some("&lol10;&lol10;"));
    assert!(f.warnings.iter().any(|w| w.contains("lol10")));
}

/// A quadratic blow-up (one big entity referenced many times) stays small.
#[test]
fn generated_quadratic_is_harmless() {
    let big = "B".repeat(50_000);
    let refs = "&a;".repeat(50_000);
    let s = format!(
        "<!DOCTYPE q [<!ENTITY a \"{big}\">]><rss><channel><title>{refs}</title></channel></rss>"
    );
    let f = podsift_feeds::parse_feed(s.as_bytes(), None).unwrap();
    assert_eq!(f.title.map(|t| t.len()), Some(refs.len()));
}
