//! The speech-to-text stage: an episode's enclosure → download → streaming decode → pieces
//! cut at pauses → the engine → one transcript in episode time, stored like a publisher's.
//! Runs as `transcribe` jobs with a lease and heartbeats; every failure is per episode.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use podsift_core::jobs::{FailureKind, JobKind, JobOutcome, job_backoff};
use podsift_core::{
    Clock, DownloadRequest, Downloader, EpisodeId, FeedKey, Segment, Store, Transcript,
};
use serde::Serialize;

use crate::audio::{AudioOptions, SAMPLE_RATE};
use crate::chunk::Chunker;
use crate::engine::{DecodeOptions, SpeechToText};
use crate::error::AsrError;

/// The job kinds this stage runs.
pub const ASR_JOBS: &[JobKind] = &[JobKind::Transcribe];

#[derive(Debug, Clone)]
pub struct AsrSettings {
    /// Where audio is downloaded (`DATA_DIR/audio`).
    pub audio_dir: PathBuf,
    pub max_audio_bytes: u64,
    pub keep_audio: bool,
    pub stall_timeout: Duration,
    /// Slowest average download accepted (bytes a second, 0: none).
    pub min_download_rate: u64,
    pub chunk_secs: u32,
    /// Longest episode transcribed, in seconds (`[asr] max_episode_minutes`); none: no limit.
    pub max_audio_secs: Option<f64>,
    /// Seconds of audio one user's shows may use per UTC day
    /// (`[asr] max_audio_hours_per_user_per_day`); none: no limit.
    pub audio_secs_per_user_day: Option<f64>,
    /// Used when the feed does not name its language; `None`: detect.
    pub default_language: Option<String>,
    pub audio: AudioOptions,
    pub job_lease: Duration,
}

impl Default for AsrSettings {
    fn default() -> Self {
        Self {
            audio_dir: PathBuf::from("audio"),
            max_audio_bytes: 1 << 30,
            keep_audio: false,
            stall_timeout: Duration::from_secs(60),
            min_download_rate: 16 * 1024,
            chunk_secs: 300,
            max_audio_secs: Some(4.0 * 3600.0),
            audio_secs_per_user_day: None,
            default_language: Some("en".into()),
            audio: AudioOptions::detect(),
            job_lease: Duration::from_secs(300),
        }
    }
}

/// Progress of one episode, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Progress {
    Downloading {
        bytes: u64,
        total: Option<u64>,
    },
    /// Seconds of audio transcribed so far, of the episode's announced duration if known.
    Transcribing {
        done_secs: f64,
        total_secs: Option<f64>,
    },
}

/// What transcribing one episode produced.
#[derive(Debug, Clone, Serialize)]
pub struct Transcribed {
    pub episode_id: EpisodeId,
    pub segments: usize,
    pub audio_secs: f64,
    pub wall_secs: f64,
    pub language: Option<String>,
    pub source: String,
    pub decoder: String,
}

/// What one job did.
#[derive(Debug, Clone, Serialize)]
pub struct AsrJobReport {
    pub job_id: i64,
    pub episode_id: Option<i64>,
    pub state: JobOutcome,
    pub detail: String,
    /// Seconds of audio transcribed (jobs that succeeded).
    pub audio_secs: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AsrSummary {
    pub done: usize,
    pub retrying: usize,
    pub dead: usize,
    pub audio_secs: f64,
}

pub struct AsrStage {
    store: Arc<dyn Store>,
    downloader: Arc<dyn Downloader>,
    engine: Arc<dyn SpeechToText>,
    clock: Arc<dyn Clock>,
    settings: AsrSettings,
}

/// The last words of what was said, to carry context into the next piece.
fn tail_words(text: &str, n: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    words[words.len().saturating_sub(n)..].join(" ")
}

/// A file extension for the download, from the URL path or the MIME type (decoders use it as
/// a hint).
fn audio_extension(url: &str, mime: Option<&str>) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    for ext in [
        "mp3", "m4a", "mp4", "aac", "ogg", "oga", "opus", "flac", "wav", "webm",
    ] {
        if path.ends_with(&format!(".{ext}")) {
            return match ext {
                "mp3" => "mp3",
                "m4a" | "mp4" => "m4a",
                "aac" => "aac",
                "ogg" | "oga" => "ogg",
                "opus" => "opus",
                "flac" => "flac",
                "wav" => "wav",
                _ => "webm",
            };
        }
    }
    match mime.unwrap_or_default().to_ascii_lowercase().as_str() {
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/x-m4a" | "audio/aac" => "m4a",
        "audio/ogg" | "audio/vorbis" => "ogg",
        "audio/opus" => "opus",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        _ => "audio",
    }
}

impl AsrStage {
    pub fn new(
        store: Arc<dyn Store>,
        downloader: Arc<dyn Downloader>,
        engine: Arc<dyn SpeechToText>,
        clock: Arc<dyn Clock>,
        settings: AsrSettings,
    ) -> Self {
        Self {
            store,
            downloader,
            engine,
            clock,
            settings,
        }
    }

    /// The initial prompt: the show, its author, the episode's title and its people, so names
    /// come out spelled the way the show spells them.
    fn prompt_for(
        &self,
        show: Option<&str>,
        author: Option<&str>,
        episode: &podsift_core::Episode,
    ) -> String {
        let mut parts = Vec::new();
        if let Some(show) = show.filter(|s| !s.trim().is_empty()) {
            parts.push(format!("{show}."));
        }
        if let Some(title) = episode
            .data
            .title
            .as_deref()
            .filter(|s| !s.trim().is_empty())
        {
            parts.push(format!("{title}."));
        }
        let mut names: Vec<String> = author.map(|a| a.trim().to_string()).into_iter().collect();
        names.extend(
            episode
                .data
                .persons
                .iter()
                .map(|p| p.name.trim().to_string()),
        );
        names.retain(|n| !n.is_empty());
        names.dedup();
        if !names.is_empty() {
            parts.push(format!("With {}.", names.join(", ")));
        }
        // whisper's prompt holds about 224 tokens; keep well under.
        let mut prompt = parts.join(" ");
        if prompt.len() > 600 {
            let cut = (0..=600)
                .rev()
                .find(|i| prompt.is_char_boundary(*i))
                .unwrap_or(0);
            prompt.truncate(cut);
        }
        prompt
    }

    /// Who pays for an episode's speech-to-text under `audio_secs_per_user_day`: the
    /// subscribers of its show with time left today (all of them share it). `Ok(Err(why))`
    /// when none has; no limit, or no subscriber: nobody is charged.
    async fn payers(
        &self,
        episode_id: EpisodeId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Result<Vec<podsift_core::UserId>, String>, AsrError> {
        let Some(cap) = self.settings.audio_secs_per_user_day else {
            return Ok(Ok(Vec::new()));
        };
        let Some(episode) = self.store.get_episode(episode_id).await? else {
            return Ok(Ok(Vec::new()));
        };
        let subscribers = self.store.feed_subscribers(episode.feed_id).await?;
        let day = now.date_naive();
        let mut payers = Vec::new();
        for user in &subscribers {
            if self.store.audio_seconds_used(*user, day).await? < cap {
                payers.push(*user);
            }
        }
        if payers.is_empty() && !subscribers.is_empty() {
            return Ok(Err(format!(
                "waiting for tomorrow (UTC): every subscriber of this show has used today's {:.1} h \
                 of speech-to-text ([asr] max_audio_hours_per_user_per_day)",
                cap / 3600.0
            )));
        }
        Ok(Ok(payers))
    }

    /// Counts `audio_secs` against the payers' day, shared equally.
    async fn charge(
        &self,
        payers: &[podsift_core::UserId],
        audio_secs: f64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), AsrError> {
        if payers.is_empty() {
            return Ok(());
        }
        let share = audio_secs / payers.len() as f64;
        for user in payers {
            self.store
                .add_audio_seconds(*user, now.date_naive(), share)
                .await?;
        }
        Ok(())
    }

    /// Refuses an episode longer than `max_audio_secs` (a little slack for rounding).
    fn check_length(&self, secs: Option<f64>, known_from: &'static str) -> Result<(), AsrError> {
        match (secs, self.settings.max_audio_secs) {
            (Some(secs), Some(limit)) if secs > limit + 1.0 => Err(AsrError::TooLong {
                secs,
                limit_secs: limit,
                known_from,
            }),
            _ => Ok(()),
        }
    }

    /// Download, decode and transcribe one episode, and store its transcript (with a fence,
    /// only while that claim still holds its job).
    pub async fn transcribe_episode(
        &self,
        episode_id: EpisodeId,
        fence: Option<&podsift_core::Fence>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<Transcribed, AsrError> {
        let started = Instant::now();
        let episode = self.store.get_episode(episode_id).await?.ok_or_else(|| {
            AsrError::Store(podsift_core::StoreError::NotFound(format!(
                "episode {episode_id}"
            )))
        })?;
        let enclosure = episode.data.enclosure.clone().ok_or(AsrError::NoAudio)?;
        // Too long by the feed's word: not even downloaded.
        self.check_length(episode.data.duration_seconds.map(f64::from), "by the feed")?;
        let feed = self.store.find_feed(&FeedKey::Id(episode.feed_id)).await?;
        let ext = audio_extension(&enclosure.url, enclosure.mime_type.as_deref());
        let path = self.settings.audio_dir.join(format!("{episode_id}.{ext}"));
        if !path.is_file() {
            self.downloader
                .download(
                    &DownloadRequest {
                        url: enclosure.url.clone(),
                        dest: path.clone(),
                        max_bytes: self.settings.max_audio_bytes,
                        stall_timeout: self.settings.stall_timeout,
                        min_bytes_per_sec: self.settings.min_download_rate,
                    },
                    &|bytes, total| progress(Progress::Downloading { bytes, total }),
                )
                .await?;
        }
        let result = self
            .transcribe_file(&path, &episode, feed.as_ref(), progress)
            .await;
        // A corrupt file is downloaded afresh next time; a good one is kept only on request.
        if !self.settings.keep_audio || result.is_err() {
            let _ = tokio::fs::remove_file(&path).await;
        }
        let (segments, language, audio_secs, decoder) = result?;
        let count = segments.len();
        let source = self.engine.source();
        self.store
            .save_transcript(
                &Transcript {
                    episode_id,
                    source: source.clone(),
                    language: language.clone(),
                    segments,
                    skipped: 0,
                    created_at: self.clock.now(),
                },
                fence,
            )
            .await?;
        Ok(Transcribed {
            episode_id,
            segments: count,
            audio_secs,
            wall_secs: started.elapsed().as_secs_f64(),
            language,
            source: source.label(),
            decoder,
        })
    }

    async fn transcribe_file(
        &self,
        path: &std::path::Path,
        episode: &podsift_core::Episode,
        feed: Option<&podsift_core::Feed>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(Vec<Segment>, Option<String>, f64, String), AsrError> {
        let source = {
            let path = path.to_path_buf();
            let opts = self.settings.audio.clone();
            tokio::task::spawn_blocking(move || crate::audio::open(&path, &opts))
                .await
                .map_err(|e| AsrError::Engine(format!("decoder thread: {e}")))??
        };
        let decoder = source.describe();
        self.check_length(source.announced_secs(), "by the audio file")?;
        let mut chunker = Some(Chunker::new(source, self.settings.chunk_secs));
        let feed_language = feed
            .and_then(|f| f.language.as_deref())
            .map(|l| l.split(['-', '_']).next().unwrap_or(l).to_ascii_lowercase())
            .filter(|l| l.len() == 2);
        let language = feed_language.or_else(|| self.settings.default_language.clone());
        let base_prompt = self.prompt_for(
            feed.and_then(|f| f.title.as_deref()),
            feed.and_then(|f| f.author.as_deref()),
            episode,
        );
        let total_secs = episode.data.duration_seconds.map(f64::from);
        let mut segments: Vec<Segment> = Vec::new();
        let mut detected = None;
        let mut previous_text = String::new();
        let mut audio_samples = 0u64;
        loop {
            let Some(mut c) = chunker.take() else { break };
            let (c, next) = tokio::task::spawn_blocking(move || {
                let next = c.next_chunk();
                (c, next)
            })
            .await
            .map_err(|e| AsrError::Engine(format!("decoder thread: {e}")))?;
            chunker = Some(c);
            let Some(piece) = next? else { break };
            audio_samples += piece.samples.len() as u64;
            let offset = piece.start_secs();
            let duration = piece.duration_secs();
            // Neither the feed nor the file said (or they said less): stop at the limit,
            // before this piece is transcribed.
            self.check_length(Some(offset + duration), "decoded so far")?;
            let mut prompt = base_prompt.clone();
            let tail = tail_words(&previous_text, 40);
            if !tail.is_empty() {
                prompt = format!("{prompt} {tail}").trim().to_string();
            }
            let opts = DecodeOptions {
                language: language.clone(),
                prompt: Some(prompt),
            };
            let recognised = self.engine.transcribe(piece.samples, &opts).await?;
            if detected.is_none() {
                detected = recognised.language.clone();
            }
            previous_text = recognised
                .segments
                .iter()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let floor = segments.last().map_or(0.0, |s| s.end);
            for seg in recognised.segments {
                // Clamp into this piece and keep times monotonic across pieces.
                let start = (offset + seg.start.clamp(0.0, duration)).max(floor);
                let end = (offset + seg.end.clamp(0.0, duration)).max(start);
                segments.push(Segment {
                    start,
                    end,
                    speaker: None,
                    text: seg.text,
                });
            }
            progress(Progress::Transcribing {
                done_secs: offset + duration,
                total_secs,
            });
        }
        let audio_secs = audio_samples as f64 / SAMPLE_RATE as f64;
        if audio_samples == 0 {
            return Err(AsrError::Corrupt("no audio could be decoded".into()));
        }
        if let Some(total) = total_secs
            && total > 60.0
            && audio_secs < total * 0.5
        {
            return Err(AsrError::Truncated(format!(
                "decoded {audio_secs:.0} s of the {total:.0} s the feed announces"
            )));
        }
        if segments.is_empty() {
            return Err(AsrError::NoSpeech { audio_secs });
        }
        Ok((segments, language.or(detected), audio_secs, decoder))
    }

    /// Run queued `transcribe` jobs one at a time (each uses every core) until none is
    /// runnable. The lease is extended while a long episode is transcribed.
    pub async fn run_jobs(
        &self,
        worker: &str,
        progress: &(dyn Fn(EpisodeId, Progress) + Send + Sync),
        mut on_job: impl FnMut(&AsrJobReport),
    ) -> Result<AsrSummary, AsrError> {
        let mut summary = AsrSummary::default();
        loop {
            let now = self.clock.now();
            let Some(job) = self
                .store
                .claim(ASR_JOBS, worker, self.settings.job_lease, now)
                .await?
            else {
                break;
            };
            let Some(episode_id) = job.episode_id() else {
                self.store
                    .fail(
                        job.id,
                        worker,
                        "job has no episode id",
                        FailureKind::Permanent,
                        Duration::ZERO,
                        now,
                    )
                    .await?;
                continue;
            };
            let payers = match self.payers(episode_id, now).await? {
                Ok(payers) => payers,
                Err(spent) => {
                    // Every subscriber of the show has used today's time: tomorrow.
                    let tomorrow = now.date_naive().succ_opt().unwrap_or(now.date_naive());
                    let wait = (tomorrow.and_time(chrono::NaiveTime::MIN).and_utc() - now)
                        .to_std()
                        .unwrap_or(Duration::from_secs(3600));
                    let state = self
                        .store
                        .fail(job.id, worker, &spent, FailureKind::Retryable, wait, now)
                        .await?;
                    let state = JobOutcome::after_failure(state);
                    match state {
                        JobOutcome::Dead => summary.dead += 1,
                        _ => summary.retrying += 1,
                    }
                    on_job(&AsrJobReport {
                        job_id: job.id,
                        episode_id: Some(episode_id),
                        state,
                        detail: spent,
                        audio_secs: 0.0,
                    });
                    continue;
                }
            };
            let keeper = podsift_core::LeaseKeeper::start(
                Arc::clone(&self.store),
                Arc::clone(&self.clock),
                job.id,
                worker,
                self.settings.job_lease,
            );
            let result = self
                .transcribe_episode(episode_id, Some(&job.fence(worker)), &|p| {
                    progress(episode_id, p)
                })
                .await;
            drop(keeper);
            let now = self.clock.now();
            let report = match result {
                Ok(done) => {
                    self.store.complete(job.id, worker, now).await?;
                    self.charge(&payers, done.audio_secs, now).await?;
                    summary.done += 1;
                    summary.audio_secs += done.audio_secs;
                    AsrJobReport {
                        job_id: job.id,
                        episode_id: Some(episode_id),
                        state: JobOutcome::Done,
                        audio_secs: done.audio_secs,
                        detail: format!(
                            "{} segments from {:.0} s of audio in {:.0} s ({}, {})",
                            done.segments,
                            done.audio_secs,
                            done.wall_secs,
                            done.source,
                            done.decoder
                        ),
                    }
                }
                Err(err) => {
                    let kind = if err.is_retryable() {
                        FailureKind::Retryable
                    } else {
                        FailureKind::Permanent
                    };
                    let backoff = job_backoff(job.attempts, err.retry_after());
                    let state = self
                        .store
                        .fail(job.id, worker, &err.to_string(), kind, backoff, now)
                        .await?;
                    tracing::warn!(
                        job = job.id,
                        episode = episode_id,
                        "transcription failed: {err}"
                    );
                    let state = JobOutcome::after_failure(state);
                    match state {
                        JobOutcome::Dead => summary.dead += 1,
                        _ => summary.retrying += 1,
                    }
                    AsrJobReport {
                        job_id: job.id,
                        episode_id: Some(episode_id),
                        state,
                        detail: err.to_string(),
                        audio_secs: 0.0,
                    }
                }
            };
            on_job(&report);
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_from_url_or_mime() {
        assert_eq!(audio_extension("https://x/ep.MP3?token=1", None), "mp3");
        assert_eq!(audio_extension("https://x/ep.m4a", None), "m4a");
        assert_eq!(
            audio_extension("https://x/stream", Some("audio/ogg")),
            "ogg"
        );
        assert_eq!(audio_extension("https://x/stream", None), "audio");
    }

    #[test]
    fn tail_keeps_last_words() {
        assert_eq!(tail_words("a b c d", 2), "c d");
        assert_eq!(tail_words("", 5), "");
    }
}
