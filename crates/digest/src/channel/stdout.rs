//! Prints the digest.

use std::io::Write;

use async_trait::async_trait;
use podsift_core::{Channel, DeliveryError, Digest, RenderedDigest};

/// Which rendering [`StdoutChannel`] prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StdoutFormat {
    /// The wrapped plain text.
    #[default]
    Text,
    Markdown,
}

/// Prints the plain text (or Markdown) rendering to standard output. The rendered text has
/// no control characters from feeds (see [`crate::render`]), so it cannot drive the terminal.
/// The receipt is `stdout`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StdoutChannel {
    pub format: StdoutFormat,
}

impl StdoutChannel {
    /// A channel printing `format`.
    pub fn new(format: StdoutFormat) -> Self {
        Self { format }
    }

    /// Writes what [`Channel::deliver`] prints to `out` instead of standard output.
    pub fn write_to(&self, out: &mut impl Write, rendered: &RenderedDigest) -> std::io::Result<()> {
        let body = match self.format {
            StdoutFormat::Text => &rendered.text,
            StdoutFormat::Markdown => &rendered.markdown,
        };
        out.write_all(body.as_bytes())?;
        if !body.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}

#[async_trait]
impl Channel for StdoutChannel {
    fn name(&self) -> String {
        "stdout".to_string()
    }

    async fn deliver(
        &self,
        _digest: &Digest,
        rendered: &RenderedDigest,
        _idempotency_key: &str,
    ) -> Result<String, DeliveryError> {
        let this = *self;
        let rendered = rendered.clone();
        tokio::task::spawn_blocking(move || {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            this.write_to(&mut lock, &rendered)
        })
        .await
        .map_err(|e| DeliveryError::Temporary(format!("stdout task failed: {e}")))?
        // A closed pipe will not reopen: retrying cannot help.
        .map_err(|e| DeliveryError::Permanent(format!("cannot write to stdout: {e}")))?;
        Ok("stdout".to_string())
    }
}
