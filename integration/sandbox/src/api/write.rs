//! The one place an object is written: status handling for the main resource and the
//! status subresource, ownership (`managedFields`), server side effects (Namespace phase,
//! CRD Established, Secret stringData folded into data, port protocol defaulted), no-op
//! detection, resourceVersion and generation, and dry-run.
//! Runs under the store lock; never awaits.

use std::sync::Arc;

use base64::Engine;
use serde_json::{json, Value};

use crate::merge::apply::{parse_managed, record_update, render_managed, Manager, Writer};
use crate::meta;
use crate::resources::ResourceInfo;
use crate::store::{ObjectKey, State};

/// Who owns what after the write.
pub enum Ownership<'a> {
    /// An Update operation by this manager: ownership follows the changed fields.
    Update(&'a str),
    /// Server-side apply already computed the entries.
    Computed(Vec<Manager>),
}

pub struct Write<'a> {
    pub resource: &'a ResourceInfo,
    pub api_version: &'a str,
    pub key: ObjectKey,
    pub old: Option<Arc<Value>>,
    pub new: Value,
    pub ownership: Ownership<'a>,
    /// Written through the `/status` subresource: only status changes.
    pub status_subresource: bool,
    pub dry_run: bool,
}

/// The stored (or, for dry-run, would-be) object and whether anything changed.
pub fn commit(st: &mut State, w: Write<'_>) -> (Value, bool) {
    let Write {
        resource: r,
        api_version,
        key,
        old,
        mut new,
        ownership,
        status_subresource,
        dry_run,
    } = w;
    if let Value::Object(m) = &mut new {
        m.remove("apiVersion");
        m.remove("kind");
        let version = r.versions.first().map(String::as_str).unwrap_or("v1");
        m.insert("apiVersion".into(), json!(r.api_version(version)));
        m.insert("kind".into(), json!(r.kind));
    }
    if status_subresource {
        let status = new.get("status").cloned();
        new = old.as_deref().cloned().unwrap_or_else(|| json!({}));
        set_status(&mut new, status);
    } else if r.has_status {
        set_status(
            &mut new,
            old.as_ref().and_then(|o| o.get("status").cloned()),
        );
    }
    side_effects(r, &mut new);

    let managers = match ownership {
        Ownership::Computed(m) => m,
        Ownership::Update(manager) => {
            let live = || {
                old.as_deref()
                    .map(parse_managed)
                    .and_then(Result::ok)
                    .unwrap_or_default()
            };
            // As on the real server, an Update that sends managedFields replaces them (an
            // empty list resets them); one that leaves them out or unchanged keeps the live ones.
            let live_sent = old
                .as_deref()
                .and_then(|o| o.pointer("/metadata/managedFields"));
            let previous = match new.pointer("/metadata/managedFields") {
                Some(Value::Array(a)) if a.is_empty() => Vec::new(),
                Some(sent @ Value::Array(_)) if Some(sent) != live_sent => {
                    parse_managed(&new).unwrap_or_else(|_| live())
                }
                _ => live(),
            };
            let time = meta::now();
            let writer = Writer {
                manager,
                api_version,
                time: &time,
                builtin: r.builtin,
            };
            if status_subresource {
                previous
            } else {
                record_update(old.as_deref(), &new, previous, &writer)
            }
        }
    };
    meta::metadata_mut(&mut new).insert("managedFields".into(), render_managed(&managers));

    let settle = |st: &State, obj: &mut Value| {
        if st.ready_workloads() && !status_subresource {
            if let Some(status) = crate::controllers::ready_status(r, obj, &meta::now()) {
                // Keep a status already settled at this generation (or, for kinds without
                // observedGeneration, any status): re-settling only churns timestamps.
                let keep = old.as_deref().and_then(|o| o.get("status")).filter(|s| {
                    status.get("observedGeneration").is_none()
                        || s.get("observedGeneration") == status.get("observedGeneration")
                });
                set_status(obj, Some(keep.cloned().unwrap_or(status)));
            }
        }
    };
    if let Some(old) = &old {
        let old_rv: u64 = meta::meta_str(old, "resourceVersion")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut probe = new.clone();
        meta::carry_over(old, &mut probe, r, old_rv);
        settle(st, &mut probe);
        if without_times(&probe) == without_times(old) {
            return ((**old).clone(), false);
        }
        let rv = if dry_run { old_rv } else { st.next_rv() };
        meta::carry_over(old, &mut new, r, rv);
        settle(st, &mut new);
        if !dry_run {
            st.put(key, new.clone(), rv);
        }
    } else {
        let rv = if dry_run {
            st.resource_version()
        } else {
            st.next_rv()
        };
        meta::init_created(&mut new, r, rv);
        settle(st, &mut new);
        if dry_run {
            meta::metadata_mut(&mut new).remove("resourceVersion");
        } else {
            st.put(key, new.clone(), rv);
        }
    }
    (new, true)
}

fn set_status(obj: &mut Value, status: Option<Value>) {
    if let Value::Object(m) = obj {
        match status {
            Some(s) => m.insert("status".into(), s),
            None => m.remove("status"),
        };
    }
}

/// The object with managedFields times blanked: a write that changes only those is a no-op.
fn without_times(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(Value::Array(entries)) = o.pointer_mut("/metadata/managedFields") {
        for e in entries {
            if let Value::Object(m) = e {
                m.remove("time");
            }
        }
    }
    o
}

/// What controllers of a real cluster would set at once: a Namespace is Active, a CRD is
/// Established with its names accepted.
fn side_effects(r: &ResourceInfo, obj: &mut Value) {
    if r.builtin {
        crate::merge::keys::default_keys(obj);
    }
    match (r.group.as_str(), r.kind.as_str()) {
        ("", "Namespace") if obj.pointer("/status/phase").is_none() => {
            set_status(obj, Some(json!({"phase": "Active"})));
        }
        ("", "Secret") => {
            // stringData is write-only: merged into data (base64) and never stored.
            let Value::Object(m) = obj else { return };
            let Some(Value::Object(sd)) = m.remove("stringData") else {
                return;
            };
            let data = m.entry("data").or_insert_with(|| json!({}));
            if !data.is_object() {
                *data = json!({});
            }
            if let Value::Object(d) = data {
                for (k, v) in sd {
                    let text = v
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string());
                    d.insert(
                        k,
                        json!(base64::engine::general_purpose::STANDARD.encode(text)),
                    );
                }
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            let names = obj
                .pointer("/spec/names")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let stored: Vec<Value> = obj
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                        .filter_map(|v| v.get("name").cloned())
                        .collect()
                })
                .unwrap_or_default();
            let t = obj
                .pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or_else(|| json!(meta::now()));
            let cond = |ty: &str, reason: &str, msg: &str| json!({"type": ty, "status": "True", "lastTransitionTime": t, "reason": reason, "message": msg});
            set_status(
                obj,
                Some(json!({
                    "conditions": [
                        cond("NamesAccepted", "NoConflicts", "no conflicts found"),
                        cond("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                    ],
                    "acceptedNames": names,
                    "storedVersions": stored,
                })),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;

    fn resource(plural: &str) -> &'static ResourceInfo {
        builtins().iter().find(|r| r.plural == plural).unwrap()
    }

    fn key(name: &str) -> ObjectKey {
        ObjectKey {
            group_resource: "configmaps".into(),
            namespace: "default".into(),
            name: name.into(),
        }
    }

    fn write(st: &mut State, old: Option<Arc<Value>>, new: Value, dry_run: bool) -> (Value, bool) {
        commit(
            st,
            Write {
                resource: resource("configmaps"),
                api_version: "v1",
                key: key("x"),
                old,
                new,
                ownership: Ownership::Update("test"),
                status_subresource: false,
                dry_run,
            },
        )
    }

    #[test]
    fn create_sets_server_metadata_and_ownership() {
        let mut st = State::default();
        let (o, changed) = write(
            &mut st,
            None,
            json!({"metadata": {"name": "x"}, "data": {"a": "1"}}),
            false,
        );
        assert!(changed);
        assert_eq!(o["apiVersion"], "v1");
        assert_eq!(o["metadata"]["resourceVersion"], "1");
        assert!(
            o["metadata"].get("generation").is_none(),
            "configmaps have no generation"
        );
        assert_eq!(o["metadata"]["managedFields"][0]["manager"], "test");
        assert_eq!(o["metadata"]["managedFields"][0]["operation"], "Update");
        assert!(st.get(&key("x")).is_some());
    }

    #[test]
    fn unchanged_write_is_a_no_op_and_dry_run_stores_nothing() {
        let mut st = State::default();
        let (o, _) = write(
            &mut st,
            None,
            json!({"metadata": {"name": "x"}, "data": {"a": "1"}}),
            false,
        );
        let old = st.get(&key("x"));
        let (same, changed) = write(&mut st, old.clone(), o.clone(), false);
        assert!(!changed);
        assert_eq!(same["metadata"]["resourceVersion"], "1");
        let mut edited = o.clone();
        edited["data"]["a"] = json!("2");
        let (dry, changed) = write(&mut st, old, edited, true);
        assert!(changed);
        assert_eq!(dry["data"]["a"], "2");
        assert_eq!(st.get(&key("x")).unwrap()["data"]["a"], "1");
        assert_eq!(st.resource_version(), 1);
    }

    #[test]
    fn crd_is_established_and_namespace_active() {
        let mut st = State::default();
        let crd = json!({"metadata": {"name": "widgets.ex.com"}, "spec": {"group": "ex.com",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true}]}});
        let (o, _) = commit(
            &mut st,
            Write {
                resource: resource("customresourcedefinitions"),
                api_version: "apiextensions.k8s.io/v1",
                key: ObjectKey {
                    group_resource: "customresourcedefinitions.apiextensions.k8s.io".into(),
                    namespace: String::new(),
                    name: "widgets.ex.com".into(),
                },
                old: None,
                new: crd,
                ownership: Ownership::Update("test"),
                status_subresource: false,
                dry_run: false,
            },
        );
        assert_eq!(o["status"]["conditions"][1]["type"], "Established");
        assert_eq!(o["status"]["storedVersions"], json!(["v1"]));
        assert!(st.resource("ex.com", "v1", "widgets").is_some());
    }
}
