//! Apply planning: what to do with each unit of a verified bundle, in which order, and what
//! to prune afterwards.
//!
//! Pure: values in, values out. Must never talk to a cluster or to sled; the `apply` module
//! carries a plan out.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use flotilla_proto::{Bundle, Unit};

use crate::object::{self, ObjKey, ObjRef, Object};
use crate::state::UnitKey;
use crate::status::{self, printable};

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
    /// Whether the agent keeps a record of the unit. False when its namespace or name is not
    /// a valid Kubernetes name: such a unit is only reported, never stored under a key.
    pub remember: bool,
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
            let invalid = invalid_name(unit);
            let remember = invalid.is_none();
            let action = if let Some(message) = invalid {
                Action::Failed(message)
            } else if !seen.insert(key.clone()) {
                Action::Failed(format!("unit {key} appears more than once in the bundle"))
            } else if !unit.error.is_empty() {
                Action::Failed(unit.error.clone())
            } else if !unit.tenant.is_empty() && unit.service_account.is_empty() {
                // Never with the agent's own identity, whatever the tenant's objects say.
                Action::Failed(TENANT_WITHOUT_SERVICE_ACCOUNT.to_string())
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
                remember,
            }
        })
        .collect();
    Plan { units }
}

pub const TENANT_WITHOUT_SERVICE_ACCOUNT: &str =
    "tenant unit must be applied with a service account";

/// Why the unit's namespace or name cannot name a Kustomization, if it cannot: the namespace
/// must be a DNS-1123 label and the name a DNS-1123 subdomain, as Kubernetes requires.
fn invalid_name(unit: &Unit) -> Option<String> {
    if !object::is_dns1123_label(&unit.namespace) {
        return Some(format!(
            "unit namespace '{}' is not a valid DNS-1123 label \
             (lowercase alphanumerics and '-', at most 63 characters)",
            printable(&unit.namespace)
        ));
    }
    if !object::is_dns1123_subdomain(&unit.name) {
        return Some(format!(
            "unit name '{}' in namespace {} is not a valid DNS-1123 subdomain \
             (lowercase alphanumerics, '-' and '.', at most 253 characters)",
            printable(&unit.name),
            unit.namespace
        ));
    }
    None
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
/// first. Objects compare by [`ObjKey`], without their version: one that `current` holds
/// under another version stays. Each object is deleted with the version `previous` records.
pub fn prune_set(
    previous: &[ObjRef],
    current: &[ObjRef],
    claimed: &HashSet<ObjKey>,
) -> Vec<ObjRef> {
    let mut keep: HashSet<ObjKey> = current.iter().map(ObjRef::key).collect();
    keep.extend(claimed.iter().cloned());
    // `insert` also drops a second entry for the same object.
    let mut gone: Vec<ObjRef> = previous
        .iter()
        .rev()
        .filter(|obj| keep.insert(obj.key()))
        .cloned()
        .collect();
    // Stable: keeps reverse apply order within each group.
    gone.sort_by_key(ObjRef::is_namespace_or_crd);
    gone
}

/// What becomes of the units the agent remembers that the bundle no longer holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Vanished {
    /// Removed from the bundle: pruned (if they asked for prune) and forgotten.
    pub removed: Vec<UnitKey>,
    /// Missing because the unit that declared them failed: kept as they are, no apply and
    /// no prune, reported not ready with this message.
    pub held: Vec<(UnitKey, String)>,
}

/// Sorts the remembered units (key and recorded parent) the bundle lacks into removed and
/// held. A unit is held when its parent is in the bundle with a hub error, or is itself a
/// missing unit that is held: a unit a failed render could not list is not a removed one.
pub fn vanished<'a>(
    remembered: impl IntoIterator<Item = (&'a UnitKey, &'a str)>,
    plan: &Plan,
) -> Vanished {
    let present: BTreeSet<&UnitKey> = plan.units.iter().map(|u| &u.key).collect();
    let failed: BTreeSet<&UnitKey> = plan
        .units
        .iter()
        .filter(|u| !u.unit.error.is_empty())
        .map(|u| &u.key)
        .collect();
    let missing: BTreeMap<&UnitKey, Option<UnitKey>> = remembered
        .into_iter()
        .filter(|(key, _)| !present.contains(key))
        .map(|(key, parent)| (key, parse_unit_ref(parent)))
        .collect();
    let mut out = Vanished::default();
    for (key, parent) in &missing {
        match parent {
            Some(parent) if held_by_failure(parent, &failed, &missing) => out
                .held
                .push(((*key).clone(), status::parent_failed(parent))),
            _ => out.removed.push((*key).clone()),
        }
    }
    out
}

/// Whether the chain of recorded parents from `parent` reaches a failed unit through
/// missing ones. Bounded by the number of missing units, so a cycle of parents ends too.
fn held_by_failure(
    parent: &UnitKey,
    failed: &BTreeSet<&UnitKey>,
    missing: &BTreeMap<&UnitKey, Option<UnitKey>>,
) -> bool {
    let mut next = Some(parent);
    for _ in 0..=missing.len() {
        let Some(key) = next else { return false };
        if failed.contains(key) {
            return true;
        }
        next = missing.get(key).and_then(Option::as_ref);
    }
    false
}

/// `namespace/name` as a unit key; `None` when empty or malformed.
fn parse_unit_ref(text: &str) -> Option<UnitKey> {
    let (namespace, name) = text.split_once('/')?;
    (!namespace.is_empty() && !name.is_empty()).then(|| UnitKey::new(namespace, name))
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
        let moved = HashSet::from([obj("Secret", "s").key()]);
        assert_eq!(
            prune_set(&previous, &current, &moved),
            vec![obj("ConfigMap", "b"), obj("Namespace", "apps")]
        );
    }

    fn hpa(api_version: &str) -> ObjRef {
        ObjRef {
            api_version: api_version.into(),
            kind: "HorizontalPodAutoscaler".into(),
            namespace: "apps".into(),
            name: "web".into(),
        }
    }

    #[test]
    fn prune_set_ignores_the_version() {
        // Regression: moving an HPA from autoscaling/v2beta2 to autoscaling/v2 applied it,
        // then pruned the v2beta2 inventory entry, which is the same object.
        let previous = vec![hpa("autoscaling/v2beta2"), obj("ConfigMap", "gone")];
        let current = vec![hpa("autoscaling/v2")];
        let none = HashSet::new();
        assert_eq!(
            prune_set(&previous, &current, &none),
            vec![obj("ConfigMap", "gone")]
        );
        // Claimed by another unit under another version: stays too.
        let claimed = HashSet::from([hpa("autoscaling/v2").key()]);
        assert_eq!(
            prune_set(&previous, &[], &claimed),
            vec![obj("ConfigMap", "gone")]
        );
        // One object recorded twice is deleted once, with the version recorded last.
        let twice = vec![hpa("autoscaling/v2beta2"), hpa("autoscaling/v2")];
        assert_eq!(prune_set(&twice, &[], &none), vec![hpa("autoscaling/v2")]);
    }

    fn key(text: &str) -> UnitKey {
        parse_unit_ref(text).unwrap()
    }

    /// `remembered` is (unit, recorded parent); a unit in `bundle` with an error is failed.
    fn check_vanished(
        bundle_units: Vec<Unit>,
        remembered: &[(&str, &str)],
        removed: &[&str],
        held: &[(&str, &str)],
    ) {
        let plan = plan(&bundle(bundle_units));
        let remembered: Vec<(UnitKey, &str)> = remembered
            .iter()
            .map(|(unit, parent)| (key(unit), *parent))
            .collect();
        let got = vanished(remembered.iter().map(|(k, p)| (k, *p)), &plan);
        let expected = Vanished {
            removed: removed.iter().map(|k| key(k)).collect(),
            held: held
                .iter()
                .map(|(k, message)| (key(k), message.to_string()))
                .collect(),
        };
        assert_eq!(got, expected);
    }

    fn failed_unit(name: &str) -> Unit {
        Unit {
            error: "kustomization path not found".into(),
            ..unit(name, vec![])
        }
    }

    #[test]
    fn vanished_units_and_default_namespace() {
        check_vanished(
            vec![unit("apps", vec![])],
            &[("flux-system/apps", ""), ("flux-system/old", "")],
            &["flux-system/old"],
            &[],
        );

        let mut u = unit("apps", vec![]);
        assert_eq!(default_namespace(&u), "default");
        u.target_namespace = "team".into();
        assert_eq!(default_namespace(&u), "team");
    }

    #[test]
    fn children_of_a_failed_parent_are_held_not_removed() {
        let parent_failed = "parent Kustomization flux-system/apps failed";
        // Regression: a parent that failed to render lists no children; they looked removed
        // and their inventories were pruned.
        check_vanished(
            vec![unit("flux-system", vec![]), failed_unit("apps")],
            &[
                ("flux-system/apps", "flux-system/flux-system"),
                ("team/web", "flux-system/apps"),
                ("team/old", "flux-system/flux-system"),
            ],
            &["team/old"],
            &[("team/web", parent_failed)],
        );
        // Grandchildren of a failed unit whose child the hub did not re-emit: held too.
        check_vanished(
            vec![failed_unit("apps")],
            &[("team/web", "flux-system/apps"), ("team/db", "team/web")],
            &[],
            &[
                ("team/db", "parent Kustomization team/web failed"),
                ("team/web", parent_failed),
            ],
        );
        // A parent present without error, or absent, removes its missing children.
        check_vanished(
            vec![unit("apps", vec![])],
            &[("team/web", "flux-system/apps"), ("team/db", "team/gone")],
            &["team/db", "team/web"],
            &[],
        );
        // Recorded parents that form a cycle end.
        check_vanished(
            vec![],
            &[("team/a", "team/b"), ("team/b", "team/a")],
            &["team/a", "team/b"],
            &[],
        );
    }

    #[test]
    fn invalid_unit_names_fail_and_are_not_remembered() {
        // Regression: a namespace over 65535 bytes was cut inside its unit key, so keys
        // could collide and a cut inside a UTF-8 character made every later apply fail.
        let long = format!("{}é", "a".repeat(65_534));
        let cases = [
            (long.as_str(), "apps", "unit namespace 'aaaa"),
            (
                "Flux_System",
                "apps",
                "unit namespace 'Flux_System' is not a valid DNS-1123 label",
            ),
            ("", "apps", "unit namespace '' is not"),
            (
                "flux-system",
                "Apps",
                "unit name 'Apps' in namespace flux-system is not a valid DNS-1123 subdomain",
            ),
            ("flux-system", "a/b", "unit name 'a/b'"),
        ];
        for (namespace, name, message) in cases {
            let u = Unit {
                namespace: namespace.into(),
                ..unit(name, vec![obj_json("v1", "ConfigMap", "c")])
            };
            let plan = plan(&bundle(vec![u]));
            let planned = &plan.units[0];
            assert!(
                matches!(&planned.action, Action::Failed(m) if m.starts_with(message) && m.len() < 300),
                "{namespace:.20}/{name}: {:.300?}",
                planned.action
            );
            assert!(!planned.remember);
        }
        let plan = plan(&bundle(vec![unit("apps.v2", vec![])]));
        assert!(plan.units[0].remember);
        assert!(matches!(plan.units[0].action, Action::Apply { .. }));
    }

    #[test]
    fn tenant_unit_without_service_account_fails() {
        let tenant = |service_account: &str| Unit {
            tenant: "team-a".into(),
            service_account: service_account.into(),
            ..unit("team", vec![obj_json("v1", "ConfigMap", "c")])
        };
        let without = plan(&bundle(vec![tenant("")]));
        assert!(
            matches!(&without.units[0].action, Action::Failed(m) if m == "tenant unit must be applied with a service account"),
            "{:?}",
            without.units[0].action
        );
        let with = plan(&bundle(vec![tenant("deployer")]));
        assert!(matches!(with.units[0].action, Action::Apply { .. }));
    }
}
