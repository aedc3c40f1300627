//! podsift's discovery stage: finding shows beyond the ones a reader follows.
//!
//! - [`Directory`]: the show directories a configuration names (the iTunes Search API, no
//!   key; the Podcast Index with the user's own key), each behind the core's [`ShowSource`]
//!   port, rate-limited and cached ([`gate`]); one search asks all and merges by feed URL.
//! - [`profile`]: how often a show publishes and whether it ships transcripts, read off its
//!   feed (`podsift discover`).
//! - [`scan`]: the daily topic scan, which admits the best-matching new episodes of shows
//!   nobody follows into the pipeline under a daily budget, reads syndicated copies once, and
//!   says why each was read and what was left out.

pub mod copies;
pub mod gate;
pub mod itunes;
pub mod matching;
pub mod podcastindex;
pub mod profile;
pub mod report;
pub mod scan;

use std::sync::Arc;
use std::time::Duration;

use podsift_core::config::DiscoveryConfig;
use podsift_core::discovery::{DiscoveryError, FeedFilter, FoundShow, ShowSource};
use podsift_core::{Clock, Fetcher};

pub use profile::{ShowProfile, describe, profile};
pub use scan::{ScanReport, TopicScanner};

/// The directories one configuration uses, in order (the first to find a feed describes it).
#[derive(Clone)]
pub struct Directory {
    sources: Vec<Arc<dyn ShowSource>>,
}

/// What asking every directory gave: the shows, merged, and each directory that failed.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub shows: Vec<FoundShow>,
    pub errors: Vec<DiscoveryError>,
}

impl Directory {
    pub fn new(sources: Vec<Arc<dyn ShowSource>>) -> Self {
        Self { sources }
    }

    /// The Podcast Index when its key and secret are in the environment, then iTunes when
    /// its base URL is set.
    pub fn from_config(
        cfg: &DiscoveryConfig,
        fetcher: Arc<dyn Fetcher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let ttl = Duration::from_secs(cfg.cache_minutes.saturating_mul(60));
        let mut sources: Vec<Arc<dyn ShowSource>> = Vec::new();
        if !cfg.podcastindex_base_url.trim().is_empty()
            && let Some((key, secret)) = cfg.podcastindex_credentials()
        {
            sources.push(Arc::new(podcastindex::PodcastIndex::new(
                &cfg.podcastindex_base_url,
                key,
                secret,
                fetcher.clone(),
                clock,
                gate::Gate::new(podcastindex::NAME, cfg.calls_per_minute, ttl),
            )));
        }
        if !cfg.itunes_base_url.trim().is_empty() {
            sources.push(Arc::new(itunes::Itunes::new(
                &cfg.itunes_base_url,
                fetcher,
                gate::Gate::new(itunes::NAME, cfg.calls_per_minute, ttl),
            )));
        }
        Self { sources }
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The directories' names.
    pub fn names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name().to_string()).collect()
    }

    /// Shows matching `term` from every directory, merged by feed URL (the first directory's
    /// entry wins, filled in from the others), in the order found.
    pub async fn search(&self, term: &str, max: usize) -> Found {
        let calls = self.sources.iter().map(|s| s.search(term, max));
        merge(futures::future::join_all(calls).await)
    }

    /// Trending shows in the filter's categories and language.
    pub async fn trending(&self, filter: &FeedFilter) -> Found {
        let calls = self.sources.iter().map(|s| s.trending(filter));
        merge(futures::future::join_all(calls).await)
    }

    /// Shows with new episodes in the filter's categories and language.
    pub async fn recent_feeds(&self, filter: &FeedFilter) -> Found {
        let calls = self.sources.iter().map(|s| s.recent_feeds(filter));
        merge(futures::future::join_all(calls).await)
    }
}

/// `text` with its whitespace collapsed, cut at `max` characters (with "…" when cut).
pub fn short_text(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The key two directories' entries for one show share.
pub fn feed_key(url: &str) -> String {
    let u = url.trim().trim_end_matches('/').to_lowercase();
    u.strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .unwrap_or(&u)
        .to_string()
}

fn merge(answers: Vec<Result<Vec<FoundShow>, DiscoveryError>>) -> Found {
    let mut found = Found::default();
    for answer in answers {
        match answer {
            Ok(shows) => {
                for show in shows {
                    let key = feed_key(&show.feed_url);
                    match found
                        .shows
                        .iter_mut()
                        .find(|s| feed_key(&s.feed_url) == key)
                    {
                        Some(s) => fill(s, show),
                        None => found.shows.push(show),
                    }
                }
            }
            Err(e) => {
                tracing::warn!("show directory: {e}");
                found.errors.push(e);
            }
        }
    }
    found
}

/// Fills `into`'s gaps from another directory's entry for the same show.
fn fill(into: &mut FoundShow, other: FoundShow) {
    into.author = into.author.take().or(other.author);
    into.description = into.description.take().or(other.description);
    into.language = into.language.take().or(other.language);
    into.episodes = into.episodes.or(other.episodes);
    into.newest_episode_at = into.newest_episode_at.or(other.newest_episode_at);
    into.trending_rank = into.trending_rank.or(other.trending_rank);
    into.podcastindex_id = into.podcastindex_id.or(other.podcastindex_id);
    for c in other.categories {
        if !into.categories.contains(&c) {
            into.categories.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_merge_by_feed_url() {
        let a = FoundShow {
            source: "podcastindex".into(),
            title: "Energy Gang".into(),
            feed_url: "https://feeds.example.com/energy/".into(),
            podcastindex_id: Some(7),
            ..FoundShow::default()
        };
        let b = FoundShow {
            source: "itunes".into(),
            title: "The Energy Gang".into(),
            feed_url: "http://FEEDS.example.com/energy".into(),
            author: Some("Canary".into()),
            categories: vec!["Technology".into()],
            ..FoundShow::default()
        };
        let found = merge(vec![
            Ok(vec![a]),
            Ok(vec![b]),
            Err(DiscoveryError::NotConfigured("x".into())),
        ]);
        assert_eq!(found.shows.len(), 1);
        assert_eq!(found.shows[0].source, "podcastindex");
        assert_eq!(found.shows[0].author.as_deref(), Some("Canary"));
        assert_eq!(found.shows[0].categories, ["Technology"]);
        assert_eq!(found.errors.len(), 1);
    }
}
