//! Watch: a streaming response of newline-delimited JSON events (ADDED, MODIFIED, DELETED,
//! ERROR). Without a resourceVersion (or "0") it starts with ADDED for every matching
//! object; with one it replays the kept events after it, or ends with a 410 ERROR event
//! when they are gone. With a selector, an object entering it is ADDED and one leaving it
//! DELETED. With `sendInitialEvents=true` (watch-list) it sends the current objects and a
//! BOOKMARK with `k8s.io/initial-events-end`. Ends on timeoutSeconds, client disconnect or
//! sandbox shutdown.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::request::{Query, Target};
use super::verbs::selectors;
use crate::error::{ApiError, ApiResult};
use crate::meta::with_api_version;
use crate::resources::ResourceInfo;
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Event, EventType};

struct Filter {
    group_resource: String,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, o: &Value) -> bool {
        self.labels.matches(o) && self.fields.matches(o)
    }

    /// The event's line if it passes the filter; the object is parsed only when its
    /// resource and namespace match.
    fn render(&self, e: &Event, r: &ResourceInfo, version: &str) -> Option<Bytes> {
        if e.key.group_resource != self.group_resource
            || self
                .namespace
                .as_ref()
                .is_some_and(|n| *n != e.key.namespace)
        {
            return None;
        }
        let o = e.object.value();
        let now = self.matches(&o);
        let selective = !self.labels.0.is_empty() || !self.fields.0.is_empty();
        let kind = match (e.kind, &e.previous) {
            (EventType::Modified, Some(p)) if selective => match (self.matches(&p.value()), now) {
                (true, true) => "MODIFIED",
                (true, false) => "DELETED",
                (false, true) => "ADDED",
                (false, false) => return None,
            },
            _ if now => e.kind.as_str(),
            _ => return None,
        };
        Some(line(kind, &with_api_version(&o, r, version)))
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut s = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    s.push(b'\n');
    Bytes::from(s)
}

fn expired(rv: u64) -> Bytes {
    let e = ApiError::gone(format!("too old resource version: {rv}"));
    line("ERROR", &e.to_status())
}

/// Starts a watch; the receiver yields the response body chunks.
pub fn start(
    store: Arc<crate::Shared>,
    t: &Target,
    q: &Query,
    cancel: CancellationToken,
) -> ApiResult<mpsc::Receiver<Bytes>> {
    let (labels, fields) = selectors(q)?;
    let filter = Filter {
        group_resource: t.resource.group_resource(),
        namespace: t.namespace.clone(),
        labels,
        fields,
    };
    // Watch-list (`sendInitialEvents=true`): the current objects, then a BOOKMARK marking
    // the end of the initial events, whatever resourceVersion was given.
    let initial_events = q.get("sendInitialEvents") == Some("true");
    let from: Option<u64> = match q.get("resourceVersion") {
        _ if initial_events => None,
        None | Some("") | Some("0") => None,
        Some(s) => Some(
            s.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s}")))?,
        ),
    };
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(1800);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let mut changed = store.store.subscribe();
    let (mut initial, mut last) = {
        let st = store.store.lock();
        let now = st.resource_version();
        match from {
            None => (
                st.list(&filter.group_resource, filter.namespace.as_deref())
                    .filter(|(_, o)| filter.matches(o))
                    .map(|(_, o)| line("ADDED", &with_api_version(&o, &t.resource, &t.version)))
                    .collect::<Vec<_>>(),
                now,
            ),
            Some(rv) => match st.events_since(rv) {
                Some(events) => (
                    events
                        .filter_map(|e| filter.render(e, &t.resource, &t.version))
                        .collect(),
                    now,
                ),
                None => (vec![expired(rv)], u64::MAX),
            },
        }
    };
    if initial_events {
        let bookmark = json!({"kind": t.resource.kind, "apiVersion": t.api_version(),
            "metadata": {"resourceVersion": last.to_string(),
                         "annotations": {"k8s.io/initial-events-end": "true"}}});
        initial.push(line("BOOKMARK", &bookmark));
    }
    let resource = t.resource.clone();
    let version = t.version.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        for chunk in initial.drain(..) {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
        if last == u64::MAX {
            return;
        }
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                r = changed.changed() => if r.is_err() { return },
            }
            let batch: Vec<Bytes> = {
                let st = store.store.lock();
                let batch = match st.events_since(last) {
                    Some(events) => events
                        .filter_map(|e| filter.render(e, &resource, &version))
                        .collect(),
                    None => vec![expired(last)],
                };
                last = st.resource_version();
                batch
            };
            for chunk in batch {
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(rx)
}
