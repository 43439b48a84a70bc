//! Carries out a plan against the cluster: Namespaces and CRDs first, then unit by unit with
//! dependency skipping, impersonation, prune, and a unit record written after each unit.
//!
//! Must never apply or prune a unit with a hub error, nor a remembered unit missing because
//! its parent failed; never prune a unit whose apply failed, nor an object the bundle still
//! holds under another API version; and never panic on what the cluster answers: every
//! failure becomes a unit's message.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use flotilla_proto::{Bundle, StatusReport, Unit};
use kube::Client;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::cluster::{Cluster, Resolved};
use crate::drift::{self, Drift};
use crate::object::{ObjKey, ObjRef, Object};
use crate::plan::{self, Action, PlannedUnit};
use crate::state::{self, State, UnitKey, UnitRecord};
use crate::status;
use crate::wait;

/// Applies bundles to one cluster and remembers what it applied.
pub struct Applier {
    cluster: Cluster,
    state: State,
    /// Ends health waits early when the agent shuts down.
    shutdown: CancellationToken,
    /// Every object the current bundle holds, and the inventories of its units that are
    /// left alone (hub error, suspended, held for a failed parent): never pruned, even when
    /// it moved between units or versions.
    claimed: HashSet<ObjKey>,
}

impl Applier {
    pub fn new(cluster: Cluster, state: State) -> Applier {
        Applier {
            cluster,
            state,
            shutdown: CancellationToken::new(),
            claimed: HashSet::new(),
        }
    }

    /// Health waits (`wait: true`) end early, unit not ready, once `shutdown` fires.
    pub fn with_shutdown(self, shutdown: CancellationToken) -> Applier {
        Applier { shutdown, ..self }
    }

    /// Checks the units of `bundle` applied last for drift, changing nothing; see
    /// [`drift::check`]. Call it before re-applying the same bundle, which corrects it.
    pub async fn check_drift(&mut self, bundle: &Bundle) -> drift::Result<Drift> {
        drift::check(&mut self.cluster, &self.state, bundle).await
    }

    /// Applies `bundle` and returns the status of each of its units. Errors only when the
    /// local state cannot be read or written; cluster failures are unit statuses.
    pub async fn apply(&mut self, bundle: &Bundle) -> state::Result<StatusReport> {
        let plan = plan::plan(bundle);
        let remembered: HashMap<UnitKey, UnitRecord> =
            self.state.units().await?.into_iter().collect();
        // Failures found before a unit's turn: discovery, or its Namespaces and CRDs.
        let mut failed: HashMap<UnitKey, String> = HashMap::new();
        // What each unit got applied in the first phase, for its inventory.
        let mut early_applied: HashMap<UnitKey, Vec<ObjRef>> = HashMap::new();

        let discovered = match self.cluster.refresh_discovery().await {
            Ok(()) => true,
            Err(err) => {
                warn!(error = %err, "discovery failed");
                for unit in &plan.units {
                    failed.insert(unit.key.clone(), err.to_string());
                }
                false
            }
        };

        // Phase 1: the Namespaces and CRDs of every unit that is to be applied, before any
        // unit's turn, so later units find their namespaces and kinds. This runs before
        // dependencies are judged: Namespaces and CRDs are additive and safe to create early.
        let mut crds_applied = false;
        for unit in &plan.units {
            if failed.contains_key(&unit.key) || unit.early().is_empty() {
                continue;
            }
            let outcome = self.apply_objects(unit, unit.early()).await;
            crds_applied |= outcome.applied.iter().any(ObjRef::is_crd);
            early_applied.insert(unit.key.clone(), outcome.applied);
            if let Some(message) = outcome.error {
                failed.insert(unit.key.clone(), message);
            }
        }
        if crds_applied {
            if let Err(err) = self.cluster.refresh_discovery().await {
                warn!(error = %err, "discovery after applying CRDs failed");
            }
        }

        let vanished = plan::vanished(
            remembered
                .iter()
                .map(|(key, record)| (key, record.parent.as_str())),
            &plan,
        );
        self.claimed = self.claimed(&plan, &remembered);
        // Units held for a failed parent keep their objects, wherever else they moved.
        for (key, _) in &vanished.held {
            if let Some(record) = remembered.get(key) {
                self.claimed
                    .extend(record.inventory.iter().map(ObjRef::key));
            }
        }

        // Phase 2: unit by unit, in bundle order.
        let mut ready: HashMap<UnitKey, bool> = HashMap::new();
        let mut statuses = Vec::with_capacity(plan.units.len());
        for unit in &plan.units {
            let previous = remembered.get(&unit.key).cloned().unwrap_or_default();
            let early = early_applied.remove(&unit.key).unwrap_or_default();
            let record = self
                .reconcile_unit(unit, previous, early, failed.remove(&unit.key), &ready)
                .await;
            info!(
                unit = %status::printable(&unit.key.to_string()),
                ready = record.ready.unwrap_or(false),
                message = %record.message,
                "unit reconciled"
            );
            // A unit whose name cannot be a key is reported, never stored.
            if unit.remember {
                self.state.put_unit(&unit.key, &record).await?;
            }
            ready.insert(unit.key.clone(), record.ready.unwrap_or(false));
            statuses.push(status::unit_status(&unit.key, &record));
        }

        // Missing only because their parent failed to render: no apply, no prune.
        for (key, message) in vanished.held {
            let Some(record) = remembered.get(&key) else {
                continue;
            };
            warn!(unit = %key, %message, "unit kept: its parent failed");
            let record = not_ready(record.clone(), message);
            self.state.put_unit(&key, &record).await?;
            statuses.push(status::unit_status(&key, &record));
        }
        // Without discovery the agent cannot tell a deleted object from an unreachable
        // API server: removed units wait for the next pass.
        if discovered {
            for key in vanished.removed {
                if let Some(record) = remembered.get(&key) {
                    self.forget_unit(&key, record).await?;
                }
            }
        }
        Ok(StatusReport {
            generation: bundle.generation,
            units: statuses,
            ..StatusReport::default()
        })
    }

    async fn reconcile_unit(
        &mut self,
        planned: &PlannedUnit,
        previous: UnitRecord,
        early: Vec<ObjRef>,
        failure: Option<String>,
        ready: &HashMap<UnitKey, bool>,
    ) -> UnitRecord {
        let unit = &planned.unit;
        let mut record = UnitRecord {
            prune: unit.prune,
            service_account: unit.service_account.clone(),
            parent: unit.parent.clone(),
            ..previous.clone()
        };
        let rest = match &planned.action {
            Action::Failed(message) => {
                // Leave the unit's objects as they are: no apply, no prune.
                record.prune = previous.prune;
                record.service_account = previous.service_account;
                return not_ready(record, message.clone());
            }
            Action::Suspended => {
                record.message = status::SUSPENDED.to_string();
                return record;
            }
            Action::Apply { rest, .. } => rest,
        };
        // Whatever the outcome, the inventory keeps what the first phase applied.
        record.inventory = union(&previous.inventory, &early);
        if let Some(message) = failure {
            return not_ready(record, message);
        }
        if let Some(message) = plan::blocked_by(unit, ready) {
            return not_ready(record, message);
        }

        let outcome = self.apply_objects(planned, rest).await;
        record.inventory = union(&record.inventory, &outcome.applied);
        if let Some(message) = outcome.error {
            return not_ready(record, message);
        }
        let current: Vec<ObjRef> = early.into_iter().chain(outcome.applied).collect();
        record.inventory = current.clone();
        if unit.prune {
            let gone = plan::prune_set(&previous.inventory, &current, &self.claimed);
            let kept = self
                .delete_objects(&unit.namespace, &unit.service_account, &gone)
                .await;
            if let Err((message, left)) = kept {
                record.inventory = union(&current, &left);
                return not_ready(record, message);
            }
        }
        if unit.wait {
            if let Err(message) = self.wait_healthy(planned, &current).await {
                return not_ready(record, message);
            }
        }
        record.ready = Some(true);
        record.message = status::applied(&unit.revision);
        record.revision = unit.revision.clone();
        record.last_applied_unix = drift::now_unix();
        record
    }

    /// Applies `objects` in order as the unit's client; stops at the first failure.
    async fn apply_objects(&mut self, unit: &PlannedUnit, objects: &[Object]) -> Outcome {
        let mut outcome = Outcome::default();
        let client = match self
            .cluster
            .client_for(&unit.unit.namespace, &unit.unit.service_account)
        {
            Ok(client) => client,
            Err(err) => {
                outcome.error = Some(err.to_string());
                return outcome;
            }
        };
        for object in objects {
            let Some((object, resolved)) = self.normalize(&unit.unit, object) else {
                outcome.error = Some(status::unknown_kind(&object.id));
                return outcome;
            };
            debug!(object = %object.id, "applying");
            if let Err(message) = Cluster::apply(&client, &resolved, &object).await {
                outcome.error = Some(status::object_failed(&object.id, &message));
                return outcome;
            }
            outcome.applied.push(object.id);
        }
        outcome
    }

    async fn wait_healthy(
        &mut self,
        planned: &PlannedUnit,
        objects: &[ObjRef],
    ) -> Result<(), String> {
        let unit = &planned.unit;
        let client = self
            .cluster
            .client_for(&unit.namespace, &unit.service_account)
            .map_err(|err| err.to_string())?;
        let timeout = match unit.timeout_seconds {
            0 => wait::DEFAULT_TIMEOUT,
            seconds => Duration::from_secs(seconds),
        };
        wait::wait_healthy(&self.cluster, &client, objects, timeout, &self.shutdown).await
    }

    /// The object as it will be applied (namespace defaulted for namespaced kinds, dropped
    /// for cluster-scoped ones) and its resource; `None` when discovery does not know it.
    fn normalize(&self, unit: &Unit, object: &Object) -> Option<(Object, Resolved)> {
        normalize(&self.cluster, unit, object)
    }

    fn claimed(
        &self,
        plan: &plan::Plan,
        remembered: &HashMap<UnitKey, UnitRecord>,
    ) -> HashSet<ObjKey> {
        let mut claimed = HashSet::new();
        for planned in &plan.units {
            match &planned.action {
                Action::Apply { early, rest } => claimed.extend(
                    early
                        .iter()
                        .chain(rest)
                        .filter_map(|o| self.normalize(&planned.unit, o))
                        .map(|(object, _)| object.id.key()),
                ),
                Action::Failed(_) | Action::Suspended => {
                    if let Some(record) = remembered.get(&planned.key) {
                        claimed.extend(record.inventory.iter().map(ObjRef::key));
                    }
                }
            }
        }
        claimed
    }

    /// Deletes `objects` as the unit's client. On failure, returns the message and the
    /// objects still present, which stay in the inventory for the next attempt.
    async fn delete_objects(
        &mut self,
        namespace: &str,
        service_account: &str,
        objects: &[ObjRef],
    ) -> Result<(), (String, Vec<ObjRef>)> {
        if objects.is_empty() {
            return Ok(());
        }
        let client: Client = self
            .cluster
            .client_for(namespace, service_account)
            .map_err(|err| (err.to_string(), objects.to_vec()))?;
        for (index, object) in objects.iter().enumerate() {
            // A kind the API server no longer serves has no objects left to delete.
            let Some(resolved): Option<Resolved> = self.cluster.resolve(object) else {
                continue;
            };
            info!(object = %object, "pruning");
            if let Err(message) = Cluster::delete(&client, &resolved, object).await {
                return Err((
                    status::object_failed(object, &message),
                    objects[index..].to_vec(),
                ));
            }
        }
        Ok(())
    }

    /// A unit the bundle no longer holds: prune its inventory if it asked for prune, then
    /// forget it. A failed prune keeps the unit's record to try again next time.
    async fn forget_unit(&mut self, key: &UnitKey, record: &UnitRecord) -> state::Result<()> {
        if record.prune {
            let gone = plan::prune_set(&record.inventory, &[], &self.claimed);
            if let Err((message, left)) = self
                .delete_objects(&key.namespace, &record.service_account, &gone)
                .await
            {
                warn!(unit = %key, %message, "prune of removed unit failed");
                let record = UnitRecord {
                    inventory: left,
                    ready: Some(false),
                    message,
                    ..record.clone()
                };
                return self.state.put_unit(key, &record).await;
            }
        }
        info!(unit = %key, "unit removed from bundle");
        self.state.remove_unit(key).await
    }
}

/// The object as it is applied (namespace defaulted for namespaced kinds, dropped for
/// cluster-scoped ones) and its resource; `None` when discovery does not know it.
pub(crate) fn normalize(
    cluster: &Cluster,
    unit: &Unit,
    object: &Object,
) -> Option<(Object, Resolved)> {
    let resolved = cluster.resolve(&object.id)?;
    let mut object = object.clone();
    if resolved.namespaced {
        object.default_namespace(plan::default_namespace(unit));
    } else {
        object.clear_namespace();
    }
    Some((object, resolved))
}

#[derive(Default)]
struct Outcome {
    applied: Vec<ObjRef>,
    error: Option<String>,
}

fn not_ready(mut record: UnitRecord, message: String) -> UnitRecord {
    record.ready = Some(false);
    record.message = message;
    record
}

/// `a` followed by the objects of `b` it lacks, compared without their version. An object in
/// both keeps its place in `a` and takes the version from `b`, the newer of the two.
fn union(a: &[ObjRef], b: &[ObjRef]) -> Vec<ObjRef> {
    let mut out = a.to_vec();
    let mut index: HashMap<ObjKey, usize> = HashMap::new();
    for (i, obj) in a.iter().enumerate() {
        index.entry(obj.key()).or_insert(i);
    }
    for obj in b {
        match index.get(&obj.key()) {
            Some(&i) => out[i] = obj.clone(),
            None => {
                index.insert(obj.key(), out.len());
                out.push(obj.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hpa(api_version: &str, name: &str) -> ObjRef {
        ObjRef {
            api_version: api_version.into(),
            kind: "HorizontalPodAutoscaler".into(),
            namespace: "apps".into(),
            name: name.into(),
        }
    }

    #[test]
    fn union_is_by_identity_and_takes_the_newer_version() {
        let a = [
            hpa("autoscaling/v2beta2", "web"),
            hpa("autoscaling/v2", "api"),
        ];
        let b = [hpa("autoscaling/v2", "web"), hpa("autoscaling/v2", "db")];
        assert_eq!(
            union(&a, &b),
            vec![
                hpa("autoscaling/v2", "web"),
                hpa("autoscaling/v2", "api"),
                hpa("autoscaling/v2", "db"),
            ]
        );
        assert_eq!(union(&a, &[]), a.to_vec());
    }
}
