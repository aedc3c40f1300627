//! `podsift-eval golden`: the golden set's figures for BENCHMARKS.md.

use std::time::Duration;

use chrono::Utc;
use podsift_core::Llm;
use podsift_eval::EvalError;
use podsift_eval::golden::{self, GoldenEpisode};
use podsift_eval::golden_run::{self, EngineEpisode};
use podsift_eval::judge::{Judge, JudgeCache};
use podsift_insights::engines::OpenAiCompatible;
use podsift_insights::{Resilient, Secret};
use serde::Serialize;

use super::{GoldenArgs, start_engine};

#[derive(Serialize, Default)]
struct Output {
    register: Option<golden::RegisterRates>,
    ranking: Option<golden::RankingCheck>,
    windows: Vec<golden::WindowCoverage>,
    engine: Option<String>,
    episodes: Vec<EngineEpisode>,
    totals: Option<golden_run::Totals>,
    judge: Option<JudgeOutput>,
}

#[derive(Serialize)]
struct JudgeOutput {
    model: String,
    /// Mean rubric score (1–5) of the engine's top-5 picks, and of the references.
    digest_mean: f64,
    references_mean: f64,
    /// Net pairwise preference of the engine's digest over the references' (−2..2 per day).
    pairwise_net: Vec<i8>,
    calls: usize,
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

pub async fn golden(a: GoldenArgs) -> Result<(), EvalError> {
    let mut eps = golden::load(&golden::default_dir())?;
    if !a.only.is_empty() {
        eps.retain(|e| a.only.contains(&e.id));
    }
    if a.write_spans {
        for ep in &eps {
            let path = golden::transcript_path(&a.corpora, &ep.id)
                .ok_or_else(|| EvalError::Golden(format!("no transcript for {}", ep.id)))?;
            let segments = golden::read_transcript(&path)?;
            let (text, n) = golden::with_spans(ep, &segments)?;
            std::fs::write(&ep.path, text).map_err(|source| EvalError::Write {
                path: ep.path.clone(),
                source,
            })?;
            println!("{}: {n} spans", ep.id);
        }
        return Ok(());
    }
    let now = Utc::now();
    let mut out = Output::default();

    let r = golden::register_rates(&eps);
    println!("## Register check on the golden set (no model)\n");
    println!(
        "- references passing every rule: {}/{} ({})",
        r.references_passed,
        r.references,
        pct(r.reference_share())
    );
    println!(
        "- weak ones failing a rule: {}/{} ({})",
        r.weak_failed,
        r.weak,
        pct(r.weak_share())
    );
    for (flaw, (failed, of)) in &r.by_flaw {
        println!("  - {flaw}: {failed}/{of} fail");
    }
    for m in &r.misses {
        println!("  - miss: {m}");
    }
    out.register = Some(r);

    let k = golden::ranking_check(&eps, 0.95, 0.6, now);
    println!("\n## Ranking (weak ones rate themselves 0.95, references 0.6; no model)\n");
    for (id, refs, picks) in &k.per_episode {
        println!("- {id}: {refs} of {picks} in the top 5 are references");
    }
    println!(
        "- pooled: {} of {} references in the top 5; reference above weak in {} of pairs",
        k.pooled_references,
        k.pooled_picks,
        pct(k.pairwise)
    );
    out.ranking = Some(k);

    println!("\n## Windows a capped reading chooses (1,200-token windows)\n");
    for cap in [8_000u64, 16_000, u64::MAX] {
        let c = golden::window_coverage(&eps, &a.corpora, cap, 1200)?;
        let cap_s = if cap == u64::MAX {
            "no cap".to_string()
        } else {
            format!("{cap} tokens/episode")
        };
        println!(
            "- {cap_s}: {} of words read, {}/{} reference quotes inside a chosen window ({} not found)",
            pct(c.words_read),
            c.covered,
            c.located,
            c.not_found.len()
        );
        out.windows.push(c);
    }

    let mut _runtime = None;
    if a.llm.model.is_some() {
        let mut cfg = a.llm.config();
        let (llm, rt) = start_engine(&a.llm, &mut cfg).await?;
        _runtime = rt;
        out.engine = Some(llm.model_id());
        println!("\n## With {} ({:?})\n", llm.model_id(), a.llm.engine);
        for ep in &eps {
            let e = golden_run::evaluate(llm.as_ref(), &cfg, ep, &a.corpora, now).await?;
            println!(
                "- {}: {} insights, top 5 passing {}/{}, recall@5 {}/{}, recall@10 {}/{}, read {}{}",
                e.id,
                e.insights,
                e.top5_passing(),
                e.top.len().min(5),
                e.recalled_5,
                e.references,
                e.recalled_10,
                e.references,
                pct(e.read),
                e.error
                    .as_deref()
                    .map(|x| format!(" (error: {x})"))
                    .unwrap_or_default()
            );
            println!(
                "  windows read {}/{}, {} claims; editor: {}",
                e.windows.0,
                e.windows.1,
                e.claims,
                e.editor.as_deref().unwrap_or("-")
            );
            for why in e.skipped.iter().chain(&e.dropped).take(6) {
                println!("  - {why}");
            }
            out.episodes.push(e);
        }
        let t = golden_run::totals(&out.episodes);
        println!(
            "- total: {} episodes, {:.1} h; top 5 passing the register {}; recall@5 {}, @10 {}; read {}; {:.0} prompt + {:.0} completion tokens and ${:.4} per episode-hour",
            t.episodes,
            t.hours,
            pct(t.top5_passing),
            pct(t.recall_5),
            pct(t.recall_10),
            pct(t.read),
            t.prompt_tokens_per_hour,
            t.completion_tokens_per_hour,
            t.usd_per_hour
        );
        out.totals = Some(t);
    }

    if let Some(judge_model) = &a.judge_model {
        out.judge = Some(judge(&a, judge_model, &eps, &out.episodes).await?);
    }
    if let Some(path) = &a.json {
        let body = serde_json::to_vec_pretty(&out).map_err(|e| EvalError::Golden(e.to_string()))?;
        std::fs::write(path, body).map_err(|source| EvalError::Write {
            path: path.clone(),
            source,
        })?;
    }
    if let Some(rt) = _runtime {
        rt.shutdown().await;
    }
    Ok(())
}

/// Scores the engine's top 5 and the references with the rubric, and compares the two
/// digests per episode in both orders. Without the key only cached verdicts are used.
async fn judge(
    a: &GoldenArgs,
    model: &str,
    eps: &[GoldenEpisode],
    runs: &[EngineEpisode],
) -> Result<JudgeOutput, EvalError> {
    let key = std::env::var(&a.judge_api_key_env)
        .ok()
        .filter(|k| !k.trim().is_empty());
    let base = a
        .judge_base_url
        .clone()
        .unwrap_or_else(|| "https://api.openai.com/v1".into());
    let llm: Option<Box<dyn Llm>> = match key {
        Some(k) => {
            let engine = OpenAiCompatible::new(
                &base,
                model,
                Some(Secret::new(k)),
                Duration::from_secs(a.llm.timeout.max(1)),
            )
            .map_err(|e| EvalError::Engine(e.to_string()))?;
            Some(Box::new(Resilient::new(
                engine,
                2,
                podsift_insights::resilient::RetryPolicy::default(),
            )))
        }
        None => {
            eprintln!(
                "judge: no {} set: replaying cached verdicts only",
                a.judge_api_key_env
            );
            None
        }
    };
    let mut cache = JudgeCache::open(&JudgeCache::default_path())?;
    let mut judge = Judge::new(llm.as_deref(), model, &mut cache);
    let (mut ours, mut refs_scores) = (Vec::new(), Vec::new());
    let mut pairwise = Vec::new();
    for ep in eps {
        let refs: Vec<String> = ep
            .references()
            .take(5)
            .map(|l| l.candidate.text.clone())
            .collect();
        for l in ep.references().take(5) {
            let s = judge
                .score(
                    &l.candidate.text,
                    l.candidate.quote.as_deref().unwrap_or(""),
                )
                .await?;
            refs_scores.push(s.mean());
        }
        if let Some(run) = runs.iter().find(|r| r.id == ep.id) {
            let digest: Vec<String> = run.top.iter().take(5).map(|p| p.text.clone()).collect();
            for p in run.top.iter().take(5) {
                ours.push(judge.score(&p.text, &p.quote).await?.mean());
            }
            if !digest.is_empty() {
                pairwise.push(judge.compare(&digest, &refs).await?.net());
            }
        }
    }
    let calls = judge.calls;
    cache.save()?;
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let out = JudgeOutput {
        model: model.to_owned(),
        digest_mean: mean(&ours),
        references_mean: mean(&refs_scores),
        pairwise_net: pairwise,
        calls,
    };
    println!(
        "\n## Judge {model} (rubric {}): digest mean {:.2}, references mean {:.2}, pairwise (digest vs references, −2..2) {:?}; {} new verdicts",
        podsift_eval::judge::RUBRIC_VERSION,
        out.digest_mean,
        out.references_mean,
        out.pairwise_net,
        out.calls
    );
    Ok(out)
}
