//! Does an insight correspond to a host-chosen item? A lexical rule, documented in
//! [`RULE`] and printed with every result.
//!
//! Tokens: the text is lowercased and split on everything but letters, digits, `-`, `_` and
//! `.`; edge punctuation is trimmed. A token is *distinctive* when it is not a stopword (common
//! English, spoken fillers, and words every Python Bytes item shares such as "python", "library",
//! "episode", the hosts' names) and either has at least 4 characters or looks like a package
//! name (contains a digit, `-`, `_` or an inner `.`). Item tokens come from its title,
//! description and the last path segment of its links; title tokens of 2–3 letters (`uv`, `ty`,
//! `pdm`) also count as distinctive because a title is a deliberate choice of words.
//!
//! An insight (text + quote) matches an item when it shares at least
//! [`MIN_SHARED_WITH_TITLE`] distinctive tokens with the item of which at least one is from the
//! title, or at least [`MIN_SHARED`] distinctive tokens anywhere. Among matching items the one
//! with the highest `2·title_shared + shared` wins (ties: the earlier item).

use std::collections::BTreeSet;

use crate::shownotes::HostItem;

/// Shared distinctive tokens needed when one of them is in the item's title.
pub const MIN_SHARED_WITH_TITLE: usize = 2;
/// Shared distinctive tokens needed otherwise.
pub const MIN_SHARED: usize = 4;

/// The rule in one paragraph (printed with the results).
pub const RULE: &str = "lexical match: lowercase tokens (letters, digits, - _ .), minus stopwords \
(English, fillers, 'python', 'library', host names…), kept if ≥ 4 chars or package-like (digit, -, _, inner .); \
item tokens = title + description + link slugs (2–3 letter title words count too); \
an insight (text + quote) matches an item if it shares ≥ 2 such tokens of which ≥ 1 is in the title, \
or ≥ 4 anywhere; best item by 2·title_shared + shared";

const STOPWORDS: &[&str] = &[
    "about",
    "above",
    "actually",
    "after",
    "again",
    "against",
    "all",
    "also",
    "always",
    "and",
    "another",
    "any",
    "anything",
    "are",
    "around",
    "back",
    "because",
    "been",
    "before",
    "being",
    "below",
    "best",
    "better",
    "between",
    "both",
    "bring",
    "build",
    "built",
    "but",
    "called",
    "came",
    "can",
    "cannot",
    "check",
    "code",
    "come",
    "comes",
    "could",
    "cool",
    "data",
    "did",
    "does",
    "doing",
    "done",
    "down",
    "during",
    "each",
    "easy",
    "either",
    "else",
    "enough",
    "even",
    "ever",
    "every",
    "example",
    "fact",
    "feel",
    "find",
    "first",
    "from",
    "further",
    "gets",
    "getting",
    "give",
    "gives",
    "going",
    "gonna",
    "good",
    "great",
    "guess",
    "have",
    "having",
    "help",
    "here",
    "hers",
    "himself",
    "into",
    "it's",
    "its",
    "itself",
    "just",
    "keep",
    "kind",
    "know",
    "last",
    "less",
    "like",
    "little",
    "long",
    "look",
    "looks",
    "lots",
    "made",
    "make",
    "makes",
    "making",
    "many",
    "maybe",
    "mean",
    "more",
    "most",
    "much",
    "must",
    "need",
    "needs",
    "never",
    "next",
    "nice",
    "okay",
    "once",
    "only",
    "other",
    "others",
    "ours",
    "ourselves",
    "over",
    "people",
    "pretty",
    "probably",
    "project",
    "projects",
    "pull",
    "quite",
    "rather",
    "really",
    "right",
    "same",
    "says",
    "said",
    "see",
    "should",
    "show",
    "shows",
    "since",
    "some",
    "something",
    "stuff",
    "such",
    "sure",
    "take",
    "talk",
    "talked",
    "talking",
    "than",
    "that",
    "that's",
    "thats",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they're",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "though",
    "through",
    "time",
    "times",
    "today",
    "together",
    "tool",
    "tools",
    "true",
    "under",
    "until",
    "use",
    "used",
    "uses",
    "using",
    "very",
    "want",
    "wants",
    "well",
    "were",
    "what",
    "what's",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "will",
    "with",
    "within",
    "without",
    "work",
    "works",
    "would",
    "yeah",
    "year",
    "years",
    "you're",
    "your",
    "yours",
    "yourself",
    "yourselves",
    // Words every Python Bytes item shares.
    "python",
    "pythons",
    "library",
    "libraries",
    "package",
    "packages",
    "episode",
    "episodes",
    "podcast",
    "bytes",
    "michael",
    "brian",
    "kennedy",
    "okken",
    "github",
    "com",
    "www",
    "http",
    "https",
    "html",
    "article",
    "post",
    "blog",
    "link",
    "links",
    "thanks",
    "via",
    "new",
    "news",
    "version",
    "release",
    "released",
    "support",
    "speaker",
    "insight",
    "insights",
    "quote",
    "developer",
    "developers",
    "programming",
    "feature",
    "features",
    "allows",
    "lets",
    "shows",
    "extra",
    "extras",
    "discusses",
    "discussed",
    "mentioned",
    "mentions",
    "explains",
    "highlights",
    "topic",
];

fn is_stopword(t: &str) -> bool {
    STOPWORDS.contains(&t)
}

fn raw_tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '\'')))
        .map(|t| {
            t.trim_matches(|c: char| matches!(c, '-' | '_' | '.' | '\''))
                .to_lowercase()
        })
        .filter(|t| !t.is_empty() && t.chars().count() <= 64)
}

fn package_like(t: &str) -> bool {
    t.chars().any(|c| c.is_ascii_digit()) && t.chars().any(char::is_alphabetic)
        || t.contains('-')
        || t.contains('_')
        || t.contains('.')
}

/// The distinctive tokens of free text (an insight's text and quote).
pub fn distinctive(text: &str) -> BTreeSet<String> {
    raw_tokens(text)
        .filter(|t| !is_stopword(t) && (t.chars().count() >= 4 || package_like(t)))
        .collect()
}

/// Title words of 2–3 letters that are not stopwords (`uv`, `ty`, `pdm`).
fn short_title_words(title: &str) -> BTreeSet<String> {
    raw_tokens(title)
        .filter(|t| {
            (2..=3).contains(&t.chars().count())
                && t.chars().all(|c| c.is_ascii_alphanumeric())
                && t.chars().any(|c| c.is_ascii_alphabetic())
                && !SHORT_STOP.contains(&t.as_str())
        })
        .collect()
}

const SHORT_STOP: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "for", "get", "has", "how", "in", "is",
    "it", "its", "new", "no", "not", "of", "on", "or", "our", "out", "so", "the", "to", "up", "us",
    "use", "via", "was", "we", "why", "you", "all", "can", "now", "one", "two", "way", "say", "py",
    "pep", "api", "app", "web", "dev", "big", "top", "vs", "my", "any", "too",
];

/// An item's tokens, split into title tokens and all tokens.
#[derive(Debug, Clone, Default)]
pub struct ItemTokens {
    /// Distinctive title tokens (short title words included).
    pub title: BTreeSet<String>,
    /// Every distinctive token of title, description and link slugs.
    pub all: BTreeSet<String>,
}

impl ItemTokens {
    /// Tokenises a host item.
    pub fn of(item: &HostItem) -> Self {
        let mut title = distinctive(&item.title);
        title.extend(short_title_words(&item.title));
        let mut all = title.clone();
        all.extend(distinctive(&item.description));
        for url in &item.links {
            let slug = url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            all.extend(distinctive(slug));
        }
        Self { title, all }
    }
}

/// A matched item with the evidence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemMatch {
    /// Index into the episode's items.
    pub item: usize,
    /// Shared tokens that are in the item's title.
    pub title_shared: Vec<String>,
    /// All shared tokens.
    pub shared: Vec<String>,
}

/// The host item an insight corresponds to, if any (see the module docs for the rule).
pub fn match_insight(text: &str, quote: &str, items: &[ItemTokens]) -> Option<ItemMatch> {
    let mut tokens = distinctive(text);
    tokens.extend(distinctive(quote));
    // Short title words (`uv`) count when the insight says them as words.
    let words: BTreeSet<String> = raw_tokens(text).chain(raw_tokens(quote)).collect();
    let mut best: Option<(usize, ItemMatch)> = None;
    for (i, it) in items.iter().enumerate() {
        let title_shared: Vec<String> = it
            .title
            .iter()
            .filter(|t| tokens.contains(*t) || words.contains(*t))
            .cloned()
            .collect();
        let mut shared: BTreeSet<String> = it.all.intersection(&tokens).cloned().collect();
        shared.extend(title_shared.iter().cloned());
        let ok = (!title_shared.is_empty() && shared.len() >= MIN_SHARED_WITH_TITLE)
            || shared.len() >= MIN_SHARED;
        if !ok {
            continue;
        }
        let score = 2 * title_shared.len() + shared.len();
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                ItemMatch {
                    item: i,
                    title_shared,
                    shared: shared.into_iter().collect(),
                },
            ));
        }
    }
    best.map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(title: &str, description: &str, links: &[&str]) -> HostItem {
        HostItem {
            number: Some(1),
            host: None,
            title: title.into(),
            description: description.into(),
            links: links.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn items() -> Vec<ItemTokens> {
        [
            item(
                "uv 3.0 and all the excitement",
                "End-to-end project management: uv run, uv lock, and uv sync\nTool management: uv tool install (aliased to uvx)",
                &["https://astral.sh/blog/uv-unified-python-packaging"],
            ),
            item(
                "Top pytest Plugins",
                "pytest-check has made it to 25. Inspired by Hugo's Top PyPI Packages",
                &["https://pypi.org/project/pytest-check/"],
            ),
        ]
        .iter()
        .map(ItemTokens::of)
        .collect()
    }

    #[test]
    fn clear_match_on_title_and_description() {
        let m = match_insight(
            "The uv tool now manages whole projects: uv lock and uv sync replace pip-tools.",
            "you can do uv sync and it just sets up the environment",
            &items(),
        )
        .expect("should match the uv item");
        assert_eq!(m.item, 0);
        assert!(m.title_shared.contains(&"uv".to_owned()), "{m:?}");
        assert!(m.shared.contains(&"sync".to_owned()), "{m:?}");
    }

    #[test]
    fn package_name_matches_the_right_item() {
        let m = match_insight(
            "Brian counted the most downloaded pytest plugins; pytest-check is now in the top 25.",
            "pytest-check made it to the list",
            &items(),
        )
        .expect("should match the pytest item");
        assert_eq!(m.item, 1);
    }

    #[test]
    fn unrelated_insight_does_not_match() {
        assert_eq!(
            match_insight(
                "The hosts think it is a good idea to take a holiday on Monday and talk about the weather.",
                "we really should have kicked off the shift to Monday next week",
                &items(),
            ),
            None
        );
    }

    #[test]
    fn generic_python_words_do_not_match() {
        // Shares only stopwords ("python", "package", "tools", "project") with the items.
        assert_eq!(
            match_insight(
                "Python package tools help every project.",
                "python packages and tools",
                &items()
            ),
            None
        );
    }

    #[test]
    fn distinctive_tokens_rule() {
        let t = distinctive("The uv tool: pytest-check, Python 3.13 and SQLite!");
        assert!(t.contains("pytest-check"));
        assert!(t.contains("3.13"));
        assert!(t.contains("sqlite"));
        assert!(!t.contains("python"));
        assert!(!t.contains("uv"), "short words only count from titles");
        assert!(!t.contains("the"));
    }
}
