//! A synthetic farm of podcast feeds for polling benchmarks: `/feed/{i}.xml` for
//! `i < n_feeds`, answered from arithmetic (no locks, nothing buffered per feed beyond a
//! hit counter).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::http::{HeaderMap, Response, StatusCode, header};

use crate::TestServer;
use crate::route::etag_matches;

/// Items per feed document.
const ITEMS: usize = 3;
/// 2024-01-01T00:00:00Z.
const EPOCH_2024: u64 = 1_704_067_200;

pub(crate) struct FarmSpec {
    n_feeds: usize,
    not_modified_share: f64,
}

pub(crate) struct Farm {
    spec: FarmSpec,
    base: String,
    hits: Vec<AtomicUsize>,
    not_modified: AtomicUsize,
}

/// Starts a server whose `/feed/{i}.xml` (`0 <= i < n_feeds`) is a small, valid, distinct
/// podcast RSS feed with an `ETag` and `Last-Modified`.
///
/// Feed `i` is *stable* for a `not_modified_share` fraction of the feeds (spread evenly over
/// the indices: feed `i` is stable when `floor((i+1)*share) > floor(i*share)`): it always serves
/// version 0 and answers `304` to a matching `If-None-Match` / `If-Modified-Since`. The other
/// feeds *change on every request*: the n-th request (0-based) serves version n, with a new
/// `ETag`, a newer `Last-Modified` and one more episode (episodes `n..n+3`, newest first).
///
/// Each item carries a `<podcast:transcript>` pointing at `/transcript/{i}/{k}.vtt` on the
/// same server, which answers a tiny WebVTT file. Other routes can be added as usual.
/// Use [`TestServer::hits`] per feed path, [`TestServer::total_requests`] and
/// [`TestServer::not_modified_served`] for totals.
pub async fn feed_farm(n_feeds: usize, not_modified_share: f64) -> TestServer {
    let share = if not_modified_share.is_nan() {
        0.0
    } else {
        not_modified_share.clamp(0.0, 1.0)
    };
    TestServer::start_with(Some(FarmSpec {
        n_feeds,
        not_modified_share: share,
    }))
    .await
}

impl Farm {
    pub(crate) fn new(spec: FarmSpec, addr: SocketAddr) -> Self {
        let hits = (0..spec.n_feeds).map(|_| AtomicUsize::new(0)).collect();
        Self {
            spec,
            base: format!("http://{addr}"),
            hits,
            not_modified: AtomicUsize::new(0),
        }
    }

    /// Whether feed `i` never changes (and so answers 304).
    pub(crate) fn is_stable(&self, i: usize) -> bool {
        let s = self.spec.not_modified_share;
        ((i + 1) as f64 * s).floor() > (i as f64 * s).floor()
    }

    fn feed_index(&self, path: &str) -> Option<usize> {
        let i: usize = path
            .strip_prefix("/feed/")?
            .strip_suffix(".xml")?
            .parse()
            .ok()?;
        (i < self.spec.n_feeds).then_some(i)
    }

    pub(crate) fn hits(&self, path: &str) -> Option<usize> {
        let i = self.feed_index(path)?;
        Some(self.hits[i].load(Ordering::Relaxed))
    }

    pub(crate) fn not_modified_served(&self) -> usize {
        self.not_modified.load(Ordering::Relaxed)
    }

    /// The farm's answer for `path`, or `None` when the path is not the farm's.
    pub(crate) fn respond(&self, path: &str, req: &HeaderMap) -> Option<Response<Body>> {
        if let Some(rest) = path.strip_prefix("/transcript/") {
            return Some(transcript(rest));
        }
        let i = self.feed_index(path)?;
        let nth = self.hits[i].fetch_add(1, Ordering::Relaxed);
        let version = if self.is_stable(i) { 0 } else { nth };
        let etag = format!("\"farm-{i}-v{version}\"");
        let last_modified = httpdate::fmt_http_date(
            SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_2024 + 3600 * version as u64),
        );
        let not_modified = match req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            Some(inm) => etag_matches(inm, &etag),
            None => req
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ims| ims == last_modified),
        };
        let builder = Response::builder()
            .header(header::ETAG, &etag)
            .header(header::LAST_MODIFIED, &last_modified);
        let resp = if not_modified {
            self.not_modified.fetch_add(1, Ordering::Relaxed);
            builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
        } else {
            builder
                .header(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")
                .body(Body::from(self.feed_xml(i, version)))
        };
        resp.ok()
    }

    fn feed_xml(&self, i: usize, version: usize) -> String {
        let mut xml = String::with_capacity(2048);
        let _ = write!(
            xml,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel>
<title>Farm Feed {i}</title>
<link>https://example.com/farm/{i}</link>
<description>Synthetic podcast number {i} for podsift benchmarks.</description>
<language>en</language>
<itunes:author>Farm Host {i}</itunes:author>
"#
        );
        for k in (version..version + ITEMS).rev() {
            let pub_date = httpdate::fmt_http_date(
                SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_2024 + 3600 * k as u64),
            );
            let _ = write!(
                xml,
                r#"<item>
<title>Feed {i} episode {k}</title>
<guid isPermaLink="false">farm-{i}-ep-{k}</guid>
<pubDate>{pub_date}</pubDate>
<description>Episode {k} of synthetic feed {i}.</description>
<enclosure url="https://example.com/farm/{i}/{k}.mp3" length="1234567" type="audio/mpeg"/>
<itunes:duration>1800</itunes:duration>
<podcast:transcript url="{base}/transcript/{i}/{k}.vtt" type="text/vtt"/>
</item>
"#,
                base = self.base
            );
        }
        xml.push_str("</channel>\n</rss>\n");
        xml
    }
}

fn transcript(rest: &str) -> Response<Body> {
    let name = rest.trim_end_matches(".vtt").replace('/', " episode ");
    let body = format!(
        "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n<v Host>Welcome to feed {name}.\n\n\
         00:00:04.000 --> 00:00:09.000\n<v Guest>Thanks for having me on the show.\n"
    );
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/vtt; charset=utf-8"),
    );
    resp
}
