//! Server-side apply and field ownership: `managedFields` entries per manager, the apply
//! merge (conflicts, force, removal of fields a manager stopped applying when nobody else
//! owns them) and the ownership an Update (create, update, patch) takes. Pure: the caller
//! passes the live object, the entries and the clock value.

use serde_json::{json, Map, Value};

use super::fieldset::{
    item_key, path_string, remove_at, strip, value_at, FieldSet, Path, PathElement,
};
use super::keys::list_map_keys;
use super::MergeError;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    pub manager: String,
    /// "Apply" or "Update".
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: Option<String>,
    pub fields: FieldSet,
}

/// A field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub api_version: String,
    pub path: Path,
}

/// Who is writing: the manager name, the apiVersion of the request, and the time.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub time: &'a str,
    /// Built-in type: lists with known keys are list-maps.
    pub builtin: bool,
}

/// Reads `metadata.managedFields`.
pub fn parse_managed(obj: &Value) -> Result<Vec<Manager>, MergeError> {
    let Some(entries) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Ok(Vec::new());
    };
    let s = |e: &Value, f: &str| e.get(f).and_then(Value::as_str).unwrap_or("").to_string();
    entries
        .iter()
        .map(|e| {
            Ok(Manager {
                manager: s(e, "manager"),
                operation: s(e, "operation"),
                api_version: s(e, "apiVersion"),
                time: s(e, "time"),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .map(String::from),
                fields: match e.get("fieldsV1") {
                    Some(v) => FieldSet::from_fields_v1(v)?,
                    None => FieldSet::default(),
                },
            })
        })
        .collect()
}

/// Renders entries as `metadata.managedFields`.
pub fn render_managed(managers: &[Manager]) -> Value {
    Value::Array(
        managers
            .iter()
            .map(|m| {
                let mut e = Map::new();
                e.insert("manager".into(), json!(m.manager));
                e.insert("operation".into(), json!(m.operation));
                e.insert("apiVersion".into(), json!(m.api_version));
                e.insert("time".into(), json!(m.time));
                e.insert("fieldsType".into(), json!("FieldsV1"));
                e.insert("fieldsV1".into(), m.fields.to_fields_v1());
                if let Some(s) = &m.subresource {
                    e.insert("subresource".into(), json!(s));
                }
                Value::Object(e)
            })
            .collect(),
    )
}

/// The message and causes of a 409 for `conflicts`, in the real server's words.
pub fn conflict_message(conflicts: &[Conflict]) -> (String, Vec<Value>) {
    let n = conflicts.len();
    let mut msg = format!(
        "Apply failed with {n} conflict{}: ",
        if n == 1 { "" } else { "s" }
    );
    let mut groups: Vec<(&str, &str, Vec<String>)> = Vec::new();
    for c in conflicts {
        let p = path_string(&c.path);
        match groups
            .iter_mut()
            .find(|g| g.0 == c.manager && g.1 == c.api_version)
        {
            Some(g) => g.2.push(p),
            None => groups.push((&c.manager, &c.api_version, vec![p])),
        }
    }
    let parts: Vec<String> = groups
        .iter()
        .map(|(m, v, paths)| match paths.as_slice() {
            [one] => format!("conflict with \"{m}\" using {v}: {one}"),
            many => format!("conflicts with \"{m}\" using {v}:\n- {}", many.join("\n- ")),
        })
        .collect();
    msg.push_str(&parts.join("\n"));
    let causes = conflicts
        .iter()
        .map(|c| {
            json!({"reason": "FieldManagerConflict",
                   "message": format!("conflict with \"{}\" using {}", c.manager, c.api_version),
                   "field": path_string(&c.path)})
        })
        .collect();
    (msg, causes)
}

/// Whether `p` is owned as a leaf whose value differs between `a` and `b`. List items owned
/// as a whole (`.`) only differ when one side lacks them.
fn differs(a: Option<&Value>, b: Option<&Value>, p: &Path) -> bool {
    let (x, y) = (
        a.and_then(|a| value_at(a, p)),
        b.and_then(|b| value_at(b, p)),
    );
    match (x, y) {
        (Some(_), Some(_)) if matches!(p.last(), Some(PathElement::Key(_))) => false,
        _ => x != y,
    }
}

/// Server-side apply of `config` (a full object) over `live` by `w.manager`.
/// Returns the new object (server metadata still to be set) and the new entries, or the
/// conflicts when `force` is false.
pub fn apply(
    live: Option<&Value>,
    mut managers: Vec<Manager>,
    config: &Value,
    w: &Writer<'_>,
    force: bool,
) -> Result<(Value, Vec<Manager>), Vec<Conflict>> {
    let config_s = strip(config);
    let live_s = live.map(strip);
    let applied = FieldSet::from_object(&config_s, w.builtin);
    let is_mine =
        |m: &Manager| m.manager == w.manager && m.operation == "Apply" && m.subresource.is_none();

    // A conflict is a field another manager owns that this apply would change: compare the
    // live object with the merge result (merging `data: {}` changes nothing).
    let mut merged_s = live_s.clone().unwrap_or_else(|| json!({}));
    merge_into(&mut merged_s, &config_s, "", w.builtin);
    let mut conflicts = Vec::new();
    for m in managers.iter_mut().filter(|m| !is_mine(m)) {
        let clash: Vec<Path> = m
            .fields
            .0
            .intersection(&applied.0)
            .filter(|p| differs(live_s.as_ref(), Some(&merged_s), p))
            .cloned()
            .collect();
        if force {
            for p in &clash {
                m.fields.0.remove(p);
            }
        } else {
            conflicts.extend(clash.into_iter().map(|path| Conflict {
                manager: m.manager.clone(),
                api_version: m.api_version.clone(),
                path,
            }));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }

    let previous = managers
        .iter()
        .find(|m| is_mine(m))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    let others = managers
        .iter()
        .filter(|m| !is_mine(m))
        .fold(FieldSet::default(), |acc, m| acc.union(&m.fields));
    let mut object = live.cloned().unwrap_or_else(|| json!({}));
    let dropped = previous.difference(&applied).difference(&others);
    for p in dropped.0.iter().rev() {
        if !others.has_descendant(p) && !applied.has_descendant(p) {
            remove_at(&mut object, p);
        }
    }
    let mut config_merge = config.clone();
    if let Some(Value::Object(md)) = config_merge.get_mut("metadata") {
        md.remove("managedFields");
    }
    merge_into(&mut object, &config_merge, "", w.builtin);

    // The entry keeps its place (a re-apply that changes nothing must render the same
    // managedFields); a new manager goes last.
    let entry = Manager {
        manager: w.manager.to_string(),
        operation: "Apply".into(),
        api_version: w.api_version.to_string(),
        time: w.time.to_string(),
        subresource: None,
        fields: applied,
    };
    match managers.iter_mut().find(|m| is_mine(m)) {
        Some(m) => *m = entry,
        None => managers.push(entry),
    }
    managers.retain(|m| !m.fields.is_empty());
    Ok((object, managers))
}

/// Ownership after an Update (create, update or non-apply patch) from `old` to `new`:
/// `w.manager` takes every field whose value it changed; removed fields leave every set.
pub fn record_update(
    old: Option<&Value>,
    new: &Value,
    mut managers: Vec<Manager>,
    w: &Writer<'_>,
) -> Vec<Manager> {
    let new_s = strip(new);
    let old_s = old.map(strip);
    let new_f = FieldSet::from_object(&new_s, w.builtin);
    let old_f = old_s
        .as_ref()
        .map(|o| FieldSet::from_object(o, w.builtin))
        .unwrap_or_default();
    let changed: FieldSet = FieldSet(
        new_f
            .0
            .iter()
            .filter(|p| !old_f.contains(p) || differs(old_s.as_ref(), Some(&new_s), p))
            .cloned()
            .collect(),
    );
    let removed = old_f.difference(&new_f);
    let is_mine =
        |m: &Manager| m.manager == w.manager && m.operation == "Update" && m.subresource.is_none();
    for m in managers.iter_mut() {
        m.fields = m.fields.difference(&removed);
        if !is_mine(m) {
            m.fields = m.fields.difference(&changed);
        }
    }
    match managers.iter_mut().find(|m| is_mine(m)) {
        Some(m) => {
            m.fields = m.fields.union(&changed);
            if !changed.is_empty() {
                m.time = w.time.to_string();
                m.api_version = w.api_version.to_string();
            }
        }
        None if !changed.is_empty() => managers.push(Manager {
            manager: w.manager.to_string(),
            operation: "Update".into(),
            api_version: w.api_version.to_string(),
            time: w.time.to_string(),
            subresource: None,
            fields: changed,
        }),
        None => {}
    }
    managers.retain(|m| !m.fields.is_empty());
    managers
}

/// Merges an applied configuration into an object: maps recursively, list-maps item by
/// item (by key), everything else replaced.
pub fn merge_into(target: &mut Value, config: &Value, field: &str, builtin: bool) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                match t.get_mut(k) {
                    Some(slot) => merge_into(slot, v, k, builtin),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(c)) => {
            let keys = list_map_keys(field, c, builtin)
                .filter(|_| list_map_keys(field, t, builtin).is_some());
            let Some(keys) = keys else {
                *t = c.clone();
                return;
            };
            for item in c {
                let k = item_key(item, &keys);
                match t
                    .iter_mut()
                    .find(|i| k.is_some() && item_key(i, &keys) == k)
                {
                    Some(slot) => merge_into(slot, item, "", builtin),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, c) => *t = c.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(manager: &str) -> Writer<'_> {
        Writer {
            manager,
            api_version: "v1",
            time: "2026-01-01T00:00:00Z",
            builtin: true,
        }
    }

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": data})
    }

    #[test]
    fn dropped_field_is_removed_unless_another_manager_owns_it() {
        let (o1, m1) = apply(
            None,
            vec![],
            &cm(json!({"a": "1", "b": "2"})),
            &w("flotilla"),
            false,
        )
        .unwrap();
        let mut edited = o1.clone();
        edited["data"]["c"] = json!("3");
        let m2 = record_update(Some(&o1), &edited, m1, &w("kubectl-edit"));
        let (o3, m3) = apply(
            Some(&edited),
            m2,
            &cm(json!({"a": "1"})),
            &w("flotilla"),
            false,
        )
        .unwrap();
        assert_eq!(o3["data"], json!({"a": "1", "c": "3"}));
        assert_eq!(m3.len(), 2);
        assert_eq!(m3[0].fields.to_fields_v1(), json!({"f:data": {"f:a": {}}}));
    }

    #[test]
    fn conflict_without_force_then_force_takes_ownership() {
        let (o1, m1) = apply(None, vec![], &cm(json!({"a": "1"})), &w("one"), false).unwrap();
        let err = apply(
            Some(&o1),
            m1.clone(),
            &cm(json!({"a": "2"})),
            &w("two"),
            false,
        )
        .unwrap_err();
        let (msg, causes) = conflict_message(&err);
        assert_eq!(
            msg,
            "Apply failed with 1 conflict: conflict with \"one\" using v1: .data.a"
        );
        assert_eq!(causes[0]["field"], ".data.a");
        // Same value: shared ownership, no conflict.
        assert!(apply(
            Some(&o1),
            m1.clone(),
            &cm(json!({"a": "1"})),
            &w("two"),
            false
        )
        .is_ok());
        let (o2, m2) = apply(Some(&o1), m1, &cm(json!({"a": "2"})), &w("two"), true).unwrap();
        assert_eq!(o2["data"]["a"], "2");
        assert_eq!(m2.len(), 1, "the first manager lost its only field");
        assert_eq!(m2[0].manager, "two");
    }

    #[test]
    fn containers_merge_by_name_and_dropped_container_goes() {
        let d = |cs: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                   "spec": {"template": {"spec": {"containers": cs}}}})
        };
        let (o1, m1) = apply(
            None,
            vec![],
            &d(json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}])),
            &w("m"),
            false,
        )
        .unwrap();
        let (o2, _) = apply(
            Some(&o1),
            m1,
            &d(json!([{"name": "a", "image": "3"}])),
            &w("m"),
            false,
        )
        .unwrap();
        assert_eq!(
            o2["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "3"}])
        );
    }

    /// Regression: a defaulted `protocol` must not make a re-applied port a second item.
    #[test]
    fn reapplied_port_matches_its_defaulted_item() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}}}});
        let (mut o1, m1) = apply(None, vec![], &d, &w("m"), false).unwrap();
        crate::merge::keys::default_keys(&mut o1);
        let (o2, m2) = apply(Some(&o1), m1, &d, &w("m"), false).unwrap();
        let ports = &o2["spec"]["template"]["spec"]["containers"][0]["ports"];
        assert_eq!(ports, &json!([{"containerPort": 80, "protocol": "TCP"}]));
        let fields = m2[0].fields.to_fields_v1();
        let item = &fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"a\"}"]
            ["f:ports"];
        assert!(
            item["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]["f:containerPort"].is_object()
        );
    }

    #[test]
    fn update_takes_changed_fields_from_others() {
        let (o1, m1) = apply(
            None,
            vec![],
            &cm(json!({"a": "1", "b": "2"})),
            &w("one"),
            false,
        )
        .unwrap();
        let mut o2 = o1.clone();
        o2["data"]["a"] = json!("9");
        o2["data"].as_object_mut().unwrap().remove("b");
        let m2 = record_update(Some(&o1), &o2, m1, &w("edit"));
        assert_eq!(m2.len(), 1);
        assert_eq!(m2[0].operation, "Update");
        assert_eq!(m2[0].fields.to_fields_v1(), json!({"f:data": {"f:a": {}}}));
    }

    #[test]
    fn managed_fields_round_trip() {
        let (_, m1) = apply(None, vec![], &cm(json!({"a": "1"})), &w("one"), false).unwrap();
        let obj = json!({"metadata": {"managedFields": render_managed(&m1)}});
        assert_eq!(parse_managed(&obj).unwrap(), m1);
        assert_eq!(
            obj["metadata"]["managedFields"][0]["fieldsType"],
            "FieldsV1"
        );
    }

    proptest::proptest! {
        /// Applying extra labels and data keys, then applying without them, gives back the
        /// object another manager created (the inverse of an apply by a new manager).
        #[test]
        fn apply_then_unapply_restores_the_base(
            base in proptest::collection::btree_map("[a-c]", "[a-z]{1,3}", 0..3),
            extra in proptest::collection::btree_map("[d-f]", "[a-z]{1,3}", 1..3),
        ) {
            let (o1, m1) = apply(None, vec![], &cm(json!(base)), &w("base"), false).unwrap();
            let mut add = cm(json!(extra.clone()));
            add["metadata"]["labels"] = json!(extra);
            let (o2, m2) = apply(Some(&o1), m1, &add, &w("extra"), false).unwrap();
            let (o3, m3) = apply(Some(&o2), m2, &cm(json!({})), &w("extra"), false).unwrap();
            proptest::prop_assert_eq!(strip(&o3), strip(&o1));
            proptest::prop_assert!(m3.iter().all(|m| m.manager != "extra" || m.fields.0.iter().all(|p| path_string(p) == ".data")));
        }
    }
}
