//! The streaming feed parser: one pass over quick-xml events with a small element stack.
//!
//! Design: no DOM. Each start tag is classified once (namespace by declared URI *or* by the
//! conventional prefix, then local name) into a [`Kind`] pushed on the stack, or into a
//! [`Field`] whose text is captured into one reusable buffer until its end tag. Markup
//! inside a captured field (inline HTML, Atom XHTML) is re-serialised into the buffer.
//! Element names live in one byte buffer, so the stack does not allocate per element.
//! End tags are matched by name against the stack (never trusted), which recovers from
//! mismatched and unclosed tags.

use podsift_core::{FeedFormat, ParsedFeed};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::FeedError;
use crate::build::{Builder, Field};
use crate::text::push_entity;
use crate::vocab::{Kind, MAX_DEPTH, MAX_FIELD_BYTES, Ns, ns_for_prefix, ns_for_uri};

const MAX_ERRORS: usize = 1_000;

struct Frame {
    name_start: usize,
    kind: Kind,
}

/// The capture in progress: the field and the raw name of the element that opened it.
struct Capture {
    field: Field,
    name: String,
    nested_same: u32,
    truncated: bool,
    /// Atom `type="xhtml"` / Atom 0.3 `mode="xml"`: the content is markup, so escaped
    /// `&lt;`/`&amp;` stay escaped.
    markup: bool,
    /// Atom 1.0 XHTML: the outer `<div>` is a container, not content (RFC 4287 3.1.1.3).
    strip_div: bool,
}

pub(crate) struct Parser<'b> {
    pub(crate) b: Builder<'b>,
    names: String,
    stack: Vec<Frame>,
    prefixes: Vec<(String, Ns)>,
    capture: Option<Capture>,
    buf: String,
    root: Option<String>,
    saw_feed: bool,
    /// A prebuilt substring searcher: every start tag is checked for `xmlns`.
    xmlns: memchr::memmem::Finder<'static>,
}

impl<'b> Parser<'b> {
    pub(crate) fn new(base_url: Option<&'b str>, warnings: Vec<String>, c1: bool) -> Self {
        let mut b = Builder::new(base_url, c1);
        b.feed.warnings = warnings;
        Self {
            b,
            names: String::with_capacity(256),
            stack: Vec::with_capacity(16),
            prefixes: Vec::new(),
            capture: None,
            buf: String::with_capacity(1024),
            root: None,
            saw_feed: false,
            xmlns: memchr::memmem::Finder::new("xmlns"),
        }
    }

    pub(crate) fn run(mut self, text: &str) -> Result<ParsedFeed, FeedError> {
        let mut reader = Reader::from_str(text);
        {
            let cfg = reader.config_mut();
            cfg.check_end_names = false;
            cfg.allow_unmatched_ends = true;
            cfg.allow_dangling_amp = true;
            cfg.expand_empty_elements = false;
            cfg.trim_text(false);
        }
        let mut errors = 0usize;
        let mut last_err_pos = u64::MAX;
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) => self.on_start(&e, false)?,
                Ok(Event::Empty(e)) => self.on_start(&e, true)?,
                Ok(Event::End(e)) => self.on_end(e.name().as_ref()),
                Ok(Event::Text(t)) => {
                    if self.capture.is_some() {
                        self.push_text(&t);
                    }
                }
                Ok(Event::CData(t)) => {
                    if self.capture.is_some() {
                        self.push_text(&t);
                    }
                }
                Ok(Event::GeneralRef(r)) => {
                    if self.capture.is_some() {
                        self.push_ref(&r);
                    }
                }
                Ok(Event::Eof) => break,
                // DOCTYPE (never expanded), declarations, comments, PIs: skipped.
                Ok(_) => {}
                Err(e) => {
                    let pos = reader.error_position();
                    if self.root.is_none() {
                        return Err(FeedError::Malformed(format!("{e} at byte {pos}")));
                    }
                    errors += 1;
                    self.b
                        .warn(format!("XML error recovered: {e} at byte {pos}"));
                    if errors > MAX_ERRORS || pos == last_err_pos {
                        self.b
                            .warn("too many XML errors: parsing stopped early".to_string());
                        break;
                    }
                    last_err_pos = pos;
                }
            }
        }
        if self.capture.is_some() {
            self.finish_capture();
        }
        while let Some(f) = self.stack.pop() {
            if f.kind != Kind::Root {
                self.b.warn(format!(
                    "unclosed element <{}>",
                    &self.names[f.name_start..]
                ));
            }
            self.names.truncate(f.name_start);
            self.b.close(f.kind);
        }
        let Some(root) = self.root else {
            return Err(FeedError::Malformed("no root element".to_string()));
        };
        if !self.saw_feed {
            return Err(FeedError::NotAFeed(format!(
                "an XML document with root element <{root}>"
            )));
        }
        Ok(self.b.finish())
    }

    fn ns_of(&self, prefix: &str) -> Ns {
        for (p, ns) in self.prefixes.iter().rev() {
            if p == prefix {
                return *ns;
            }
        }
        ns_for_prefix(prefix)
    }

    /// Records `xmlns:p="uri"` declarations; returns the element's own default namespace
    /// (`xmlns="uri"`) if it declares one.
    fn scan_xmlns(&mut self, e: &BytesStart) -> Option<Ns> {
        let raw = e.attributes_raw();
        if raw.len() < 6 || self.xmlns.find(raw.as_bytes()).is_none() {
            return None;
        }
        let mut default = None;
        for a in e.attributes().with_checks(false).flatten() {
            let key = a.key.as_ref();
            if key == "xmlns" {
                default = Some(ns_for_uri(&a.value));
            } else if let Some(p) = key.strip_prefix("xmlns:")
                && self.prefixes.len() < 64
            {
                self.prefixes.push((p.to_string(), ns_for_uri(&a.value)));
            }
        }
        default
    }

    fn on_start(&mut self, e: &BytesStart, empty: bool) -> Result<(), FeedError> {
        let raw: &str = e;
        if !raw.starts_with(|c: char| c.is_alphabetic() || c == '_')
            || memchr::memchr(b'<', raw.as_bytes()).is_some()
        {
            return self.stray_lt(raw, empty);
        }
        if let Some(cap) = &mut self.capture {
            // Markup inside a captured field: keep it as (X)HTML text.
            let raw: &str = e;
            if e.name().as_ref() == cap.name && !empty {
                cap.nested_same += 1;
            }
            if !cap.truncated && self.buf.len() + raw.len() + 3 <= MAX_FIELD_BYTES {
                self.buf.push('<');
                if self.xmlns.find(raw.as_bytes()).is_some() {
                    push_without_xmlns(e, &mut self.buf);
                } else {
                    self.buf.push_str(raw);
                }
                self.buf.push_str(if empty { "/>" } else { ">" });
            }
            return Ok(());
        }
        let default_ns = self.scan_xmlns(e);
        let qname = e.name();
        let full = qname.as_ref();
        let (ns, local) = match full.split_once(':') {
            Some((p, l)) => (self.ns_of(p), l),
            None => (default_ns.unwrap_or(Ns::Plain), full),
        };
        if self.root.is_none() {
            self.root = Some(full.chars().take(64).collect());
            let lower = local.to_ascii_lowercase();
            match lower.as_str() {
                "html" => return Err(FeedError::NotAFeed("an HTML page".to_string())),
                "opml" => {
                    return Err(FeedError::NotAFeed("an OPML subscription list".to_string()));
                }
                "feed" => {
                    self.b.feed.format = FeedFormat::Atom;
                    self.saw_feed = true;
                    self.b.base_attr(e, 0);
                }
                // A lone Atom entry document: a feed of one entry.
                "entry" => {
                    self.b.feed.format = FeedFormat::Atom;
                    self.saw_feed = true;
                    self.b.begin_item(e);
                    let name_start = self.names.len();
                    self.names.push_str(full);
                    self.stack.push(Frame {
                        name_start,
                        kind: Kind::Item,
                    });
                    return Ok(());
                }
                "rss" | "rdf" | "channel" => {
                    self.saw_feed = true;
                    self.b.base_attr(e, 0);
                }
                _ => {}
            }
        }
        // Stray HTML tags (`<b>` left open in a channel or item) are transparent.
        let parent = self
            .stack
            .iter()
            .rev()
            .find(|f| f.kind != Kind::Html)
            .map_or(Kind::Root, |f| f.kind);
        let kind = if self.stack.is_empty() {
            if self.b.feed.format == FeedFormat::Atom {
                Kind::Channel
            } else {
                Kind::Root
            }
        } else {
            match self.b.classify(ns, local, parent, e, empty) {
                Some(crate::build::Classified::Frame(k)) => k,
                Some(crate::build::Classified::Capture(field)) => {
                    if !empty {
                        self.buf.clear();
                        let atom = ns == Ns::Atom
                            || (ns == Ns::Plain && self.b.feed.format == FeedFormat::Atom);
                        let attrs = e.attributes_raw();
                        // Atom 1.0 `type="xhtml"` (div container) vs Atom 0.3
                        // `type="application/xhtml+xml"` / `mode="xml"` (no container).
                        let xhtml10 =
                            atom && (attrs.contains("\"xhtml\"") || attrs.contains("'xhtml'"));
                        let markup =
                            atom && (attrs.contains("xhtml") || attrs.contains("mode=\"xml\""));
                        self.capture = Some(Capture {
                            field,
                            name: full.to_string(),
                            nested_same: 0,
                            truncated: false,
                            markup,
                            strip_div: xhtml10,
                        });
                    } else {
                        self.b.set_field(field, "");
                    }
                    return Ok(());
                }
                None => Kind::Other,
            }
        };
        if kind == Kind::Channel || kind == Kind::Item {
            self.saw_feed = true;
        }
        if empty {
            self.b.close(kind);
            return Ok(());
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(FeedError::TooDeep(MAX_DEPTH));
        }
        let name_start = self.names.len();
        self.names.push_str(full);
        self.stack.push(Frame { name_start, kind });
        Ok(())
    }

    /// A bare `<` in text (`a < b</title>`) makes quick-xml read a bogus tag up to the next
    /// `>`. Re-read it: the part before any inner `<` is text; a final `</name` is an end
    /// tag and a final `<name ...` a start tag; anything between is text.
    fn stray_lt(&mut self, raw: &str, empty: bool) -> Result<(), FeedError> {
        self.b.warn("bare '<' in text kept as text".to_string());
        let mut parts = raw.split('<');
        let first = parts.next().unwrap_or("");
        let rest: Vec<&str> = parts.collect();
        let close = if empty { "/>" } else { ">" };
        if self.capture.is_some() {
            self.push_text("<");
            self.push_text(first);
            if rest.is_empty() {
                self.push_text(close);
            }
        }
        for (i, seg) in rest.iter().enumerate() {
            if i + 1 < rest.len() {
                if self.capture.is_some() {
                    self.push_text("<");
                    self.push_text(seg);
                }
            } else if let Some(name) = seg.strip_prefix('/') {
                self.on_end(name.trim());
            } else if seg.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                let name_len = seg
                    .find(|c: char| c.is_whitespace() || c == '/')
                    .unwrap_or(seg.len());
                let tag = BytesStart::from_content(*seg, name_len);
                self.on_start(&tag, empty)?;
            } else if self.capture.is_some() {
                self.push_text("<");
                self.push_text(seg);
                self.push_text(close);
            }
        }
        Ok(())
    }

    fn on_end(&mut self, name: &str) {
        if let Some(cap) = &mut self.capture {
            if name == cap.name {
                if cap.nested_same == 0 {
                    self.finish_capture();
                    return;
                }
                cap.nested_same -= 1;
            }
            if !cap.truncated && self.buf.len() + name.len() + 3 <= MAX_FIELD_BYTES {
                self.buf.push_str("</");
                self.buf.push_str(name);
                self.buf.push('>');
            }
            return;
        }
        // Find the matching open element (mismatched/unclosed tags are recovered from).
        let mut found = None;
        for (depth, f) in self.stack.iter().enumerate().rev().take(32) {
            let end = self
                .stack
                .get(depth + 1)
                .map_or(self.names.len(), |n| n.name_start);
            if &self.names[f.name_start..end] == name {
                found = Some(depth);
                break;
            }
        }
        let Some(depth) = found else {
            self.b.warn(format!("unmatched end tag </{name}> ignored"));
            return;
        };
        while self.stack.len() > depth {
            let Some(f) = self.stack.pop() else { break };
            if self.stack.len() > depth {
                self.b.warn(format!(
                    "unclosed element <{}>",
                    &self.names[f.name_start..]
                ));
            }
            self.names.truncate(f.name_start);
            self.b.close(f.kind);
        }
    }

    fn push_text(&mut self, t: &str) {
        let Some(cap) = &mut self.capture else { return };
        if cap.truncated {
            return;
        }
        if self.buf.len() + t.len() > MAX_FIELD_BYTES {
            cap.truncated = true;
            let mut cut = MAX_FIELD_BYTES.saturating_sub(self.buf.len());
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            self.buf.push_str(&t[..cut]);
            let msg = format!(
                "field <{}> longer than {MAX_FIELD_BYTES} bytes: cut",
                cap.name
            );
            self.b.warn(msg);
            return;
        }
        self.buf.push_str(t);
    }

    fn push_ref(&mut self, name: &str) {
        if self.capture.as_ref().is_some_and(|c| c.truncated) || self.buf.len() > MAX_FIELD_BYTES {
            return;
        }
        if self.capture.as_ref().is_some_and(|c| c.markup)
            && matches!(name, "lt" | "gt" | "amp" | "quot" | "apos")
        {
            self.buf.push('&');
            self.buf.push_str(name);
            self.buf.push(';');
            return;
        }
        if !push_entity(name.as_bytes(), &mut self.buf) {
            let shown: String = name.chars().take(40).collect();
            self.b
                .warn(format!("undefined entity &{shown}; kept as text"));
        }
    }

    fn finish_capture(&mut self) {
        if let Some(cap) = self.capture.take() {
            let text = if cap.strip_div {
                strip_div(&self.buf)
            } else {
                &self.buf
            };
            self.b.set_field(cap.field, text);
            self.buf.clear();
        }
    }
}

/// Re-serialises a start tag's name and attributes without `xmlns` declarations
/// (`<div xmlns="http://www.w3.org/1999/xhtml">` becomes `<div>` inside captured markup).
fn push_without_xmlns(e: &BytesStart, out: &mut String) {
    out.push_str(e.name().as_ref());
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let q = if a.value.contains('"') { '\'' } else { '"' };
        out.push(' ');
        out.push_str(key);
        out.push('=');
        out.push(q);
        out.push_str(&a.value);
        out.push(q);
    }
}

/// The inside of an XHTML container `<div ...>...</div>`, or the text unchanged.
fn strip_div(s: &str) -> &str {
    let t = s.trim();
    if t.starts_with("<div")
        && t.ends_with("</div>")
        && let Some(open_end) = t.find('>')
    {
        let inner_end = t.len() - "</div>".len();
        if open_end < inner_end && balanced_divs(&t[open_end + 1..inner_end]) {
            return &t[open_end + 1..inner_end];
        }
    }
    s
}

/// Whether every `</div>` in `s` closes a `<div` opened in `s` (so the outer div wraps all).
fn balanced_divs(s: &str) -> bool {
    let mut depth = 0i32;
    let mut rest = s;
    while let Some(i) = rest.find("div") {
        let before = &rest[..i];
        if before.ends_with("</") {
            depth -= 1;
            if depth < 0 {
                return false;
            }
        } else if before.ends_with('<') {
            depth += 1;
        }
        rest = &rest[i + 3..];
    }
    depth == 0
}
