//! Speech-to-text as a pipeline stage: [`AsrStage`] behind the core's [`Stage`] port, its
//! progress ("episode 3: 12/48 min") and each job's outcome reported as [`JobEvent`]s.

use async_trait::async_trait;
use podsift_core::JobKind;
use podsift_core::stage::{JobEvent, Produced, Stage, StageError, StageEvents};

use crate::{ASR_JOBS, AsrStage, Progress};

/// A progress line for a bar.
pub fn progress_message(episode: i64, p: Progress) -> String {
    match p {
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
    }
}

#[async_trait]
impl Stage for AsrStage {
    fn name(&self) -> &'static str {
        "speech_to_text"
    }
    fn kinds(&self) -> &'static [JobKind] {
        ASR_JOBS
    }
    async fn run(&self, worker: &str, events: &dyn StageEvents) -> Result<usize, StageError> {
        let progress = |episode: i64, p: Progress| {
            events.progress("speech_to_text", &progress_message(episode, p))
        };
        let summary = self
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
