//! `podsift discover`, `podsift topics` and `podsift catalogue`: shows beyond the ones a
//! reader follows. The directories and the topic scanner are built here from `[discovery]`
//! (and `[ranking]` for the embedding model); `run` and `serve` scan due topics daily.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use podsift_core::SystemClock;
use podsift_core::config::RankingEngine;
use podsift_core::discovery::{FoundShow, Topic, TopicOwner};
use podsift_discovery::{Directory, ScanReport, ShowProfile, TopicScanner, feed_key};
use serde::Serialize;

use crate::app::App;
use crate::output::{ellipsize, print_json, spinner, table};
use crate::{CatalogueAction, TopicsAction};

/// Feeds read at once to describe the shows found.
const DESCRIBE_CONCURRENCY: usize = 4;

pub fn directory(app: &App) -> Directory {
    Directory::from_config(
        &app.config.discovery,
        app.fetcher.clone(),
        Arc::new(SystemClock),
    )
}

/// The topic scanner of this configuration: the embedding model of `[ranking]` (`loaded`: the
/// pipeline's own copy; words only when the engine is `simple`, or when the model cannot be
/// had: `warnings` says so).
pub async fn scanner(
    app: &App,
    loaded: Option<Arc<dyn podsift_ranking::Embedder>>,
    warnings: &mut Vec<String>,
) -> Result<TopicScanner> {
    let embedder = match (app.config.ranking.engine, loaded) {
        (RankingEngine::Simple, _) => None,
        (RankingEngine::Embeddings, Some(e)) => Some(e),
        (RankingEngine::Embeddings, None) => match crate::rank::embedder(app).await {
            Ok(e) => Some(e),
            Err(e) => {
                warnings.push(format!(
                    "topics: {e:#}; episodes were matched to topics by their words"
                ));
                None
            }
        },
    };
    let usd_per_mtok = app
        .config
        .llm
        .model
        .as_ref()
        .and_then(|m| app.config.llm.prices.get(m))
        .map(|p| p.prompt);
    Ok(TopicScanner {
        store: app.store.clone(),
        poller: app.poller.clone(),
        directory: directory(app),
        embedder,
        cfg: app.config.discovery.clone(),
        usd_per_mtok,
        clock: Arc::new(SystemClock),
    })
}

/// `run`: scans the topics due for their daily scan (none: nothing is loaded). A topic whose
/// scan fails is a warning; the run goes on.
pub async fn scan_due(
    app: &App,
    pipeline: &podsift_pipeline::Pipeline,
    warnings: &mut Vec<String>,
) -> Result<Vec<ScanReport>> {
    let topics = app.store.list_topics(TopicOwner::Everyone).await?;
    if topics.is_empty() {
        return Ok(Vec::new());
    }
    let scanner = scanner(app, pipeline_embedder(pipeline), warnings).await?;
    let mut out = Vec::new();
    for r in scanner.scan_due().await? {
        match r {
            Ok(report) => {
                warnings.extend(
                    report
                        .problems
                        .iter()
                        .map(|p| format!("topic '{}': {p}", report.topic)),
                );
                out.push(report);
            }
            Err((topic, e)) => warnings.push(format!("topic '{}': {e}", topic.text)),
        }
    }
    Ok(out)
}

/// The embedding model the pipeline's ranking loaded, if any.
pub fn pipeline_embedder(
    pipeline: &podsift_pipeline::Pipeline,
) -> Option<Arc<dyn podsift_ranking::Embedder>> {
    pipeline
        .recipe
        .ranker
        .as_ref()
        .and_then(|r| r.embedder.clone())
}

/// "topic 'home batteries': 2 episodes admitted, 14 left out (podsift topics show 3)".
pub fn scan_line(r: &ScanReport) -> String {
    format!(
        "topic '{}': {} shows found, {} feeds read, {} episode(s) admitted, {} left out \
         (podsift topics show {})",
        r.topic,
        r.shows_found,
        r.feeds_read,
        r.admitted.len(),
        r.left_out_total,
        r.topic_id
    )
}

#[derive(Serialize)]
struct DiscoverRow {
    #[serde(flatten)]
    show: FoundShow,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<ShowProfile>,
    /// Why the show's feed could not be read (then it cannot be followed either).
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_error: Option<String>,
    following: bool,
    follow: String,
}

/// `podsift discover TERM`.
pub async fn discover(app: &App, term: &str, limit: usize, json: bool) -> Result<()> {
    let term = term.trim();
    if term.is_empty() {
        bail!("give a subject or a name to search for");
    }
    let dir = directory(app);
    if dir.is_empty() {
        bail!(
            "no show directory is configured ([discovery] itunes_base_url, or a Podcast Index key)"
        );
    }
    let wait = spinner("asking the show directories", app.quiet || json);
    let found = dir.search(term, limit.clamp(1, 50)).await;
    wait.finish_and_clear();
    let problems: Vec<String> = found.errors.iter().map(ToString::to_string).collect();
    if found.shows.is_empty() {
        if !problems.is_empty() {
            bail!("{}", problems.join("; "));
        }
        bail!("no show found for {term:?}");
    }
    let user = app.user().await?;
    let followed: std::collections::HashSet<String> = app
        .store
        .list_feeds(Some(user))
        .await?
        .iter()
        .map(|f| feed_key(&f.url))
        .collect();
    let wait = spinner("reading the shows' feeds", app.quiet || json);
    let shows: Vec<FoundShow> = found.shows.into_iter().take(limit).collect();
    let rows: Vec<DiscoverRow> =
        podsift_discovery::describe(&app.poller, shows, DESCRIBE_CONCURRENCY)
            .await
            .into_iter()
            .map(|(show, read)| {
                let (profile, feed_error) = match read {
                    Ok(p) => (Some(p), None),
                    Err(e) => (None, Some(e)),
                };
                DiscoverRow {
                    following: followed.contains(&feed_key(&show.feed_url)),
                    follow: format!("podsift subscribe {}", show.feed_url),
                    show,
                    profile,
                    feed_error,
                }
            })
            .collect();
    wait.finish_and_clear();
    if json {
        return print_json(&rows);
    }
    for p in &problems {
        eprintln!("warning: {p}");
    }
    for (i, r) in rows.iter().enumerate() {
        let by = r
            .show
            .author
            .as_deref()
            .map(|a| format!(" · {a}"))
            .unwrap_or_default();
        println!("{:>2}. {}{by}", i + 1, r.show.title);
        if let Some(d) = &r.show.description {
            println!("    {}", podsift_discovery::short_text(d, 150));
        }
        match (&r.profile, &r.feed_error) {
            (Some(p), _) => println!("    publishes {}; {}", p.cadence, p.transcripts_line()),
            (None, Some(e)) => println!("    feed not readable: {e}"),
            (None, None) => {}
        }
        if r.following {
            println!("    you follow it");
        } else if r.feed_error.is_none() {
            println!("    follow: {}", r.follow);
        }
    }
    Ok(())
}

/// Whose topics a command means: `--catalogue` (the instance's), else the reader's.
async fn owner(app: &App, catalogue: bool) -> Result<Option<podsift_core::UserId>> {
    Ok(if catalogue {
        None
    } else {
        Some(app.user().await?)
    })
}

fn owner_filter(user: Option<podsift_core::UserId>) -> TopicOwner {
    user.map_or(TopicOwner::Catalogue, TopicOwner::Reader)
}

/// `podsift topics …`.
pub async fn topics(app: &App, action: TopicsAction) -> Result<()> {
    match action {
        TopicsAction::Add {
            topic,
            catalogue,
            json,
        } => {
            let user = owner(app, catalogue).await?;
            let (t, new) = app
                .store
                .add_topic(user, &topic, chrono::Utc::now())
                .await?;
            if json {
                return print_json(&t);
            }
            if new {
                println!(
                    "following the topic '{}' [{}]{}: new episodes of shows {} do not follow \
                     are scanned for it daily (`podsift run`, or now: podsift topics scan {})",
                    t.text,
                    t.id,
                    if catalogue { " for every reader" } else { "" },
                    if catalogue { "readers" } else { "you" },
                    t.id
                );
            } else {
                println!("already following the topic '{}' [{}]", t.text, t.id);
            }
            Ok(())
        }
        TopicsAction::List { catalogue, json } => {
            let user = owner(app, catalogue).await?;
            let list = app.store.list_topics(owner_filter(user)).await?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("no topics yet: podsift topics add \"home batteries and grid storage\"");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.text.clone(),
                        t.last_scan_at
                            .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "not yet".into()),
                        admitted(t),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(&["id", "topic", "last scan", "admitted"], &rows)
            );
            Ok(())
        }
        TopicsAction::Remove { id, catalogue } => {
            let user = owner(app, catalogue).await?;
            if !app.store.remove_topic(user, id).await? {
                bail!("there is no topic {id} (see `podsift topics list`)");
            }
            println!("no longer following topic {id}");
            Ok(())
        }
        TopicsAction::Show { id, json } => {
            let t = find_topic(app, id).await?;
            let Some(report) = &t.last_report else {
                bail!("topic {id} has not been scanned yet (podsift topics scan {id})");
            };
            if json {
                return print_json(report);
            }
            print!("{}", render_report(report));
            Ok(())
        }
        TopicsAction::Scan {
            id,
            catalogue,
            json,
        } => {
            let user = owner(app, catalogue).await?;
            let list: Vec<Topic> = app
                .store
                .list_topics(owner_filter(user))
                .await?
                .into_iter()
                .filter(|t| id.is_none_or(|id| t.id == id))
                .collect();
            if list.is_empty() {
                bail!("no topic to scan (podsift topics add TOPIC)");
            }
            let mut warnings = Vec::new();
            let scanner = scanner(app, None, &mut warnings).await?;
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            let mut reports = Vec::new();
            let mut failed = Vec::new();
            for t in &list {
                let wait = spinner(&format!("scanning for '{}'", t.text), app.quiet || json);
                let r = scanner.scan(t).await;
                wait.finish_and_clear();
                match r {
                    Ok(r) => reports.push(r),
                    Err(e) => failed.push(format!("topic '{}': {e}", t.text)),
                }
            }
            if json {
                print_json(&reports)?;
            } else {
                for r in &reports {
                    let v = serde_json::to_value(r).context("encoding the report")?;
                    print!("{}", render_report(&v));
                }
            }
            match failed.len() {
                0 => Ok(()),
                _ => bail!("{}", failed.join("; ")),
            }
        }
    }
}

async fn find_topic(app: &App, id: i64) -> Result<Topic> {
    let user = app.user().await?;
    let mut all = app.store.list_topics(TopicOwner::Reader(user)).await?;
    all.extend(app.store.list_topics(TopicOwner::Catalogue).await?);
    all.into_iter()
        .find(|t| t.id == id)
        .with_context(|| format!("there is no topic {id} (see `podsift topics list`)"))
}

fn admitted(t: &Topic) -> String {
    t.last_report
        .as_ref()
        .and_then(|r| r.get("admitted"))
        .and_then(|a| a.as_array())
        .map_or_else(|| "-".into(), |a| a.len().to_string())
}

/// A stored scan report as text: what was admitted and why, what was left out and why.
pub fn render_report(r: &serde_json::Value) -> String {
    use std::fmt::Write;
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    let n = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(serde_json::Value::as_f64).unwrap_or(0.0)
    };
    let list = |k: &str| {
        r.get(k)
            .and_then(|x| x.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "topic '{}' [{}], scanned {} ({} match; terms: {}; categories: {})",
        s(r, "topic"),
        n(r, "topic_id"),
        s(r, "scanned_at"),
        s(r, "method"),
        list("terms")
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        list("categories")
            .iter()
            .filter_map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = writeln!(
        out,
        "  {} shows found, {} feeds read, {} job(s) queued",
        n(r, "shows_found"),
        n(r, "feeds_read"),
        n(r, "jobs_queued")
    );
    let admitted = list("admitted");
    if admitted.is_empty() {
        let _ = writeln!(out, "  admitted: none");
    }
    for a in &admitted {
        let _ = writeln!(
            out,
            "  admitted [{}] {} — {}\n    {}{}",
            n(a, "episode_id"),
            s(a, "show"),
            s(a, "title"),
            s(a, "reason"),
            if a.get("read_once_elsewhere").is_some() {
                " (a copy already being read: read once)"
            } else {
                ""
            }
        );
    }
    let left = list("left_out");
    let total = n(r, "left_out_total") as usize;
    if total > 0 {
        let _ = writeln!(out, "  left out: {total}");
        for l in &left {
            let _ = writeln!(
                out,
                "    {:.2} {} — {}: {}",
                n(l, "score"),
                s(l, "show"),
                ellipsize(&s(l, "title"), 60),
                s(l, "why")
            );
        }
        if total > left.len() {
            let _ = writeln!(out, "    … and {} more", total - left.len());
        }
    }
    for p in list("problems") {
        let _ = writeln!(out, "  problem: {}", p.as_str().unwrap_or_default());
    }
    out
}

/// `podsift catalogue …`: the shows every reader of this instance receives.
pub async fn catalogue(app: &App, action: CatalogueAction) -> Result<()> {
    match action {
        CatalogueAction::Add { urls } => {
            if urls.is_empty() {
                bail!("give at least one feed URL");
            }
            let mut failed = 0;
            for url in &urls {
                match add_to_catalogue(app, url).await {
                    Ok(line) => println!("{line}"),
                    Err(e) => {
                        failed += 1;
                        eprintln!("error: {url}: {e:#}");
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} feeds could not be added", urls.len());
            }
            Ok(())
        }
        CatalogueAction::Remove { feed } => {
            let f = app
                .store
                .find_feed(&podsift_core::FeedKey::parse(&feed))
                .await?
                .with_context(|| format!("no feed {feed:?} (see `podsift catalogue list`)"))?;
            if !app.store.remove_catalogue_feed(f.id).await? {
                bail!("{} is not in the catalogue", f.url);
            }
            println!(
                "removed {} from the catalogue",
                f.title.as_deref().unwrap_or(&f.url)
            );
            Ok(())
        }
        CatalogueAction::List { json } => {
            let list = app.store.list_catalogue().await?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("the catalogue is empty: podsift catalogue add URL");
                return Ok(());
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    vec![
                        c.feed_id.to_string(),
                        c.title.clone().unwrap_or_default(),
                        podsift_fetch::redact_str(&c.url),
                    ]
                })
                .collect();
            print!("{}", table(&["id", "show", "feed"], &rows));
            Ok(())
        }
    }
}

/// Validates the feed by fetching it, stores it and adds it to the catalogue; its episodes
/// are recorded on the next poll (`podsift run`, `serve`), as a subscription's are.
async fn add_to_catalogue(app: &App, url: &str) -> Result<String> {
    let resolved = app.poller.resolve(url).await?;
    let now = chrono::Utc::now();
    let id = app.store.ensure_feed(&resolved.new_feed(now), now).await?;
    let title = resolved.parsed.title.unwrap_or(resolved.url);
    Ok(if app.store.add_catalogue_feed(id, now).await? {
        format!("added {title} [{id}] to the catalogue: every reader gets it")
    } else {
        format!("{title} [{id}] is already in the catalogue")
    })
}
