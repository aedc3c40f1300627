//! The `podsift-llm` child process.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use crate::error::LocalError;

/// File name of the server binary (without the platform's executable suffix).
pub const BIN_NAME: &str = "podsift-llm";
/// Lines of the child's stderr kept to explain a failed start.
const STDERR_TAIL: usize = 20;
/// Longest first line accepted from the child.
const MAX_LINE: usize = 4096;

/// How to start the local model server.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// The `podsift-llm` binary; `None`: next to the current executable, then on `PATH`.
    pub bin: Option<PathBuf>,
    /// The GGUF model file.
    pub model: PathBuf,
    /// CPU threads (0: all cores).
    pub threads: usize,
    /// Context size in tokens.
    pub ctx: u32,
    /// How long loading the model may take before giving up.
    pub startup_timeout: Duration,
}

impl LocalOptions {
    /// Options with podsift's defaults (all cores, 4096 tokens, 120 s to start).
    pub fn new(model: impl Into<PathBuf>) -> Self {
        Self {
            bin: None,
            model: model.into(),
            threads: 0,
            ctx: 4096,
            startup_timeout: Duration::from_secs(120),
        }
    }
}

/// A running `podsift-llm`. The child is killed when this is dropped (and, should podsift
/// itself be killed, it exits when its stdin pipe closes).
#[derive(Debug)]
pub struct LocalRuntime {
    child: Child,
    /// Held open: closing it tells the child to exit.
    _stdin: Option<ChildStdin>,
    addr: String,
}

impl LocalRuntime {
    /// Finds the binary, starts it on `127.0.0.1:0` and waits for its `listening on` line.
    pub async fn start(opts: LocalOptions) -> Result<LocalRuntime, LocalError> {
        if !opts.model.is_file() {
            return Err(LocalError::ModelNotFound(opts.model.clone()));
        }
        let bin = match &opts.bin {
            Some(b) if b.is_file() => b.clone(),
            Some(b) => {
                return Err(LocalError::BinaryNotFound {
                    searched: vec![b.clone()],
                });
            }
            None => find_binary()?,
        };
        let mut cmd = Command::new(&bin);
        cmd.arg("--model")
            .arg(&opts.model)
            .args(["--listen", "127.0.0.1:0"])
            .arg("--threads")
            .arg(opts.threads.to_string())
            .arg("--ctx")
            .arg(opts.ctx.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| LocalError::Spawn {
            bin: bin.clone(),
            source,
        })?;
        let stdin = child.stdin.take();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_stderr(stderr, tail.clone()));
        }
        let Some(stdout) = child.stdout.take() else {
            return Err(LocalError::Handshake("no stdout".into()));
        };
        let mut lines = BufReader::new(stdout);
        let mut first = Vec::new();
        let read = tokio::time::timeout(opts.startup_timeout, read_line(&mut lines, &mut first));
        let outcome = read.await;
        let stderr_tail = || {
            let t = tail.lock().unwrap_or_else(|e| e.into_inner());
            t.iter().cloned().collect::<Vec<String>>().join("\n")
        };
        match outcome {
            Err(_) => {
                let _ = child.start_kill();
                return Err(LocalError::StartupTimeout {
                    timeout: opts.startup_timeout,
                    stderr: stderr_tail(),
                });
            }
            Ok(Ok(0)) | Ok(Err(_)) => {
                // The child closed stdout: it is exiting. Give stderr a moment to drain.
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                let status = match status {
                    Ok(Ok(s)) => s.to_string(),
                    _ => "no exit status".into(),
                };
                return Err(LocalError::Exited {
                    status,
                    stderr: stderr_tail(),
                });
            }
            Ok(Ok(_)) => {}
        }
        let line = String::from_utf8_lossy(&first).trim().to_string();
        let addr = parse_listening(&line).ok_or_else(|| LocalError::Handshake(line.clone()))?;
        // Nothing more is expected on stdout; drain it so the child can never block on a pipe.
        tokio::spawn(async move {
            let mut sink = tokio::io::sink();
            let _ = tokio::io::copy(&mut lines, &mut sink).await;
        });
        tracing::debug!(%addr, bin = %bin.display(), "podsift-llm is ready");
        Ok(LocalRuntime {
            child,
            _stdin: stdin,
            addr,
        })
    }

    /// The OpenAI-compatible API base, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.addr)
    }

    /// The server root, `http://127.0.0.1:PORT` (for `GET /health`).
    pub fn root_url(&self) -> &str {
        &self.addr
    }

    /// The child's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops the child and waits for it.
    pub async fn shutdown(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// Reads one line (at most [`MAX_LINE`] bytes) into `buf`; `Ok(0)` at end of stream.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut limited = tokio::io::AsyncReadExt::take(reader, MAX_LINE as u64);
    limited.read_until(b'\n', buf).await
}

/// `listening on http://127.0.0.1:PORT` → `http://127.0.0.1:PORT`.
fn parse_listening(line: &str) -> Option<String> {
    let url = line.strip_prefix("listening on ")?.trim();
    let hostport = url.strip_prefix("http://")?;
    let (host, port) = hostport.rsplit_once(':')?;
    port.parse::<u16>().ok().filter(|p| *p != 0)?;
    if host.is_empty() || hostport.contains('/') {
        return None;
    }
    Some(url.to_string())
}

async fn forward_stderr(stderr: tokio::process::ChildStderr, tail: Arc<Mutex<VecDeque<String>>>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_line(&mut reader, &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&buf).trim_end().to_string();
                tracing::debug!(target: "podsift_llm", "{line}");
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    }
}

/// Finds `podsift-llm`: next to the current executable, then on `PATH`.
pub fn find_binary() -> Result<PathBuf, LocalError> {
    let file = format!("{BIN_NAME}{}", std::env::consts::EXE_SUFFIX);
    let mut searched = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        let candidate = dir.join(&file);
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(candidate);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(&file);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        searched.push(PathBuf::from(format!("{file} on PATH")));
    }
    Err(LocalError::BinaryNotFound { searched })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        assert_eq!(
            parse_listening("listening on http://127.0.0.1:4321").as_deref(),
            Some("http://127.0.0.1:4321")
        );
        assert_eq!(parse_listening("listening on http://127.0.0.1:0"), None);
        assert_eq!(parse_listening("listening on http://127.0.0.1:x"), None);
        assert_eq!(parse_listening("hello"), None);
        assert_eq!(parse_listening("listening on http://h:1/v1"), None);
    }
}
