//! `[discovery]`: the show directories (iTunes Search, Podcast Index with the user's own key)
//! and the daily topic scan's budget.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Show directories and the topic scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscoveryConfig {
    /// The iTunes Search API (no key; Apple allows about 20 calls a minute). Empty: not used.
    pub itunes_base_url: String,
    /// The Podcast Index API (`https://api.podcastindex.org/api/1.0`); used only when both
    /// of the environment variables below hold a key and secret (its terms forbid shipping
    /// one: get yours at api.podcastindex.org).
    pub podcastindex_base_url: String,
    /// The environment variable that holds your Podcast Index API key.
    pub podcastindex_key_env: String,
    /// The environment variable that holds your Podcast Index API secret.
    pub podcastindex_secret_env: String,
    /// Most calls a minute to one directory (iTunes' documented limit is about 20).
    pub calls_per_minute: u32,
    /// How long a directory's answer is reused, in minutes.
    pub cache_minutes: u64,
    /// The daily scan's budget, per topic: episodes admitted into the pipeline (0: the scan
    /// lists what it found and admits none).
    pub daily_episodes: usize,
    /// ... hours of audio among the admitted episodes (0: no limit).
    pub daily_audio_hours: f64,
    /// ... estimated dollars of LLM reading among them, at the `[llm] prices` of the model (0: no
    /// limit; a model without a price costs nothing here).
    pub daily_dollars: f64,
    /// An episode's title and description must match the topic at least this well (cosine of
    /// the embedding model, 0 to 1).
    pub min_match: f64,
    /// Most shows' feeds fetched per topic per scan.
    pub max_feeds_per_topic: usize,
    /// Episodes older than this many days are not admitted on a topic's first scan.
    pub lookback_days: i64,
    /// The language asked of trending and recent lists (an ISO 639-1 code).
    pub language: String,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            itunes_base_url: "https://itunes.apple.com".into(),
            podcastindex_base_url: "https://api.podcastindex.org/api/1.0".into(),
            podcastindex_key_env: "PODCASTINDEX_KEY".into(),
            podcastindex_secret_env: "PODCASTINDEX_SECRET".into(),
            calls_per_minute: 20,
            cache_minutes: 360,
            daily_episodes: 3,
            daily_audio_hours: 3.0,
            daily_dollars: 0.5,
            min_match: 0.35,
            max_feeds_per_topic: 12,
            lookback_days: 7,
            language: "en".into(),
        }
    }
}

impl DiscoveryConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &'static str, problem: &str| {
            Err(ConfigError {
                key,
                problem: problem.to_owned(),
            })
        };
        for (key, url) in [
            ("discovery.itunes_base_url", &self.itunes_base_url),
            (
                "discovery.podcastindex_base_url",
                &self.podcastindex_base_url,
            ),
        ] {
            if !url.trim().is_empty()
                && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            {
                return err(key, "must be an http(s) URL (or empty: not used)");
            }
        }
        if self.calls_per_minute == 0 {
            return err("discovery.calls_per_minute", "must be at least 1");
        }
        for (key, v) in [
            ("discovery.daily_audio_hours", self.daily_audio_hours),
            ("discovery.daily_dollars", self.daily_dollars),
        ] {
            if !v.is_finite() || v < 0.0 {
                return err(key, "must be a number, 0 or more (0: no limit)");
            }
        }
        if !self.min_match.is_finite() || !(0.0..=1.0).contains(&self.min_match) {
            return err("discovery.min_match", "must be between 0 and 1");
        }
        if self.lookback_days < 1 {
            return err("discovery.lookback_days", "must be at least 1");
        }
        Ok(())
    }

    /// The Podcast Index key and secret from the environment, when both are set.
    pub fn podcastindex_credentials(&self) -> Option<(String, String)> {
        let get = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Some((
            get(&self.podcastindex_key_env)?,
            get(&self.podcastindex_secret_env)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key() {
        assert!(DiscoveryConfig::default().validate().is_ok());
        let bad = DiscoveryConfig {
            itunes_base_url: "ftp://x".into(),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "discovery.itunes_base_url");
        let bad = DiscoveryConfig {
            min_match: 1.5,
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "discovery.min_match");
        let bad = DiscoveryConfig {
            daily_dollars: f64::NAN,
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "discovery.daily_dollars");
        let off = DiscoveryConfig {
            itunes_base_url: String::new(),
            ..Default::default()
        };
        assert!(off.validate().is_ok());
    }
}
