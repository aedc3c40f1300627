//! The daily editor across episodes with a scripted engine: a connection of two episodes is
//! kept with each quote grounded in its own transcript; one citing a single episode, one
//! inventing a figure and one with an ungrounded quote are refused with the reason; with
//! fewer than two episodes no call is made.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use podsift_core::config::LlmConfig;
use podsift_core::{Llm, LlmError, LlmRequest, LlmResponse, Segment};
use podsift_insights::daily::TOPIC;
use podsift_insights::{Connection, DayInsight, MemoryCache, connect};

/// An engine that always gives the same answer, and counts and keeps its requests.
struct Scripted {
    answer: String,
    calls: AtomicUsize,
    seen: Mutex<Vec<LlmRequest>>,
}

impl Scripted {
    fn new(answer: serde_json::Value) -> Self {
        Self {
            answer: answer.to_string(),
            calls: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Llm for Scripted {
    fn model_id(&self) -> String {
        "fake:daily".into()
    }
    async fn complete(&self, req: &LlmRequest) -> Result<LlmResponse, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(req.clone());
        Ok(LlmResponse {
            text: self.answer.clone(),
            prompt_tokens: 100,
            completion_tokens: 50,
        })
    }
}

fn seg(start: f64, text: &str) -> Segment {
    Segment {
        start,
        end: start + 10.0,
        speaker: None,
        text: text.into(),
    }
}

const CHIPS_QUOTE: &str = "TSMC told us the Arizona fab will make 20 percent of its \
                           advanced chips by 2028.";
const POWER_QUOTE: &str = "the Arizona grid operator says new fabs need 4 gigawatts \
                           that the state does not have yet.";

fn chips() -> Vec<Segment> {
    vec![
        seg(0.0, "Welcome back to the show."),
        seg(600.0, CHIPS_QUOTE),
        seg(610.0, "That is a big change for the supply chain."),
    ]
}

fn power() -> Vec<Segment> {
    vec![
        seg(0.0, "Today we talk about electricity."),
        seg(1200.0, "And here is the problem:"),
        seg(1210.0, POWER_QUOTE),
    ]
}

fn answer(items: &[&str], text: &str) -> serde_json::Value {
    serde_json::json!({"connections": [{"items": items, "text": text,
        "reason": "The chip plan depends on power nobody has promised."}]})
}

fn day<'a>(chips: &'a [Segment], power: &'a [Segment]) -> Vec<DayInsight<'a>> {
    vec![
        DayInsight {
            episode_id: 1,
            show: "Chip War Weekly",
            episode: "Fabs in the desert",
            text: "TSMC plans 20 % of its advanced chips in Arizona by 2028.",
            quote: CHIPS_QUOTE,
            segments: chips,
        },
        DayInsight {
            episode_id: 1,
            show: "Chip War Weekly",
            episode: "Fabs in the desert",
            text: "The supply chain changes.",
            quote: "That is a big change for the supply chain.",
            segments: chips,
        },
        DayInsight {
            episode_id: 2,
            show: "Grid Talk",
            episode: "Power for factories",
            text: "Arizona's grid lacks 4 gigawatts for new fabs.",
            // As a model might copy it: a little off, still found.
            quote: "the Arizona grid operator said new fabs need 4 gigawatts that the state \
                    does not have yet",
            segments: power,
        },
    ]
}

fn cfg() -> LlmConfig {
    LlmConfig::default()
}

#[tokio::test]
async fn a_connection_of_two_episodes_is_kept_with_both_quotes_grounded() {
    let (c, p) = (chips(), power());
    let llm = Scripted::new(answer(
        &["I1", "I3"],
        "On Chip War Weekly, TSMC plans 20 % of its advanced chips in Arizona by 2028; on Grid \
         Talk, the grid operator says new fabs need 4 gigawatts the state lacks. The fab plan \
         rests on power nobody has promised, so chip buyers carry a risk TSMC does not \
         mention.",
    ));
    let cache = MemoryCache::default();
    let got = connect(&llm, &cache, &cfg(), &day(&c, &p)).await.unwrap();
    let Connection::Written(w) = got else {
        panic!("refused: {got:?}");
    };
    assert_eq!(w.episode_id, 1);
    assert_eq!(w.episodes, vec![1, 2]);
    let d = &w.draft;
    assert_eq!(d.topics, vec![TOPIC]);
    assert_eq!(d.kind, None);
    assert_eq!(
        d.reason.as_deref(),
        Some("The chip plan depends on power nobody has promised.")
    );
    // The first quote with its own transcript's moment.
    assert_eq!(d.start_seconds, 600.0);
    assert_eq!(d.quote, CHIPS_QUOTE);
    // The second with the other transcript's moment, its text and its episode.
    assert_eq!(d.evidence.len(), 1);
    assert_eq!(d.evidence[0].episode_id, Some(2));
    assert_eq!(d.evidence[0].start_seconds, 1210.0);
    assert_eq!(d.evidence[0].quote, POWER_QUOTE);

    // The request: numbered items with show, episode and quote; a second run is cached.
    let req = llm.seen.lock().unwrap()[0].clone();
    assert!(
        req.user
            .contains("[I3] Grid Talk — Power for factories: Arizona's grid lacks"),
        "{}",
        req.user
    );
    assert!(req.system.contains("empty list"));
    assert!(req.system.contains("the host"));
    let again = connect(&llm, &cache, &cfg(), &day(&c, &p)).await.unwrap();
    assert!(matches!(again, Connection::Written(_)));
    assert_eq!(llm.calls(), 1);
}

#[tokio::test]
async fn a_connection_within_one_episode_is_refused() {
    let (c, p) = (chips(), power());
    let llm = Scripted::new(answer(
        &["I1", "I2"],
        "TSMC plans 20 % of its advanced chips in Arizona by 2028, a big change for the supply \
         chain.",
    ));
    let got = connect(&llm, &MemoryCache::default(), &cfg(), &day(&c, &p))
        .await
        .unwrap();
    let Connection::None { reason } = got else {
        panic!("kept: {got:?}");
    };
    assert!(reason.contains("only one episode"), "{reason}");
}

#[tokio::test]
async fn a_connection_inventing_a_figure_is_refused() {
    let (c, p) = (chips(), power());
    let llm = Scripted::new(answer(
        &["I1", "I3"],
        "TSMC plans 35 % of its advanced chips in Arizona by 2028, but new fabs need 4 \
         gigawatts the state lacks.",
    ));
    let got = connect(&llm, &MemoryCache::default(), &cfg(), &day(&c, &p))
        .await
        .unwrap();
    let Connection::None { reason } = got else {
        panic!("kept: {got:?}");
    };
    assert!(reason.contains("figure 35"), "{reason}");
}

#[tokio::test]
async fn a_quote_not_in_its_own_transcript_is_refused() {
    let (c, p) = (chips(), power());
    let mut d = day(&c, &p);
    // The power quote, but checked against the chips transcript.
    d[2].segments = &c;
    let llm = Scripted::new(answer(
        &["I1", "I3"],
        "TSMC plans 20 % of its advanced chips in Arizona by 2028; new fabs need 4 gigawatts.",
    ));
    let got = connect(&llm, &MemoryCache::default(), &cfg(), &d)
        .await
        .unwrap();
    let Connection::None { reason } = got else {
        panic!("kept: {got:?}");
    };
    assert!(reason.contains("I3 is not found"), "{reason}");
}

#[tokio::test]
async fn nothing_connecting_is_no_connection() {
    let (c, p) = (chips(), power());
    let llm = Scripted::new(serde_json::json!({"connections": []}));
    let got = connect(&llm, &MemoryCache::default(), &cfg(), &day(&c, &p))
        .await
        .unwrap();
    assert!(matches!(got, Connection::None { .. }), "{got:?}");
    assert_eq!(llm.calls(), 1);
}

#[tokio::test]
async fn fewer_than_two_episodes_make_no_call() {
    let (c, p) = (chips(), power());
    let llm = Scripted::new(answer(&["I1", "I2"], "unused"));
    let one_episode = &day(&c, &p)[..2];
    let got = connect(&llm, &MemoryCache::default(), &cfg(), one_episode)
        .await
        .unwrap();
    assert!(matches!(got, Connection::None { .. }), "{got:?}");
    let got = connect(&llm, &MemoryCache::default(), &cfg(), &[])
        .await
        .unwrap();
    assert!(matches!(got, Connection::None { .. }), "{got:?}");
    assert_eq!(llm.calls(), 0);
}
