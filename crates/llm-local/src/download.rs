//! First-use model download: streamed to `NAME.part`, resumed with HTTP `Range`, verified
//! against a pinned sha256, then renamed into place atomically.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::LocalError;

/// A downloadable GGUF model, pinned by size and sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// File name in the cache directory (no path separators).
    pub name: Cow<'static, str>,
    /// Where to download it from.
    pub url: Cow<'static, str>,
    /// Lower-case hex sha256 of the whole file.
    pub sha256: Cow<'static, str>,
    /// Size in bytes: exact, or an upper bound where only the hash is published (downloads are
    /// cut off beyond it).
    pub size: u64,
}

/// No bytes for this long: the connection is considered dead (the download resumes later).
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

impl ModelSpec {
    pub(crate) fn validate(&self) -> Result<(), LocalError> {
        let name = self.name.as_ref();
        if name.is_empty()
            || name.starts_with('.')
            || name.contains(['/', '\\', '\0'])
            || name.ends_with(".part")
        {
            return Err(LocalError::InvalidSpec(format!("bad file name {name:?}")));
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(LocalError::InvalidSpec(format!(
                "sha256 of {name} is not 64 hex digits"
            )));
        }
        if self.size == 0 {
            return Err(LocalError::InvalidSpec(format!("size of {name} is 0")));
        }
        Ok(())
    }
}

/// Returns the path of `spec`'s file in `cache_dir`, downloading it first if needed.
///
/// * A complete, verified file is reused (a `NAME.sha256` note records the verification, so
///   the file is hashed once, not on every start).
/// * Bytes go to `NAME.part`; an interrupted download resumes from its length with
///   `Range: bytes=N-` (a server that ignores the range restarts it from zero).
/// * At the end the sha256 is checked; a mismatch deletes the partial file and fails with
///   [`LocalError::HashMismatch`]. The rename into place is atomic.
///
/// `progress(downloaded, total)` is called as bytes arrive (`downloaded` counts the resumed
/// prefix). Errors say whether a retry may help ([`LocalError::is_retryable`]).
pub async fn ensure_model(
    spec: &ModelSpec,
    cache_dir: &Path,
    progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
) -> Result<PathBuf, LocalError> {
    spec.validate()?;
    tokio::fs::create_dir_all(cache_dir)
        .await
        .map_err(|e| LocalError::io("cannot create", cache_dir, e))?;
    let path = cache_dir.join(spec.name.as_ref());
    let note = cache_dir.join(format!("{}.sha256", spec.name));
    let part = cache_dir.join(format!("{}.part", spec.name));
    let expected = spec.sha256.to_ascii_lowercase();

    if let Ok(meta) = tokio::fs::metadata(&path).await {
        // `size` is exact for the models we pin and an upper bound for catalogues that only
        // publish hashes (speech models); the hash decides either way.
        if meta.len() <= spec.size {
            let noted = tokio::fs::read_to_string(&note).await.unwrap_or_default();
            if noted.trim() == expected {
                return Ok(path);
            }
            let actual = sha256_file(&path).await?;
            if actual == expected {
                write_note(&note, &expected).await;
                return Ok(path);
            }
        }
        tracing::warn!(path = %path.display(), "cached model does not match its pinned hash; downloading again");
        let _ = tokio::fs::remove_file(&path).await;
    }

    download(spec, &part, progress).await?;

    let actual = sha256_file(&part).await?;
    if actual != expected {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(LocalError::HashMismatch {
            name: spec.name.to_string(),
            expected,
            actual,
        });
    }
    tokio::fs::rename(&part, &path)
        .await
        .map_err(|e| LocalError::io("cannot rename into place", &path, e))?;
    write_note(&note, &expected).await;
    Ok(path)
}

async fn write_note(note: &Path, sha: &str) {
    // Only an optimisation (skips re-hashing); failing to write it is harmless.
    if let Err(e) = tokio::fs::write(note, format!("{sha}\n")).await {
        tracing::debug!(path = %note.display(), error = %e, "cannot write the hash note");
    }
}

fn client() -> Result<reqwest::Client, reqwest::Error> {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        // The workspace builds rustls with ring only; another crate may have installed it.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .user_agent(concat!("podsift/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        // Byte ranges must address the file itself, never a compressed rendition.
        .no_gzip()
        .no_brotli()
        .no_deflate()
        .build()
}

/// Streams `spec.url` into `part` until it holds `spec.size` bytes.
async fn download(
    spec: &ModelSpec,
    part: &Path,
    progress: &(dyn Fn(u64, Option<u64>) + Send + Sync),
) -> Result<(), LocalError> {
    let url = spec.url.to_string();
    let net = |source| LocalError::Network {
        url: url.clone(),
        source,
    };
    let mut have = match tokio::fs::metadata(part).await {
        Ok(m) if m.len() <= spec.size => m.len(),
        Ok(_) => {
            let _ = tokio::fs::remove_file(part).await;
            0
        }
        Err(_) => 0,
    };
    if have == spec.size {
        return Ok(()); // complete from an earlier run; the caller verifies it
    }
    let client = client().map_err(net)?;
    let mut request = client.get(url.as_str());
    if have > 0 {
        request = request.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let mut response = request.send().await.map_err(net)?;
    let status = response.status().as_u16();
    let append = match status {
        206 if have > 0 => {
            let start = response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(content_range_start);
            if start != Some(have) {
                // Appending bytes from anywhere else would corrupt the file.
                let _ = tokio::fs::remove_file(part).await;
                return Err(LocalError::BadResponse {
                    name: spec.name.to_string(),
                    reason: format!(
                        "asked to resume at byte {have}, got Content-Range {:?}; the partial file was deleted",
                        response.headers().get(reqwest::header::CONTENT_RANGE)
                    ),
                });
            }
            true
        }
        200 => {
            if have > 0 {
                tracing::info!(name = %spec.name, "the server ignored the range request; restarting the download");
            }
            have = 0;
            false
        }
        416 if have > 0 => {
            // The partial file is not a prefix the server can extend; start over next time.
            let _ = tokio::fs::remove_file(part).await;
            return Err(LocalError::Http { url, status });
        }
        _ => return Err(LocalError::Http { url, status }),
    };

    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .await
        .map_err(|e| LocalError::io("cannot open", part, e))?;
    progress(have, Some(spec.size));
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                flush(&mut file, part).await?;
                return Err(net(e));
            }
        };
        if have + chunk.len() as u64 > spec.size {
            drop(file);
            let _ = tokio::fs::remove_file(part).await;
            return Err(LocalError::BadResponse {
                name: spec.name.to_string(),
                reason: format!(
                    "the server sent more than the pinned {} bytes; the partial file was deleted",
                    spec.size
                ),
            });
        }
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
            .await
            .map_err(|e| LocalError::io("cannot write", part, e))?;
        have += chunk.len() as u64;
        progress(have, Some(spec.size));
    }
    flush(&mut file, part).await?;
    if have < spec.size {
        return Err(LocalError::Incomplete {
            name: spec.name.to_string(),
            got: have,
            want: spec.size,
        });
    }
    Ok(())
}

async fn flush(file: &mut tokio::fs::File, part: &Path) -> Result<(), LocalError> {
    tokio::io::AsyncWriteExt::flush(file)
        .await
        .map_err(|e| LocalError::io("cannot write", part, e))?;
    file.sync_all()
        .await
        .map_err(|e| LocalError::io("cannot sync", part, e))
}

/// `bytes START-END/TOTAL` → `START`.
fn content_range_start(value: &str) -> Option<u64> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, _total) = rest.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    start.trim().parse().ok()
}

/// Lower-case hex sha256 of a file, hashed on a blocking thread.
async fn sha256_file(path: &Path) -> Result<String, LocalError> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file =
            std::fs::File::open(&owned).map_err(|e| LocalError::io("cannot open", &owned, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = file
                .read(&mut buf)
                .map_err(|e| LocalError::io("cannot read", &owned, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(|e| LocalError::io("hashing failed for", path, std::io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::DEFAULT_MODEL;

    #[test]
    fn parses_content_range() {
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("bytes */200"), None);
        assert_eq!(content_range_start("items 1-2/3"), None);
    }

    #[test]
    fn rejects_bad_specs() {
        let mut s = DEFAULT_MODEL.clone();
        s.name = "../x.gguf".into();
        assert!(s.validate().is_err());
        let mut s = DEFAULT_MODEL.clone();
        s.sha256 = "abc".into();
        assert!(s.validate().is_err());
    }
}
