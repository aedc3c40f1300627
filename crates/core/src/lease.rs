//! Keeping a claimed job's lease alive while its work runs, so the lease can be short: a
//! killed worker's job is taken over by another worker soon after, and a live one never is.

use std::sync::Arc;
use std::time::Duration;

use crate::jobs::JobId;
use crate::{Clock, Store};

/// Renews a job's lease every third of `lease` until dropped (or until the worker no longer
/// holds it). Create it right after the claim; drop it before completing the job.
#[must_use = "the lease is renewed only while the keeper lives"]
pub struct LeaseKeeper(tokio::task::JoinHandle<()>);

impl LeaseKeeper {
    pub fn start(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        job_id: JobId,
        worker: &str,
        lease: Duration,
    ) -> Self {
        let worker = worker.to_string();
        let every = (lease / 3).max(Duration::from_millis(100));
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match store.heartbeat(job_id, &worker, lease, clock.now()).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = job_id, %worker, "lease lost: another worker took the job over");
                        break;
                    }
                    // A database hiccup: try again at the next beat (the lease has slack).
                    Err(e) => tracing::warn!(job = job_id, "lease heartbeat failed: {e}"),
                }
            }
        }))
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}
