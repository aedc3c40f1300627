//! The lenient parser of a model's answer (insights `parse.rs`) on arbitrary text: never
//! panics, and keeps at most `MAX_ITEMS_PER_ANSWER` claims, each with a claim and a quote.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podsift_insights::parse::{MAX_ITEMS_PER_ANSWER, answer_items, parse_answer};

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = parse_answer(answer) {
        assert!(parsed.claims.len() <= MAX_ITEMS_PER_ANSWER);
        for c in &parsed.claims {
            assert!(
                !c.claim.trim().is_empty() && !c.quote.trim().is_empty(),
                "{c:?}"
            );
        }
    }
    let _ = answer_items(answer, &["insights"]);
});
