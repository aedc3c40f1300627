//! podsift's HTTP fetching: the real [`podsift_core::Fetcher`].
//!
//! [`HttpFetcher`] wraps a `reqwest` client (rustls with the *ring* provider, gzip/brotli/
//! deflate decoding, HTTP/2) and adds what fetching untrusted URLs needs:
//! - an SSRF guard ([`ssrf`]) on the URL, on every redirect hop and after DNS resolution;
//! - manual redirects (each hop re-checked, permanent-redirect reporting);
//! - conditional GET (`If-None-Match` / `If-Modified-Since` → `not_modified`);
//! - a whole-request timeout (body included) and a streaming size cap;
//! - per-host politeness (concurrency and interval);
//! - retries with jittered exponential backoff, honouring short `Retry-After`s;
//! - `Cache-Control: max-age`, `Expires`, `ETag`, `Last-Modified` in the response.
//!
//! URLs in logs and errors are redacted ([`redact`]): no userinfo, no query.

mod client;
mod download;
mod headers;
mod limiter;
pub mod ssrf;

pub use client::HttpFetcher;
pub use headers::{parse_cache_control_max_age, parse_expires, parse_http_date, parse_retry_after};
pub use podsift_core::AllowList;

use url::Url;

/// A URL safe to log: `scheme://host[:port]/path`, with userinfo dropped and any query
/// replaced by `?[redacted]` (query strings often carry access tokens). Fragments are dropped.
pub fn redact(url: &Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        out.push_str(host);
    }
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    out.push_str(url.path());
    if url.query().is_some() {
        out.push_str("?[redacted]");
    }
    out
}

/// [`redact`] for a string that may not even parse; unparseable input is cut at the first
/// `?` and stripped of anything before an `@` in the authority.
pub fn redact_str(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => redact(&u),
        Err(_) => {
            let no_query = url.split(['?', '#']).next().unwrap_or_default();
            match no_query.split_once("://") {
                Some((scheme, rest)) => {
                    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    let host = authority.rsplit('@').next().unwrap_or_default();
                    format!("{scheme}://{host}{path}")
                }
                None => no_query.chars().take(200).collect(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_userinfo_and_query() {
        let u = Url::parse("https://user:secret@example.com:8443/feed.xml?token=abc#frag").unwrap();
        assert_eq!(redact(&u), "https://example.com:8443/feed.xml?[redacted]");
        let u = Url::parse("http://example.com/a").unwrap();
        assert_eq!(redact(&u), "http://example.com/a");
    }

    #[test]
    fn redact_str_handles_garbage() {
        assert_eq!(
            redact_str("http://u:p@exa mple.com/x?t=1"),
            "http://exa mple.com/x"
        );
        assert_eq!(redact_str("not a url?token=1"), "not a url");
        assert_eq!(
            redact_str("https://u:p@example.com/feed?k=v"),
            "https://example.com/feed?[redacted]"
        );
    }
}
