//! What the streaming parser and the feed builder share: the limits, the namespaces the
//! parser knows and the kinds of open element (so neither module imports the other's
//! internals).

/// Maximum element nesting depth outside captured fields.
pub const MAX_DEPTH: usize = 256;
/// Maximum number of items/entries kept from one feed.
pub const MAX_ITEMS: usize = 100_000;
/// Maximum length of one captured text field, in bytes (longer text is cut).
pub const MAX_FIELD_BYTES: usize = 1 << 20;
/// Maximum number of warnings recorded.
pub const MAX_WARNINGS: usize = 64;

/// The namespaces the parser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No prefix (RSS, or Atom when the document is Atom).
    Plain,
    Itunes,
    Podcast,
    Content,
    Atom,
    Dc,
    Media,
    Rdf,
    GooglePlay,
    Other,
}

pub(crate) fn ns_for_uri(uri: &str) -> Ns {
    let u = uri.trim().trim_end_matches('/');
    let lower_has =
        |needle: &str| u.len() >= needle.len() && u.to_ascii_lowercase().contains(needle);
    if lower_has("itunes.com/dtds") {
        Ns::Itunes
    } else if lower_has("podcastindex.org/namespace") || lower_has("podcast-namespace") {
        Ns::Podcast
    } else if u.ends_with("purl.org/rss/1.0/modules/content") {
        Ns::Content
    } else if u.ends_with("www.w3.org/2005/Atom") || u.ends_with("purl.org/atom/ns#") {
        Ns::Atom
    } else if u.ends_with("purl.org/dc/elements/1.1") || u.ends_with("purl.org/dc/terms") {
        Ns::Dc
    } else if u.ends_with("search.yahoo.com/mrss") {
        Ns::Media
    } else if u.ends_with("www.w3.org/1999/02/22-rdf-syntax-ns#") {
        Ns::Rdf
    } else if u.ends_with("purl.org/rss/1.0") || u.contains("backend.userland.com/rss") {
        Ns::Plain
    } else if lower_has("google.com/schemas/play-podcasts") {
        Ns::GooglePlay
    } else {
        Ns::Other
    }
}

pub(crate) fn ns_for_prefix(prefix: &str) -> Ns {
    match prefix {
        "itunes" => Ns::Itunes,
        "podcast" => Ns::Podcast,
        "content" => Ns::Content,
        "atom" | "atom10" | "atom03" => Ns::Atom,
        "dc" | "dcterms" => Ns::Dc,
        "media" => Ns::Media,
        "rdf" => Ns::Rdf,
        "googleplay" => Ns::GooglePlay,
        _ => Ns::Other,
    }
}

/// What an open element on the stack is, as far as the parser cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Root,
    Channel,
    Item,
    /// RSS `<image>` in the channel.
    Image,
    /// Atom `<author>`.
    AtomAuthor,
    /// A stray HTML element outside any captured field (ignored for context).
    Html,
    Other,
}
