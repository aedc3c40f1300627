//! One function per subcommand.

use anyhow::{Context, Result, bail};
use podsift_core::{FeedKey, JobState};
use podsift_feeds::opml::{self, OpmlOutline};
use podsift_poller::{PollOutcome, PollSummary};
use serde::Serialize;

use crate::app::App;
use crate::output::{ellipsize, print_json, progress, table};
use crate::{Cli, Command, JobStateArg, TranscriptFormatArg};

pub async fn run(cli: Cli) -> Result<()> {
    // Needs no data directory or database.
    if let Command::Lint { file, json } = &cli.command {
        return crate::rank::lint(file, *json);
    }
    // Opens what it checks itself, so an unreachable database is a line, not an error.
    if let Command::Doctor { json } = &cli.command {
        return crate::doctor::doctor(&cli, *json).await;
    }
    if cli.allow_private_networks && matches!(cli.command, Command::Serve { .. } | Command::Worker)
    {
        bail!(
            "--allow-private-networks turns the SSRF guard off for every user of the service; \
             list the hosts to let through in [http] allow_hosts instead"
        );
    }
    let app = App::new(&cli).await?;
    match cli.command {
        Command::Subscribe {
            mut urls,
            opml,
            search,
            pick,
            json,
        } => {
            if let Some(term) = search {
                match crate::subscribe::search(&app, &term, &pick, json).await? {
                    Some(chosen) => urls.extend(chosen),
                    None => return Ok(()),
                }
            }
            crate::subscribe::subscribe(&app, urls, opml, json).await
        }
        Command::Discover { term, limit, json } => {
            crate::discover::discover(&app, &term, limit, json).await
        }
        Command::Topics { action } => crate::discover::topics(&app, action).await,
        Command::Catalogue { action } => crate::discover::catalogue(&app, action).await,
        Command::Unsubscribe { feed } => unsubscribe(&app, &feed).await,
        Command::Feeds { json } => feeds(&app, json).await,
        Command::Episodes { feed, limit, json } => episodes(&app, feed, limit, json).await,
        Command::Transcript { episode, format } => transcript(&app, episode, format).await,
        Command::Poll { all, json } => poll(&app, all, json).await,
        Command::ExportOpml { output } => export_opml(&app, output).await,
        Command::Run { json, date } => crate::run::run(std::sync::Arc::new(app), json, date).await,
        Command::Digest { date, format } => crate::run::show_digest(&app, date, format).await,
        Command::Transcribe {
            episodes,
            force,
            json,
        } => crate::asr::transcribe(&app, episodes, force, json).await,
        Command::Models { action } => crate::asr::models(&app, action).await,
        Command::Rank {
            input,
            top,
            explain,
            history,
            json,
        } => crate::rank::rank(&app, input, top, explain, history, json).await,
        Command::Feedback { insight, vote } => crate::rank::feedback(&app, insight, &vote).await,
        Command::Lint { .. } | Command::Doctor { .. } => {
            unreachable!("handled before the app is opened")
        }
        Command::Users { action } => crate::service::users(&app, action).await,
        Command::Serve { listen } => crate::service::serve(app, listen).await,
        Command::Worker => crate::service::worker(app).await,
        Command::Jobs {
            state,
            retry,
            limit,
            json,
        } => jobs(&app, state, retry, limit, json).await,
    }
}

fn fmt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

fn fmt_duration(secs: Option<u32>) -> String {
    match secs {
        Some(s) if s >= 3600 => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
        Some(s) => format!("{}:{:02}", s / 60, s % 60),
        None => "-".into(),
    }
}

async fn find_feed(app: &App, key: &str) -> Result<podsift_core::Feed> {
    app.store
        .find_feed(&FeedKey::parse(key))
        .await?
        .with_context(|| format!("no feed {key:?} (see `podsift feeds`)"))
}

async fn unsubscribe(app: &App, key: &str) -> Result<()> {
    let feed = find_feed(app, key).await?;
    let user = app.user().await?;
    if !app.store.unsubscribe(user, feed.id).await? {
        bail!("you are not subscribed to {}", feed.url);
    }
    println!(
        "unsubscribed from {}",
        feed.title.as_deref().unwrap_or(&feed.url)
    );
    Ok(())
}

async fn feeds(app: &App, json: bool) -> Result<()> {
    let user = app.user().await?;
    // A feed URL may carry credentials or a token (private feeds): shown without them
    // (userinfo dropped, the query replaced); `podsift export-opml` keeps the full URLs.
    let feeds: Vec<_> = app
        .store
        .list_feeds(Some(user))
        .await?
        .into_iter()
        .map(|mut f| {
            f.url = podsift_fetch::redact_str(&f.url);
            f
        })
        .collect();
    if json {
        return print_json(&feeds);
    }
    if feeds.is_empty() {
        println!("no feeds yet: podsift subscribe URL");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = feeds
        .iter()
        .map(|f| {
            vec![
                f.id.to_string(),
                ellipsize(f.title.as_deref().unwrap_or("-"), 32),
                ellipsize(&f.url, 48),
                f.status.as_str().to_string(),
                fmt_time(f.last_checked_at),
                fmt_time(Some(f.next_check_at)),
                f.error_count.to_string(),
                f.episode_count.to_string(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "ID",
                "TITLE",
                "URL",
                "STATUS",
                "LAST CHECK",
                "NEXT CHECK",
                "ERRORS",
                "EPISODES"
            ],
            &rows
        )
    );
    for f in feeds.iter().filter(|f| f.last_error.is_some()) {
        if let Some(e) = &f.last_error {
            println!("[{}] last error: {e}", f.id);
        }
    }
    Ok(())
}

async fn episodes(app: &App, feed: Option<String>, limit: usize, json: bool) -> Result<()> {
    let feed_id = match feed {
        Some(key) => Some(find_feed(app, &key).await?.id),
        None => None,
    };
    let eps = app.store.list_episodes(feed_id, limit).await?;
    // How much of each extracted episode was read (none: not extracted yet).
    let mut reports = Vec::with_capacity(eps.len());
    for e in &eps {
        reports.push(app.store.get_extraction(e.id).await?.map(|(_, r)| r));
    }
    if json {
        #[derive(Serialize)]
        struct Row<'a> {
            id: i64,
            feed_id: i64,
            title: Option<&'a str>,
            published: Option<chrono::DateTime<chrono::Utc>>,
            duration_seconds: Option<u32>,
            audio_url: Option<&'a str>,
            state: &'static str,
            transcript_source: Option<&'a str>,
            segment_count: u64,
            /// Share of the words outside sponsor reads that were read (0–1).
            read_share: Option<f64>,
            words_total: Option<usize>,
            words_ad: Option<usize>,
            words_read: Option<usize>,
            /// The cap in force when it was read, and whether it left part unread.
            cap: Option<&'a str>,
            capped: Option<bool>,
        }
        let rows: Vec<Row> = eps
            .iter()
            .zip(&reports)
            .map(|(e, r)| Row {
                id: e.id,
                feed_id: e.feed_id,
                title: e.data.title.as_deref(),
                published: e.data.published,
                duration_seconds: e.data.duration_seconds,
                audio_url: e.data.enclosure.as_ref().map(|x| x.url.as_str()),
                state: e.state.as_str(),
                transcript_source: e.transcript_source.as_deref(),
                segment_count: e.segment_count,
                read_share: r.as_ref().map(|r| r.read_share()),
                words_total: r.as_ref().map(|r| r.words_total),
                words_ad: r.as_ref().map(|r| r.words_ad),
                words_read: r.as_ref().map(|r| r.words_read),
                cap: r.as_ref().and_then(|r| r.cap.as_deref()),
                capped: r.as_ref().map(podsift_digest::coverage::was_capped),
            })
            .collect();
        return print_json(&rows);
    }
    if eps.is_empty() {
        println!("no episodes yet: podsift poll");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = eps
        .iter()
        .zip(&reports)
        .map(|(e, r)| {
            vec![
                e.id.to_string(),
                ellipsize(e.data.title.as_deref().unwrap_or("-"), 40),
                fmt_time(e.data.published),
                fmt_duration(e.data.duration_seconds),
                ellipsize(
                    e.data
                        .enclosure
                        .as_ref()
                        .map(|x| x.url.as_str())
                        .unwrap_or("-"),
                    40,
                ),
                e.transcript_source.clone().unwrap_or_else(|| "-".into()),
                e.segment_count.to_string(),
                podsift_digest::coverage::read_cell(r.as_ref()),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "ID",
                "TITLE",
                "PUBLISHED",
                "DURATION",
                "AUDIO",
                "TRANSCRIPT",
                "SEGMENTS",
                "READ"
            ],
            &rows
        )
    );
    Ok(())
}

async fn transcript(app: &App, episode: i64, format: TranscriptFormatArg) -> Result<()> {
    let ep = app
        .store
        .get_episode(episode)
        .await?
        .with_context(|| format!("no episode {episode} (see `podsift episodes`)"))?;
    let t = app.store.get_transcript(ep.id).await?.with_context(|| {
        format!(
            "episode {episode} has no transcript yet{}",
            if ep.data.transcripts.is_empty() {
                " (the publisher offers none)"
            } else {
                " (run `podsift poll`, or see `podsift jobs`)"
            }
        )
    })?;
    use podsift_transcripts::export;
    let out = match format {
        TranscriptFormatArg::Text => export::to_text(&t.segments),
        TranscriptFormatArg::Json => export::to_json(&t.segments),
        TranscriptFormatArg::Srt => export::to_srt(&t.segments),
        TranscriptFormatArg::Vtt => export::to_vtt(&t.segments),
    };
    print!("{out}");
    if !out.ends_with('\n') {
        println!();
    }
    Ok(())
}

#[derive(Serialize)]
struct PollJson {
    feeds: PollSummary,
    jobs: podsift_poller::JobsSummary,
    errors: Vec<String>,
}

/// Poll (due feeds, or all), then run the transcript/chapter jobs. Errors are collected.
async fn poll_and_fetch(
    app: &App,
    all: bool,
) -> Result<(PollSummary, podsift_poller::JobsSummary, Vec<String>)> {
    let bar = progress(0, "polling", app.quiet);
    let mut errors = Vec::new();
    let on_start = |n: usize| bar.set_length(n as u64);
    let on_feed = |r: &podsift_poller::FeedPollReport| {
        bar.inc(1);
        if let PollOutcome::Failed { error, .. } = &r.outcome {
            errors.push(format!("[{}] {error}", r.feed_id));
        }
    };
    let summary = if all {
        let user = app.user().await?;
        let feeds = app.store.list_feeds(Some(user)).await?;
        app.poller.poll_feeds(&feeds, on_start, on_feed).await
    } else {
        app.poller.poll_due(on_start, on_feed).await?
    };
    bar.finish_and_clear();
    let jobs_bar = progress(0, "transcripts", app.quiet);
    let jobs = app
        .poller
        .run_jobs("cli", 4, |r| {
            jobs_bar.inc(1);
            if r.state != podsift_core::JobOutcome::Done {
                errors.push(format!("job {} ({}): {}", r.job_id, r.kind, r.detail));
            }
        })
        .await?;
    jobs_bar.finish_and_clear();
    Ok((summary, jobs, errors))
}

async fn poll(app: &App, all: bool, json: bool) -> Result<()> {
    let started = std::time::Instant::now();
    let (summary, jobs, errors) = poll_and_fetch(app, all).await?;
    if json {
        return print_json(&PollJson {
            feeds: summary,
            jobs,
            errors,
        });
    }
    for e in &errors {
        eprintln!("warning: {e}");
    }
    println!(
        "polled {} feeds in {:.1}s: {} unchanged, {} updated, {} failed; {} new episodes; {} transcripts ({} segments), {} jobs to retry, {} dead",
        summary.feeds,
        started.elapsed().as_secs_f64(),
        summary.not_modified,
        summary.updated,
        summary.failed,
        summary.new_episodes,
        jobs.transcripts,
        jobs.segments,
        jobs.retrying,
        jobs.dead,
    );
    Ok(())
}

async fn export_opml(app: &App, output: Option<std::path::PathBuf>) -> Result<()> {
    let user = app.user().await?;
    let outlines: Vec<OpmlOutline> = app
        .store
        .list_feeds(Some(user))
        .await?
        .into_iter()
        .map(|f| OpmlOutline {
            title: f.title,
            xml_url: f.url,
            html_url: f.link,
            category: Vec::new(),
        })
        .collect();
    let doc = opml::write_opml("podsift subscriptions", &outlines);
    match output {
        Some(path) => std::fs::write(&path, doc)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{doc}"),
    }
    Ok(())
}

async fn jobs(
    app: &App,
    state: Option<JobStateArg>,
    retry: Option<i64>,
    limit: usize,
    json: bool,
) -> Result<()> {
    if let Some(id) = retry {
        if !app.store.retry_job(id, chrono::Utc::now()).await? {
            bail!("job {id} is not dead (only dead jobs can be retried)");
        }
        println!("job {id} queued again");
        return Ok(());
    }
    let state = state.map(|s| match s {
        JobStateArg::Queued => JobState::Queued,
        JobStateArg::Running => JobState::Running,
        JobStateArg::Done => JobState::Done,
        JobStateArg::Dead => JobState::Dead,
    });
    let jobs = app.store.list_jobs(state, limit).await?;
    if json {
        return print_json(&jobs);
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.to_string(),
                j.kind.as_str().to_string(),
                j.state.as_str().to_string(),
                format!("{}/{}", j.attempts, j.max_attempts),
                fmt_time(Some(j.run_after)),
                ellipsize(j.last_error.as_deref().unwrap_or("-"), 60),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &["ID", "KIND", "STATE", "ATTEMPTS", "RUN AFTER", "LAST ERROR"],
            &rows
        )
    );
    Ok(())
}
