//! The reconcile loop: fetch the platform source at its interval or on request, render every
//! cluster, and publish a new signed bundle for each cluster whose content changed.
//!
//! A failed fetch keeps the last good snapshot and bundles and records the error on the
//! source. Bundles are persisted before they are published. git2 and sled run in
//! `spawn_blocking`; rendering is pure and runs there too, as it is CPU-bound.

use std::sync::Arc;
use std::time::Duration;

use flotilla_proto::Bundle;
use prost::Message;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use flotilla_config::flux::GitRepositorySpec;
use flotilla_config::{is_dns_label, GitAuth};
use flotilla_proto::Unit;

use crate::bundle::{enforce_size_limit, next_bundle, renumber};
use crate::error::{Error, Result};
use crate::metrics::{ClusterLabel, SourceLabel};
use crate::resolve::{resolve, Input, SourceKey, SourceState};
use crate::source::{GitSource, FETCH_TIMEOUT};
use crate::state::{ReconcileRequest, State};
use crate::store::SourceRecord;

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
    // A failed fetch keeps the last good snapshot; `fetch_source` recorded why.
    let revision = fetched?;
    let rendered = state.clone();
    tokio::task::spawn_blocking(move || publish_all(&rendered)).await??;
    Ok(revision)
}

fn fetch_platform(state: &State) -> Result<String> {
    let config = &state.config.source;
    fetch_source(
        state,
        &state.platform_key(),
        &config.url,
        &config.branch,
        config.auth.clone(),
    )
}

/// Fetches one source into its mirror, snapshots a new commit, and records the outcome. A
/// failure keeps the last good snapshot.
fn fetch_source(
    state: &State,
    key: &SourceKey,
    url: &str,
    branch: &str,
    auth: GitAuth,
) -> Result<String> {
    let dir = state
        .config
        .data_dir
        .join("sources")
        .join(format!("{}_{}.git", key.namespace, key.name));
    let source = GitSource::new(url, branch, auth, &dir);
    let label = SourceLabel {
        source: key.to_string(),
    };
    state.metrics.fetches.get_or_create(&label).inc();
    let mut record = state.store.source(&key.to_string())?.unwrap_or_default();
    record.url = url.to_string();
    record.branch = branch.to_string();
    record.last_fetch_unix = unix_now();
    let fetched = source.fetch().and_then(|revision| {
        let unchanged = matches!(
            state.sources().get(key),
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
            state.metrics.fetch_failures.get_or_create(&label).inc();
            record.error = err.to_string();
            state.store.put_source(&key.to_string(), &record)?;
            mark_failed(state, key, &record.error);
            Err(err.into())
        }
    }
}

/// Records why a source has no snapshot, unless an older good one is kept.
fn mark_failed(state: &State, key: &SourceKey, message: &str) {
    let mut sources = state.sources();
    if !matches!(sources.get(key), Some(SourceState::Ready { .. })) {
        sources.insert(key.clone(), SourceState::Failed(message.to_string()));
    }
}

/// Fetches a GitRepository a cluster's tree declared: anonymously, over `https://` (or
/// `file://` where the hub allows it), never with the platform's credentials.
fn fetch_declared(state: &State, key: &SourceKey, spec: &GitRepositorySpec) {
    let refuse = |message: String| {
        let _ = state.store.put_source(
            &key.to_string(),
            &SourceRecord {
                url: spec.url.clone(),
                error: message.clone(),
                last_fetch_unix: unix_now(),
                ..Default::default()
            },
        );
        mark_failed(state, key, &message);
    };
    if !is_dns_label(&key.namespace) || !key.name.split('.').all(is_dns_label) {
        return refuse(format!("GitRepository {key}: not a valid name"));
    }
    let branch = spec
        .reference
        .as_ref()
        .and_then(|r| r.branch.clone())
        .unwrap_or_else(|| "master".to_string());
    // The last good snapshot stands in for a failed fetch of the same repository only; a
    // new URL or branch must never be served the old one's content.
    let record = state.store.source(&key.to_string()).ok().flatten();
    if record.is_some_and(|r| r.url != spec.url || (!r.branch.is_empty() && r.branch != branch)) {
        state.sources().remove(key);
    }
    let allowed = spec.url.starts_with("https://")
        || (state.config.allow_file_sources && spec.url.starts_with("file://"));
    if !allowed {
        return refuse(format!(
            "GitRepository {key}: url `{}` is not allowed: sources declared in Git are fetched over https:// only{}",
            spec.url,
            if state.config.allow_file_sources { " or file://" } else { "" }
        ));
    }
    if let Err(err) = fetch_source(state, key, &spec.url, &branch, GitAuth::default()) {
        warn!(source = %key, error = %err, "fetch of a declared source failed");
    }
}

/// Resolves every cluster; fetches the GitRepositories the trees declare and resolves
/// again while new ones appear (a tenant repository may declare more), a few rounds at most.
fn resolve_all(
    state: &State,
    previous: &BTreeMap<String, Vec<Unit>>,
) -> BTreeMap<String, Vec<Unit>> {
    const ROUNDS: usize = 4;
    let platform = state.platform_key();
    let mut fetched: BTreeSet<SourceKey> = BTreeSet::new();
    let mut round = 0;
    loop {
        round += 1;
        let sources = state.sources().clone();
        let mut units = BTreeMap::new();
        let mut declared: BTreeMap<SourceKey, (GitRepositorySpec, String)> = BTreeMap::new();
        let mut conflicts: BTreeMap<SourceKey, String> = BTreeMap::new();
        for cluster in &state.config.clusters {
            let tenants: Vec<_> = state
                .config
                .tenants
                .iter()
                .filter(|t| t.clusters.is_empty() || t.clusters.contains(&cluster.name))
                .cloned()
                .collect();
            let none = Vec::new();
            let suspended = state.store.suspended(&cluster.name).unwrap_or_else(|err| {
                warn!(cluster = %cluster.name, error = %err, "cannot read suspensions");
                Default::default()
            });
            let resolution = resolve(&Input {
                cluster,
                platform: &platform,
                sources: &sources,
                tenants: &tenants,
                previous: previous.get(&cluster.name).unwrap_or(&none),
                cache: Some(&state.render_cache),
                suspended: &suspended,
            });
            for (key, spec) in resolution.git_repositories {
                if key == platform {
                    continue;
                }
                match declared.get(&key) {
                    Some((first, by))
                        if first.url != spec.url || first.reference != spec.reference =>
                    {
                        conflicts.entry(key.clone()).or_insert_with(|| {
                            format!(
                                "GitRepository {key} is declared with different specs by clusters {by} and {}",
                                cluster.name
                            )
                        });
                    }
                    Some(_) => {}
                    None => {
                        declared.insert(key, (spec, cluster.name.clone()));
                    }
                }
            }
            units.insert(cluster.name.clone(), resolution.units);
        }
        let pending: Vec<_> = declared
            .into_iter()
            .filter(|(key, _)| !fetched.contains(key))
            .collect();
        if pending.is_empty() || round == ROUNDS {
            return units;
        }
        for (key, (spec, _)) in pending {
            match conflicts.get(&key) {
                Some(message) => {
                    state
                        .sources()
                        .insert(key.clone(), SourceState::Failed(message.clone()));
                }
                None => fetch_declared(state, &key, &spec),
            }
            fetched.insert(key);
        }
    }
}

/// Renders every cluster from the current snapshots and publishes changed bundles.
pub fn publish_all(state: &State) -> Result<()> {
    let revision = match state.sources().get(&state.platform_key()) {
        Some(SourceState::Ready { revision, .. }) => revision.clone(),
        _ => return Ok(()),
    };
    let previous: BTreeMap<String, Vec<Unit>> = state
        .clusters
        .iter()
        .map(|(name, cluster)| {
            let units = cluster
                .bundle
                .borrow()
                .as_deref()
                .and_then(|p| Bundle::decode(p.signed.payload.as_slice()).ok())
                .map(|b| b.units)
                .unwrap_or_default();
            (name.clone(), units)
        })
        .collect();
    let started = std::time::Instant::now();
    let mut resolved = resolve_all(state, &previous);
    for cluster in &state.config.clusters {
        let (Some(cluster_state), Some(mut units)) = (
            state.clusters.get(&cluster.name),
            resolved.remove(&cluster.name),
        ) else {
            continue;
        };
        let _publishing = cluster_state.publishing();
        let current = cluster_state.bundle.borrow().clone();
        enforce_size_limit(&mut units, BUNDLE_LIMIT);
        let Some(bundle) = next_bundle(
            current.as_deref(),
            &cluster.name,
            &revision,
            units,
            &state.signer,
        ) else {
            continue;
        };
        state.store.put_bundle(&cluster.name, &bundle)?;
        info!(cluster = %cluster.name, generation = bundle.generation, %revision, "bundle published");
        let label = ClusterLabel {
            cluster: cluster.name.clone(),
        };
        state.metrics.bundles_published.get_or_create(&label).inc();
        state
            .metrics
            .bundle_generation
            .get_or_create(&label)
            .set(i64::try_from(bundle.generation).unwrap_or(i64::MAX));
        cluster_state.bundle.send_replace(Some(Arc::new(bundle)));
    }
    let stats = state.render_cache.stats();
    let metrics = &state.metrics;
    metrics
        .render_seconds
        .observe(started.elapsed().as_secs_f64());
    metrics
        .render_cache_hits
        .set(i64::try_from(stats.hits).unwrap_or(i64::MAX));
    metrics
        .render_cache_misses
        .set(i64::try_from(stats.misses).unwrap_or(i64::MAX));
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
