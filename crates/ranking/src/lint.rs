//! `podsift lint FILE.jsonl`: the register check on candidate lines of the `podsift rank`
//! input format; per line, pass or the rules that failed. A line that carries no quote has
//! its source rules (faithful, not a copy) reported as not checked, not failed. On a
//! labelled file (the golden set) it also says how well the check separates the
//! references from the weak ones.

use std::fmt::Write as _;

use podsift_register::{Outcome, Verdict};
use serde::Serialize;

use crate::error::RankError;
use crate::jsonl::{parse_candidate_lines, short};

/// One line's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintLine {
    pub line: usize,
    pub text: String,
    pub pass: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flaw: Option<String>,
    pub verdict: Verdict,
}

/// Every line's verdict and the totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintReport {
    pub lines: Vec<LintLine>,
    pub passed: usize,
    pub failed: usize,
    /// Lines labelled `reference` that pass every rule, and how many there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references_passed: Option<(usize, usize)>,
    /// Lines labelled `weak` that fail a rule, and how many there are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weak_failed: Option<(usize, usize)>,
}

/// Lints `text` (candidate JSONL; `source_name` names it in errors).
pub fn lint_jsonl(text: &str, source_name: &str) -> Result<LintReport, RankError> {
    let parsed = parse_candidate_lines(text, source_name)?;
    let mut lines = Vec::with_capacity(parsed.len());
    for l in parsed {
        let verdict = podsift_register::check(&l.candidate.register_input());
        lines.push(LintLine {
            line: l.line,
            pass: verdict.passes(),
            text: l.candidate.text,
            label: l.label,
            flaw: l.flaw,
            verdict,
        });
    }
    let passed = lines.iter().filter(|l| l.pass).count();
    let tally = |label: &str, want_pass: bool| {
        let of: Vec<&LintLine> = lines
            .iter()
            .filter(|l| l.label.as_deref() == Some(label))
            .collect();
        (!of.is_empty()).then(|| (of.iter().filter(|l| l.pass == want_pass).count(), of.len()))
    };
    Ok(LintReport {
        failed: lines.len() - passed,
        references_passed: tally("reference", true),
        weak_failed: tally("weak", false),
        passed,
        lines,
    })
}

fn share((n, of): (usize, usize)) -> String {
    format!("{n} of {of} ({:.0} %)", 100.0 * n as f64 / of.max(1) as f64)
}

/// The terminal rendering: `line N: pass` or `line N: FAIL rule (why); …`, then totals.
pub fn render_lint(report: &LintReport) -> String {
    let mut s = String::new();
    for l in &report.lines {
        let label = match (&l.label, &l.flaw) {
            (Some(label), Some(flaw)) => format!(" [{label}: {flaw}]"),
            (Some(label), None) => format!(" [{label}]"),
            _ => String::new(),
        };
        let _ = writeln!(s, "line {}{label}: {}", l.line, short(&l.text, 90));
        if l.pass {
            let _ = write!(s, "  pass");
        } else {
            let _ = write!(s, "  FAIL");
            for r in l.verdict.failures() {
                let _ = write!(s, "\n    {}: {}", r.rule, r.detail);
            }
        }
        let unchecked: Vec<&str> = l
            .verdict
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::NotChecked)
            .map(|r| r.rule.as_str())
            .collect();
        if !unchecked.is_empty() {
            let _ = write!(s, "\n    not checked (no quote): {}", unchecked.join(", "));
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "\n{} lines: {} pass, {} fail.",
        report.lines.len(),
        report.passed,
        report.failed
    );
    if let Some(r) = report.references_passed {
        let _ = writeln!(s, "references passing every rule: {}", share(r));
    }
    if let Some(w) = report.weak_failed {
        let _ = writeln!(s, "weak ones failing a rule: {}", share(w));
    }
    s
}
