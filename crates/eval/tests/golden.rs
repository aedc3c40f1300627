//! The golden set (`eval/golden`), measured with no model at all: the register check
//! separates the hand-written references from the deliberately weak insights, the ranker users
//! get puts the references first even when the weak ones rate themselves 0.95 and the
//! references 0.6, and the windows a capped reading chooses hold the references' quotes.
//! Figures go to stderr (`cargo test -p podsift-eval --test golden -- --nocapture`).

use chrono::{TimeZone, Utc};
use podsift_eval::golden::{self, GoldenEpisode};

fn episodes() -> Vec<GoldenEpisode> {
    golden::load(&golden::default_dir()).expect("the golden set loads")
}

#[test]
fn the_golden_set_is_ten_episodes_of_references_and_weak_ones() {
    let eps = episodes();
    assert_eq!(eps.len(), 10);
    for ep in &eps {
        let refs = ep.references().count();
        let weak = ep.weak().count();
        assert!((6..=8).contains(&refs), "{}: {refs} references", ep.id);
        assert!((12..=16).contains(&weak), "{}: {weak} weak ones", ep.id);
        assert!(
            ep.weak().all(|l| l.flaw.is_some()),
            "{}: a weak line without its flaw",
            ep.id
        );
        assert!(
            ep.lines.iter().all(|l| l.candidate.quote.is_some()),
            "{}: a line without its quote",
            ep.id
        );
        assert!(
            ep.references().all(|l| l.span.is_some()),
            "{}: a reference without its span (podsift-eval golden --write-spans)",
            ep.id
        );
    }
}

#[test]
fn the_register_check_separates_references_from_weak_ones() {
    let r = golden::register_rates(&episodes());
    eprintln!(
        "references passing {}/{} ({:.1} %), weak failing {}/{} ({:.1} %)",
        r.references_passed,
        r.references,
        100.0 * r.reference_share(),
        r.weak_failed,
        r.weak,
        100.0 * r.weak_share()
    );
    for (flaw, (failed, of)) in &r.by_flaw {
        eprintln!("  weak {flaw:<18} failing {failed}/{of}");
    }
    for (rule, (refs, weak)) in &r.by_rule {
        eprintln!("  rule {rule:<14} fails {refs} references, {weak} weak ones");
    }
    for m in &r.misses {
        eprintln!("  miss: {m}");
    }
    assert!(r.reference_share() >= 0.95, "references passing: {r:?}");
    assert!(r.weak_share() >= 0.95, "weak ones failing: {r:?}");
}

#[test]
fn weak_ones_rating_themselves_high_do_not_beat_strong_ones() {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    let r = golden::ranking_check(&episodes(), 0.95, 0.6, now);
    for (id, refs, picks) in &r.per_episode {
        eprintln!("  {id:<18} top 5: {refs} of {picks} are references");
    }
    eprintln!(
        "pooled top 5: {} of {} references; reference above weak in {:.1} % of pairs",
        r.pooled_references,
        r.pooled_picks,
        100.0 * r.pairwise
    );
    for (id, refs, picks) in &r.per_episode {
        assert_eq!(*picks, 5, "{id}: a full digest");
        assert_eq!(refs, picks, "{id}: only references in the top 5");
    }
    assert_eq!(r.pooled_picks, 5);
    assert_eq!(r.pooled_references, 5);
    assert!(r.pairwise >= 0.95, "{}", r.pairwise);
}

#[test]
fn a_capped_reading_chooses_windows_that_hold_the_references() {
    let corpora = podsift_testkit::require_corpora!();
    let eps = episodes();
    // Read whole: every located quote is in a window.
    let whole = golden::window_coverage(&eps, &corpora, u64::MAX, 1200).unwrap();
    assert_eq!(whole.covered, whole.located);
    assert!(
        whole.located * 10 >= whole.references * 9,
        "most reference quotes are found in their transcripts: {whole:?}"
    );
    for cap in [8_000u64, 16_000] {
        let c = golden::window_coverage(&eps, &corpora, cap, 1200).unwrap();
        eprintln!(
            "cap {cap} tokens/episode: {:.0} % of words read, {}/{} reference quotes inside a chosen window",
            100.0 * c.words_read,
            c.covered,
            c.located
        );
        // The references are spread over the episodes; a capped reading spread over the
        // episode holds at least its share of them.
        assert!(
            c.covered as f64 / c.located.max(1) as f64 >= c.words_read * 0.8,
            "{c:?}"
        );
    }
}
