//! Speech-to-text wiring: the engine from `[asr]` (models downloaded on first use with a
//! progress bar), `podsift transcribe` and `podsift models`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use podsift_asr::audio::AudioOptions;
use podsift_asr::models::{self, CatalogEntry};
use podsift_asr::remote::{RemoteEngine, RemoteOptions};
use podsift_asr::stage::AsrSummary;
use podsift_asr::whisper::{WhisperEngine, WhisperOptions};
use podsift_asr::{AsrSettings, AsrStage, Progress, SpeechToText};
use podsift_core::config::AsrConfig;
use podsift_core::{JobKind, JobState, NewJob, SystemClock};
use serde::Serialize;

use crate::app::App;
use crate::output::{download_bar, print_json, progress, table};

pub fn enabled(cfg: &AsrConfig) -> bool {
    cfg.engine != "off"
}

fn models_dir(app: &App) -> PathBuf {
    app.data_dir.join("models")
}

async fn fetch_model(app: &App, entry: &CatalogEntry) -> Result<PathBuf> {
    let bar = download_bar(&format!("downloading {}", entry.file), app.quiet);
    let progress = crate::output::bytes_progress(&bar);
    let path = models::ensure(entry, &models_dir(app), &progress).await?;
    bar.finish_and_clear();
    Ok(path)
}

/// The configured engine, loading (and on first use downloading) its models.
pub async fn build_engine(app: &App) -> Result<Arc<dyn SpeechToText>> {
    let cfg = &app.config.asr;
    match cfg.engine.as_str() {
        "local" => {
            let (model, name) = match &cfg.model_path {
                Some(p) => (
                    p.clone(),
                    p.file_stem()
                        .map(|s| s.to_string_lossy().trim_start_matches("ggml-").to_string())
                        .unwrap_or_else(|| cfg.model.clone()),
                ),
                None => {
                    let entry = models::find(&cfg.model).with_context(|| {
                        format!(
                            "unknown speech model {:?} (see `podsift models list`)",
                            cfg.model
                        )
                    })?;
                    (fetch_model(app, entry).await?, entry.name.to_string())
                }
            };
            let vad_model = match (cfg.vad, &cfg.vad_model_path) {
                (false, _) => None,
                (true, Some(p)) => Some(p.clone()),
                (true, None) => Some(fetch_model(app, &models::VAD_MODEL).await?),
            };
            let opts = WhisperOptions {
                model_name: name,
                threads: cfg.threads,
                vad_model,
            };
            let engine = tokio::task::spawn_blocking(move || WhisperEngine::load(&model, opts))
                .await
                .context("loading the speech model")??;
            Ok(Arc::new(engine))
        }
        "remote" => {
            let Some(base_url) = cfg.remote_base_url.clone() else {
                bail!("[asr] engine = \"remote\" needs remote_base_url");
            };
            let api_key = std::env::var(&cfg.remote_api_key_env)
                .ok()
                .filter(|k| !k.is_empty());
            Ok(Arc::new(RemoteEngine::new(RemoteOptions {
                base_url,
                model: cfg.remote_model.clone(),
                api_key,
                timeout: Duration::from_secs(cfg.remote_timeout_secs.max(1)),
                max_upload_bytes: cfg.remote_max_upload_bytes,
            })?))
        }
        other => bail!("unknown [asr] engine {other:?} (local, remote or off)"),
    }
}

pub(crate) fn settings(app: &App) -> AsrSettings {
    let cfg = &app.config.asr;
    AsrSettings {
        audio_dir: app.data_dir.join("audio"),
        max_audio_bytes: cfg.max_audio_bytes,
        keep_audio: cfg.keep_audio,
        stall_timeout: Duration::from_secs(cfg.stall_timeout_secs.max(1)),
        chunk_secs: cfg.chunk_secs,
        default_language: Some(cfg.language.clone()).filter(|l| l != "auto"),
        audio: AudioOptions::detect(),
        ..AsrSettings::default()
    }
}

/// Queued `transcribe` jobs that may run now.
async fn pending(app: &App) -> Result<usize> {
    let now = chrono::Utc::now();
    Ok(app
        .store
        .list_jobs(Some(JobState::Queued), 10_000)
        .await?
        .iter()
        .filter(|j| j.kind == JobKind::Transcribe && j.run_after <= now)
        .count())
}

/// Run the queued transcriptions (building the engine only when there is work).
pub async fn run_pending(app: &App, errors: &mut Vec<String>) -> Result<AsrSummary> {
    if !enabled(&app.config.asr) {
        return Ok(AsrSummary::default());
    }
    let count = pending(app).await?;
    if count == 0 {
        return Ok(AsrSummary::default());
    }
    let engine = build_engine(app).await?;
    let stage = AsrStage::new(
        app.store.clone(),
        app.downloader.clone(),
        engine,
        Arc::new(SystemClock),
        settings(app),
    );
    let bar = progress(count as u64, "speech-to-text", app.quiet);
    let show = {
        let bar = bar.clone();
        move |episode: i64, p: Progress| match p {
            Progress::Downloading { bytes, .. } => bar.set_message(format!(
                "episode {episode}: downloading {} MB",
                bytes / 1_000_000
            )),
            Progress::Transcribing {
                done_secs,
                total_secs,
            } => bar.set_message(match total_secs {
                Some(t) => format!(
                    "episode {episode}: {:.0}/{:.0} min",
                    done_secs / 60.0,
                    t / 60.0
                ),
                None => format!("episode {episode}: {:.0} min", done_secs / 60.0),
            }),
        }
    };
    let summary = stage
        .run_jobs("cli", &show, |r| {
            bar.inc(1);
            if r.state != "done" {
                errors.push(format!(
                    "speech-to-text for episode {}: {} ({})",
                    r.episode_id.unwrap_or_default(),
                    r.detail,
                    if r.state == "dead" {
                        "gave up; `podsift jobs --retry`"
                    } else {
                        "will retry"
                    }
                ));
            }
        })
        .await?;
    bar.finish_and_clear();
    Ok(summary)
}

#[derive(Serialize)]
struct TranscribeJson {
    queued: usize,
    summary: AsrSummary,
    errors: Vec<String>,
}

/// `podsift transcribe [EPISODE...]`: queue the given episodes (or none) and run every queued
/// transcription now.
pub async fn transcribe(app: &App, episodes: Vec<i64>, force: bool, json: bool) -> Result<()> {
    if !enabled(&app.config.asr) {
        bail!("speech-to-text is off ([asr] engine = \"off\")");
    }
    let now = chrono::Utc::now();
    let mut queued = 0;
    for id in &episodes {
        let ep = app
            .store
            .get_episode(*id)
            .await?
            .with_context(|| format!("no episode {id} (see `podsift episodes`)"))?;
        if ep.data.enclosure.is_none() {
            bail!("episode {id} has no audio enclosure");
        }
        if ep.segment_count > 0 && !force {
            bail!(
                "episode {id} already has a transcript ({}); pass --force to transcribe it anyway",
                ep.transcript_source.unwrap_or_default()
            );
        }
        let job = NewJob::for_episode(JobKind::Transcribe, *id, now);
        queued += usize::from(app.store.enqueue(&job, now).await?.is_some());
    }
    let mut errors = Vec::new();
    let summary = run_pending(app, &mut errors).await?;
    if json {
        return print_json(&TranscribeJson {
            queued,
            summary,
            errors,
        });
    }
    for e in &errors {
        eprintln!("warning: {e}");
    }
    println!(
        "{} transcribed ({:.0} min of audio), {} will retry, {} gave up",
        summary.done,
        summary.audio_secs / 60.0,
        summary.retrying,
        summary.dead
    );
    Ok(())
}

#[derive(Serialize)]
struct ModelRow {
    #[serde(flatten)]
    entry: CatalogEntry,
    downloaded: bool,
    path: String,
    default: bool,
}

pub async fn models(app: &App, action: crate::ModelsAction) -> Result<()> {
    match action {
        crate::ModelsAction::List { json } => {
            let dir = models_dir(app);
            let rows: Vec<ModelRow> = models::CATALOG
                .iter()
                .chain(std::iter::once(&models::VAD_MODEL))
                .map(|e| {
                    let path = models::cache_path(e, &dir);
                    ModelRow {
                        entry: *e,
                        downloaded: path.is_file(),
                        path: path.display().to_string(),
                        default: e.name == models::DEFAULT_MODEL,
                    }
                })
                .collect();
            if json {
                return print_json(&rows);
            }
            let table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        format!("{}{}", r.entry.name, if r.default { " *" } else { "" }),
                        format!("{} MB", r.entry.size_mb),
                        if r.entry.english_only { "en" } else { "multi" }.into(),
                        if r.downloaded { "yes" } else { "-" }.into(),
                        r.entry.note.into(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["NAME", "SIZE", "LANG", "DOWNLOADED", "NOTE"], &table_rows)
            );
            println!("* default ([asr] model); models live in {}", dir.display());
            Ok(())
        }
        crate::ModelsAction::Fetch { name } => {
            let entry = models::find(&name)
                .with_context(|| format!("unknown model {name:?} (see `podsift models list`)"))?;
            let path = fetch_model(app, entry).await?;
            println!("{}", path.display());
            Ok(())
        }
        crate::ModelsAction::Path { name } => {
            let entry = models::find(&name)
                .with_context(|| format!("unknown model {name:?} (see `podsift models list`)"))?;
            let path = models::cache_path(entry, &models_dir(app));
            if !path.is_file() {
                bail!(
                    "{name} is not downloaded yet (`podsift models fetch {name}`); it would live at {}",
                    path.display()
                );
            }
            println!("{}", path.display());
            Ok(())
        }
    }
}
