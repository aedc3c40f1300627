//! A new user's first steps and a shared server's guards, through the `podsift` binary:
//! the SSRF guard's off switch only for single-user commands, the queue cap on a new
//! show's back catalogue, finding shows by name, and the first run's starter shows.

mod common;

use common::*;
use podsift_testkit::{Route, TestServer};

/// The SSRF guard's off switch is for a single-user command on one's own machine: the
/// service (many users, a web UI that adds feeds) refuses it, and it is no longer a
/// configuration key; an administrator lets a home server through with `[http] allow_hosts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_is_turned_off_only_for_single_user_commands() {
    for cmd in ["serve", "worker"] {
        let dir = tempfile::tempdir().unwrap();
        let err = fails(&podsift_env(dir.path(), &[cmd], true, &[]));
        assert!(
            err.contains("--allow-private-networks") && err.contains("allow_hosts"),
            "{cmd}: {err}"
        );
        assert!(
            !dir.path().join("podsift.db").exists(),
            "{cmd} opened the db"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "allow_private_networks = true\n").unwrap();
    let path = config.to_str().unwrap();
    let err = fails(&podsift_env(
        dir.path(),
        &["--config", path, "feeds"],
        false,
        &[],
    ));
    assert!(
        err.contains("allow_private_networks is no longer a setting")
            && err.contains("allow_hosts"),
        "{err}"
    );

    // A loopback feed: refused, then let through by the allow-list (set in the environment).
    let srv = TestServer::start().await;
    srv.route(
        "/home.xml",
        Route::ok(
            feed("Home", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    let url = srv.url("/home.xml");
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&podsift_env(dir.path(), &["subscribe", &url], false, &[]));
    assert!(
        err.contains("refused") && err.contains("allow_hosts"),
        "{err}"
    );
    ok(&podsift_env(
        dir.path(),
        &["subscribe", &url],
        false,
        &[("PODSIFT_HTTP__ALLOW_HOSTS", r#"["127.0.0.1"]"#)],
    ));
}

/// `[poll] max_queued_episodes_per_user`: once a user's shows have that many episodes
/// waiting, a show they add comes without its back catalogue, and they are told so; one
/// OPML import cannot flood the queue everyone shares.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_holds_back_the_next_feeds_back_catalogue() {
    let srv = TestServer::start().await;
    srv.route("/t.vtt", Route::ok(VTT, "text/vtt"));
    let t = srv.url("/t.vtt");
    for name in ["one", "two"] {
        let items: Vec<String> = (1..=3)
            .map(|n| item(n, Some((t.as_str(), "text/vtt")), &format!("{name} {n}")))
            .collect();
        srv.route(
            &format!("/{name}.xml"),
            Route::ok(feed(name, &items, ""), "application/rss+xml"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cap = [("PODSIFT_POLL__MAX_QUEUED_EPISODES_PER_USER", "3")];
    let first = ok(&podsift_env(
        dir.path(),
        &["subscribe", &srv.url("/one.xml")],
        true,
        &cap,
    ));
    assert!(!first.contains("not queued"), "{first}");
    let second = ok(&podsift_env(
        dir.path(),
        &["subscribe", &srv.url("/two.xml")],
        true,
        &cap,
    ));
    assert!(
        second.contains(
            "its earlier episodes were not queued: 3 episodes of your shows are already waiting"
        ),
        "{second}"
    );
    let jobs = json(&podsift_env(dir.path(), &["jobs", "--json"], true, &cap));
    let queued = jobs
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "fetch_transcript")
        .count();
    assert_eq!(queued, 3, "only the first show's back catalogue: {jobs:#}");
}

/// `subscribe --search`: the iTunes Search API (a scripted server on loopback speaking its
/// documented JSON: `results[]` with `collectionName`, `artistName`, `feedUrl`,
/// `trackCount`) lists the matches with a feed; `--pick N` follows one; a number that is not
/// in the list is a one-line error; nothing is followed without being picked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_shows_by_name_and_picks_one() {
    let srv = TestServer::start().await;
    srv.route(
        "/show.xml",
        Route::ok(
            feed("City Desk", &[item(1, None, "One")], ""),
            "application/rss+xml",
        ),
    );
    let answer = serde_json::json!({
        "resultCount": 3,
        "results": [
            {"wrapperType": "track", "kind": "podcast", "collectionName": "City Desk",
             "artistName": "Ann Editor", "feedUrl": srv.url("/show.xml"), "trackCount": 12,
             "primaryGenreName": "News"},
            {"collectionName": "Apple only", "artistName": "Nobody"},
            {"collectionName": "City Desk Extra", "feedUrl": srv.url("/extra.xml")}
        ]
    });
    srv.route("/search", Route::ok(answer.to_string(), "text/javascript"));
    let dir = tempfile::tempdir().unwrap();
    let env = [("PODSIFT_DISCOVERY__ITUNES_BASE_URL", srv.url(""))];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let listed = ok(&podsift_env(
        dir.path(),
        &["subscribe", "--search", "city desk"],
        true,
        &env,
    ));
    assert!(
        listed.contains(" 1. City Desk · Ann Editor · 12 episodes"),
        "{listed}"
    );
    assert!(
        listed.contains(" 2. City Desk Extra") && !listed.contains("Apple only"),
        "{listed}"
    );
    let sent = &srv.requests("/search")[0].uri;
    assert!(
        sent.contains("term=city+desk") && sent.contains("media=podcast"),
        "{sent}"
    );
    assert!(
        json(&podsift(dir.path(), &["feeds", "--json"]))
            .as_array()
            .unwrap()
            .is_empty()
    );

    let err = fails(&podsift_env(
        dir.path(),
        &["subscribe", "--search", "city desk", "--pick", "5"],
        true,
        &env,
    ));
    assert!(err.contains("there is no match 5 (1 to 2)"), "{err}");
    let out = ok(&podsift_env(
        dir.path(),
        &["subscribe", "--search", "city desk", "--pick", "1"],
        true,
        &env,
    ));
    assert!(out.contains("subscribed to City Desk"), "{out}");
    let shows = json(&podsift_env(
        dir.path(),
        &["subscribe", "--search", "city", "--json"],
        true,
        &env,
    ));
    assert_eq!(shows[0]["feed_url"], srv.url("/show.xml"));
}

/// A first `podsift run` with nothing followed says what it does (the starter shows, by
/// name, and how to choose others); a starter show it cannot reach is one line, and the rest
/// are followed and read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_run_follows_the_starter_shows_and_says_so() {
    let srv = TestServer::start().await;
    srv.route("/t.vtt", Route::ok(VTT, "text/vtt"));
    srv.route(
        "/good.xml",
        Route::ok(
            feed(
                "Good Show",
                &[item(
                    1,
                    Some((srv.url("/t.vtt").as_str(), "text/vtt")),
                    "One",
                )],
                "",
            ),
            "application/rss+xml",
        ),
    );
    let llm = podsift_testkit::ScriptedLlm::start().await;
    let dir = tempfile::tempdir().unwrap();
    let starter = dir.path().join("starter.opml");
    let gone = format!("http://127.0.0.1:{}/gone.xml", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    std::fs::write(
        &starter,
        format!(
            r#"<opml version="2.0"><body><outline text="Good Show" xmlUrl="{}"/><outline text="Gone Show" xmlUrl="{gone}"/></body></opml>"#,
            srv.url("/good.xml")
        ),
    )
    .unwrap();
    let starter = starter.display().to_string();
    let base = llm.base_url();
    let env = [
        ("PODSIFT_POLL__STARTER_OPML", starter.as_str()),
        ("PODSIFT_LLM__ENGINE", "openai"),
        ("PODSIFT_LLM__BASE_URL", base.as_str()),
        ("PODSIFT_LLM__MODEL", "scripted"),
        ("PODSIFT_ASR__ENGINE", "off"),
        ("PODSIFT_RANKING__ENGINE", "simple"),
    ];
    let out = podsift_env(dir.path(), &["run"], true, &env);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("You follow no shows yet, so podsift follows 2 starter shows")
            && err.contains("Good Show, Gone Show")
            && err.contains("podsift subscribe --search NAME"),
        "{err}"
    );
    assert_eq!(
        err.matches("could not reach 1 of 2 starter shows").count(),
        1,
        "{err}"
    );
    assert!(
        !err.contains("downloaded once"),
        "an API engine downloads no model: {err}"
    );
    // The starter shows' first fetch is this run's poll: the summary counts it.
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("2 feeds polled, 1 new episodes"), "{said}");
    let feeds = json(&podsift(dir.path(), &["feeds", "--json"]));
    assert_eq!(feeds.as_array().unwrap().len(), 1, "{feeds:#}");
}
