//! The reconcile loop: fetch the platform source at its interval or on request, render every
//! cluster, and publish a new signed bundle for each cluster whose content changed.
//!
//! A failed fetch keeps the last good snapshot and bundles and records the error on the
//! source. Bundles are persisted before they are published. git2 and sled run in
//! `spawn_blocking`; rendering is pure and runs there too, as it is CPU-bound.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use flotilla_proto::Bundle;
use prost::Message;

use crate::bundle::{enforce_size_limit, next_bundle, renumber};
use std::sync::atomic::Ordering;

use crate::error::{Error, Result};
use crate::resolve::{resolve, Input, SourceState};
use crate::source::{GitSource, FETCH_TIMEOUT};
use crate::state::{ReconcileRequest, State};

pub async fn run(
    state: Arc<State>,
    mut requests: mpsc::Receiver<ReconcileRequest>,
    shutdown: CancellationToken,
) {
    let interval = state.config.source.interval();
    loop {
        let reply = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(reply) = requests.recv() => Some(reply),
            _ = tokio::time::sleep(interval) => None,
        };
        let result = reconcile_once(state.clone()).await;
        if let Err(err) = &result {
            warn!(error = %err, "reconcile failed");
        }
        if let Some(reply) = reply {
            let _ = reply.send(result.map_err(|err| err.to_string()));
        }
    }
}

/// Fetches the platform source, then renders and publishes every cluster. Returns the
/// platform revision.
pub async fn reconcile_once(state: Arc<State>) -> Result<String> {
    if state.fetching.swap(true, Ordering::AcqRel) {
        return Err(Error::Busy(
            "the previous fetch of the platform source is still running".to_string(),
        ));
    }
    let fetch = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let fetched = fetch_platform(&state);
            state.fetching.store(false, Ordering::Release);
            fetched
        })
    };
    // A fetch that hangs (a remote that accepts and then stalls) is given up on here; its
    // thread keeps `fetching` set until it ends, so no second fetch overlaps it.
    let fetched = match tokio::time::timeout(FETCH_TIMEOUT + Duration::from_secs(30), fetch).await {
        Ok(joined) => joined?,
        Err(_) => Err(Error::Busy(format!(
            "fetching {} did not finish within {}s",
            state.config.source.url,
            FETCH_TIMEOUT.as_secs() + 30
        ))),
    };
    let revision = match fetched {
        Ok(revision) => revision,
        Err(err) => {
            // Keep the last good snapshot; record why this fetch failed.
            let message = err.to_string();
            let key = state.platform_key();
            let mut sources = state.sources();
            if !matches!(sources.get(&key), Some(SourceState::Ready { .. })) {
                sources.insert(key, SourceState::Failed(message));
            }
            return Err(err);
        }
    };
    let rendered = state.clone();
    tokio::task::spawn_blocking(move || publish_all(&rendered)).await??;
    Ok(revision)
}

fn fetch_platform(state: &State) -> Result<String> {
    let config = &state.config.source;
    let key = state.platform_key();
    let dir = state
        .config
        .data_dir
        .join("sources")
        .join(format!("{}_{}.git", key.namespace, key.name));
    let source = GitSource::new(&config.url, &config.branch, config.auth.clone(), &dir);
    let now = unix_now();
    let mut record = state.store.source(&key.to_string())?.unwrap_or_default();
    record.url = config.url.clone();
    record.branch = config.branch.clone();
    record.last_fetch_unix = now;
    let fetched = source.fetch().and_then(|revision| {
        let unchanged = matches!(
            state.sources().get(&key),
            Some(SourceState::Ready { revision: r, .. }) if *r == revision.to_string()
        );
        if !unchanged {
            let fs = source.snapshot(&revision.commit)?;
            state.sources().insert(
                key.clone(),
                SourceState::Ready {
                    revision: revision.to_string(),
                    fs: Arc::new(fs),
                },
            );
        }
        Ok(revision)
    });
    match fetched {
        Ok(revision) => {
            record.revision = revision.to_string();
            record.error.clear();
            state.store.put_source(&key.to_string(), &record)?;
            Ok(revision.to_string())
        }
        Err(err) => {
            record.error = err.to_string();
            state.store.put_source(&key.to_string(), &record)?;
            Err(err.into())
        }
    }
}

/// Renders every cluster from the current snapshots and publishes changed bundles.
fn publish_all(state: &State) -> Result<()> {
    let sources = state.sources().clone();
    let platform = state.platform_key();
    let revision = match sources.get(&platform) {
        Some(SourceState::Ready { revision, .. }) => revision.clone(),
        _ => return Ok(()),
    };
    for cluster in &state.config.clusters {
        let Some(cluster_state) = state.clusters.get(&cluster.name) else {
            continue;
        };
        let tenants: Vec<_> = state
            .config
            .tenants
            .iter()
            .filter(|t| t.clusters.is_empty() || t.clusters.contains(&cluster.name))
            .cloned()
            .collect();
        let _publishing = cluster_state.publishing();
        let previous = cluster_state.bundle.borrow().clone();
        let previous_units = previous
            .as_deref()
            .and_then(|p| Bundle::decode(p.signed.payload.as_slice()).ok())
            .map(|b| b.units)
            .unwrap_or_default();
        let mut units = resolve(&Input {
            cluster,
            platform: &platform,
            sources: &sources,
            tenants: &tenants,
            previous: &previous_units,
            cache: Some(&state.render_cache),
        })
        .units;
        enforce_size_limit(&mut units, BUNDLE_LIMIT);
        let Some(bundle) = next_bundle(
            previous.as_deref(),
            &cluster.name,
            &revision,
            units,
            &state.signer,
        ) else {
            continue;
        };
        state.store.put_bundle(&cluster.name, &bundle)?;
        info!(cluster = %cluster.name, generation = bundle.generation, %revision, "bundle published");
        cluster_state.bundle.send_replace(Some(Arc::new(bundle)));
    }
    Ok(())
}

/// Room left in a message for the signature and framing around the bundle.
const BUNDLE_LIMIT: usize = flotilla_proto::MAX_MESSAGE_BYTES - 64 * 1024;

/// Re-signs the cluster's current content above `floor` when an agent holds a newer
/// generation than the hub (the hub's store was restored from an older backup): the
/// agent would refuse anything at or below what it holds, so generations move on.
pub fn republish_above(state: &State, cluster: &str, floor: u64) -> Result<()> {
    let Some(cluster_state) = state.clusters.get(cluster) else {
        return Ok(());
    };
    let _publishing = cluster_state.publishing();
    let Some(current) = cluster_state.bundle.borrow().clone() else {
        return Ok(());
    };
    if current.generation > floor {
        return Ok(());
    }
    let Some(bundle) = renumber(&current, floor + 1, &state.signer) else {
        warn!(cluster, "stored bundle does not decode; cannot renumber it");
        return Ok(());
    };
    state.store.put_bundle(cluster, &bundle)?;
    warn!(
        cluster,
        from = current.generation,
        to = bundle.generation,
        "agent held a newer generation than the hub; content re-signed above it"
    );
    cluster_state.bundle.send_replace(Some(Arc::new(bundle)));
    Ok(())
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs() as i64
}
