//! Text hygiene shared by every output format: cleaning untrusted strings, validating URLs,
//! escaping Markdown and wrapping plain text.

/// Longest URL podsift links to; longer ones are dropped (real media URLs are far shorter).
pub(crate) const MAX_URL_LEN: usize = 4096;
/// Bounds for feed- and model-derived text in rendered output (in characters).
pub(crate) const MAX_TEXT_CHARS: usize = 2000;
pub(crate) const MAX_QUOTE_CHARS: usize = 1000;
pub(crate) const MAX_TITLE_CHARS: usize = 300;
pub(crate) const MAX_REASON_CHARS: usize = 200;

/// Returns `raw` as a normalised absolute `http`/`https` URL, or `None` for anything else
/// (`javascript:`, `data:`, relative, unparsable, longer than 4 KiB, no host).
///
/// The result contains no whitespace, `<`, `>`, `"`, `(` or `)` (they are percent-encoded),
/// so it is safe inside HTML attributes (after escaping) and Markdown link destinations.
pub fn safe_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return None;
    }
    let url = url::Url::parse(raw).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    let mut out = String::with_capacity(url.as_str().len());
    for c in url.as_str().chars() {
        match c {
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '"' => out.push_str("%22"),
            '\'' => out.push_str("%27"),
            '`' => out.push_str("%60"),
            c if c.is_whitespace() || c.is_control() => {}
            c => out.push(c),
        }
    }
    (out.len() <= MAX_URL_LEN).then_some(out)
}

/// Cleans untrusted display text: drops control characters (terminal escapes included) and
/// bidirectional overrides, collapses whitespace runs to one space, trims, and truncates to
/// `max_chars` characters (with an ellipsis).
pub(crate) fn clean(raw: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(max_chars * 4));
    let mut count = 0usize;
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_bidi_control(c) {
            continue;
        }
        if pending_space {
            if count + 1 >= max_chars {
                break;
            }
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        if count >= max_chars {
            break;
        }
        out.push(c);
        count += 1;
    }
    if count >= max_chars && raw.chars().count() > count {
        // Truncated: replace the last character with an ellipsis.
        out.pop();
        out.push('…');
    }
    out
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// Escapes text for Markdown (CommonMark/GFM) that sits inside one line of podsift's own
/// markup: every character that could start inline markup or raw HTML is backslash-escaped
/// (so `<script>` shows as text and `[x](y)` is not a link), and a leading `-`, `+`, `=` or
/// `1.` cannot start a list or heading. Input is single-line (the renderer cleans line breaks
/// out first).
pub fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut at_start = true;
    let mut leading_digits = true;
    for c in s.chars() {
        let special = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '#' | '|' | '~'
        ) || (at_start && matches!(c, '-' | '+' | '='))
            || (leading_digits && !at_start && matches!(c, '.' | ')'));
        if special {
            out.push('\\');
        }
        out.push(c);
        leading_digits = leading_digits && c.is_ascii_digit();
        at_start = false;
    }
    out
}

/// Greedy word wrap to `width` columns (counted in characters), each line prefixed with
/// `indent`. Words longer than a line (URLs) stay whole on their own line.
///
/// Hand-written: a dozen lines instead of the `textwrap` crate and its Unicode tables; the
/// digest text is single-paragraph and already whitespace-normalised by [`clean`].
pub(crate) fn wrap(text: &str, width: usize, indent: &str) -> String {
    let avail = width.saturating_sub(indent.chars().count()).max(20);
    let mut out = String::with_capacity(text.len() + text.len() / avail * (indent.len() + 1));
    let mut line_len = 0usize;
    for word in text.split_whitespace() {
        let wlen = word.chars().count();
        if line_len > 0 && line_len + 1 + wlen > avail {
            out.push('\n');
            line_len = 0;
        }
        if line_len == 0 {
            out.push_str(indent);
        } else {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += wlen;
    }
    out
}

/// `SECONDS` as `M:SS` or `H:MM:SS`.
pub(crate) fn timestamp(seconds: f64) -> String {
    let s = if seconds.is_finite() && seconds > 0.0 {
        seconds.min(1e9).floor() as u64
    } else {
        0
    };
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_url_allows_only_http() {
        assert_eq!(
            safe_url(" https://ex.com/a b(c)").as_deref(),
            Some("https://ex.com/a%20b%28c%29")
        );
        assert!(safe_url("javascript:alert(1)").is_none());
        assert!(safe_url("JaVaScRiPt:alert(1)").is_none());
        assert!(safe_url("data:text/html,<script>").is_none());
        assert!(safe_url("vbscript:msgbox").is_none());
        assert!(safe_url("/relative").is_none());
        assert!(safe_url("http://").is_none());
        assert!(safe_url(&format!("https://ex.com/{}", "a".repeat(5000))).is_none());
        assert_eq!(
            safe_url("http://ex.com/\"onmouseover=x").as_deref(),
            Some("http://ex.com/%22onmouseover=x")
        );
    }

    #[test]
    fn clean_strips_controls_and_bounds() {
        assert_eq!(clean("  a\x1b[31m  b\n\tc\u{202E} ", 100), "a[31m b c");
        assert_eq!(clean("abcdef", 4), "abc…");
        assert_eq!(clean("abcd", 4), "abcd");
        assert_eq!(clean("", 4), "");
    }

    #[test]
    fn md_escape_neutralises_markup() {
        assert_eq!(md_escape("<b>[x](y)</b>"), r"\<b\>\[x\](y)\</b\>");
        assert_eq!(md_escape("- a-b"), r"\- a-b");
        assert_eq!(md_escape("12. x 1.5"), r"12\. x 1.5");
    }

    #[test]
    fn wrap_respects_width() {
        let text = "word ".repeat(40);
        let w = wrap(&text, 30, "   ");
        assert!(
            w.lines()
                .all(|l| l.chars().count() <= 30 && l.starts_with("   "))
        );
        let long = format!("see {}", "x".repeat(100));
        assert_eq!(wrap(&long, 30, "").lines().count(), 2);
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(0.0), "0:00");
        assert_eq!(timestamp(754.9), "12:34");
        assert_eq!(timestamp(3723.0), "1:02:03");
        assert_eq!(timestamp(f64::NAN), "0:00");
        assert_eq!(timestamp(-5.0), "0:00");
    }
}
