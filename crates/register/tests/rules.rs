//! Each rule on insights written to pass or to break it, including the weak kinds the
//! ranker met in practice ("Big changes ahead.", "The host and the guest discuss …", a
//! sponsor read, filler copied from the transcript).

use podsift_register::{Input, Outcome, Rule, check};

const GOOD: &str = "The studio's new deal pays the voice actors' union 8 % of streaming revenue \
instead of a flat fee. That ties actors' income to a title's success, and gives the union a \
reason to promote the shows it once boycotted.";
const GOOD_QUOTE: &str = "Under the new deal the union gets eight percent of streaming revenue \
rather than the flat fee it had before.";

fn failed(text: &str, quote: Option<&str>) -> Vec<Rule> {
    let input = Input {
        text,
        quotes: quote.into_iter().collect(),
        ..Input::default()
    };
    check(&input).failures().map(|r| r.rule).collect()
}

#[test]
fn the_briefs_example_passes_every_rule() {
    let v = check(&Input {
        text: GOOD,
        quotes: vec![GOOD_QUOTE],
        ..Input::default()
    });
    assert!(v.passes(), "{}", v.summary());
    assert_eq!(v.summary(), "pass");
    assert_eq!(v.figures, 1);
    assert!(v.consequence_markers >= 2);
}

#[test]
fn without_a_quote_the_source_rules_are_not_checked_not_failed() {
    let v = check(&Input::text(GOOD));
    assert!(v.passes());
    assert_eq!(v.outcome(Rule::Faithful), Outcome::NotChecked);
    assert_eq!(v.outcome(Rule::NotCopy), Outcome::NotChecked);
    assert_eq!(v.summary(), "pass [not checked: faithful, not_copy]");
}

#[test]
fn shape_counts_sentences_and_words() {
    assert!(failed("Big changes ahead.", None).contains(&Rule::Shape));
    let long = format!("{GOOD} {GOOD} {GOOD}");
    assert!(failed(&long, None).contains(&Rule::Shape));
    let v = check(&Input::text("Big changes ahead."));
    let shape = &v.results[0];
    assert_eq!(shape.rule, Rule::Shape);
    assert!(
        shape.detail.contains("1 sentence, 3 words"),
        "{}",
        shape.detail
    );
}

#[test]
fn standalone_refuses_pointers_the_episode_and_first_person() {
    for (text, why) in [
        (
            "It raised 40 million dollars from Sequoia Capital last week. Rivals now face a better funded Acme.",
            "opens with \"It\"",
        ),
        (
            "The host and the guest discuss how Acme Corp raised 40 million dollars. Rivals now face a better funded Acme.",
            "\"the host\"",
        ),
        (
            "In this episode Acme Corp raised 40 million dollars from Sequoia. Rivals now face a better funded Acme.",
            "\"this episode\"",
        ),
        (
            "Jane Doe talks about Acme Corp raising 40 million dollars. Rivals now face a better funded Acme.",
            "\"talks about\"",
        ),
        (
            "Acme Corp raised 40 million dollars, and we think Sequoia led. Rivals now face a better funded Acme.",
            "(\"we\")",
        ),
        (
            "Acme Corp raised 40 million dollars from Sequoia. If you compete with Acme, expect a price war.",
            "(\"you\")",
        ),
        (
            "Acme Corp raised 40 million dollars and I was surprised. Rivals now face a better funded Acme.",
            "(\"I\")",
        ),
    ] {
        let v = check(&Input::text(text));
        let r = v
            .results
            .iter()
            .find(|r| r.rule == Rule::Standalone)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Fail, "{text}");
        assert!(r.detail.contains(why), "{text}: {}", r.detail);
    }
    // Quoted first person, the country "US" and a mid-sentence "it" are fine.
    let ok = "According to Jane Doe, \u{201c}we will ship in May\u{201d}, and the US launch \
              follows in June. Acme's customers get it two months earlier than planned, so \
              rivals lose their lead.";
    let v = check(&Input::text(ok));
    assert!(v.holds(Rule::Standalone), "{}", v.summary());
}

#[test]
fn specific_wants_a_number_or_two_names_from_the_source() {
    let vague = "Big changes are coming to cloud computing this year. Teams should keep their \
                 options open and plan their budgets with care for what comes next.";
    assert!(failed(vague, None).contains(&Rule::Specific));
    // Two names, no number: specific.
    let names = "Microsoft is moving Azure customers onto its own Cobalt chips for general \
                 workloads. Buyers of cloud capacity gain a cheaper option, and Intel loses \
                 a large customer.";
    assert!(!failed(names, None).contains(&Rule::Specific));
    // Against a quote, the names must be in it.
    let quote = "we are moving general workloads onto Cobalt";
    let v = check(&Input {
        text: names,
        quotes: vec![quote],
        metadata: vec!["Microsoft Azure podcast"],
        ..Input::default()
    });
    assert!(v.holds(Rule::Specific), "{}", v.summary());
}

#[test]
fn faithful_drops_an_invented_figure_or_name() {
    let invented = GOOD.replace("8 %", "12 %");
    let v = check(&Input {
        text: &invented,
        quotes: vec![GOOD_QUOTE],
        ..Input::default()
    });
    assert_eq!(v.outcome(Rule::Faithful), Outcome::Fail);
    assert!(v.hard_failure().is_some_and(|r| r.rule == Rule::Faithful));
    assert!(v.summary().contains("figure 12"), "{}", v.summary());
    // The extraction checked it against its windows: faithful passes on that word.
    let v = check(&Input {
        text: &invented,
        quotes: vec![GOOD_QUOTE],
        faithful_checked: true,
        ..Input::default()
    });
    assert_eq!(v.outcome(Rule::Faithful), Outcome::Pass);
}

#[test]
fn a_copied_quote_is_not_an_insight() {
    let quote = "So the thing is that under the new deal the union gets eight percent of all \
                 the streaming revenue rather than the flat fee that it had before, which is huge.";
    let copy = "Under the new deal the union gets eight percent of all the streaming revenue \
                rather than the flat fee that it had before. Which is huge for everyone.";
    let fails = failed(copy, Some(quote));
    assert!(fails.contains(&Rule::NotCopy), "{fails:?}");
    assert!(!failed(GOOD, Some(quote)).contains(&Rule::NotCopy));
}

#[test]
fn empty_implications_and_missing_consequences_fail() {
    for text in [
        "Acme Corp raised 40 million dollars from Sequoia Capital. This highlights the \
         importance of funding in a competitive market.",
        "Acme Corp raised 40 million dollars from Sequoia Capital. How the money is spent \
         remains to be seen.",
        "Acme Corp raised 40 million dollars from Sequoia Capital. It is worth noting the size.",
    ] {
        let v = check(&Input::text(text));
        let r = v
            .results
            .iter()
            .find(|r| r.rule == Rule::Consequential)
            .unwrap();
        assert_eq!(r.outcome, Outcome::Fail, "{text}");
        assert!(r.detail.starts_with("empty implication"), "{}", r.detail);
    }
    let flat = "Acme Corp raised 40 million dollars from Sequoia Capital in March 2026.";
    assert!(failed(flat, None).contains(&Rule::Consequential));
}

#[test]
fn ads_and_housekeeping_are_refused() {
    for (text, quote) in [
        (
            "Scout APM finds slow database queries in Django and Flask apps. Listeners get a \
          free trial and 20 % off with promo code BYTES.",
            None,
        ),
        (
            "Michael Kennedy and Brian Okken ask listeners to subscribe and leave a review on \
          Apple Podcasts. More reviews help Python Bytes reach new listeners.",
            None,
        ),
        (
            "Scout APM traces requests across Django and Flask services. Teams find slow queries \
          before their users notice them.",
            Some("This episode is brought to you by Scout APM."),
        ),
    ] {
        let fails = failed(text, quote);
        assert!(fails.contains(&Rule::NotAd), "{text}: {fails:?}");
    }
    // "subscribers" is not "subscribe"; a study's sponsor is not a sponsor read.
    let ok = "Netflix lost 2 million subscribers in Europe after the price rise. Rival \
              services gain the customers that leave, and Netflix loses pricing power.";
    assert!(!failed(ok, None).contains(&Rule::NotAd));
}

#[test]
fn the_verdict_serialises_with_rule_names() {
    let v = check(&Input::text("Big changes ahead."));
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["results"][0]["rule"], "shape");
    assert_eq!(json["results"][0]["outcome"], "fail");
    assert_eq!(json["results"][3]["outcome"], "not_checked");
}
