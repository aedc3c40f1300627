//! Transcript and chapter jobs, and feeds users add on the web: claimed from the store's
//! queue with a lease, so any worker can run them and a crash only delays them.

use podsift_core::jobs::{FailureKind, Fence};
use podsift_core::{
    EpisodeId, FeedKey, FetchRequest, Job, JobKind, JobOutcome, Transcript, TranscriptRef,
    TranscriptSource,
};
use serde::Serialize;

use crate::{PollError, Poller};

/// The job kinds this stage runs.
pub const POLLER_JOBS: &[JobKind] = &[
    JobKind::FetchTranscript,
    JobKind::FetchChapters,
    JobKind::Subscribe,
];

/// What one job did.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub job_id: i64,
    pub kind: &'static str,
    pub episode_id: Option<i64>,
    pub state: JobOutcome,
    pub detail: String,
    /// The segments of the transcript it stored (transcript jobs that succeeded).
    pub segments: Option<usize>,
    /// The subscription it made (subscribe jobs that succeeded).
    pub subscribed: Option<crate::SubscribeReport>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct JobsSummary {
    pub done: usize,
    pub retrying: usize,
    pub dead: usize,
    pub transcripts: usize,
    pub segments: usize,
}

impl JobsSummary {
    /// Counts one job's report.
    pub fn add(&mut self, report: &JobReport) {
        match report.state {
            JobOutcome::Done => self.done += 1,
            JobOutcome::Dead => self.dead += 1,
            JobOutcome::Retrying => self.retrying += 1,
        }
        if let Some(segments) = report.segments {
            self.transcripts += 1;
            self.segments += segments;
        }
    }
}

/// What a successful job produced.
enum Produced {
    Transcript {
        segments: usize,
        skipped: usize,
        url: String,
    },
    Chapters {
        count: usize,
    },
    Subscribed(crate::SubscribeReport),
}

impl Poller {
    /// Run queued transcript, chapter and subscribe jobs until none is runnable, `workers`
    /// at a time.
    pub async fn run_jobs(
        &self,
        worker_id: &str,
        workers: usize,
        on_job: impl FnMut(&JobReport),
    ) -> Result<JobsSummary, PollError> {
        self.run_jobs_of(POLLER_JOBS, worker_id, workers, on_job)
            .await
    }

    /// Run queued jobs of `kinds` (some of [`POLLER_JOBS`]) until none is runnable.
    pub async fn run_jobs_of(
        &self,
        kinds: &[JobKind],
        worker_id: &str,
        workers: usize,
        mut on_job: impl FnMut(&JobReport),
    ) -> Result<JobsSummary, PollError> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let loops: Vec<_> = (0..workers.max(1))
            .map(|i| {
                let tx = tx.clone();
                let name = format!("{worker_id}/{i}");
                async move {
                    loop {
                        match self.run_one(kinds, &name).await {
                            Ok(Some(report)) => {
                                let _ = tx.send(Ok(report));
                            }
                            Ok(None) => break,
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                break;
                            }
                        }
                    }
                }
            })
            .collect();
        drop(tx);
        let all = futures::future::join_all(loops);
        let mut summary = JobsSummary::default();
        let mut first_err = None;
        let collect = async {
            while let Some(msg) = rx.recv().await {
                match msg {
                    Ok(report) => {
                        summary.add(&report);
                        on_job(&report);
                    }
                    Err(e) => {
                        first_err.get_or_insert(e);
                    }
                }
            }
        };
        tokio::join!(all, collect);
        match first_err {
            Some(e) => Err(e),
            None => Ok(summary),
        }
    }

    /// Claim and run one job. `Ok(None)` when nothing is runnable.
    async fn run_one(
        &self,
        kinds: &[JobKind],
        worker: &str,
    ) -> Result<Option<JobReport>, PollError> {
        let now = self.clock.now();
        let Some(job) = self
            .store
            .claim(kinds, worker, self.settings.job_lease, now)
            .await?
        else {
            return Ok(None);
        };
        // Renewed while the download runs: a killed worker's job is taken over soon.
        let keeper = podsift_core::LeaseKeeper::start(
            self.store.clone(),
            self.clock.clone(),
            job.id,
            worker,
            self.settings.job_lease,
        );
        let result = self.execute(&job, worker).await;
        drop(keeper);
        let now = self.clock.now();
        let (state, detail, produced) = match result {
            Ok(p) => {
                let detail = match &p {
                    Produced::Transcript {
                        segments,
                        skipped,
                        url,
                    } => {
                        format!("{segments} segments ({skipped} malformed cues skipped) from {url}")
                    }
                    Produced::Chapters { count } => format!("{count} chapters"),
                    Produced::Subscribed(r) => format!(
                        "subscribed to {} ({} episodes)",
                        r.title.as_deref().unwrap_or(&r.url),
                        r.episodes.inserted + r.episodes.unchanged + r.episodes.updated
                    ),
                };
                self.store.complete(job.id, worker, now).await?;
                (JobOutcome::Done, detail, Some(p))
            }
            Err(err) => {
                let kind = if err.is_retryable() {
                    FailureKind::Retryable
                } else {
                    FailureKind::Permanent
                };
                let backoff = podsift_core::jobs::job_backoff(job.attempts, err.retry_after());
                let state = self
                    .store
                    .fail(job.id, worker, &err.to_string(), kind, backoff, now)
                    .await?;
                tracing::warn!(job = job.id, kind = job.kind.as_str(), "job failed: {err}");
                (JobOutcome::after_failure(state), err.to_string(), None)
            }
        };
        let (segments, subscribed) = match produced {
            Some(Produced::Transcript { segments, .. }) => (Some(segments), None),
            Some(Produced::Subscribed(r)) => (None, Some(r)),
            _ => (None, None),
        };
        Ok(Some(JobReport {
            job_id: job.id,
            kind: job.kind.as_str(),
            episode_id: job.episode_id(),
            state,
            detail,
            segments,
            subscribed,
        }))
    }

    async fn execute(&self, job: &Job, worker: &str) -> Result<Produced, PollError> {
        if job.kind == JobKind::Subscribe {
            let (user, url) = job.subscription().ok_or_else(|| {
                PollError::Missing(format!("job {} names no user and URL", job.id))
            })?;
            return self.subscribe(user, url).await.map(Produced::Subscribed);
        }
        let fence = job.fence(worker);
        let episode = job
            .episode_id()
            .ok_or_else(|| PollError::Missing(format!("job {} has no episode id", job.id)))?;
        match job.kind {
            JobKind::FetchTranscript => {
                let result = self.fetch_transcript(episode, &fence).await;
                if let Err(e) = &result {
                    self.fall_back_to_speech(job, episode, e).await?;
                }
                result
            }
            JobKind::FetchChapters => self.fetch_chapters(episode, &fence).await,
            other => Err(PollError::Missing(format!(
                "job kind {} is not run by the poller",
                other.as_str()
            ))),
        }
    }

    /// When the publisher's transcripts are gone for good (a permanent error, or the last
    /// attempt failed), queue speech-to-text instead, so the episode is not lost.
    async fn fall_back_to_speech(
        &self,
        job: &Job,
        episode_id: EpisodeId,
        err: &PollError,
    ) -> Result<(), PollError> {
        let last_attempt = job.attempts >= job.max_attempts;
        if !self.settings.transcribe_missing || (err.is_retryable() && !last_attempt) {
            return Ok(());
        }
        let has_audio = self
            .store
            .get_episode(episode_id)
            .await?
            .is_some_and(|e| e.data.enclosure.is_some());
        if has_audio {
            let now = self.clock.now();
            let job = podsift_core::NewJob::for_episode(JobKind::Transcribe, episode_id, now);
            if self.store.enqueue(&job, now).await?.is_some() {
                tracing::info!(
                    episode = episode_id,
                    "publisher transcript unusable ({err}); queued speech-to-text"
                );
            }
        }
        Ok(())
    }

    /// Download the best transcript the publisher offers; fall back to the next offer when one
    /// is broken. Retryable when any offer failed for a retryable reason.
    async fn fetch_transcript(
        &self,
        episode_id: EpisodeId,
        fence: &Fence,
    ) -> Result<Produced, PollError> {
        let episode =
            self.store.get_episode(episode_id).await?.ok_or_else(|| {
                PollError::Missing(format!("episode {episode_id} no longer exists"))
            })?;
        let language = self
            .store
            .find_feed(&FeedKey::Id(episode.feed_id))
            .await?
            .and_then(|f| f.language);
        let mut remaining: Vec<TranscriptRef> = episode.data.transcripts.clone();
        let mut last_err = PollError::Missing(format!("episode {episode_id} offers no transcript"));
        let mut retryable_err = None;
        while let Some(offer) =
            podsift_transcripts::best_offer(&remaining, language.as_deref()).cloned()
        {
            remaining.retain(|o| o != &offer);
            match self.fetch_one_transcript(episode_id, &offer, fence).await {
                Ok(p) => return Ok(p),
                // The job passed to another worker: no other offer is tried either.
                Err(e @ PollError::Store(podsift_core::StoreError::LeaseLost(_))) => return Err(e),
                Err(e) => {
                    tracing::info!(episode = episode_id, "transcript offer failed: {e}");
                    if e.is_retryable() {
                        retryable_err = Some(e);
                    } else {
                        last_err = e;
                    }
                }
            }
        }
        Err(retryable_err.unwrap_or(last_err))
    }

    async fn fetch_one_transcript(
        &self,
        episode_id: EpisodeId,
        offer: &TranscriptRef,
        fence: &Fence,
    ) -> Result<Produced, PollError> {
        let resp = self
            .fetcher
            .fetch(FetchRequest::get(
                &offer.url,
                self.settings.max_transcript_bytes,
            ))
            .await?;
        let mime = offer.mime_type.as_deref().or(resp.content_type.as_deref());
        let format = podsift_transcripts::detect_format(mime, &resp.final_url, &resp.body)
            .ok_or_else(|| PollError::Transcript {
                url: offer.url.clone(),
                reason: "unrecognised transcript format".into(),
            })?;
        let parsed = podsift_transcripts::parse_transcript(&resp.body, format).map_err(|e| {
            PollError::Transcript {
                url: offer.url.clone(),
                reason: e.to_string(),
            }
        })?;
        let skipped = parsed.skipped;
        let segments = podsift_transcripts::normalise(parsed.segments);
        if segments.is_empty() {
            return Err(PollError::Transcript {
                url: offer.url.clone(),
                reason: format!("no usable text ({skipped} malformed cues skipped)"),
            });
        }
        let count = segments.len();
        self.store
            .save_transcript(
                &Transcript {
                    episode_id,
                    source: TranscriptSource::Publisher {
                        url: offer.url.clone(),
                        format,
                    },
                    language: offer.language.clone().or(parsed.language),
                    segments,
                    skipped,
                    created_at: self.clock.now(),
                },
                Some(fence),
            )
            .await?;
        Ok(Produced::Transcript {
            segments: count,
            skipped,
            url: offer.url.clone(),
        })
    }

    async fn fetch_chapters(
        &self,
        episode_id: EpisodeId,
        fence: &Fence,
    ) -> Result<Produced, PollError> {
        let episode =
            self.store.get_episode(episode_id).await?.ok_or_else(|| {
                PollError::Missing(format!("episode {episode_id} no longer exists"))
            })?;
        let Some(chapters) = episode.data.chapters else {
            return Err(PollError::Missing(format!(
                "episode {episode_id} offers no chapters"
            )));
        };
        let resp = self
            .fetcher
            .fetch(FetchRequest::get(
                &chapters.url,
                self.settings.max_transcript_bytes,
            ))
            .await?;
        let parsed =
            podsift_transcripts::parse_chapters(&resp.body).map_err(|e| PollError::Chapters {
                url: chapters.url.clone(),
                reason: e.to_string(),
            })?;
        self.store
            .save_chapters(episode_id, &parsed, Some(fence), self.clock.now())
            .await?;
        Ok(Produced::Chapters {
            count: parsed.len(),
        })
    }
}
