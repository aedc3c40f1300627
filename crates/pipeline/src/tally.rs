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

    /// Why the episodes this pass read gave no insight, in one line for a reader who expected
    /// a digest (a small model's claims often fail the checks); `None` when the pass read no
    /// episode or kept an insight.
    pub fn why_no_insights(&self) -> Option<String> {
        let read: Vec<_> = self
            .extracted
            .iter()
            .filter(|x| x.state == JobOutcome::Done)
            .collect();
        if read.is_empty() || read.iter().any(|x| x.insights > 0) {
            return None;
        }
        let (mut windows, mut unusable, mut ungrounded, mut claims) = (0, 0, 0, 0);
        let (mut figure, mut name, mut other) = (0, 0, 0);
        for r in read.iter().filter_map(|x| x.report.as_ref()) {
            windows += r.windows_total;
            unusable += r.windows_skipped.len();
            ungrounded += r.dropped_ungrounded;
            claims += r.claims;
            for d in &r.dropped {
                if d.reason.starts_with("the figure ") {
                    figure += 1;
                } else if d.reason.starts_with("the name ") {
                    name += 1;
                } else if !d.reason.starts_with("its quote ") {
                    other += 1;
                }
            }
        }
        let mut parts = Vec::new();
        if unusable > 0 {
            parts.push(format!(
                "the model's answer for {unusable} of {windows} passage(s) was unusable"
            ));
        }
        if ungrounded > 0 {
            parts.push(format!(
                "{ungrounded} claim(s) quoted words that are not in the transcript"
            ));
        }
        if figure > 0 {
            parts.push(format!("{figure} gave a figure its quote does not have"));
        }
        if name > 0 {
            parts.push(format!(
                "{name} named someone or something its quote does not"
            ));
        }
        if other > 0 {
            parts.push(format!("{other} failed another check"));
        }
        if parts.is_empty() {
            parts.push(if claims > 0 {
                format!("the editor found none of {claims} claim(s) worth an insight")
            } else {
                "the model found no claim worth an insight".to_string()
            });
        }
        Some(format!(
            "the {} episode(s) read this run gave no insight that passed the checks: {} \
             (a small model often fails them; `podsift doctor` shows the model in use)",
            read.len(),
            parts.join("; ")
        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use podsift_core::{DroppedInsight, ExtractionReport};

    fn read(insights: usize, report: ExtractionReport) -> ExtractReport {
        ExtractReport {
            episode_id: 1,
            title: "t".into(),
            state: JobOutcome::Done,
            insights,
            error: None,
            report: Some(report),
        }
    }

    fn dropped(reason: &str) -> DroppedInsight {
        DroppedInsight {
            text: "x".into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn says_which_checks_the_claims_failed() {
        let mut t = Tally::default();
        assert_eq!(
            t.why_no_insights(),
            None,
            "nothing read: nothing to explain"
        );
        t.extracted.push(read(
            0,
            ExtractionReport {
                windows_total: 4,
                windows_skipped: vec![(2, "invalid JSON".into())],
                dropped_ungrounded: 3,
                dropped: vec![
                    dropped("its quote is not in the part of the transcript the model read"),
                    dropped("the figure 40 is not in its quotes or the passages they come from"),
                    dropped(
                        "the name \"Ann Lee\" is not in its quotes or the passages they come from",
                    ),
                    dropped("the figure 7 is not in its quotes or the passages they come from"),
                ],
                ..Default::default()
            },
        ));
        t.extracted.push(read(0, ExtractionReport::default()));
        let why = t.why_no_insights().unwrap();
        assert!(why.starts_with("the 2 episode(s) read this run"), "{why}");
        assert!(why.contains("1 of 4 passage(s) was unusable"), "{why}");
        assert!(
            why.contains("3 claim(s) quoted words that are not in the transcript"),
            "{why}"
        );
        assert!(why.contains("2 gave a figure"), "{why}");
        assert!(why.contains("1 named someone"), "{why}");
        assert!(!why.contains("another check"), "{why}");

        t.extracted.push(read(2, ExtractionReport::default()));
        assert_eq!(t.why_no_insights(), None, "an insight was kept");
    }

    #[test]
    fn an_episode_with_no_claims_is_said_so() {
        let mut t = Tally::default();
        t.extracted.push(read(0, ExtractionReport::default()));
        let why = t.why_no_insights().unwrap();
        assert!(
            why.contains("the model found no claim worth an insight"),
            "{why}"
        );
    }
}
