//! The editor (reduce) and faithful figures, through the real OpenAI-compatible engine
//! against a scripted server on loopback that speaks the chat-completions protocol: windows
//! answer claims, the editor combines two claims from an hour apart into one insight citing
//! both quotes, and invents a figure in another (dropped, with the reason).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use podsift_core::Segment;
use podsift_core::config::{LlmConfig, LlmEngine};
use podsift_insights::engines::OpenAiCompatible;
use podsift_insights::{EpisodeInput, MemoryCache, extract_episode};

type Editor = dyn Fn(&str) -> String + Send + Sync;

struct Script {
    bodies: Mutex<Vec<serde_json::Value>>,
    editor: Box<Editor>,
}

async fn chat(
    State(s): State<Arc<Script>>,
    Json(body): Json<serde_json::Value>,
) -> Json<serde_json::Value> {
    s.bodies.lock().unwrap().push(body.clone());
    let msg = |role: &str| {
        body["messages"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["role"] == role))
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_owned()
    };
    let (system, user) = (msg("system"), msg("user"));
    let content = if podsift_testkit::llm::is_editor_request(&system) {
        (s.editor)(&user)
    } else {
        // One claim per transcript line that names Acme, quoting it.
        let excerpt = user.split("Transcript excerpt:\n").nth(1).unwrap_or("");
        let claims: Vec<serde_json::Value> = excerpt
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(_, t)| t)
            .filter_map(|t| t.split(". ").find(|s| s.contains("Acme")))
            .map(|t| {
                serde_json::json!({"quote": t, "claim": t, "speaker": null, "kind": "fact",
                    "topics": ["acme"]})
            })
            .collect();
        serde_json::json!({ "claims": claims }).to_string()
    };
    Json(serde_json::json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100}
    }))
}

async fn serve(editor: impl Fn(&str) -> String + Send + Sync + 'static) -> (String, Arc<Script>) {
    let script = Arc::new(Script {
        bodies: Mutex::new(Vec::new()),
        editor: Box::new(editor),
    });
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(chat))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/v1"), script)
}

const RAISE: &str = "Acme raised 40 million dollars from Northwind Capital in March.";
const HIRE: &str = "Acme will spend the money on 300 new engineers in Lisbon.";

/// Ninety minutes: filler every 30 s, the two Acme lines at minute 10 and minute 70.
fn transcript() -> Vec<Segment> {
    (0..180)
        .map(|i| {
            let text = match i {
                20 => RAISE.to_owned(),
                140 => HIRE.to_owned(),
                _ => {
                    "We talked about gardening and the weather for a while, as one does.".to_owned()
                }
            };
            Segment {
                start: i as f64 * 30.0,
                end: i as f64 * 30.0 + 29.0,
                speaker: Some(if i % 2 == 0 { "Ann Lee" } else { "Bob Roe" }.into()),
                text,
            }
        })
        .collect()
}

fn cfg() -> LlmConfig {
    LlmConfig {
        engine: LlmEngine::Openai,
        model: Some("gpt-test".into()),
        // A small model's context: the episode needs several windows.
        context_tokens: Some(4096),
        ..LlmConfig::default()
    }
}

/// The claims' ids in the editor's message, by the text of their claim.
fn id_of(user: &str, needle: &str) -> String {
    let mut id = String::new();
    for line in user.lines() {
        if let Some(rest) = line.strip_prefix('[')
            && let Some((i, _)) = rest.split_once(']')
        {
            id = i.to_owned();
        } else if line.starts_with("Claim: ") && line.contains(needle) {
            return id;
        }
    }
    panic!("no claim with {needle:?} in {user}");
}

#[tokio::test]
async fn the_editor_combines_claims_and_an_invented_figure_is_dropped() {
    let (base, script) = serve(|user| {
        let (raise, hire) = (id_of(user, "40 million"), id_of(user, "300 new"));
        serde_json::json!({"insights": [
            {"claims": [raise, hire],
             "text": "Acme raised 40 million dollars from Northwind Capital and will spend it on 300 \
                      engineers in Lisbon. That makes Acme one of Lisbon's largest tech employers, \
                      and competitors there will pay more to hire.",
             "reason": "A funding round and where the money goes, an hour apart in the episode.",
             "topics": ["funding"]},
            {"claims": [raise],
             "text": "Acme raised 40 million dollars and expects revenue of 90 million by 2027.",
             "reason": "Growth.", "topics": ["funding"]}
        ]})
        .to_string()
    })
    .await;
    let llm = OpenAiCompatible::new(&base, "gpt-test", None, Duration::from_secs(5)).unwrap();
    let segs = transcript();
    let speakers = vec!["Ann Lee".to_owned()];
    let interests = vec!["startups".to_owned()];
    let input = EpisodeInput {
        show: "Tech Weekly",
        title: "Funding news",
        description: "Ann Lee and Bob Roe on <b>funding</b> rounds.",
        speakers: &speakers,
        segments: &segs,
        interests: &interests,
        ..EpisodeInput::default()
    };
    let (insights, report) = extract_episode(&llm, &MemoryCache::new(), &input, &cfg())
        .await
        .unwrap();
    // Every window was read, and the editor was called once.
    assert!(report.windows_total >= 2, "{report:?}");
    assert_eq!(report.windows_processed, report.windows_total);
    assert_eq!(report.read_share(), 1.0);
    let bodies = script.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), report.windows_total + 1);
    assert_eq!(report.calls, bodies.len());
    // Each window knows the episode and where it is in it.
    let first_user = bodies[0]["messages"][1]["content"].as_str().unwrap();
    assert!(first_user.contains("About the episode: Ann Lee and Bob Roe on <b>funding</b>"));
    assert!(
        first_user.contains("Speakers: Ann Lee, Bob Roe"),
        "{first_user}"
    );
    assert!(first_user.contains("The listener's interests: startups"));
    assert!(first_user.contains("Position: minutes 0–"), "{first_user}");
    assert!(first_user.contains(" of 90 (part 1 of "), "{first_user}");
    let editor = bodies.last().unwrap();
    assert_eq!(
        editor["response_format"]["json_schema"]["schema"]["required"][0],
        "insights"
    );
    assert_eq!(report.claims, 2);

    // The combined insight is kept, with both quotes grounded where they are.
    assert_eq!(insights.len(), 1, "{insights:?}");
    let i = &insights[0];
    assert!(i.text.starts_with("Acme raised 40 million dollars"));
    assert_eq!(i.quote, RAISE);
    assert_eq!(i.start_seconds, 600.0);
    assert_eq!(i.evidence.len(), 1);
    assert_eq!(i.evidence[0].quote, HIRE);
    assert_eq!(i.evidence[0].start_seconds, 4200.0);
    assert_eq!(i.evidence[0].speaker.as_deref(), Some("Ann Lee"));
    assert_eq!(
        i.reason.as_deref(),
        Some("A funding round and where the money goes, an hour apart in the episode.")
    );
    // The invented figure is refused, and the report says why.
    assert_eq!(report.dropped.len(), 1, "{:?}", report.dropped);
    assert!(report.dropped[0].text.contains("90 million"));
    assert!(
        report.dropped[0]
            .reason
            .contains("figure 90 is not in its quotes"),
        "{}",
        report.dropped[0].reason
    );
    assert_eq!(
        report.editor.as_deref(),
        Some("the editor wrote 2 insights from 2 claims")
    );
    assert_eq!(report.insights_kept, 1);
}

#[tokio::test]
async fn an_api_model_reads_the_whole_episode_in_one_call_and_a_failing_editor_is_reported() {
    let (base, script) = serve(|_| "I would rather not.".into()).await;
    let llm = OpenAiCompatible::new(&base, "gpt-test", None, Duration::from_secs(5)).unwrap();
    let segs = transcript();
    let input = EpisodeInput {
        show: "Tech Weekly",
        title: "Funding news",
        segments: &segs,
        ..EpisodeInput::default()
    };
    let cfg = LlmConfig {
        context_tokens: None, // an API model: 128k tokens
        ..cfg()
    };
    let (insights, report) = extract_episode(&llm, &MemoryCache::new(), &input, &cfg)
        .await
        .unwrap();
    assert_eq!(report.windows_total, 1, "{report:?}");
    let bodies = script.bodies.lock().unwrap().clone();
    let user = bodies[0]["messages"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("Position: the whole episode (90 minutes)"),
        "{user}"
    );
    assert!(user.contains(RAISE) && user.contains(HIRE));
    // The editor answered garbage twice (one repair): the claims are kept as they are, and
    // the report says so.
    assert_eq!(bodies.len(), 3);
    let editor = report.editor.unwrap();
    assert!(
        editor.starts_with("the editor failed (invalid JSON after one repair attempt"),
        "{editor}"
    );
    let texts: Vec<&str> = insights.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(texts, [RAISE, HIRE]);
    assert!(insights.iter().all(|i| i.reason.is_none()));
}

const NEWS: [&str; 12] = [
    "Acme shipped release 7 to customers in Spain.",
    "Acme hired 40 nurses for its clinic in Ohio.",
    "Acme sold its drone unit to Boeing last spring.",
    "Acme cut prices of the basic plan by half.",
    "Acme opened a data centre near Oslo powered by hydro.",
    "Acme lost a patent case against Initech in Texas.",
    "Acme pays interns 30 dollars an hour now.",
    "Acme moved its headquarters from Boston to Denver.",
    "Acme recalled 12 thousand scooters over brake faults.",
    "Acme signed a union contract covering warehouse staff.",
    "Acme will list on the Frankfurt exchange in June.",
    "Acme dropped support for its first tablet model.",
];

#[tokio::test]
async fn a_three_hour_episode_is_read_whole_in_windows_of_a_small_context() {
    let (base, _script) =
        serve(|user| podsift_testkit::llm::echo_editor_answer(user).to_string()).await;
    let llm = OpenAiCompatible::new(&base, "gpt-test", None, Duration::from_secs(5)).unwrap();
    let mut segs = Vec::new();
    for i in 0..1080 {
        let text = if i % 97 == 0 {
            NEWS[i / 97].to_owned()
        } else {
            format!("We went through listener mail for a while, letter number {i} today.")
        };
        segs.push(Segment {
            start: i as f64 * 10.0,
            end: i as f64 * 10.0 + 9.5,
            speaker: Some("Ann Lee".into()),
            text,
        });
    }
    let input = EpisodeInput {
        show: "Tech Weekly",
        title: "Marathon",
        segments: &segs,
        ..EpisodeInput::default()
    };
    let (insights, report) = extract_episode(&llm, &MemoryCache::new(), &input, &cfg())
        .await
        .unwrap();
    assert!(report.windows_total >= 8, "{report:?}");
    assert_eq!(report.windows_processed, report.windows_total);
    assert!(report.windows_skipped.is_empty());
    assert_eq!(report.words_read, report.words_total);
    assert_eq!(report.read_share(), 1.0);
    assert_eq!(report.claims, 12, "every Acme line, once");
    assert_eq!(insights.len(), 5, "the editor's best five");
}
