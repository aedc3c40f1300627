//! Byte decoding: BOMs, UTF-16/32 with and without BOM, and the Windows-1252 fallback.

use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Decodes transcript bytes into a `String`, never failing.
///
/// Order: a BOM (UTF-32 LE/BE, UTF-8, UTF-16 LE/BE) decides; otherwise a NUL-byte pattern
/// in the first bytes identifies BOM-less UTF-32 or UTF-16; otherwise valid UTF-8 is taken
/// as is and anything else is read as Windows-1252 (the usual legacy subtitle encoding).
/// A leading U+FEFF never survives.
pub fn decode_text(bytes: &[u8]) -> String {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE, 0x00, 0x00]) {
        decode_utf32(rest, false)
    } else if let Some(rest) = bytes.strip_prefix(&[0x00, 0x00, 0xFE, 0xFF]) {
        decode_utf32(rest, true)
    } else if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(rest).into_owned()
    } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        UTF_16LE.decode_without_bom_handling(rest).0.into_owned()
    } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        UTF_16BE.decode_without_bom_handling(rest).0.into_owned()
    } else {
        match sniff_wide(bytes) {
            Some(Wide::Utf32 { big_endian }) => decode_utf32(bytes, big_endian),
            Some(Wide::Utf16 { big_endian: true }) => {
                UTF_16BE.decode_without_bom_handling(bytes).0.into_owned()
            }
            Some(Wide::Utf16 { big_endian: false }) => {
                UTF_16LE.decode_without_bom_handling(bytes).0.into_owned()
            }
            None => match std::str::from_utf8(bytes) {
                Ok(s) => s.to_owned(),
                Err(_) => WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
                    .into_owned(),
            },
        }
    };
    match text.strip_prefix('\u{FEFF}') {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

enum Wide {
    Utf16 { big_endian: bool },
    Utf32 { big_endian: bool },
}

/// Looks at up to the first 256 bytes: text in UTF-16 has a NUL in every other byte for
/// ASCII, UTF-32 three NULs out of four. Plain 8-bit text has no NULs at all.
fn sniff_wide(bytes: &[u8]) -> Option<Wide> {
    let head = &bytes[..bytes.len().min(256)];
    if head.len() < 4 {
        return None;
    }
    let nul_at = |m: usize, r: usize| {
        let total = head.len() / m;
        let nuls = head.chunks_exact(m).filter(|c| c[r] == 0).count();
        (total, nuls)
    };
    // UTF-32: positions 1..=2 of each 4-byte unit are NUL for BMP text.
    if head.len() >= 8 {
        let (t, n1) = nul_at(4, 1);
        let (_, n2) = nul_at(4, 2);
        if n1 * 10 >= t * 9 && n2 * 10 >= t * 9 {
            let (_, n0) = nul_at(4, 0);
            let (_, n3) = nul_at(4, 3);
            if n3 >= n0 && n3 * 10 >= t * 9 {
                return Some(Wide::Utf32 { big_endian: false });
            }
            if n0 * 10 >= t * 9 {
                return Some(Wide::Utf32 { big_endian: true });
            }
        }
    }
    let (t, even) = nul_at(2, 0);
    let (_, odd) = nul_at(2, 1);
    // Mostly-ASCII text: at least 60 % of one side NUL and (almost) none on the other.
    if odd * 10 >= t * 6 && even * 10 <= t {
        return Some(Wide::Utf16 { big_endian: false });
    }
    if even * 10 >= t * 6 && odd * 10 <= t {
        return Some(Wide::Utf16 { big_endian: true });
    }
    None
}

/// UTF-32 is not in `encoding_rs` (the Encoding Standard dropped it), so it is decoded here.
fn decode_utf32(bytes: &[u8], big_endian: bool) -> String {
    bytes
        .chunks(4)
        .map(|c| {
            if c.len() < 4 {
                return '\u{FFFD}';
            }
            let arr = [c[0], c[1], c[2], c[3]];
            let v = if big_endian {
                u32::from_be_bytes(arr)
            } else {
                u32::from_le_bytes(arr)
            };
            char::from_u32(v).unwrap_or('\u{FFFD}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, be: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if be { &[0xFE, 0xFF] } else { &[0xFF, 0xFE] });
        }
        for u in s.encode_utf16() {
            out.extend_from_slice(&if be { u.to_be_bytes() } else { u.to_le_bytes() });
        }
        out
    }

    fn utf32(s: &str, be: bool) -> Vec<u8> {
        let mut out: Vec<u8> = if be {
            vec![0, 0, 0xFE, 0xFF]
        } else {
            vec![0xFF, 0xFE, 0, 0]
        };
        for c in s.chars() {
            let v = c as u32;
            out.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() });
        }
        out
    }

    const S: &str = "1\n00:00:01,000 --> 00:00:02,000\nCafé ünïcode\n";

    #[test]
    fn boms() {
        let mut u8bom = vec![0xEF, 0xBB, 0xBF];
        u8bom.extend_from_slice(S.as_bytes());
        assert_eq!(decode_text(&u8bom), S);
        assert_eq!(decode_text(&utf16(S, false, true)), S);
        assert_eq!(decode_text(&utf16(S, true, true)), S);
        assert_eq!(decode_text(&utf32(S, false)), S);
        assert_eq!(decode_text(&utf32(S, true)), S);
    }

    #[test]
    fn utf16_without_bom() {
        assert_eq!(decode_text(&utf16(S, false, false)), S);
        assert_eq!(decode_text(&utf16(S, true, false)), S);
    }

    #[test]
    fn windows_1252_fallback() {
        // "84°F – “quoted”" in Windows-1252.
        let bytes = b"84\xB0F \x96 \x93quoted\x94";
        assert_eq!(decode_text(bytes), "84°F – “quoted”");
    }

    #[test]
    fn plain_utf8_and_empty() {
        assert_eq!(decode_text("héllo".as_bytes()), "héllo");
        assert_eq!(decode_text(b""), "");
        assert_eq!(decode_text(&[0xEF, 0xBB, 0xBF]), "");
    }
}
