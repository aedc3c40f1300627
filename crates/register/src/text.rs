//! Text helpers for the rules: sentences, words, what is inside quotation marks, content
//! words for comparing claims.

/// Abbreviations after which a full stop does not end a sentence (lowercased, without the
/// stop).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "inc", "ltd", "co", "corp", "vs", "etc",
    "e.g", "i.e", "u.s", "u.k", "e.u", "no", "fig", "approx", "gov", "dept", "est", "jan", "feb",
    "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "ph.d", "a.m", "p.m",
];

/// The sentences of `text`, trimmed. A sentence ends at `.`, `!` or `?` (with any closing
/// quotes or brackets) followed by white space and then something that can start a
/// sentence (a capital, a digit, a quote or a bracket), or at the end of the text. A stop
/// after a known abbreviation or a single capital (an initial: "J. R. Smith") does not end
/// one; decimals ("2.5") never do, having no space after the stop.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes: Vec<(usize, char)> = text.char_indices().collect();
    let mut start = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        let (pos, c) = bytes[i];
        if matches!(c, '.' | '!' | '?' | '…') {
            // Swallow runs of terminators and closing marks: `?!`, `."`, `.)`.
            let mut j = i + 1;
            while j < bytes.len()
                && matches!(
                    bytes[j].1,
                    '.' | '!' | '?' | '"' | '\'' | ')' | ']' | '\u{201d}' | '\u{2019}'
                )
            {
                j += 1;
            }
            let end = bytes.get(j).map_or(text.len(), |b| b.0);
            let at_end = text[end..].trim().is_empty();
            let followed_by_space = bytes.get(j).is_some_and(|b| b.1.is_whitespace());
            let next_starts = text[end..].trim_start().chars().next().is_some_and(|n| {
                n.is_uppercase() || n.is_ascii_digit() || "\"'(\u{201c}[".contains(n)
            });
            let word_before = last_word(&text[start..pos]);
            let abbreviation = c == '.'
                && (ABBREVIATIONS.contains(&word_before.to_lowercase().as_str())
                    || (word_before.chars().count() == 1
                        && word_before.chars().all(char::is_uppercase)));
            // A lowercase start ("v2 ships", "iOS") ends a sentence only after a word too
            // long to be an unknown abbreviation.
            let plausible = next_starts || word_before.chars().count() > 3;
            if at_end || (followed_by_space && plausible && !abbreviation) {
                let s = text[start..end].trim();
                if !s.is_empty() {
                    out.push(s);
                }
                start = end;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// The last word before a position (letters, digits and inner full stops: `U.S`).
fn last_word(s: &str) -> &str {
    let s = s.trim_end();
    let begin = s
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    s[begin..].trim_matches('.')
}

/// Words: white-space separated tokens that hold a letter or a digit.
pub fn words(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .collect()
}

/// A token without the punctuation around it (`"(Acme's," → "Acme's"`).
pub fn bare(token: &str) -> &str {
    token.trim_matches(|c: char| !c.is_alphanumeric())
}

/// `text` with everything between quotation marks (straight or curly double quotes)
/// replaced by a space: what the insight says in its own voice.
pub fn outside_quotes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    let mut straight_open = false;
    for c in text.chars() {
        match c {
            '\u{201c}' => inside = true,
            '\u{201d}' => {
                inside = false;
                out.push(' ');
                continue;
            }
            '"' => {
                straight_open = !straight_open;
                inside = straight_open;
                out.push(' ');
                continue;
            }
            _ => {}
        }
        if !inside {
            out.push(c);
        }
    }
    out
}

/// Lowercased text with single spaces between words and no punctuation but `%`, `$` and
/// inner apostrophes, padded with a space on each side (so `contains(" word ")` matches
/// whole words).
pub fn normalised(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    for w in text.split(|c: char| c.is_whitespace()) {
        let w: String = w
            .trim_matches(|c: char| !(c.is_alphanumeric() || c == '%' || c == '$'))
            .chars()
            .map(|c| if c == '\u{2019}' { '\'' } else { c })
            .flat_map(char::to_lowercase)
            .collect();
        if !w.is_empty() {
            out.push_str(&w);
            out.push(' ');
        }
    }
    out
}

/// Words too common to say what a claim is about.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "but",
    "of",
    "to",
    "in",
    "on",
    "at",
    "by",
    "for",
    "with",
    "from",
    "into",
    "onto",
    "about",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "has",
    "have",
    "had",
    "do",
    "does",
    "did",
    "it",
    "its",
    "this",
    "that",
    "these",
    "those",
    "than",
    "then",
    "so",
    "if",
    "not",
    "no",
    "can",
    "could",
    "will",
    "would",
    "should",
    "may",
    "might",
    "must",
    "their",
    "they",
    "them",
    "his",
    "her",
    "he",
    "she",
    "which",
    "who",
    "whom",
    "what",
    "when",
    "where",
    "while",
    "how",
    "why",
    "all",
    "any",
    "each",
    "more",
    "most",
    "much",
    "many",
    "some",
    "such",
    "only",
    "also",
    "just",
    "now",
    "new",
    "one",
    "per",
    "up",
    "out",
    "over",
    "under",
    "after",
    "before",
    "between",
    "through",
    "says",
    "said",
    "say",
    "according",
    "instead",
    "there",
    "here",
    "very",
    "own",
    "other",
    "same",
    "both",
    "because",
    "since",
    "until",
    "via",
    "whose",
    "gets",
    "get",
    "makes",
    "make",
    "made",
];

/// Content words of `text` for comparing two claims: lowercased, stop words dropped, cut to
/// their first six letters (a crude stem: "licence"/"licensing" differ, "raises"/"raised"
/// meet at "raise" / "raised" → "raise").
pub fn content_stems(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| w.chars().any(char::is_alphabetic) && w.chars().count() > 1)
        .filter(|w| !STOP.contains(&w.as_str()))
        .map(|w| {
            let w = w.strip_suffix("'s").unwrap_or(&w).to_string();
            w.chars().take(6).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_but_not_decimals_initials_or_abbreviations() {
        let s = sentences(
            "Acme grew 2.5 % in Q3. J. R. Smith, the CEO of Acme Inc. and a U.S. citizen, \
             said so! What follows? \"Nothing,\" she said.",
        );
        assert_eq!(
            s,
            [
                "Acme grew 2.5 % in Q3.",
                "J. R. Smith, the CEO of Acme Inc. and a U.S. citizen, said so!",
                "What follows?",
                "\"Nothing,\" she said."
            ]
        );
        assert_eq!(sentences("No stop at the end"), ["No stop at the end"]);
        assert_eq!(sentences("  "), Vec::<&str>::new());
        assert_eq!(
            sentences("Version 3.12 ships. v2 follows."),
            ["Version 3.12 ships.", "v2 follows."]
        );
    }

    #[test]
    fn quotes_are_removed() {
        assert_eq!(
            outside_quotes("Ann said \u{201c}we won\u{201d} and \"you lost\" today")
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["Ann", "said", "and", "today"]
        );
    }

    #[test]
    fn normalises_and_stems() {
        assert_eq!(normalised("Acme's CEO: \"8 %\" up!"), " acme's ceo 8 % up ");
        assert_eq!(
            content_stems("The studio's new deal pays the union 8 percent"),
            ["studio", "deal", "pays", "union", "percen"]
        );
    }
}
