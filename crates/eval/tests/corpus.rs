//! The parser and the pairing on the real Python Bytes corpus (skipped loudly without it).

use std::path::PathBuf;

use podsift_eval::corpus::{
    episode_number, notes_dir, paired_episodes, read_bounded, transcripts_dir,
};
use podsift_eval::run::Episode;
use podsift_eval::shownotes::{MAX_NOTES_BYTES, parse_show_notes};

fn corpora() -> Option<PathBuf> {
    let root = std::env::var_os("PODSIFT_CORPORA").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../../shared/corpora"
            ))
        },
        PathBuf::from,
    );
    if notes_dir(&root).is_dir() && transcripts_dir(&root).is_dir() {
        Some(root)
    } else {
        podsift_testkit::skip(
            module_path!(),
            &format!("corpora not found at {}", root.display()),
        );
        None
    }
}

#[test]
fn every_show_notes_file_parses_into_items() {
    let Some(root) = corpora() else { return };
    let mut files: Vec<PathBuf> = std::fs::read_dir(notes_dir(&root))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "md")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(episode_number)
                    .is_some()
        })
        .collect();
    files.sort();
    assert!(files.len() > 300, "only {} show notes", files.len());
    let mut bad = Vec::new();
    let mut counts = std::collections::BTreeMap::<usize, usize>::new();
    for f in &files {
        let md = read_bounded(f, MAX_NOTES_BYTES as u64).unwrap();
        let items = parse_show_notes(&md);
        *counts.entry(items.len()).or_default() += 1;
        // Episode 344 is an AMA: its notes name one topic, "AMA questions from the audience".
        let ama = f.file_name().is_some_and(|n| n == "344.md");
        if items.len() < if ama { 1 } else { 3 }
            || items.len() > 12
            || items.iter().any(|i| i.title.trim().is_empty())
        {
            bad.push(format!(
                "{}: {:?}",
                f.display(),
                items.iter().map(|i| &i.title).collect::<Vec<_>>()
            ));
        }
        if items.len() >= 10 {
            eprintln!(
                "{}: {:?}",
                f.display(),
                items.iter().map(|i| &i.title).collect::<Vec<_>>()
            );
        }
        if false {
            bad.push(format!(
                "{}: {:?}",
                f.display(),
                items.iter().map(|i| &i.title).collect::<Vec<_>>()
            ));
        }
    }
    eprintln!("items per episode → episodes: {counts:?}");
    assert!(
        bad.is_empty(),
        "{} files with < 3 items:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn recent_episode_has_the_hosts_items() {
    let Some(root) = corpora() else { return };
    let md = read_bounded(&notes_dir(&root).join("398.md"), MAX_NOTES_BYTES as u64).unwrap();
    let titles: Vec<String> = parse_show_notes(&md).into_iter().map(|i| i.title).collect();
    assert_eq!(
        titles,
        [
            "Open Source Myths",
            "uv 3.0 and all the excitement",
            "Top pytest Plugins",
            "A comparison of hosts / providers for Python serverless functions (aka Faas)"
        ]
    );
}

#[test]
fn episodes_pair_by_number_and_load() {
    let Some(root) = corpora() else { return };
    let pairs = paired_episodes(&root).unwrap();
    assert!(pairs.len() > 300, "only {} pairs", pairs.len());
    assert!(pairs.windows(2).all(|w| w[0].number < w[1].number));
    let last = pairs.last().unwrap();
    let ep = Episode::load(last).unwrap();
    assert!(!ep.items.is_empty());
    assert!(ep.hours() > 0.2, "{} h", ep.hours());
    assert!(ep.title.starts_with(&format!("#{}", last.number)));
}
