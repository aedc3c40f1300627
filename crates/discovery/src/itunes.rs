//! The iTunes Search API (`GET /search?term=…&media=podcast&entity=podcast`, no key; Apple
//! allows about 20 calls a minute), as documented by Apple: `{"resultCount": N, "results":
//! [{"collectionName", "artistName", "feedUrl", "trackCount", "primaryGenreName", "genres",
//! "releaseDate", …}]}`. Results without a feed URL (Apple-only shows) are left out. It has no
//! trending or recent lists.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use podsift_core::discovery::{DiscoveryError, FoundShow, ShowSource};
use podsift_core::{FetchRequest, Fetcher};
use serde::Deserialize;
use url::Url;

use crate::gate::{Gate, MAX_ANSWER_BYTES, garbage};

pub const NAME: &str = "itunes";

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
    #[serde(default)]
    genres: Vec<String>,
    release_date: Option<String>,
}

/// The search URL for `term` at `base` (`https://itunes.apple.com`).
pub fn search_url(base: &str, term: &str, limit: usize) -> Result<Url, String> {
    let base = base.trim_end_matches('/');
    let mut url =
        Url::parse(&format!("{base}/search")).map_err(|e| format!("search URL {base:?}: {e}"))?;
    url.query_pairs_mut()
        .append_pair("term", term)
        .append_pair("media", "podcast")
        .append_pair("entity", "podcast")
        .append_pair("limit", &limit.clamp(1, 200).to_string());
    Ok(url)
}

/// The shows of a search answer that have an http(s) feed, in the answer's order, without
/// repeats.
pub fn parse_search(body: &[u8]) -> Result<Vec<FoundShow>, String> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| format!("not a search answer: {e}"))?;
    let mut shows: Vec<FoundShow> = Vec::new();
    for item in answer.results {
        let Some(feed) = item.feed_url.map(|u| u.trim().to_string()) else {
            continue;
        };
        let ok = Url::parse(&feed).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !ok || shows.iter().any(|s| s.feed_url == feed) {
            continue;
        }
        let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let mut categories: Vec<String> = clean(item.primary_genre_name).into_iter().collect();
        for g in item.genres {
            if g != "Podcasts" && !categories.contains(&g) {
                categories.push(g);
            }
        }
        shows.push(FoundShow {
            source: NAME.into(),
            title: clean(item.collection_name).unwrap_or_else(|| feed.clone()),
            author: clean(item.artist_name),
            feed_url: feed,
            episodes: item.track_count,
            categories,
            newest_episode_at: item
                .release_date
                .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.with_timezone(&Utc)),
            ..FoundShow::default()
        });
    }
    Ok(shows)
}

/// The iTunes Search API behind the [`ShowSource`] port.
pub struct Itunes {
    base: String,
    fetcher: Arc<dyn Fetcher>,
    gate: Gate,
}

impl Itunes {
    pub fn new(base: &str, fetcher: Arc<dyn Fetcher>, gate: Gate) -> Self {
        Self {
            base: base.to_string(),
            fetcher,
            gate,
        }
    }
}

#[async_trait]
impl ShowSource for Itunes {
    fn name(&self) -> &str {
        NAME
    }

    async fn search(&self, term: &str, max: usize) -> Result<Vec<FoundShow>, DiscoveryError> {
        let url = search_url(&self.base, term, max).map_err(DiscoveryError::NotConfigured)?;
        let req = FetchRequest::get(url.as_str(), MAX_ANSWER_BYTES);
        let body = self
            .gate
            .get(self.fetcher.as_ref(), req, url.as_str())
            .await?;
        parse_search(&body).map_err(|e| garbage(NAME, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_answers_become_shows_with_feeds() {
        let body = br#"{"resultCount":4,"results":[
            {"wrapperType":"track","kind":"podcast","collectionName":" Hard Fork ","artistName":"The New York Times","feedUrl":"https://feeds.simplecast.com/l2i9YnTd","trackCount":150,"primaryGenreName":"Technology","genres":["Technology","Podcasts","News"],"releaseDate":"2026-12-04T10:00:00Z"},
            {"collectionName":"Apple only","artistName":"x"},
            {"collectionName":"Bad","feedUrl":"javascript:alert(1)"},
            {"collectionName":"Hard Fork again","feedUrl":"https://feeds.simplecast.com/l2i9YnTd"}]}"#;
        let shows = parse_search(body).unwrap();
        assert_eq!(shows.len(), 1);
        assert_eq!(shows[0].title, "Hard Fork");
        assert_eq!(shows[0].author.as_deref(), Some("The New York Times"));
        assert_eq!(shows[0].episodes, Some(150));
        assert_eq!(shows[0].categories, ["Technology", "News"]);
        assert_eq!(
            shows[0].newest_episode_at.map(|d| d.to_rfc3339()),
            Some("2026-12-04T10:00:00+00:00".into())
        );
        assert!(parse_search(b"<html>").is_err());
        assert!(parse_search(b"{}").unwrap().is_empty());
        let url = search_url("https://itunes.apple.com/", "hard fork & co", 10).unwrap();
        assert_eq!(
            url.as_str(),
            "https://itunes.apple.com/search?term=hard+fork+%26+co&media=podcast&entity=podcast&limit=10"
        );
    }
}
