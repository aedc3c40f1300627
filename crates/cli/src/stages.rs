//! `podsift run`'s progress board: a bar per stage (transcripts, speech-to-text, reading)
//! with what is done, what is left and an estimate of the time left at the pace so far.
//!
//! What is left comes from the store (the jobs runnable or running of the stage's kinds,
//! asked once a second), so it counts work a killed run left behind and work queued while
//! the pass goes on. Reading counts every episode still on its way to it (transcript
//! downloads and speech-to-text too): each one ends in a reading job.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use podsift_core::stage::JobEvent;
use podsift_core::{Clock, JobKind, Store};

/// The pace of one stage in this pass: jobs finished over the time since it began.
#[derive(Debug, Default, Clone)]
pub struct Pace {
    since: Option<Instant>,
    last: Option<Instant>,
    done: u64,
}

impl Pace {
    /// The stage showed it is working (a progress message) at `at`.
    pub fn began(&mut self, at: Instant) {
        self.since.get_or_insert(at);
    }

    /// A job finished at `now`; `began` is when the stage could have started it (the
    /// previous activity of the pass) if nothing said so before.
    pub fn finished(&mut self, now: Instant, began: Instant) {
        self.since.get_or_insert(began.min(now));
        self.last = Some(now);
        self.done += 1;
    }

    /// The time `left` more jobs take at the pace so far; `None` before the first finishes.
    pub fn estimate(&self, left: u64) -> Option<Duration> {
        let (since, last) = (self.since?, self.last?);
        if self.done == 0 {
            return None;
        }
        let per_job = last.duration_since(since).as_secs_f64() / self.done as f64;
        Some(Duration::from_secs_f64(per_job * left as f64))
    }
}

/// "about 3 min left", in words a reader takes in at a glance.
pub fn time_left(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..=59 => "under a minute left".to_string(),
        60..=3599 => format!("about {} min left", secs.div_ceil(60)),
        _ => {
            let mins = secs.div_ceil(60);
            format!("about {} h {} min left", mins / 60, mins % 60)
        }
    }
}

/// One stage's row.
struct Row {
    label: &'static str,
    /// The job kinds whose backlog is this row's "left".
    kinds: &'static [JobKind],
    bar: ProgressBar,
    pace: Mutex<Pace>,
    /// What the stage last said of the job it runs ("episode 3: 12/48 min").
    note: Mutex<String>,
}

const TRANSCRIPTS: usize = 0;
const SPEECH: usize = 1;
const READING: usize = 2;

/// The board: its rows, and the last time anything happened (where a stage's first job is
/// taken to have begun).
pub struct Board {
    multi: MultiProgress,
    rows: [Row; 3],
    /// A line under the rows for what concerns the whole pass (jobs another process holds),
    /// added on first use.
    line: Mutex<Option<ProgressBar>>,
    last_activity: Mutex<Instant>,
}

impl Board {
    /// Drawn on stderr when it is a terminal and `quiet` is off; hidden (still counting)
    /// otherwise.
    pub fn new(quiet: bool) -> Arc<Self> {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self::with_target(target)
    }

    fn with_target(target: ProgressDrawTarget) -> Arc<Self> {
        let multi = MultiProgress::with_draw_target(target);
        let style = ProgressStyle::with_template("{prefix:>14} [{bar:24}] {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let row = |label: &'static str, kinds: &'static [JobKind]| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(style.clone());
            bar.set_prefix(label);
            Row {
                label,
                kinds,
                bar,
                pace: Mutex::new(Pace::default()),
                note: Mutex::new(String::new()),
            }
        };
        Arc::new(Self {
            rows: [
                row("transcripts", podsift_poller::POLLER_JOBS),
                row("speech-to-text", &[JobKind::Transcribe]),
                row(
                    "reading",
                    &[
                        JobKind::ExtractInsights,
                        JobKind::Transcribe,
                        JobKind::FetchTranscript,
                    ],
                ),
            ],
            multi,
            line: Mutex::new(None),
            last_activity: Mutex::new(Instant::now()),
        })
    }

    fn row_of(stage: &str) -> Option<usize> {
        match stage {
            "fetch" => Some(TRANSCRIPTS),
            "speech_to_text" => Some(SPEECH),
            "extract" => Some(READING),
            _ => None,
        }
    }

    /// A stage finished a job (done, retried later or given up: either way it is off the
    /// list of what is left).
    pub fn job(&self, e: &JobEvent) {
        let now = Instant::now();
        let Some(i) = Self::row_of(e.stage) else {
            return;
        };
        let began = {
            let mut last = lock(&self.last_activity);
            std::mem::replace(&mut *last, now)
        };
        let row = &self.rows[i];
        lock(&row.pace).finished(now, began);
        row.bar.inc(1);
        if row.bar.position() > row.bar.length().unwrap_or(0) {
            row.bar.set_length(row.bar.position());
        }
        if let Some(t) = &e.title {
            *lock(&row.note) = t.clone();
        }
        self.redraw(i);
    }

    /// A stage's word on the job it runs.
    pub fn progress(&self, stage: &str, message: &str) {
        let Some(i) = Self::row_of(stage) else {
            return;
        };
        let now = Instant::now();
        lock(&self.rows[i].pace).began(now);
        *lock(&self.last_activity) = now;
        *lock(&self.rows[i].note) = message.to_string();
        self.redraw(i);
    }

    /// `left` jobs of row `i` are still to run.
    fn set_left(&self, i: usize, left: u64) {
        let bar = &self.rows[i].bar;
        bar.set_length(bar.position() + left);
        self.redraw(i);
    }

    fn redraw(&self, i: usize) {
        let row = &self.rows[i];
        let left = row
            .bar
            .length()
            .unwrap_or(0)
            .saturating_sub(row.bar.position());
        let estimate = match (left, lock(&row.pace).estimate(left)) {
            (0, _) if row.bar.position() == 0 => "nothing to do".to_string(),
            (0, _) => "done".to_string(),
            (_, Some(d)) => time_left(d),
            (_, None) => match i {
                SPEECH | READING => "estimate after the first episode".to_string(),
                _ => String::new(),
            },
        };
        let note = lock(&row.note).clone();
        let msg = match (estimate.is_empty(), note.is_empty()) {
            (true, _) => note,
            (false, true) => estimate,
            (false, false) => format!("{estimate} · {note}"),
        };
        row.bar.set_message(msg);
    }

    /// Asks the store what is left for each row once a second until the returned task is
    /// aborted.
    pub fn follow(
        self: &Arc<Self>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> tokio::task::JoinHandle<()> {
        let board = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                for i in 0..board.rows.len() {
                    let kinds = board.rows[i].kinds;
                    match store.job_backlog(kinds, clock.now()).await {
                        Ok(b) => board.set_left(i, b.runnable + b.leased),
                        Err(e) => tracing::debug!("progress: {e}"),
                    }
                }
            }
        })
    }

    /// Says `message` on a line under the rows.
    pub fn say(&self, message: String) {
        let mut line = lock(&self.line);
        let bar = line.get_or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        bar.set_message(message);
    }

    /// One line per row, for the end of a pass and for tests: "reading 3/5 …".
    pub fn summary(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|r| {
                format!(
                    "{} {}/{} {}",
                    r.label,
                    r.bar.position(),
                    r.bar.length().unwrap_or(0),
                    r.bar.message()
                )
            })
            .collect()
    }

    pub fn finish(&self) {
        for r in &self.rows {
            r.bar.finish_and_clear();
        }
        if let Some(line) = lock(&self.line).as_ref() {
            line.finish_and_clear();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use podsift_core::JobOutcome;
    use podsift_core::stage::Produced;

    fn event(stage: &'static str, title: Option<&str>) -> JobEvent {
        JobEvent {
            stage,
            job_id: None,
            episode_id: Some(1),
            title: title.map(str::to_string),
            outcome: JobOutcome::Done,
            detail: String::new(),
            produced: Produced::Nothing,
        }
    }

    #[test]
    fn pace_estimates_from_the_jobs_finished_so_far() {
        let t0 = Instant::now();
        let mut p = Pace::default();
        assert_eq!(p.estimate(3), None, "no estimate before the first job");
        p.finished(t0 + Duration::from_secs(60), t0);
        p.finished(t0 + Duration::from_secs(120), t0 + Duration::from_secs(60));
        // Two jobs in 120 s: 60 s each, so 3 more take 180 s.
        assert_eq!(p.estimate(3), Some(Duration::from_secs(180)));
        assert_eq!(p.estimate(0), Some(Duration::ZERO));
    }

    #[test]
    fn a_progress_message_starts_the_clock_before_the_first_job_ends() {
        let t0 = Instant::now();
        let mut p = Pace::default();
        p.began(t0 + Duration::from_secs(10));
        // `began` from the job event is earlier, but the stage said it started at 10 s.
        p.finished(t0 + Duration::from_secs(40), t0);
        assert_eq!(p.estimate(2), Some(Duration::from_secs(60)));
    }

    #[test]
    fn time_left_reads_as_words() {
        assert_eq!(time_left(Duration::from_secs(20)), "under a minute left");
        assert_eq!(time_left(Duration::from_secs(61)), "about 2 min left");
        assert_eq!(
            time_left(Duration::from_secs(3600 + 600)),
            "about 1 h 10 min left"
        );
    }

    #[test]
    fn the_board_shows_done_left_and_an_estimate_per_stage() {
        let board = Board::with_target(ProgressDrawTarget::hidden());
        board.set_left(READING, 4);
        board.set_left(SPEECH, 0);
        let lines = board.summary();
        assert!(lines[READING].starts_with("reading 0/4 estimate after the first episode"));
        assert_eq!(lines[SPEECH], "speech-to-text 0/0 nothing to do");

        board.job(&event("extract", Some("Episode one")));
        board.set_left(READING, 3);
        let reading = &board.summary()[READING];
        assert!(reading.starts_with("reading 1/4 "), "{reading}");
        assert!(reading.contains(" left · Episode one"), "{reading}");

        board.progress("speech_to_text", "episode 7: 12/48 min");
        board.set_left(SPEECH, 1);
        let speech = &board.summary()[SPEECH];
        assert_eq!(
            speech,
            "speech-to-text 0/1 estimate after the first episode · episode 7: 12/48 min"
        );

        board.job(&event("fetch", None));
        board.set_left(TRANSCRIPTS, 0);
        assert_eq!(board.summary()[TRANSCRIPTS], "transcripts 1/1 done");
        board.say("2 job(s) held by another podsift process".to_string());
        assert_eq!(
            lock(&board.line).as_ref().map(|l| l.message()).as_deref(),
            Some("2 job(s) held by another podsift process")
        );
        // Events of stages the board has no row for are ignored.
        board.job(&event("subscribe", None));
        assert_eq!(board.summary().len(), 3);
    }
}
