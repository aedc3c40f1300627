//! `podsift subscribe`: feed URLs (or an OPML file) fetched, validated and followed.

use anyhow::{Context, Result, bail};
use podsift_feeds::opml;
use serde::Serialize;

use crate::app::App;
use crate::output::{print_json, progress};

#[derive(Serialize)]
struct SubscribeResult {
    url: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    feed_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_subscription: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episodes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// Why the feed's earlier episodes were not queued (a shared server's cap).
    #[serde(skip_serializing_if = "Option::is_none")]
    held_back: Option<String>,
}

pub(crate) async fn subscribe(
    app: &App,
    mut urls: Vec<String>,
    opml_file: Option<std::path::PathBuf>,
    json: bool,
) -> Result<()> {
    if let Some(path) = &opml_file {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let outlines = opml::parse_opml(&bytes)
            .with_context(|| format!("{} is not a usable OPML file", path.display()))?;
        if outlines.is_empty() {
            bail!("{} lists no feeds", path.display());
        }
        urls.extend(outlines.into_iter().map(|o| o.xml_url));
    }
    if urls.is_empty() {
        bail!("give at least one feed URL, or --opml FILE");
    }
    let user = app.user().await?;
    let bar = progress(
        urls.len() as u64,
        "subscribing",
        app.quiet || urls.len() < 2,
    );
    let concurrency = app.config.poll.concurrency.max(1);
    use futures::StreamExt;
    let mut results: Vec<SubscribeResult> = futures::stream::iter(urls.iter())
        .map(|url| async move {
            let r = app.poller.subscribe(user, url).await;
            (url.clone(), r)
        })
        .buffered(concurrency)
        .map(|(url, r)| {
            bar.inc(1);
            match r {
                Ok(rep) => SubscribeResult {
                    url: rep.url,
                    ok: true,
                    feed_id: Some(rep.feed_id),
                    title: rep.title,
                    new_subscription: Some(rep.new_subscription),
                    episodes: Some(
                        rep.episodes.inserted + rep.episodes.unchanged + rep.episodes.updated,
                    ),
                    error: None,
                    held_back: rep.held_back,
                },
                Err(e) => SubscribeResult {
                    url,
                    ok: false,
                    feed_id: None,
                    title: None,
                    new_subscription: None,
                    episodes: None,
                    error: Some(e.to_string()),
                    held_back: None,
                },
            }
        })
        .collect()
        .await;
    bar.finish_and_clear();
    let failed = results.iter().filter(|r| !r.ok).count();
    let results_len = results.len();
    if json {
        print_json(&results)?;
    } else {
        for r in &mut results {
            match (&r.error, r.new_subscription) {
                // A single failure is the command's own one-line error below.
                (Some(e), _) if results_len > 1 => eprintln!("error: {e}"),
                (Some(_), _) => {}
                (None, Some(true)) => {
                    println!(
                        "subscribed to {} ({} episodes) [{}]",
                        r.title.as_deref().unwrap_or(&r.url),
                        r.episodes.unwrap_or(0),
                        r.feed_id.unwrap_or_default()
                    );
                    if let Some(why) = &r.held_back {
                        println!("  {why}");
                    }
                }
                (None, _) => println!(
                    "already subscribed to {} [{}]",
                    r.title.as_deref().unwrap_or(&r.url),
                    r.feed_id.unwrap_or_default()
                ),
            }
        }
    }
    match (failed, results.len()) {
        (0, _) => Ok(()),
        (1, 1) => bail!(
            "{}",
            results[0].error.clone().unwrap_or_else(|| "failed".into())
        ),
        (f, n) => bail!("{f} of {n} feeds could not be subscribed (see above); the others were"),
    }
}

/// Most matches a search lists.
const SEARCH_LIMIT: usize = 10;

/// `subscribe --search TERM`: lists the shows the directory finds; returns the feed URLs to
/// follow (`--pick`, or asked on a terminal), or none when only listing.
pub(crate) async fn search(
    app: &App,
    term: &str,
    pick: &[usize],
    json: bool,
) -> Result<Option<Vec<String>>> {
    let term = term.trim();
    if term.is_empty() {
        bail!("give a name to search for");
    }
    let found = crate::discover::directory(app)
        .search(term, SEARCH_LIMIT)
        .await;
    let shows = found.shows;
    if shows.is_empty() {
        if let Some(e) = found.errors.first() {
            bail!("searching the podcast directories for {term:?}: {e}");
        }
        bail!("no show found for {term:?}");
    }
    if pick.is_empty() && json {
        print_json(&shows)?;
        return Ok(None);
    }
    if pick.is_empty() {
        for (i, s) in shows.iter().enumerate() {
            println!(
                "{:>2}. {}{}{}",
                i + 1,
                s.title,
                s.author
                    .as_deref()
                    .map(|a| format!(" · {a}"))
                    .unwrap_or_default(),
                s.episodes
                    .map(|n| format!(" · {n} episodes"))
                    .unwrap_or_default()
            );
            println!("    {}", s.feed_url);
        }
    }
    let chosen: Vec<usize> = if !pick.is_empty() {
        pick.to_vec()
    } else if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprint!("Follow which? Numbers, e.g. 1 3 (Enter: none): ");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| {
                w.parse::<usize>()
                    .with_context(|| format!("{w:?} is not a number"))
            })
            .collect::<Result<_>>()?
    } else {
        eprintln!("follow one with: podsift subscribe --search {term:?} --pick N");
        return Ok(None);
    };
    let mut urls = Vec::new();
    for n in chosen {
        let show = n
            .checked_sub(1)
            .and_then(|i| shows.get(i))
            .with_context(|| format!("there is no match {n} (1 to {})", shows.len()))?;
        urls.push(show.feed_url.clone());
    }
    Ok((!urls.is_empty()).then_some(urls))
}
