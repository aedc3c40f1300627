//! A deterministic synthetic podcast feed for benchmarks and tests (no randomness, no I/O).

use std::fmt::Write;

/// Builds an RSS 2.0 podcast feed with `items` episodes using the iTunes and Podcasting 2.0
/// namespaces. `synthetic_feed(2000)` is about 5.4 MB.
pub fn synthetic_feed(items: usize) -> String {
    let mut s = String::with_capacity(items * 2800 + 2048);
    s.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<rss version=\"2.0\" xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" ",
        "xmlns:podcast=\"https://podcastindex.org/namespace/1.0\" ",
        "xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" ",
        "xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n",
        "<title>Synthetic Show &amp; Friends</title>\n",
        "<link>https://synthetic.example/</link>\n",
        "<atom:link href=\"https://synthetic.example/feed.xml\" rel=\"self\" type=\"application/rss+xml\"/>\n",
        "<description>A deterministic show used to benchmark feed parsers.</description>\n",
        "<language>en-us</language>\n<ttl>60</ttl>\n",
        "<itunes:author>Synth Team</itunes:author>\n",
        "<itunes:image href=\"https://synthetic.example/cover.jpg\"/>\n",
        "<itunes:category text=\"Technology\"><itunes:category text=\"Software\"/></itunes:category>\n",
        "<itunes:explicit>false</itunes:explicit>\n",
        "<podcast:person role=\"host\" img=\"https://synthetic.example/ada.jpg\">Ada Host</podcast:person>\n",
    ));
    const WORDS: &[&str] = &[
        "latency",
        "throughput",
        "parser",
        "podcast",
        "namespace",
        "transcript",
        "chapter",
        "episode",
        "listener",
        "encoding",
        "streaming",
        "allocation",
        "benchmark",
        "feed",
    ];
    for i in 0..items {
        let n = items - i;
        let day = 1 + (n % 28);
        let month = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ][n % 12];
        let year = 2010 + n / 200;
        let _ = writeln!(
            s,
            "<item>\n<title>Episode {n}: The {} of {} &amp; {}</title>",
            WORDS[n % WORDS.len()],
            WORDS[(n * 7) % WORDS.len()],
            WORDS[(n * 3) % WORDS.len()]
        );
        let _ = writeln!(
            s,
            "<guid isPermaLink=\"false\">urn:synthetic:episode:{n:06}</guid>"
        );
        let _ = writeln!(s, "<link>https://synthetic.example/episodes/{n}</link>");
        let _ = writeln!(
            s,
            "<pubDate>Mon, {day:02} {month} {year} {:02}:{:02}:00 +0000</pubDate>",
            n % 24,
            n % 60
        );
        s.push_str("<description><![CDATA[<p>In this episode we talk about ");
        for k in 0..96 {
            s.push_str(WORDS[(n + k * 5) % WORDS.len()]);
            s.push(' ');
            if k % 15 == 14 {
                s.push_str(
                    "<a href=\"https://synthetic.example/link\">a <em>link</em></a>.</p>\n<p>",
                );
            }
        }
        s.push_str("and more.</p><ul><li>Show notes item one</li><li>Item two</li></ul>]]></description>\n");
        let _ = writeln!(
            s,
            "<itunes:summary>Summary of episode {n}: we discuss {} and {} at length, with guests &amp; listener mail.</itunes:summary>",
            WORDS[n % WORDS.len()],
            WORDS[(n + 3) % WORDS.len()]
        );
        let _ = writeln!(
            s,
            "<enclosure url=\"https://cdn.synthetic.example/audio/episode-{n}.mp3\" length=\"{}\" type=\"audio/mpeg\"/>",
            20_000_000 + n * 1_234
        );
        let _ = writeln!(
            s,
            "<itunes:duration>{}:{:02}:{:02}</itunes:duration>",
            n % 2,
            n % 60,
            (n * 7) % 60
        );
        let _ = writeln!(
            s,
            "<itunes:season>{}</itunes:season>\n<itunes:episode>{n}</itunes:episode>",
            1 + n / 100
        );
        s.push_str("<itunes:episodeType>full</itunes:episodeType>\n<itunes:explicit>false</itunes:explicit>\n");
        let _ = writeln!(
            s,
            "<itunes:image href=\"https://synthetic.example/art/{n}.jpg\"/>"
        );
        let _ = writeln!(
            s,
            "<podcast:transcript url=\"https://synthetic.example/transcripts/{n}.vtt\" type=\"text/vtt\" language=\"en\"/>"
        );
        let _ = writeln!(
            s,
            "<podcast:transcript url=\"https://synthetic.example/transcripts/{n}.srt\" type=\"application/x-subrip\" rel=\"captions\"/>"
        );
        let _ = writeln!(
            s,
            "<podcast:chapters url=\"https://synthetic.example/chapters/{n}.json\" type=\"application/json+chapters\"/>"
        );
        s.push_str("<podcast:person role=\"host\" img=\"https://synthetic.example/ada.jpg\">Ada Host</podcast:person>\n");
        let _ = writeln!(
            s,
            "<podcast:person role=\"guest\" href=\"https://guest.example/{}\">Guest Number {}</podcast:person>",
            n % 97,
            n % 97
        );
        s.push_str("</item>\n");
    }
    s.push_str("</channel>\n</rss>\n");
    s
}
