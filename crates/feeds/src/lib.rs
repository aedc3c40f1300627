//! podsift-feeds
