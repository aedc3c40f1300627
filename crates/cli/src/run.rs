//! `podsift run` (the whole job once) and `podsift digest`.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use podsift_core::{Channel, Digest, SystemClock};
use podsift_digest::{FileChannel, SmtpChannel};
use podsift_pipeline::{DigestOutcome, Digester, Extractor};
use serde::Serialize;

use crate::app::App;
use crate::output::{print_json, progress};
use crate::{DigestFormatArg, commands};

const STARTER_OPML: &str = include_str!("../../../assets/starter.opml");

fn channels(app: &App) -> Result<Vec<Arc<dyn Channel>>> {
    let dir = app
        .config
        .digest
        .output_dir
        .clone()
        .unwrap_or_else(|| app.data_dir.join("digests"));
    let mut out: Vec<Arc<dyn Channel>> = vec![Arc::new(FileChannel::new(dir))];
    let email = &app.config.email;
    if email.to.is_some() && email.smtp_host.is_some() {
        let smtp = SmtpChannel::new(email, SmtpChannel::password_from_env(email))
            .context("invalid [email] configuration")?
            .with_unsubscribe_url(app.config.digest.base_url.as_deref());
        out.push(Arc::new(smtp));
    }
    Ok(out)
}

#[derive(Serialize)]
struct RunJson {
    subscribed_starter: bool,
    feeds: podsift_poller::PollSummary,
    transcripts: podsift_poller::JobsSummary,
    speech_to_text: podsift_asr::stage::AsrSummary,
    extracted: Vec<podsift_pipeline::ExtractReport>,
    digest: DigestOutcome,
    deliveries: Vec<podsift_pipeline::DeliveryReport>,
    errors: Vec<String>,
    seconds: f64,
}

pub async fn run(app: &App, json: bool, date: Option<chrono::NaiveDate>) -> Result<()> {
    let started = std::time::Instant::now();
    let user = app.user().await?;
    let mut subscribed_starter = false;
    if app.store.list_feeds(Some(user)).await?.is_empty() {
        let urls: Vec<String> = podsift_feeds::opml::parse_opml(STARTER_OPML.as_bytes())
            .context("the built-in starter OPML is invalid")?
            .into_iter()
            .map(|o| o.xml_url)
            .collect();
        if !json {
            eprintln!(
                "you follow no shows yet: subscribing to the starter shows (assets/starter.opml)"
            );
        }
        // Failures of single starter feeds are reported, not fatal.
        if let Err(e) = commands::subscribe(app, urls, None, json).await {
            eprintln!("warning: {e}");
        }
        subscribed_starter = true;
    }

    let (feeds, transcripts, mut errors) = commands::poll_and_fetch(app, false).await?;
    let speech = crate::asr::run_pending(app, &mut errors).await?;

    let clock = Arc::new(SystemClock);
    let llm = crate::llm::build(&app.config.llm, &app.data_dir, app.quiet)?;
    let extractor = Extractor::new(
        app.store.clone(),
        llm,
        app.cache.clone(),
        clock.clone(),
        app.config.llm.clone(),
    );
    extractor.enqueue_pending().await?;
    let mut extracted = Vec::new();
    if extractor.has_work().await? {
        let bar = progress(0, "insights", app.quiet);
        bar.set_message("reading episodes");
        extracted = extractor
            .run_jobs("cli", |r| {
                bar.inc(1);
                bar.set_message(r.title.clone());
                if let Some(e) = &r.error {
                    errors.push(format!("insights for episode {}: {e}", r.episode_id));
                }
            })
            .await?;
        bar.finish_and_clear();
    }

    let mut digester = Digester::new(
        app.store.clone(),
        clock,
        app.config.digest.clone(),
        channels(app)?,
    );
    if let Some(ranker) = crate::rank::ranker(app, &mut errors).await? {
        digester = digester.with_ranker(ranker);
    }
    if app.config.digest.base_url.is_some() {
        let secret = podsift_digest::load_or_create_secret(
            app.config.digest.feedback_secret_env.as_deref(),
            &app.data_dir,
        )
        .context("cannot set up the feedback links' secret")?;
        digester = digester.with_feedback_secret(secret);
    }
    let date = date.unwrap_or_else(|| chrono::Local::now().date_naive());
    let digest = digester.make_digest(user, date).await?;
    let deliveries = digester
        .deliver_pending(|d| {
            if d.result != "sent" {
                errors.push(format!("delivery to {}: {}", d.channel, d.detail));
            }
        })
        .await?;

    if json {
        return print_json(&RunJson {
            subscribed_starter,
            feeds,
            transcripts,
            speech_to_text: speech,
            extracted,
            digest,
            deliveries,
            errors,
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
            for d in &deliveries {
                if d.result == "sent" {
                    println!("delivered to {}: {}", d.channel, d.detail);
                }
            }
        }
        DigestOutcome::NothingNew => println!("nothing new since the last digest"),
    }
    let (prompt, completion, cost) =
        extracted
            .iter()
            .filter_map(|r| r.report.as_ref())
            .fold((0, 0, 0.0), |acc, r| {
                (
                    acc.0 + r.prompt_tokens,
                    acc.1 + r.completion_tokens,
                    acc.2 + r.cost_usd,
                )
            });
    println!(
        "run done in {:.1}s: {} feeds polled, {} new episodes, {} transcripts, {} transcribed, {} episodes read, {} + {} tokens (${:.4}), {}",
        started.elapsed().as_secs_f64(),
        feeds.feeds,
        feeds.new_episodes,
        transcripts.transcripts,
        speech.done,
        extracted.iter().filter(|r| r.state == "done").count(),
        prompt,
        completion,
        cost,
        match &digest {
            DigestOutcome::Created { .. } => "new digest",
            DigestOutcome::Existing { .. } => "today's digest already made",
            DigestOutcome::NothingNew => "no digest",
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
