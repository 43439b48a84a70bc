//! Object metadata the server owns: uid, resourceVersion, generation, creationTimestamp,
//! and the apiVersion an object is served at. Pure functions over `serde_json::Value`
//! (the clock and the uid source are the only inputs from outside).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Map, Value};

use crate::resources::ResourceInfo;

/// RFC 3339 UTC timestamp with second precision, as `metav1.Time` renders.
pub fn now() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A random-looking u64 (SipHash with per-process random keys over a counter). Not for
/// secrets that leave the machine; the sandbox only listens on 127.0.0.1.
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// A version-4-shaped UUID.
pub fn uid() -> String {
    let (a, b) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// Five lowercase alphanumerics for `generateName`.
pub fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = random_u64();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(r % ALPHABET.len() as u64) as usize] as char;
            r /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

pub fn metadata(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata`, created if missing or not an object.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let Value::Object(m) = obj else {
        unreachable!("just made an object")
    };
    let md = m.entry("metadata").or_insert_with(|| json!({}));
    if !md.is_object() {
        *md = json!({});
    }
    match md {
        Value::Object(md) => md,
        _ => unreachable!("just made an object"),
    }
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj)?.get(field)?.as_str()
}

pub fn set_resource_version(obj: &mut Value, rv: u64) {
    metadata_mut(obj).insert("resourceVersion".into(), json!(rv.to_string()));
}

/// The object with `apiVersion` and `kind` as served at `version`.
pub fn with_api_version(obj: &Value, r: &ResourceInfo, version: &str) -> Value {
    let mut o = obj.clone();
    if let Value::Object(m) = &mut o {
        m.insert("apiVersion".into(), json!(r.api_version(version)));
        m.insert("kind".into(), json!(r.kind));
    }
    o
}

/// Everything but metadata and status: a change here bumps generation.
fn spec_part(obj: &Value) -> Map<String, Value> {
    obj.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind")
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Sets the server-owned metadata on a new object (create, or apply of a missing object).
pub fn init_created(obj: &mut Value, r: &ResourceInfo, rv: u64) {
    let md = metadata_mut(obj);
    md.insert("uid".into(), json!(uid()));
    md.insert("resourceVersion".into(), json!(rv.to_string()));
    md.insert("creationTimestamp".into(), json!(now()));
    if r.has_generation {
        md.insert("generation".into(), json!(1));
    } else {
        md.remove("generation");
    }
    for f in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        md.remove(f);
    }
}

/// Carries the server-owned metadata from `old` to `new` on an update, and bumps
/// generation when anything outside metadata and status changed.
pub fn carry_over(old: &Value, new: &mut Value, r: &ResourceInfo, rv: u64) {
    let bump = spec_part(old) != spec_part(new);
    let old_md = metadata(old).cloned().unwrap_or_default();
    let md = metadata_mut(new);
    for f in [
        "uid",
        "creationTimestamp",
        "name",
        "namespace",
        "deletionTimestamp",
    ] {
        match old_md.get(f) {
            Some(v) => md.insert(f.into(), v.clone()),
            None => md.remove(f),
        };
    }
    md.insert("resourceVersion".into(), json!(rv.to_string()));
    if r.has_generation {
        let g = old_md
            .get("generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        md.insert("generation".into(), json!(if bump { g + 1 } else { g }));
    } else {
        md.remove("generation");
    }
    md.remove("selfLink");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;

    fn deployments() -> &'static ResourceInfo {
        builtins()
            .iter()
            .find(|r| r.plural == "deployments")
            .unwrap()
    }

    #[test]
    fn timestamp_shape() {
        let t = now();
        assert_eq!(t.len(), 20);
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }

    #[test]
    fn uids_differ_and_look_like_uuids() {
        let (a, b) = (uid(), uid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn generation_bumps_on_spec_change_only() {
        let mut old = json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}});
        init_created(&mut old, deployments(), 1);
        let mut labels = old.clone();
        labels["metadata"]["labels"] = json!({"a": "b"});
        carry_over(&old, &mut labels, deployments(), 2);
        assert_eq!(labels["metadata"]["generation"], 1);
        let mut spec = old.clone();
        spec["spec"]["replicas"] = json!(2);
        carry_over(&old, &mut spec, deployments(), 3);
        assert_eq!(spec["metadata"]["generation"], 2);
        assert_eq!(spec["metadata"]["resourceVersion"], "3");
        assert_eq!(spec["metadata"]["uid"], old["metadata"]["uid"]);
    }
}
