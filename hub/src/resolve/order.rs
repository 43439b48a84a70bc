//! Dependency order of a cluster's units (Flux `dependsOn`): dependencies first, found
//! order among equals; cycles and missing dependencies become unit errors. Pure.

use std::collections::BTreeSet;

use flotilla_proto::Unit;

use super::unit_id;

/// Orders units so each comes after the units it depends on; among equals, the order they
/// were found in. A unit in a dependency cycle or waiting for a missing unit gets an error.
pub(super) fn order_by_dependencies(units: Vec<Unit>) -> Vec<Unit> {
    let id = unit_id;
    let known: BTreeSet<String> = units.iter().map(id).collect();
    let mut remaining = units;
    let mut ordered: Vec<Unit> = Vec::with_capacity(remaining.len());
    let mut placed: BTreeSet<String> = BTreeSet::new();
    // Repeatedly take the first unit whose known dependencies are all placed.
    while let Some(next) = remaining.iter().position(|unit| {
        unit.depends_on
            .iter()
            .all(|d| placed.contains(d) || !known.contains(d))
    }) {
        let unit = remaining.remove(next);
        placed.insert(id(&unit));
        ordered.push(unit);
    }
    for mut unit in remaining {
        unit.error = format!("dependency cycle through {}", unit.depends_on.join(", "));
        unit.objects.clear();
        ordered.push(unit);
    }
    for unit in &mut ordered {
        if let Some(missing) = unit.depends_on.iter().find(|d| !known.contains(*d)) {
            if unit.error.is_empty() {
                unit.error = format!("dependency '{missing}' not found");
                unit.objects.clear();
            }
        }
    }
    ordered
}
