//! Finding shows by name: the iTunes Search API (`GET /search?term=…&media=podcast`, no key
//! needed), as documented by Apple: `{"resultCount": N, "results": [{"collectionName",
//! "artistName", "feedUrl", "trackCount", "primaryGenreName", "collectionViewUrl", …}]}`.
//! Results without a feed URL (Apple-only shows) are left out.

use serde::{Deserialize, Serialize};
use url::Url;

/// One show a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectoryShow {
    pub title: String,
    pub author: Option<String>,
    pub feed_url: String,
    pub episodes: Option<u64>,
    pub genre: Option<String>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    results: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    collection_name: Option<String>,
    artist_name: Option<String>,
    feed_url: Option<String>,
    track_count: Option<u64>,
    primary_genre_name: Option<String>,
}

/// The search URL for `term` at `base` (`https://itunes.apple.com/search`).
pub fn search_url(base: &str, term: &str, limit: usize) -> Result<Url, String> {
    let mut url = Url::parse(base).map_err(|e| format!("search URL {base:?}: {e}"))?;
    url.query_pairs_mut()
        .append_pair("term", term)
        .append_pair("media", "podcast")
        .append_pair("entity", "podcast")
        .append_pair("limit", &limit.clamp(1, 200).to_string());
    Ok(url)
}

/// The shows of a search answer that have an http(s) feed, in the answer's order, without
/// repeats.
pub fn parse_search(body: &[u8]) -> Result<Vec<DirectoryShow>, String> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| format!("not a search answer: {e}"))?;
    let mut shows: Vec<DirectoryShow> = Vec::new();
    for item in answer.results {
        let Some(feed) = item.feed_url.map(|u| u.trim().to_string()) else {
            continue;
        };
        let ok = Url::parse(&feed).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok || shows.iter().any(|s| s.feed_url == feed) {
            continue;
        }
        let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        shows.push(DirectoryShow {
            title: clean(item.collection_name).unwrap_or_else(|| feed.clone()),
            author: clean(item.artist_name),
            feed_url: feed,
            episodes: item.track_count,
            genre: clean(item.primary_genre_name),
        });
    }
    Ok(shows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_answers_become_shows_with_feeds() {
        let body = br#"{"resultCount":4,"results":[
            {"wrapperType":"track","kind":"podcast","collectionName":" Hard Fork ","artistName":"The New York Times","feedUrl":"https://feeds.simplecast.com/l2i9YnTd","trackCount":150,"primaryGenreName":"Technology"},
            {"collectionName":"Apple only","artistName":"x"},
            {"collectionName":"Bad","feedUrl":"javascript:alert(1)"},
            {"collectionName":"Hard Fork again","feedUrl":"https://feeds.simplecast.com/l2i9YnTd"}]}"#;
        let shows = parse_search(body).unwrap();
        assert_eq!(shows.len(), 1);
        assert_eq!(shows[0].title, "Hard Fork");
        assert_eq!(shows[0].author.as_deref(), Some("The New York Times"));
        assert_eq!(shows[0].episodes, Some(150));
        assert!(parse_search(b"<html>").is_err());
        assert!(parse_search(b"{}").unwrap().is_empty());
        let url = search_url("https://itunes.apple.com/search", "hard fork & co", 10).unwrap();
        assert_eq!(
            url.as_str(),
            "https://itunes.apple.com/search?term=hard+fork+%26+co&media=podcast&entity=podcast&limit=10"
        );
    }
}
