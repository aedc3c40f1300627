//! Choosing the insight engine: a remote API from the config, or podsift's own local model,
//! started only when there is work for it (downloaded on first use with a progress bar).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_trait::async_trait;
use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse};
use podsift_insights::Resilient;
use podsift_insights::engines::{self, OpenAiCompatible};
use podsift_llm_local::{DEFAULT_MODEL, LocalOptions, LocalRuntime, ensure_model};
use tokio::sync::OnceCell;

/// The engine the config names, with retries and a concurrency limit.
pub fn build(cfg: &LlmConfig, data_dir: &std::path::Path, quiet: bool) -> Result<Arc<dyn Llm>> {
    match cfg.engine {
        LlmEngine::Local => Ok(Arc::new(LazyLocal {
            cfg: cfg.clone(),
            cache_dir: data_dir.join("models"),
            quiet,
            cell: OnceCell::new(),
        })),
        LlmEngine::Openai | LlmEngine::Anthropic => {
            let inner = engines::from_config(cfg)
                .with_context(|| format!("cannot set up the {} engine", cfg.engine))?;
            Ok(Arc::new(Resilient::boxed_from_config(inner, cfg)))
        }
    }
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
            None => DEFAULT_MODEL.name.to_string(),
        }
    }

    async fn start(&self) -> Result<(LocalRuntime, Resilient<OpenAiCompatible>), LlmError> {
        let model = match &self.cfg.local_model_path {
            Some(p) => p.clone(),
            None => {
                let bar = crate::output::download_bar(
                    &format!("downloading {}", DEFAULT_MODEL.name),
                    self.quiet,
                );
                let progress = crate::output::bytes_progress(&bar);
                let path = ensure_model(&DEFAULT_MODEL, &self.cache_dir, &progress)
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
