//! Rendering a digest: subject, Markdown, email-safe HTML, wrapped plain text and JSON.
//!
//! Every feed- or model-derived string goes through [`clean`] (controls stripped, length
//! bounded) and then the format's escaping: minijinja's HTML autoescape, backslash escapes in
//! Markdown. URLs are re-validated with [`safe_url`] (a `Digest` may come from JSON), so only
//! `http`/`https` URLs are ever linked.

use std::sync::OnceLock;

use chrono::NaiveDate;
use minijinja::Environment;
use podsift_core::{Digest, DigestItem, RenderedDigest};
use serde::Serialize;

use crate::DigestError;
use crate::build::moment_link;
use crate::feedback::{FeedbackLinks, FeedbackVote};
use crate::text::{
    MAX_QUOTE_CHARS, MAX_REASON_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, clean, md_escape, safe_url,
    timestamp, wrap,
};

const TEXT_WIDTH: usize = 72;
/// At most this many reasons per item are shown.
const MAX_REASONS: usize = 6;
const HTML_TEMPLATE: &str = include_str!("../templates/digest.html");

/// One item, cleaned and with validated URLs: what every format shows.
#[derive(Debug, Serialize)]
struct View {
    rank: usize,
    text: String,
    quote: String,
    podcast: String,
    episode: String,
    episode_url: Option<String>,
    link: Option<String>,
    timestamp: String,
    reasons: Vec<String>,
    /// Signed 👍/👎 links (only with [`FeedbackLinks`], i.e. a `digest.base_url`).
    up_url: Option<String>,
    down_url: Option<String>,
}

impl View {
    fn new(item: &DigestItem, feedback: Option<&FeedbackLinks>) -> Self {
        let link = item.link.as_deref().and_then(safe_url).or_else(|| {
            item.audio_url
                .as_deref()
                .and_then(|a| moment_link(a, item.start_seconds))
        });
        Self {
            rank: item.rank,
            text: clean(&item.text, MAX_TEXT_CHARS),
            quote: clean(&item.quote, MAX_QUOTE_CHARS),
            podcast: clean(&item.podcast, MAX_TITLE_CHARS),
            episode: clean(&item.episode, MAX_TITLE_CHARS),
            episode_url: item.episode_url.as_deref().and_then(safe_url),
            link,
            timestamp: timestamp(item.start_seconds),
            reasons: item
                .reasons
                .iter()
                .take(MAX_REASONS)
                .map(|r| clean(r, MAX_REASON_CHARS))
                .filter(|r| !r.is_empty())
                .collect(),
            up_url: feedback.map(|f| f.url(item.insight_id, FeedbackVote::Up)),
            down_url: feedback.map(|f| f.url(item.insight_id, FeedbackVote::Down)),
        }
    }
}

fn short_date(date: NaiveDate) -> String {
    date.format("%a %-d %b").to_string()
}

fn long_date(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

fn count_phrase(n: usize) -> String {
    match n {
        0 => "no new insights".to_string(),
        1 => "1 insight".to_string(),
        n => format!("{n} insights"),
    }
}

/// The email subject: `podsift — 5 insights for Thu 26 Nov`. Contains no feed text.
pub fn subject(digest: &Digest) -> String {
    format!(
        "podsift — {} for {}",
        count_phrase(digest.insights.len()),
        short_date(digest.date)
    )
}

/// The footer's lines: why the digest is short (when it is), how much of the episodes was
/// read (when known), then what the digest was made from and what it cost.
fn footer(digest: &Digest) -> Vec<String> {
    let s = &digest.stats;
    let cost = format!(
        "From {} episode{}, {} insight{} considered; {} prompt + {} completion tokens, ${:.4}.",
        s.episodes,
        if s.episodes == 1 { "" } else { "s" },
        s.insights_considered,
        if s.insights_considered == 1 { "" } else { "s" },
        s.prompt_tokens,
        s.completion_tokens,
        if s.cost_usd.is_finite() {
            s.cost_usd
        } else {
            0.0
        },
    );
    s.short
        .iter()
        .cloned()
        .chain(crate::coverage::digest_line(s))
        .chain(std::iter::once(cost))
        .collect()
}

/// Renders `digest` in every format.
pub fn render(digest: &Digest) -> Result<RenderedDigest, DigestError> {
    render_with_feedback(digest, None)
}

/// Renders `digest` in every format, with signed 👍/👎 links under each insight when
/// `feedback` is given.
pub fn render_with_feedback(
    digest: &Digest,
    feedback: Option<&FeedbackLinks>,
) -> Result<RenderedDigest, DigestError> {
    let views: Vec<View> = digest
        .insights
        .iter()
        .map(|i| View::new(i, feedback))
        .collect();
    let subject = subject(digest);
    let heading = format!(
        "podsift — {} for {}",
        count_phrase(views.len()),
        long_date(digest.date)
    );
    let footer = footer(digest);
    Ok(RenderedDigest {
        markdown: markdown(&heading, &views, &footer),
        html: html(&subject, &heading, &views, &footer)?,
        text: text(&heading, &views, &footer),
        json: serde_json::to_string_pretty(digest).map_err(|e| DigestError::Json(e.to_string()))?,
        subject,
    })
}

/// A minijinja environment for HTML pages: autoescape on for every template, and plain
/// strings escaped without minijinja's `/` → `&#x2f;` (valid, but it makes every href
/// unreadable to link scanners and to anyone viewing the source); `&`, `<`, `>`, `"` and `'`
/// are escaped, which is what attribute and text contexts need. The digest and the web UI
/// both render through it.
pub fn html_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(s)
            if !value.is_safe() && matches!(state.auto_escape(), minijinja::AutoEscape::Html) =>
        {
            out.write_str(&html_escape(s)).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env
}

fn environment() -> Result<&'static Environment<'static>, DigestError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = html_environment();
        env.add_template("digest.html", HTML_TEMPLATE)
            .map_err(|e| e.to_string())?;
        Ok(env)
    })
    .as_ref()
    .map_err(|e| DigestError::Template(e.clone()))
}

/// Escapes text for HTML text and quoted attribute values.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(
    subject: &str,
    heading: &str,
    views: &[View],
    footer: &[String],
) -> Result<String, DigestError> {
    let tmpl = environment()?
        .get_template("digest.html")
        .map_err(|e| DigestError::Template(e.to_string()))?;
    tmpl.render(minijinja::context! {
        subject => subject,
        heading => heading,
        items => minijinja::Value::from(minijinja::value::Serde(views)),
        footer => footer.to_vec(),
    })
    .map_err(|e| DigestError::Template(e.to_string()))
}

fn markdown(heading: &str, views: &[View], footer: &[String]) -> String {
    let mut out = format!("# {heading}\n\n");
    if views.is_empty() {
        out.push_str("No new insights since your last digest.\n\n");
    }
    for v in views {
        out.push_str(&format!(
            "## {}. {} — {}\n\n",
            v.rank,
            md_escape(&v.podcast),
            md_escape(&v.episode)
        ));
        out.push_str(&md_escape(&v.text));
        out.push_str("\n\n");
        if !v.quote.is_empty() {
            out.push_str(&format!("> “{}”\n\n", md_escape(&v.quote)));
        }
        let mut links = Vec::new();
        match &v.link {
            Some(l) => links.push(format!("[▶ Listen at {}](<{l}>)", v.timestamp)),
            None => links.push(format!("At {}", v.timestamp)),
        }
        if let Some(u) = &v.episode_url {
            links.push(format!("[Episode page](<{u}>)"));
        }
        out.push_str(&links.join(" · "));
        out.push_str("\n\n");
        if !v.reasons.is_empty() {
            let why: Vec<String> = v.reasons.iter().map(|r| md_escape(r)).collect();
            out.push_str(&format!("*Why:* {}\n\n", why.join("; ")));
        }
        if let (Some(up), Some(down)) = (&v.up_url, &v.down_url) {
            out.push_str(&format!(
                "[👍 More like this](<{up}>) · [👎 Less like this](<{down}>)\n\n"
            ));
        }
    }
    out.push_str("---\n\n");
    let lines: Vec<String> = footer.iter().map(|l| md_escape(l)).collect();
    out.push_str(&lines.join("\n\n"));
    out.push('\n');
    out
}

fn text(heading: &str, views: &[View], footer: &[String]) -> String {
    let mut out = wrap(heading, TEXT_WIDTH, "");
    out.push_str("\n\n");
    if views.is_empty() {
        out.push_str("No new insights since your last digest.\n\n");
    }
    for v in views {
        let num = format!("{}. ", v.rank);
        let indent = " ".repeat(num.len());
        let first = wrap(&v.text, TEXT_WIDTH, &indent);
        // Put the rank number in place of the first line's indent.
        out.push_str(&num);
        out.push_str(first.trim_start_matches(' '));
        out.push('\n');
        if !v.quote.is_empty() {
            out.push_str(&wrap(&format!("“{}”", v.quote), TEXT_WIDTH, &indent));
            out.push('\n');
        }
        out.push_str(&wrap(
            &format!("— {}: {}", v.podcast, v.episode),
            TEXT_WIDTH,
            &indent,
        ));
        out.push('\n');
        match &v.link {
            Some(l) => out.push_str(&format!("{indent}Listen at {}: {l}\n", v.timestamp)),
            None => out.push_str(&format!("{indent}At {}\n", v.timestamp)),
        }
        if let Some(u) = &v.episode_url {
            out.push_str(&format!("{indent}Episode page: {u}\n"));
        }
        if !v.reasons.is_empty() {
            out.push_str(&wrap(
                &format!("Why: {}", v.reasons.join("; ")),
                TEXT_WIDTH,
                &indent,
            ));
            out.push('\n');
        }
        if let (Some(up), Some(down)) = (&v.up_url, &v.down_url) {
            out.push_str(&format!("{indent}More like this: {up}\n"));
            out.push_str(&format!("{indent}Less like this: {down}\n"));
        }
        out.push('\n');
    }
    for line in footer {
        out.push_str(&wrap(line, TEXT_WIDTH, ""));
        out.push('\n');
    }
    out
}
