//! podsift-fetch
