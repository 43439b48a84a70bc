//! Output order: kustomize's "legacy" order (kinds in a fixed priority list first and last,
//! then by group/version/kind, then namespace and name) or "fifo" (input order).

use crate::resource::Resource;

pub const DEFAULT_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

pub const DEFAULT_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts in kustomize's legacy order with the given priority lists.
pub fn legacy_sort(resources: &mut [Resource], first: &[String], last: &[String]) {
    let rank = |kind: &str| -> i64 {
        // A kind in both lists takes its `last` rank, and a kind listed twice its later
        // place, as later map writes would.
        if let Some(i) = last.iter().rposition(|k| k == kind) {
            return 1 + i as i64;
        }
        if let Some(i) = first.iter().rposition(|k| k == kind) {
            return i as i64 - first.len() as i64;
        }
        0
    };
    resources.sort_by(|a, b| {
        let (ga, gb) = (a.gvk(), b.gvk());
        if ga != gb {
            let (ra, rb) = (rank(&ga.kind), rank(&gb.kind));
            if ra != rb {
                return ra.cmp(&rb);
            }
            let (sa, sb) = (
                type_text(&ga.group, &ga.version, &ga.kind),
                type_text(&gb.group, &gb.version, &gb.kind),
            );
            if ga.kind == "Namespace"
                && gb.kind == "Namespace"
                && (ga.group.is_empty() || gb.group.is_empty())
            {
                return sb.cmp(&sa);
            }
            return sa.cmp(&sb);
        }
        id_sort_string(a).cmp(&id_sort_string(b))
    });
}

/// The key of kustomize's order of types (`Gvk.IsLessThan`): the default priority lists,
/// then the group, version and kind as text. Its transformer configurations keep their
/// entries in this order.
pub(crate) fn type_order_key(group: &str, version: &str, kind: &str) -> (i64, String) {
    let rank = if let Some(i) = DEFAULT_ORDER_LAST.iter().position(|k| *k == kind) {
        1 + i as i64
    } else if let Some(i) = DEFAULT_ORDER_FIRST.iter().position(|k| *k == kind) {
        i as i64 - DEFAULT_ORDER_FIRST.len() as i64
    } else {
        0
    };
    (rank, type_text(group, version, kind))
}

fn type_text(group: &str, version: &str, kind: &str) -> String {
    let or = |s: &str, d: &'static str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(group, "~G"),
        or(version, "~V"),
        or(kind, "~K")
    )
}

fn id_sort_string(r: &Resource) -> String {
    let ns = if r.namespace().is_empty() {
        "~X"
    } else {
        r.namespace()
    };
    let name = if r.name().is_empty() { "~N" } else { r.name() };
    format!("{ns}|{name}")
}
