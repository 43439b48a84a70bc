//! Instant controllers: the status a healthy cluster's controllers would soon report for a
//! workload, so health checks (kstatus-style: observedGeneration, ready replicas, Available
//! and Complete conditions) pass at once. Used only when `Options::ready_workloads` is on.
//! Pure: the object and the time in, the status out.

use serde_json::{json, Value};

use crate::resources::ResourceInfo;

fn int(obj: &Value, ptr: &str, default: i64) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(default)
}

fn condition(ty: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": ty, "status": "True", "lastUpdateTime": now, "lastTransitionTime": now,
           "reason": reason, "message": message})
}

/// The ready status of `obj` (with its generation set), or None for kinds with no
/// controller emulated.
pub fn ready_status(r: &ResourceInfo, obj: &Value, now: &str) -> Option<Value> {
    let generation = int(obj, "/metadata/generation", 1);
    let replicas = int(obj, "/spec/replicas", 1);
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let status = match (r.group.as_str(), r.kind.as_str()) {
        ("apps", "Deployment") => json!({
        "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": replicas, "availableReplicas": replicas,
        "conditions": [
            condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability.", now),
            condition("Progressing", "NewReplicaSetAvailable", &format!("ReplicaSet \"{name}\" has successfully progressed."), now),
        ]}),
        ("apps", "StatefulSet") => json!({
            "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
            "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
            "currentRevision": format!("{name}-{generation}"), "updateRevision": format!("{name}-{generation}")}),
        ("apps", "ReplicaSet") => json!({
            "observedGeneration": generation, "replicas": replicas, "fullyLabeledReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas}),
        ("apps", "DaemonSet") => json!({
            "observedGeneration": generation, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1, "numberReady": 1, "numberAvailable": 1, "numberMisscheduled": 0}),
        ("batch", "Job") => json!({
            "succeeded": int(obj, "/spec/completions", 1), "startTime": now, "completionTime": now,
            "conditions": [condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods", now)]}),
        ("", "PersistentVolumeClaim") => json!({"phase": "Bound"}),
        ("", "Pod") => {
            json!({"phase": "Running", "conditions": [condition("Ready", "PodReady", "", now)]})
        }
        _ => return None,
    };
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;

    fn kind(k: &str) -> &'static ResourceInfo {
        builtins().iter().find(|r| r.kind == k).unwrap()
    }

    #[test]
    fn deployment_is_available_at_its_generation() {
        let d = json!({"metadata": {"name": "web", "generation": 3}, "spec": {"replicas": 2}});
        let s = ready_status(kind("Deployment"), &d, "t").unwrap();
        assert_eq!(s["observedGeneration"], 3);
        assert_eq!(s["availableReplicas"], 2);
        assert_eq!(s["conditions"][0]["type"], "Available");
    }

    #[test]
    fn configmaps_have_no_controller() {
        assert!(ready_status(kind("ConfigMap"), &json!({}), "t").is_none());
    }
}
