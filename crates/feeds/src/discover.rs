//! Content sniffing and feed autodiscovery in HTML pages.
//!
//! HTML is not XML, so discovery uses a small hand-written tag scanner over the `<head>`
//! (pulling in a full HTML5 parser for `<link>` tags would be far heavier than needed).

use url::Url;

use crate::text::unescape;

/// What a fetched document looks like, from a cheap look at its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sniffed {
    /// An RSS/RDF/Atom feed.
    Feed,
    /// An HTML page (look for `<link rel="alternate">` with [`discover_feed_links`]).
    Html,
    /// Something else; a short description such as `"PDF document"`, `"JSON"`, `"binary data"`.
    Other(String),
}

const SNIFF_BYTES: usize = 4096;

/// Classifies a document from its first few KB and (as a tie-breaker) its Content-Type.
pub fn sniff(bytes: &[u8], content_type: Option<&str>) -> Sniffed {
    let magic: &[(&[u8], &str)] = &[
        (b"%PDF", "PDF document"),
        (b"\x89PNG", "PNG image"),
        (b"\xFF\xD8\xFF", "JPEG image"),
        (b"GIF8", "GIF image"),
        (b"ID3", "MP3 audio"),
        (b"OggS", "Ogg media"),
        (b"fLaC", "FLAC audio"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"\x1F\x8B", "gzip data"),
        (b"RIFF", "RIFF media"),
        (b"WEBVTT", "WebVTT subtitles"),
    ];
    for (m, what) in magic {
        if bytes.starts_with(m) {
            return Sniffed::Other((*what).to_string());
        }
    }
    if bytes.len() > 8 && &bytes[4..8] == b"ftyp" {
        return Sniffed::Other("MP4 media".to_string());
    }
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    let text: String = if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        let enc = if head[0] == 0xFF {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        enc.decode_without_bom_handling(&head[2..]).0.into_owned()
    } else {
        if head.contains(&0) {
            return Sniffed::Other("binary data".to_string());
        }
        String::from_utf8_lossy(head).into_owned()
    };
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if t.is_empty() {
        return Sniffed::Other("an empty document".to_string());
    }
    if t.starts_with('{') || t.starts_with('[') {
        return Sniffed::Other(
            if ct.contains("feed+json") {
                "JSON Feed"
            } else {
                "JSON"
            }
            .to_string(),
        );
    }
    if !t.starts_with('<') {
        if ct.contains("html") {
            return Sniffed::Html;
        }
        return Sniffed::Other("plain text".to_string());
    }
    match first_element(t) {
        Some(name) => {
            let lower = name.to_ascii_lowercase();
            let local = lower.rsplit(':').next().unwrap_or(&lower);
            match local {
                "rss" | "rdf" | "feed" | "channel" => Sniffed::Feed,
                "html" | "head" | "body" | "!doctype html" => Sniffed::Html,
                "opml" => Sniffed::Other("OPML document".to_string()),
                "svg" => Sniffed::Other("SVG image".to_string()),
                _ if ct.contains("html") => Sniffed::Html,
                _ => Sniffed::Other(format!("XML document <{name}>")),
            }
        }
        None if ct.contains("html") => Sniffed::Html,
        None if ct.contains("rss") || ct.contains("atom") || ct.contains("xml") => Sniffed::Feed,
        None => Sniffed::Other("unrecognised markup".to_string()),
    }
}

/// The first element name, skipping the XML declaration, comments, PIs and DOCTYPE
/// (`<!DOCTYPE html>` is reported as `!doctype html`).
fn first_element(mut t: &str) -> Option<String> {
    for _ in 0..64 {
        t = t.trim_start();
        if let Some(rest) = t.strip_prefix("<!--") {
            t = &rest[rest.find("-->")? + 3..];
        } else if t.starts_with("<?") {
            t = &t[t.find("?>")? + 2..];
        } else if t
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("<!doctype"))
        {
            let end = t.find('>')?;
            if t[9..end].trim().to_ascii_lowercase().starts_with("html") {
                return Some("!doctype html".to_string());
            }
            t = &t[end + 1..];
        } else if let Some(rest) = t.strip_prefix('<') {
            let name: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .take(64)
                .collect();
            return (!name.is_empty()).then_some(name);
        } else {
            return None;
        }
    }
    None
}

const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/x.atom+xml",
    "application/x-atom+xml",
];

/// Feed links advertised in an HTML page's `<head>` (`<link rel="alternate"
/// type="application/rss+xml" href="...">` and the Atom/RDF types), resolved against
/// `base_url` (or `<base href>`), de-duplicated, in document order. Only `http` and `https`
/// URLs are returned.
pub fn discover_feed_links(html: &[u8], base_url: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(&html[..html.len().min(1 << 20)]);
    let mut base = Url::parse(base_url.trim()).ok();
    let mut out: Vec<String> = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find('<') {
        let start = pos + i;
        let rest = &lower[start + 1..];
        if rest.starts_with("!--") {
            pos = match rest.find("-->") {
                Some(e) => start + 1 + e + 3,
                None => break,
            };
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '/')
            .collect();
        let Some(end) = tag_end(&lower[start..]) else {
            break;
        };
        let tag = &text[start..start + end];
        pos = start + end;
        match name.as_str() {
            "/head" | "body" => break,
            "base" => {
                if let Some(href) = attr(tag, "href") {
                    base = match &base {
                        Some(b) => b.join(&href).ok(),
                        None => Url::parse(&href).ok(),
                    }
                    .or(base);
                }
            }
            "link" => {
                let rel = attr(tag, "rel").unwrap_or_default().to_ascii_lowercase();
                if !rel.split_ascii_whitespace().any(|r| r == "alternate") {
                    continue;
                }
                let ty = attr(tag, "type").unwrap_or_default().to_ascii_lowercase();
                let ty = ty.split(';').next().unwrap_or("").trim().to_string();
                if !FEED_TYPES.contains(&ty.as_str()) {
                    continue;
                }
                let Some(href) = attr(tag, "href") else {
                    continue;
                };
                let resolved = match &base {
                    Some(b) => b.join(href.trim()).ok(),
                    None => Url::parse(href.trim()).ok(),
                }
                // Only what podsift can fetch: a `javascript:`, `file:` or mistyped scheme
                // listed first would otherwise be the one link the poller tries.
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| u.to_string());
                if let Some(u) = resolved
                    && !out.contains(&u)
                    && out.len() < 64
                {
                    out.push(u);
                }
            }
            _ => {}
        }
    }
    out
}

/// Length of the tag starting at `s[0] == '<'`, up to and including `>`, honouring quotes.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// An attribute value from one HTML tag (quoted or bare), entities decoded.
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = lower[..at].ends_with(|c: char| c.is_ascii_whitespace());
        let after = lower[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let vstart = tag.len() - after.len() + 1;
        let v = tag[vstart..].trim_start();
        let value = match v.chars().next()? {
            q @ ('"' | '\'') => &v[1..1 + v[1..].find(q)?],
            _ => v
                .split(|c: char| c.is_ascii_whitespace() || c == '>')
                .next()?,
        };
        return Some(unescape(value).into_owned());
    }
    None
}
