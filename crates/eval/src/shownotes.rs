//! Python Bytes show notes: the items the hosts chose for an episode.
//!
//! The notes are hand-written Markdown whose shape changed over the years. Since about
//! episode 50 each item starts with a numbered heading line, in one of several spellings:
//!
//! ```text
//! **Michael #1:** [**Title**](https://…)
//! [**#6 Michael: Multi-threaded SQLite with …**](https://…)
//! **#2:** [Title](https://…)          Brian #3: Title
//! ```
//!
//! The earliest episodes have no numbers: every item is a paragraph that is a bold (linked)
//! title, `[**Title**](https://…)`, followed by bullets. [`parse_show_notes`] understands both;
//! an item's description is everything up to the next item, and the items end at the
//! `Extras` / `Joke` section (those are not host-chosen news items). A *numbered*
//! "Extra, Extra, Extra" item in the middle of the list is kept: the host chose it, and its
//! description lists the small news it covers.

use std::sync::LazyLock;

use regex::Regex;

/// Largest show-notes file read (the real ones are a few KiB).
pub const MAX_NOTES_BYTES: usize = 512 * 1024;
/// Most items kept from one episode (real episodes have 4–8).
pub const MAX_ITEMS: usize = 16;
/// Longest description kept per item, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 6000;

/// One host-chosen item of an episode.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostItem {
    /// The item's number in the notes (`#1`…), `None` for unnumbered early episodes.
    pub number: Option<u32>,
    /// The host who presented it, when the heading names one.
    pub host: Option<String>,
    /// The title, Markdown removed.
    pub title: String,
    /// The item's text up to the next item, Markdown links reduced to their text, URLs kept
    /// apart in `links`.
    pub description: String,
    /// URLs of the item's links (package names often live only there).
    pub links: Vec<String>,
}

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"!?\[([^\]]*)\]\(([^)\s]*)[^)]*\)").unwrap_or_else(|_| unreachable!())
});
static BARE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://[^\s)>\]]+").unwrap_or_else(|_| unreachable!()));
/// A numbered item heading, on a line already cleaned of Markdown.
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:#{1,6}\s*)?(?:([A-Z][A-Za-z.]*(?:\s+[A-Z][A-Za-z.]*)?)\s*)?#\s?(\d)\b\s*[:.\-–]?\s*(?:([A-Z][a-z]+)\s*:)?\s*(.*)$",
    )
    .unwrap_or_else(|_| unreachable!())
});
static END_OF_ITEMS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:#{1,6}\s*)?(?:extras?|jokes?|joke:)\b").unwrap_or_else(|_| unreachable!())
});

/// Boilerplate bold paragraphs of the notes that are not items.
const BOILERPLATE: &[&str] = &[
    "sponsored by",
    "connect with the hosts",
    "join us on youtube",
    "show intro",
    "news items",
    "brought to you by",
    "special guest",
    "comments",
];

/// Removes Markdown links (keeping their text), emphasis markers and backticks.
fn clean(line: &str) -> String {
    let no_links = LINK.replace_all(line, "$1");
    let stripped: String = no_links
        .chars()
        .filter(|c| !matches!(c, '*' | '`'))
        .collect();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn links_of(line: &str) -> Vec<String> {
    let mut out: Vec<String> = LINK
        .captures_iter(line)
        .filter_map(|c| c.get(2).map(|m| m.as_str().to_owned()))
        .filter(|u| u.starts_with("http"))
        .collect();
    let without_md = LINK.replace_all(line, "");
    out.extend(
        BARE_URL
            .find_iter(&without_md)
            .map(|m| m.as_str().to_owned()),
    );
    out
}

fn is_bullet(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("- ") || t.starts_with("+ ") || t.starts_with("* ") || t.starts_with('>')
}

/// Is `line` an unnumbered item heading (a paragraph that is a bold title)?
fn unnumbered_title(line: &str) -> Option<String> {
    let t = line.trim();
    if is_bullet(t) || !(t.starts_with("[**") || t.starts_with("**")) {
        return None;
    }
    let title = clean(t).trim().trim_end_matches(':').trim().to_owned();
    let lower = title.to_lowercase();
    if title.is_empty()
        || title.chars().count() > 200
        || BOILERPLATE.iter().any(|b| lower.starts_with(b))
    {
        return None;
    }
    Some(title)
}

struct Heading {
    number: Option<u32>,
    host: Option<String>,
    title: String,
}

fn numbered_heading(line: &str) -> Option<Heading> {
    let t = line.trim();
    if is_bullet(t) {
        return None;
    }
    let cleaned = clean(t);
    let caps = NUMBERED.captures(&cleaned)?;
    let number = caps.get(2)?.as_str().parse().ok()?;
    let host = caps
        .get(1)
        .or_else(|| caps.get(3))
        .map(|m| m.as_str().trim().to_owned())
        .filter(|h| !h.is_empty());
    let title = caps
        .get(4)
        .map(|m| m.as_str().trim().trim_start_matches(':').trim().to_owned())
        .unwrap_or_default();
    Some(Heading {
        number: Some(number),
        host,
        title,
    })
}

fn is_extra_title(title: &str) -> bool {
    let l = title.to_lowercase();
    l.starts_with("extra") || l.starts_with("joke")
}

/// Parses one episode's show notes into its host-chosen items (at most [`MAX_ITEMS`]).
/// Never fails: text that matches no item shape gives an empty list.
pub fn parse_show_notes(markdown: &str) -> Vec<HostItem> {
    let text = truncate_chars(markdown, MAX_NOTES_BYTES);
    let lines: Vec<&str> = text.lines().collect();
    let numbered = lines
        .iter()
        .any(|l| numbered_heading(l).is_some_and(|h| !h.title.is_empty() || h.host.is_some()));
    let mut items: Vec<HostItem> = Vec::new();
    let mut open = false;
    for (i, line) in lines.iter().enumerate() {
        if END_OF_ITEMS.is_match(&clean(line)) {
            break;
        }
        let heading = if numbered {
            numbered_heading(line)
        } else {
            unnumbered_title(line).map(|title| Heading {
                number: None,
                host: None,
                title,
            })
        };
        if let Some(mut h) = heading {
            if items.len() >= MAX_ITEMS {
                break;
            }
            if h.title.is_empty() {
                // `**Michael #1:**` alone on its line: the title is on the next non-empty one.
                if let Some(next) = lines[i + 1..].iter().find(|l| !l.trim().is_empty()) {
                    h.title = clean(next);
                }
            }
            if h.number.is_none() && is_extra_title(&h.title) {
                break;
            }
            if h.title.to_lowercase().starts_with("joke") {
                open = false;
                continue;
            }
            items.push(HostItem {
                number: h.number,
                host: h.host,
                title: h.title,
                description: String::new(),
                links: links_of(line),
            });
            open = true;
            continue;
        }
        if open && let Some(item) = items.last_mut() {
            let c = clean(line);
            if !c.is_empty() && item.description.chars().count() < MAX_DESCRIPTION_CHARS {
                if !item.description.is_empty() {
                    item.description.push('\n');
                }
                item.description.push_str(&BARE_URL.replace_all(&c, ""));
            }
            if item.links.len() < 64 {
                item.links.extend(links_of(line));
            }
        }
    }
    items.retain(|it| !it.title.trim().is_empty());
    items
}

fn truncate_chars(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODERN: &str = "# Python Bytes 398\n\nSponsored by us! Support our work through:\n\n\
- Our [**courses at Talk Python Training**](https://training.talkpython.fm/)\n\n\
**Connect with the hosts**\n\n- Michael: [**@mkennedy**](https://fosstodon.org/@mkennedy)\n\n\
**Brian #1:** **Open Source Myths**\n\n- [Josh Bressers](https://infosec.exchange/@joshbressers)\n\
- Everything is being rewritten in rust\n\n\
**Michael #2:** [**uv 3.0 and all the excitement**](https://astral.sh/blog/uv-unified-python-packaging)\n\n\
- Tool management: uv tool install and uv tool run (aliased to uvx)\n- Issue #4 fixed\n\n\
[**#3 Brian: Top pytest Plugins**](https://pythontest.com/top-pytest-plugins/)\n\n\
- [pytest-check](https://pypi.org/project/pytest-check/) has made it to 25.\n\n\
**Michael #4:**\n[A comparison of serverless hosts](https://github.com/hbmartin/x)\n\n- WASM ones\n\n\
**Extras** \n\nBrian:\n\n- something\n\n**Joke:** a joke\n";

    #[test]
    fn parses_modern_numbered_items() {
        let items = parse_show_notes(MODERN);
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Open Source Myths",
                "uv 3.0 and all the excitement",
                "Top pytest Plugins",
                "A comparison of serverless hosts"
            ]
        );
        assert_eq!(items[0].number, Some(1));
        assert_eq!(items[0].host.as_deref(), Some("Brian"));
        assert_eq!(items[2].host.as_deref(), Some("Brian"));
        assert_eq!(items[3].host.as_deref(), Some("Michael"));
        assert!(items[1].description.contains("uvx"));
        assert!(items[1].description.contains("Issue #4 fixed"));
        assert!(
            items[2]
                .links
                .iter()
                .any(|l| l.contains("pypi.org/project/pytest-check"))
        );
        assert!(!items[3].description.contains("something"), "extras leaked");
    }

    #[test]
    fn parses_early_unnumbered_items() {
        let md = "Welcome to Python Bytes.\n\n## News items\n[**PyData DC 2016 videos are out**](https://youtube.com/x)\n\n\
- 64 videos (30 hours)\n\n[**easyargs**](https://github.com/stedmeister/easyargs)\n\n- A python module for command line arguments\n\n\
[**safety-db** via github](https://github.com/pyupio/safety-db)\n\n- insecure packages\n";
        let items = parse_show_notes(md);
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "PyData DC 2016 videos are out",
                "easyargs",
                "safety-db via github"
            ]
        );
        assert_eq!(items[0].number, None);
        assert!(items[1].description.contains("command line"));
    }

    #[test]
    fn nothing_item_like_gives_no_items() {
        assert!(parse_show_notes("").is_empty());
        assert!(parse_show_notes("just some text\n- a bullet #1\n").is_empty());
    }
}
