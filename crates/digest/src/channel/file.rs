//! Writes the rendered digest to a directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use podsift_core::{Channel, DeliveryError, Digest, RenderedDigest};

/// Writes `DIR/YYYY-MM-DD.{md,html,txt,json}`, each atomically (a temporary file in `DIR`,
/// flushed to disk, then renamed over the target), creating `DIR` if needed. Delivering the
/// same date again replaces the files, so a retry is harmless. The receipt is the path of
/// the Markdown file (the other three sit next to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChannel {
    pub dir: PathBuf,
}

impl FileChannel {
    /// A channel writing into `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

fn map_io(what: &Path, e: &std::io::Error) -> DeliveryError {
    use std::io::ErrorKind as K;
    let msg = format!("{}: {e}", what.display());
    match e.kind() {
        K::PermissionDenied
        | K::ReadOnlyFilesystem
        | K::NotADirectory
        | K::IsADirectory
        | K::InvalidInput
        | K::InvalidFilename
        | K::AlreadyExists => DeliveryError::Permanent(msg),
        // Disk full, interrupted, busy, ...: worth another try later.
        _ => DeliveryError::Temporary(msg),
    }
}

fn write_atomic(dir: &Path, name: &str, content: &str) -> Result<PathBuf, DeliveryError> {
    let target = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| map_io(dir, &e))?;
    tmp.write_all(content.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| map_io(tmp.path(), &e))?;
    tmp.persist(&target)
        .map_err(|e| map_io(&target, &e.error))?;
    Ok(target)
}

fn write_all(dir: &Path, digest_date: &str, r: &RenderedDigest) -> Result<PathBuf, DeliveryError> {
    std::fs::create_dir_all(dir).map_err(|e| map_io(dir, &e))?;
    // Markdown last: its presence (the receipt) means all four were written.
    write_atomic(dir, &format!("{digest_date}.html"), &r.html)?;
    write_atomic(dir, &format!("{digest_date}.txt"), &r.text)?;
    write_atomic(dir, &format!("{digest_date}.json"), &r.json)?;
    write_atomic(dir, &format!("{digest_date}.md"), &r.markdown)
}

#[async_trait]
impl Channel for FileChannel {
    fn name(&self) -> String {
        format!("file:{}", self.dir.display())
    }

    async fn deliver(
        &self,
        digest: &Digest,
        rendered: &RenderedDigest,
        _idempotency_key: &str,
    ) -> Result<String, DeliveryError> {
        let dir = self.dir.clone();
        let date = digest.date.format("%Y-%m-%d").to_string();
        let rendered = rendered.clone();
        let path = tokio::task::spawn_blocking(move || write_all(&dir, &date, &rendered))
            .await
            .map_err(|e| DeliveryError::Temporary(format!("file writer task failed: {e}")))??;
        Ok(path.display().to_string())
    }
}
