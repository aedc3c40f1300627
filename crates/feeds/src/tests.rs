//! Unit tests for the lenient and safety rules, on small inline fixtures.

use super::*;
use podsift_core::FeedFormat;

fn parse(s: &str) -> ParsedFeed {
    parse_feed(s.as_bytes(), Some("https://host.example/pod/feed.xml")).unwrap()
}

const PODCAST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"
     xmlns:podcast="https://podcastindex.org/namespace/1.0"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>My Show</title>
  <link>https://show.example/</link>
  <description>About the show</description>
  <language>en</language>
  <ttl>30</ttl>
  <itunes:author>Jo Host</itunes:author>
  <itunes:image href="/cover.jpg"/>
  <itunes:new-feed-url>https://new.example/feed</itunes:new-feed-url>
  <itunes:explicit>yes</itunes:explicit>
  <itunes:category text="Technology"><itunes:category text="Podcasting"/></itunes:category>
  <podcast:person role="Host" href="https://jo.example">Jo Host</podcast:person>
  <item>
    <title>Ep 1</title>
    <guid isPermaLink="false">ep-1</guid>
    <link>episodes/1</link>
    <pubDate>Tue, 2 Jan 2024 10:00:00 PST</pubDate>
    <description>short</description>
    <content:encoded><![CDATA[<p>Long <b>HTML</b></p>]]></content:encoded>
    <enclosure url="audio/1.mp3" length="1234" type="audio/mpeg"/>
    <itunes:duration>1:02:03</itunes:duration>
    <itunes:season>2</itunes:season>
    <itunes:episode>7</itunes:episode>
    <itunes:episodeType>Trailer</itunes:episodeType>
    <itunes:image href="https://img.example/1.jpg"/>
    <itunes:explicit>clean</itunes:explicit>
    <podcast:transcript url="https://t.example/1.vtt" type="text/vtt" language="en" rel="captions"/>
    <podcast:transcript url="/t/1.json" type="application/json"/>
    <podcast:chapters url="https://c.example/1.json" type="application/json+chapters"/>
    <podcast:person role="guest" group="cast" img="https://p.example/x.jpg">Guest &amp; Co</podcast:person>
  </item>
  <item>
    <title>Ep 2</title>
    <itunes:episodeType>weird</itunes:episodeType>
    <itunes:duration>n/a</itunes:duration>
    <dc:creator>Dee</dc:creator>
  </item>
</channel>
</rss>"#;

#[test]
fn full_podcast_namespace() {
    let f = parse(PODCAST);
    assert_eq!(f.format, FeedFormat::Rss);
    assert_eq!(f.title.as_deref(), Some("My Show"));
    assert_eq!(f.description.as_deref(), Some("About the show"));
    assert_eq!(f.language.as_deref(), Some("en"));
    assert_eq!(f.ttl_minutes, Some(30));
    assert_eq!(f.author.as_deref(), Some("Jo Host"));
    assert_eq!(f.image.as_deref(), Some("https://host.example/cover.jpg"));
    assert_eq!(f.new_feed_url.as_deref(), Some("https://new.example/feed"));
    assert_eq!(f.explicit, Some(true));
    assert_eq!(f.categories, vec!["Technology", "Podcasting"]);
    assert_eq!(f.persons.len(), 1);
    assert_eq!(f.persons[0].role.as_deref(), Some("host"));
    assert_eq!(f.episodes.len(), 2);
    let e = &f.episodes[0];
    assert_eq!(e.guid.as_deref(), Some("ep-1"));
    assert_eq!(
        e.link.as_deref(),
        Some("https://host.example/pod/episodes/1")
    );
    assert_eq!(e.description.as_deref(), Some("<p>Long <b>HTML</b></p>"));
    assert_eq!(
        e.published.unwrap().to_rfc3339(),
        "2024-01-02T18:00:00+00:00"
    );
    let enc = e.enclosure.as_ref().unwrap();
    assert_eq!(enc.url, "https://host.example/pod/audio/1.mp3");
    assert_eq!(enc.length, Some(1234));
    assert_eq!(enc.mime_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(e.duration_seconds, Some(3723));
    assert_eq!((e.season, e.episode), (Some(2), Some(7)));
    assert_eq!(e.episode_type.as_deref(), Some("trailer"));
    assert_eq!(e.image.as_deref(), Some("https://img.example/1.jpg"));
    assert_eq!(e.explicit, Some(false));
    assert_eq!(e.transcripts.len(), 2);
    assert_eq!(e.transcripts[0].rel.as_deref(), Some("captions"));
    assert_eq!(e.transcripts[0].language.as_deref(), Some("en"));
    assert_eq!(e.transcripts[1].url, "https://host.example/t/1.json");
    assert_eq!(e.chapters.as_ref().unwrap().url, "https://c.example/1.json");
    assert_eq!(e.persons[0].name, "Guest & Co");
    assert_eq!(e.persons[0].group.as_deref(), Some("cast"));
    let e2 = &f.episodes[1];
    assert_eq!(e2.episode_type, None, "invalid episodeType dropped");
    assert_eq!(e2.duration_seconds, None);
    assert_eq!(
        e2.author.as_deref(),
        Some("Dee"),
        "undeclared dc: prefix still matched"
    );
}

#[test]
fn namespace_by_uri_with_odd_prefix() {
    let f = parse(
        r#"<rss xmlns:i="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:p="https://podcastindex.org/namespace/1.0"><channel><item>
        <title>x</title><i:duration>90</i:duration><p:transcript url="https://t/1.srt" type="application/x-subrip"/>
        </item></channel></rss>"#,
    );
    assert_eq!(f.episodes[0].duration_seconds, Some(90));
    assert_eq!(f.episodes[0].transcripts[0].url, "https://t/1.srt");
}

#[test]
fn atom_feed() {
    let f = parse(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example/dir/">
        <title>Atom Show</title><subtitle>Sub</subtitle><link href="https://site.example/"/>
        <link rel="self" href="https://site.example/feed.atom"/><author><name>Ann</name></author><logo>logo.png</logo>
        <entry><title type="html">E &lt;1&gt;</title><id>urn:x:1</id><link href="e1.html"/>
        <link rel="enclosure" href="e1.mp3" type="audio/mpeg" length="99"/>
        <published>2024-03-01T12:00:00+02:00</published><updated>2024-03-05T00:00:00Z</updated>
        <summary>sum</summary><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi <b>there</b></p></div></content>
        <author><name>Bob</name></author></entry></feed>"#,
    );
    assert_eq!(f.format, FeedFormat::Atom);
    assert_eq!(f.title.as_deref(), Some("Atom Show"));
    assert_eq!(f.description.as_deref(), Some("Sub"));
    assert_eq!(f.link.as_deref(), Some("https://site.example/"));
    assert_eq!(f.author.as_deref(), Some("Ann"));
    assert_eq!(
        f.image.as_deref(),
        Some("https://base.example/dir/logo.png")
    );
    let e = &f.episodes[0];
    assert_eq!(e.title.as_deref(), Some("E <1>"));
    assert_eq!(e.guid.as_deref(), Some("urn:x:1"));
    assert_eq!(e.link.as_deref(), Some("https://base.example/dir/e1.html"));
    assert_eq!(
        e.enclosure.as_ref().unwrap().url,
        "https://base.example/dir/e1.mp3"
    );
    assert_eq!(
        e.published.unwrap().to_rfc3339(),
        "2024-03-01T10:00:00+00:00"
    );
    assert!(
        e.description
            .as_deref()
            .unwrap()
            .contains("<p>Hi <b>there</b></p>")
    );
    assert_eq!(e.author.as_deref(), Some("Bob"));
}

#[test]
fn rss1_rdf() {
    let f = parse(
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <channel rdf:about="x"><title>RDF</title><link>https://r.example/</link></channel>
        <item rdf:about="a"><title>A</title><link>https://r.example/a</link><dc:date>2024-01-01T00:00:00Z</dc:date></item>
        </rdf:RDF>"#,
    );
    assert_eq!(f.title.as_deref(), Some("RDF"));
    assert_eq!(f.episodes.len(), 1);
    assert_eq!(f.episodes[0].link.as_deref(), Some("https://r.example/a"));
    assert!(f.episodes[0].published.is_some());
}

#[test]
fn lenient_entities_and_bare_ampersand() {
    let f = parse(
        "<rss><channel><title>Caf&eacute;&nbsp;&mdash; AT&T &amp; R&D &#233;&#x263A; &bogus;</title></channel></rss>",
    );
    assert_eq!(
        f.title.as_deref(),
        Some("Café\u{a0}— AT&T & R&D é☺ &bogus;")
    );
    assert!(f.warnings.iter().any(|w| w.contains("bogus")));
}

#[test]
fn whitespace_and_bom_before_declaration() {
    let f = parse_feed(
        b"\xEF\xBB\xBF\n\n  <?xml version=\"1.0\"?><rss><channel><title>t</title></channel></rss>",
        None,
    )
    .unwrap();
    assert_eq!(f.title.as_deref(), Some("t"));
    assert!(!f.warnings.is_empty());
}

#[test]
fn wrong_declared_encodings() {
    let f = parse_feed("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><title>Ünïcödé</title></channel></rss>".as_bytes(), None).unwrap();
    assert_eq!(f.title.as_deref(), Some("Ünïcödé"));
    let f = parse_feed(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss><channel><title>Caf\xe9</title></channel></rss>", None).unwrap();
    assert_eq!(f.title.as_deref(), Some("Café"));
    let mut bytes = vec![0xFE, 0xFF];
    for u in "<rss><channel><title>ß</title></channel></rss>".encode_utf16() {
        bytes.extend_from_slice(&u.to_be_bytes());
    }
    assert_eq!(
        parse_feed(&bytes, None).unwrap().title.as_deref(),
        Some("ß")
    );
}

#[test]
fn mismatched_and_unclosed_tags() {
    let f = parse(
        "<rss><channel><title>T</title><item><title>A</titel></title><b>unclosed<guid>g1</guid></item>\
         <item><title>B</title></item></channel></rss>",
    );
    assert_eq!(f.episodes.len(), 2);
    assert_eq!(f.episodes[0].guid.as_deref(), Some("g1"));
    assert_eq!(f.episodes[1].title.as_deref(), Some("B"));
    assert!(!f.warnings.is_empty());
}

#[test]
fn truncated_document_keeps_what_was_read() {
    let f = parse("<rss><channel><title>T</title><item><title>A</title></item><item><title>B");
    assert_eq!(f.title.as_deref(), Some("T"));
    assert_eq!(f.episodes.len(), 2);
}

#[test]
fn cdata_and_inline_html_in_description() {
    let f = parse(
        "<rss><channel><item><description>Hi <p>there &lt;b&gt;x&lt;/b&gt;<br></description><title>t</title></item></channel></rss>",
    );
    assert_eq!(
        f.episodes[0].description.as_deref(),
        Some("Hi <p>there <b>x</b><br>")
    );
    assert_eq!(f.episodes[0].title.as_deref(), Some("t"));
}

#[test]
fn billion_laughs_not_expanded() {
    let mut s = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        s.push_str(&format!("<!ENTITY lol{i} \""));
        for _ in 0..10 {
            s.push_str(&format!("&lol{};", i - 1).replace("&lol0;", "&lol;"));
        }
        s.push_str("\">\n");
    }
    s.push_str("]>\n<rss><channel><title>&lol9;</title></channel></rss>");
    let start = std::time::Instant::now();
    let f = parse_feed(s.as_bytes(), None).unwrap();
    assert!(start.elapsed().as_millis() < 1000);
    assert_eq!(f.title.as_deref(), Some("&lol9;"));
}

#[test]
fn external_entity_not_fetched() {
    let s = "<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><rss><channel><title>&xxe;</title></channel></rss>";
    let f = parse_feed(s.as_bytes(), None).unwrap();
    assert_eq!(f.title.as_deref(), Some("&xxe;"));
}

#[test]
fn depth_is_capped() {
    let mut s = String::from("<rss><channel>");
    for _ in 0..10_000 {
        s.push_str("<x>");
    }
    assert_eq!(
        parse_feed(s.as_bytes(), None),
        Err(FeedError::TooDeep(limits::MAX_DEPTH))
    );
}

#[test]
fn long_field_is_cut() {
    let body = "a".repeat(limits::MAX_FIELD_BYTES + 10);
    let f = parse(&format!(
        "<rss><channel><item><description>{body}</description></item></channel></rss>"
    ));
    assert_eq!(
        f.episodes[0].description.as_ref().unwrap().len(),
        limits::MAX_FIELD_BYTES
    );
    assert!(f.warnings.iter().any(|w| w.contains("cut")));
}

#[test]
fn not_feeds() {
    assert_eq!(
        parse_feed(b"<!DOCTYPE html><html><head></head></html>", None),
        Err(FeedError::NotAFeed("an HTML page".into()))
    );
    assert!(
        matches!(parse_feed(b"%PDF-1.4 ...", None), Err(FeedError::NotXml(s)) if s == "PDF document")
    );
    assert!(matches!(parse_feed(b"{\"a\":1}", None), Err(FeedError::NotXml(s)) if s == "JSON"));
    assert!(matches!(
        parse_feed(b"<foo><bar/></foo>", None),
        Err(FeedError::NotAFeed(_))
    ));
    assert!(matches!(parse_feed(b"", None), Err(FeedError::NotXml(_))));
    assert!(!FeedError::TooDeep(1).is_retryable());
}

#[test]
fn sniffing() {
    assert_eq!(
        sniff(b"  <?xml version='1.0'?><!-- c --><rss>", None),
        Sniffed::Feed
    );
    assert_eq!(
        sniff(b"<feed xmlns='http://www.w3.org/2005/Atom'>", None),
        Sniffed::Feed
    );
    assert_eq!(sniff(b"<!doctype html><html>", None), Sniffed::Html);
    assert_eq!(sniff(b"hello", Some("text/html")), Sniffed::Html);
    assert_eq!(
        sniff(b"%PDF-1.7", None),
        Sniffed::Other("PDF document".into())
    );
    assert_eq!(
        sniff(b"\x00\x01\x02", None),
        Sniffed::Other("binary data".into())
    );
    assert_eq!(sniff(b"ID3\x03", None), Sniffed::Other("MP3 audio".into()));
    assert_eq!(sniff(b"[1,2]", None), Sniffed::Other("JSON".into()));
}

#[test]
fn discovery() {
    let html = br#"<html><head><title>x</title>
      <link rel="stylesheet" href="/s.css">
      <!-- <link rel="alternate" type="application/rss+xml" href="/commented.xml"> -->
      <link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml?a=1&amp;b=2">
      <LINK REL="Alternate" TYPE="application/atom+xml" HREF='https://other.example/atom'>
      <link rel=alternate type=application/rss+xml href=rel/podcast.rss>
      <link rel="alternate" type="application/rss+xml" href="/feed.xml?a=1&amp;b=2">
      </head><body><link rel="alternate" type="application/rss+xml" href="/body.xml"></body></html>"#;
    assert_eq!(
        discover_feed_links(html, "https://site.example/blog/post"),
        vec![
            "https://site.example/feed.xml?a=1&b=2",
            "https://other.example/atom",
            "https://site.example/blog/rel/podcast.rss",
        ]
    );
}

#[test]
fn discovery_returns_only_http_links() {
    // Found by fuzzing (fuzz/fuzz_targets/discover.rs): `jttps://…` came back as a feed link,
    // and the poller tries only the first link a page lists.
    let html = br#"<head>
      <link rel="alternate" type="application/rss+xml" href="jttps://[::1]:8080/f">
      <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
      <link rel="alternate" type="application/atom+xml" href="file:///etc/passwd">
      <link rel="alternate" type="application/rss+xml" href="ftp://site.example/feed">
      <link rel="alternate" type="application/rss+xml" href="HTTP://site.example/feed">
      </head>"#;
    assert_eq!(
        discover_feed_links(html, "https://site.example/"),
        vec!["http://site.example/feed"]
    );
    // A `<base>` with another scheme cannot turn relative links into unfetchable ones.
    let based =
        br#"<base href="file:///srv/"><link rel=alternate type=application/rss+xml href=f.xml>"#;
    assert!(discover_feed_links(based, "https://site.example/").is_empty());
}

#[test]
fn identity_hash_and_upserts() {
    let f = parse(
        "<rss><channel>\
         <item><guid>g</guid><title>a</title></item>\
         <item><guid>g</guid><title>dup</title></item>\
         <item><enclosure url='https://x/1.mp3'/></item>\
         <item><link>https://x/l</link></item>\
         <item><title>only title</title></item>\
         <item><description>nothing identifies me</description></item>\
         </channel></rss>",
    );
    let ids: Vec<_> = f.episodes.iter().map(episode_identity).collect();
    assert_eq!(ids[0].as_deref(), Some("guid:g"));
    assert_eq!(ids[2].as_deref(), Some("enclosure:https://x/1.mp3"));
    assert_eq!(ids[3].as_deref(), Some("link:https://x/l"));
    assert_eq!(ids[4].as_deref(), Some("title:only title"));
    assert_eq!(ids[5], None);
    let ups = to_upserts(&f);
    assert_eq!(ups.len(), 4);
    assert_eq!(ups[0].episode.title.as_deref(), Some("a"), "first wins");
    let h = content_hash(&f.episodes[0]);
    assert_eq!(h, content_hash(&f.episodes[0].clone()));
    assert_eq!(h.len(), 64);
    assert_ne!(h, content_hash(&f.episodes[1]));
}

#[test]
fn synthetic_feed_parses() {
    let xml = synth::synthetic_feed(20);
    let f = parse_feed(xml.as_bytes(), None).unwrap();
    assert_eq!(f.episodes.len(), 20);
    assert!(f.warnings.is_empty(), "{:?}", f.warnings);
    let e = &f.episodes[0];
    assert_eq!(e.transcripts.len(), 2);
    assert_eq!(e.persons.len(), 2);
    assert!(e.season.is_some() && e.episode.is_some() && e.duration_seconds.is_some());
    assert!(e.published.is_some());
    let big = synth::synthetic_feed(2000);
    assert!((5_000_000..6_000_000).contains(&big.len()), "{}", big.len());
}

#[test]
fn stray_less_than_and_garbage_recovered() {
    let f = parse(
        "<rss><channel><title>T</title><item><title>a < b</title><guid>1</guid></item>\
         <item><title>x</title><guid>2</guid></item></channel></rss>",
    );
    assert_eq!(f.title.as_deref(), Some("T"));
    assert_eq!(f.episodes.len(), 2, "{f:?}");
    assert_eq!(f.episodes[0].title.as_deref(), Some("a < b"));
    assert_eq!(f.episodes[0].guid.as_deref(), Some("1"));
    assert_eq!(f.episodes[1].guid.as_deref(), Some("2"));
}

#[test]
fn html_variants_are_not_feeds() {
    for html in [
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>x</title>",
        "<!-- hi --><html><body><p>x",
        "\u{feff}<HTML><HEAD></HEAD></HTML>",
        "<?xml version=\"1.0\"?><!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\" \"x.dtd\"><html xmlns=\"http://www.w3.org/1999/xhtml\"/>",
    ] {
        assert_eq!(
            parse_feed(html.as_bytes(), None),
            Err(FeedError::NotAFeed("an HTML page".into())),
            "{html}"
        );
    }
}

#[test]
fn item_count_is_capped() {
    let mut s = String::from("<rss><channel>");
    for i in 0..limits::MAX_ITEMS + 3 {
        s.push_str(&format!("<item><guid>{i}</guid></item>"));
    }
    s.push_str("<title>after</title></channel></rss>");
    let f = parse(&s);
    assert_eq!(f.episodes.len(), limits::MAX_ITEMS);
    assert_eq!(f.title.as_deref(), Some("after"));
    assert!(f.warnings.iter().any(|w| w.contains("items")));
}

#[test]
fn warnings_are_capped() {
    let body = "&nope;".repeat(10_000);
    let f = parse(&format!(
        "<rss><channel><title>{body}</title></channel></rss>"
    ));
    assert!(f.warnings.len() <= limits::MAX_WARNINGS + 1);
}

#[test]
fn atom03_and_item_xml_base() {
    let f = parse(
        r#"<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old</title>
        <entry xml:base="https://items.example/x/"><title>e</title><link rel="alternate" href="e.html"/>
        <issued>2004-01-01T00:00:00Z</issued></entry></feed>"#,
    );
    assert_eq!(f.format, FeedFormat::Atom);
    assert_eq!(f.title.as_deref(), Some("Old"));
    assert_eq!(
        f.episodes[0].link.as_deref(),
        Some("https://items.example/x/e.html")
    );
}

#[test]
fn enclosure_prefers_audio_and_person_defaults() {
    let f = parse(
        r#"<rss xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel><item>
        <enclosure url="https://x/cover.jpg" type="image/jpeg"/>
        <enclosure url="https://x/a.mp3" type="audio/mpeg" length="0"/>
        <enclosure url="https://x/b.mp3" type="audio/mpeg"/>
        <podcast:person>Plain Name</podcast:person>
        </item></channel></rss>"#,
    );
    let e = &f.episodes[0];
    let enc = e.enclosure.as_ref().unwrap();
    assert_eq!(enc.url, "https://x/a.mp3");
    assert_eq!(enc.length, None, "length 0 means unknown");
    assert_eq!(e.persons[0].role.as_deref(), Some("host"));
    assert_eq!(e.persons[0].group.as_deref(), Some("cast"));
}

#[test]
fn channel_link_is_the_base_without_a_feed_url() {
    let f = parse_feed(
        b"<rss><channel><link>https://site.example/pod/</link><item><enclosure url='ep1.mp3'/></item></channel></rss>",
        None,
    )
    .unwrap();
    assert_eq!(
        f.episodes[0].enclosure.as_ref().unwrap().url,
        "https://site.example/pod/ep1.mp3"
    );
}

#[test]
fn atom_xhtml_content_keeps_markup_escaped() {
    let f = parse(
        r#"<feed xmlns="http://www.w3.org/2005/Atom"><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">History of the &lt;blink&gt; <b>tag</b></div></title>
        <entry><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><div>a</div><div>b</div></div></content></entry></feed>"#,
    );
    assert_eq!(
        f.title.as_deref(),
        Some("History of the &lt;blink&gt; <b>tag</b>")
    );
    assert_eq!(
        f.episodes[0].description.as_deref(),
        Some("<div>a</div><div>b</div>")
    );
}

#[test]
fn rss_fallbacks_and_case_insensitive_names() {
    let f = parse(
        r#"<rss xmlns:media="http://search.yahoo.com/mrss/" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"><channel xml:lang="en_US">
        <TiTlE>Upper</TiTlE><itunes:image url="https://i.example/a.png"/>
        <item><media:title>From media</media:title><guid>https://x.example/ep1</guid></item>
        <item><title>t</title><guid isPermaLink="false">https://x.example/ep2</guid></item>
        </channel></rss>"#,
    );
    assert_eq!(f.title.as_deref(), Some("Upper"));
    assert_eq!(f.language.as_deref(), Some("en-US"));
    assert_eq!(f.image.as_deref(), Some("https://i.example/a.png"));
    assert_eq!(f.episodes[0].title.as_deref(), Some("From media"));
    assert_eq!(
        f.episodes[0].link.as_deref(),
        Some("https://x.example/ep1"),
        "permalink guid is the link"
    );
    assert_eq!(
        f.episodes[1].link, None,
        "isPermaLink=false guid is not a link"
    );
}
