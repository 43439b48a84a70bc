//! Health of a live object, in the spirit of kstatus (what Flux's `wait: true` checks):
//! current, still in progress, or failed, read from the object's own status.
//!
//! Pure: reads a JSON object, never fetches one. Must never call an object healthy while its
//! controller has not yet observed its latest generation.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Current,
    InProgress(String),
    Failed(String),
}

impl Health {
    /// kstatus's word for it, as Flux prints it.
    pub fn word(&self) -> &'static str {
        match self {
            Health::Current => "Current",
            Health::InProgress(_) => "InProgress",
            Health::Failed(_) => "Failed",
        }
    }
}

/// The health of `object` as the API server returned it.
pub fn health(object: &Value) -> Health {
    let status = &object["status"];
    let generation = object["metadata"]["generation"].as_i64();
    let observed = status["observedGeneration"].as_i64();
    if let (Some(generation), Some(observed)) = (generation, observed) {
        if observed < generation {
            return Health::InProgress(format!(
                "generation {generation} not yet observed (at {observed})"
            ));
        }
    }
    let kind = object["kind"].as_str().unwrap_or("");
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map(|(group, _)| group)
        .unwrap_or("");
    match (group, kind) {
        ("apps", "Deployment") => replicas(object, "updatedReplicas", "availableReplicas"),
        ("apps", "StatefulSet") => replicas(object, "updatedReplicas", "readyReplicas"),
        ("apps", "ReplicaSet") => replicas(object, "replicas", "availableReplicas"),
        ("apps", "DaemonSet") => daemon_set(status),
        ("", "Pod") => pod(status),
        ("batch", "Job") => job(status),
        ("", "PersistentVolumeClaim") => match status["phase"].as_str() {
            Some("Bound") => Health::Current,
            phase => Health::InProgress(format!("phase {}", phase.unwrap_or("unknown"))),
        },
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            match condition(status, "Established") {
                Some("True") => Health::Current,
                _ => Health::InProgress("not yet established".to_string()),
            }
        }
        _ => generic(status),
    }
}

/// Any kind: a `Ready` condition decides when there is one; otherwise the object is
/// current once it exists.
fn generic(status: &Value) -> Health {
    match condition(status, "Ready") {
        None | Some("True") => Health::Current,
        Some("False") => Health::InProgress(condition_message(status, "Ready")),
        Some(_) => Health::InProgress("Ready condition is Unknown".to_string()),
    }
}

fn replicas(object: &Value, updated: &str, available: &str) -> Health {
    let want = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &object["status"];
    if status.get("observedGeneration").is_none() && want > 0 {
        return Health::InProgress("not yet observed by its controller".to_string());
    }
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    if count(updated) < want {
        return Health::InProgress(format!("{} of {want} updated", count(updated)));
    }
    if count(available) < want {
        return Health::InProgress(format!("{} of {want} available", count(available)));
    }
    Health::Current
}

fn daemon_set(status: &Value) -> Health {
    let desired = status["desiredNumberScheduled"].as_i64();
    let Some(desired) = desired else {
        return Health::InProgress("not yet observed by its controller".to_string());
    };
    let available = status["numberAvailable"].as_i64().unwrap_or(0);
    let updated = status["updatedNumberScheduled"].as_i64().unwrap_or(0);
    if updated < desired || available < desired {
        return Health::InProgress(format!("{available} of {desired} available"));
    }
    Health::Current
}

fn pod(status: &Value) -> Health {
    match status["phase"].as_str() {
        Some("Succeeded") => Health::Current,
        Some("Failed") => Health::Failed("pod failed".to_string()),
        Some("Running") if condition(status, "Ready") == Some("True") => Health::Current,
        phase => Health::InProgress(format!("phase {}", phase.unwrap_or("Pending"))),
    }
}

fn job(status: &Value) -> Health {
    if condition(status, "Complete") == Some("True") {
        Health::Current
    } else if condition(status, "Failed") == Some("True") {
        Health::Failed(condition_message(status, "Failed"))
    } else {
        Health::InProgress("job not complete".to_string())
    }
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a str> {
    find_condition(status, kind).and_then(|c| c["status"].as_str())
}

fn condition_message(status: &Value, kind: &str) -> String {
    find_condition(status, kind)
        .and_then(|c| c["message"].as_str())
        .unwrap_or("")
        .to_string()
}

fn find_condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(object: Value, expected: &str) {
        assert_eq!(health(&object).word(), expected, "{object}");
    }

    #[test]
    fn plain_objects_are_current_once_they_exist() {
        check(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            "Current",
        );
        check(
            json!({"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"}}),
            "Current",
        );
    }

    #[test]
    fn deployments_wait_for_available_replicas() {
        let deployment = |status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "generation": 2},
                "spec": {"replicas": 2}, "status": status})
        };
        check(deployment(json!({})), "InProgress");
        check(
            deployment(
                json!({"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 2}),
            ),
            "InProgress",
        );
        check(
            deployment(
                json!({"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 1}),
            ),
            "InProgress",
        );
        check(
            deployment(
                json!({"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 2}),
            ),
            "Current",
        );
    }

    #[test]
    fn conditions_pods_jobs_and_crds() {
        let ready = |value: &str| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
                "status": {"conditions": [{"type": "Ready", "status": value, "message": "waiting"}]}})
        };
        check(ready("True"), "Current");
        check(ready("False"), "InProgress");
        check(
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Pending"}}),
            "InProgress",
        );
        check(
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}]}}),
            "Current",
        );
        check(
            json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Failed"}}),
            "Failed",
        );
        check(
            json!({"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True"}]}}),
            "Failed",
        );
        check(
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "status": {"conditions": [{"type": "Established", "status": "True"}]}}),
            "Current",
        );
    }
}
