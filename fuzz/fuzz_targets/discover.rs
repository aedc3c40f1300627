//! HTML feed discovery and content sniffing on arbitrary bytes: never panics, and every
//! link found is an absolute URL.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = podsift_feeds::sniff(data, Some("text/html; charset=utf-8"));
    let _ = podsift_feeds::sniff(data, None);
    for link in podsift_feeds::discover_feed_links(data, "https://example.com/show/") {
        assert!(
            link.starts_with("http://") || link.starts_with("https://"),
            "not an absolute http(s) URL: {link:?}"
        );
    }
    let _ = podsift_feeds::discover_feed_links(data, "not a url");
});
