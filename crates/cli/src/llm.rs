//! Choosing the insight engine: a remote API or Ollama from the config, or podsift's own local
//! model, started only when there is work for it (downloaded on first use with a progress
//! bar). Before that first download, a model server the user already runs is offered
//! ([`choice`]).

mod choice;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use async_trait::async_trait;
use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse};
use podsift_insights::Resilient;
use podsift_insights::engines::{self, OpenAiCompatible, detect, ollama};
use podsift_llm_local::{DEFAULT_MODEL, LocalOptions, LocalRuntime, ensure_model};
use tokio::sync::OnceCell;

/// One line naming the insight engine a run uses and why, e.g.
/// `insights: ollama qwen3:4b at http://127.0.0.1:11434 (chosen on 2026-12-02: found installed)`.
pub fn in_use(app: &crate::app::App) -> String {
    describe(&app.config.llm, &app.data_dir)
}

fn describe(cfg: &LlmConfig, data_dir: &Path) -> String {
    let at = |c: &LlmConfig| match c.base_url.as_deref() {
        Some(u) if c.engine == LlmEngine::Ollama => format!(" at {}", ollama::normalise_base(u)),
        Some(u) => format!(" at {}", u.trim_end_matches('/')),
        None if c.engine == LlmEngine::Ollama => format!(" at {}", ollama::DEFAULT_BASE_URL),
        None => String::new(),
    };
    match cfg.engine {
        LlmEngine::Local => {
            if let Some(p) = &cfg.local_model_path {
                return format!("insights: local {} (configured)", file_name(p));
            }
            match choice::load(data_dir) {
                Some(c) if c.engine != LlmEngine::Local => format!(
                    "insights: {} {}{} (chosen on {}: {})",
                    c.engine,
                    c.model.as_deref().unwrap_or("?"),
                    at(&c.apply(cfg)),
                    c.date(),
                    c.why
                ),
                Some(c) => format!(
                    "insights: local {} (default download; chosen on {}: {})",
                    DEFAULT_MODEL.name,
                    c.date(),
                    c.why
                ),
                None => format!("insights: local {} (default download)", DEFAULT_MODEL.name),
            }
        }
        LlmEngine::Ollama if blank(&cfg.model) => {
            let root = ollama_root(cfg);
            let picked = PICKED
                .get()
                .cloned()
                .map(|m| Ok(Some(m)))
                .unwrap_or_else(|| {
                    blocking(detect::ollama_models(&root, detect::PROBE_TIMEOUT))
                        .and_then(|r| r)
                        .map(|models| models.into_iter().next().map(|m| m.name))
                });
            match picked {
                Ok(Some(m)) => {
                    format!("insights: ollama {m} at {root} (configured; the best model installed)")
                }
                Ok(None) => format!(
                    "insights: ollama at {root} (configured; no model installed: run `ollama pull qwen3:4b`)"
                ),
                Err(e) => format!("insights: ollama at {root} (configured; not answering: {e})"),
            }
        }
        other => format!(
            "insights: {other} {}{} (configured)",
            cfg.model.as_deref().unwrap_or("?"),
            at(cfg)
        ),
    }
}

/// The Ollama model picked at start when the config names none (for [`in_use`]).
static PICKED: OnceLock<String> = OnceLock::new();

/// What the first run will download for the insight engine, said before it starts: the
/// local engine's model when it is not there yet (none for API engines or a model at hand).
pub fn first_download(cfg: &LlmConfig, data_dir: &Path) -> Option<String> {
    if cfg.engine != LlmEngine::Local || cfg.local_model_path.is_some() {
        return None;
    }
    if choice::load(data_dir).is_some_and(|c| c.engine != LlmEngine::Local) {
        return None;
    }
    let model = podsift_llm_local::entry_for(cfg.local_model.as_deref()).ok()?;
    let dir = data_dir.join("models");
    if dir.join(model.spec.name.as_ref()).exists() {
        return None;
    }
    Some(format!(
        "Episodes are read by a local model, {} ({:.1} GB, downloaded once to {}; it needs \
         about {:.1} GB of memory). To use a running Ollama or an API instead, set [llm] engine \
         (`podsift doctor` shows what is configured).",
        model.spec.name,
        model.spec.size as f64 / 1e9,
        dir.display(),
        model.ram_bytes() as f64 / 1e9
    ))
}

/// The engine the config names, with retries and a concurrency limit. With the local engine
/// and no model file yet, a model server already running on this machine is offered first
/// (once; the answer is kept in `DATA_DIR/llm-choice.json`).
pub fn build(cfg: &LlmConfig, data_dir: &Path, quiet: bool) -> Result<Arc<dyn Llm>> {
    match cfg.engine {
        LlmEngine::Local => {
            if cfg.local_model_path.is_none() {
                let saved = match choice::load(data_dir) {
                    Some(c) => Some(c),
                    None if !data_dir.join("models").join(&*DEFAULT_MODEL.name).exists() => {
                        choice::offer(data_dir, quiet, &detect::ProbeTargets::default())
                    }
                    None => None,
                };
                if let Some(c) = saved.filter(|c| c.engine != LlmEngine::Local) {
                    let chosen = c.apply(cfg);
                    tracing::info!(engine = %chosen.engine, model = ?chosen.model, "using the saved choice");
                    return remote(&chosen);
                }
            }
            Ok(Arc::new(LazyLocal {
                cfg: cfg.clone(),
                cache_dir: data_dir.join("models"),
                quiet,
                cell: OnceCell::new(),
            }))
        }
        LlmEngine::Ollama if blank(&cfg.model) => {
            let mut cfg = cfg.clone();
            let model = pick_ollama(&cfg)?;
            let _ = PICKED.set(model.clone());
            cfg.model = Some(model);
            remote(&cfg)
        }
        LlmEngine::Openai | LlmEngine::Anthropic | LlmEngine::Ollama => remote(cfg),
    }
}

/// An API engine behind the retry layer.
fn remote(cfg: &LlmConfig) -> Result<Arc<dyn Llm>> {
    let inner = engines::from_config(cfg)
        .with_context(|| format!("cannot set up the {} engine", cfg.engine))?;
    Ok(Arc::new(Resilient::boxed_from_config(inner, cfg)))
}

/// The best model installed in the configured Ollama, or one line saying what to do.
fn pick_ollama(cfg: &LlmConfig) -> Result<String> {
    let root = ollama_root(cfg);
    let timeout = Duration::from_secs(cfg.timeout_secs.clamp(1, 5));
    let models = blocking(detect::ollama_models(&root, timeout))
        .and_then(|r| r)
        .map_err(|e| {
            anyhow!(
                "llm.engine = \"ollama\", but Ollama does not answer at {root} ({e}): start it (`ollama serve`) or set llm.base_url"
            )
        })?;
    match models.into_iter().next() {
        Some(m) => {
            tracing::info!(model = %m.name, %root, "no llm.model: using the best model Ollama has");
            Ok(m.name)
        }
        None => bail!(
            "llm.model is not set and Ollama at {root} has no instruction model of 3B or more: run `ollama pull qwen3:4b` (or set llm.model)"
        ),
    }
}

fn ollama_root(cfg: &LlmConfig) -> String {
    ollama::normalise_base(cfg.base_url.as_deref().unwrap_or(ollama::DEFAULT_BASE_URL))
}

fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Runs `fut` to completion on a small runtime of its own in a scoped thread: for the short
/// probes made while the (synchronous) pipeline is being wired, from inside any runtime.
fn blocking<F>(fut: F) -> std::result::Result<F::Output, String>
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(fut))
                .map_err(|e| format!("cannot start a runtime: {e}"))
        })
        .join()
        .unwrap_or_else(|_| Err("the probe panicked".into()))
    })
}

/// The local engine: the model file is fetched and `podsift-llm` started on the first request,
/// so a run with nothing to extract costs nothing.
struct LazyLocal {
    cfg: LlmConfig,
    cache_dir: PathBuf,
    quiet: bool,
    cell: OnceCell<(LocalRuntime, Resilient<OpenAiCompatible>)>,
}

impl LazyLocal {
    fn model_name(&self) -> String {
        match &self.cfg.local_model_path {
            Some(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            None => podsift_llm_local::model_for(self.cfg.local_model.as_deref())
                .map_or_else(|_| DEFAULT_MODEL.name.to_string(), |m| m.name.to_string()),
        }
    }

    async fn start(&self) -> Result<(LocalRuntime, Resilient<OpenAiCompatible>), LlmError> {
        let model = match &self.cfg.local_model_path {
            Some(p) => p.clone(),
            None => {
                let spec = podsift_llm_local::model_for(self.cfg.local_model.as_deref())
                    .map_err(|e| LlmError::Permanent(e.to_string()))?;
                let bar =
                    crate::output::download_bar(&format!("downloading {}", spec.name), self.quiet);
                let progress = crate::output::bytes_progress(&bar);
                let path = ensure_model(spec, &self.cache_dir, &progress)
                    .await
                    .map_err(|e| {
                        if e.is_retryable() {
                            LlmError::Transport(e.to_string())
                        } else {
                            LlmError::Permanent(e.to_string())
                        }
                    })?;
                bar.finish_and_clear();
                path
            }
        };
        let mut opts = LocalOptions::new(model);
        opts.bin = self.cfg.local_server_bin.clone();
        opts.threads = self.cfg.local_threads;
        opts.ctx = self.cfg.local_context;
        let rt = LocalRuntime::start(opts)
            .await
            .map_err(|e| LlmError::Permanent(format!("cannot start the local model: {e}")))?;
        let engine = OpenAiCompatible::new(
            &rt.base_url(),
            &self.model_name(),
            None,
            Duration::from_secs(self.cfg.timeout_secs.max(1)),
        )
        .map_err(|e| LlmError::Permanent(e.to_string()))?;
        Ok((rt, Resilient::from_config(engine, &self.cfg)))
    }
}

#[async_trait]
impl Llm for LazyLocal {
    fn model_id(&self) -> String {
        format!("local:{}", self.model_name())
    }

    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        let (_, engine) = self.cell.get_or_try_init(|| self.start()).await?;
        engine.complete(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_run_names_the_model_it_will_download_only_when_it_will() {
        let dir = tempfile::tempdir().unwrap();
        let local = LlmConfig::default();
        let said = first_download(&local, dir.path()).expect("the default model is not there");
        assert!(
            said.contains(&*DEFAULT_MODEL.name) && said.contains("downloaded once"),
            "{said}"
        );
        let api = LlmConfig {
            engine: LlmEngine::Openai,
            ..LlmConfig::default()
        };
        assert!(first_download(&api, dir.path()).is_none());
        std::fs::create_dir_all(dir.path().join("models")).unwrap();
        std::fs::write(dir.path().join("models").join(&*DEFAULT_MODEL.name), b"x").unwrap();
        assert!(first_download(&local, dir.path()).is_none());
    }
}
