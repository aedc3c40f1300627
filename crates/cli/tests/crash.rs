//! Crash safety of the service with real parts: `podsift serve` and two `podsift worker`
//! processes share one PostgreSQL database while feeds and transcripts are served on
//! loopback and a real SMTP server (aiosmtpd) receives the digests. A seeded random schedule
//! SIGKILLs the processes (each is restarted at once) across many trials, first while
//! transcripts are fetched and insights extracted, then while three days of digests are made
//! and emailed. Afterwards every episode was extracted by exactly one finished job, and every
//! user got one digest per day with one email (one Message-ID) each.
//!
//! The model: by default a scripted OpenAI-compatible API on loopback that answers in 0.6 s
//! with an insight quoting the transcript, so every episode yields insights and the digest
//! half of the trials has work (SmolLM2-135M grounds no insight at all on several of these
//! transcripts, and takes minutes on two cores). `PODSIFT_CRASH_LLM=local` runs the same
//! trials with the local runtime (`podsift-llm` + SmolLM2-135M from the test assets); the
//! local model's own path is tested end to end in `run_e2e.rs`.
//!
//! Reproduce a run with `PODSIFT_CRASH_SEED=<seed printed by the test>`. The processes' logs
//! are printed when an assertion fails.
//!
//! Skips loudly without PostgreSQL (`scripts/ensure-postgres`) or aiosmtpd.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use podsift_core::{JobKind, JobState, Store};
use podsift_testkit::pg::TestDb;
use podsift_testkit::{Route, ScriptedLlm, Smtp, TestServer};

const BIN: &str = env!("CARGO_BIN_EXE_podsift");

#[path = "crash/fleet.rs"]
mod fleet;
use fleet::{Fleet, Rng};

/// Feeds × episodes on the loopback server.
const FEEDS: usize = 3;
const EPISODES_PER_FEED: usize = 6;

/// Distinct, quotable facts: one transcript per episode.
const FACTS: [[&str; 3]; 6] = [
    [
        "The city council approved 500 new bike lanes to be built by 2027.",
        "The plan costs 40 million dollars and a new parking fee pays for it.",
        "Cycling to work has doubled in the city in the last three years.",
    ],
    [
        "The port will run its cranes on batteries from next spring.",
        "Each electric crane saves about 300 tonnes of diesel a year.",
        "Dock workers asked for the change after a study on air quality.",
    ],
    [
        "The library now lends power tools and sewing machines to members.",
        "Loans of tools grew fourfold in the first six months.",
        "The program costs less than one percent of the library budget.",
    ],
    [
        "A bakery chain moved all of its ovens to heat pumps this year.",
        "Its energy bill fell by a third despite higher electricity prices.",
        "Three rival bakeries have asked to visit the new kitchens.",
    ],
    [
        "The school district replaced paper textbooks with open licensed books.",
        "Teachers can now edit the chapters to match their lessons.",
        "The district saved two million dollars in the first year.",
    ],
    [
        "Night trains between the two capitals return after twenty years.",
        "Tickets sold out within a week of the announcement.",
        "The operator plans sleeper cars with private cabins next year.",
    ],
];

/// Episode `n`'s transcript: a set of facts, placed in its own district so every quote is
/// distinct.
fn vtt(n: usize) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (i, fact) in FACTS[n % FACTS.len()].iter().enumerate() {
        let l = format!(
            "In district {n}, {}{}",
            fact[..1].to_lowercase(),
            &fact[1..]
        );
        let start = 1 + i * 6;
        out.push_str(&format!(
            "00:00:{start:02}.000 --> 00:00:{:02}.500\n<v Host>{l}\n\n",
            start + 5
        ));
    }
    out
}

/// Every fetch and extraction job has finished (or one is dead: a failure).
async fn pipeline_state(store: &dyn Store) -> (usize, usize, usize, Vec<String>) {
    let jobs = store.list_jobs(None, 10_000).await.expect("list jobs");
    let mut dead = Vec::new();
    let (mut fetched, mut extracted, mut open) = (0, 0, 0);
    for j in &jobs {
        match (j.kind, j.state) {
            (_, JobState::Dead) => dead.push(format!("{:?} {:?}", j.kind, j.last_error)),
            (JobKind::FetchTranscript, JobState::Done) => fetched += 1,
            (JobKind::ExtractInsights, JobState::Done) => extracted += 1,
            _ => open += 1,
        }
    }
    (fetched, extracted, open, dead)
}

fn path_to(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_workers_lose_nothing_and_send_each_days_digest_once() {
    let llm = match std::env::var("PODSIFT_CRASH_LLM").as_deref() {
        Ok("local") => {
            let model = podsift_testkit::test_asset("smollm2-135m-instruct-q4_1.gguf");
            let llm_bin = Path::new(BIN).with_file_name("podsift-llm");
            let (Some(model), true) = (model, llm_bin.exists()) else {
                podsift_testkit::skip(
                    "crash",
                    "PODSIFT_CRASH_LLM=local needs the SmolLM2 test model \
                     (scripts/fetch-test-assets) and the podsift-llm binary",
                );
                return;
            };
            vec![
                ("PODSIFT_LLM__ENGINE", "local".to_string()),
                ("PODSIFT_LLM__LOCAL_MODEL_PATH", path_to(&model)),
                ("PODSIFT_LLM__LOCAL_SERVER_BIN", path_to(&llm_bin)),
                ("PODSIFT_LLM__LOCAL_THREADS", "1".into()),
                ("PODSIFT_LLM__LOCAL_CONTEXT", "2048".into()),
                ("PODSIFT_LLM__MAX_OUTPUT_TOKENS", "256".into()),
                ("PODSIFT_LLM__TEMPERATURE", "0".into()),
                ("PODSIFT_LLM__CONCURRENCY", "1".into()),
            ]
        }
        _ => {
            // Each answer takes 0.6 s, so kills land in the middle of extractions.
            let api = ScriptedLlm::slow(Duration::from_millis(600)).await;
            // Served by this test's runtime for as long as the test runs.
            let url = api.base_url();
            vec![
                ("PODSIFT_LLM__ENGINE", "openai".to_string()),
                ("PODSIFT_LLM__BASE_URL", url),
                ("PODSIFT_LLM__MODEL", "scripted".into()),
                ("PODSIFT_LLM__CONCURRENCY", "1".into()),
            ]
        }
    };
    let base_seed = std::env::var("PODSIFT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    // Rounds of trials, each on a fresh database and mailbox with its own kill schedule.
    let rounds: u64 = std::env::var("PODSIFT_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    for round in 0..rounds {
        let seed = base_seed.wrapping_add(round.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1;
        let Some(smtp) = Smtp::start_or_skip("crash") else {
            return;
        };
        let Some(db) = TestDb::create().await else {
            podsift_testkit::skip(
                "crash",
                "the crash trials run on PostgreSQL (scripts/ensure-postgres)",
            );
            return;
        };
        eprintln!(
            "crash trials, round {}/{rounds}: PODSIFT_CRASH_SEED={seed} PODSIFT_CRASH_ROUNDS=1",
            round + 1
        );
        let url = db.url.clone();
        let llm = llm.clone();
        let result = tokio::task::spawn_blocking(move || {
            let rt = tokio::runtime::Handle::current();
            trials(&rt, &url, &llm, &smtp, seed);
        })
        .await;
        db.drop_db().await;
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

fn trials(
    rt: &tokio::runtime::Handle,
    db_url: &str,
    llm: &[(&str, String)],
    smtp: &Smtp,
    seed: u64,
) {
    let mut rng = Rng(seed);

    let srv = rt.block_on(TestServer::start());
    let mut feed_urls = Vec::new();
    for f in 0..FEEDS {
        let mut items = String::new();
        for e in 0..EPISODES_PER_FEED {
            let n = f * EPISODES_PER_FEED + e;
            let t = format!("/t{n}.vtt");
            srv.route(&t, Route::ok(vtt(n), "text/vtt"));
            items.push_str(&format!(
                r#"<item><title>Episode {n}</title><guid>ep-{n}</guid>
<pubDate>Mon, 0{} Jun 2025 10:00:00 +0000</pubDate>
<enclosure url="https://cdn.example.com/ep{n}.mp3" type="audio/mpeg" length="1"/>
<podcast:transcript url="{}" type="text/vtt"/></item>"#,
                e + 1,
                srv.url(&t)
            ));
        }
        let feed = format!(
            r#"<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>
<title>Show {f}</title><link>https://example.com/{f}</link>{items}</channel></rss>"#
        );
        srv.route(
            &format!("/feed{f}.xml"),
            Route::ok(feed, "application/rss+xml"),
        );
        feed_urls.push(srv.url(&format!("/feed{f}.xml")));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let env: Vec<(String, String)> = [
        ("PODSIFT_DATABASE_URL", db_url.to_string()),
        ("PODSIFT_HTTP__PER_HOST_INTERVAL_MS", "0".into()),
        (
            "PODSIFT_POLL__INITIAL_EPISODES",
            EPISODES_PER_FEED.to_string(),
        ),
        ("PODSIFT_ASR__ENGINE", "off".into()),
        ("PODSIFT_RANKING__ENGINE", "simple".into()),
        ("PODSIFT_EMAIL__SMTP_HOST", "127.0.0.1".into()),
        ("PODSIFT_EMAIL__SMTP_PORT", smtp.port.to_string()),
        ("PODSIFT_EMAIL__TLS", "none".into()),
        ("PODSIFT_EMAIL__TIMEOUT_SECS", "5".into()),
        // Fast loops and short leases, so a killed process's work is taken over in seconds.
        ("PODSIFT_SERVICE__POLL_EVERY_SECS", "2".into()),
        ("PODSIFT_SERVICE__SCHEDULE_EVERY_SECS", "1".into()),
        ("PODSIFT_SERVICE__WORKER_IDLE_MS", "200".into()),
        ("PODSIFT_SERVICE__JOB_LEASE_SECS", "3".into()),
        ("PODSIFT_SERVICE__STALE_SEND_SECS", "3".into()),
        ("PODSIFT_SERVICE__DELIVERY_RETRY_SECS", "1".into()),
        ("PODSIFT_SERVICE__CATCH_UP_HOURS", "96".into()),
        ("PODSIFT_SERVICE__SHUTDOWN_GRACE_SECS", "5".into()),
    ]
    .into_iter()
    .chain(llm.iter().cloned())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mut fleet = Fleet {
        dir: dir.path().to_path_buf(),
        env,
        procs: Vec::new(),
        kills: 0,
    };

    // Three users in zones without DST, each at the local time of an hour ago: today's slot
    // has passed, the first scheduled one is tomorrow's.
    let now = Utc::now();
    let users: [(&str, &str, &[usize]); 3] = [
        ("ann@example.org", "UTC", &[0, 1]),
        ("bob@example.org", "Asia/Tokyo", &[1, 2]),
        ("cem@example.org", "America/Sao_Paulo", &[0, 1, 2]),
    ];
    for (email, tz, feeds) in users {
        let zone = podsift_schedule::parse_tz(tz).expect("zone");
        let at = (now - chrono::Duration::hours(1))
            .with_timezone(&zone)
            .format("%H:%M")
            .to_string();
        fleet.run(&[
            "users", "add", email, "--tz", tz, "--at", &at, "--size", "2",
        ]);
        let mut args = vec!["--user", email, "subscribe"];
        args.extend(feeds.iter().map(|&f| feed_urls[f].as_str()));
        fleet.run(&args);
    }

    let store: Arc<dyn Store> = rt
        .block_on(podsift_store::connect_database(db_url))
        .expect("open the test database");
    let episodes = FEEDS * EPISODES_PER_FEED;

    // Phase 1: transcripts and extraction while processes are killed.
    fleet.start(&["serve", "worker", "worker"]);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(420);
    let mut phase1_kills = 0;
    // The first kill is planned: the holder of a running job's lease, which another process
    // must then take over.
    let mut planned_takeover: Option<i64> = None;
    // Each trial: a kill at a random moment, then at least one more job finishes before the
    // next one (a restarted fleet makes progress; no job is killed forever).
    let mut progress_at_kill = None;
    loop {
        let (fetched, extracted, open, dead) = rt.block_on(pipeline_state(store.as_ref()));
        assert!(dead.is_empty(), "dead jobs: {dead:?}\n{}", fleet.logs());
        if fetched == episodes && extracted == episodes && open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "pipeline not done in 7 min ({fetched} fetched, {extracted} extracted, {open} open, \
             {} kills)\n{}",
            fleet.kills,
            fleet.logs()
        );
        if planned_takeover.is_none() {
            let jobs = rt.block_on(store.list_jobs(None, 10_000)).expect("jobs");
            planned_takeover = fleet.kill_lease_holder(&jobs);
            if planned_takeover.is_some() {
                phase1_kills += 1;
            }
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        std::thread::sleep(Duration::from_millis(rng.range(100, 900)));
        let progress = fetched + extracted;
        if phase1_kills < 25 && progress_at_kill.is_none_or(|p| progress > p) {
            phase1_kills += usize::from(fleet.kill_one(&mut rng, None));
            progress_at_kill = Some(progress);
        }
    }
    eprintln!(
        "phase 1: {episodes} episodes fetched and extracted in {:.0} s through {phase1_kills} SIGKILLs",
        started.elapsed().as_secs_f64()
    );

    // Every episode: one finished extraction job, its insights stored once.
    let jobs = rt
        .block_on(store.list_jobs(None, 10_000))
        .expect("list jobs");
    // The planned takeover happened: the killed holder's job was finished by another
    // process, on a later attempt (the scripted model never fails, so only a takeover adds
    // one).
    let taken = planned_takeover.expect("a lease holder was killed");
    let taken = jobs.iter().find(|j| j.id == taken).expect("the job");
    assert_eq!(taken.state, JobState::Done, "{taken:?}");
    assert!(taken.attempts >= 2, "taken over after the kill: {taken:?}");
    assert!(
        phase1_kills >= 2,
        "phase 1 landed {phase1_kills} kills: the trial tested nothing"
    );
    let mut per_episode: HashMap<i64, usize> = HashMap::new();
    for j in jobs.iter().filter(|j| j.kind == JobKind::ExtractInsights) {
        assert_eq!(j.state, JobState::Done);
        *per_episode
            .entry(j.episode_id().expect("episode job"))
            .or_default() += 1;
    }
    assert_eq!(per_episode.len(), episodes, "one extraction per episode");
    assert!(per_episode.values().all(|&n| n == 1));
    for ep in per_episode.keys() {
        let insights = rt.block_on(store.episode_insights(*ep)).expect("insights");
        let texts: HashSet<&str> = insights.iter().map(|i| i.draft.text.as_str()).collect();
        assert_eq!(texts.len(), insights.len(), "an insight stored twice");
    }

    // Phase 2: three days of digests (the day before yesterday's slot is stored, within the
    // catch-up window) while the service is killed at random moments.
    let profiles = rt.block_on(store.list_users()).expect("users");
    let mut candidates: BTreeMap<String, usize> = BTreeMap::new();
    for u in profiles.iter().filter(|u| u.email != "local") {
        let first = u.next_digest_at.expect("scheduled");
        let n = rt
            .block_on(store.insight_candidates(u.id, now - chrono::Duration::days(30)))
            .expect("candidates")
            .len();
        candidates.insert(u.email.clone(), n);
        let moved = rt
            .block_on(store.advance_next_digest(
                u.id,
                Some(first),
                Some(first - chrono::Duration::days(3)),
            ))
            .expect("reschedule");
        assert!(moved);
    }
    eprintln!("insights per user before the digests: {candidates:?}");
    assert!(
        candidates.values().all(|&n| n > 0),
        "every user has insights to be sent: {candidates:?}"
    );
    let phase2 = Instant::now();
    let mut phase2_kills = 0;
    loop {
        let done = rt.block_on(async {
            let users = store.list_users().await.expect("users");
            let scheduled = users
                .iter()
                .filter(|u| u.email != "local")
                .all(|u| u.next_digest_at.is_some_and(|t| t > Utc::now()));
            let mut all_sent = true;
            for u in users.iter().filter(|u| u.email != "local") {
                for back in 0..4 {
                    let date = (Utc::now() - chrono::Duration::days(back)).date_naive();
                    for d in [date, date.succ_opt().unwrap_or(date)] {
                        if let Some((id, _)) = store.get_digest(u.id, d).await.expect("digest") {
                            let deliveries = store.list_deliveries(id).await.expect("deliveries");
                            all_sent &= deliveries.iter().all(|d| d.state == "sent");
                        }
                    }
                }
            }
            scheduled && all_sent
        });
        if done {
            break;
        }
        assert!(
            phase2.elapsed() < Duration::from_secs(180),
            "digests not delivered in 3 min ({} kills)\n{}",
            fleet.kills,
            fleet.logs()
        );
        std::thread::sleep(Duration::from_millis(rng.range(100, 800)));
        if phase2_kills < 12 {
            phase2_kills += usize::from(fleet.kill_one(&mut rng, Some("serve")));
        }
    }
    // A little longer without kills: a double send would show up now.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        fleet.stop(),
        "SIGTERM: a process did not exit 0\n{}",
        fleet.logs()
    );
    assert!(
        phase2_kills >= 1,
        "no kill landed while the digests were made: the trial tested nothing"
    );
    eprintln!(
        "phase 2: digests made and delivered in {:.0} s through {phase2_kills} SIGKILLs of serve",
        phase2.elapsed().as_secs_f64()
    );

    // Each user: one digest per day (the store enforces it), no insight sent twice, every
    // outbox row sent, and exactly one email (one Message-ID) per digest.
    let mut messages: HashMap<String, Vec<String>> = HashMap::new();
    for m in smtp.messages() {
        let to = podsift_testkit::smtp::header(&m, "To")
            .unwrap_or("")
            .to_string();
        let id = podsift_testkit::smtp::header(&m, "Message-ID")
            .unwrap_or("")
            .to_string();
        messages.entry(to).or_default().push(id);
    }
    let mut raw_total = 0;
    let mut digests_total = 0;
    for u in profiles.iter().filter(|u| u.email != "local") {
        let mut digests: Vec<(i64, podsift_core::Digest)> = Vec::new();
        rt.block_on(async {
            for back in -1..5 {
                let date = (Utc::now() - chrono::Duration::days(back)).date_naive();
                if let Some(d) = store.get_digest(u.id, date).await.expect("digest") {
                    digests.push(d);
                }
            }
        });
        // Three slots, two insights each, until the user's insights run out.
        let n = candidates[&u.email];
        assert_eq!(
            digests.len(),
            n.div_ceil(2).min(3),
            "{}: {} digests for {n} insights over three days",
            u.email,
            digests.len()
        );
        let sent: usize = digests.iter().map(|(_, d)| d.insights.len()).sum();
        assert_eq!(sent, n.min(6), "{}: insights sent", u.email);
        let mut seen = HashSet::new();
        for (_, d) in &digests {
            for item in &d.insights {
                assert!(
                    seen.insert(item.insight_id),
                    "{}: insight sent twice",
                    u.email
                );
            }
        }
        let ids: HashSet<&String> = messages
            .get(&u.email)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let raw = messages.get(&u.email).map_or(0, Vec::len);
        assert_eq!(
            ids.len(),
            digests.len(),
            "{}: {} distinct emails for {} digests",
            u.email,
            ids.len(),
            digests.len()
        );
        raw_total += raw;
        digests_total += digests.len();
    }
    // A resend can only follow a kill between the SMTP server's acceptance and the outbox
    // write; it carries the same Message-ID (mail clients show it once).
    assert!(
        raw_total - digests_total <= phase2_kills,
        "{raw_total} emails for {digests_total} digests"
    );
    eprintln!(
        "crash trials passed: {} SIGKILLs in all; {digests_total} digests, {raw_total} emails ({} resent with the same Message-ID)",
        fleet.kills,
        raw_total - digests_total
    );
}
