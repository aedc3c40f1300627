//! `sanitize_html` on arbitrary text: idempotent, and its output holds no `<script`, no
//! `on*=` event-handler attribute and no link other than `http`, `https` or `mailto`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_digest::sanitize_html;

/// The attributes (name, raw value) of every tag in `html`, which is ammonia's
/// serialisation: text `<` is always escaped, so every `<` opens a tag or a comment.
fn attributes(html: &str) -> Vec<(String, String)> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        // Tag name.
        i += 1;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
            i += 1;
        }
        // Attributes up to the closing `>` (outside quotes).
        loop {
            while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
                i += 1;
            }
            if i >= b.len() || b[i] == b'>' {
                break;
            }
            let start = i;
            while i < b.len() && !matches!(b[i], b'=' | b'>' | b'/') && !b[i].is_ascii_whitespace()
            {
                i += 1;
            }
            let name = html[start..i].to_ascii_lowercase();
            let mut value = String::new();
            if i < b.len() && b[i] == b'=' {
                i += 1;
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let q = b[i];
                    let vs = i + 1;
                    i = vs;
                    while i < b.len() && b[i] != q {
                        i += 1;
                    }
                    value = html[vs..i.min(b.len())].to_string();
                    i += 1;
                } else {
                    let vs = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = html[vs..i].to_string();
                }
            }
            out.push((name, value));
        }
    }
    out
}

/// Undoes the entity escaping ammonia applies to attribute values.
fn unescape(v: &str) -> String {
    v.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else {
        return;
    };
    let once = sanitize_html(html);
    let twice = sanitize_html(&once);
    assert_eq!(once, twice, "not idempotent for {html:?}");
    assert!(
        !once.to_ascii_lowercase().contains("<script"),
        "<script in {once:?}"
    );
    for (name, value) in attributes(&once) {
        assert!(!name.starts_with("on"), "event handler {name} in {once:?}");
        assert!(
            matches!(name.as_str(), "href" | "title" | "rel"),
            "unexpected attribute {name} in {once:?}"
        );
        if name == "href" {
            // As a browser reads it: tabs and newlines removed, leading controls and spaces
            // trimmed; the scheme is what comes before the first `:`.
            let url: String = unescape(&value)
                .chars()
                .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                .collect::<String>()
                .trim_start_matches(|c: char| c <= ' ')
                .to_ascii_lowercase();
            let scheme = url.split(':').next().unwrap_or("");
            assert!(
                url.contains(':') && matches!(scheme, "http" | "https" | "mailto"),
                "link {url:?} in {once:?}"
            );
        }
    }
});
