//! The real adapters behind the pipeline's ports ([`podsift_pipeline::Ports`]): the insight
//! engine, the speech-to-text stage, the ranking model and the feedback secret, for every
//! driver (`run`, `serve`, `worker`). [`podsift_pipeline::Pipeline::build`] does the rest.

use std::sync::Arc;

use anyhow::Result;
use async_trait::async_trait;
use podsift_asr::{AsrStage, Progress};
use podsift_core::config::AsrEngine;
use podsift_core::{Channel, JobKind, SystemClock};
use podsift_digest::FileChannel;
use podsift_pipeline::{
    JobEvent, LazyStage, Pipeline, Ports, Produced, Stage, StageError, StageEvents,
};

use crate::app::App;

/// Which driver the pipeline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// `podsift run`: the local reader's digest is also written to files.
    Run,
    /// `podsift serve` and `podsift worker`.
    Service,
}

/// Speech-to-text jobs through the pipeline's [`Stage`] port.
pub struct SpeechStage(pub AsrStage);

const SPEECH_JOBS: &[JobKind] = &[JobKind::Transcribe];

#[async_trait]
impl Stage for SpeechStage {
    fn name(&self) -> &'static str {
        "speech_to_text"
    }
    fn kinds(&self) -> &'static [JobKind] {
        SPEECH_JOBS
    }
    async fn run(&self, worker: &str, events: &dyn StageEvents) -> Result<usize, StageError> {
        let progress = |episode: i64, p: Progress| {
            let message = match p {
                Progress::Downloading { bytes, .. } => {
                    format!("episode {episode}: downloading {} MB", bytes / 1_000_000)
                }
                Progress::Transcribing {
                    done_secs,
                    total_secs: Some(t),
                } => format!(
                    "episode {episode}: {:.0}/{:.0} min",
                    done_secs / 60.0,
                    t / 60.0
                ),
                Progress::Transcribing { done_secs, .. } => {
                    format!("episode {episode}: {:.0} min", done_secs / 60.0)
                }
            };
            events.progress("speech_to_text", &message);
        };
        let summary = self
            .0
            .run_jobs(worker, &progress, |r| {
                events.job(&JobEvent {
                    stage: "speech_to_text",
                    job_id: Some(r.job_id),
                    episode_id: r.episode_id,
                    title: None,
                    outcome: r.state,
                    detail: r.detail.clone(),
                    produced: Produced::Transcribed {
                        audio_secs: r.audio_secs,
                    },
                });
            })
            .await
            .map_err(|e| StageError::new("speech_to_text", e))?;
        Ok(summary.done + summary.retrying + summary.dead)
    }
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
        SPEECH_JOBS,
        app.store.clone(),
        move || {
            let a = a.clone();
            async move {
                let engine = crate::asr::build_engine(&a)
                    .await
                    .map_err(|e| StageError::permanent("speech_to_text", format!("{e:#}")))?;
                Ok(Arc::new(SpeechStage(crate::asr::stage(&a, engine))) as Arc<dyn Stage>)
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
        fetcher: app.fetcher.clone(),
        llm,
        speech: speech_stage(app),
        ranker,
        feedback_secret,
        local_channels,
    };
    Ok((Pipeline::build(&app.config, ports), warnings))
}
