//! A user's recent digests as a private feed: Atom 1.0 ([`atom`]) and JSON Feed 1.1
//! ([`json_feed`]).
//!
//! One entry per digest, newest first. Ids are tag URIs (RFC 4151) built from the feed
//! URL's host, the digest's date and its stored id, `tag:HOST,YYYY-MM-DD:podsift/digest/ID`,
//! so they never change once published. `updated`/`date_published` is the digest's date at
//! 00:00 UTC and the feed's `updated` the newest of those: the document depends only on its
//! input, so an unchanged feed reads back byte-identical (no spurious "new" items).
//!
//! Entry content is an HTML fragment built like the email: every feed- or model-derived
//! string cleaned (controls and bidi overrides removed, lengths bounded) and HTML-escaped,
//! only `http`/`https` URLs linked. In Atom that HTML is then XML-escaped inside
//! `<content type="html">`; in JSON Feed it is the `content_html` string.

use chrono::{DateTime, NaiveDate, Utc};
use podsift_core::{Digest, DigestItem};
use serde_json::{Value, json};

use crate::build::moment_link;
use crate::text::{
    MAX_QUOTE_CHARS, MAX_REASON_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, clean, safe_url, timestamp,
};

/// Feed-level settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedOptions {
    /// The feed's title (`podsift digests for me` when `None`).
    pub title: Option<String>,
    /// The web UI's page for the user, if any (`http`/`https` only).
    pub home_page_url: Option<String>,
}

/// The JSON Feed version URL.
pub const JSON_FEED_VERSION: &str = "https://jsonfeed.org/version/1.1";

/// Escapes text for HTML text and quoted attribute values (and equally for XML).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not allowed in XML 1.0 even as references; `clean` already drops C0 controls.
            '\u{FFFE}' | '\u{FFFF}' => {}
            c if c.is_control() && !matches!(c, '\n' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

fn long_date(date: NaiveDate) -> String {
    date.format("%a %-d %b %Y").to_string()
}

fn entry_title(d: &Digest) -> String {
    let n = d.insights.len();
    let what = match n {
        0 => "no new insights".to_string(),
        1 => "1 insight".to_string(),
        n => format!("{n} insights"),
    };
    format!("podsift — {what} for {}", long_date(d.date))
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The tag URI authority: the self URL's host (`localhost` when it has none).
fn authority(self_url: &str) -> String {
    url::Url::parse(self_url.trim())
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// `tag:HOST,YYYY-MM-DD:podsift/digest/ID`: stable for a stored digest.
pub fn entry_id(self_url: &str, digest_id: i64, date: NaiveDate) -> String {
    format!(
        "tag:{},{}:podsift/digest/{digest_id}",
        authority(self_url),
        date.format("%Y-%m-%d")
    )
}

fn feed_id(self_url: &str, user: &str) -> String {
    // A tag URI needs a date at which the authority held the name; a fixed year keeps the
    // feed id stable (any date works as long as it never changes). The user name is
    // percent-encoded so the URI stays valid whatever it holds.
    let user: String = url::form_urlencoded::byte_serialize(user.as_bytes()).collect();
    format!("tag:{},2026:podsift/feed/{user}", authority(self_url))
}

/// The HTML fragment of one digest (escaped like the email HTML).
pub fn digest_html(d: &Digest) -> String {
    let mut out = String::new();
    if d.insights.is_empty() {
        out.push_str("<p>No new insights since your last digest.</p>");
        return out;
    }
    out.push_str("<ol>");
    for it in &d.insights {
        out.push_str(&item_html(it));
    }
    out.push_str("</ol>");
    out
}

fn item_html(it: &DigestItem) -> String {
    let text = clean(&it.text, MAX_TEXT_CHARS);
    let quote = clean(&it.quote, MAX_QUOTE_CHARS);
    let podcast = clean(&it.podcast, MAX_TITLE_CHARS);
    let episode = clean(&it.episode, MAX_TITLE_CHARS);
    let link = it.link.as_deref().and_then(safe_url).or_else(|| {
        it.audio_url
            .as_deref()
            .and_then(|a| moment_link(a, it.start_seconds))
    });
    let episode_url = it.episode_url.as_deref().and_then(safe_url);
    let at = timestamp(it.start_seconds);
    let mut s = format!(
        "<li><p><strong>{} — {}</strong></p><p>{}</p>",
        escape(&podcast),
        escape(&episode),
        escape(&text)
    );
    if !quote.is_empty() {
        s.push_str(&format!("<blockquote>“{}”</blockquote>", escape(&quote)));
    }
    let mut links = Vec::new();
    match &link {
        Some(l) => links.push(format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\">▶ Listen at {at}</a>",
            escape(l)
        )),
        None => links.push(format!("At {at}")),
    }
    if let Some(u) = &episode_url {
        links.push(format!(
            "<a href=\"{}\" rel=\"noopener noreferrer\">Episode page</a>",
            escape(u)
        ));
    }
    s.push_str(&format!("<p>{}</p>", links.join(" · ")));
    let reasons: Vec<String> = it
        .reasons
        .iter()
        .take(6)
        .map(|r| clean(r, MAX_REASON_CHARS))
        .filter(|r| !r.is_empty())
        .map(|r| escape(&r))
        .collect();
    if !reasons.is_empty() {
        s.push_str(&format!("<p><em>Why:</em> {}</p>", reasons.join("; ")));
    }
    s.push_str("</li>");
    s
}

/// A plain-text version of one digest (for JSON Feed's `content_text`/`summary`).
fn digest_text(d: &Digest) -> String {
    if d.insights.is_empty() {
        return "No new insights since your last digest.".to_string();
    }
    let mut out = String::new();
    for it in &d.insights {
        out.push_str(&format!(
            "{}. {} ({} — {})\n",
            it.rank,
            clean(&it.text, MAX_TEXT_CHARS),
            clean(&it.podcast, MAX_TITLE_CHARS),
            clean(&it.episode, MAX_TITLE_CHARS)
        ));
    }
    out
}

/// Newest first (date, then id), and the user shown in the title.
fn sorted(digests: &[(i64, Digest)]) -> Vec<&(i64, Digest)> {
    let mut v: Vec<&(i64, Digest)> = digests.iter().collect();
    v.sort_by(|a, b| b.1.date.cmp(&a.1.date).then(b.0.cmp(&a.0)));
    v
}

fn feed_title(digests: &[(i64, Digest)], opts: &FeedOptions) -> String {
    match &opts.title {
        Some(t) => clean(t, MAX_TITLE_CHARS),
        None => match digests.first() {
            Some((_, d)) => format!("podsift digests for {}", clean(&d.user, MAX_TITLE_CHARS)),
            None => "podsift digests".to_string(),
        },
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The Atom 1.0 document of `digests` (`(stored id, digest)`), served at `self_url`.
pub fn atom(digests: &[(i64, Digest)], self_url: &str, opts: &FeedOptions) -> String {
    let entries = sorted(digests);
    let user = digests.first().map(|(_, d)| d.user.as_str()).unwrap_or("");
    let updated = entries
        .first()
        .map(|(_, d)| midnight(d.date))
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    let mut x = String::with_capacity(4096 + digests.len() * 4096);
    x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    x.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.push_str(&format!(
        "  <id>{}</id>\n",
        escape(&feed_id(self_url, user))
    ));
    x.push_str(&format!(
        "  <title>{}</title>\n",
        escape(&feed_title(digests, opts))
    ));
    x.push_str(&format!("  <updated>{}</updated>\n", rfc3339(updated)));
    x.push_str("  <author><name>podsift</name></author>\n");
    x.push_str("  <generator>podsift</generator>\n");
    if let Some(u) = safe_url(self_url) {
        x.push_str(&format!(
            "  <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n",
            escape(&u)
        ));
    }
    if let Some(h) = opts.home_page_url.as_deref().and_then(safe_url) {
        x.push_str(&format!(
            "  <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
            escape(&h)
        ));
    }
    for (id, d) in entries {
        let when = rfc3339(midnight(d.date));
        x.push_str("  <entry>\n");
        x.push_str(&format!(
            "    <id>{}</id>\n",
            escape(&entry_id(self_url, *id, d.date))
        ));
        x.push_str(&format!("    <title>{}</title>\n", escape(&entry_title(d))));
        x.push_str(&format!("    <updated>{when}</updated>\n"));
        x.push_str(&format!("    <published>{when}</published>\n"));
        x.push_str(&format!(
            "    <content type=\"html\">{}</content>\n",
            escape(&digest_html(d))
        ));
        x.push_str("  </entry>\n");
    }
    x.push_str("</feed>\n");
    x
}

/// The JSON Feed 1.1 document of `digests` (`(stored id, digest)`), served at `self_url`.
pub fn json_feed(digests: &[(i64, Digest)], self_url: &str, opts: &FeedOptions) -> String {
    let items: Vec<Value> = sorted(digests)
        .into_iter()
        .map(|(id, d)| {
            let when = rfc3339(midnight(d.date));
            json!({
                "id": entry_id(self_url, *id, d.date),
                "title": entry_title(d),
                "content_html": digest_html(d),
                "content_text": digest_text(d),
                "date_published": when,
                "date_modified": when,
            })
        })
        .collect();
    let mut feed = json!({
        "version": JSON_FEED_VERSION,
        "title": feed_title(digests, opts),
        "authors": [{ "name": "podsift" }],
        "items": items,
    });
    if let Some(u) = safe_url(self_url) {
        feed["feed_url"] = Value::String(u);
    }
    if let Some(h) = opts.home_page_url.as_deref().and_then(safe_url) {
        feed["home_page_url"] = Value::String(h);
    }
    // A Value of strings and arrays always serialises.
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}
