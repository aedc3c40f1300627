//! podsift-poller
