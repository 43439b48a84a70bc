//! Intake of pushed bundles: verify against the pinned keys and the newest accepted
//! generation, persist the accepted bundle, wake the applier, and answer with an `Ack`.
//!
//! Must never persist or hand on a bundle that failed verification, and never wake the
//! applier before the bundle is flushed to disk.

use flotilla_proto::{Ack, SignedBundle};
use prost::Message;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::state::State;
use crate::status::printable;
use crate::verify::{self, PinnedKeys, VerifyError};

/// Shared by every session; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    cluster: String,
    keys: PinnedKeys,
    state: State,
    /// Carries the newest accepted generation to the applier.
    wake: watch::Sender<u64>,
}

impl Intake {
    pub fn new(
        cluster: String,
        keys: PinnedKeys,
        state: State,
        wake: watch::Sender<u64>,
    ) -> Intake {
        Intake {
            cluster,
            keys,
            state,
            wake,
        }
    }

    /// Judges one pushed bundle. Only a verified, newer bundle reaches the state and the
    /// applier; everything else is answered and dropped.
    pub async fn offer(&self, signed: SignedBundle) -> Ack {
        let accepted = match self.state.accepted_generation().await {
            Ok(generation) => generation,
            Err(err) => return refuse(0, format!("cannot read local state: {err}")),
        };
        // Hashing a large payload is CPU work; keep it off the session's thread.
        let (keys, cluster) = (self.keys.clone(), self.cluster.clone());
        let checked = tokio::task::spawn_blocking(move || {
            let verdict = verify::verify(&signed, &keys, &cluster, accepted);
            (signed, verdict)
        })
        .await;
        let (signed, verdict) = match checked {
            Ok(checked) => checked,
            Err(err) => return refuse(0, format!("bundle verification did not finish: {err}")),
        };
        let bundle = match verdict {
            Ok(bundle) => bundle,
            Err(err @ VerifyError::AlreadyApplied { generation }) => {
                info!(generation, "bundle already held");
                return Ack {
                    generation,
                    accepted: true,
                    message: err.to_string(),
                };
            }
            Err(err) => {
                // The key id is whatever the network sent: bounded and cleaned before logging.
                warn!(error = %err, key_id = %printable(&signed.key_id), "bundle rejected");
                return refuse(err.generation(), err.to_string());
            }
        };
        let generation = bundle.generation;
        if let Err(err) = self
            .state
            .accept_bundle(generation, signed.encode_to_vec())
            .await
        {
            warn!(error = %err, generation, "cannot persist bundle");
            return refuse(generation, format!("cannot persist bundle: {err}"));
        }
        info!(generation, revision = %bundle.revision, units = bundle.units.len(), "bundle accepted");
        self.wake.send_replace(generation);
        Ack {
            generation,
            accepted: true,
            message: format!("bundle generation {generation} accepted"),
        }
    }
}

fn refuse(generation: u64, message: String) -> Ack {
    Ack {
        generation,
        accepted: false,
        message,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Collects everything the fmt subscriber writes.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn rejected_key_id_is_logged_bounded_and_clean() {
        // Regression: the raw key id from the network went into the log line as sent.
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).await.unwrap();
        let (wake, _) = watch::channel(0);
        let intake = Intake::new("cluster-1".into(), PinnedKeys::default(), state, wake);
        let key_id = format!("\u{1b}[2J\nforged{}", "f".repeat(5_000));
        let ack = intake
            .offer(SignedBundle {
                key_id,
                ..SignedBundle::default()
            })
            .await;
        assert!(!ack.accepted);

        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("bundle rejected"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text:.300}");
        assert!(!text.contains(&"f".repeat(100)), "{text:.300}");
        assert_eq!(text.lines().count(), 1, "{text:.300}");
    }
}
