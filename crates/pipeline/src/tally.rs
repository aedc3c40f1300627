//! What a driver tells its user about a pass: the stages' job events added up per stage,
//! with a line for each job that failed (and whether it will be retried).

use std::sync::Mutex;

use podsift_core::JobOutcome;
use podsift_poller::JobsSummary;
use serde::Serialize;

use crate::ExtractReport;
use crate::stage::{JobEvent, Produced, StageEvents};

/// Speech-to-text.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SpeechTally {
    pub done: usize,
    pub retrying: usize,
    pub dead: usize,
    pub audio_secs: f64,
}

/// A pass, added up.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tally {
    /// Transcript and chapter downloads.
    pub transcripts: JobsSummary,
    pub speech_to_text: SpeechTally,
    /// Every episode read (or tried).
    pub extracted: Vec<ExtractReport>,
    /// One line per job that failed: what, why, and whether it is retried.
    pub errors: Vec<String>,
}

fn count(outcome: JobOutcome, done: &mut usize, retrying: &mut usize, dead: &mut usize) {
    match outcome {
        JobOutcome::Done => *done += 1,
        JobOutcome::Retrying => *retrying += 1,
        JobOutcome::Dead => *dead += 1,
    }
}

impl Tally {
    pub fn add(&mut self, e: &JobEvent) {
        if e.outcome != JobOutcome::Done {
            let what = match e.episode_id {
                Some(ep) => format!("{} for episode {ep}", e.stage),
                None => e.stage.to_string(),
            };
            let next = match e.outcome {
                JobOutcome::Dead => "gave up; `podsift jobs --retry`",
                _ => "will retry",
            };
            self.errors.push(format!("{what}: {} ({next})", e.detail));
        }
        match (e.stage, &e.produced) {
            ("extract", produced) => {
                let (insights, report) = match produced {
                    Produced::Insights { count, report } => (*count, report.as_deref().cloned()),
                    _ => (0, None),
                };
                self.extracted.push(ExtractReport {
                    episode_id: e.episode_id.unwrap_or_default(),
                    title: e.title.clone().unwrap_or_default(),
                    state: e.outcome,
                    insights,
                    error: (e.outcome != JobOutcome::Done).then(|| e.detail.clone()),
                    report,
                });
            }
            ("speech_to_text", produced) => {
                let s = &mut self.speech_to_text;
                count(e.outcome, &mut s.done, &mut s.retrying, &mut s.dead);
                if let Produced::Transcribed { audio_secs } = produced {
                    s.audio_secs += audio_secs;
                }
            }
            (_, produced) => {
                let t = &mut self.transcripts;
                count(e.outcome, &mut t.done, &mut t.retrying, &mut t.dead);
                if let Produced::Fetched { segments: Some(n) } = produced {
                    t.transcripts += 1;
                    t.segments += n;
                }
            }
        }
    }

    /// Prompt and completion tokens and dollars of the episodes read.
    pub fn spent(&self) -> (u64, u64, f64) {
        self.extracted
            .iter()
            .filter_map(|r| r.report.as_ref())
            .fold((0, 0, 0.0), |acc, r| {
                (
                    acc.0 + r.prompt_tokens,
                    acc.1 + r.completion_tokens,
                    acc.2 + r.cost_usd,
                )
            })
    }
}

type OnJob = Box<dyn Fn(&JobEvent) + Send + Sync>;
type OnProgress = Box<dyn Fn(&'static str, &str) + Send + Sync>;

/// [`StageEvents`] that add up a [`Tally`] and pass each event on (to a progress bar).
pub struct Tallying {
    tally: Mutex<Tally>,
    on_job: OnJob,
    on_progress: OnProgress,
}

impl Tallying {
    pub fn new(
        on_job: impl Fn(&JobEvent) + Send + Sync + 'static,
        on_progress: impl Fn(&'static str, &str) + Send + Sync + 'static,
    ) -> Self {
        Self {
            tally: Mutex::new(Tally::default()),
            on_job: Box::new(on_job),
            on_progress: Box::new(on_progress),
        }
    }

    pub fn into_tally(self) -> Tally {
        self.tally.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl StageEvents for Tallying {
    fn job(&self, event: &JobEvent) {
        self.tally
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(event);
        (self.on_job)(event);
    }
    fn progress(&self, stage: &'static str, message: &str) {
        (self.on_progress)(stage, message);
    }
}
