//! The RSS/Atom feed parser on arbitrary bytes: never panics, and what it returns can be
//! turned into upserts and hashed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(feed) = podsift_feeds::parse_feed(data, Some("https://example.com/feed.xml")) {
        for ep in &feed.episodes {
            let _ = podsift_feeds::episode_identity(ep);
            let _ = podsift_feeds::content_hash(ep);
        }
        let _ = podsift_feeds::to_upserts(&feed);
    }
    let _ = podsift_feeds::parse_feed(data, None);
});
