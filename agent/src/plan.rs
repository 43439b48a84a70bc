//! Apply planning: what to do with each unit of a verified bundle, in which order, and what
//! to prune afterwards.
//!
//! Pure: values in, values out. Must never talk to a cluster or to sled; the `apply` module
//! carries a plan out.

use std::collections::{BTreeSet, HashMap, HashSet};

use flotilla_proto::{Bundle, Unit};

use crate::object::{ObjRef, Object};
use crate::state::UnitKey;
use crate::status;

/// The work for one bundle: units in bundle order (dependencies first).
#[derive(Debug)]
pub struct Plan {
    pub units: Vec<PlannedUnit>,
}

#[derive(Debug)]
pub struct PlannedUnit {
    pub key: UnitKey,
    pub unit: Unit,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    /// Apply `early` (Namespaces and CRDs) in the first phase, across all units, then
    /// `rest` when the unit's turn comes.
    Apply {
        early: Vec<Object>,
        rest: Vec<Object>,
    },
    /// `suspend` is set: leave the cluster alone, keep the last readiness.
    Suspended,
    /// The unit cannot be applied (hub error, malformed object): not ready with this
    /// message; no apply, no prune.
    Failed(String),
}

impl PlannedUnit {
    /// Namespaces and CRDs to apply in the first phase.
    pub fn early(&self) -> &[Object] {
        match &self.action {
            Action::Apply { early, .. } => early,
            _ => &[],
        }
    }
}

pub fn plan(bundle: &Bundle) -> Plan {
    let mut seen = HashSet::new();
    let units = bundle
        .units
        .iter()
        .map(|unit| {
            let key = UnitKey::new(&unit.namespace, &unit.name);
            let action = if !seen.insert(key.clone()) {
                Action::Failed(format!("unit {key} appears more than once in the bundle"))
            } else if !unit.error.is_empty() {
                Action::Failed(unit.error.clone())
            } else if unit.suspend {
                Action::Suspended
            } else {
                match parse_objects(unit) {
                    Ok((early, rest)) => Action::Apply { early, rest },
                    Err(err) => Action::Failed(err.to_string()),
                }
            };
            PlannedUnit {
                key,
                unit: Unit {
                    objects: Vec::new(),
                    ..unit.clone()
                },
                action,
            }
        })
        .collect();
    Plan { units }
}

fn parse_objects(unit: &Unit) -> Result<(Vec<Object>, Vec<Object>), crate::object::Error> {
    let mut early = Vec::new();
    let mut rest = Vec::new();
    for (index, json) in unit.objects.iter().enumerate() {
        let object = Object::parse(index, json)?;
        if object.id.is_namespace_or_crd() {
            early.push(object);
        } else {
            rest.push(object);
        }
    }
    Ok((early, rest))
}

/// The message of the first dependency of `unit` that is not ready, if any. `ready` holds
/// the readiness of units reconciled so far; a dependency not in it is not ready.
pub fn blocked_by(unit: &Unit, ready: &HashMap<UnitKey, bool>) -> Option<String> {
    unit.depends_on.iter().find_map(|dep| {
        let key = match dep.split_once('/') {
            Some((namespace, name)) => UnitKey::new(namespace, name),
            // Flux resolves a bare name in the unit's own namespace.
            None => UnitKey::new(&unit.namespace, dep),
        };
        (!ready.get(&key).copied().unwrap_or(false)).then(|| status::dependency_not_ready(&key))
    })
}

/// The namespace a namespaced object without one goes to: the unit's target namespace,
/// else `default`.
pub fn default_namespace(unit: &Unit) -> &str {
    if unit.target_namespace.is_empty() {
        "default"
    } else {
        &unit.target_namespace
    }
}

/// Objects in `previous` that `current` lacks and no other unit `claimed`, in the order to
/// delete them: reverse apply order, with Namespaces and CRDs last so their contents go
/// first.
pub fn prune_set(
    previous: &[ObjRef],
    current: &[ObjRef],
    claimed: &HashSet<ObjRef>,
) -> Vec<ObjRef> {
    let keep: HashSet<&ObjRef> = current.iter().collect();
    let mut gone: Vec<ObjRef> = previous
        .iter()
        .rev()
        .filter(|obj| !keep.contains(obj) && !claimed.contains(obj))
        .cloned()
        .collect();
    // Stable: keeps reverse apply order within each group.
    gone.sort_by_key(ObjRef::is_namespace_or_crd);
    gone.dedup();
    gone
}

/// Units the agent remembers that the bundle no longer holds.
pub fn vanished<'a>(
    remembered: impl IntoIterator<Item = &'a UnitKey>,
    plan: &Plan,
) -> Vec<UnitKey> {
    let present: BTreeSet<&UnitKey> = plan.units.iter().map(|u| &u.key).collect();
    remembered
        .into_iter()
        .filter(|key| !present.contains(key))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj_json(api_version: &str, kind: &str, name: &str) -> String {
        format!(
            r#"{{"apiVersion":"{api_version}","kind":"{kind}","metadata":{{"name":"{name}"}}}}"#
        )
    }

    fn unit(name: &str, objects: Vec<String>) -> Unit {
        Unit {
            name: name.into(),
            namespace: "flux-system".into(),
            objects,
            ..Unit::default()
        }
    }

    fn bundle(units: Vec<Unit>) -> Bundle {
        Bundle {
            cluster: "c".into(),
            generation: 1,
            revision: "r".into(),
            units,
        }
    }

    fn obj(kind: &str, name: &str) -> ObjRef {
        let api_version = if kind == "CustomResourceDefinition" {
            "apiextensions.k8s.io/v1"
        } else {
            "v1"
        };
        ObjRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: String::new(),
            name: name.into(),
        }
    }

    #[test]
    fn namespaces_and_crds_go_to_the_first_phase() {
        let plan = plan(&bundle(vec![unit(
            "apps",
            vec![
                obj_json("v1", "ConfigMap", "c"),
                obj_json("v1", "Namespace", "apps"),
                obj_json(
                    "apiextensions.k8s.io/v1",
                    "CustomResourceDefinition",
                    "x.example.com",
                ),
                obj_json("apps/v1", "Deployment", "web"),
            ],
        )]));
        let Action::Apply { early, rest } = &plan.units[0].action else {
            panic!("expected apply: {:?}", plan.units[0].action);
        };
        let names = |objects: &[Object]| {
            objects
                .iter()
                .map(|o| o.id.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(early), vec!["apps", "x.example.com"]);
        assert_eq!(names(rest), vec!["c", "web"]);
    }

    #[test]
    fn error_suspend_malformed_and_duplicate_units() {
        let mut failed = unit("broken", vec![obj_json("v1", "ConfigMap", "c")]);
        failed.error = "kustomization path not found".into();
        let mut suspended = unit("paused", vec![]);
        suspended.suspend = true;
        let malformed = unit("bad", vec!["{".into()]);
        let plan = plan(&bundle(vec![
            failed,
            suspended,
            malformed,
            unit("bad", vec![]),
        ]));
        assert!(
            matches!(&plan.units[0].action, Action::Failed(m) if m == "kustomization path not found")
        );
        assert!(matches!(plan.units[1].action, Action::Suspended));
        assert!(
            matches!(&plan.units[2].action, Action::Failed(m) if m.starts_with("object 0: not valid JSON"))
        );
        assert!(matches!(&plan.units[3].action, Action::Failed(m) if m.contains("more than once")));
        assert!(
            plan.units[0].unit.objects.is_empty(),
            "plan does not keep raw objects"
        );
    }

    fn check_blocked(depends_on: &[&str], ready: &[(&str, bool)], expected: Option<&str>) {
        let mut u = unit("apps", vec![]);
        u.depends_on = depends_on.iter().map(|s| s.to_string()).collect();
        let ready = ready
            .iter()
            .map(|(key, r)| {
                let (ns, name) = key.split_once('/').unwrap();
                (UnitKey::new(ns, name), *r)
            })
            .collect();
        assert_eq!(blocked_by(&u, &ready).as_deref(), expected);
    }

    #[test]
    fn dependency_skipping() {
        check_blocked(&[], &[], None);
        check_blocked(&["flux-system/infra"], &[("flux-system/infra", true)], None);
        check_blocked(
            &["flux-system/infra"],
            &[("flux-system/infra", false)],
            Some("dependency 'flux-system/infra' is not ready"),
        );
        check_blocked(
            &["infra"],
            &[],
            Some("dependency 'flux-system/infra' is not ready"),
        );
        check_blocked(
            &["flux-system/a", "flux-system/b"],
            &[("flux-system/a", true)],
            Some("dependency 'flux-system/b' is not ready"),
        );
    }

    #[test]
    fn prune_set_is_previous_minus_current_namespaces_last() {
        let previous = vec![
            obj("Namespace", "apps"),
            obj("ConfigMap", "a"),
            obj("ConfigMap", "b"),
            obj("Secret", "s"),
        ];
        let current = vec![obj("ConfigMap", "a")];
        let none = HashSet::new();
        assert_eq!(
            prune_set(&previous, &current, &none),
            vec![
                obj("Secret", "s"),
                obj("ConfigMap", "b"),
                obj("Namespace", "apps")
            ]
        );
        assert_eq!(prune_set(&previous, &previous, &none), vec![]);
        assert_eq!(prune_set(&[], &current, &none), vec![]);
        // An object another unit holds now stays.
        let moved = HashSet::from([obj("Secret", "s")]);
        assert_eq!(
            prune_set(&previous, &current, &moved),
            vec![obj("ConfigMap", "b"), obj("Namespace", "apps")]
        );
    }

    #[test]
    fn vanished_units_and_default_namespace() {
        let plan = plan(&bundle(vec![unit("apps", vec![])]));
        let remembered = [
            UnitKey::new("flux-system", "apps"),
            UnitKey::new("flux-system", "old"),
        ];
        assert_eq!(
            vanished(&remembered, &plan),
            vec![UnitKey::new("flux-system", "old")]
        );

        let mut u = unit("apps", vec![]);
        assert_eq!(default_namespace(&u), "default");
        u.target_namespace = "team".into();
        assert_eq!(default_namespace(&u), "team");
    }
}
