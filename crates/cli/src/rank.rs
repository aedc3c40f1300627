//! `podsift rank`: rank a JSONL file of candidate insights with the embeddings engine, and
//! the embedder wiring shared with the daily digest (`[ranking]`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use podsift_core::config::RankingEngine;
use podsift_ranking::{Embedder, MiniLmEmbedder, Profile};

use crate::app::App;
use crate::output::{download_bar, print_json};

/// The embedding model: `[ranking] model_dir`, else all-MiniLM-L6-v2 downloaded
/// (resumable, sha256-checked) into DATA_DIR/models on first use.
pub async fn model_dir(app: &App) -> Result<PathBuf> {
    if let Some(dir) = &app.config.ranking.model_dir {
        return Ok(dir.clone());
    }
    let bar = download_bar("downloading the embedding model", app.quiet);
    let progress = {
        let bar = bar.clone();
        move |name: &str, done: u64, total: Option<u64>| {
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_message(format!("downloading {name}"));
            bar.set_position(done);
        }
    };
    let dir = podsift_ranking::ensure_model(&app.data_dir.join("models"), &progress)
        .await
        .context("cannot download the embedding model (set [ranking] model_dir to a local copy)")?;
    bar.finish_and_clear();
    Ok(dir)
}

/// Loads the embedder (off the async threads: it reads 90 MB of weights).
pub async fn embedder(app: &App) -> Result<Arc<dyn Embedder>> {
    let dir = model_dir(app).await?;
    let shown = dir.display().to_string();
    let model = tokio::task::spawn_blocking(move || MiniLmEmbedder::load(&dir))
        .await
        .context("loading the embedding model")?
        .with_context(|| format!("cannot load the embedding model from {shown}"))?;
    Ok(Arc::new(model))
}

/// The digest's ranking per `[ranking] engine`: with the embedding model, or words only
/// (`simple`). A model that cannot be downloaded is not worth a missing digest: the words-only
/// ranking runs instead and `errors` says why.
pub async fn ranker(
    app: &App,
    errors: &mut Vec<String>,
) -> Result<Option<podsift_pipeline::Ranker>> {
    let cfg = app.config.ranking.clone();
    Ok(Some(match app.config.ranking.engine {
        RankingEngine::Simple => podsift_pipeline::Ranker::words_only(cfg),
        RankingEngine::Embeddings => match embedder(app).await {
            Ok(e) => podsift_pipeline::Ranker::new(e, cfg),
            Err(e) => {
                errors.push(format!(
                    "ranking: {e:#}; the digest was ranked without the embedding model (words only)"
                ));
                podsift_pipeline::Ranker::words_only(cfg)
            }
        },
    }))
}

/// `podsift lint FILE.jsonl`: the register check, line by line; exit 1 when a line fails.
pub fn lint(path: &Path, json: bool) -> Result<()> {
    let text = read(path, "input")?;
    let report = podsift_ranking::lint_jsonl(&text, &path.display().to_string())?;
    if json {
        print_json(&report)?;
    } else {
        print!("{}", podsift_ranking::render_lint(&report));
    }
    if report.failed > 0 {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::exit(1);
    }
    Ok(())
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))
}

pub async fn rank(
    app: &App,
    input: PathBuf,
    top: usize,
    explain: bool,
    history: Option<PathBuf>,
    json: bool,
) -> Result<()> {
    let candidates = read(&input, "input")?;
    let history = history.map(|h| read(&h, "history")).transpose()?;
    let embedder = match app.config.ranking.engine {
        RankingEngine::Embeddings => Some(embedder(app).await?),
        RankingEngine::Simple => None,
    };
    let config = podsift_pipeline::rank_config(&app.config.ranking, top);
    let interests = app.config.ranking.interests.clone();
    let user = app.user().await?;
    let since = chrono::Utc::now() - chrono::Duration::days(app.config.ranking.history_days.max(0));
    let feedback = app
        .store
        .list_feedback(user, since)
        .await
        .context("cannot read the stored feedback")?;
    let report = tokio::task::spawn_blocking(move || {
        let embedder = embedder.as_deref();
        let mut profile = Profile {
            interests: podsift_ranking::embed_interests(embedder, &interests)?,
            ..Profile::default()
        };
        podsift_pipeline::apply_feedback(embedder, &mut profile, &feedback)?;
        podsift_ranking::rank_jsonl(
            &candidates,
            history.as_deref(),
            embedder,
            &profile,
            &config,
            chrono::Utc::now(),
        )
    })
    .await
    .context("ranking")??;
    if json {
        print_json(&report)?;
    } else {
        print!("{}", podsift_ranking::render_text(&report, explain));
    }
    Ok(())
}

/// `podsift feedback INSIGHT up|down`: the same vote a digest's 👍/👎 link records.
pub async fn feedback(app: &App, insight: i64, vote: &str) -> Result<()> {
    let Some(vote) = podsift_digest::FeedbackVote::parse(vote) else {
        bail!("the vote is `up` or `down`, not {vote:?}");
    };
    let user = app.user().await?;
    match app
        .store
        .record_feedback(user, insight, vote.sign(), chrono::Utc::now())
        .await
    {
        Ok(()) => {
            println!(
                "Recorded {} for insight {insight}; the next digests lean {} it.",
                if vote.sign() > 0 { "👍" } else { "👎" },
                if vote.sign() > 0 {
                    "toward"
                } else {
                    "away from"
                }
            );
            Ok(())
        }
        Err(podsift_core::StoreError::NotFound(_)) => {
            bail!("no insight {insight} (see `podsift digest --format json` for ids)")
        }
        Err(e) => Err(e).context("cannot record the feedback"),
    }
}
