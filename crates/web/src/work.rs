//! What an episode's page says of its work still waiting, running or given up on: why there
//! is no transcript yet (waiting for speech-to-text, or not transcribed and why: too long, no
//! audio, a broken file) and why nothing was read yet. From the episode's jobs.

use podsift_core::jobs::{Job, JobKind, JobState};
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub(crate) struct WorkStatus {
    /// Shown where the transcript would be (none: it is there, or nothing is known).
    pub transcript: Option<String>,
    /// Shown where the insights would be.
    pub insights: Option<String>,
}

/// `jobs`: the episode's jobs, newest first ([`podsift_core::Store::episode_jobs`]).
pub(crate) fn work_status(jobs: &[Job], has_transcript: bool, has_report: bool) -> WorkStatus {
    let newest = |kinds: &[JobKind]| jobs.iter().find(|j| kinds.contains(&j.kind));
    WorkStatus {
        transcript: (!has_transcript)
            .then(|| newest(&[JobKind::Transcribe, JobKind::FetchTranscript]))
            .flatten()
            .and_then(|j| {
                let what = if j.kind == JobKind::Transcribe {
                    "speech-to-text"
                } else {
                    "the publisher's transcript"
                };
                say(j, what, "Not transcribed")
            }),
        insights: (!has_report)
            .then(|| newest(&[JobKind::ExtractInsights]))
            .flatten()
            .and_then(|j| say(j, "the model", "Not read")),
    }
}

fn say(job: &Job, waiting_for: &str, gave_up: &str) -> Option<String> {
    let error = job
        .last_error
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    match (job.state, error) {
        (JobState::Dead, Some(e)) => Some(format!("{gave_up}: {e}")),
        (JobState::Dead, None) => Some(format!("{gave_up}.")),
        (JobState::Queued, Some(e)) => Some(format!("Waiting for {waiting_for} ({e}).")),
        (JobState::Queued, None) => Some(format!("Waiting for {waiting_for}.")),
        (JobState::Running, _) => Some(format!("Being worked on now ({waiting_for}).")),
        (JobState::Done, _) => None,
    }
}
