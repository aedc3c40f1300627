//! The synthetic feed farm.

use podsift_testkit::feed_farm;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Checks that the tags balance (the farm's XML has no comments or CDATA) and returns the
/// item GUIDs.
fn guids(xml: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(open) = rest.find('<') {
        let close = open + rest[open..].find('>').expect("unclosed tag");
        let tag = &rest[open + 1..close];
        if tag.starts_with('?') || tag.ends_with('/') {
            // declaration or empty element
        } else if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "unbalanced XML");
        } else {
            let name = tag.split_whitespace().next().unwrap_or_default().to_owned();
            if name == "guid" {
                let text_end = close + 1 + rest[close + 1..].find('<').unwrap();
                out.push(rest[close + 1..text_end].to_owned());
            }
            stack.push(name);
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    out
}

#[tokio::test]
async fn stable_feeds_answer_304_and_changing_feeds_change() {
    let farm = feed_farm(100, 0.3).await;
    let c = client();
    let mut stable = 0;
    let mut all_guids = std::collections::HashSet::new();
    for i in 0..100 {
        let url = farm.url(&format!("/feed/{i}.xml"));
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let etag = r.headers()["etag"].to_str().unwrap().to_owned();
        let xml = r.text().await.unwrap();
        assert!(xml.contains("<rss") && xml.contains(&format!("Farm Feed {i}<")));
        let g = guids(&xml);
        assert_eq!(g.len(), 3);
        for guid in g {
            assert!(all_guids.insert(guid), "feeds must be distinct");
        }
        let again = c
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        if again.status() == 304 {
            stable += 1;
        } else {
            assert_eq!(again.status(), 200);
            let etag2 = again.headers()["etag"].to_str().unwrap().to_owned();
            assert_ne!(etag2, etag);
            let g2 = guids(&again.text().await.unwrap());
            assert_eq!(g2[0], format!("farm-{i}-ep-3"), "one new episode on top");
        }
        assert_eq!(farm.hits(&format!("/feed/{i}.xml")), 2);
    }
    assert_eq!(stable, 30);
    assert_eq!(farm.not_modified_served(), 30);
    assert_eq!(farm.total_requests(), 200);
}

#[tokio::test]
async fn out_of_range_is_404_and_transcripts_are_served() {
    let farm = feed_farm(5, 1.0).await;
    let c = client();
    assert_eq!(
        c.get(farm.url("/feed/5.xml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(farm.url("/feed/x.xml"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let xml = c
        .get(farm.url("/feed/4.xml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = xml.find("url=\"http://").unwrap() + 5;
    let transcript_url = &xml[start..start + xml[start..].find('"').unwrap()];
    assert!(transcript_url.ends_with(".vtt"), "{transcript_url}");
    let vtt = c
        .get(transcript_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(vtt.starts_with("WEBVTT"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_requests() {
    let farm = feed_farm(2000, 0.5).await;
    let c = client();
    let tasks: Vec<_> = (0..2000)
        .map(|i| {
            let c = c.clone();
            let url = farm.url(&format!("/feed/{i}.xml"));
            tokio::spawn(async move { c.get(url).send().await.map(|r| r.status()) })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), 200);
    }
    assert_eq!(farm.total_requests(), 2000);
}
