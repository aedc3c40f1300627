//! Canned responses ([`Route`]) and how they are turned into HTTP responses.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode, header};
use bytes::Bytes;
use tokio::sync::watch;

/// Size of one chunk of [`Route::huge`] / [`Route::slow_body`] bodies.
const HUGE_CHUNK: usize = 64 * 1024;
static HUGE_DATA: [u8; HUGE_CHUNK] = [b'x'; HUGE_CHUNK];

/// Content coding applied to an [`Route::ok`] body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Gzip,
    Brotli,
}

#[derive(Debug, Clone)]
enum Kind {
    Ok {
        body: Bytes,
        content_type: String,
    },
    Redirect {
        status: u16,
        location: String,
    },
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    Sequence(Arc<Vec<Route>>),
    SlowBody {
        body: Bytes,
        chunk: usize,
        delay: Duration,
    },
    Stall,
    Huge {
        n: u64,
        content_length: bool,
    },
    Cut {
        body: Bytes,
        at: usize,
    },
}

/// A canned answer for one path of a [`crate::TestServer`].
///
/// Build one with a constructor ([`Route::ok`], [`Route::redirect`], [`Route::status`],
/// [`Route::sequence`], [`Route::slow_body`], [`Route::stall`], [`Route::huge`]) and refine it
/// with the builder methods. Modifiers other than [`Route::delay`] are ignored on
/// a sequence itself (put them on its members).
#[derive(Debug, Clone)]
pub struct Route {
    kind: Kind,
    etag: Option<String>,
    last_modified: Option<String>,
    encoding: Option<Encoding>,
    headers: Vec<(String, String)>,
    delay: Option<Duration>,
}

impl Route {
    fn new(kind: Kind) -> Self {
        Self {
            kind,
            etag: None,
            last_modified: None,
            encoding: None,
            headers: Vec::new(),
            delay: None,
        }
    }

    /// Announces all of `body` but breaks the connection after `at` bytes (a dropped
    /// download, for resume tests). Honours `Range` like [`Route::ok`].
    pub fn cut(body: impl Into<Bytes>, at: usize) -> Self {
        Self::new(Kind::Cut {
            body: body.into(),
            at,
        })
    }

    /// `200 OK` with `body` and `Content-Type: content_type`. A `Range: bytes=N-` request
    /// (without a content coding) gets `206 Partial Content`, as from a real file server.
    pub fn ok(body: impl Into<Bytes>, content_type: &str) -> Self {
        Self::new(Kind::Ok {
            body: body.into(),
            content_type: content_type.to_owned(),
        })
    }

    /// A redirect (`301`, `302`, `303`, `307`, `308`, ...) to `location` (sent verbatim, so it
    /// may be relative).
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::new(Kind::Redirect {
            status,
            location: location.to_owned(),
        })
    }

    /// A bare status code with a short text body. Add [`Route::retry_after`] for 429/503.
    pub fn status(code: u16) -> Self {
        Self::new(Kind::Status {
            code,
            retry_after: None,
        })
    }

    /// Answers the n-th request to the path with the n-th route; the last one repeats.
    /// An empty sequence answers `404`.
    pub fn sequence(routes: Vec<Route>) -> Self {
        Self::new(Kind::Sequence(Arc::new(routes)))
    }

    /// `200 OK` with a correct `Content-Length`, sending `body` in 64-byte chunks (see
    /// [`Route::chunk_size`]) with `delay` before each chunk. For timeout tests.
    pub fn slow_body(body: impl Into<Bytes>, delay: Duration) -> Self {
        Self::new(Kind::SlowBody {
            body: body.into(),
            chunk: 64,
            delay,
        })
    }

    /// `200 OK` announcing `Content-Length: 1000`, sending 10 bytes and then nothing, until the
    /// server shuts down. (Use [`Route::delay`] to stall before the headers instead.)
    pub fn stall() -> Self {
        Self::new(Kind::Stall)
    }

    /// `200 OK` streaming `n_bytes` of `x` with a `Content-Length`, generated on the fly.
    pub fn huge(n_bytes: u64) -> Self {
        Self::new(Kind::Huge {
            n: n_bytes,
            content_length: true,
        })
    }

    /// Like [`Route::huge`] but chunked, without a `Content-Length`.
    pub fn huge_chunked(n_bytes: u64) -> Self {
        Self::new(Kind::Huge {
            n: n_bytes,
            content_length: false,
        })
    }

    /// Sends an `ETag`; a request whose `If-None-Match` matches gets `304 Not Modified`.
    pub fn etag(mut self, etag: &str) -> Self {
        self.etag = Some(etag.to_owned());
        self
    }

    /// Sends `Last-Modified`; a request whose `If-Modified-Since` is equal or later gets `304`
    /// (unless it also sent `If-None-Match`, which takes precedence as in RFC 9110).
    pub fn last_modified(mut self, http_date: &str) -> Self {
        self.last_modified = Some(http_date.to_owned());
        self
    }

    /// Gzip the body of an `ok` route (`Content-Encoding: gzip`).
    pub fn gzip(mut self) -> Self {
        self.encoding = Some(Encoding::Gzip);
        self
    }

    /// Brotli-compress the body of an `ok` route (`Content-Encoding: br`).
    pub fn brotli(mut self) -> Self {
        self.encoding = Some(Encoding::Brotli);
        self
    }

    /// Sends `Cache-Control: value`.
    pub fn cache_control(self, value: &str) -> Self {
        self.header("cache-control", value)
    }

    /// Sends `Retry-After: value` (on any route; meant for `status(429|503)`).
    pub fn retry_after(mut self, value: &str) -> Self {
        if let Kind::Status { retry_after, .. } = &mut self.kind {
            *retry_after = Some(value.to_owned());
            self
        } else {
            self.header("retry-after", value)
        }
    }

    /// Adds an arbitrary response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Waits `delay` before answering (before the headers). The request counts as in flight
    /// meanwhile, see [`crate::TestServer::max_in_flight`].
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Chunk size of a [`Route::slow_body`].
    pub fn chunk_size(mut self, n: usize) -> Self {
        if let Kind::SlowBody { chunk, .. } = &mut self.kind {
            *chunk = n.max(1);
        }
        self
    }

    /// Pre-answer delay, resolving a sequence with the 0-based request number `nth`.
    pub(crate) fn resolve(&self, nth: usize) -> Option<&Route> {
        match &self.kind {
            Kind::Sequence(routes) => routes
                .get(nth.min(routes.len().saturating_sub(1)))?
                .resolve(nth),
            _ => Some(self),
        }
    }

    pub(crate) fn pre_delay(&self) -> Option<Duration> {
        self.delay
    }

    /// Builds the response for a request with `req_headers`. `shutdown` ends stalls.
    pub(crate) fn respond(
        &self,
        req_headers: &HeaderMap,
        shutdown: watch::Receiver<bool>,
    ) -> Response<Body> {
        let mut builder = Response::builder();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v)) {
                builder = builder.header(k, v);
            }
        }
        if let Some(etag) = &self.etag {
            builder = builder.header(header::ETAG, etag);
        }
        if let Some(lm) = &self.last_modified {
            builder = builder.header(header::LAST_MODIFIED, lm);
        }
        let resp = match &self.kind {
            Kind::Ok { body, content_type } => {
                if self.is_not_modified(req_headers) {
                    builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
                } else {
                    let builder = builder.header(header::CONTENT_TYPE, content_type);
                    match self.encoding {
                        None => match range_start(req_headers) {
                            Some(start) if start < body.len() => builder
                                .status(StatusCode::PARTIAL_CONTENT)
                                .header(
                                    header::CONTENT_RANGE,
                                    format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
                                )
                                .body(Body::from(body.slice(start..))),
                            Some(_) => builder
                                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                                .header(header::CONTENT_RANGE, format!("bytes */{}", body.len()))
                                .body(Body::empty()),
                            None => builder.body(Body::from(body.clone())),
                        },
                        Some(Encoding::Gzip) => builder
                            .header(header::CONTENT_ENCODING, "gzip")
                            .body(Body::from(gzip(body))),
                        Some(Encoding::Brotli) => builder
                            .header(header::CONTENT_ENCODING, "br")
                            .body(Body::from(brotli(body))),
                    }
                }
            }
            Kind::Redirect { status, location } => builder
                .status(*status)
                .header(header::LOCATION, location)
                .body(Body::empty()),
            Kind::Status { code, retry_after } => {
                if let Some(ra) = retry_after {
                    builder = builder.header(header::RETRY_AFTER, ra);
                }
                builder
                    .status(*code)
                    .header(header::CONTENT_TYPE, "text/plain")
                    .body(Body::from(format!("status {code}\n")))
            }
            Kind::Sequence(_) => builder.status(StatusCode::NOT_FOUND).body(Body::empty()),
            Kind::SlowBody { body, chunk, delay } => {
                let chunks: Vec<Bytes> = body.chunks(*chunk).map(|c| body.slice_ref(c)).collect();
                let delay = *delay;
                let stream = futures::stream::unfold(
                    (chunks.into_iter(), shutdown),
                    move |(mut it, mut shutdown)| async move {
                        let next = it.next()?;
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = shutdown.wait_for(|s| *s) => return None,
                        }
                        Some((Ok::<_, std::io::Error>(next), (it, shutdown)))
                    },
                );
                builder
                    .header(header::CONTENT_LENGTH, body.len())
                    .body(Body::from_stream(stream))
            }
            Kind::Stall => {
                let stream =
                    futures::stream::unfold((0u8, shutdown), |(state, mut shutdown)| async move {
                        if state == 0 {
                            return Some((Ok(Bytes::from_static(b"0123456789")), (1, shutdown)));
                        }
                        // Never yields again: ends (with an error, so the response is cut
                        // short rather than looking complete) only when the server stops.
                        let _ = shutdown.wait_for(|s| *s).await;
                        Some((
                            Err(std::io::Error::other("test server shut down")),
                            (2, shutdown),
                        ))
                    });
                builder
                    .header(header::CONTENT_LENGTH, 1000)
                    .body(Body::from_stream(stream))
            }
            Kind::Cut { body, at } => {
                let start = range_start(req_headers).unwrap_or(0).min(body.len());
                let end = (*at).clamp(start, body.len());
                let first = body.slice(start..end);
                // The bytes go out first; the connection breaks a moment later (hyper would
                // otherwise drop the buffered chunk together with the connection).
                let stream = futures::stream::unfold(Some(first), |state| async move {
                    match state {
                        Some(first) => Some((Ok(first), None)),
                        None => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            Some((
                                Err(std::io::Error::other(
                                    "connection dropped by the test route",
                                )),
                                None,
                            ))
                        }
                    }
                });
                if start > 0 {
                    builder = builder.status(StatusCode::PARTIAL_CONTENT).header(
                        header::CONTENT_RANGE,
                        format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
                    );
                }
                builder
                    .header(header::CONTENT_LENGTH, body.len() - start)
                    .body(Body::from_stream(stream))
            }
            Kind::Huge { n, content_length } => {
                if *content_length {
                    builder = builder.header(header::CONTENT_LENGTH, *n);
                }
                builder.body(Body::from_stream(huge_stream(*n)))
            }
        };
        resp.unwrap_or_else(|_| {
            let mut r = Response::new(Body::from("bad test route"));
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        })
    }

    fn is_not_modified(&self, req: &HeaderMap) -> bool {
        if let Some(inm) = req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
            return self
                .etag
                .as_deref()
                .is_some_and(|etag| etag_matches(inm, etag));
        }
        let (Some(lm), Some(ims)) = (
            self.last_modified.as_deref(),
            req.get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok()),
        ) else {
            return false;
        };
        if lm == ims {
            return true;
        }
        match (
            httpdate::parse_http_date(lm),
            httpdate::parse_http_date(ims),
        ) {
            (Ok(lm), Ok(ims)) => ims >= lm,
            _ => false,
        }
    }
}

/// The start of a `Range: bytes=N-` request header.
fn range_start(req: &HeaderMap) -> Option<usize> {
    let v = req.get(header::RANGE)?.to_str().ok()?;
    let spec = v.trim().strip_prefix("bytes=")?;
    let (start, _) = spec.split_once('-')?;
    start.trim().parse().ok()
}

/// `If-None-Match` list matching with weak comparison (RFC 9110 13.1.2).
pub(crate) fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let strip = |s: &str| s.trim().trim_start_matches("W/").to_owned();
    let etag = strip(etag);
    if_none_match
        .split(',')
        .any(|candidate| candidate.trim() == "*" || strip(candidate) == etag)
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(body);
    enc.finish().unwrap_or_default()
}

fn brotli(body: &[u8]) -> Vec<u8> {
    let mut enc = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
    let _ = enc.write_all(body);
    enc.into_inner()
}

/// `n` bytes of `x` in 64 KiB chunks that share one static buffer.
fn huge_stream(n: u64) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    futures::stream::unfold(n, |left| async move {
        if left == 0 {
            return None;
        }
        let take = left.min(HUGE_CHUNK as u64);
        // `take` ≤ HUGE_CHUNK, so the cast is lossless.
        let chunk = Bytes::from_static(&HUGE_DATA[..take as usize]);
        Some((Ok(chunk), left - take))
    })
}
