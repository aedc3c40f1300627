//! Text helpers shared by windowing, grounding, ads and selection.

/// Normalised words of `text` with their byte ranges in `text`: letters and digits,
/// lowercased. Joining punctuation inside a word is dropped rather than splitting it
/// (`don't` → `dont`, `co-host` → `cohost`, `3.6` → `36`, `1,000` → `1000`), so a quote
/// that keeps or loses it matches either way; every other character separates words. Case,
/// whitespace and punctuation differences between a model's quote and the transcript
/// therefore vanish.
pub(crate) fn words_with_spans(text: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    let mut end = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            if cur.is_empty() {
                start = i;
            }
            cur.extend(c.to_lowercase());
            end = i + c.len_utf8();
        } else if is_joiner(c)
            && !cur.is_empty()
            && chars.peek().is_some_and(|(_, n)| n.is_alphanumeric())
        {
            // Inside a word: skip without ending it.
        } else if !cur.is_empty() {
            out.push((std::mem::take(&mut cur), start, end));
        }
    }
    if !cur.is_empty() {
        out.push((cur, start, end));
    }
    out
}

/// Normalised words of `text` (see [`words_with_spans`]).
pub(crate) fn words(text: &str) -> Vec<String> {
    words_with_spans(text)
        .into_iter()
        .map(|(w, _, _)| w)
        .collect()
}

fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}'
            | '\u{2018}'
            | '-'
            | '\u{2010}'
            | '\u{2011}'
            | '.'
            | ','
            | '/'
            | '_'
            | ':'
    )
}

/// Number of whitespace-separated words (the unit of coverage).
pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Cuts `s` to at most `max` bytes on a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises() {
        assert_eq!(
            words("Don't  stop—the CO-HOST said: \"3.6!\""),
            vec!["dont", "stop", "the", "cohost", "said", "36"]
        );
        let w = words_with_spans("Hi, you.");
        assert_eq!(w[1], ("you".to_owned(), 4, 7));
        assert_eq!(truncate("héllo", 2), "h");
    }
}
