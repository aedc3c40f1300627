//! Speech-to-text wiring: the engine from `[asr]` (models downloaded on first use with a
//! progress bar), `podsift transcribe` and `podsift models`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use podsift_asr::audio::AudioOptions;
use podsift_asr::models::{self, CatalogEntry};
use podsift_asr::remote::{RemoteEngine, RemoteOptions};
use podsift_asr::whisper::{WhisperEngine, WhisperOptions};
use podsift_asr::{AsrSettings, AsrStage, SpeechToText};
use podsift_core::config::AsrEngine;
use podsift_core::{JobKind, NewJob, SystemClock};
use podsift_pipeline::{SpeechTally, Stage, Tallying};
use serde::Serialize;

use crate::app::App;
use crate::output::{download_bar, print_json, progress, table};

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
    match cfg.engine {
        AsrEngine::Local => {
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
                lanes: cfg.lanes,
                flash_attention: cfg.flash_attention,
                dtw_times: cfg.dtw_times,
            };
            let engine = tokio::task::spawn_blocking(move || WhisperEngine::load(&model, opts))
                .await
                .context("loading the speech model")??;
            Ok(Arc::new(engine))
        }
        AsrEngine::Remote => {
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
        AsrEngine::Off => bail!("speech-to-text is off ([asr] engine = \"off\")"),
    }
}

/// The speech-to-text stage on `engine`, with `[asr]` and the pipeline's job lease.
pub(crate) fn stage(app: &App, engine: Arc<dyn SpeechToText>) -> AsrStage {
    AsrStage::new(
        app.store.clone(),
        app.fetcher.clone(),
        engine,
        Arc::new(SystemClock),
        settings(app),
    )
}

fn settings(app: &App) -> AsrSettings {
    let cfg = &app.config.asr;
    AsrSettings {
        audio_dir: app.data_dir.join("audio"),
        max_audio_bytes: cfg.max_audio_bytes,
        keep_audio: cfg.keep_audio,
        stall_timeout: Duration::from_secs(cfg.stall_timeout_secs.max(1)),
        min_download_rate: cfg.min_download_kib_per_sec.saturating_mul(1024),
        chunk_secs: cfg.chunk_secs,
        max_audio_secs: (cfg.max_episode_minutes > 0.0).then_some(cfg.max_episode_minutes * 60.0),
        audio_secs_per_user_day: (cfg.max_audio_hours_per_user_per_day > 0.0)
            .then_some(cfg.max_audio_hours_per_user_per_day * 3600.0),
        default_language: Some(cfg.language.clone()).filter(|l| l != "auto"),
        audio: AudioOptions::detect(),
        job_lease: app.config.service.job_lease(),
    }
}

/// Run the runnable transcriptions (building the engine only when there is work).
async fn run_pending(app: &App) -> Result<(SpeechTally, Vec<String>)> {
    let backlog = app
        .store
        .job_backlog(&[JobKind::Transcribe], chrono::Utc::now())
        .await?;
    if backlog.runnable == 0 {
        return Ok(Default::default());
    }
    let engine = build_engine(app).await?;
    let bar = progress(backlog.runnable, "speech-to-text", app.quiet);
    let events = {
        let (jobs, messages) = (bar.clone(), bar.clone());
        Tallying::new(
            move |_| jobs.inc(1),
            move |_, m| messages.set_message(m.to_string()),
        )
    };
    let worker = format!("{}/transcribe", podsift_service::default_worker_id());
    stage(app, engine).run(&worker, &events).await?;
    bar.finish_and_clear();
    let tally = events.into_tally();
    Ok((tally.speech_to_text, tally.errors))
}

#[derive(Serialize)]
struct TranscribeJson {
    queued: usize,
    summary: SpeechTally,
    errors: Vec<String>,
}

/// `podsift transcribe [EPISODE...]`: queue the given episodes (or none) and run every queued
/// transcription now.
pub async fn transcribe(app: &App, episodes: Vec<i64>, force: bool, json: bool) -> Result<()> {
    if app.config.asr.engine == AsrEngine::Off {
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
    let (summary, errors) = run_pending(app).await?;
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
                // Whisper rows as before, then the language models (`"kind": "llm"`).
                #[derive(Serialize)]
                #[serde(untagged)]
                enum Row {
                    Speech(ModelRow),
                    Llm(crate::models::LlmRow),
                }
                let llm = crate::models::app_rows(app).into_iter().map(Row::Llm);
                let all: Vec<Row> = rows.into_iter().map(Row::Speech).chain(llm).collect();
                return print_json(&all);
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
            println!(
                "* default ([asr] model): {}\nmodels live in {}",
                models::DEFAULT_WHY,
                dir.display()
            );
            println!();
            let llm = crate::models::app_rows(app);
            print!("{}", crate::models::render(&llm, &crate::llm::in_use(app)));
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
