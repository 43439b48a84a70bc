//! Which Kustomizations become units: declarations queued once (a repeated identical
//! declaration is Flux's bootstrap, a different one a conflict), names checked, depth and
//! count bounded, and the children of a failed unit carried over from the previous bundle
//! so they are never taken for removed. Pure.

use std::collections::{BTreeMap, VecDeque};

use flotilla_config::flux::KustomizationSpec;
use flotilla_proto::Unit;

use super::{unit_id, Pending, MAX_DEPTH, MAX_UNITS};

/// Queues the Kustomizations a unit declared. A unit id declared again with the same spec
/// (Flux's bootstrap declares `flux-system` inside its own tree) is rendered once; declared
/// again with another spec, it is a conflict reported on that unit.
pub(super) fn enqueue_children(
    parent: &Pending,
    children: Vec<Pending>,
    declared: &mut BTreeMap<String, (KustomizationSpec, String)>,
    conflicts: &mut BTreeMap<String, String>,
    queue: &mut VecDeque<Pending>,
    rendered: usize,
) -> Result<(), String> {
    let parent_id = parent.id();
    declared
        .entry(parent_id.clone())
        .or_insert_with(|| (parent.spec.clone(), parent.parent.clone()));
    for child in children {
        let id = child.id();
        if !is_dns_label(&child.namespace) || !is_dns_subdomain(&child.name) {
            return Err(format!(
                "Kustomization {id}: name and namespace must be lowercase DNS names"
            ));
        }
        if let Some((spec, first_parent)) = declared.get(&id) {
            if *spec != child.spec && !conflicts.contains_key(&id) {
                conflicts.insert(
                    id.clone(),
                    format!(
                        "Kustomization {id} is declared twice with different specs: by {} and by {parent_id}",
                        display_parent(first_parent)
                    ),
                );
            }
            continue;
        }
        if parent.depth + 1 > MAX_DEPTH {
            return Err(format!(
                "Kustomization {id}: nesting deeper than {MAX_DEPTH} levels"
            ));
        }
        if rendered + queue.len() + 1 > MAX_UNITS {
            return Err(format!(
                "Kustomization {id}: the cluster would have more than {MAX_UNITS} units"
            ));
        }
        declared.insert(id, (child.spec.clone(), parent_id.clone()));
        queue.push_back(Pending {
            depth: parent.depth + 1,
            parent: parent_id.clone(),
            ..child
        });
    }
    Ok(())
}

fn display_parent(parent: &str) -> String {
    if parent.is_empty() {
        "the hub (cluster root)".to_string()
    } else {
        parent.to_string()
    }
}

/// A failed unit declares no children this time; the ones it declared before ship again
/// with an error and no objects, so no agent takes them for removed units and prunes
/// what they hold.
pub(super) fn carry_descendants(
    failed: &str,
    previous: &[Unit],
    declared: &mut BTreeMap<String, (KustomizationSpec, String)>,
    units: &mut Vec<Unit>,
) {
    let mut stack = vec![failed.to_string()];
    while let Some(parent) = stack.pop() {
        for child in previous.iter().filter(|u| u.parent == parent) {
            let id = unit_id(child);
            if declared.contains_key(&id) || units.len() >= MAX_UNITS {
                continue;
            }
            declared.insert(id.clone(), (KustomizationSpec::default(), parent.clone()));
            units.push(Unit {
                error: format!("parent Kustomization {failed} failed"),
                objects: Vec::new(),
                ..child.clone()
            });
            stack.push(id);
        }
    }
}

/// A namespace name (RFC 1123 label).
fn is_dns_label(name: &str) -> bool {
    flotilla_config::is_dns_label(name)
}

/// An object name (RFC 1123 subdomain): dot-separated labels, at most 253 characters.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}
