//! `podsift run` (the whole job once) and `podsift digest`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use podsift_core::{Digest, JobOutcome};
use podsift_pipeline::{DeliveryReport, DeliveryResult, DigestOutcome, Tally, Tallying};
use podsift_poller::PollOutcome;
use serde::Serialize;

use crate::DigestFormatArg;
use crate::app::App;
use crate::output::{print_json, progress, spinner};
use crate::stages::Board;
use crate::wiring::{self, Driver};

const STARTER_OPML: &str = include_str!("../../../assets/starter.opml");

#[derive(Serialize)]
struct RunJson {
    subscribed_starter: bool,
    feeds: podsift_poller::PollSummary,
    #[serde(flatten)]
    tally: Tally,
    /// How much of the episodes read in this run was read (per episode and in total).
    read: podsift_pipeline::ReadCoverage,
    digest: DigestOutcome,
    /// Why the episodes read this run gave no insight (which checks their claims failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    no_insights: Option<String>,
    deliveries: Vec<DeliveryReport>,
    /// The topic scans this run made (topics due for their daily scan).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    topic_scans: Vec<podsift_discovery::ScanReport>,
    seconds: f64,
}

/// Subscribes the starter shows when the reader follows none; what their first fetch found is
/// added to `polled`.
async fn follow_starter_shows(
    app: &App,
    user: podsift_core::UserId,
    json: bool,
    polled: &mut podsift_poller::PollSummary,
) -> Result<bool> {
    // A reader who follows topics, or gets the instance's catalogue, reads those instead.
    if !app.store.list_feeds(Some(user)).await?.is_empty()
        || !app.store.list_catalogue().await?.is_empty()
        || !app
            .store
            .list_topics(podsift_core::discovery::TopicOwner::Reader(user))
            .await?
            .is_empty()
    {
        return Ok(false);
    }
    let (opml, source) = match &app.config.poll.starter_opml {
        Some(path) => (
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (
            STARTER_OPML.as_bytes().to_vec(),
            "the built-in set, assets/starter.opml".to_string(),
        ),
    };
    let outlines = podsift_feeds::opml::parse_opml(&opml)
        .with_context(|| format!("the starter shows ({source}) are not a usable OPML file"))?;
    if !json {
        let names: Vec<String> = outlines
            .iter()
            .map(|o| o.title.clone().unwrap_or_else(|| o.xml_url.clone()))
            .collect();
        eprintln!(
            "You follow no shows yet, so podsift follows {} starter shows ({source}): {}.\n\
             Choose your own with `podsift subscribe URL`, `podsift subscribe --search NAME` or \
             `podsift subscribe --opml FILE`; drop one with `podsift unsubscribe`.",
            names.len(),
            names.join(", ")
        );
        if let Some(model) = crate::llm::first_download(&app.config.llm, &app.data_dir) {
            eprintln!("{model}");
        }
    }
    let urls: Vec<String> = outlines.into_iter().map(|o| o.xml_url).collect();
    // Failures of single starter feeds are said in one line, not fatal.
    let mut failed: Vec<String> = Vec::new();
    for url in &urls {
        let done = app.poller.subscribe(user, url).await;
        polled.add_subscribed(done.as_ref());
        if let Err(e) = done {
            failed.push(format!("{}: {e}", podsift_fetch::redact_str(url)));
        }
    }
    if !json && !failed.is_empty() {
        eprintln!(
            "could not reach {} of {} starter shows (offline?), first: {}",
            failed.len(),
            urls.len(),
            failed[0]
        );
    }
    Ok(true)
}

/// `podsift run`: one pass of what `podsift serve` loops. Poll the due feeds, drive every
/// stage until no job is runnable (a killed run's jobs are taken over when their lease runs
/// out), then make and deliver the reader's digest.
pub async fn run(app: Arc<App>, json: bool, date: Option<chrono::NaiveDate>) -> Result<()> {
    let started = std::time::Instant::now();
    let reader = app.reader().await?;
    let mut starter = podsift_poller::PollSummary::default();
    let subscribed_starter = follow_starter_shows(&app, reader.id(), json, &mut starter).await?;
    let (pipeline, mut errors) = wiring::pipeline(&app, Driver::Run).await?;

    let bar = progress(0, "feeds", app.quiet);
    let mut feeds = pipeline
        .poller
        .poll_due(
            |n| bar.set_length(n as u64),
            |r| {
                bar.inc(1);
                if let PollOutcome::Failed { error, .. } = &r.outcome {
                    errors.push(format!("[{}] {error}", r.feed_id));
                }
            },
        )
        .await?;
    bar.finish_and_clear();
    feeds.merge(&starter);
    // Topics due for their daily scan admit their episodes before the queue is worked.
    let scans = crate::discover::scan_due(&app, &pipeline, &mut errors).await?;

    // A bar per stage with what is left and an estimate (crate::stages).
    let board = Board::new(app.quiet);
    let events = {
        let (jobs, messages) = (board.clone(), board.clone());
        Tallying::new(move |e| jobs.job(e), move |s, m| messages.progress(s, m))
    };
    let follow = board.follow(pipeline.store.clone(), pipeline.clock.clone());
    let worker = format!("{}/run", podsift_service::default_worker_id());
    let waiting = {
        let board = board.clone();
        move |n: u64| {
            board.say(format!(
                "{n} job(s) held by another podsift process (or one that was killed): waiting for them"
            ))
        }
    };
    let drained = pipeline.drain(&worker, &events, &waiting).await;
    follow.abort();
    for line in board.summary() {
        tracing::info!("stage {line}");
    }
    board.finish();
    let drained = drained?;
    let mut tally = events.into_tally();
    errors.append(&mut tally.errors);
    errors.extend(drained.errors.iter().map(|e| format!("{e:#}")));
    if drained.left_to_others > 0 {
        errors.push(format!(
            "{} job(s) are still held by another running podsift; they finish there",
            drained.left_to_others
        ));
    }

    let date = date.unwrap_or_else(|| chrono::Local::now().date_naive());
    let ranking = spinner("ranking the insights and writing the digest", app.quiet);
    let digest = pipeline.recipe.make(&reader, date).await;
    ranking.finish_and_clear();
    let digest = digest?;
    let deliveries = pipeline
        .recipe
        .deliver(std::slice::from_ref(&reader), |d| {
            if d.result != DeliveryResult::Sent {
                errors.push(format!("delivery to {}: {}", d.channel, d.detail));
            }
        })
        .await?;

    let read = tally.coverage();
    let no_insights = tally.why_no_insights();
    if json {
        tally.errors = errors;
        return print_json(&RunJson {
            subscribed_starter,
            feeds,
            tally,
            read,
            digest,
            no_insights,
            deliveries,
            topic_scans: scans,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    for e in &errors {
        eprintln!("warning: {e}");
    }
    match &digest {
        DigestOutcome::Created { digest, .. } | DigestOutcome::Existing { digest, .. } => {
            let rendered = podsift_digest::render(digest).context("cannot render the digest")?;
            println!("{}", rendered.text.trim_end());
            for d in deliveries
                .iter()
                .filter(|d| d.result == DeliveryResult::Sent)
            {
                println!("delivered to {}: {}", d.channel, d.detail);
            }
        }
        DigestOutcome::NothingNew { why } => {
            println!("no digest for {date}: {why}");
            if let Some(why) = &no_insights {
                println!("{why}");
            }
        }
    }
    for line in read.lines() {
        println!("{line}");
    }
    for scan in &scans {
        println!("{}", crate::discover::scan_line(scan));
    }
    println!("{}", crate::llm::in_use(&app));
    let (prompt, completion, cost) = tally.spent();
    println!(
        "run done in {:.1}s: {} feeds polled, {} new episodes, {} transcripts, {} transcribed, {} episodes read, {} + {} tokens (${:.4}), {}",
        started.elapsed().as_secs_f64(),
        feeds.feeds,
        feeds.new_episodes,
        tally.transcripts.transcripts,
        tally.speech_to_text.done,
        tally
            .extracted
            .iter()
            .filter(|r| r.state == JobOutcome::Done)
            .count(),
        prompt,
        completion,
        cost,
        match &digest {
            DigestOutcome::Created { .. } => "new digest",
            DigestOutcome::Existing { .. } => "today's digest already made",
            DigestOutcome::NothingNew { .. } => "no digest",
        }
    );
    Ok(())
}

pub async fn show_digest(
    app: &App,
    date: Option<chrono::NaiveDate>,
    format: DigestFormatArg,
) -> Result<()> {
    let user = app.user().await?;
    let found: Option<(i64, Digest)> = match date {
        Some(d) => app.store.get_digest(user, d).await?,
        None => app.store.latest_digest(user).await?,
    };
    let Some((_, digest)) = found else {
        match date {
            Some(d) => bail!("no digest for {d} (run `podsift run`)"),
            None => bail!("no digest yet (run `podsift run`)"),
        }
    };
    let r = podsift_digest::render(&digest).context("cannot render the digest")?;
    let out = match format {
        DigestFormatArg::Md => r.markdown,
        DigestFormatArg::Html => r.html,
        DigestFormatArg::Text => r.text,
        DigestFormatArg::Json => r.json,
    };
    println!("{}", out.trim_end());
    Ok(())
}
