//! Atom 1.0 and JSON Feed 1.1 documents of a user's digests.

mod common;

use chrono::NaiveDate;
use podsift_core::Digest;
use podsift_digest::feed::{FeedOptions, JSON_FEED_VERSION, atom, entry_id, json_feed};
use quick_xml::events::Event;
use scraper::{Html, Selector};
use serde_json::Value;

const SELF_URL: &str = "https://podsift.example.com/feeds/me/atom.xml?token=abc&x=1";

fn digests() -> Vec<(i64, Digest)> {
    let mut a = common::fixed_digest();
    a.date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
    let b = common::fixed_digest(); // 2026-11-26
    let mut empty = common::fixed_digest();
    empty.date = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    empty.insights.clear();
    // Deliberately out of order: the feed lists newest first.
    vec![(41, a), (40, empty), (42, b)]
}

fn hostile() -> Digest {
    let mut d = common::fixed_digest();
    for it in &mut d.insights {
        it.podcast = "<script>alert('x')</script> ]]> <![CDATA[ & \u{1b}[31m".into();
        it.episode = "<img src=x onerror=alert(1)> \"quoted\" 'single'".into();
        it.text = "Text with </content></entry><entry> and &amp; entity".into();
        it.quote = "\u{0}\u{8}\u{FFFE} nulls".into();
        it.link = Some("javascript:alert(1)".into());
        it.episode_url = Some("https://ex.com/\"><script>".into());
    }
    d.user = "me<&>".into();
    d
}

/// A parsed Atom document: (entry id, updated, content html) per entry, plus feed fields.
struct Parsed {
    feed_id: String,
    title: String,
    updated: String,
    self_href: Option<String>,
    entries: Vec<(String, String, String, String)>,
}

/// Parses with quick-xml, failing on any malformed XML; returns the text of the fields.
fn parse_atom(xml: &str) -> Parsed {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut p = Parsed {
        feed_id: String::new(),
        title: String::new(),
        updated: String::new(),
        self_href: None,
        entries: Vec::new(),
    };
    let mut cur = (String::new(), String::new(), String::new(), String::new());
    let mut text = String::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = e.name().into_inner().to_string();
                if name == "feed" {
                    let ns = e
                        .try_get_attribute("xmlns")
                        .unwrap()
                        .unwrap()
                        .normalized_value(quick_xml::XmlVersion::default())
                        .unwrap()
                        .into_owned();
                    assert_eq!(ns, "http://www.w3.org/2005/Atom");
                }
                if name == "content" {
                    let ty = e.try_get_attribute("type").unwrap().unwrap();
                    assert_eq!(&*ty.value, "html");
                }
                stack.push(name);
                text.clear();
            }
            Event::Empty(e) if e.name().into_inner() == "link" => {
                let rel = e.try_get_attribute("rel").unwrap().unwrap();
                if &*rel.value == "self" {
                    let href = e.try_get_attribute("href").unwrap().unwrap();
                    p.self_href = Some(
                        href.normalized_value(quick_xml::XmlVersion::default())
                            .unwrap()
                            .into_owned(),
                    );
                }
            }
            Event::Text(t) => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                // quick-xml reports entity references separately: resolve the predefined ones.
                let name = AsRef::<str>::as_ref(&r).to_string();
                let ch = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity &{other};"),
                };
                text.push_str(ch);
            }
            Event::CData(_) => panic!("no CDATA expected"),
            Event::End(e) => {
                let name = e.name().into_inner().to_string();
                let parent = stack.len().checked_sub(2).map(|i| stack[i].clone());
                match (parent.as_deref(), name.as_str()) {
                    (Some("feed"), "id") => p.feed_id = text.clone(),
                    (Some("feed"), "title") => p.title = text.clone(),
                    (Some("feed"), "updated") => p.updated = text.clone(),
                    (Some("entry"), "id") => cur.0 = text.clone(),
                    (Some("entry"), "updated") => cur.1 = text.clone(),
                    (Some("entry"), "content") => cur.2 = text.clone(),
                    (Some("entry"), "title") => cur.3 = text.clone(),
                    (Some("feed"), "entry") => p.entries.push(std::mem::take(&mut cur)),
                    _ => {}
                }
                stack.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    p
}

#[test]
fn atom_is_well_formed_with_stable_ids_and_dates() {
    let ds = digests();
    let xml = atom(&ds, SELF_URL, &FeedOptions::default());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    let p = parse_atom(&xml);
    assert_eq!(p.title, "podsift digests for me");
    assert_eq!(p.feed_id, "tag:podsift.example.com,2026:podsift/feed/me");
    assert_eq!(p.updated, "2026-11-26T00:00:00Z");
    assert_eq!(p.self_href.as_deref(), Some(SELF_URL));
    let ids: Vec<&str> = p.entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        ids,
        [
            "tag:podsift.example.com,2026-11-26:podsift/digest/42",
            "tag:podsift.example.com,2026-11-25:podsift/digest/41",
            "tag:podsift.example.com,2026-11-24:podsift/digest/40",
        ]
    );
    assert_eq!(p.entries[0].1, "2026-11-26T00:00:00Z");
    assert_eq!(p.entries[0].3, "podsift — 5 insights for Thu 26 Nov 2026");
    assert_eq!(
        p.entries[2].3,
        "podsift — no new insights for Tue 24 Nov 2026"
    );
    // Content: the HTML fragment, with every insight and its moment link.
    let html = Html::parse_fragment(&p.entries[0].2);
    let li = Selector::parse("ol > li").unwrap();
    assert_eq!(html.select(&li).count(), 5);
    let a = Selector::parse("a[href]").unwrap();
    let hrefs: Vec<&str> = html
        .select(&a)
        .filter_map(|e| e.value().attr("href"))
        .collect();
    for it in &ds[2].1.insights {
        assert!(hrefs.contains(&it.link.as_deref().unwrap()), "{hrefs:?}");
    }
    // Same input, same bytes (no clock in the document); ids do not depend on the order or
    // on the other digests present.
    assert_eq!(xml, atom(&ds, SELF_URL, &FeedOptions::default()));
    let alone = atom(&ds[2..], SELF_URL, &FeedOptions::default());
    assert_eq!(parse_atom(&alone).entries[0].0, ids[0]);
    assert_eq!(
        entry_id(SELF_URL, 42, ds[2].1.date),
        "tag:podsift.example.com,2026-11-26:podsift/digest/42"
    );
}

#[test]
fn atom_escapes_hostile_text() {
    let ds = vec![(7, hostile())];
    let opts = FeedOptions {
        title: Some("My <feed> & \"stuff\"".into()),
        home_page_url: Some("javascript:alert(1)".into()),
    };
    let xml = atom(&ds, SELF_URL, &opts);
    assert!(!xml.contains('\u{0}') && !xml.contains('\u{1b}') && !xml.contains('\u{FFFE}'));
    let p = parse_atom(&xml);
    assert_eq!(p.title, "My <feed> & \"stuff\"");
    assert_eq!(p.entries.len(), 1);
    assert!(!xml.contains("javascript"), "{xml}");
    // The content, once XML-unescaped, is HTML in which the hostile text is only text.
    let content = &p.entries[0].2;
    let html = Html::parse_fragment(content);
    for bad in ["script", "img", "entry", "content"] {
        let sel = Selector::parse(bad).unwrap();
        assert_eq!(html.select(&sel).count(), 0, "<{bad}> in {content}");
    }
    let text: String = html.root_element().text().collect();
    assert!(text.contains("<script>alert('x')</script>"), "{text}");
    assert!(text.contains("</content></entry><entry>"), "{text}");
    assert!(text.contains("&amp; entity"), "{text}");
    // Every attribute is an http(s) href or rel.
    let any = Selector::parse("*").unwrap();
    for el in html.select(&any) {
        for (k, v) in el.value().attrs() {
            assert!(k == "href" || k == "rel", "{k}={v}");
            if k == "href" {
                assert!(
                    v.starts_with("https://") && !v.contains('"') && !v.contains('<'),
                    "{v}"
                );
            }
        }
    }
}

#[test]
fn json_feed_required_fields() {
    let ds = digests();
    let opts = FeedOptions {
        title: None,
        home_page_url: Some("https://podsift.example.com/".into()),
    };
    let v: Value = serde_json::from_str(&json_feed(&ds, SELF_URL, &opts)).unwrap();
    assert_eq!(v["version"], JSON_FEED_VERSION);
    assert_eq!(v["title"], "podsift digests for me");
    assert_eq!(v["feed_url"], SELF_URL);
    assert_eq!(v["home_page_url"], "https://podsift.example.com/");
    assert_eq!(v["authors"][0]["name"], "podsift");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    for it in items {
        // Required: a string id, and content_html or content_text.
        assert!(it["id"].is_string());
        assert!(it["content_html"].is_string() && it["content_text"].is_string());
        let published = it["date_published"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(published).is_ok());
    }
    assert_eq!(
        items[0]["id"],
        "tag:podsift.example.com,2026-11-26:podsift/digest/42"
    );
    assert!(
        items[0]["content_text"]
            .as_str()
            .unwrap()
            .contains(common::TEXTS[0])
    );
    // The ids are the Atom ids.
    let atom_ids: Vec<String> = parse_atom(&atom(&ds, SELF_URL, &opts))
        .entries
        .into_iter()
        .map(|e| e.0)
        .collect();
    let json_ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(atom_ids, json_ids);
}

#[test]
fn json_feed_escapes_hostile_html() {
    let v: Value = serde_json::from_str(&json_feed(
        &[(7, hostile())],
        SELF_URL,
        &FeedOptions::default(),
    ))
    .unwrap();
    let html = v["items"][0]["content_html"].as_str().unwrap();
    let doc = Html::parse_fragment(html);
    for bad in ["script", "img"] {
        assert_eq!(
            doc.select(&Selector::parse(bad).unwrap()).count(),
            0,
            "{html}"
        );
    }
    assert!(!html.contains("javascript"));
    assert!(html.contains("&lt;script&gt;"));
    assert_eq!(v["title"], "podsift digests for me<&>");
}

#[test]
fn empty_feed_is_valid() {
    let p = parse_atom(&atom(&[], "not a url", &FeedOptions::default()));
    assert!(p.entries.is_empty());
    assert_eq!(p.feed_id, "tag:localhost,2026:podsift/feed/");
    assert!(p.self_href.is_none());
    let v: Value = serde_json::from_str(&json_feed(&[], "x", &FeedOptions::default())).unwrap();
    assert_eq!(v["items"], serde_json::json!([]));
    assert!(v.get("feed_url").is_none());
}
