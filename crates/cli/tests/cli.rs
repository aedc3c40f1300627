//! End-to-end tests of the `podsift` binary against real feeds and transcripts served over
//! loopback HTTP, with a real SQLite database in a temp dir.

use podsift_testkit::{Route, TestServer};
use serde_json::Value;

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_poll_transcripts_and_updates() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let vtt_url = srv.url("/t/5.vtt");
    let srt_url = srv.url("/t/4.srt");
    let items: Vec<String> = (1..=5)
        .rev()
        .map(|n| match n {
            5 => item(n, Some((&vtt_url, "text/vtt")), &format!("Episode {n}")),
            4 => item(
                n,
                Some((&srt_url, "application/x-subrip")),
                &format!("Episode {n}"),
            ),
            _ => item(n, None, &format!("Episode {n}")),
        })
        .collect();
    srv.route(
        "/feed.xml",
        Route::ok(feed("Test Show", &items, ""), "application/rss+xml").etag("\"v1\""),
    );
    srv.route("/t/5.vtt", Route::ok(VTT, "text/vtt"));
    srv.route("/t/4.srt", Route::ok(SRT, "application/x-subrip"));

    let out = ok(&podsift(dir.path(), &["subscribe", &srv.url("/feed.xml")]));
    assert!(
        out.contains("subscribed to Test Show (5 episodes)"),
        "{out}"
    );

    let feeds = json(&podsift(dir.path(), &["feeds", "--json"]));
    assert_eq!(feeds.as_array().unwrap().len(), 1);
    assert_eq!(feeds[0]["title"], "Test Show");
    assert_eq!(feeds[0]["status"], "active");
    assert_eq!(feeds[0]["episode_count"], 5);

    // Only the newest 3 are candidates; the back catalogue is recorded as seen.
    let eps = episodes(dir.path());
    assert_eq!(eps.len(), 5);
    let states: Vec<&str> = eps.iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(
        states,
        ["candidate", "candidate", "candidate", "seen", "seen"]
    );
    assert_eq!(eps[0]["title"], "Episode 5");
    assert_eq!(eps[0]["duration_seconds"], 330);

    // The feed is not due yet, but `poll` runs the queued transcript jobs.
    let out = ok(&podsift(dir.path(), &["poll"]));
    assert!(out.contains("polled 0 feeds"), "{out}");
    assert!(out.contains("2 transcripts"), "{out}");
    let eps = episodes(dir.path());
    assert_eq!(eps[0]["transcript_source"], "publisher:vtt");
    assert_eq!(eps[0]["segment_count"], 2);
    assert_eq!(eps[1]["transcript_source"], "publisher:srt");
    assert!(eps[2]["transcript_source"].is_null());

    let id = eps[0]["id"].as_i64().unwrap().to_string();
    let srt = ok(&podsift(
        dir.path(),
        &["transcript", &id, "--format", "srt"],
    ));
    assert!(srt.contains("00:00:01,000 --> 00:00:04,000"), "{srt}");
    assert!(srt.contains("eight percent of streaming revenue"), "{srt}");
    let js: Value = serde_json::from_str(&ok(&podsift(
        dir.path(),
        &["transcript", &id, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(js["segments"][0]["speaker"], "Alice");
    let id4 = eps[1]["id"].as_i64().unwrap().to_string();
    let text = ok(&podsift(dir.path(), &["transcript", &id4]));
    assert!(text.contains("Hello from the fourth episode."), "{text}");

    // A forced re-poll sends the ETag and gets a 304: nothing parsed, nothing duplicated.
    let out = ok(&podsift(dir.path(), &["poll", "--all"]));
    assert!(out.contains("1 unchanged"), "{out}");
    let last = srv.requests("/feed.xml").pop().unwrap();
    assert_eq!(last.header("if-none-match"), Some("\"v1\""));
    assert_eq!(episodes(dir.path()).len(), 5);

    // The publisher edits episode 5's title and adds episode 6.
    let mut items2 = vec![item(6, None, "Episode 6")];
    items2.extend(
        items
            .iter()
            .map(|i| i.replace("Episode 5", "Episode 5 (edited)")),
    );
    srv.route(
        "/feed.xml",
        Route::ok(feed("Test Show", &items2, ""), "application/rss+xml").etag("\"v2\""),
    );
    let out = ok(&podsift(dir.path(), &["poll", "--all"]));
    assert!(out.contains("1 updated"), "{out}");
    assert!(out.contains("1 new episodes"), "{out}");
    let eps2 = episodes(dir.path());
    assert_eq!(eps2.len(), 6);
    assert_eq!(eps2[0]["title"], "Episode 6");
    assert_eq!(eps2[0]["state"], "candidate");
    assert_eq!(eps2[1]["title"], "Episode 5 (edited)");
    assert_eq!(eps2[1]["id"], eps[0]["id"], "edited in place, same id");
    assert_eq!(eps2[1]["segment_count"], 2, "transcript kept");

    // Unsubscribe by id.
    let fid = feeds[0]["id"].as_i64().unwrap().to_string();
    ok(&podsift(dir.path(), &["unsubscribe", &fid]));
    assert_eq!(
        json(&podsift(dir.path(), &["feeds", "--json"]))
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_refuses_what_is_not_a_feed_and_stores_nothing() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    srv.route("/missing", Route::status(404));
    srv.route(
        "/page.html",
        Route::ok(
            "<!doctype html><html><head><title>x</title></head><body>hello</body></html>",
            "text/html",
        ),
    );
    srv.route(
        "/doc.pdf",
        Route::ok(
            &b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"[..],
            "application/pdf",
        ),
    );
    srv.route("/slow", Route::stall());

    let e = fails(&podsift(dir.path(), &["subscribe", &srv.url("/missing")]));
    assert!(e.contains("404"), "{e}");
    let e = fails(&podsift(dir.path(), &["subscribe", &srv.url("/page.html")]));
    assert!(e.contains("HTML page without a feed link"), "{e}");
    let e = fails(&podsift(dir.path(), &["subscribe", &srv.url("/doc.pdf")]));
    assert!(e.to_lowercase().contains("pdf"), "{e}");
    let e = fails(&podsift(dir.path(), &["subscribe", &srv.url("/slow")]));
    assert!(e.contains("timed out"), "{e}");
    let e = fails(&podsift(
        dir.path(),
        &["subscribe", "ftp://example.com/feed"],
    ));
    assert!(e.contains("ftp"), "{e}");

    // Loopback is refused unless the user allows private networks.
    let e = fails(&podsift_env(
        dir.path(),
        &["subscribe", &srv.url("/page.html")],
        false,
        &[],
    ));
    assert!(e.contains("refused"), "{e}");
    assert_eq!(srv.hits("/page.html"), 1, "the refused request never left");

    let feeds = json(&podsift(dir.path(), &["feeds", "--json"]));
    assert_eq!(feeds.as_array().unwrap().len(), 0, "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_page_with_feed_link_subscribes_to_the_feed() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    srv.route(
        "/show",
        Route::ok(
            r#"<html><head><link rel="alternate" type="application/rss+xml" title="RSS" href="/rss"></head><body></body></html>"#,
            "text/html; charset=utf-8",
        ),
    );
    srv.route(
        "/rss",
        Route::ok(feed("Linked Show", &[item(1, None, "One")], ""), "text/xml"),
    );
    let out = ok(&podsift(dir.path(), &["subscribe", &srv.url("/show")]));
    assert!(out.contains("Linked Show"), "{out}");
    let feeds = json(&podsift(dir.path(), &["feeds", "--json"]));
    assert_eq!(feeds[0]["url"], srv.url("/rss"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_feeds_update_their_url() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A permanent redirect at subscription time stores the target.
    srv.route("/old", Route::redirect(301, "/new"));
    srv.route(
        "/new",
        Route::ok(
            feed("Moved", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    ok(&podsift(dir.path(), &["subscribe", &srv.url("/old")]));
    let feeds = json(&podsift(dir.path(), &["feeds", "--json"]));
    assert_eq!(feeds[0]["url"], srv.url("/new"));

    // <itunes:new-feed-url> moves it again on the next poll.
    let newer = srv.url("/newer");
    srv.route(
        "/new",
        Route::ok(
            feed(
                "Moved",
                &[item(1, None, "One")],
                &format!("<itunes:new-feed-url>{newer}</itunes:new-feed-url>"),
            ),
            "application/rss+xml",
        ),
    );
    srv.route(
        "/newer",
        Route::ok(
            feed("Moved", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    ok(&podsift(dir.path(), &["poll", "--all"]));
    let feeds = json(&podsift(dir.path(), &["feeds", "--json"]));
    assert_eq!(feeds[0]["url"], newer);
    ok(&podsift(dir.path(), &["poll", "--all"]));
    assert_eq!(srv.hits("/newer"), 1);
    assert_eq!(
        episodes(dir.path()).len(),
        1,
        "no duplicates after the move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_feed_backs_off_and_is_marked_failing_not_dropped() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    srv.route(
        "/f",
        Route::ok(
            feed("Flaky", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    ok(&podsift(dir.path(), &["subscribe", &srv.url("/f")]));
    srv.route("/f", Route::status(500));
    let env = [("PODSIFT_POLL__FAILING_AFTER_ERRORS", "2")];
    for expected in 1..=3u64 {
        let out = podsift_env(dir.path(), &["poll", "--all"], true, &env);
        let stdout = ok(&out);
        assert!(stdout.contains("1 failed"), "{stdout}");
        let f = &json(&podsift(dir.path(), &["feeds", "--json"]))[0];
        assert_eq!(f["error_count"], expected);
        assert_eq!(
            f["status"],
            if expected >= 2 { "failing" } else { "active" }
        );
        assert!(f["last_error"].as_str().unwrap().contains("500"));
        // Backoff: the next check is at least 15 minutes · 2^(n-1) away.
        let last: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(f["last_checked_at"].clone()).unwrap();
        let next: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(f["next_check_at"].clone()).unwrap();
        assert!(
            next - last
                >= chrono::Duration::minutes(15 << (expected - 1)) - chrono::Duration::seconds(5)
        );
    }
    // Not due: a plain poll leaves it alone.
    let out = ok(&podsift_env(dir.path(), &["poll"], true, &env));
    assert!(out.contains("polled 0 feeds"), "{out}");
    // Recovery resets the counter.
    srv.route(
        "/f",
        Route::ok(
            feed("Flaky", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    ok(&podsift_env(dir.path(), &["poll", "--all"], true, &env));
    let f = &json(&podsift(dir.path(), &["feeds", "--json"]))[0];
    assert_eq!(f["error_count"], 0);
    assert_eq!(f["status"], "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opml_import_and_export_round_trip() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    for (p, t) in [("/a.xml", "Show A"), ("/b.xml", "Show B")] {
        srv.route(
            p,
            Route::ok(feed(t, &[item(1, None, "One")], ""), "application/rss+xml"),
        );
    }
    srv.route("/gone.xml", Route::status(410));
    let opml = format!(
        r#"<?xml version="1.0"?><opml version="1.1"><head><title>Overcast</title></head><body>
<outline text="feeds"><outline type="rss" text="Show A" xmlUrl="{}"/>
<outline text="nested"><outline type="rss" text="Show B" xmlUrl="{}"/></outline>
<outline type="rss" text="Gone" xmlUrl="{}"/></outline></body></opml>"#,
        srv.url("/a.xml"),
        srv.url("/b.xml"),
        srv.url("/gone.xml")
    );
    let file = dir.path().join("in.opml");
    std::fs::write(&file, opml).unwrap();
    let out = podsift(dir.path(), &["subscribe", "--opml", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HTTP 410"), "{err}");
    assert!(
        err.trim().lines().last().unwrap().contains("1 of 3"),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("subscribed to Show A"), "{stdout}");
    let exported = ok(&podsift(dir.path(), &["export-opml"]));
    assert!(exported.contains(&srv.url("/a.xml")));
    assert!(exported.contains(&srv.url("/b.xml")));
    assert!(!exported.contains("gone.xml"));

    // Round trip into a second install.
    let dir2 = tempfile::tempdir().unwrap();
    let file2 = dir.path().join("out.opml");
    std::fs::write(&file2, exported).unwrap();
    ok(&podsift(
        dir2.path(),
        &["subscribe", "--opml", file2.to_str().unwrap()],
    ));
    let feeds = json(&podsift(dir2.path(), &["feeds", "--json"]));
    let mut titles: Vec<&str> = feeds
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["Show A", "Show B"]);
}

/// A misspelt engine or channel setting fails at once, in one line naming the key and the
/// allowed values, before any feed is fetched, any model downloaded or any database made.
#[test]
fn a_typo_in_an_engine_or_channel_name_fails_at_start_naming_the_key() {
    let cases: &[(&str, &str, &str, &[&str])] = &[
        (
            "env",
            "PODSIFT_ASR__ENGINE",
            "lcoal",
            &["asr.engine", "local", "remote", "off"],
        ),
        (
            "file",
            "[llm]\nengine = \"opnai\"\n",
            "",
            &["llm.engine", "local", "openai", "anthropic"],
        ),
        (
            "env",
            "PODSIFT_RANKING__ENGINE",
            "embedings",
            &["ranking.engine", "embeddings", "simple"],
        ),
        (
            "file",
            "[email]\ntls = \"startls\"\n",
            "",
            &["email.tls", "starttls", "tls", "none"],
        ),
    ];
    for (how, key, value, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        let out = match *how {
            "env" => podsift_env(dir.path(), &["run"], true, &[(key, value)]),
            _ => {
                std::fs::write(&config, key).unwrap();
                let path = config.to_str().unwrap();
                podsift_env(dir.path(), &["--config", path, "run"], true, &[])
            }
        };
        let err = fails(&out);
        for word in *expected {
            assert!(err.contains(word), "{key}: {word:?} not in {err:?}");
        }
        // Nothing was done: no database, no model or feed downloads.
        let made: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "config.toml")
            .collect();
        assert!(made.is_empty(), "{key}: made {made:?}");
    }
}

/// Values that parse but cannot work together are refused at load too.
#[test]
fn an_api_engine_without_a_model_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = podsift_env(
        dir.path(),
        &["run"],
        true,
        &[("PODSIFT_LLM__ENGINE", "openai")],
    );
    let err = fails(&out);
    assert!(err.contains("llm.model"), "{err}");
    assert!(!dir.path().join("podsift.db").exists());
}

/// A private feed's URL carries credentials and a token: they are never printed (feeds
/// table, `--json`, the last error, the logs at debug level), while `podsift export-opml` keeps
/// the full URL for a move to another reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_feed_urls_are_shown_without_their_secrets() {
    let srv = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    srv.route(
        "/private.xml",
        Route::ok(
            feed("Members", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    let url = srv
        .url("/private.xml?token=SECRET123")
        .replace("http://", "http://alice:hunter2@");
    ok(&podsift(dir.path(), &["subscribe", &url]));
    srv.route("/private.xml", Route::status(500));
    let polled = podsift_env(
        dir.path(),
        &["poll", "--all"],
        true,
        &[("RUST_LOG", "debug")],
    );
    let table = ok(&podsift(dir.path(), &["feeds"]));
    let listed = ok(&podsift(dir.path(), &["feeds", "--json"]));
    for shown in [
        table.as_str(),
        listed.as_str(),
        &String::from_utf8_lossy(&polled.stdout),
        &String::from_utf8_lossy(&polled.stderr),
    ] {
        assert!(
            !shown.contains("hunter2") && !shown.contains("SECRET123"),
            "a secret is shown: {shown}"
        );
    }
    let f = &json(&podsift(dir.path(), &["feeds", "--json"]))[0];
    assert!(f["last_error"].as_str().unwrap().contains("500"), "{f}");
    assert!(f["url"].as_str().unwrap().contains("/private.xml"), "{f}");
    let opml = ok(&podsift(dir.path(), &["export-opml"]));
    assert!(
        opml.contains("hunter2") && opml.contains("SECRET123"),
        "{opml}"
    );
}
