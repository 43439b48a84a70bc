//! The drift check before each periodic re-apply: for every unit that is ready, not suspended
//! and has an inventory, each inventory object is read live (gone: "deleted") and its
//! bundle body server-side applied as a dry run as the unit's client; where the dry-run
//! result and the live object differ (`diff`), it is "modified".
//!
//! Reads only: must never change the cluster (every apply here is `dryRun=All`), never act
//! without the unit's client, and never fail the whole check on one object's error: that
//! object is logged and left out of the report.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use flotilla_proto::{Bundle, DriftedObject, ObjectRef};
use kube::Client;
use tracing::{debug, warn};

use crate::cluster::{self, Cluster};
use crate::diff;
use crate::object::{ObjKey, Object};
use crate::plan::{self, Action};
use crate::state::{self, State, UnitKey, UnitRecord};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("drift check skipped: {0}")]
    Cluster(#[from] cluster::Error),
    #[error("drift check skipped: {0}")]
    State(#[from] state::Error),
}

pub const MODIFIED: &str = "modified";
pub const DELETED: &str = "deleted";

/// What one check found, and when it ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Drift {
    pub objects: Vec<DriftedObject>,
    pub checked_unix: i64,
}

/// Checks the units of `bundle` the agent last applied successfully against the live
/// cluster. Errors only when discovery or the local state fail, when nothing can be told.
pub async fn check(cluster: &mut Cluster, state: &State, bundle: &Bundle) -> Result<Drift> {
    cluster.refresh_discovery().await?;
    let records: HashMap<UnitKey, UnitRecord> = state.units().await?.into_iter().collect();
    let mut objects = Vec::new();
    for planned in plan::plan(bundle).units {
        let Action::Apply { early, rest } = &planned.action else {
            continue;
        };
        let Some(record) = records.get(&planned.key) else {
            continue;
        };
        if record.ready != Some(true) || record.inventory.is_empty() {
            continue;
        }
        let unit = &planned.unit;
        let client = match cluster.client_for(&unit.namespace, &unit.service_account) {
            Ok(client) => client,
            Err(err) => {
                warn!(unit = %planned.key, error = %err, "drift check of unit skipped");
                continue;
            }
        };
        // The bundle's objects as they are applied, by identity.
        let bodies: HashMap<ObjKey, Object> = early
            .iter()
            .chain(rest)
            .filter_map(|object| crate::apply::normalize(cluster, unit, object))
            .map(|(object, _)| (object.id.key(), object))
            .collect();
        for owned in &record.inventory {
            let Some(object) = bodies.get(&owned.key()) else {
                continue;
            };
            match check_object(cluster, &client, object).await {
                Ok(Some((state, fields))) => objects.push(DriftedObject {
                    unit: planned.key.to_string(),
                    object: Some(ObjectRef::from(&object.id)),
                    state: state.to_string(),
                    fields,
                }),
                Ok(None) => debug!(object = %object.id, "no drift"),
                Err(message) => {
                    warn!(unit = %planned.key, object = %object.id, %message, "drift check of object failed")
                }
            }
        }
    }
    Ok(Drift {
        objects,
        checked_unix: now_unix(),
    })
}

/// The drift of one object: `None` when the live object is what the apply would make it.
async fn check_object(
    cluster: &Cluster,
    client: &Client,
    object: &Object,
) -> Result<Option<(&'static str, Vec<String>)>, String> {
    let Some(resolved) = cluster.resolve(&object.id) else {
        return Err(format!("no resource for {}", object.id));
    };
    let Some(live) = Cluster::get(client, &resolved, &object.id).await? else {
        return Ok(Some((DELETED, Vec::new())));
    };
    let expected = Cluster::dry_run_apply(client, &resolved, object).await?;
    let fields = diff::diff(&expected, &live);
    Ok((!fields.is_empty()).then_some((MODIFIED, fields)))
}

/// Seconds since the Unix epoch; 0 if the clock is before it.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
