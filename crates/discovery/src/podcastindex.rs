//! The Podcast Index API (api.podcastindex.org/api/1.0) with the user's own key and secret
//! (its terms forbid shipping one). Every request carries `User-Agent` (the fetcher's),
//! `X-Auth-Key`, `X-Auth-Date` (unix seconds) and `Authorization` = lowercase hex
//! SHA-1(key + secret + date). Used: `search/byterm`, `podcasts/trending`, `recent/feeds`
//! (both filtered by `cat`, `lang`, `since`) and `episodes/byfeedid` (up to 200 ids).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use podsift_core::discovery::{DiscoveryError, FeedFilter, FoundEpisode, FoundShow, ShowSource};
use podsift_core::{Clock, FetchRequest, Fetcher};
use serde::Deserialize;
use sha1::Digest;
use url::Url;

use crate::gate::{Gate, MAX_ANSWER_BYTES, garbage};

pub const NAME: &str = "podcastindex";
/// `episodes/byfeedid` takes at most this many feed ids.
pub const MAX_FEED_IDS: usize = 200;

/// The `Authorization` value for `key`, `secret` and the `X-Auth-Date` `date`.
pub fn authorization(key: &str, secret: &str, date: i64) -> String {
    let mut h = sha1::Sha1::new();
    h.update(key.as_bytes());
    h.update(secret.as_bytes());
    h.update(date.to_string().as_bytes());
    hex::encode(h.finalize())
}

#[derive(Deserialize)]
struct Feeds {
    #[serde(default)]
    feeds: Vec<Feed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    id: Option<i64>,
    title: Option<String>,
    url: Option<String>,
    description: Option<String>,
    author: Option<String>,
    language: Option<String>,
    /// `{"102": "Technology"}`; `null` in some answers.
    #[serde(default)]
    categories: Option<BTreeMap<String, String>>,
    episode_count: Option<u64>,
    newest_item_pubdate: Option<i64>,
    newest_item_publish_time: Option<i64>,
}

#[derive(Deserialize)]
struct Items {
    #[serde(default)]
    items: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    feed_id: i64,
    title: Option<String>,
    date_published: Option<i64>,
    enclosure_url: Option<String>,
    guid: Option<String>,
    duration: Option<u64>,
    transcript_url: Option<String>,
}

fn parse_feeds(body: &[u8], trending: bool) -> Result<Vec<FoundShow>, String> {
    let answer: Feeds = serde_json::from_slice(body).map_err(|e| format!("not JSON feeds: {e}"))?;
    let mut out: Vec<FoundShow> = Vec::new();
    for f in answer.feeds {
        let Some(url) = f.url.map(|u| u.trim().to_string()) else {
            continue;
        };
        if !Url::parse(&url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            || out.iter().any(|s| s.feed_url == url)
        {
            continue;
        }
        let clean = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let rank = u32::try_from(out.len() + 1).ok().filter(|_| trending);
        out.push(FoundShow {
            source: NAME.into(),
            title: clean(f.title).unwrap_or_else(|| url.clone()),
            author: clean(f.author),
            feed_url: url,
            description: clean(f.description),
            categories: f.categories.unwrap_or_default().into_values().collect(),
            language: clean(f.language),
            episodes: f.episode_count,
            newest_episode_at: f
                .newest_item_pubdate
                .or(f.newest_item_publish_time)
                .and_then(|s| DateTime::from_timestamp(s, 0)),
            trending_rank: rank,
            podcastindex_id: f.id,
        });
    }
    Ok(out)
}

fn parse_items(body: &[u8]) -> Result<Vec<FoundEpisode>, String> {
    let answer: Items = serde_json::from_slice(body).map_err(|e| format!("not JSON items: {e}"))?;
    Ok(answer
        .items
        .into_iter()
        .map(|i| FoundEpisode {
            podcastindex_feed_id: i.feed_id,
            title: i.title.unwrap_or_default(),
            published: i
                .date_published
                .and_then(|s| DateTime::from_timestamp(s, 0)),
            enclosure_url: i.enclosure_url.filter(|u| !u.is_empty()),
            guid: i.guid.filter(|g| !g.is_empty()),
            duration_seconds: i.duration.filter(|d| *d > 0),
            transcript_url: i.transcript_url.filter(|u| !u.is_empty()),
        })
        .collect())
}

/// The Podcast Index behind the [`ShowSource`] port.
pub struct PodcastIndex {
    base: String,
    key: String,
    secret: String,
    fetcher: Arc<dyn Fetcher>,
    clock: Arc<dyn Clock>,
    gate: Gate,
}

impl std::fmt::Debug for PodcastIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and secret are never printed.
        f.debug_struct("PodcastIndex")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl PodcastIndex {
    pub fn new(
        base: &str,
        key: String,
        secret: String,
        fetcher: Arc<dyn Fetcher>,
        clock: Arc<dyn Clock>,
        gate: Gate,
    ) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            key,
            secret,
            fetcher,
            clock,
            gate,
        }
    }

    async fn call(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<bytes::Bytes, DiscoveryError> {
        let mut url = Url::parse(&format!("{}/{path}", self.base))
            .map_err(|e| DiscoveryError::NotConfigured(format!("podcastindex_base_url: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        let date = self.clock.now().timestamp();
        let req = FetchRequest::get(url.as_str(), MAX_ANSWER_BYTES)
            .with_header("X-Auth-Key", self.key.clone())
            .with_header("X-Auth-Date", date.to_string())
            .with_header(
                "Authorization",
                authorization(&self.key, &self.secret, date),
            );
        self.gate
            .get(self.fetcher.as_ref(), req, url.as_str())
            .await
    }
}

fn filter_query(filter: &FeedFilter) -> Vec<(&'static str, String)> {
    let mut q = vec![("max", filter.max.clamp(1, 1000).to_string())];
    if !filter.categories.is_empty() {
        q.push(("cat", filter.categories.join(",")));
    }
    if let Some(lang) = &filter.language {
        q.push(("lang", lang.clone()));
    }
    if let Some(since) = filter.since {
        q.push(("since", since.timestamp().to_string()));
    }
    q
}

#[async_trait]
impl ShowSource for PodcastIndex {
    fn name(&self) -> &str {
        NAME
    }

    async fn search(&self, term: &str, max: usize) -> Result<Vec<FoundShow>, DiscoveryError> {
        let body = self
            .call(
                "search/byterm",
                &[
                    ("q", term.to_string()),
                    ("max", max.clamp(1, 1000).to_string()),
                ],
            )
            .await?;
        parse_feeds(&body, false).map_err(|e| garbage(NAME, e))
    }

    async fn trending(&self, filter: &FeedFilter) -> Result<Vec<FoundShow>, DiscoveryError> {
        let body = self
            .call("podcasts/trending", &filter_query(filter))
            .await?;
        parse_feeds(&body, true).map_err(|e| garbage(NAME, e))
    }

    async fn recent_feeds(&self, filter: &FeedFilter) -> Result<Vec<FoundShow>, DiscoveryError> {
        let body = self.call("recent/feeds", &filter_query(filter)).await?;
        parse_feeds(&body, false).map_err(|e| garbage(NAME, e))
    }

    async fn recent_episodes(
        &self,
        feed_ids: &[i64],
        since: Option<DateTime<Utc>>,
        max: usize,
    ) -> Result<Vec<FoundEpisode>, DiscoveryError> {
        let mut out = Vec::new();
        for chunk in feed_ids.chunks(MAX_FEED_IDS) {
            let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let mut q = vec![
                ("id", ids.join(",")),
                ("max", max.clamp(1, 1000).to_string()),
            ];
            if let Some(s) = since {
                q.push(("since", s.timestamp().to_string()));
            }
            let body = self.call("episodes/byfeedid", &q).await?;
            out.extend(parse_items(&body).map_err(|e| garbage(NAME, e))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_is_sha1_of_key_secret_and_date() {
        // `printf %s ABCsecret1700000000 | sha1sum`
        assert_eq!(
            authorization("ABC", "secret", 1_700_000_000),
            "082da403bfa9952c674ed7f16cee88d237d416cb"
        );
    }

    #[test]
    fn answers_become_shows_and_episodes() {
        let body = br#"{"status":"true","feeds":[
            {"id":920666,"title":"Energy Gang","url":"https://feeds.example.com/energy","description":"Grid storage news","author":"Canary","language":"en","categories":{"102":"Technology","55":"News"},"episodeCount":300,"newestItemPubdate":1764835200},
            {"id":2,"title":"No URL"},
            {"id":3,"title":"Dup","url":"https://feeds.example.com/energy"}],"count":3}"#;
        let shows = parse_feeds(body, true).unwrap();
        assert_eq!(shows.len(), 1);
        assert_eq!(shows[0].podcastindex_id, Some(920666));
        assert_eq!(shows[0].trending_rank, Some(1));
        assert_eq!(shows[0].categories, ["Technology", "News"]);
        assert_eq!(
            shows[0].newest_episode_at.map(|d| d.timestamp()),
            Some(1_764_835_200)
        );
        let items = br#"{"status":"true","items":[{"id":1,"feedId":920666,"title":"Batteries","datePublished":1764835200,"enclosureUrl":"https://cdn.example.com/a.mp3","guid":"g-1","duration":3600,"transcriptUrl":""}],"count":1}"#;
        let eps = parse_items(items).unwrap();
        assert_eq!(eps[0].duration_seconds, Some(3600));
        assert_eq!(eps[0].transcript_url, None);
        assert!(parse_feeds(b"<html>", false).is_err());
    }
}
