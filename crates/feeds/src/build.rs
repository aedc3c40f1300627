//! Turning classified elements into a [`ParsedFeed`]: which element means what in which
//! context, the precedence rules between competing elements, and URL resolution.

use chrono::{DateTime, Utc};
use podsift_core::{
    ChaptersRef, Enclosure, FeedFormat, ParsedEpisode, ParsedFeed, Person, TranscriptRef,
};
use quick_xml::events::BytesStart;
use url::Url;

use crate::dates::parse_date;
use crate::text::{non_empty, parse_duration, unescape};
use crate::vocab::{Kind, MAX_ITEMS, MAX_WARNINGS, Ns};

const MAX_LIST: usize = 64;

/// A text element whose content is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Title,
    Link,
    Description,
    ContentEncoded,
    ItunesSummary,
    ItunesSubtitle,
    AtomContent,
    AtomSummary,
    Guid,
    PubDate,
    DcDate,
    AtomPublished,
    AtomUpdated,
    Duration,
    Season,
    EpisodeNumber,
    EpisodeType,
    ItunesAuthor,
    RssAuthor,
    DcCreator,
    AtomAuthorName,
    Explicit,
    NewFeedUrl,
    Ttl,
    Language,
    Category,
    ImageUrl,
    AtomLogo,
    AtomIcon,
    PersonName,
    MediaTitle,
}

/// What the parser should do with a start tag.
pub(crate) enum Classified {
    Frame(Kind),
    Capture(Field),
}

/// Competing sources for one output field, resolved when the item/feed is complete.
#[derive(Default)]
struct Alt {
    description: Option<String>,
    content_encoded: Option<String>,
    itunes_summary: Option<String>,
    itunes_subtitle: Option<String>,
    atom_content: Option<String>,
    atom_summary: Option<String>,
    // Dates are parsed as they are read (the first parseable one of each kind is kept).
    pub_date: Option<DateTime<Utc>>,
    dc_date: Option<DateTime<Utc>>,
    atom_published: Option<DateTime<Utc>>,
    atom_updated: Option<DateTime<Utc>>,
    itunes_author: Option<String>,
    rss_author: Option<String>,
    dc_creator: Option<String>,
    atom_author: Option<String>,
    itunes_image: Option<String>,
    other_image: Option<String>,
    media_enclosure: Option<Enclosure>,
    atom_link: Option<String>,
    base: Option<String>,
    /// `xml:lang` on the root/channel (a fallback for `<language>`).
    lang: Option<String>,
    /// `<guid isPermaLink="false">`: the guid is not the item's URL.
    guid_not_permalink: bool,
    /// `media:title` (a fallback title) and RDF `rdf:about` (a fallback id).
    media_title: Option<String>,
    about: Option<String>,
}

pub(crate) struct Builder<'b> {
    pub(crate) feed: ParsedFeed,
    base_url: Option<&'b str>,
    feed_alt: Alt,
    item: Option<(ParsedEpisode, Alt)>,
    item_bases: Vec<Option<String>>,
    pending_person: Option<Person>,
    items_capped: bool,
    /// The document holds C1 control characters: map them in every field.
    c1: bool,
}

/// The values of the named attributes (matched by full name, else by local name),
/// unescaped and trimmed; empty values are `None`. A fixed-size array: no allocation
/// besides the values themselves.
fn attr_str<const N: usize>(e: &BytesStart, names: [&str; N]) -> [Option<String>; N] {
    let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        let idx = names.iter().position(|n| *n == key).or_else(|| {
            let local = key.rsplit(':').next().unwrap_or(key);
            names.iter().position(|n| *n == local)
        });
        if let Some(i) = idx
            && out[i].is_none()
        {
            out[i] = non_empty(&unescape(&a.value));
        }
    }
    out
}

impl<'b> Builder<'b> {
    pub(crate) fn new(base_url: Option<&'b str>, c1: bool) -> Self {
        Self {
            c1,
            feed: ParsedFeed::default(),
            base_url,
            feed_alt: Alt::default(),
            item: None,
            item_bases: Vec::new(),
            pending_person: None,
            items_capped: false,
        }
    }

    pub(crate) fn warn(&mut self, msg: String) {
        if self.feed.warnings.len() < MAX_WARNINGS {
            self.feed.warnings.push(msg);
        } else if self.feed.warnings.len() == MAX_WARNINGS {
            self.feed
                .warnings
                .push("further warnings suppressed".to_string());
        }
    }

    /// Records `xml:base` on the root/channel (`level` 0) or an item (`level` 1).
    pub(crate) fn base_attr(&mut self, e: &BytesStart, level: u8) {
        if level == 0 && e.attributes_raw().contains("xml:lang") {
            let [lang] = attr_str(e, ["xml:lang"]);
            if self.feed_alt.lang.is_none() {
                self.feed_alt.lang = lang;
            }
        }
        if !e.attributes_raw().contains("xml:base") {
            return;
        }
        let [base] = attr_str(e, ["xml:base"]);
        if level == 0 {
            if self.feed_alt.base.is_none() {
                self.feed_alt.base = base;
            }
        } else if let Some((_, alt)) = &mut self.item {
            alt.base = base;
        }
    }

    /// An item/entry starts.
    pub(crate) fn begin_item(&mut self, e: &BytesStart) {
        self.item = Some(Default::default());
        self.base_attr(e, 1);
        if e.attributes_raw().contains("about") {
            let [about] = attr_str(e, ["rdf:about"]);
            if let Some((_, alt)) = &mut self.item {
                alt.about = about;
            }
        }
    }

    pub(crate) fn classify(
        &mut self,
        ns: Ns,
        local: &str,
        parent: Kind,
        e: &BytesStart,
        empty: bool,
    ) -> Option<Classified> {
        use Classified::{Capture, Frame};
        let atom_doc = self.feed.format == FeedFormat::Atom;
        let ns = if atom_doc && ns == Ns::Plain {
            Ns::Atom
        } else {
            ns
        };
        // Like iTunes, accept RSS element names in any case (`<TiTlE>`).
        let local = if ns == Ns::Plain && local.bytes().any(|b| b.is_ascii_uppercase()) {
            canonical_rss_name(local).unwrap_or(local)
        } else {
            local
        };
        let in_item = self.item.is_some();
        match (ns, local) {
            (Ns::Plain, "channel") if parent == Kind::Root => {
                self.base_attr(e, 0);
                return Some(Frame(Kind::Channel));
            }
            (Ns::Plain, "item") | (Ns::Atom, "entry")
                if !in_item && matches!(parent, Kind::Channel | Kind::Root) =>
            {
                if self.feed.episodes.len() >= MAX_ITEMS {
                    if !self.items_capped {
                        self.items_capped = true;
                        self.warn(format!("more than {MAX_ITEMS} items: the rest ignored"));
                    }
                    return None;
                }
                self.begin_item(e);
                return Some(Frame(Kind::Item));
            }
            _ => {}
        }
        // RSS 1.0 puts <image> beside the channel, under the root.
        if ns == Ns::Plain && local == "image" && parent == Kind::Root && !in_item {
            return Some(Frame(Kind::Image));
        }
        if parent == Kind::Image {
            return (local == "url").then_some(Capture(Field::ImageUrl));
        }
        if parent == Kind::AtomAuthor {
            return (local == "name").then_some(Capture(Field::AtomAuthorName));
        }
        let level_ok = if in_item {
            parent == Kind::Item
        } else {
            parent == Kind::Channel
        };
        let f = match ns {
            Ns::Plain if level_ok => match local {
                "title" => Field::Title,
                "link" => {
                    if let [Some(href)] = attr_str(e, ["href"]) {
                        self.set_field(Field::Link, &href);
                        if empty {
                            return None;
                        }
                    }
                    Field::Link
                }
                "description" => Field::Description,
                "guid" if in_item => {
                    let raw = e.attributes_raw();
                    if raw.contains("isPermaLink")
                        && raw.to_ascii_lowercase().contains("false")
                        && let Some((_, alt)) = &mut self.item
                    {
                        alt.guid_not_permalink = true;
                    }
                    Field::Guid
                }
                "pubDate" => Field::PubDate,
                "author" if in_item => Field::RssAuthor,
                "managingEditor" if !in_item => Field::RssAuthor,
                "language" if !in_item => Field::Language,
                "ttl" if !in_item => Field::Ttl,
                "category" if !in_item => Field::Category,
                "image" if !in_item => return Some(Frame(Kind::Image)),
                "enclosure" if in_item => {
                    self.enclosure(e, false);
                    return None;
                }
                "b" | "i" | "em" | "strong" | "p" | "br" | "a" | "span" | "div" | "font" | "u"
                | "hr" | "img" | "center" | "small" | "big" => return Some(Frame(Kind::Html)),
                _ => return None,
            },
            Ns::Atom if level_ok => match local {
                "title" => Field::Title,
                "link" => {
                    self.atom_link(e);
                    return None;
                }
                "id" if in_item => Field::Guid,
                "published" => Field::AtomPublished,
                "updated" => Field::AtomUpdated,
                "summary" => Field::AtomSummary,
                // Atom 0.3 names: tagline, issued, modified.
                "subtitle" | "tagline" => Field::AtomSummary,
                "issued" => Field::AtomPublished,
                "modified" => Field::AtomUpdated,
                "content" => Field::AtomContent,
                "author" => return Some(Frame(Kind::AtomAuthor)),
                "logo" => Field::AtomLogo,
                "icon" => Field::AtomIcon,
                "category" if !in_item => {
                    if let [Some(term)] = attr_str(e, ["term"]) {
                        self.add_category(term.clone());
                    }
                    return None;
                }
                _ => return None,
            },
            Ns::Itunes => match local {
                "category" if !in_item => {
                    if let [Some(text)] = attr_str(e, ["text"]) {
                        self.add_category(text.clone());
                    }
                    return None;
                }
                _ if !level_ok => return None,
                // `href` per Apple; old feeds wrote `url=`, or `<itunes:link rel="image">`.
                "image" | "link" => {
                    let [href, url, rel] = attr_str(e, ["href", "url", "rel"]);
                    if local == "link" && rel.as_deref() != Some("image") {
                        return None;
                    }
                    let alt = self.alt();
                    if alt.itunes_image.is_none() {
                        alt.itunes_image = href.or(url);
                    }
                    return None;
                }
                "duration" => Field::Duration,
                "season" => Field::Season,
                "episode" => Field::EpisodeNumber,
                "episodeType" => Field::EpisodeType,
                "author" => Field::ItunesAuthor,
                "summary" => Field::ItunesSummary,
                "subtitle" => Field::ItunesSubtitle,
                "explicit" => Field::Explicit,
                "new-feed-url" if !in_item => Field::NewFeedUrl,
                _ => return None,
            },
            Ns::Podcast if level_ok => match local {
                "transcript" if in_item => {
                    let [url, ty, lang, rel] = attr_str(e, ["url", "type", "language", "rel"]);
                    if let (Some(url), Some((ep, _))) = (url, &mut self.item)
                        && ep.transcripts.len() < MAX_LIST
                    {
                        ep.transcripts.push(TranscriptRef {
                            url,
                            mime_type: ty,
                            language: lang,
                            rel,
                        });
                    }
                    return None;
                }
                "chapters" if in_item => {
                    let [url, ty] = attr_str(e, ["url", "type"]);
                    if let (Some(url), Some((ep, _))) = (url, &mut self.item)
                        && ep.chapters.is_none()
                    {
                        ep.chapters = Some(ChaptersRef { url, mime_type: ty });
                    }
                    return None;
                }
                "person" => {
                    let [role, group, href, img] = attr_str(e, ["role", "group", "href", "img"]);
                    self.pending_person = Some(Person {
                        name: String::new(),
                        // The namespace's defaults: role "host" in group "cast".
                        role: Some(role.map_or_else(|| "host".to_string(), |r| r.to_lowercase())),
                        group: Some(group.map_or_else(|| "cast".to_string(), |g| g.to_lowercase())),
                        href,
                        img,
                    });
                    Field::PersonName
                }
                _ => return None,
            },
            Ns::Content if level_ok && local == "encoded" => Field::ContentEncoded,
            Ns::Dc if level_ok => match local {
                // Fallbacks: the first of title/dc:title (description/dc:description) wins.
                "title" => Field::Title,
                "description" => Field::Description,
                "creator" => Field::DcCreator,
                "date" => Field::DcDate,
                "language" if !in_item => Field::Language,
                _ => return None,
            },
            // Channel-level Media RSS artwork: an image fallback.
            Ns::Media if !in_item && parent == Kind::Channel => {
                let [url, ty, medium] = attr_str(e, ["url", "type", "medium"]);
                let image = local == "thumbnail"
                    || (local == "content"
                        && (medium.as_deref() == Some("image")
                            || ty.as_deref().is_some_and(|t| t.starts_with("image/"))));
                if image && self.feed_alt.other_image.is_none() {
                    self.feed_alt.other_image = url;
                }
                return None;
            }
            Ns::Media if in_item => {
                match local {
                    "title" => return Some(Capture(Field::MediaTitle)),
                    "content" => self.enclosure(e, true),
                    "thumbnail" => {
                        let [url] = attr_str(e, ["url"]);
                        let alt = self.alt();
                        if alt.other_image.is_none() {
                            alt.other_image = url;
                        }
                    }
                    _ => {}
                }
                return None;
            }
            _ => return None,
        };
        Some(Capture(f))
    }

    fn alt(&mut self) -> &mut Alt {
        match &mut self.item {
            Some((_, alt)) => alt,
            None => &mut self.feed_alt,
        }
    }

    fn add_category(&mut self, c: String) {
        if self.feed.categories.len() < MAX_LIST && !self.feed.categories.contains(&c) {
            self.feed.categories.push(c);
        }
    }

    fn enclosure(&mut self, e: &BytesStart, media: bool) {
        let names = if media {
            ["url", "type", "fileSize"]
        } else {
            ["url", "type", "length"]
        };
        let [url, ty, len] = attr_str(e, names);
        let Some(url) = url else { return };
        let Some((ep, alt)) = &mut self.item else {
            return;
        };
        let enc = Enclosure {
            url,
            mime_type: ty,
            length: len
                .and_then(|l| l.trim().parse::<u64>().ok())
                .filter(|l| *l > 0),
        };
        // Keep the first enclosure, unless a later one is audio/video and it is not
        // (cover art published as an enclosure is common).
        let is_av = |e: &Enclosure| {
            e.mime_type
                .as_deref()
                .is_some_and(|t| t.starts_with("audio/") || t.starts_with("video/"))
        };
        let slot = if media {
            &mut alt.media_enclosure
        } else {
            &mut ep.enclosure
        };
        let replace = match slot {
            None => true,
            Some(cur) => !is_av(cur) && is_av(&enc),
        };
        if replace {
            *slot = Some(enc);
        }
    }

    fn atom_link(&mut self, e: &BytesStart) {
        let [href, rel, ty, len] = attr_str(e, ["href", "rel", "type", "length"]);
        let Some(href) = href else { return };
        match rel.as_deref().unwrap_or("alternate") {
            "alternate" => {
                let alt = self.alt();
                if alt.atom_link.is_none() {
                    alt.atom_link = Some(href);
                }
            }
            "enclosure" => {
                if let Some((ep, _)) = &mut self.item
                    && ep.enclosure.is_none()
                {
                    ep.enclosure = Some(Enclosure {
                        url: href,
                        mime_type: ty,
                        length: len.and_then(|l| l.trim().parse().ok()).filter(|l| *l > 0),
                    });
                }
            }
            _ => {}
        }
    }

    /// Stores a captured field's text (raw: trimmed here).
    pub(crate) fn set_field(&mut self, field: Field, raw: &str) {
        let demoronized;
        let text: &str = if self.c1 {
            demoronized = crate::text::demoronize(raw.trim());
            &demoronized
        } else {
            raw.trim()
        };
        if field == Field::PersonName {
            if let Some(mut p) = self.pending_person.take()
                && !text.is_empty()
            {
                p.name = text.to_string();
                let list = match &mut self.item {
                    Some((ep, _)) => &mut ep.persons,
                    None => &mut self.feed.persons,
                };
                if list.len() < MAX_LIST {
                    list.push(p);
                }
            }
            return;
        }
        if text.is_empty() {
            return;
        }
        let first = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = Some(text.to_string());
            }
        };
        if let Some((ep, alt)) = &mut self.item {
            match field {
                Field::Title => first(&mut ep.title),
                Field::MediaTitle => first(&mut alt.media_title),
                Field::Link => first(&mut ep.link),
                Field::Guid => first(&mut ep.guid),
                Field::Description => first(&mut alt.description),
                Field::ContentEncoded => first(&mut alt.content_encoded),
                // (Lower-priority descriptions are not even stored once a better one exists.)
                Field::ItunesSummary
                    if alt.description.is_none() && alt.content_encoded.is_none() =>
                {
                    first(&mut alt.itunes_summary)
                }
                Field::ItunesSubtitle
                    if alt.description.is_none() && alt.content_encoded.is_none() =>
                {
                    first(&mut alt.itunes_subtitle)
                }
                Field::AtomContent => first(&mut alt.atom_content),
                Field::AtomSummary => first(&mut alt.atom_summary),
                Field::PubDate => date(&mut alt.pub_date, text),
                Field::DcDate => date(&mut alt.dc_date, text),
                Field::AtomPublished => date(&mut alt.atom_published, text),
                Field::AtomUpdated => date(&mut alt.atom_updated, text),
                Field::ItunesAuthor => first(&mut alt.itunes_author),
                Field::RssAuthor => first(&mut alt.rss_author),
                Field::DcCreator => first(&mut alt.dc_creator),
                Field::AtomAuthorName => first(&mut alt.atom_author),
                Field::Duration => ep.duration_seconds = parse_duration(text),
                Field::Season => ep.season = text.parse().ok(),
                Field::EpisodeNumber => ep.episode = text.parse().ok(),
                Field::EpisodeType => {
                    let t = text.to_ascii_lowercase();
                    ep.episode_type =
                        matches!(t.as_str(), "full" | "trailer" | "bonus").then_some(t);
                }
                Field::Explicit => ep.explicit = parse_explicit(text),
                _ => {}
            }
            return;
        }
        let feed = &mut self.feed;
        let alt = &mut self.feed_alt;
        match field {
            Field::Title => first(&mut feed.title),
            Field::Link => first(&mut feed.link),
            Field::Description => first(&mut alt.description),
            Field::ItunesSummary => first(&mut alt.itunes_summary),
            Field::ItunesSubtitle => first(&mut alt.itunes_subtitle),
            Field::AtomSummary | Field::AtomContent => first(&mut alt.atom_summary),
            Field::ItunesAuthor => first(&mut alt.itunes_author),
            Field::RssAuthor => first(&mut alt.rss_author),
            Field::DcCreator => first(&mut alt.dc_creator),
            Field::AtomAuthorName => first(&mut alt.atom_author),
            Field::Language => first(&mut feed.language),
            Field::NewFeedUrl => first(&mut feed.new_feed_url),
            Field::Ttl => feed.ttl_minutes = text.parse().ok(),
            Field::Explicit => feed.explicit = parse_explicit(text),
            Field::Category
                if feed.categories.len() < MAX_LIST
                    && !feed.categories.iter().any(|c| c == text) =>
            {
                feed.categories.push(text.to_string());
            }
            Field::ImageUrl | Field::AtomLogo | Field::AtomIcon => first(&mut alt.other_image),
            _ => {}
        }
    }

    /// An element closed.
    pub(crate) fn close(&mut self, kind: Kind) {
        if kind != Kind::Item {
            return;
        }
        let Some((mut ep, alt)) = self.item.take() else {
            return;
        };
        ep.description = alt
            .content_encoded
            .or(alt.description)
            .or(alt.atom_content)
            .or(alt.atom_summary)
            .or(alt.itunes_summary)
            .or(alt.itunes_subtitle);
        ep.published = alt
            .pub_date
            .or(alt.dc_date)
            .or(alt.atom_published)
            .or(alt.atom_updated);
        ep.author = alt
            .itunes_author
            .or(alt.dc_creator)
            .or(alt.rss_author)
            .or(alt.atom_author);
        if ep.link.is_none() {
            ep.link = alt.atom_link;
        }
        // A permalink guid (the RSS default) that is a URL doubles as the link.
        if ep.link.is_none()
            && !alt.guid_not_permalink
            && let Some(g) = &ep.guid
            && is_absolute(g)
        {
            ep.link = Some(g.clone());
        }
        if ep.title.is_none() {
            ep.title = alt.media_title;
        }
        if ep.guid.is_none() {
            ep.guid = alt.about;
        }
        if ep.enclosure.is_none() {
            ep.enclosure = alt.media_enclosure;
        }
        ep.image = alt.itunes_image.or(alt.other_image);
        self.item_bases.push(alt.base);
        self.feed.episodes.push(ep);
    }

    /// Resolves precedence and relative URLs; returns the feed.
    pub(crate) fn finish(mut self) -> ParsedFeed {
        let alt = std::mem::take(&mut self.feed_alt);
        let feed = &mut self.feed;
        feed.description = alt
            .description
            .or(alt.atom_summary)
            .or(alt.itunes_summary)
            .or(alt.itunes_subtitle);
        feed.author = alt
            .itunes_author
            .or(alt.rss_author)
            .or(alt.dc_creator)
            .or(alt.atom_author);
        feed.image = alt.itunes_image.or(alt.other_image);
        if feed.language.is_none() {
            feed.language = alt.lang;
        }
        if let Some(l) = &mut feed.language
            && l.contains('_')
        {
            *l = l.replace('_', "-"); // en_US -> en-US (BCP 47)
        }
        if feed.link.is_none() {
            feed.link = alt.atom_link;
        }
        let given = self.base_url.and_then(|b| Url::parse(b.trim()).ok());
        let xml_base = alt.base.and_then(|b| join(given.as_ref(), &b));
        let link_base = feed.link.as_deref().and_then(|l| Url::parse(l).ok());
        let base = xml_base.or(given).or(link_base);
        let b = base.as_ref();
        for slot in [&mut feed.link, &mut feed.image, &mut feed.new_feed_url] {
            resolve_opt(b, slot);
        }
        for p in &mut feed.persons {
            resolve_person(b, p);
        }
        for (ep, item_base) in feed.episodes.iter_mut().zip(self.item_bases) {
            let ib = item_base.and_then(|x| join(b, &x));
            let b = ib.as_ref().or(b);
            resolve_opt(b, &mut ep.link);
            resolve_opt(b, &mut ep.image);
            if let Some(e) = &mut ep.enclosure {
                resolve(b, &mut e.url);
            }
            for t in &mut ep.transcripts {
                resolve(b, &mut t.url);
            }
            if let Some(c) = &mut ep.chapters {
                resolve(b, &mut c.url);
            }
            for p in &mut ep.persons {
                resolve_person(b, p);
            }
        }
        self.feed
    }
}

fn canonical_rss_name(local: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "channel",
        "item",
        "title",
        "link",
        "description",
        "guid",
        "pubDate",
        "author",
        "managingEditor",
        "language",
        "ttl",
        "category",
        "image",
        "enclosure",
        "url",
    ];
    NAMES
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(local))
}

fn date(slot: &mut Option<DateTime<Utc>>, text: &str) {
    if slot.is_none() {
        *slot = parse_date(text);
    }
}

fn parse_explicit(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "yes" | "true" | "explicit" => Some(true),
        "no" | "false" | "clean" => Some(false),
        _ => None,
    }
}

fn join(base: Option<&Url>, s: &str) -> Option<Url> {
    match base {
        Some(b) => b.join(s).ok(),
        None => Url::parse(s).ok(),
    }
}

fn is_absolute(s: &str) -> bool {
    let lower = |p: &str| {
        s.as_bytes()
            .get(..p.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
    };
    lower("http://") || lower("https://")
}

fn resolve(base: Option<&Url>, s: &mut String) {
    if is_absolute(s) {
        return;
    }
    if let Some(b) = base
        && let Ok(u) = b.join(s.trim())
    {
        *s = u.to_string();
    }
}

fn resolve_opt(base: Option<&Url>, s: &mut Option<String>) {
    if let Some(v) = s {
        resolve(base, v);
    }
}

fn resolve_person(base: Option<&Url>, p: &mut Person) {
    resolve_opt(base, &mut p.href);
    resolve_opt(base, &mut p.img);
}
