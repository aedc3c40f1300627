//! In-process counters and the Prometheus text exposition (written by hand: a handful of
//! series does not need a metrics library).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use podsift_core::ServiceCounts;

/// Counters of this process since it started.
pub struct Metrics {
    started: Instant,
    digests_made: AtomicU64,
    deliveries_sent: AtomicU64,
    deliveries_failed: AtomicU64,
    feeds_polled: AtomicU64,
    /// Per stage: (jobs run, stage errors).
    stages: Mutex<BTreeMap<&'static str, (u64, u64)>>,
    /// The supervised loops (up, restarts).
    pub loops: std::sync::Arc<crate::Loops>,
}

impl Metrics {
    pub fn new(started: Instant) -> Self {
        Self {
            started,
            digests_made: AtomicU64::new(0),
            deliveries_sent: AtomicU64::new(0),
            deliveries_failed: AtomicU64::new(0),
            feeds_polled: AtomicU64::new(0),
            stages: Mutex::new(BTreeMap::new()),
            loops: std::sync::Arc::default(),
        }
    }

    pub(crate) fn digest_made(&self) {
        self.digests_made.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn delivered(&self, sent: usize, failed: usize) {
        self.deliveries_sent
            .fetch_add(sent as u64, Ordering::Relaxed);
        self.deliveries_failed
            .fetch_add(failed as u64, Ordering::Relaxed);
    }

    pub(crate) fn polled(&self, feeds: usize) {
        self.feeds_polled.fetch_add(feeds as u64, Ordering::Relaxed);
    }

    pub(crate) fn jobs_run(&self, stage: &'static str, n: usize) {
        if let Ok(mut m) = self.stages.lock() {
            m.entry(stage).or_default().0 += n as u64;
        }
    }

    pub(crate) fn stage_error(&self, stage: &'static str) {
        if let Ok(mut m) = self.stages.lock() {
            m.entry(stage).or_default().1 += 1;
        }
    }

    /// The exposition: database-wide gauges from `counts`, this process's counters.
    pub fn render(&self, counts: &ServiceCounts) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            "podsift_jobs",
            "gauge",
            "Jobs in the queue by kind and state.",
        );
        let mut body = String::new();
        for (kind, state, n) in &counts.jobs {
            let _ = writeln!(
                body,
                "podsift_jobs{{kind=\"{}\",state=\"{}\"}} {n}",
                label(kind),
                label(state)
            );
        }
        out.push_str(&body);
        let gauge = |out: &mut String, name: &str, help: &str, v: String| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            &mut out,
            "podsift_feeds",
            "Feeds with at least one subscriber.",
            counts.feeds.to_string(),
        );
        gauge(
            &mut out,
            "podsift_digests",
            "Digests made (all users, all time).",
            counts.digests.to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP podsift_deliveries Outbox rows by state (sent, dead = failed for good, pending, sending).\n# TYPE podsift_deliveries gauge"
        );
        for state in ["pending", "sending", "sent", "dead"] {
            let n = counts
                .deliveries
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "podsift_deliveries{{state=\"{state}\"}} {n}");
        }
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "podsift_process_digests_made_total",
            "Digests this process made.",
            self.digests_made.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "podsift_process_deliveries_sent_total",
            "Deliveries this process sent.",
            self.deliveries_sent.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "podsift_process_deliveries_failed_total",
            "Delivery attempts of this process that failed (retried or dead).",
            self.deliveries_failed.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "podsift_process_feeds_polled_total",
            "Feed polls of this process.",
            self.feeds_polled.load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP podsift_process_jobs_total Jobs this process ran, by stage.\n# TYPE podsift_process_jobs_total counter"
        );
        let stages = self.stages.lock().map(|m| m.clone()).unwrap_or_default();
        for (stage, (n, _)) in &stages {
            let _ = writeln!(out, "podsift_process_jobs_total{{stage=\"{stage}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP podsift_process_stage_errors_total Stage runs that failed as a whole (database, engine start).\n# TYPE podsift_process_stage_errors_total counter"
        );
        for (stage, (_, e)) in &stages {
            let _ = writeln!(
                out,
                "podsift_process_stage_errors_total{{stage=\"{stage}\"}} {e}"
            );
        }
        let loops = self.loops.snapshot();
        let _ = writeln!(
            out,
            "# HELP podsift_process_loop_up Whether a loop of this process runs (0: restarting after a panic).\n# TYPE podsift_process_loop_up gauge"
        );
        for (name, s) in &loops {
            let _ = writeln!(
                out,
                "podsift_process_loop_up{{loop=\"{}\"}} {}",
                label(name),
                u8::from(s.running)
            );
        }
        let _ = writeln!(
            out,
            "# HELP podsift_process_loop_restarts_total Restarts of a loop after a panic.\n# TYPE podsift_process_loop_restarts_total counter"
        );
        for (name, s) in &loops {
            let _ = writeln!(
                out,
                "podsift_process_loop_restarts_total{{loop=\"{}\"}} {}",
                label(name),
                s.restarts
            );
        }
        gauge(
            &mut out,
            "podsift_uptime_seconds",
            "Seconds since this process started.",
            format!("{:.1}", self.started.elapsed().as_secs_f64()),
        );
        out
    }
}

/// A label value: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_every_series() {
        let m = Metrics::new(Instant::now());
        m.jobs_run("fetch", 3);
        m.delivered(2, 1);
        let text = m.render(&ServiceCounts {
            jobs: vec![("fetch_transcript".into(), "done".into(), 4)],
            feeds: 2,
            digests: 1,
            deliveries: vec![("sent".into(), 2), ("dead".into(), 1)],
        });
        for line in [
            "podsift_jobs{kind=\"fetch_transcript\",state=\"done\"} 4",
            "podsift_feeds 2",
            "podsift_digests 1",
            "podsift_deliveries{state=\"sent\"} 2",
            "podsift_deliveries{state=\"dead\"} 1",
            "podsift_deliveries{state=\"pending\"} 0",
            "podsift_process_deliveries_failed_total 1",
            "podsift_process_jobs_total{stage=\"fetch\"} 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        assert!(text.contains("podsift_uptime_seconds "));
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
