//! Hostile HTML through the renderer and through `sanitize_html`: feedparser's 745
//! HTML-sanitisation cases (when the shared corpora are present) and inline cases (always).

mod common;

use std::path::PathBuf;

use podsift_core::DigestStats;
use podsift_digest::{Pick, build_digest, render, sanitize_html};
use scraper::{Html, Selector};

/// Elements that must never appear in any output (the digest template uses none of them).
const BANNED_ELEMENTS: &[&str] = &[
    "script", "iframe", "object", "embed", "style", "applet", "frame", "frameset", "link", "base",
    "form", "input", "button", "textarea", "svg", "math", "template", "noscript", "img", "video",
    "audio", "source", "xml",
];
/// Attributes holding URLs.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "poster",
    "lowsrc",
    "dynsrc",
    "cite",
    "longdesc",
    "xlink:href",
    "data",
    "codebase",
    "usemap",
    "profile",
    "srcset",
];

#[derive(Clone, Copy, PartialEq)]
enum Output {
    /// The digest's HTML: links only to http/https, style attributes only podsift's own.
    Rendered,
    /// `sanitize_html`: no styles at all, links to http/https/mailto.
    Sanitized,
}

fn compact_lower(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Quote-aware scan of every tag in the raw output: no `on…=` attribute outside quoted values.
fn raw_tags_have_no_handlers(html: &str) -> Result<(), String> {
    let bytes = html.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        // Inside a tag until an unquoted '>'.
        let start = i;
        i += 1;
        let mut quote: Option<u8> = None;
        let mut prev_sep = false;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => quote = Some(b),
                None if b == b'>' => break,
                None => {
                    if prev_sep && (b == b'o' || b == b'O') && i + 2 < bytes.len() {
                        let rest = &html[i..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                            .collect();
                        let after = rest[name.len()..].trim_start();
                        if name.len() > 2
                            && name.to_ascii_lowercase().starts_with("on")
                            && after.starts_with('=')
                        {
                            return Err(format!(
                                "handler attribute in tag: {}",
                                &html[start..(i + 40).min(html.len())]
                            ));
                        }
                    }
                }
            }
            prev_sep = quote.is_none()
                && (b.is_ascii_whitespace() || b == b'/' || b == b'"' || b == b'\'');
            i += 1;
        }
    }
    Ok(())
}

fn check_html(out: &str, kind: Output) -> Result<(), String> {
    let lower = out.to_ascii_lowercase();
    for el in BANNED_ELEMENTS {
        if lower.contains(&format!("<{el}")) {
            return Err(format!("raw <{el} in output"));
        }
    }
    // (`http-equiv` is checked on the parsed tree: as escaped text it is harmless.)
    raw_tags_have_no_handlers(out)?;
    let doc = Html::parse_document(out);
    let all = Selector::parse("*").map_err(|e| e.to_string())?;
    for el in doc.select(&all) {
        let name = el.value().name().to_ascii_lowercase();
        if BANNED_ELEMENTS.contains(&name.as_str()) {
            return Err(format!("element <{name}>"));
        }
        if name == "meta" && el.value().attr("http-equiv").is_some() {
            return Err("meta http-equiv".into());
        }
        for (attr, value) in el.value().attrs() {
            let attr = attr.to_ascii_lowercase();
            if attr.starts_with("on") {
                return Err(format!("event handler {attr}={value:?} on <{name}>"));
            }
            let v = compact_lower(value);
            if URL_ATTRS.contains(&attr.as_str()) || attr.contains("href") || attr.contains("src") {
                for bad in ["javascript:", "vbscript:", "data:", "livescript:", "mocha:"] {
                    if v.contains(bad) {
                        return Err(format!("{bad} URL in {attr} on <{name}>: {value:?}"));
                    }
                }
                let ok = v.starts_with("http://")
                    || v.starts_with("https://")
                    || (kind == Output::Sanitized && v.starts_with("mailto:"));
                if !ok {
                    return Err(format!("non-http URL in {attr} on <{name}>: {value:?}"));
                }
            }
            if attr == "style" {
                if kind == Output::Sanitized {
                    return Err(format!("style attribute on <{name}>: {value:?}"));
                }
                if v.contains("url(")
                    || v.contains("expression(")
                    || v.contains("behavior")
                    || v.contains("@import")
                {
                    return Err(format!("dangerous style on <{name}>: {value:?}"));
                }
            }
        }
    }
    Ok(())
}

/// Renders a digest whose every feed-derived field is `hostile`: once through
/// `build_digest` (which validates URLs) and once with the raw values put straight into the
/// `Digest` (as if read back from JSON), so the renderer's own checks are exercised.
fn render_checks(hostile: &str) -> Result<(), String> {
    let mut c = common::candidate(1, 1, hostile);
    c.draft.quote = hostile.to_string();
    c.podcast = hostile.to_string();
    c.episode = hostile.to_string();
    c.episode_link = Some(hostile.to_string());
    c.audio_url = Some(hostile.to_string());
    c.draft.speaker = Some(hostile.to_string());
    let picks = vec![Pick {
        candidate: c,
        score: 0.5,
        reasons: vec![hostile.to_string()],
    }];
    let built = build_digest(
        common::date(),
        hostile,
        &picks,
        DigestStats::default(),
        None,
    );
    let mut raw = built.clone();
    for it in &mut raw.insights {
        it.episode_url = Some(hostile.to_string());
        it.audio_url = Some(hostile.to_string());
        it.link = Some(hostile.to_string());
    }
    for digest in [built, raw] {
        let r = render(&digest).map_err(|e| e.to_string())?;
        check_html(&r.html, Output::Rendered).map_err(|e| format!("render: {e}"))?;
        // Markdown: every '<' escaped, except podsift's own `](<https://…>)` destinations.
        let md = r
            .markdown
            .replace("](<https://", "")
            .replace("](<http://", "");
        let b = md.as_bytes();
        if let Some(i) = (0..b.len()).find(|&i| b[i] == b'<' && (i == 0 || b[i - 1] != b'\\')) {
            return Err(format!("markdown: unescaped < at {i}"));
        }
        if r.text.chars().any(|c| c.is_control() && c != '\n') {
            return Err("text: control character".into());
        }
    }
    Ok(())
}

fn check_case(hostile: &str) -> Result<(), String> {
    check_html(&sanitize_html(hostile), Output::Sanitized)
        .map_err(|e| format!("sanitize_html: {e}"))?;
    render_checks(hostile)
}

const INLINE_CASES: &[&str] = &[
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://x/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\" &#14; javascript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<iframe src=\"https://evil.example/\"></iframe>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<div style=\"background-image:url(javascript:alert(1))\">x</div>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<svg onload=alert(1)><circle/></svg>",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "<body onload=alert(1)>",
    "<p title=\"a\" onclick=\"alert(1)\">x</p>",
    "<p/onclick=alert(1)>x</p>",
    "<a href=\"https://ok.example/\" onmouseover=\"alert(1)\">ok</a>",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=\"https://evil.example/x.css\">",
    "<base href=\"javascript:alert(1)//\">",
    "<form action=\"javascript:alert(1)\"><input type=submit></form>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://ok.example/a\" onmouseover=\"alert(1)",
    "<template><script>alert(1)</script></template>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<textarea><script>alert(1)</script></textarea>",
    "<a href=\"https://ok.example/\">fine</a> and <b>bold</b>",
    "\u{1b}[2J\u{202e}evil",
];

#[test]
fn inline_hostile_cases() {
    let mut failures = Vec::new();
    for case in INLINE_CASES {
        if let Err(e) = check_case(case) {
            failures.push(format!("{case:?}: {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Benign markup survives sanitising.
    let ok = sanitize_html("<p>Hi <a href=\"https://ok.example/\">fine</a> <b>bold</b></p>");
    assert!(
        ok.contains("<a href=\"https://ok.example/\"") && ok.contains("<b>bold</b>"),
        "{ok}"
    );
}

#[test]
fn checker_catches_bad_output() {
    // The checker itself must fail on hostile output, or the corpus test proves nothing.
    for bad in [
        "<p><script>x</script></p>",
        "<p onclick=\"x\">y</p>",
        "<p/onclick=x>y</p>",
        "<a href=\"javascript:x\">y</a>",
        "<a href=\" jav\tascript:x\">y</a>",
        "<iframe></iframe>",
        "<div style=\"background:url(x)\">y</div>",
    ] {
        assert!(
            check_html(bad, Output::Rendered).is_err(),
            "not caught: {bad}"
        );
    }
    assert!(check_html("<p title=\"a onclick=b\">ok</p>", Output::Rendered).is_ok());
}

// ---------------------------------------------------------------------------
// feedparser's sanitisation suite
// ---------------------------------------------------------------------------

fn corpora() -> PathBuf {
    std::env::var_os("PODSIFT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpora"
            ))
        })
}

/// Elements of feedparser's cases that carry the hostile HTML.
const CONTAINERS: &[&str] = &[
    "content:encoded",
    "xhtml:body",
    "content",
    "description",
    "summary",
    "title",
    "subtitle",
    "tagline",
    "info",
    "copyright",
    "rights",
    "body",
    "fullitem",
];

fn decode_xml_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(end) = rest[..rest.len().min(12)].find(';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..end];
        let decoded = match ent {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") || ent.starts_with("#X") => {
                u32::from_str_radix(&ent[2..], 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                // Not an XML entity (e.g. &nbsp;): left for the HTML parser.
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The HTML fragments of one case: the text of every container element, unescaped as an
/// XML parser would (CDATA kept verbatim, inline XHTML kept as markup).
fn fragments(xml: &str) -> Vec<String> {
    // Drop the leading description comment (it quotes the expected output).
    let body = match (xml.trim_start().starts_with("<!--"), xml.find("-->")) {
        (true, Some(i)) => &xml[i + 3..],
        _ => xml,
    };
    let mut out = Vec::new();
    for name in CONTAINERS {
        let open = format!("<{name}");
        let close = format!("</{name}>");
        let mut pos = 0;
        while let Some(i) = body[pos..].find(&open) {
            let start = pos + i;
            let after = &body[start + open.len()..];
            if !after.starts_with(['>', ' ', '\t', '\n', '\r', '/']) {
                pos = start + open.len();
                continue;
            }
            let Some(gt) = after.find('>') else { break };
            let attrs = &after[..gt];
            if attrs.ends_with('/') {
                pos = start + open.len() + gt;
                continue;
            }
            let inner_start = start + open.len() + gt + 1;
            let Some(ci) = body[inner_start..].find(&close) else {
                break;
            };
            let inner = &body[inner_start..inner_start + ci];
            let text = if let Some(cdata) = inner
                .trim()
                .strip_prefix("<![CDATA[")
                .and_then(|s| s.strip_suffix("]]>"))
            {
                cdata.to_string()
            } else if inner.contains('<') {
                // Inline XHTML: the markup itself is the content.
                inner.to_string()
            } else {
                decode_xml_entities(inner)
            };
            out.push(text);
            pos = inner_start + ci + close.len();
        }
    }
    out
}

#[test]
fn feedparser_sanitize_suite() {
    let dir = corpora().join("01_feeds/peer-suites/feedparser/tests/wellformed/sanitize");
    if !dir.is_dir() {
        podsift_testkit::skip(
            module_path!(),
            &format!(
                "corpora not found at {} (set PODSIFT_CORPORA)",
                dir.display()
            ),
        );
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    let (mut passed, mut fragments_checked) = (0usize, 0usize);
    // Proof that the extraction yields the hostile markup and not escaped text.
    let (mut with_script, mut with_markup) = (0usize, 0usize);
    let mut failures = Vec::new();
    for path in &files {
        let xml = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
        let frags = fragments(&xml);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if frags.is_empty() {
            failures.push(format!("{name}: no HTML found in the case"));
            continue;
        }
        if frags
            .iter()
            .any(|f| f.to_ascii_lowercase().contains("<script"))
        {
            with_script += 1;
        }
        if frags.iter().any(|f| f.contains('<')) {
            with_markup += 1;
        }
        let mut ok = true;
        for f in &frags {
            fragments_checked += 1;
            if let Err(e) = check_case(f) {
                failures.push(format!("{name}: {e}"));
                ok = false;
                break;
            }
        }
        passed += usize::from(ok);
    }
    eprintln!(
        "feedparser sanitize suite: {passed}/{} cases passed ({fragments_checked} HTML fragments, each through sanitize_html and the renderer; {with_markup} cases with markup, {with_script} with <script)",
        files.len()
    );
    assert!(
        with_markup >= 700,
        "extraction broken: only {with_markup} cases with markup"
    );
    assert!(
        with_script >= 20,
        "extraction broken: only {with_script} cases with <script"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        files.len(),
        745,
        "expected feedparser's 745 cases in {}",
        dir.display()
    );
    assert_eq!(passed, 745);
}
