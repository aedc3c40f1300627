//! MiniLmEmbedder with the real all-MiniLM-L6-v2 weights (the test copy from
//! `scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer`).

use std::sync::OnceLock;

use podsift_ranking::{Embedder, MINILM_DIM, MiniLmEmbedder, RankError, cosine, test_model_dir};

fn model() -> Option<&'static MiniLmEmbedder> {
    static MODEL: OnceLock<Option<MiniLmEmbedder>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let Some(dir) = test_model_dir() else {
                podsift_testkit::skip(module_path!(), "all-MiniLM-L6-v2 test copy absent; run scripts/fetch-test-assets minilm-config minilm-model minilm-tokenizer");
                return None;
            };
            Some(MiniLmEmbedder::load(&dir).expect("the test copy loads"))
        })
        .as_ref()
}

fn embed(m: &MiniLmEmbedder, texts: &[&str]) -> Vec<Vec<f32>> {
    let owned: Vec<String> = texts.iter().map(|s| s.to_string()).collect();
    m.embed(&owned).expect("embeds")
}

#[test]
fn embeddings_are_unit_length_384_dimensional() {
    let Some(m) = model() else { return };
    let e = embed(
        m,
        &[
            "A short sentence.",
            "",
            "Zürich’s café — ünïcödé and emoji 🎧 too.",
        ],
    );
    assert_eq!(e.len(), 3);
    for v in &e {
        assert_eq!(v.len(), MINILM_DIM);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        assert!(v.iter().all(|x| x.is_finite()));
    }
    assert_eq!(m.dimension(), MINILM_DIM);
}

#[test]
fn paraphrases_are_close_and_unrelated_sentences_far() {
    let Some(m) = model() else { return };
    let e = embed(
        m,
        &[
            "The cat sat on the mat.",
            "A cat was sitting on the rug.",
            "Python 3.12.5 was released with many bug fixes.",
            "A new bug-fix release of Python, version 3.12.5, is out.",
            "Quarterly revenue of the bank fell sharply.",
        ],
    );
    let para1 = cosine(&e[0], &e[1]);
    let para2 = cosine(&e[2], &e[3]);
    let unrelated = cosine(&e[0], &e[4]);
    let unrelated2 = cosine(&e[2], &e[4]);
    eprintln!("paraphrases {para1:.3} {para2:.3}, unrelated {unrelated:.3} {unrelated2:.3}");
    assert!(para1 >= 0.7, "{para1}");
    assert!(para2 >= 0.8, "{para2}");
    assert!(unrelated <= 0.3, "{unrelated}");
    assert!(unrelated2 <= 0.3, "{unrelated2}");
}

#[test]
fn padding_does_not_change_an_embedding() {
    let Some(m) = model() else { return };
    let alone = embed(m, &["Short text."]);
    let long = "This sentence is much longer than the other one, so the batch pads the short one with many padding tokens that the mask must hide.";
    let batched = embed(m, &[long, "Short text.", long]);
    let sim = cosine(&alone[0], &batched[1]);
    assert!(sim > 0.9999, "masked mean pooling ignores padding: {sim}");
    // Order is preserved even though batches are sorted by length internally.
    assert!(cosine(&batched[0], &batched[2]) > 0.9999);
    assert!(cosine(&batched[0], &batched[1]) < 0.9);
}

#[test]
fn long_input_is_truncated_not_rejected() {
    let Some(m) = model() else { return };
    let long = "podcasts are long and transcripts are longer ".repeat(300);
    let e = embed(m, &[long.as_str()]);
    assert_eq!(e[0].len(), MINILM_DIM);
    assert!(m.embed(&[]).unwrap().is_empty());
}

#[test]
fn an_incomplete_model_directory_names_the_missing_file() {
    let dir = std::env::temp_dir().join(format!("podsift-rank-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), "{}").unwrap();
    let err = MiniLmEmbedder::load(&dir).unwrap_err();
    assert!(
        matches!(&err, RankError::ModelMissing { file, .. } if file == "tokenizer.json"),
        "{err}"
    );
    std::fs::write(dir.join("tokenizer.json"), "not a tokenizer").unwrap();
    std::fs::write(dir.join("model.safetensors"), "nope").unwrap();
    let err = MiniLmEmbedder::load(&dir).unwrap_err();
    assert!(matches!(err, RankError::Model { .. }), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn free_text_interests_pick_matching_insights() {
    let Some(m) = model() else { return };
    let interests = podsift_ranking::embed_interests(
        Some(m),
        "Python packaging;  home automation,\nPython packaging",
    )
    .unwrap();
    let labels: Vec<&str> = interests.iter().map(|i| i.label.as_str()).collect();
    assert_eq!(labels, vec!["Python packaging", "home automation"]);
    let e = embed(
        m,
        &[
            "uv now manages Python projects, lock files and interpreters in one tool.",
            "The central bank raised interest rates again.",
        ],
    );
    let near = cosine(&interests[0].embedding, &e[0]);
    let far = cosine(&interests[0].embedding, &e[1]);
    eprintln!("interest match {near:.3} vs {far:.3}");
    assert!(near > far + 0.2, "{near} vs {far}");
}
