//! OPML subscription lists: import (nested outlines flattened, categories from parent
//! outlines, entities decoded, de-duplicated by URL) and export.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::text::{escape_xml, non_empty, unescape};

const MAX_DEPTH: usize = 256;
const MAX_OUTLINES: usize = 100_000;

/// One subscription from an OPML file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpmlOutline {
    /// The outline's `text`, else its `title`.
    pub title: Option<String>,
    /// The feed URL (`xmlUrl`, matched case-insensitively).
    pub xml_url: String,
    /// The site URL (`htmlUrl`).
    pub html_url: Option<String>,
    /// Titles of the enclosing (folder) outlines, outermost first.
    pub category: Vec<String>,
}

/// Why an OPML document could not be read. All variants are permanent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpmlError {
    /// Not XML at all.
    #[error("not XML")]
    NotXml,
    /// XML, but its root element is not `<opml>` (the name is given).
    #[error("not an OPML document (root element <{0}>)")]
    NotOpml(String),
    /// Broken XML before any outline could be read.
    #[error("malformed OPML: {0}")]
    Malformed(String),
    /// Outlines nested deeper than the limit.
    #[error("outlines nested deeper than {0} levels")]
    TooDeep(usize),
}

struct Open {
    /// The folder title this outline contributes to its children (None: not a folder).
    folder: Option<String>,
}

/// Parses an OPML document into a flat list of feed outlines (document order, first
/// occurrence of each `xmlUrl` wins).
pub fn parse_opml(bytes: &[u8]) -> Result<Vec<OpmlOutline>, OpmlError> {
    let decoded = crate::decode::decode(bytes);
    let text = decoded.text.trim_start();
    if !text.starts_with('<') {
        return Err(OpmlError::NotXml);
    }
    let mut reader = Reader::from_str(text);
    {
        let cfg = reader.config_mut();
        cfg.check_end_names = false;
        cfg.allow_unmatched_ends = true;
        cfg.allow_dangling_amp = true;
    }
    let mut out: Vec<OpmlOutline> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root_seen = false;
    let mut errors = 0;
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                if e.local_name().as_ref().eq_ignore_ascii_case("outline") {
                    stack.pop();
                }
                continue;
            }
            Ok(Event::Eof) => break,
            Ok(_) => continue,
            Err(e) => {
                if !root_seen {
                    return Err(OpmlError::Malformed(e.to_string()));
                }
                errors += 1;
                if errors > 100 {
                    break;
                }
                continue;
            }
        };
        let name = e.local_name();
        let local = name.as_ref();
        if !root_seen {
            root_seen = true;
            if !local.eq_ignore_ascii_case("opml") {
                return Err(OpmlError::NotOpml(local.chars().take(64).collect()));
            }
            continue;
        }
        if !local.eq_ignore_ascii_case("outline") {
            continue;
        }
        let (o, sublist) = read_outline(&e);
        let folder = if o.xml_url.is_empty() {
            o.title.clone()
        } else {
            None
        };
        if !o.xml_url.is_empty()
            && !sublist
            && out.len() < MAX_OUTLINES
            && seen.insert(o.xml_url.clone())
        {
            let category = stack.iter().filter_map(|s| s.folder.clone()).collect();
            out.push(OpmlOutline { category, ..o });
        }
        if !empty {
            if stack.len() >= MAX_DEPTH {
                return Err(OpmlError::TooDeep(MAX_DEPTH));
            }
            stack.push(Open { folder });
        }
    }
    if !root_seen {
        return Err(OpmlError::Malformed("no root element".to_string()));
    }
    Ok(out)
}

/// Reads one outline; the flag is set for outlines that point at another list
/// (`type="source"` or `"include"`) rather than a feed.
fn read_outline(e: &BytesStart) -> (OpmlOutline, bool) {
    let mut o = OpmlOutline::default();
    let mut text = None;
    let mut sublist = false;
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.local_name();
        let key = key.as_ref().to_ascii_lowercase();
        let value = || non_empty(&unescape(&a.value));
        match key.as_str() {
            "xmlurl" if o.xml_url.is_empty() => o.xml_url = value().unwrap_or_default(),
            "htmlurl" if o.html_url.is_none() => o.html_url = value(),
            "title" if o.title.is_none() => o.title = value(),
            "text" if text.is_none() => text = value(),
            "type" => {
                let t = a.value.trim().to_ascii_lowercase();
                // WordPress writes `type="link"` for feeds: only these two are lists.
                sublist = matches!(t.as_str(), "source" | "include");
            }
            _ => {}
        }
    }
    // Like listparser (and most readers): `text` is the display name, `title` the fallback.
    if text.is_some() {
        o.title = text;
    }
    (o, sublist)
}

/// Writes an OPML 2.0 document. Outlines whose `category` paths are equal and adjacent
/// share folder outlines; the result parses back to the same list with [`parse_opml`].
pub fn write_opml(title: &str, outlines: &[OpmlOutline]) -> String {
    let mut s = String::with_capacity(256 + outlines.len() * 160);
    s.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<opml version=\"2.0\">\n  <head>\n    <title>",
    );
    s.push_str(&escape_xml(title));
    s.push_str("</title>\n  </head>\n  <body>\n");
    let mut open: Vec<&str> = Vec::new();
    for o in outlines {
        let common = open
            .iter()
            .zip(&o.category)
            .take_while(|(a, b)| **a == b.as_str())
            .count();
        while open.len() > common {
            open.pop();
            indent(&mut s, open.len());
            s.push_str("</outline>\n");
        }
        for c in &o.category[common..] {
            indent(&mut s, open.len());
            s.push_str("<outline text=\"");
            s.push_str(&escape_xml(c));
            s.push_str("\" title=\"");
            s.push_str(&escape_xml(c));
            s.push_str("\">\n");
            open.push(c);
        }
        indent(&mut s, open.len());
        s.push_str("<outline type=\"rss\"");
        if let Some(t) = &o.title {
            s.push_str(" text=\"");
            s.push_str(&escape_xml(t));
            s.push_str("\" title=\"");
            s.push_str(&escape_xml(t));
            s.push('"');
        }
        s.push_str(" xmlUrl=\"");
        s.push_str(&escape_xml(&o.xml_url));
        s.push('"');
        if let Some(h) = &o.html_url {
            s.push_str(" htmlUrl=\"");
            s.push_str(&escape_xml(h));
            s.push('"');
        }
        s.push_str("/>\n");
    }
    while !open.is_empty() {
        open.pop();
        indent(&mut s, open.len());
        s.push_str("</outline>\n");
    }
    s.push_str("  </body>\n</opml>\n");
    s
}

fn indent(s: &mut String, level: usize) {
    for _ in 0..level + 2 {
        s.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE opml [ <!ENTITY a "aaaaaaaaaa"> ]>
<opml version="2.0"><head><title>Subs</title></head><body>
  <outline text="Tech &amp; Science">
    <outline text="Caf&eacute; &#x4E2D;&#25991;" type="rss" xmlUrl="http://a.example/feed?x=1&amp;y=2" htmlUrl="http://a.example/"/>
    <outline text="Inner"><outline title="B" text="b-text" xmlURL="http://b.example/rss"/></outline>
  </outline>
  <outline text="dup" xmlUrl="http://a.example/feed?x=1&amp;y=2"/>
  <outline text="&a;" xmlurl="http://c.example/rss"/>
</body></opml>"#;

    #[test]
    fn parses_nested_entities_and_dedupes() {
        let v = parse_opml(SAMPLE.as_bytes()).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].title.as_deref(), Some("Café 中文"));
        assert_eq!(v[0].xml_url, "http://a.example/feed?x=1&y=2");
        assert_eq!(v[0].html_url.as_deref(), Some("http://a.example/"));
        assert_eq!(v[0].category, vec!["Tech & Science"]);
        assert_eq!(v[1].title.as_deref(), Some("b-text"));
        assert_eq!(v[1].category, vec!["Tech & Science", "Inner"]);
        assert_eq!(
            v[2].title.as_deref(),
            Some("&a;"),
            "DTD entity not expanded"
        );
        assert!(v[2].category.is_empty());
    }

    #[test]
    fn round_trip() {
        let v = parse_opml(SAMPLE.as_bytes()).unwrap();
        let xml = write_opml("Mine <&>", &v);
        assert_eq!(parse_opml(xml.as_bytes()).unwrap(), v);
    }

    #[test]
    fn rejects_non_opml() {
        assert_eq!(parse_opml(b"<rss/>"), Err(OpmlError::NotOpml("rss".into())));
        assert_eq!(parse_opml(b"hello"), Err(OpmlError::NotXml));
    }

    #[test]
    fn deep_nesting_refused() {
        let mut s = String::from("<opml><body>");
        for _ in 0..1000 {
            s.push_str("<outline text=\"x\">");
        }
        assert_eq!(parse_opml(s.as_bytes()), Err(OpmlError::TooDeep(MAX_DEPTH)));
    }
}
