//! Faithful figures: every number and every multi-word name in an insight must occur in the
//! passages it rests on (its cited quotes and the windows they were read in, plus the episode's
//! own metadata for names). An insight that invents one is dropped with the reason.
//!
//! Numbers are compared as digit strings (`1,200` = `1200`, `8 %` = `8`, `$2.5bn` = `2.5`);
//! the source's number words count too (`eight percent` supports `8 %`, `two hundred` supports
//! `200`), since publishers' transcripts often spell figures out. A multi-word name is a run of
//! two or more capitalised words in the insight, after dropping leading function words
//! (`According To`, `The`); it must occur, case- and punctuation-insensitively, as consecutive
//! words of the source or of the metadata, or all its words in one passage (possessive `'s`
//! ignored).

use std::collections::HashSet;

/// Words that start a sentence or a title without being part of a name.
const LEADING: &[&str] = &[
    "a",
    "an",
    "the",
    "this",
    "that",
    "these",
    "those",
    "according",
    "after",
    "and",
    "as",
    "at",
    "but",
    "by",
    "for",
    "from",
    "if",
    "in",
    "it",
    "its",
    "of",
    "on",
    "or",
    "so",
    "to",
    "when",
    "while",
    "with",
    "why",
    "what",
    "how",
    "who",
    "where",
    "meanwhile",
    "however",
    "still",
    "yet",
    "also",
    "both",
    "each",
    "every",
    "all",
    "most",
    "many",
    "some",
    "since",
    "until",
    "because",
    "though",
    "although",
    "unlike",
    "like",
    "despite",
    "per",
    "via",
    "under",
    "over",
];

/// What an insight's figures and names may be taken from.
#[derive(Debug, Default)]
pub struct Source {
    numbers: HashSet<String>,
    words: Vec<String>,
    /// Each passage's words: a name whose words all occur in one passage passes too
    /// (`Shopify CEO Tobi Lutke` against "Tobi Lutke, the CEO of Shopify").
    passages: Vec<HashSet<String>>,
    /// Names allowed from the metadata (show, title, speakers, description), normalised.
    metadata: Vec<String>,
}

impl Source {
    /// A source of the passages (`texts`) and the episode's metadata (names only).
    pub fn new<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        metadata: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut s = Source::default();
        for t in texts {
            s.numbers.extend(numbers(t));
            s.numbers.extend(spelled_numbers(t));
            let words = name_words(t);
            s.passages.push(words.iter().cloned().collect());
            s.words.extend(words);
            s.words.push(String::new()); // no phrase spans two passages
        }
        for m in metadata {
            let w = name_words(m);
            if !w.is_empty() {
                s.metadata.push(format!(" {} ", w.join(" ")));
            }
        }
        s
    }

    /// The first figure or name of `text` not found in the source, as the reason to drop it.
    pub fn check(&self, text: &str) -> Result<(), String> {
        for n in numbers(text) {
            if !self.numbers.contains(&n) {
                return Err(format!(
                    "the figure {n} is not in its quotes or the passages they come from"
                ));
            }
        }
        for name in names(text) {
            if !self.has_phrase(&name) {
                return Err(format!(
                    "the name \"{}\" is not in its quotes or the passages they come from",
                    name.join(" ")
                ));
            }
        }
        Ok(())
    }

    /// Whether the figure `n` (normalised as [`numbers`] gives it) is in the source.
    pub fn has_number(&self, n: &str) -> bool {
        self.numbers.contains(n)
    }

    fn has_phrase(&self, phrase: &[String]) -> bool {
        let joined = format!(" {} ", phrase.join(" "));
        if self.metadata.iter().any(|m| m.contains(&joined)) {
            return true;
        }
        if self
            .passages
            .iter()
            .any(|p| phrase.iter().all(|w| p.contains(w)))
        {
            return true;
        }
        self.words
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase).all(|(a, b)| a == b))
    }
}

/// Numbers written with digits, normalised (`1,200.50` → `1200.5`, `08` → `8`).
pub fn numbers(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut s = String::new();
        while i < chars.len() {
            let c = chars[i];
            let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() {
                s.push(c);
            } else if c == '.' && next_digit {
                s.push('.');
            } else if c == ',' && next_digit {
                // thousands separator
            } else {
                break;
            }
            i += 1;
        }
        out.push(normalise(&s));
    }
    out
}

fn normalise(s: &str) -> String {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

fn word_value(w: &str) -> Option<u64> {
    const SMALL: [&str; 20] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    if let Some(v) = SMALL.iter().position(|s| *s == w) {
        return Some(v as u64);
    }
    TENS.iter()
        .position(|s| *s == w)
        .map(|v| (v as u64 + 2) * 10)
}

/// Numbers spelt out in words (`twenty five`, `two hundred`, `three thousand`), as digits.
/// Scales (`million`, `billion`) are left as words: `$2 billion` is the figure `2`.
pub fn spelled_numbers(text: &str) -> Vec<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let Some(mut v) = word_value(&words[i]) else {
            i += 1;
            continue;
        };
        out.push(v.to_string());
        let mut j = i + 1;
        // twenty five
        if v >= 20
            && v % 10 == 0
            && let Some(u) = words.get(j).and_then(|w| word_value(w)).filter(|u| *u < 10)
        {
            v += u;
            out.push(v.to_string());
            j += 1;
        }
        for (scale, mult) in [("hundred", 100), ("thousand", 1000)] {
            if words.get(j).is_some_and(|w| w == scale) {
                v *= mult;
                out.push(v.to_string());
                j += 1;
            }
        }
        i = j;
    }
    out
}

/// Lowercased words for name matching: letters and digits, possessive `'s` dropped.
fn name_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .map(|w| {
            let w = w.trim_matches(['\'', '\u{2019}']);
            let w = w
                .strip_suffix("'s")
                .or_else(|| w.strip_suffix("\u{2019}s"))
                .unwrap_or(w);
            w.to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Runs of two or more capitalised words, leading function words dropped, normalised.
pub fn names(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut Vec<Vec<String>>| {
        let mut start = 0;
        while start < run.len() && LEADING.contains(&run[start].to_lowercase().as_str()) {
            start += 1;
        }
        if run.len() - start >= 2 {
            let phrase: Vec<String> = run[start..].iter().flat_map(|w| name_words(w)).collect();
            if phrase.len() >= 2 && !out.contains(&phrase) {
                out.push(phrase);
            }
        }
        run.clear();
    };
    for raw in text.split_whitespace() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric());
        let capitalised = word.chars().next().is_some_and(char::is_uppercase);
        let ends_run = raw.ends_with(['.', ',', ';', ':', '!', '?', ')', '"', '\u{201d}']);
        let starts_run = raw.starts_with(['(', '"', '\u{201c}']);
        if starts_run {
            flush(&mut run, &mut out);
        }
        if capitalised {
            run.push(word);
        } else {
            flush(&mut run, &mut out);
        }
        if ends_run {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised() {
        assert_eq!(
            numbers("8 % of $1,200.50 in 2026, up 08x, v3.10"),
            ["8", "1200.5", "2026", "8", "3.1"]
        );
        assert_eq!(
            spelled_numbers("eight percent, twenty five people, two hundred, three thousand"),
            ["8", "20", "25", "2", "200", "3", "3000"]
        );
    }

    #[test]
    fn names_skip_function_words() {
        let n = names(
            "According to Jane Doe, The Voice Actors Guild wins. That Microsoft Azure deal. \
             Python is fine.",
        );
        let n: Vec<String> = n.into_iter().map(|p| p.join(" ")).collect();
        assert_eq!(n, ["jane doe", "voice actors guild", "microsoft azure"]);
    }

    #[test]
    fn checks_figures_and_names() {
        let src = Source::new(
            [
                "Jane Doe said the union gets eight percent of streaming revenue.",
                "Acme's Cloud Platform grew 30 % last year.",
            ],
            ["Speaker: Bob Smith"],
        );
        assert!(
            src.check("According to Jane Doe, the union gets 8 % of revenue.")
                .is_ok()
        );
        assert!(
            src.check("Acme Cloud Platform grew 30 % in a year, says Bob Smith.")
                .is_ok()
        );
        let e = src.check("The union gets 12 % of revenue.").unwrap_err();
        assert!(e.contains("figure 12"), "{e}");
        let e = src
            .check("According to John Roe, it grew 30 %.")
            .unwrap_err();
        assert!(e.contains("\"john roe\""), "{e}");
        // A name's words in one passage, in another order, pass; stitched across two do not.
        assert!(src.check("Platform Cloud Acme grew.").is_ok());
        assert!(src.check("Revenue Acme grew.").is_err());
    }
}
