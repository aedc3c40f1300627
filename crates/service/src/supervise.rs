//! Supervision of the service's loops: a loop that panics (a bug in a stage, a library that
//! panics on odd input) is restarted after a growing backoff instead of ending that work in
//! this process for good; restarts are counted in `/metrics`, and `/healthz` names a loop
//! that is not running.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::stages::sleep_or_stop;

/// First wait before a restart; doubles with each panic in a row, up to [`MAX_BACKOFF`].
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A loop that ran this long before panicking starts its backoff afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(120);

/// Each supervised loop's state, for `/healthz` and `/metrics`.
#[derive(Default)]
pub struct Loops(Mutex<BTreeMap<String, LoopState>>);

#[derive(Debug, Clone, Default)]
pub(crate) struct LoopState {
    pub running: bool,
    pub restarts: u64,
    pub last_panic: Option<String>,
}

impl Loops {
    fn set(&self, name: &str, f: impl FnOnce(&mut LoopState)) {
        if let Ok(mut m) = self.0.lock() {
            f(m.entry(name.to_string()).or_default());
        }
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, LoopState> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Loops not running now, each with why.
    pub fn down(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .filter(|(_, s)| !s.running)
            .map(|(name, s)| {
                format!(
                    "{name} is not running (restarting after a panic: {})",
                    s.last_panic.as_deref().unwrap_or("unknown")
                )
            })
            .collect()
    }
}

/// Aborts the supervised task when the supervisor is dropped (the service's shutdown aborts
/// the supervisors after the grace period).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the loop `make()` builds until it returns (shutdown); restarts it after a panic.
pub(crate) async fn supervise<F, Fut>(
    name: String,
    loops: std::sync::Arc<Loops>,
    mut stop: watch::Receiver<bool>,
    make: F,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut in_a_row: u32 = 0;
    loop {
        loops.set(&name, |s| s.running = true);
        let started = Instant::now();
        let task = tokio::spawn(make());
        let _guard = AbortOnDrop(task.abort_handle());
        let outcome = task.await;
        let Err(e) = outcome else {
            break; // the loop ended: shutdown
        };
        if !e.is_panic() {
            break; // cancelled
        }
        let why = panic_message(e.into_panic());
        if started.elapsed() > HEALTHY_RUN {
            in_a_row = 0;
        }
        in_a_row = in_a_row.saturating_add(1);
        let backoff = FIRST_BACKOFF
            .saturating_mul(1 << (in_a_row - 1).min(6))
            .min(MAX_BACKOFF);
        loops.set(&name, |s| {
            s.running = false;
            s.restarts += 1;
            s.last_panic = Some(why.clone());
        });
        tracing::error!(
            loop_name = %name,
            backoff_secs = backoff.as_secs(),
            "loop panicked: {why}; restarting"
        );
        if sleep_or_stop(backoff, &mut stop).await {
            break;
        }
    }
    loops.set(&name, |s| s.running = true);
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_loop_is_restarted_with_backoff_and_reported() {
        let loops = Arc::new(Loops::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let sup = tokio::spawn(supervise(
            "extract-0".into(),
            loops.clone(),
            stop_rx,
            move || {
                let r = r.clone();
                async move {
                    if r.fetch_add(1, Ordering::SeqCst) < 2 {
                        panic!("boom in the stage");
                    }
                    std::future::pending::<()>().await;
                }
            },
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let down = loops.down();
        assert_eq!(down.len(), 1, "{down:?}");
        assert!(
            down[0].contains("extract-0") && down[0].contains("boom"),
            "{down:?}"
        );
        // 1 s, then 2 s later, the third run stays up.
        tokio::time::sleep(Duration::from_secs(4)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(loops.down().is_empty());
        assert_eq!(loops.snapshot()["extract-0"].restarts, 2);
        let _ = stop_tx.send(true);
        sup.abort();
    }
}
