//! Rendering a fixed digest in every format.

mod common;

use std::collections::BTreeSet;

use podsift_core::Digest;
use podsift_digest::render;
use scraper::{Html, Selector};

#[test]
fn every_format_shows_every_insight() {
    let digest = common::fixed_digest();
    let r = render(&digest).unwrap();
    assert_eq!(r.subject, "podsift — 5 insights for Thu 26 Nov");
    for item in &digest.insights {
        let link = item.link.as_deref().unwrap();
        assert!(
            link.ends_with(&format!("#t={}", item.start_seconds.floor() as u64)),
            "{link}"
        );
        // Text and HTML show the text/quote as-is (the fixture has no markup characters
        // except the apostrophe, which HTML escapes).
        for (fmt, out) in [
            ("text", &r.text),
            ("markdown", &r.markdown),
            ("json", &r.json),
        ] {
            let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
            let flat = flat.replace('\\', "");
            for needle in [&item.text, &item.quote, &item.podcast, &item.episode] {
                assert!(flat.contains(needle.as_str()), "{fmt} lacks {needle:?}");
            }
            assert!(out.contains(link), "{fmt} lacks {link}");
        }
        let html = Html::parse_document(&r.html);
        let body_text: String = html.root_element().text().collect::<Vec<_>>().join("");
        let body_text = body_text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [&item.text, &item.quote, &item.podcast, &item.episode] {
            assert!(body_text.contains(needle.as_str()), "html lacks {needle:?}");
        }
        let a = Selector::parse("a[href]").unwrap();
        let hrefs: Vec<_> = html
            .select(&a)
            .filter_map(|e| e.value().attr("href"))
            .collect();
        assert!(hrefs.contains(&link), "html lacks link {link}: {hrefs:?}");
        assert!(hrefs.contains(&item.episode_url.as_deref().unwrap()));
    }
    // The plain text is wrapped (URLs may run past the width: they are never broken).
    for line in r.text.lines() {
        assert!(
            line.chars().count() <= 72
                || line
                    .split_whitespace()
                    .last()
                    .is_some_and(|w| w.starts_with("https://")),
            "long line: {line:?}"
        );
    }
    assert!(
        r.text
            .contains("Listen at 1:00: https://cdn.example.com/1/1.mp3#t=60")
    );
    assert!(
        r.markdown
            .contains("[▶ Listen at 1:00](<https://cdn.example.com/1/1.mp3#t=60>)")
    );
}

#[test]
fn html_is_email_safe() {
    let r = render(&common::fixed_digest()).unwrap();
    let lower = r.html.to_ascii_lowercase();
    for banned in [
        "<link", "<script", "<style", "<img", "<iframe", "url(", "@import",
    ] {
        assert!(!lower.contains(banned), "html contains {banned}");
    }
    assert!(lower.starts_with("<!doctype html>"));
    assert!(r.html.contains("style=\""), "no inline styles");
    assert!(r.html.contains("<table"), "not a table layout");
    assert!(
        r.html
            .contains(r#"name="color-scheme" content="light dark""#)
    );
    let html = Html::parse_document(&r.html);
    let all = Selector::parse("*").unwrap();
    for el in html.select(&all) {
        for (name, value) in el.value().attrs() {
            assert!(!name.starts_with("on"), "event handler {name}");
            if name == "href" || name == "src" {
                assert!(value.starts_with("https://"), "{name}={value}");
            }
        }
    }
    // No background colours: dark-mode clients keep their own.
    assert!(!lower.contains("background"));
}

#[test]
fn json_is_stable_and_round_trips() {
    let digest = common::fixed_digest();
    let r = render(&digest).unwrap();
    let back: Digest = serde_json::from_str(&r.json).unwrap();
    assert_eq!(back, digest);
    let v: serde_json::Value = serde_json::from_str(&r.json).unwrap();
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    };
    let set = |ks: &[&str]| -> BTreeSet<String> { ks.iter().map(|s| s.to_string()).collect() };
    assert_eq!(keys(&v), set(&["date", "user", "insights", "stats"]));
    assert_eq!(v["date"], "2026-11-26");
    assert_eq!(v["user"], "me");
    assert_eq!(
        keys(&v["stats"]),
        set(&[
            "episodes",
            "insights_considered",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "words_content",
            "words_read",
            "episodes_capped"
        ])
    );
    let items = v["insights"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(
            keys(item),
            set(&[
                "rank",
                "text",
                "quote",
                "podcast",
                "episode",
                "episode_url",
                "audio_url",
                "start_seconds",
                "end_seconds",
                "link",
                "score",
                "reasons",
                "insight_id",
            ])
        );
        assert_eq!(item["rank"], i + 1);
        assert!(item["reasons"].is_array());
    }
}

#[test]
fn hostile_fields_are_escaped_everywhere() {
    let mut digest = common::fixed_digest();
    let it = &mut digest.insights[0];
    it.text = "Pay <script>alert(1)</script> & [click](javascript:alert(1)) \u{1b}[31mred".into();
    it.quote = "\"><img src=x onerror=alert(1)>".into();
    it.podcast = "<b onmouseover=alert(1)>Show</b>".into();
    it.episode = "# Heading\n\n- list".into();
    it.episode_url = Some("javascript:alert(1)".into());
    it.link = Some("data:text/html,<script>alert(1)</script>".into());
    it.audio_url = Some("vbscript:msgbox(1)".into());
    let r = render(&digest).unwrap();
    let lower = r.html.to_ascii_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img") && !lower.contains("<b "));
    assert!(lower.contains("&lt;script&gt;"));
    let html = Html::parse_document(&r.html);
    let all = Selector::parse("*").unwrap();
    for el in html.select(&all) {
        for (name, value) in el.value().attrs() {
            assert!(!name.starts_with("on"), "event handler {name}");
            if name == "href" || name == "src" {
                assert!(value.starts_with("https://"), "{name}={value}");
            }
        }
    }
    // The first item has no links now (3 per item: title, moment, page); the others keep theirs.
    assert_eq!(
        html.select(&Selector::parse("a[href]").unwrap()).count(),
        4 * 3
    );
    // Markdown: no raw HTML, no link to javascript:, no heading/list injected.
    // Every `<` is escaped, or opens one of podsift's own `](<https://...>)` destinations.
    let md = r.markdown.replace("](<https://", "");
    let bytes = md.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'<' {
            assert!(
                i > 0 && bytes[i - 1] == b'\\',
                "raw < in markdown at {i}: {md}"
            );
        }
    }
    let unescaped = r.markdown.replace("\\](", "");
    assert!(!unescaped.contains("](javascript") && !unescaped.contains("](<javascript"));
    assert!(!unescaped.contains("](data") && !unescaped.contains("](<data"));
    assert!(r.markdown.contains(r"\<script\>"));
    assert!(
        !r.markdown
            .lines()
            .any(|l| l.starts_with("# Heading") || l.starts_with("- list"))
    );
    // Text: no terminal escape sequences.
    assert!(!r.text.contains('\u{1b}'));
    assert!(!r.markdown.contains('\u{1b}') && !r.html.contains('\u{1b}'));
}

#[test]
fn empty_digest_renders() {
    let mut digest = common::fixed_digest();
    digest.insights.clear();
    let r = render(&digest).unwrap();
    assert_eq!(r.subject, "podsift — no new insights for Thu 26 Nov");
    assert!(r.text.contains("No new insights"));
    assert!(r.html.contains("No new insights"));
    assert!(r.markdown.contains("No new insights"));
}

/// Each format's text with markup removed and whitespace collapsed: what a reader sees.
fn visible(r: &podsift_core::RenderedDigest) -> Vec<(&'static str, String)> {
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let html = Html::parse_document(&r.html);
    let body: String = html.root_element().text().collect::<Vec<_>>().join(" ");
    vec![
        ("text", flat(&r.text)),
        ("markdown", flat(&r.markdown.replace('\\', ""))),
        ("html", flat(&body)),
    ]
}

#[test]
fn footer_says_how_much_was_read() {
    let r = render(&common::fixed_digest()).unwrap();
    for (fmt, out) in visible(&r) {
        let read = out
            .find("Read 100 % of 7 episodes (52,310 words).")
            .unwrap_or_else(|| panic!("{fmt} lacks the coverage line: {out}"));
        let cost = out.find("From 7 episodes").unwrap();
        assert!(read < cost, "{fmt}: coverage comes first");
    }
    // Its own line in every format.
    assert!(
        r.text
            .lines()
            .any(|l| l == "Read 100 % of 7 episodes (52,310 words).")
    );
    assert!(
        r.markdown
            .lines()
            .any(|l| l == "Read 100 % of 7 episodes (52,310 words).")
    );
    assert!(r.html.contains("(52,310 words).<br>From 7 episodes"));
}

#[test]
fn footer_names_capped_episodes() {
    let mut digest = common::fixed_digest();
    digest.stats.episodes = 4;
    digest.stats.words_read = 33_478;
    digest.stats.episodes_capped = 2;
    let r = render(&digest).unwrap();
    let line = "Read 64 % of 4 episodes (33,478 of 52,310 words): 2 were capped by an [llm] \
                budget; see podsift episodes.";
    for (fmt, out) in visible(&r) {
        assert!(out.contains(line), "{fmt} lacks {line:?}: {out}");
        assert!(!out.contains("Read 100 %"), "{fmt}");
    }
    // One capped episode: singular.
    digest.stats.episodes_capped = 1;
    let r = render(&digest).unwrap();
    assert!(r.text.contains("1 was capped"), "{}", r.text);
}

#[test]
fn footer_never_rounds_a_partial_read_up_to_everything() {
    let mut digest = common::fixed_digest();
    digest.stats.words_read = 52_300; // 99.98 %: windows skipped, no cap
    let r = render(&digest).unwrap();
    for (fmt, out) in visible(&r) {
        assert!(
            out.contains(
                "Read 99 % of 7 episodes (52,300 of 52,310 words); see podsift episodes for what \
                 was skipped."
            ),
            "{fmt}: {out}"
        );
    }
}

#[test]
fn digest_without_word_counts_has_no_coverage_line() {
    // A digest stored before podsift counted words: its stats deserialise with zeros, and
    // the footer does not claim that everything was read.
    let mut v: serde_json::Value = serde_json::to_value(common::fixed_digest()).unwrap();
    let stats = v["stats"].as_object_mut().unwrap();
    for k in ["words_content", "words_read", "episodes_capped"] {
        stats.remove(k);
    }
    let old: Digest = serde_json::from_value(v).unwrap();
    assert_eq!(old.stats.words_content, 0);
    let r = render(&old).unwrap();
    for (fmt, out) in visible(&r) {
        assert!(!out.contains("Read "), "{fmt}: {out}");
        assert!(out.contains("From 7 episodes"), "{fmt}: {out}");
    }
}

/// Writes the fixture's renderings to `PODSIFT_DIGEST_DUMP` (a directory) for eyeballing.
#[test]
fn dump_when_asked() {
    if let Ok(dir) = std::env::var("PODSIFT_DIGEST_DUMP") {
        let r = render(&common::fixed_digest()).unwrap();
        std::fs::write(format!("{dir}/d.txt"), &r.text).unwrap();
        std::fs::write(format!("{dir}/d.md"), &r.markdown).unwrap();
        std::fs::write(format!("{dir}/d.html"), &r.html).unwrap();
    }
}
