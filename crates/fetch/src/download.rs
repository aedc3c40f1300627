//! Large downloads (podcast audio) streamed to a file: resumable with `Range`, capped, guarded
//! against stalls, and behind the same SSRF guard and redirect checks as feed fetches.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use podsift_core::{DownloadRequest, Downloaded, Downloader, FetchError};
use reqwest::header;
use tokio::io::AsyncWriteExt;
use url::Url;

use crate::client::HttpFetcher;
use crate::headers::parse_retry_after;
use crate::{redact, redact_str, ssrf};

fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

fn io_err(url: &Url, what: &str, path: &Path, e: std::io::Error) -> FetchError {
    FetchError::Other {
        url: redact(url),
        reason: format!("{what} {}: {e}", path.display()),
    }
}

/// `Content-Range: bytes START-END/TOTAL` → (START, TOTAL if known); `bytes */TOTAL` → (None, TOTAL).
fn content_range(value: &str) -> (Option<u64>, Option<u64>) {
    let Some(rest) = value.trim().strip_prefix("bytes") else {
        return (None, None);
    };
    let rest = rest.trim();
    let (range, total) = rest.split_once('/').unwrap_or((rest, "*"));
    let start = range
        .split_once('-')
        .and_then(|(s, _)| s.trim().parse().ok());
    (start, total.trim().parse().ok())
}

/// The longest one attempt may take: the stall timeout, plus the bytes still to come at the
/// minimum rate (unbounded without one).
fn attempt_budget(req: &DownloadRequest, remaining: Option<u64>) -> std::time::Duration {
    if req.min_bytes_per_sec == 0 {
        return std::time::Duration::from_secs(u64::MAX / 4);
    }
    let bytes = remaining.unwrap_or(req.max_bytes);
    req.stall_timeout + std::time::Duration::from_secs(bytes / req.min_bytes_per_sec.max(1))
}

impl HttpFetcher {
    /// Sends the GET (with `Range` when resuming), following redirects hop by hop.
    async fn open_download(&self, start: &Url, have: u64) -> Result<reqwest::Response, FetchError> {
        let mut current = start.clone();
        for _ in 0..=self.s.max_redirects {
            let permit = self
                .limiter
                .acquire(current.host_str().unwrap_or_default())
                .await;
            let mut request = self.dl_client.get(current.clone());
            if have > 0 {
                request = request.header(header::RANGE, format!("bytes={have}-"));
            }
            let resp = tokio::time::timeout(self.s.timeout, request.send())
                .await
                .map_err(|_| FetchError::Timeout {
                    url: redact(&current),
                    seconds: self.s.timeout.as_secs().max(1),
                })?
                .map_err(|e| self.map_err(&e, &current))?;
            drop(permit);
            let status = resp.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308)
                && let Some(loc) = resp.headers().get(header::LOCATION)
            {
                let location = String::from_utf8_lossy(loc.as_bytes()).into_owned();
                current = self.redirect_target(&current, &location)?;
                continue;
            }
            return Ok(resp);
        }
        Err(FetchError::TooManyRedirects {
            url: redact(start),
            max: self.s.max_redirects,
        })
    }

    async fn download_attempt(
        &self,
        url: &Url,
        req: &DownloadRequest,
        part: &Path,
        progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
    ) -> Result<Downloaded, FetchError> {
        let mut have = match tokio::fs::metadata(part).await {
            Ok(m) if m.len() <= req.max_bytes => m.len(),
            Ok(_) => {
                let _ = tokio::fs::remove_file(part).await;
                0
            }
            Err(_) => 0,
        };
        let resumed_from = have;
        let mut resp = self.open_download(url, have).await?;
        let status = resp.status().as_u16();
        let final_url = resp.url().to_string();
        let range = resp
            .headers()
            .get(header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .map(content_range);
        let append = match status {
            206 if have > 0 => {
                if range.and_then(|r| r.0) != Some(have) {
                    // Appending bytes from anywhere else would corrupt the file.
                    let _ = tokio::fs::remove_file(part).await;
                    return Err(FetchError::Other {
                        url: redact(url),
                        reason: format!(
                            "asked to resume at byte {have}, got another range; starting over"
                        ),
                    });
                }
                true
            }
            200..=299 => {
                if have > 0 {
                    tracing::info!(url = %redact(url), "the server ignored the range request; downloading from the start");
                }
                have = 0;
                false
            }
            416 if have > 0 => {
                if range.and_then(|r| r.1) == Some(have) {
                    // The partial file already holds every byte.
                    return Ok(Downloaded {
                        bytes: have,
                        resumed_from,
                        content_type: None,
                        final_url,
                    });
                }
                let _ = tokio::fs::remove_file(part).await;
                return Err(FetchError::Other {
                    url: redact(url),
                    reason: "the partial download does not match the file any more; starting over"
                        .into(),
                });
            }
            _ => {
                let retry_after = resp
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
                return Err(FetchError::Status {
                    url: redact(url),
                    status,
                    retry_after,
                });
            }
        };
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let total = resp.content_length().map(|len| len + have);
        let too_large = || FetchError::TooLarge {
            url: redact(url),
            limit: req.max_bytes,
        };
        if total.is_some_and(|t| t > req.max_bytes) {
            return Err(too_large());
        }
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(part)
            .await
            .map_err(|e| io_err(url, "cannot open", part, e))?;
        progress(have, total);
        let started = tokio::time::Instant::now();
        let deadline = started + attempt_budget(req, total.map(|t| t - have));
        let from = have;
        loop {
            let wait = req
                .stall_timeout
                .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            let too_slow = |got: u64| FetchError::Other {
                url: redact(url),
                reason: format!(
                    "too slow: {got} bytes in {:.0} s, under the minimum of {} bytes/s \
                     (the next attempt resumes)",
                    started.elapsed().as_secs_f64(),
                    req.min_bytes_per_sec
                ),
            };
            let chunk = match tokio::time::timeout(wait, resp.chunk()).await {
                Err(_) if tokio::time::Instant::now() >= deadline => {
                    let _ = file.flush().await;
                    return Err(too_slow(have - from));
                }
                Err(_) => {
                    let _ = file.flush().await;
                    return Err(FetchError::Timeout {
                        url: redact(url),
                        seconds: req.stall_timeout.as_secs().max(1),
                    });
                }
                Ok(Err(e)) => {
                    let _ = file.flush().await;
                    return Err(self.map_err(&e, url));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            if have + chunk.len() as u64 > req.max_bytes {
                drop(file);
                let _ = tokio::fs::remove_file(part).await;
                return Err(too_large());
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| io_err(url, "cannot write", part, e))?;
            have += chunk.len() as u64;
            progress(have, total);
            let elapsed = started.elapsed();
            if req.min_bytes_per_sec > 0
                && elapsed > req.stall_timeout
                && (have - from) as f64 / elapsed.as_secs_f64() < req.min_bytes_per_sec as f64
            {
                file.flush()
                    .await
                    .map_err(|e| io_err(url, "cannot write", part, e))?;
                return Err(too_slow(have - from));
            }
        }
        file.flush()
            .await
            .map_err(|e| io_err(url, "cannot write", part, e))?;
        file.sync_all()
            .await
            .map_err(|e| io_err(url, "cannot sync", part, e))?;
        if let Some(t) = total
            && have < t
        {
            return Err(FetchError::Other {
                url: redact(url),
                reason: format!("the connection closed after {have} of {t} bytes"),
            });
        }
        Ok(Downloaded {
            bytes: have,
            resumed_from,
            content_type,
            final_url,
        })
    }
}

#[async_trait]
impl Downloader for HttpFetcher {
    async fn download(
        &self,
        req: &DownloadRequest,
        progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
    ) -> Result<Downloaded, FetchError> {
        let url = Url::parse(req.url.trim()).map_err(|e| FetchError::InvalidUrl {
            url: redact_str(&req.url),
            reason: e.to_string(),
        })?;
        ssrf::check_url(&url, self.s.allow_private)?;
        if let Some(parent) = req.dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|e| io_err(&url, "cannot create", parent, e))?;
        }
        let part = part_path(&req.dest);
        let mut attempt = 0u32;
        loop {
            let err = match self.download_attempt(&url, req, &part, progress).await {
                Ok(done) => {
                    tokio::fs::rename(&part, &req.dest)
                        .await
                        .map_err(|e| io_err(&url, "cannot rename", &req.dest, e))?;
                    return Ok(done);
                }
                Err(e) => e,
            };
            if attempt >= self.s.retries || !err.is_retryable() {
                return Err(err);
            }
            let wait = match err.retry_after() {
                Some(ra) if ra > self.s.max_retry_after => return Err(err),
                Some(ra) => ra,
                None => self.backoff(attempt),
            };
            tracing::info!(url = %redact(&url), attempt, error = %err, "download interrupted; resuming");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::content_range;

    #[test]
    fn parses_content_range() {
        assert_eq!(content_range("bytes 100-199/200"), (Some(100), Some(200)));
        assert_eq!(content_range("bytes 5-9/*"), (Some(5), None));
        assert_eq!(content_range("bytes */300"), (None, Some(300)));
        assert_eq!(content_range("items 1-2/3"), (None, None));
    }
}
