//! podsift-feeds: a fast, lenient and safe podcast feed parser (RSS 0.9x/1.0/2.0 and Atom
//! with the iTunes, Podcasting 2.0, content, Dublin Core and Media RSS namespaces), OPML
//! import/export, content sniffing and feed discovery in HTML pages.
//!
//! Safety: DTD entities are never expanded, nothing external is fetched, and nesting depth,
//! item count, field length and warning count are capped (see [`limits`]).

mod build;
mod dates;
mod decode;
mod discover;
pub mod opml;
mod parser;
pub mod synth;
mod text;
mod vocab;

use podsift_core::{EpisodeUpsert, ParsedEpisode, ParsedFeed};
use sha2::{Digest, Sha256};

pub use dates::parse_date;
pub use discover::{Sniffed, discover_feed_links, sniff};
pub use text::parse_duration;

/// The parser's hard limits on untrusted input.
pub mod limits {
    pub use crate::vocab::{MAX_DEPTH, MAX_FIELD_BYTES, MAX_ITEMS, MAX_WARNINGS};
}

/// Why a document could not be parsed as a feed. Every variant is permanent: the same
/// bytes will fail the same way, so retrying without a change upstream is pointless.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// The bytes are not XML at all; the string says what they look like.
    #[error("not XML: {0}")]
    NotXml(String),
    /// Well-formed enough, but not a feed; the string says what it is instead.
    #[error("not a feed: {0}")]
    NotAFeed(String),
    /// Broken before any feed structure could be read.
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// Element nesting deeper than the limit (the value).
    #[error("elements nested deeper than {0} levels")]
    TooDeep(usize),
}

impl FeedError {
    /// Always `false`: feed errors are properties of the document.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Parses feed bytes. `base_url` (the URL the feed was fetched from) resolves relative
/// URLs; `xml:base` on the root/channel/item wins over it, and the channel `<link>` is used
/// when neither is given.
pub fn parse_feed(bytes: &[u8], base_url: Option<&str>) -> Result<ParsedFeed, FeedError> {
    let decoded = decode::decode(bytes);
    let first = decoded.text.trim_start().as_bytes().first().copied();
    if first != Some(b'<') {
        let what = match sniff(bytes, None) {
            Sniffed::Other(s) => s,
            Sniffed::Html => "an HTML page".to_string(),
            Sniffed::Feed => "text".to_string(),
        };
        return Err(FeedError::NotXml(what));
    }
    let c1 = text::has_c1(&decoded.text);
    parser::Parser::new(base_url, decoded.warnings, c1).run(&decoded.text)
}

/// The stable identity of an episode within its feed: `guid:<guid>`, else
/// `enclosure:<url>`, else `link:<link>`, else `title:<title>`; `None` when nothing
/// identifies it.
pub fn episode_identity(ep: &ParsedEpisode) -> Option<String> {
    let pick = |prefix: &str, v: Option<&str>| {
        v.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("{prefix}:{s}"))
    };
    pick("guid", ep.guid.as_deref())
        .or_else(|| pick("enclosure", ep.enclosure.as_ref().map(|e| e.url.as_str())))
        .or_else(|| pick("link", ep.link.as_deref()))
        .or_else(|| pick("title", ep.title.as_deref()))
}

/// A stable hex SHA-256 of the episode's content (all parsed fields, in a fixed order):
/// a different hash for the same identity means the publisher edited the episode.
pub fn content_hash(ep: &ParsedEpisode) -> String {
    // serde_json writes struct fields in declaration order, so this is deterministic.
    let json = serde_json::to_vec(ep).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The episodes to upsert: those with an identity, first occurrence of each identity wins.
pub fn to_upserts(feed: &ParsedFeed) -> Vec<EpisodeUpsert> {
    let mut seen = std::collections::HashSet::with_capacity(feed.episodes.len());
    feed.episodes
        .iter()
        .filter_map(|ep| {
            let identity = episode_identity(ep)?;
            if !seen.insert(identity.clone()) {
                return None;
            }
            Some(EpisodeUpsert {
                identity,
                content_hash: content_hash(ep),
                episode: ep.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
