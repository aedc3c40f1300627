//! Slack and Discord incoming webhooks.
//!
//! Both messages are built from the digest's items (cleaned like every rendering: controls
//! and bidi overrides stripped, whitespace collapsed, lengths bounded, URLs re-validated)
//! and escaped for the platform so that feed text can neither mention anyone nor add markup
//! or links; only podsift's own labels link to URLs.

use std::fmt;

use async_trait::async_trait;
use podsift_core::{Channel, DeliveryError, Digest, DigestItem, RenderedDigest};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::http::{Endpoint, HttpChannelOptions, WebhookError};
use crate::build::moment_link;
use crate::text::{MAX_QUOTE_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, clean, safe_url, timestamp};

// Slack limits (Block Kit): 50 blocks per message, 3000 characters per section text,
// 150 per header text.
const SLACK_MAX_BLOCKS: usize = 50;
const SLACK_MAX_SECTION: usize = 3000;
const SLACK_MAX_HEADER: usize = 150;

// Discord limits: content 2000, 10 embeds, title 256, description 4096, footer 2048, and
// 6000 characters over all embeds' text together.
const DISCORD_MAX_CONTENT: usize = 2000;
const DISCORD_MAX_EMBEDS: usize = 10;
const DISCORD_MAX_TITLE: usize = 256;
const DISCORD_MAX_DESCRIPTION: usize = 4096;
const DISCORD_MAX_TOTAL: usize = 6000;

/// One item, cleaned, with validated links: what both platforms show.
struct Item {
    rank: usize,
    text: String,
    quote: String,
    podcast: String,
    episode: String,
    link: Option<String>,
    episode_url: Option<String>,
    at: String,
}

impl Item {
    fn new(i: &DigestItem) -> Self {
        Self {
            rank: i.rank,
            text: clean(&i.text, MAX_TEXT_CHARS),
            quote: clean(&i.quote, MAX_QUOTE_CHARS),
            podcast: clean(&i.podcast, MAX_TITLE_CHARS),
            episode: clean(&i.episode, MAX_TITLE_CHARS),
            link: i.link.as_deref().and_then(safe_url).or_else(|| {
                i.audio_url
                    .as_deref()
                    .and_then(|a| moment_link(a, i.start_seconds))
            }),
            episode_url: i.episode_url.as_deref().and_then(safe_url),
            at: timestamp(i.start_seconds),
        }
    }
}

/// Cuts `raw` (already cleaned) so that `escape(raw)` fits in `max` characters, ending in
/// `…` when cut. Escaping first and cutting after could split an escape sequence.
fn fit(raw: &str, max: usize, escape: fn(&str) -> String) -> String {
    let full = escape(raw);
    if full.chars().count() <= max {
        return full;
    }
    let mut keep = raw.chars().count().min(max);
    loop {
        let cut: String = raw.chars().take(keep.saturating_sub(1)).collect();
        let out = format!("{}…", escape(cut.trim_end()));
        let n = out.chars().count();
        if n <= max || keep <= 1 {
            return out;
        }
        keep = keep.saturating_sub((n - max).max(1));
    }
}

// ---------------------------------------------------------------------------
// Slack
// ---------------------------------------------------------------------------

/// Escapes text for Slack mrkdwn: `&`, `<`, `>` as Slack requires (so `<!channel>`,
/// `<@U123>` and `<url|label>` stay text), and a zero-width space after each of `*`, `_`,
/// `~` and `` ` `` so that feed text cannot open bold, italics, strike or code (Slack has
/// no backslash escape). Text objects are also sent with `verbatim: true`, which stops
/// Slack's automatic linking of `@channel`, `#channel` and bare URLs.
pub fn slack_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '~' | '`' => {
                out.push(c);
                out.push('\u{200B}');
            }
            c => out.push(c),
        }
    }
    out
}

/// [`slack_escape`] for text that starts a line: a leading `>` (escaped `&gt;`, which Slack
/// still reads as a block quote) gets a zero-width space in front.
fn slack_escape_line(s: &str) -> String {
    let out = slack_escape(s);
    if out.starts_with("&gt;") {
        format!("\u{200B}{out}")
    } else {
        out
    }
}

/// A URL inside Slack's `<URL|label>`: `&`, `<`, `>` escaped, `|` percent-encoded.
fn slack_url(url: &str) -> String {
    url.replace('&', "&amp;")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
}

fn mrkdwn(text: String) -> Value {
    json!({ "type": "mrkdwn", "text": text, "verbatim": true })
}

/// The Slack message for a digest: `text` (the notification fallback: podsift's own subject,
/// no feed text) and `blocks`: a header, one section per insight (show — episode in bold,
/// the insight, the quote, links), a footer; at most 50 blocks (the rest counted in the
/// footer).
pub fn slack_message(digest: &Digest, rendered: &RenderedDigest) -> Value {
    let items: Vec<Item> = digest.insights.iter().map(Item::new).collect();
    let mut blocks = vec![json!({
        "type": "header",
        "text": { "type": "plain_text", "text": fit(&clean(&rendered.subject, 300), SLACK_MAX_HEADER, |s| s.to_string()), "emoji": false }
    })];
    // Header + footer + a possible "more" line.
    let room = SLACK_MAX_BLOCKS - 3;
    for it in items.iter().take(room) {
        let mut lines = vec![format!(
            "*{}. {} — {}*",
            it.rank,
            fit(&it.podcast, 200, slack_escape),
            fit(&it.episode, 200, slack_escape)
        )];
        let mut links = Vec::new();
        match &it.link {
            Some(l) => links.push(format!("<{}|▶ Listen at {}>", slack_url(l), it.at)),
            None => links.push(format!("At {}", it.at)),
        }
        if let Some(u) = &it.episode_url {
            links.push(format!("<{}|Episode page>", slack_url(u)));
        }
        let links = links.join(" · ");
        let quote = if it.quote.is_empty() {
            String::new()
        } else {
            format!("&gt; “{}”\n", fit(&it.quote, 800, slack_escape))
        };
        let fixed = lines[0].chars().count() + quote.chars().count() + links.chars().count() + 8;
        lines.push(fit(
            &it.text,
            SLACK_MAX_SECTION.saturating_sub(fixed).max(100),
            slack_escape_line,
        ));
        let mut text = lines.join("\n");
        text.push('\n');
        text.push_str(&quote);
        text.push_str(&links);
        blocks.push(json!({ "type": "section", "text": mrkdwn(text) }));
    }
    if items.len() > room {
        blocks.push(json!({
            "type": "context",
            "elements": [mrkdwn(format!("…and {} more in the full digest.", items.len() - room))]
        }));
    }
    if items.is_empty() {
        blocks.push(json!({
            "type": "section",
            "text": mrkdwn("No new insights since your last digest.".to_string())
        }));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [mrkdwn(slack_escape(&footer(digest)))]
    }));
    json!({
        "text": slack_escape(&rendered.subject),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

fn footer(digest: &Digest) -> String {
    let s = &digest.stats;
    format!(
        "podsift · {} episodes, {} insights considered",
        s.episodes, s.insights_considered
    )
}

/// Posts the digest to a Slack incoming webhook (`https://hooks.slack.com/services/...`);
/// the message is [`slack_message`]. The URL is a secret: the name is `slack:ID` (a hash)
/// and neither logs nor `Debug` show its path.
#[derive(Clone)]
pub struct SlackChannel {
    endpoint: Endpoint,
}

impl fmt::Debug for SlackChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlackChannel")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl SlackChannel {
    pub fn new(url: &str, opts: HttpChannelOptions) -> Result<Self, WebhookError> {
        Ok(Self {
            endpoint: Endpoint::new(url, "slack", opts)?,
        })
    }

    /// One POST; typed error (see [`WebhookError`]).
    pub async fn send(
        &self,
        digest: &Digest,
        rendered: &RenderedDigest,
    ) -> Result<String, WebhookError> {
        let body = serde_json::to_vec(&slack_message(digest, rendered))
            .map_err(|e| WebhookError::Config(format!("serialising the message: {e}")))?;
        let posted = self.endpoint.post_json(HeaderMap::new(), body).await?;
        Ok(format!("HTTP {}", posted.status))
    }
}

// ---------------------------------------------------------------------------
// Discord
// ---------------------------------------------------------------------------

/// Escapes text for Discord markdown: a backslash before every markdown character
/// (`\ * _ ~ ` | > # - [ ] ( ) < :`, `+` at the start, and the `.` of a leading `1.`), and a
/// zero-width space after `@` so `@everyone`/`@here` stay text even where escapes are not
/// honoured. Mentions are also disabled outright with `allowed_mentions: {"parse": []}`.
pub fn discord_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut leading_digits = true;
    for (i, c) in s.chars().enumerate() {
        let list_marker = (i == 0 && c == '+') || (leading_digits && i > 0 && c == '.');
        leading_digits = leading_digits && c.is_ascii_digit();
        if list_marker {
            out.push('\\');
            out.push(c);
            continue;
        }
        match c {
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '-' | '[' | ']' | '(' | ')' | '<'
            | ':' => {
                out.push('\\');
                out.push(c);
            }
            '@' => {
                out.push('@');
                out.push('\u{200B}');
            }
            c => out.push(c),
        }
    }
    out
}

/// The Discord message for a digest: `content` (podsift's subject, ≤ 2000 characters), one
/// embed per insight (at most 10; the content says how many more), titles ≤ 256,
/// descriptions ≤ 4096 and all embed text together ≤ 6000 characters, and
/// `allowed_mentions: {"parse": []}`.
pub fn discord_message(digest: &Digest, rendered: &RenderedDigest) -> Value {
    let items: Vec<Item> = digest.insights.iter().map(Item::new).collect();
    let shown = items.len().min(DISCORD_MAX_EMBEDS);
    let mut content = discord_escape(&clean(&rendered.subject, 300));
    if items.len() > shown {
        content.push_str(&format!(
            "\n…and {} more in the full digest.",
            items.len() - shown
        ));
    }
    if items.is_empty() {
        content.push_str("\nNo new insights since your last digest.");
    }
    let content = fit(&content, DISCORD_MAX_CONTENT, |s| s.to_string());
    // Share the 6000-character budget evenly (with a margin for the footer and rounding).
    let per_embed = (DISCORD_MAX_TOTAL - 200).checked_div(shown).unwrap_or(0);
    let mut embeds = Vec::with_capacity(shown);
    for it in items.iter().take(shown) {
        let title = fit(
            &format!("{}. {} — {}", it.rank, it.podcast, it.episode),
            DISCORD_MAX_TITLE.min(per_embed / 3),
            discord_escape,
        );
        let mut links = Vec::new();
        match &it.link {
            Some(l) => links.push(format!("[▶ Listen at {}](<{l}>)", it.at)),
            None => links.push(format!("At {}", it.at)),
        }
        if let Some(u) = &it.episode_url {
            links.push(format!("[Episode page](<{u}>)"));
        }
        let links = links.join(" · ");
        let budget = DISCORD_MAX_DESCRIPTION
            .min(per_embed.saturating_sub(title.chars().count()))
            .saturating_sub(links.chars().count() + 8);
        let (text_budget, quote_budget) = if it.quote.is_empty() {
            (budget, 0)
        } else {
            (budget * 2 / 3, budget / 3)
        };
        let mut description = fit(&it.text, text_budget.max(20), discord_escape);
        if !it.quote.is_empty() {
            description.push_str("\n> “");
            description.push_str(&fit(&it.quote, quote_budget.max(20), discord_escape));
            description.push('”');
        }
        description.push('\n');
        description.push_str(&links);
        let mut embed = json!({ "title": title, "description": description });
        if let Some(u) = it.episode_url.as_ref().or(it.link.as_ref()) {
            embed["url"] = Value::String(u.clone());
        }
        embeds.push(embed);
    }
    json!({
        "content": content,
        "embeds": embeds,
        "allowed_mentions": { "parse": [] },
    })
}

/// Posts the digest to a Discord webhook (`https://discord.com/api/webhooks/ID/TOKEN`); the
/// message is [`discord_message`]. The URL is a secret: the name is `discord:ID` (a hash).
#[derive(Clone)]
pub struct DiscordChannel {
    endpoint: Endpoint,
}

impl fmt::Debug for DiscordChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscordChannel")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl DiscordChannel {
    pub fn new(url: &str, opts: HttpChannelOptions) -> Result<Self, WebhookError> {
        Ok(Self {
            endpoint: Endpoint::new(url, "discord", opts)?,
        })
    }

    /// One POST; typed error (see [`WebhookError`]).
    pub async fn send(
        &self,
        digest: &Digest,
        rendered: &RenderedDigest,
    ) -> Result<String, WebhookError> {
        let body = serde_json::to_vec(&discord_message(digest, rendered))
            .map_err(|e| WebhookError::Config(format!("serialising the message: {e}")))?;
        let posted = self.endpoint.post_json(HeaderMap::new(), body).await?;
        Ok(format!("HTTP {}", posted.status))
    }
}

macro_rules! chat_channel {
    ($ty:ty, $what:literal) => {
        #[async_trait]
        impl Channel for $ty {
            /// `PLATFORM:ID`, ID = 12 hex digits of the URL's SHA-256 (the URL is a secret).
            fn name(&self) -> String {
                self.endpoint.name.clone()
            }

            async fn deliver(
                &self,
                digest: &Digest,
                rendered: &RenderedDigest,
                _idempotency_key: &str,
            ) -> Result<String, DeliveryError> {
                match self.send(digest, rendered).await {
                    Ok(receipt) => {
                        tracing::info!(channel = %self.endpoint.name, concat!("digest posted to ", $what));
                        Ok(receipt)
                    }
                    Err(e) => {
                        tracing::warn!(channel = %self.endpoint.name, retryable = e.is_retryable(), error = %e, concat!($what, " delivery failed"));
                        Err(e.into())
                    }
                }
            }
        }
    };
}

chat_channel!(SlackChannel, "Slack");
chat_channel!(DiscordChannel, "Discord");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_never_splits_escapes() {
        let s = "a<b".repeat(100);
        let out = fit(&s, 50, slack_escape);
        assert!(out.chars().count() <= 50, "{out}");
        assert!(out.ends_with('…'));
        // No dangling `&` of a cut entity.
        let body = out.trim_end_matches('…');
        assert!(!body.ends_with('&') && !body.ends_with("&l") && !body.ends_with("&lt"));
        assert_eq!(fit("short", 50, slack_escape), "short");
    }

    #[test]
    fn line_starts_cannot_become_lists_or_quotes() {
        assert_eq!(discord_escape("12. x 1.5"), "12\\. x 1.5");
        assert_eq!(discord_escape("+ item"), "\\+ item");
        assert_eq!(slack_escape_line("> quote"), "\u{200B}&gt; quote");
        assert_eq!(slack_escape_line("a > b"), "a &gt; b");
    }

    #[test]
    fn escapes() {
        assert_eq!(
            slack_escape("<!channel> & *x*"),
            "&lt;!channel&gt; &amp; *\u{200B}x*\u{200B}"
        );
        assert_eq!(
            discord_escape("@everyone [a](b) <@1>"),
            "@\u{200B}everyone \\[a\\]\\(b\\) \\<@\u{200B}1\\>"
        );
    }
}
