//! Output order: kustomize's "legacy" order (kinds in a fixed priority list first and last,
//! then by group/version/kind, then namespace and name) or "fifo" (input order).

use crate::resource::Resource;
use std::cmp::Ordering;

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
    // The Namespace rule below makes no total order where Namespaces of several groups
    // meet.
    sort_by_any(resources, |a, b| {
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

/// Sorts `items` stably by `cmp`, which need not be a total order: some of kubectl's
/// orders are not (go-yaml's key order, the legacy order's Namespace rule), and the
/// standard sorts may panic on such an order. An insertion sort, or for longer lists a
/// merge sort of indexes, takes any answer.
pub(crate) fn sort_by_any<T>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    let n = items.len();
    if n < 2 {
        return;
    }
    // Short lists (most maps' keys): a stable insertion sort in place.
    if n <= 16 {
        for i in 1..n {
            let mut j = i;
            while j > 0 && cmp(&items[j], &items[j - 1]) == Ordering::Less {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
        return;
    }
    // Bottom-up merge sort of the indexes.
    let mut order: Vec<usize> = (0..n).collect();
    let mut merged = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        merged.clear();
        for start in (0..n).step_by(2 * width) {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut l, mut r) = (start, mid);
            while l < mid && r < end {
                if cmp(&items[order[r]], &items[order[l]]) == Ordering::Less {
                    merged.push(order[r]);
                    r += 1;
                } else {
                    merged.push(order[l]);
                    l += 1;
                }
            }
            merged.extend_from_slice(&order[l..mid]);
            merged.extend_from_slice(&order[r..end]);
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    // Move each item to its place: `order[k]` is the original index of the k-th.
    let mut position: Vec<usize> = (0..n).collect(); // original index -> where it is now
    let mut holder: Vec<usize> = (0..n).collect(); // place -> original index there now
    for (k, &wanted) in order.iter().enumerate() {
        let from = position[wanted];
        items.swap(k, from);
        let displaced = holder[k];
        holder[from] = displaced;
        position[displaced] = from;
        holder[k] = wanted;
        position[wanted] = k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably_and_survives_orders_with_cycles() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        sort_by_any(&mut v, |a, b| a.0.cmp(&b.0));
        assert_eq!(v, [(1, 'b'), (1, 'e'), (2, 'd'), (3, 'a'), (3, 'c')]);
        // Rock, paper, scissors: every order answers, none panics, nothing is lost,
        // short lists and long.
        for n in [9u32, 300] {
            let mut v: Vec<u32> = (0..n).map(|i| i % 3).collect();
            sort_by_any(&mut v, |a, b| match (a + 3 - b) % 3 {
                0 => Ordering::Equal,
                1 => Ordering::Greater,
                _ => Ordering::Less,
            });
            assert_eq!(v.iter().filter(|&&x| x == 0).count() as u32, n / 3);
            assert_eq!(v.iter().sum::<u32>(), n);
        }
    }
}
