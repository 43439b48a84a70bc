//! In-memory object store of one sandbox: objects keyed by (group-resource, namespace, name)
//! in a BTreeMap, kept as compact JSON text (about a tenth of the memory of a parsed
//! `serde_json::Value`; parsed on use), a global resourceVersion counter, a bounded history
//! of watch events, and
//! the custom resources defined by stored CRDs. Holds no policy: verbs, metadata and RBAC
//! live elsewhere. The lock is a plain mutex, never held across an await.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use crate::resources::{self, ResourceInfo};

/// Events kept for watches that resume from a resourceVersion.
const HISTORY: usize = 2048;

/// Where an object lives: `deployments.apps` / namespace ("" when cluster-scoped) / name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub group_resource: String,
    pub namespace: String,
    pub name: String,
}

/// ADDED, MODIFIED or DELETED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// A stored object: its compact JSON text.
#[derive(Debug, Clone)]
pub struct Stored(Arc<str>);

impl Stored {
    pub fn encode(v: &Value) -> Stored {
        Stored(serde_json::to_string(v).unwrap_or_default().into())
    }

    /// The parsed object (text this store wrote always parses; Null otherwise).
    pub fn value(&self) -> Arc<Value> {
        Arc::new(serde_json::from_str(&self.0).unwrap_or(Value::Null))
    }
}

/// One change, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub kind: EventType,
    pub key: ObjectKey,
    pub object: Stored,
    /// The object before a MODIFIED change (shared text, no copy), so a watch with a
    /// selector can report an object entering or leaving it.
    pub previous: Option<Stored>,
}

/// The state behind the lock.
#[derive(Debug, Default)]
pub struct State {
    rv: u64,
    objects: BTreeMap<ObjectKey, Stored>,
    history: VecDeque<Arc<Event>>,
    /// Every event with rv > floor is in `history`.
    floor: u64,
    custom: Vec<Arc<ResourceInfo>>,
    /// Emulate controllers that make workloads ready at once (see `controllers`).
    ready_workloads: bool,
}

impl State {
    pub fn ready_workloads(&self) -> bool {
        self.ready_workloads
    }

    pub fn set_ready_workloads(&mut self, on: bool) {
        self.ready_workloads = on;
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// Takes the next resourceVersion.
    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.objects.get(key).map(Stored::value)
    }

    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.objects.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Objects of one resource, in one namespace or (None) in all.
    pub fn list<'a>(
        &'a self,
        group_resource: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a ObjectKey, Arc<Value>)> + 'a {
        let start = ObjectKey {
            group_resource: group_resource.to_string(),
            namespace: namespace.unwrap_or("").to_string(),
            name: String::new(),
        };
        self.objects
            .range(start..)
            .take_while(move |(k, _)| {
                k.group_resource == group_resource && namespace.is_none_or(|n| k.namespace == n)
            })
            .map(|(k, o)| (k, o.value()))
    }

    pub fn all(&self) -> impl Iterator<Item = (&ObjectKey, Arc<Value>)> {
        self.objects.iter().map(|(k, o)| (k, o.value()))
    }

    /// Keys of every stored object.
    pub fn keys(&self) -> impl Iterator<Item = &ObjectKey> {
        self.objects.keys()
    }

    /// Stores `object` under `key` at resourceVersion `rv` and records the event.
    pub fn put(&mut self, key: ObjectKey, object: Value, rv: u64) {
        let stored = Stored::encode(&object);
        let previous = self.objects.insert(key.clone(), stored.clone());
        let kind = match previous {
            Some(_) => EventType::Modified,
            None => EventType::Added,
        };
        let crd = is_crd(&key);
        self.record(rv, kind, key, stored, previous);
        if crd {
            self.refresh_custom();
        }
    }

    /// Removes the object; the DELETED event carries it with resourceVersion `rv`.
    pub fn remove(&mut self, key: &ObjectKey, rv: u64) -> Option<Value> {
        let old = self.objects.remove(key)?;
        let mut last = (*old.value()).clone();
        crate::meta::set_resource_version(&mut last, rv);
        self.record(
            rv,
            EventType::Deleted,
            key.clone(),
            Stored::encode(&last),
            None,
        );
        if is_crd(key) {
            self.refresh_custom();
        }
        Some(last)
    }

    fn record(
        &mut self,
        rv: u64,
        kind: EventType,
        key: ObjectKey,
        object: Stored,
        previous: Option<Stored>,
    ) {
        if self.history.len() >= HISTORY {
            if let Some(e) = self.history.pop_front() {
                self.floor = e.rv;
            }
        }
        self.history.push_back(Arc::new(Event {
            rv,
            kind,
            key,
            object,
            previous,
        }));
    }

    /// Events after `rv`, or None when some of them are no longer kept.
    pub fn events_since(&self, rv: u64) -> Option<impl Iterator<Item = &Arc<Event>>> {
        if rv < self.floor {
            return None;
        }
        let start = self.history.partition_point(|e| e.rv <= rv);
        Some(self.history.range(start..))
    }

    fn refresh_custom(&mut self) {
        self.custom = self
            .list("customresourcedefinitions.apiextensions.k8s.io", None)
            .filter_map(|(_, crd)| resources::from_crd(&crd))
            .map(Arc::new)
            .collect();
    }

    /// Resources served now: the built-in table, then those of stored CRDs.
    pub fn resources(&self) -> impl Iterator<Item = &Arc<ResourceInfo>> {
        resources::builtins().iter().chain(self.custom.iter())
    }

    pub fn custom_resources(&self) -> &[Arc<ResourceInfo>] {
        &self.custom
    }

    /// The resource at `group`/`version` named `plural` (or by short name, as kubectl never
    /// sends them; plural only).
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.resources()
            .find(|r| r.group == group && r.plural == plural && r.serves(version))
            .cloned()
    }

    pub fn resource_for_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceInfo>> {
        self.resources()
            .find(|r| r.group == group && r.kind == kind)
            .cloned()
    }
}

fn is_crd(key: &ObjectKey) -> bool {
    key.group_resource == "customresourcedefinitions.apiextensions.k8s.io"
}

/// The store of one sandbox, shared by its connections.
#[derive(Debug, Default)]
pub struct Store {
    state: Mutex<State>,
    /// The newest resourceVersion; watches wake on change.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Store {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug in this crate; keep serving anyway.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells watches that new events are in the history.
    pub fn notify(&self, rv: u64) {
        self.changed.send_replace(rv);
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// Read access for tests: a view on the store of a running sandbox.
#[derive(Clone)]
pub struct StoreView(pub(crate) Arc<crate::Shared>);

impl StoreView {
    /// The object of `api_version`/`kind` named `name` (namespace None when cluster-scoped).
    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let (group, version) = split_api_version(api_version);
        let st = self.0.store.lock();
        let r = st.resource_for_kind(group, kind)?;
        let key = ObjectKey {
            group_resource: r.group_resource(),
            namespace: namespace.unwrap_or("").to_string(),
            name: name.to_string(),
        };
        st.get(&key)
            .map(|o| crate::meta::with_api_version(&o, &r, version))
    }

    /// Every stored object, ordered by resource, namespace and name.
    pub fn list(&self) -> Vec<Value> {
        self.0
            .store
            .lock()
            .all()
            .map(|(_, o)| Arc::unwrap_or_clone(o))
            .collect()
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.0.store.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current resourceVersion counter.
    pub fn resource_version(&self) -> u64 {
        self.0.store.lock().resource_version()
    }
}

/// `apps/v1` → ("apps", "v1"); `v1` → ("", "v1").
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(gr: &str, ns: &str, name: &str) -> ObjectKey {
        ObjectKey {
            group_resource: gr.into(),
            namespace: ns.into(),
            name: name.into(),
        }
    }

    #[test]
    fn list_is_scoped_to_resource_and_namespace() {
        let mut st = State::default();
        for (gr, ns, n) in [
            ("configmaps", "a", "x"),
            ("configmaps", "b", "y"),
            ("secrets", "a", "z"),
        ] {
            let rv = st.next_rv();
            st.put(key(gr, ns, n), json!({"metadata": {"name": n}}), rv);
        }
        assert_eq!(st.list("configmaps", None).count(), 2);
        assert_eq!(st.list("configmaps", Some("a")).count(), 1);
        assert_eq!(st.list("secrets", Some("b")).count(), 0);
    }

    #[test]
    fn history_resumes_after_rv_and_expires() {
        let mut st = State::default();
        for i in 0..(HISTORY + 10) {
            let rv = st.next_rv();
            st.put(key("configmaps", "a", &i.to_string()), json!({}), rv);
        }
        assert!(st.events_since(1).is_none());
        let last = st.resource_version();
        assert_eq!(st.events_since(last - 3).unwrap().count(), 3);
    }

    #[test]
    fn crd_put_serves_custom_resource() {
        let mut st = State::default();
        let crd = json!({"kind": "CustomResourceDefinition", "spec": {"group": "ex.com",
            "names": {"plural": "widgets", "kind": "Widget"}, "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true}]}});
        st.put(
            key(
                "customresourcedefinitions.apiextensions.k8s.io",
                "",
                "widgets.ex.com",
            ),
            crd,
            1,
        );
        assert!(st.resource("ex.com", "v1", "widgets").is_some());
        st.remove(
            &key(
                "customresourcedefinitions.apiextensions.k8s.io",
                "",
                "widgets.ex.com",
            ),
            2,
        );
        assert!(st.resource("ex.com", "v1", "widgets").is_none());
    }

    #[test]
    fn split_api_version_handles_core() {
        assert_eq!(split_api_version("v1"), ("", "v1"));
        assert_eq!(split_api_version("apps/v1"), ("apps", "v1"));
    }
}
