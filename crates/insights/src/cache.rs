//! The model-answer cache: key derivation and an in-memory implementation for tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use podsift_core::{LlmCache, LlmResponse};
use sha2::{Digest, Sha256};

/// `sha256(window text):model_id:PROMPT_VERSION` — a rerun of the same window with the same
/// model and prompt finds the earlier answer and costs nothing. The pipeline passes the whole
/// user message (the rendered window plus show, episode title and chapter titles), so a
/// changed title also changes the key.
pub fn cache_key(window_text: &str, model_id: &str) -> String {
    let hash = Sha256::digest(window_text.as_bytes());
    format!(
        "{}:{}:{}",
        hex::encode(hash),
        model_id,
        crate::prompt::PROMPT_VERSION
    )
}

/// An in-memory [`LlmCache`] (tests, one-off runs).
#[derive(Debug, Default)]
pub struct MemoryCache {
    map: Mutex<HashMap<String, LlmResponse>>,
    hits: AtomicUsize,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries stored.
    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    /// `true` when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups that found an entry.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl LlmCache for MemoryCache {
    async fn get(&self, key: &str) -> Option<LlmResponse> {
        let found = self.map.lock().ok()?.get(key).cloned();
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    async fn put(&self, key: &str, response: &LlmResponse) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(key.to_owned(), response.clone());
        }
    }
}

/// A cache that stores nothing (when caching is off).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCache;

#[async_trait]
impl LlmCache for NoCache {
    async fn get(&self, _key: &str) -> Option<LlmResponse> {
        None
    }
    async fn put(&self, _key: &str, _response: &LlmResponse) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_depends_on_text_and_model() {
        let a = cache_key("hello", "openai:m");
        assert_eq!(a, cache_key("hello", "openai:m"));
        assert_ne!(a, cache_key("hello!", "openai:m"));
        assert_ne!(a, cache_key("hello", "openai:n"));
        assert!(a.ends_with(crate::prompt::PROMPT_VERSION));
    }
}
