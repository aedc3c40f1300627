//! Format detection and the choice among several offered transcripts.

use podsift_core::model::{TranscriptFormat, TranscriptRef};

use crate::decode::decode_text;

/// Works out a transcript's format: the declared MIME type first (unless it is a generic
/// one such as `text/plain` or `application/octet-stream`), then the URL's extension, then
/// the content (a `WEBVTT` header, SRT `-->` timing lines, a leading `{`, HTML tags).
/// Returns `None` when nothing identifies it (e.g. empty content and no hints).
pub fn detect_format(mime: Option<&str>, url: &str, bytes: &[u8]) -> Option<TranscriptFormat> {
    let declared = mime.map(|m| {
        m.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    if let Some(f) = declared.as_deref().and_then(format_from_mime) {
        return Some(f);
    }
    if let Some(f) = format_from_url(url) {
        return Some(f);
    }
    if let Some(f) = sniff(bytes) {
        return Some(f);
    }
    // A generic text declaration with unrecognisable (but present) content is plain text.
    match declared.as_deref() {
        Some("text/plain") if !bytes.is_empty() => Some(TranscriptFormat::Text),
        _ => None,
    }
}

fn format_from_mime(m: &str) -> Option<TranscriptFormat> {
    Some(match m {
        "text/vtt" | "text/webvtt" | "application/vtt" => TranscriptFormat::Vtt,
        "application/x-subrip"
        | "application/srt"
        | "text/srt"
        | "text/x-srt"
        | "application/x-srt"
        | "text/x-subrip" => TranscriptFormat::Srt,
        "text/html" | "application/xhtml+xml" => TranscriptFormat::Html,
        m if m == "application/json"
            || m.ends_with("+json")
            || m.starts_with("application/json") =>
        {
            TranscriptFormat::Json
        }
        _ => return None,
    })
}

fn format_from_url(url: &str) -> Option<TranscriptFormat> {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').next().unwrap_or_default();
    let ext = last.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "vtt" | "webvtt" => TranscriptFormat::Vtt,
        "srt" => TranscriptFormat::Srt,
        "json" => TranscriptFormat::Json,
        "html" | "htm" | "xhtml" => TranscriptFormat::Html,
        "txt" | "text" | "md" => TranscriptFormat::Text,
        _ => return None,
    })
}

/// Content sniffing on the first 4 KiB.
fn sniff(bytes: &[u8]) -> Option<TranscriptFormat> {
    let head = decode_text(&bytes[..bytes.len().min(4096)]);
    let t = head.trim_start();
    if t.is_empty() {
        return None;
    }
    if t.starts_with("WEBVTT") {
        return Some(TranscriptFormat::Vtt);
    }
    if t.starts_with('{') || t.starts_with('[') && t[1..].trim_start().starts_with('{') {
        return Some(TranscriptFormat::Json);
    }
    if t.lines().take(40).any(is_timing_line) {
        return Some(TranscriptFormat::Srt);
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || ["<cite", "<p>", "<p ", "<body", "<div", "<time"]
            .iter()
            .any(|tag| lower.contains(tag))
    {
        return Some(TranscriptFormat::Html);
    }
    Some(TranscriptFormat::Text)
}

/// `00:00:01,000 --> 00:00:02,000` (either separator, optional hours).
fn is_timing_line(line: &str) -> bool {
    let Some((a, b)) = line.split_once("-->") else {
        return false;
    };
    let b = b.split_whitespace().next().unwrap_or_default();
    crate::time::parse_clock(a).is_some() && crate::time::parse_clock(b).is_some()
}

/// Preference rank of a format (lower is better): JSON > VTT > SRT > HTML > text, unknown last.
fn rank(f: Option<TranscriptFormat>) -> u8 {
    match f {
        Some(TranscriptFormat::Json) => 0,
        Some(TranscriptFormat::Vtt) => 1,
        Some(TranscriptFormat::Srt) => 2,
        Some(TranscriptFormat::Html) => 3,
        Some(TranscriptFormat::Text) => 4,
        None => 5,
    }
}

/// Whether an offered language matches the preferred one, by primary subtag
/// (`en-US` matches `en`), case-insensitively.
fn language_matches(offer: Option<&str>, preferred: &str) -> bool {
    let primary = |s: &str| {
        s.trim()
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    offer.is_some_and(|o| !preferred.trim().is_empty() && primary(o) == primary(preferred))
}

/// Picks the best of several `<podcast:transcript>` offers: by format (JSON > VTT > SRT >
/// HTML > text, from the declared type or the URL), then a language matching
/// `preferred_language`, then non-`captions` over `captions`; the first offer wins a full tie.
pub fn best_offer<'a>(
    offers: &'a [TranscriptRef],
    preferred_language: Option<&str>,
) -> Option<&'a TranscriptRef> {
    offers.iter().min_by_key(|o| {
        let format = detect_format(o.mime_type.as_deref(), &o.url, b"");
        let lang_miss =
            preferred_language.is_some_and(|p| !language_matches(o.language.as_deref(), p));
        let captions = o
            .rel
            .as_deref()
            .is_some_and(|r| r.trim().eq_ignore_ascii_case("captions"));
        (rank(format), lang_miss, captions)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(
        url: &str,
        mime: Option<&str>,
        lang: Option<&str>,
        rel: Option<&str>,
    ) -> TranscriptRef {
        TranscriptRef {
            url: url.into(),
            mime_type: mime.map(Into::into),
            language: lang.map(Into::into),
            rel: rel.map(Into::into),
        }
    }

    #[test]
    fn declared_type_wins() {
        assert_eq!(
            detect_format(Some("text/vtt; charset=utf-8"), "x.srt", b"1\n"),
            Some(TranscriptFormat::Vtt)
        );
        assert_eq!(
            detect_format(Some("application/x-subrip"), "x", b""),
            Some(TranscriptFormat::Srt)
        );
        assert_eq!(
            detect_format(Some("application/json"), "x", b""),
            Some(TranscriptFormat::Json)
        );
        assert_eq!(
            detect_format(Some("text/html"), "x", b""),
            Some(TranscriptFormat::Html)
        );
    }

    #[test]
    fn url_extension_then_sniffing() {
        assert_eq!(
            detect_format(Some("text/plain"), "https://h/t.srt?x=1", b""),
            Some(TranscriptFormat::Srt)
        );
        assert_eq!(
            detect_format(None, "https://h/t.VTT", b""),
            Some(TranscriptFormat::Vtt)
        );
        assert_eq!(
            detect_format(None, "https://h/t", b"\xEF\xBB\xBFWEBVTT\n\n"),
            Some(TranscriptFormat::Vtt)
        );
        assert_eq!(
            detect_format(
                Some("text/plain"),
                "https://h/t",
                b"1\n00:00:01,000 --> 00:00:02,000\nx"
            ),
            Some(TranscriptFormat::Srt)
        );
        assert_eq!(
            detect_format(None, "https://h/t", b"  {\"segments\":[]}"),
            Some(TranscriptFormat::Json)
        );
        assert_eq!(
            detect_format(
                None,
                "https://h/t",
                b"<cite>A:</cite><time>0:00</time><p>x</p>"
            ),
            Some(TranscriptFormat::Html)
        );
        assert_eq!(
            detect_format(None, "https://h/t", b"Just words."),
            Some(TranscriptFormat::Text)
        );
        assert_eq!(detect_format(None, "https://h/t", b"  "), None);
        assert_eq!(detect_format(Some("text/plain"), "https://h/t", b""), None);
    }

    #[test]
    fn best_offer_prefers_format_then_language_then_rel() {
        let offers = vec![
            offer("a.txt", Some("text/plain"), Some("en"), None),
            offer(
                "b.srt",
                Some("application/x-subrip"),
                Some("en"),
                Some("captions"),
            ),
            offer("c.vtt", Some("text/vtt"), Some("de"), None),
            offer("d.html", Some("text/html"), Some("en"), None),
        ];
        assert_eq!(best_offer(&offers, Some("en")).unwrap().url, "c.vtt");

        let offers = vec![
            offer("a.vtt", Some("text/vtt"), Some("de"), None),
            offer("b.vtt", Some("text/vtt"), Some("en-US"), Some("captions")),
            offer("c.vtt", Some("text/vtt"), Some("en"), None),
        ];
        assert_eq!(best_offer(&offers, Some("EN")).unwrap().url, "c.vtt");
        assert_eq!(best_offer(&offers, None).unwrap().url, "a.vtt");

        let offers = vec![
            offer("a.srt", Some("application/srt"), None, Some("captions")),
            offer("b.srt", Some("application/srt"), None, None),
        ];
        assert_eq!(best_offer(&offers, None).unwrap().url, "b.srt");
        assert_eq!(best_offer(&[], None), None);
    }
}
