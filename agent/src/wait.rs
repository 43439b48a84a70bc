//! Waits for a unit's applied objects to become healthy (`wait: true`), polling the live
//! objects until all are current, one has failed, the unit's timeout passes, or the agent
//! shuts down.
//!
//! Reads only: must never change an object, and never wait past the unit's timeout.

use std::time::Duration;

use kube::Client;
use tokio::time::{sleep, Instant};
use tokio_util::sync::CancellationToken;

use crate::cluster::Cluster;
use crate::health::{health, Health};
use crate::object::ObjRef;

/// How often the live objects are read again.
const POLL: Duration = Duration::from_secs(2);
/// The timeout when the unit names none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// `Ok` when every object is current; otherwise the unit's message, as Flux writes it.
pub async fn wait_healthy(
    cluster: &Cluster,
    client: &Client,
    objects: &[ObjRef],
    timeout: Duration,
    shutdown: &CancellationToken,
) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let mut waiting = Vec::new();
        let mut failed = Vec::new();
        for object in objects {
            let Some(resolved) = cluster.resolve(object) else {
                waiting.push(describe(object, "NotFound"));
                continue;
            };
            match Cluster::get(client, &resolved, object).await {
                Ok(Some(live)) => match health(&live) {
                    Health::Current => {}
                    Health::InProgress(_) => waiting.push(describe(object, "InProgress")),
                    Health::Failed(_) => failed.push(describe(object, "Failed")),
                },
                Ok(None) => waiting.push(describe(object, "NotFound")),
                Err(message) => waiting.push(describe(object, &message)),
            }
        }
        let elapsed = started.elapsed();
        if !failed.is_empty() {
            return Err(format!(
                "Health check failed after {}: failed early due to stalled resources: [{}]",
                seconds(elapsed),
                failed.join(", ")
            ));
        }
        if waiting.is_empty() {
            return Ok(());
        }
        if elapsed >= timeout {
            return Err(format!(
                "Health check failed after {}: timeout waiting for: [{}]",
                seconds(elapsed),
                waiting.join(", ")
            ));
        }
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => {
                return Err("Health check interrupted: the agent is shutting down".to_string());
            }
            _ = sleep(POLL.min(timeout - elapsed)) => {}
        }
    }
}

/// `Kind/namespace/name status: 'Word'`, Flux's way of naming an object in a health check.
fn describe(object: &ObjRef, word: &str) -> String {
    if object.namespace.is_empty() {
        format!("{}/{} status: '{word}'", object.kind, object.name)
    } else {
        format!(
            "{}/{}/{} status: '{word}'",
            object.kind, object.namespace, object.name
        )
    }
}

fn seconds(elapsed: Duration) -> String {
    format!("{:.3}s", elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_like_flux() {
        let object = ObjRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: "sample".into(),
            name: "web".into(),
        };
        assert_eq!(
            describe(&object, "InProgress"),
            "Deployment/sample/web status: 'InProgress'"
        );
        assert_eq!(seconds(Duration::from_millis(30_004)), "30.004s");
    }
}
