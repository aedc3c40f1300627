//! Turning untrusted feed bytes into UTF-8 text, leniently.
//!
//! Real feeds lie about their encoding. The rules, in order:
//! 1. A UTF-16 BOM wins (decoded with `encoding_rs`); a UTF-8 BOM is dropped.
//! 2. Leading whitespace before `<?xml` is dropped (a warning is recorded).
//! 3. Bytes that are valid UTF-8 are taken as UTF-8 whatever the declaration says
//!    (a feed declaring ISO-8859-1/windows-1252 that is really UTF-8 is the common lie).
//! 4. Otherwise the declared encoding is used; a declared (or absent) UTF-8 that is not
//!    valid falls back to windows-1252, which maps every byte.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The input as text, plus what was recovered on the way.
pub(crate) struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub warnings: Vec<String>,
}

/// Decodes `bytes` into text following the module rules.
pub(crate) fn decode(bytes: &[u8]) -> Decoded<'_> {
    let mut warnings = Vec::new();
    // UTF-32 (which encoding_rs does not do): BOM, or `<` as the first code unit.
    let utf32 = match bytes.get(..4) {
        Some([0xFF, 0xFE, 0, 0]) => Some((false, 4)),
        Some([0, 0, 0xFE, 0xFF]) => Some((true, 4)),
        Some([b'<', 0, 0, 0]) => Some((false, 0)),
        Some([0, 0, 0, b'<']) => Some((true, 0)),
        _ => None,
    };
    if let Some((big_endian, skip)) = utf32 {
        let text = decode_utf32(&bytes[skip..], big_endian, &mut warnings);
        let owned = trim_leading(&text, &mut warnings).to_string();
        return Decoded {
            text: Cow::Owned(owned),
            warnings,
        };
    }
    // UTF-16: BOM, or `<` as the first code unit (no BOM).
    let utf16 = match bytes.get(..2) {
        Some([0xFF, 0xFE]) => Some((UTF_16LE, 2)),
        Some([0xFE, 0xFF]) => Some((UTF_16BE, 2)),
        Some([b'<', 0]) => Some((UTF_16LE, 0)),
        Some([0, b'<']) => Some((UTF_16BE, 0)),
        _ => None,
    };
    if let Some((enc, skip)) = utf16 {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[skip..]);
        if had_errors {
            warnings.push("invalid UTF-16 sequences replaced".to_string());
        }
        let owned = trim_leading(&text, &mut warnings).to_string();
        return Decoded {
            text: Cow::Owned(owned),
            warnings,
        };
    }
    let mut body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(bytes);
    let ws = body.iter().take_while(|b| b.is_ascii_whitespace()).count();
    if ws > 0 {
        warnings.push("whitespace before the XML declaration ignored".to_string());
        body = &body[ws..];
    }
    if let Ok(s) = std::str::from_utf8(body) {
        return Decoded {
            text: Cow::Borrowed(s),
            warnings,
        };
    }
    let declared = declared_encoding(body);
    let enc = declared
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .filter(|e| *e != encoding_rs::UTF_8 && *e != UTF_16LE && *e != UTF_16BE)
        .unwrap_or(WINDOWS_1252);
    if declared.is_none_or(|d| Encoding::for_label(d.as_bytes()) != Some(enc)) {
        warnings.push(format!(
            "not valid {}: decoded as {}",
            declared.unwrap_or("UTF-8"),
            enc.name()
        ));
    }
    let (text, _) = enc.decode_without_bom_handling(body);
    Decoded {
        text: Cow::Owned(text.into_owned()),
        warnings,
    }
}

fn decode_utf32(bytes: &[u8], big_endian: bool, warnings: &mut Vec<String>) -> String {
    let mut out = String::with_capacity(bytes.len() / 4);
    let mut bad = false;
    for c in bytes.chunks_exact(4) {
        let b = [c[0], c[1], c[2], c[3]];
        let n = if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        };
        match char::from_u32(n) {
            Some(ch) => out.push(ch),
            None => {
                bad = true;
                out.push('\u{FFFD}');
            }
        }
    }
    if bad || !bytes.len().is_multiple_of(4) {
        warnings.push("invalid UTF-32 sequences replaced".to_string());
    }
    out
}

fn trim_leading<'s>(s: &'s str, warnings: &mut Vec<String>) -> &'s str {
    let t = s.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if t.len() != s.len() {
        warnings.push("whitespace before the XML declaration ignored".to_string());
    }
    t
}

/// The `encoding="..."` of an `<?xml ...?>` declaration at the start of `body`.
pub(crate) fn declared_encoding(body: &[u8]) -> Option<&str> {
    if !body.starts_with(b"<?xml") {
        return None;
    }
    let end = body.iter().take(512).position(|&b| b == b'>')?;
    let decl = std::str::from_utf8(&body[..end]).ok()?;
    let i = decl.find("encoding")?;
    let rest = decl[i + 8..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = &rest[1..];
    let j = rest.find(quote)?;
    Some(rest[..j].trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_declared_latin1_stays_utf8() {
        let d = decode("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>é</a>".as_bytes());
        assert!(d.text.contains('é'));
        assert!(matches!(d.text, Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_utf8_falls_back_to_1252() {
        let d = decode(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>caf\xe9 \x93q\x94</a>");
        assert!(d.text.contains("café \u{201c}q\u{201d}"), "{}", d.text);
        assert!(!d.warnings.is_empty());
    }

    #[test]
    fn declared_latin1_really_latin1() {
        let d = decode(b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><a>caf\xe9</a>");
        assert!(d.text.contains("café"));
    }

    #[test]
    fn utf16_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "<rss>ü</rss>".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&bytes).text, "<rss>ü</rss>");
    }

    #[test]
    fn utf16_and_utf32_without_bom() {
        let src = "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss>ü</rss>";
        let be: Vec<u8> = src.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&be).text, src);
        let le32: Vec<u8> = src.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        assert_eq!(decode(&le32).text, src);
        let mut be32: Vec<u8> = vec![0, 0, 0xFE, 0xFF];
        be32.extend(src.chars().flat_map(|c| (c as u32).to_be_bytes()));
        assert_eq!(decode(&be32).text, src);
    }

    #[test]
    fn bom_and_whitespace_dropped() {
        let d = decode(b"\xEF\xBB\xBF \n <?xml version=\"1.0\"?><rss/>");
        assert!(d.text.starts_with("<?xml"));
        assert_eq!(d.warnings.len(), 1);
    }
}
