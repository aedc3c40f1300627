//! Entity handling and small text helpers shared by the feed and OPML parsers.
//!
//! Safety rule: only the five XML entities, numeric character references and the fixed
//! HTML5 named-entity table are ever replaced. Entities declared in a DTD are never
//! expanded (the DOCTYPE is skipped), so `&lol9;` stays literal text and a billion-laughs
//! file costs nothing.

use std::borrow::Cow;

/// What an entity reference (`name` without `&` and `;`) resolves to.
pub(crate) enum Resolved {
    Char(char),
    Str(Cow<'static, str>),
    /// Not a known entity: keep `&name;` literally.
    Unknown,
    /// Not a reference at all (`AT&T rocks;` read as a reference): keep the text literally.
    NotARef,
}

/// Resolves an entity reference name (`amp`, `#233`, `#xE9`, `eacute`).
pub(crate) fn resolve_entity(name: &[u8]) -> Resolved {
    match name {
        b"amp" => return Resolved::Char('&'),
        b"lt" => return Resolved::Char('<'),
        b"gt" => return Resolved::Char('>'),
        b"quot" => return Resolved::Char('"'),
        b"apos" => return Resolved::Char('\''),
        _ => {}
    }
    if let Some(num) = name.strip_prefix(b"#") {
        let parsed = match num.first() {
            Some(b'x' | b'X') => parse_radix(&num[1..], 16),
            _ => parse_radix(num, 10),
        };
        return match parsed {
            // Windows-1252 "C1" code points used as if they were Unicode (&#150; &#8217;-style
            // mistakes are common in feeds): map them like browsers do.
            Some(n @ 0x80..=0x9F) => Resolved::Char(c1_to_unicode(n)),
            Some(0) | None => {
                if num.is_empty() || parsed.is_none() && !num.iter().all(u8::is_ascii_alphanumeric)
                {
                    Resolved::NotARef
                } else {
                    Resolved::Char('\u{FFFD}')
                }
            }
            Some(n) => Resolved::Char(char::from_u32(n).unwrap_or('\u{FFFD}')),
        };
    }
    if name.is_empty()
        || name.len() > 40
        || !name[0].is_ascii_alphabetic()
        || !name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Resolved::NotARef;
    }
    // html-escape only decodes what is in its table: build `&name;` and see if it changed.
    let mut probe = String::with_capacity(name.len() + 2);
    probe.push('&');
    probe.push_str(std::str::from_utf8(name).unwrap_or(""));
    probe.push(';');
    match html_escape::decode_html_entities(&probe) {
        Cow::Owned(s) if s != probe => Resolved::Str(Cow::Owned(s)),
        _ => Resolved::Unknown,
    }
}

fn parse_radix(digits: &[u8], radix: u32) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let s = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(s, radix).ok()
}

fn c1_to_unicode(n: u32) -> char {
    let b = [n as u8];
    let (s, _, _) = encoding_rs::WINDOWS_1252.decode(&b);
    s.chars().next().unwrap_or('\u{FFFD}')
}

/// Appends the text of one reference to `out`; returns `false` when it was unknown
/// (kept literally) so the caller can warn.
pub(crate) fn push_entity(name: &[u8], out: &mut String) -> bool {
    match resolve_entity(name) {
        Resolved::Char(c) => out.push(c),
        Resolved::Str(s) => out.push_str(&s),
        Resolved::Unknown => {
            out.push('&');
            out.push_str(&String::from_utf8_lossy(name));
            out.push(';');
            return false;
        }
        Resolved::NotARef => {
            out.push('&');
            out.push_str(&String::from_utf8_lossy(name));
            out.push(';');
        }
    }
    true
}

/// Unescapes an attribute value (or any escaped text): known entities are replaced,
/// everything else (bare `&`, unknown names) is kept literally.
pub(crate) fn unescape(s: &str) -> Cow<'_, str> {
    if memchr::memchr(b'&', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest: &str = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.find([';', '&', '<', ' ']) {
            Some(j) if after.as_bytes()[j] == b';' => {
                push_entity(&after.as_bytes()[..j], &mut out);
                rest = &after[j + 1..];
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Escapes text for XML output (element content and attribute values).
pub(crate) fn escape_xml(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `s` holds a C1 control character (in UTF-8: 0xC2 then 0x80..=0x9F).
pub(crate) fn has_c1(s: &str) -> bool {
    let b = s.as_bytes();
    // The common case (no 0xC2 at all) is one vectorised scan.
    memchr::memchr(0xC2, b).is_some()
        && b.windows(2)
            .any(|w| w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1]))
}

/// Maps C1 control characters (U+0080–U+009F, never meant as such in feeds) to what they
/// are in windows-1252: feeds converted "as Latin-1" carry `’` as U+0092.
pub(crate) fn demoronize(s: &str) -> Cow<'_, str> {
    if !has_c1(s) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c as u32 {
                n @ 0x80..=0x9F => c1_to_unicode(n),
                _ => c,
            })
            .collect(),
    )
}

/// Trims, and returns `None` for empty text.
pub(crate) fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Parses `itunes:duration`: `SS`, `MM:SS`, `H:MM:SS` (also `D:H:MM:SS`), each part may be
/// fractional in its last position (`1:02:03.5`); rounds to whole seconds. Garbage → `None`.
pub fn parse_duration(s: &str) -> Option<u32> {
    let s = s.trim();
    if s.is_empty() || s.len() > 32 {
        return None;
    }
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 4 {
        return None;
    }
    let mut total = 0f64;
    for (i, p) in parts.iter().enumerate() {
        let p = p.trim();
        let last = i + 1 == parts.len();
        let v: f64 = if last {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                return None;
            }
            p.parse().ok()?
        } else {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse::<u32>().ok()? as f64
        };
        let mult = match parts.len() - i {
            1 => 1.0,
            2 => 60.0,
            3 => 3600.0,
            _ => 86400.0,
        };
        total += v * mult;
    }
    if !total.is_finite() || total < 0.0 || total > u32::MAX as f64 {
        return None;
    }
    Some(total.round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        let mut s = String::new();
        for n in ["amp", "#233", "#xE9", "nbsp", "eacute", "mdash", "#150"] {
            assert!(push_entity(n.as_bytes(), &mut s));
        }
        assert_eq!(s, "&éé\u{a0}é—–");
        let mut s = String::new();
        assert!(!push_entity(b"lol9", &mut s));
        assert_eq!(s, "&lol9;");
    }

    #[test]
    fn c1_controls_mapped() {
        assert_eq!(
            demoronize("don\u{92}t \u{93}q\u{94}"),
            "don\u{2019}t \u{201c}q\u{201d}"
        );
        assert!(matches!(demoronize("plain é"), Cow::Borrowed(_)));
    }

    #[test]
    fn unescape_attr() {
        assert_eq!(unescape("a&amp;b & c&eacute;&bogus;"), "a&b & cé&bogus;");
        assert_eq!(unescape("?x=1&y=2"), "?x=1&y=2");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("45"), Some(45));
        assert_eq!(parse_duration("01:30"), Some(90));
        assert_eq!(parse_duration("1:02:03"), Some(3723));
        assert_eq!(parse_duration("1:02:03.6"), Some(3724));
        assert_eq!(parse_duration("12.5"), Some(13));
        assert_eq!(parse_duration(" 90 "), Some(90));
        assert_eq!(parse_duration("garbage"), None);
        assert_eq!(parse_duration("1:xx"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("-5"), None);
    }
}
