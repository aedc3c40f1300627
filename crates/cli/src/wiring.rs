//! The real adapters behind the pipeline's ports ([`podsift_pipeline::Ports`]): the insight
//! engine, the speech-to-text stage, the ranking model and the feedback secret, for every
//! driver (`run`, `serve`, `worker`). [`podsift_pipeline::Pipeline::build`] does the rest.

use std::sync::Arc;

use anyhow::Result;
use podsift_core::config::AsrEngine;
use podsift_core::{Channel, SystemClock};
use podsift_digest::FileChannel;
use podsift_pipeline::{LazyStage, Pipeline, Ports, Stage, StageError};

use crate::app::App;

/// Which driver the pipeline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `podsift run`: the local reader's digest is also written to files.
    Run,
    /// `podsift serve` and `podsift worker`.
    Service,
}

/// The speech-to-text stage of `[asr]`, built (its model loaded, or downloaded with a
/// progress bar) on the first runnable job. `None` when speech-to-text is off.
fn speech_stage(app: &Arc<App>) -> Option<Arc<dyn Stage>> {
    if app.config.asr.engine == AsrEngine::Off {
        return None;
    }
    let a = app.clone();
    Some(Arc::new(LazyStage::new(
        "speech_to_text",
        podsift_asr::ASR_JOBS,
        app.store.clone(),
        move || {
            let a = a.clone();
            async move {
                let engine = crate::asr::build_engine(&a)
                    .await
                    .map_err(|e| StageError::permanent("speech_to_text", format!("{e:#}")))?;
                Ok(Arc::new(crate::asr::stage(&a, engine)) as Arc<dyn Stage>)
            }
        },
    )))
}

/// The pipeline for `driver`, and the warnings of what it runs without (a ranking model that
/// cannot be had, a feedback secret that cannot be made).
pub async fn pipeline(app: &Arc<App>, driver: Driver) -> Result<(Pipeline, Vec<String>)> {
    let mut warnings = Vec::new();
    let llm = crate::llm::build(
        &app.config.llm,
        &app.data_dir,
        app.quiet || driver == Driver::Service,
    )?;
    let ranker = crate::rank::ranker(app, &mut warnings).await?;
    let feedback_secret = match podsift_digest::load_or_create_secret(
        app.config.digest.feedback_secret_env.as_deref(),
        &app.data_dir,
    ) {
        Ok(secret) => Some(secret),
        Err(e) => {
            warnings.push(format!("feedback links left out: {e}"));
            None
        }
    };
    let local_channels: Vec<Arc<dyn Channel>> = match driver {
        Driver::Run => {
            let dir = app
                .config
                .digest
                .output_dir
                .clone()
                .unwrap_or_else(|| app.data_dir.join("digests"));
            vec![Arc::new(FileChannel::new(dir))]
        }
        Driver::Service => Vec::new(),
    };
    let ports = Ports {
        store: app.store.clone(),
        cache: app.cache.clone(),
        clock: Arc::new(SystemClock),
        poller: app.poller.clone(),
        llm,
        speech: speech_stage(app),
        ranker,
        feedback_secret,
        local_channels,
    };
    Ok((Pipeline::build(&app.config, ports), warnings))
}
