//! File and stdout channels.

mod common;

use podsift_core::{Channel, DeliveryError};
use podsift_digest::{FileChannel, StdoutChannel, StdoutFormat, render};

#[tokio::test]
async fn file_channel_writes_all_formats_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("digests/nested");
    let ch = FileChannel::new(&out);
    assert_eq!(ch.name(), format!("file:{}", out.display()));
    let digest = common::fixed_digest();
    let r = render(&digest).unwrap();
    let receipt = ch.deliver(&digest, &r, "k").await.unwrap();
    assert_eq!(receipt, out.join("2026-11-26.md").display().to_string());
    for (ext, body) in [
        ("md", &r.markdown),
        ("html", &r.html),
        ("txt", &r.text),
        ("json", &r.json),
    ] {
        let got = std::fs::read_to_string(out.join(format!("2026-11-26.{ext}"))).unwrap();
        assert_eq!(&got, body, "{ext}");
    }
    // Delivering again replaces the files and leaves no temporary files behind.
    let mut r2 = r.clone();
    r2.text = "second".into();
    ch.deliver(&digest, &r2, "k").await.unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("2026-11-26.txt")).unwrap(),
        "second"
    );
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "2026-11-26.html",
            "2026-11-26.json",
            "2026-11-26.md",
            "2026-11-26.txt"
        ]
    );
}

#[tokio::test]
async fn file_channel_unwritable_target_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the directory should be: cannot create the directory.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let ch = FileChannel::new(blocker.join("sub"));
    let digest = common::fixed_digest();
    let err = ch
        .deliver(&digest, &render(&digest).unwrap(), "k")
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        DeliveryError::Permanent(_) | DeliveryError::Temporary(_)
    ));
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[tokio::test]
async fn stdout_channel_prints_text_or_markdown() {
    let digest = common::fixed_digest();
    let r = render(&digest).unwrap();
    let mut buf = Vec::new();
    StdoutChannel::new(StdoutFormat::Text)
        .write_to(&mut buf, &r)
        .unwrap();
    assert_eq!(String::from_utf8(buf).unwrap(), r.text);
    let mut buf = Vec::new();
    StdoutChannel::new(StdoutFormat::Markdown)
        .write_to(&mut buf, &r)
        .unwrap();
    assert_eq!(String::from_utf8(buf).unwrap(), r.markdown);
    let ch = StdoutChannel::default();
    assert_eq!(ch.name(), "stdout");
    assert_eq!(ch.deliver(&digest, &r, "k").await.unwrap(), "stdout");
}
