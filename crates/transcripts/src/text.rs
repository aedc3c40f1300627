//! Text helpers shared by the parsers: entity decoding, tag stripping, whitespace
//! collapsing and speaker-prefix detection.

/// Longest speaker name accepted from a `Name:` prefix (characters).
pub(crate) const MAX_SPEAKER_CHARS: usize = 40;
/// Most words accepted in a `Name:` prefix.
const MAX_SPEAKER_WORDS: usize = 4;

/// Decodes the HTML character references that show up in transcripts: the WebVTT set
/// (`&amp; &lt; &gt; &nbsp; &lrm; &rlm;`), `&quot; &apos;`, a few typographic names and
/// numeric references. Unknown references are left as written.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        // A reference is at most ~32 chars and ends with ';'.
        let semi = tail
            .char_indices()
            .take(34)
            .find(|&(_, c)| c == ';')
            .map(|(i, _)| i);
        let decoded = semi.and_then(|end| entity(&tail[1..end]).map(|c| (c, end + 1)));
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &tail[used..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length of the character reference (`&amp;`, `&#39;`) at the start of `s`, if any.
fn reference_len(s: &str) -> Option<usize> {
    let end = s
        .char_indices()
        .take(34)
        .find(|&(_, c)| c == ';')
        .map(|(i, _)| i)?;
    entity(&s[1..end]).map(|_| end + 1)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let v = if let Some(hex) = num.strip_prefix(['x', 'X']) {
            u32::from_str_radix(hex, 16).ok()?
        } else {
            num.parse::<u32>().ok()?
        };
        return match char::from_u32(v) {
            Some('\0') | None => Some('\u{FFFD}'),
            Some(c) => Some(c),
        };
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "nbsp" => '\u{A0}',
        "lrm" => '\u{200E}',
        "rlm" => '\u{200F}',
        "quot" => '"',
        "apos" => '\'',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        _ => return None,
    })
}

/// Removes markup tags: `<b>`, `</i>`, `<font color="red">`, `<v.loud Name>`,
/// `<c.yellow>`, `<00:01.000>` timestamp tags, and `{\an8}`-style SSA override codes.
/// A `<` that does not start a tag (`2<3`, `a < b`) is kept, as is an unclosed `<` at the
/// end of a line.
pub(crate) fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let Some(pos) = rest.find(['<', '{']) else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if let Some(len) = tag_len(tail) {
            rest = &tail[len..];
        } else {
            let c = tail.chars().next().unwrap_or('<');
            out.push(c);
            rest = &tail[c.len_utf8()..];
        }
    }
    out
}

/// Escapes only what [`strip_tags`] and [`decode_entities`] would otherwise eat: a `<` or
/// `{` that starts a tag becomes `&lt;` / `&#123;`, a `&` that starts a character reference
/// becomes `&amp;`. Ordinary text (`2 < 3`, `Q&A`) is left readable for SRT players.
pub(crate) fn escape_minimal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        let tail = &s[i..];
        match c {
            '<' if tag_len(tail).is_some() => out.push_str("&lt;"),
            '{' if tag_len(tail).is_some() => out.push_str("&#123;"),
            '&' if reference_len(tail).is_some() => out.push_str("&amp;"),
            _ => out.push(c),
        }
    }
    out
}

/// Length in bytes of the tag at the start of `s`, if `s` starts with one.
fn tag_len(s: &str) -> Option<usize> {
    let mut chars = s.chars();
    let open = chars.next()?;
    let first = chars.next()?;
    if open == '{' {
        // SSA/ASS override block: `{\an8}`, `{\i1}`.
        if first != '\\' {
            return None;
        }
        let (end, _) = s
            .char_indices()
            .take_while(|&(i, _)| i < 64)
            .find(|&(_, c)| c == '}')?;
        return Some(end + 1);
    }
    // Tags are short: looking only at the next 256 bytes keeps stripping linear.
    let (end, _) = s
        .char_indices()
        .take_while(|&(i, _)| i < 256)
        .find(|&(_, c)| c == '>' || c == '\n')?;
    if s.as_bytes()[end] != b'>' {
        return None;
    }
    let inner = &s[1..end];
    let is_tag = first.is_ascii_alphabetic()
        || (first == '/'
            && inner[1..]
                .chars()
                .next()
                .is_none_or(|c| c.is_ascii_alphabetic()))
        || (first.is_ascii_digit()
            && inner.contains(':')
            && inner
                .chars()
                .all(|c| c.is_ascii_digit() || c == ':' || c == '.'));
    is_tag.then_some(end + 1)
}

/// Trims and collapses every run of whitespace (including newlines and NBSP) to one space.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Trims each line and drops empty ones, keeping line breaks between the rest.
pub(crate) fn tidy_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// Words that look like a one-word speaker prefix but are labels (`Note: ...`).
const NOT_SPEAKERS: &[&str] = &[
    "note",
    "notes",
    "nb",
    "ps",
    "p.s.",
    "update",
    "edit",
    "warning",
    "caution",
    "disclaimer",
    "correction",
    "example",
    "tip",
    "source",
    "sources",
    "chapter",
    "part",
    "step",
    "http",
    "https",
    "mailto",
    "ftp",
    "www",
    "re",
    "fwd",
    "subject",
    "todo",
    "fixme",
    "editor's note",
    // Sentence openers that can precede a colon in ordinary speech.
    "so",
    "well",
    "yes",
    "no",
    "yeah",
    "ok",
    "okay",
    "and",
    "but",
    "or",
    "then",
    "now",
    "here",
    "there",
    "this",
    "that",
    "remember",
    "look",
    "listen",
    "also",
    "plus",
    "first",
    "second",
    "third",
    "finally",
    "important",
    "reminder",
    "hint",
    "fact",
    "bonus",
    "spoiler",
];

/// Joining words allowed lower-case inside a name (`Ludwig van Beethoven`).
const NAME_PARTICLES: &[&str] = &[
    "de", "van", "von", "der", "den", "da", "di", "du", "la", "le", "del", "bin", "al", "y", "of",
    "the", "and", "&",
];

/// Whether `name` is plausible as a speaker label: 1–4 words, ≤ 40 characters, starting
/// with a capital (or digit-free uppercase label), words capitalised except name particles.
pub(crate) fn is_speaker_name(name: &str) -> bool {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_SPEAKER_CHARS {
        return false;
    }
    if NOT_SPEAKERS.contains(&name.to_lowercase().as_str()) {
        return false;
    }
    if name.contains(['<', '>', '{', '}', '"', ':', '/', '=', '(', ')']) {
        return false;
    }
    let words: Vec<&str> = name.split_whitespace().collect();
    if words.is_empty() || words.len() > MAX_SPEAKER_WORDS {
        return false;
    }
    let first_ok = words[0].chars().next().is_some_and(|c| c.is_uppercase());
    if !first_ok {
        return false;
    }
    if name
        .chars()
        .all(|c| c.is_ascii_digit() || c.is_whitespace())
    {
        return false;
    }
    words.iter().skip(1).all(|w| {
        let c = w.chars().next().unwrap_or(' ');
        c.is_uppercase()
            || c.is_ascii_digit()
            || NAME_PARTICLES.contains(&w.to_lowercase().as_str())
    })
}

/// Splits a speaker prefix off the start of a cue's text: `Name: text`, `NAME: text`,
/// `[Name] text`, `>> Name: text`, `**Name:** text`. Returns the speaker and the rest
/// (possibly empty when the label stands alone on its line).
pub(crate) fn split_speaker(text: &str) -> Option<(String, &str)> {
    let t = text.trim_start();
    let t = t.strip_prefix(">>").map(str::trim_start).unwrap_or(t);
    if let Some(after) = t.strip_prefix("**") {
        // Markdown bold label: `**Name:** text` or `**Name**: text`.
        let end = after.find("**")?;
        let inner = after[..end].trim();
        let rest = &after[end + 2..];
        let (name, rest) = if let Some(n) = inner.strip_suffix(':') {
            (n, rest)
        } else {
            (inner, rest.trim_start().strip_prefix(':')?)
        };
        // The bold label is a strong signal: later words may be lower-case
        // (`**Audience member:**`).
        let loose = name.split_whitespace().count() > 1
            && is_speaker_name(name.split_whitespace().next().unwrap_or_default())
            && name.split_whitespace().count() <= MAX_SPEAKER_WORDS
            && name.chars().count() <= MAX_SPEAKER_CHARS
            && !name.contains([':', '<', '>', '/']);
        return (loose || is_speaker_name(name))
            .then(|| (name.trim().to_owned(), rest.trim_start()));
    }
    if let Some(after) = t.strip_prefix('[') {
        let end = after.find(']')?;
        let name = &after[..end];
        let rest = after[end + 1..].trim_start();
        let rest = rest.strip_prefix(':').unwrap_or(rest).trim_start();
        // `[laughs]`, `[music]` are sound cues, not names: require a capital.
        return is_speaker_name(name).then(|| (name.trim().to_owned(), rest));
    }
    let colon = t.find(':')?;
    let name = &t[..colon];
    let rest = &t[colon + 1..];
    // `Name:text` without a space after the colon is usually not a label (`re:Invent`,
    // URLs, times); a colon at the end of the line is fine.
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    is_speaker_name(name).then(|| (name.trim().to_owned(), rest.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("a &amp; b &lt;c&gt;&nbsp;d&lrm;&rlm; &#39;x&#x41; &bogus; & ;"),
            "a & b <c>\u{A0}d\u{200E}\u{200F} 'xA &bogus; & ;"
        );
    }

    #[test]
    fn tags() {
        assert_eq!(
            strip_tags("<b><i>Hi</i></b> <font color=\"red\">there</font>"),
            "Hi there"
        );
        assert_eq!(
            strip_tags("<v.loud Bob>Hey <00:01.000>you <c.yellow>x</c>"),
            "Hey you x"
        );
        assert_eq!(strip_tags("2<3,5>1,4<6"), "2<3,5>1,4<6");
        assert_eq!(strip_tags("a < b and c > d"), "a < b and c > d");
        assert_eq!(strip_tags("{\\an8}Top"), "Top");
        assert_eq!(strip_tags("set {x}"), "set {x}");
        assert_eq!(strip_tags("open <b"), "open <b");
    }

    #[test]
    fn speakers() {
        assert_eq!(
            split_speaker("Alban: It is so"),
            Some(("Alban".into(), "It is so"))
        );
        assert_eq!(
            split_speaker("JOHN SMITH: hello"),
            Some(("JOHN SMITH".into(), "hello"))
        );
        assert_eq!(split_speaker("[Kevin] yes"), Some(("Kevin".into(), "yes")));
        assert_eq!(
            split_speaker("**Audience member:** Hi"),
            Some(("Audience member".into(), "Hi"))
        );
        assert_eq!(split_speaker("Audience member: Hi"), None);
        assert_eq!(
            split_speaker("**Break** : [13:05]"),
            Some(("Break".into(), "[13:05]"))
        );
        assert_eq!(
            split_speaker("**Jerod Santo:** Hi"),
            Some(("Jerod Santo".into(), "Hi"))
        );
        assert_eq!(
            split_speaker("Ludwig van Beethoven: da"),
            Some(("Ludwig van Beethoven".into(), "da"))
        );
        assert_eq!(split_speaker("Alban:"), Some(("Alban".into(), "")));
        // Not speakers.
        assert_eq!(split_speaker("Note: this is a note"), None);
        assert_eq!(split_speaker("So: here is the thing"), None);
        assert_eq!(split_speaker("NOTE: loud"), None);
        assert_eq!(split_speaker("and then he said: blah"), None);
        assert_eq!(split_speaker("The thing I always wanted to say: ok"), None);
        assert_eq!(split_speaker("[laughs] ok"), None);
        assert_eq!(split_speaker("at 10:30 we met"), None);
        assert_eq!(split_speaker("See https://x.org"), None);
        assert_eq!(split_speaker("Visit re:Invent"), None);
        assert_eq!(
            split_speaker("A Very Long Name That Has Five Words: x"),
            None
        );
        assert_eq!(split_speaker(&format!("{}: x", "A".repeat(41))), None);
    }

    #[test]
    fn minimal_escaping_round_trips() {
        for t in [
            "Hello <welcome> & &amp; {\\an8} 2<3 Q&A",
            "a &lt; b",
            "plain",
        ] {
            let e = escape_minimal(t);
            assert_eq!(decode_entities(&strip_tags(&e)), t, "{e}");
        }
        assert_eq!(escape_minimal("2 < 3 and Q&A"), "2 < 3 and Q&A");
    }

    #[test]
    fn whitespace() {
        assert_eq!(collapse_ws("  a \n\t b\u{A0} c "), "a b c");
        assert_eq!(tidy_lines(" a \n\n  b "), "a\nb");
    }
}
