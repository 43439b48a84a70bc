//! The verbs on a resource: get, list, create, update, patch (merge, JSON, strategic,
//! apply), delete and deletecollection. Each takes the store lock once, never awaits, and
//! answers an `ApiError` for anything the real server would refuse.

use std::sync::Arc;

use serde_json::{json, Value};

use super::checks::{check_metadata, check_type, place, require_namespace, validate_name};
use super::request::{parse_object, Query, Target};
use super::write::{commit, Ownership, Write};
use crate::error::{ApiError, ApiResult};
use crate::merge::apply::{apply, conflict_message, parse_managed, Writer};
use crate::merge::smp::strategic_merge;
use crate::meta::{self, meta_str, with_api_version};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{ObjectKey, State, Store};

/// An answer: HTTP status and JSON body.
pub type Answer = (u16, Value);

/// Request facts the verbs need besides the target.
pub struct Ctx<'a> {
    pub query: &'a Query,
    pub content_type: &'a str,
    /// Field manager for Update operations when `fieldManager` is absent.
    pub user_agent: &'a str,
    pub body: &'a [u8],
}

impl Ctx<'_> {
    fn manager(&self) -> String {
        match self.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => match self.user_agent.split('/').next().map(str::trim) {
                Some(ua) if !ua.is_empty() => ua.to_string(),
                _ => "unknown".to_string(),
            },
        }
    }
}

fn key(t: &Target, name: &str) -> ObjectKey {
    ObjectKey {
        group_resource: t.resource.group_resource(),
        namespace: t.namespace.clone().unwrap_or_default(),
        name: name.to_string(),
    }
}

fn name_of(t: &Target) -> ApiResult<&str> {
    t.name.as_deref().ok_or_else(|| {
        ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )
    })
}

fn not_found(t: &Target, name: &str) -> ApiError {
    ApiError::not_found(&t.resource.plural, &t.resource.group, name)
}

pub fn selectors(q: &Query) -> ApiResult<(LabelSelector, FieldSelector)> {
    let l = LabelSelector::parse(q.get("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let f = FieldSelector::parse(q.get("fieldSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    Ok((l, f))
}

pub fn get(store: &Store, t: &Target) -> ApiResult<Answer> {
    let name = name_of(t)?;
    let st = store.lock();
    let o = st.get(&key(t, name)).ok_or_else(|| not_found(t, name))?;
    Ok((200, with_api_version(&o, &t.resource, &t.version)))
}

fn matching(st: &State, t: &Target, q: &Query) -> ApiResult<Vec<(ObjectKey, Arc<Value>)>> {
    let (l, f) = selectors(q)?;
    let gr = t.resource.group_resource();
    Ok(st
        .list(&gr, t.namespace.as_deref())
        .filter(|(_, o)| l.matches(o) && f.matches(o))
        .map(|(k, o)| (k.clone(), o.clone()))
        .collect())
}

fn list_doc(t: &Target, rv: u64, items: Vec<Value>) -> Value {
    json!({"kind": format!("{}List", t.resource.kind), "apiVersion": t.api_version(),
           "metadata": {"resourceVersion": rv.to_string()}, "items": items})
}

pub fn list(store: &Store, t: &Target, q: &Query) -> ApiResult<Answer> {
    let st = store.lock();
    let items = matching(&st, t, q)?
        .iter()
        .map(|(_, o)| with_api_version(o, &t.resource, &t.version))
        .collect();
    Ok((200, list_doc(t, st.resource_version(), items)))
}

pub fn create(store: &Store, t: &Target, ctx: &Ctx<'_>) -> ApiResult<Answer> {
    if t.resource.namespaced && t.namespace.is_none() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let mut obj = parse_object(ctx.body)?;
    check_type(t, &obj)?;
    check_metadata(&obj)?;
    place(t, &mut obj)?;
    let name = match (meta_str(&obj, "name"), meta_str(&obj, "generateName")) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(g)) if !g.is_empty() => format!("{g}{}", meta::name_suffix()),
        _ => {
            return Err(ApiError::invalid(
                &t.resource.kind,
                "",
                "",
                "metadata.name",
                "Required value: name or generateName is required",
            ))
        }
    };
    validate_name(t, &name)?;
    if meta_str(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    meta::metadata_mut(&mut obj).insert("name".into(), json!(name));
    let manager = ctx.manager();
    let mut st = store.lock();
    require_namespace(&st, t)?;
    let k = key(t, &name);
    if st.get(&k).is_some() {
        return Err(ApiError::already_exists(
            &t.resource.plural,
            &t.resource.group,
            &name,
        ));
    }
    let (o, _) = commit(
        &mut st,
        Write {
            resource: &t.resource,
            api_version: &t.api_version(),
            key: k,
            old: None,
            new: obj,
            ownership: Ownership::Update(&manager),
            status_subresource: false,
            dry_run: ctx.query.dry_run(),
        },
    );
    Ok((201, with_api_version(&o, &t.resource, &t.version)))
}

/// Update or patch: the resourceVersion precondition, then the write.
fn replace(
    st: &mut State,
    t: &Target,
    ctx: &Ctx<'_>,
    old: Arc<Value>,
    mut new: Value,
    ownership: Ownership<'_>,
) -> ApiResult<Answer> {
    let name = name_of(t)?;
    if let Some(rv) = meta_str(&new, "resourceVersion") {
        if !rv.is_empty() && Some(rv) != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(
                &t.resource.plural,
                &t.resource.group,
                name,
            ));
        }
    }
    place(t, &mut new)?;
    meta::metadata_mut(&mut new).insert("name".into(), json!(name));
    let (o, _) = commit(
        st,
        Write {
            resource: &t.resource,
            api_version: &t.api_version(),
            key: key(t, name),
            old: Some(old),
            new,
            ownership,
            status_subresource: t.subresource.is_some(),
            dry_run: ctx.query.dry_run(),
        },
    );
    Ok((200, with_api_version(&o, &t.resource, &t.version)))
}

pub fn update(store: &Store, t: &Target, ctx: &Ctx<'_>) -> ApiResult<Answer> {
    let name = name_of(t)?;
    let obj = parse_object(ctx.body)?;
    check_type(t, &obj)?;
    check_metadata(&obj)?;
    if let Some(n) = meta_str(&obj, "name") {
        if n != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
    }
    let manager = ctx.manager();
    let mut st = store.lock();
    let old = st.get(&key(t, name)).ok_or_else(|| not_found(t, name))?;
    replace(&mut st, t, ctx, old, obj, Ownership::Update(&manager))
}

pub fn patch(store: &Store, t: &Target, ctx: &Ctx<'_>) -> ApiResult<Answer> {
    let name = name_of(t)?;
    let ct = ctx.content_type.split(';').next().unwrap_or("").trim();
    if ct == "application/apply-patch+yaml" || ct == "application/apply-patch+json" {
        return server_side_apply(store, t, ctx, name);
    }
    let manager = ctx.manager();
    let mut st = store.lock();
    let old = st.get(&key(t, name)).ok_or_else(|| not_found(t, name))?;
    let mut doc = with_api_version(&old, &t.resource, &t.version);
    let bad = |e: String| ApiError::bad_request(e);
    match ct {
        "application/merge-patch+json" => {
            let p: Value = serde_json::from_slice(ctx.body).map_err(|e| bad(e.to_string()))?;
            json_patch::merge(&mut doc, &p);
        }
        "application/json-patch+json" => {
            let p: json_patch::Patch = serde_json::from_slice(ctx.body).map_err(|e| bad(e.to_string()))?;
            json_patch::patch(&mut doc, &p).map_err(|e| ApiError::invalid(&t.resource.kind, &t.resource.group, name, "patch", &e.to_string()))?;
        }
        "application/strategic-merge-patch+json" => {
            if !t.resource.builtin {
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: \
                     application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (strategic merge patch is not supported for {})",
                    t.resource.group_resource()
                )));
            }
            let p: Value = serde_json::from_slice(ctx.body).map_err(|e| bad(e.to_string()))?;
            doc = strategic_merge(&doc, &p).map_err(|e| bad(e.to_string()))?;
        }
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, \
                 application/strategic-merge-patch+json (got {other:?})"
            )))
        }
    }
    if !doc.is_object() {
        return Err(bad("the patched object must be an object".into()));
    }
    check_type(t, &doc)?;
    check_metadata(&doc)?;
    replace(&mut st, t, ctx, old, doc, Ownership::Update(&manager))
}

fn server_side_apply(store: &Store, t: &Target, ctx: &Ctx<'_>, name: &str) -> ApiResult<Answer> {
    let mut config = parse_object(ctx.body)?;
    let Some(manager) = ctx.query.get("fieldManager").filter(|m| !m.is_empty()) else {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            "fieldManager",
            "Required value: is required for apply patch",
        ));
    };
    if config.get("apiVersion").is_none() || config.get("kind").is_none() {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in an apply configuration",
        ));
    }
    check_type(t, &config)?;
    check_metadata(&config)?;
    if meta_str(&config, "name") != Some(name) {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            meta_str(&config, "name").unwrap_or("")
        )));
    }
    place(t, &mut config)?;
    if t.resource.has_status && t.subresource.is_none() {
        if let Value::Object(m) = &mut config {
            m.remove("status");
        }
    }
    let force = ctx.query.flag("force");
    let api_version = t.api_version();
    let time = meta::now();
    let writer = Writer {
        manager,
        api_version: &api_version,
        time: &time,
        builtin: t.resource.builtin,
    };
    let mut st = store.lock();
    let k = key(t, name);
    let old = st.get(&k);
    if old.is_none() {
        validate_name(t, name)?;
        require_namespace(&st, t)?;
    }
    // A resourceVersion in the configuration is a precondition, as on the real server.
    if let Some(rv) = meta_str(&config, "resourceVersion").filter(|rv| !rv.is_empty()) {
        if old.as_deref().and_then(|o| meta_str(o, "resourceVersion")) != Some(rv) {
            return Err(ApiError::conflict(
                &t.resource.plural,
                &t.resource.group,
                name,
            ));
        }
    }
    let managers = old
        .as_deref()
        .map(parse_managed)
        .and_then(Result::ok)
        .unwrap_or_default();
    let live = old
        .as_deref()
        .map(|o| with_api_version(o, &t.resource, &t.version));
    let (new, managers) = apply(live.as_ref(), managers, &config, &writer, force).map_err(|c| {
        let (msg, causes) = conflict_message(&c);
        ApiError::apply_conflict(msg, causes)
    })?;
    let created = old.is_none();
    let (o, _) = commit(
        &mut st,
        Write {
            resource: &t.resource,
            api_version: &api_version,
            key: k,
            old,
            new,
            ownership: Ownership::Computed(managers),
            status_subresource: t.subresource.is_some(),
            dry_run: ctx.query.dry_run(),
        },
    );
    Ok((
        if created { 201 } else { 200 },
        with_api_version(&o, &t.resource, &t.version),
    ))
}

/// Removes one object and what depends on it: a namespace's contents, a CRD's resources.
fn remove(st: &mut State, k: &ObjectKey, t: &Target) -> Option<Value> {
    let rv = st.next_rv();
    let gone = st.remove(k, rv)?;
    let dependents: Vec<ObjectKey> = match (t.resource.group.as_str(), t.resource.plural.as_str()) {
        ("", "namespaces") => st
            .keys()
            .filter(|ok| ok.namespace == k.name)
            .cloned()
            .collect(),
        ("apiextensions.k8s.io", "customresourcedefinitions") => st
            .keys()
            .filter(|ok| ok.group_resource == k.name)
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    for d in dependents {
        let rv = st.next_rv();
        st.remove(&d, rv);
    }
    Some(gone)
}

pub fn delete(store: &Store, t: &Target, ctx: &Ctx<'_>) -> ApiResult<Answer> {
    let name = name_of(t)?;
    let opts: Value = if ctx.body.is_empty() {
        json!({})
    } else {
        parse_object(ctx.body)?
    };
    let mut st = store.lock();
    let k = key(t, name);
    let old = st.get(&k).ok_or_else(|| not_found(t, name))?;
    if t.resource.group.is_empty()
        && t.resource.plural == "namespaces"
        && matches!(name, "default" | "kube-system" | "kube-public")
    {
        return Err(ApiError::forbidden(
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted"),
            "namespaces",
            "",
            name,
        ));
    }
    for (field, pre) in [
        ("uid", "/preconditions/uid"),
        ("resourceVersion", "/preconditions/resourceVersion"),
    ] {
        if let Some(want) = opts.pointer(pre).and_then(Value::as_str) {
            if meta_str(&old, field) != Some(want) {
                return Err(ApiError::conflict(
                    &t.resource.plural,
                    &t.resource.group,
                    name,
                ));
            }
        }
    }
    let dry = ctx.query.dry_run()
        || opts
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    let last = if dry {
        (*old).clone()
    } else {
        remove(&mut st, &k, t).unwrap_or_else(|| (*old).clone())
    };
    if t.resource.plural == "namespaces" && t.resource.group.is_empty() {
        let mut o = with_api_version(&last, &t.resource, &t.version);
        o["status"] = json!({"phase": "Terminating"});
        return Ok((200, o));
    }
    let mut details = json!({"name": name, "kind": t.resource.plural, "uid": meta_str(&old, "uid").unwrap_or("")});
    if !t.resource.group.is_empty() {
        details["group"] = json!(t.resource.group);
    }
    Ok((
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    ))
}

pub fn delete_collection(store: &Store, t: &Target, ctx: &Ctx<'_>) -> ApiResult<Answer> {
    let mut st = store.lock();
    let victims = matching(&st, t, ctx.query)?;
    let dry = ctx.query.dry_run();
    let mut items = Vec::new();
    for (k, o) in victims {
        let last = if dry {
            Some((*o).clone())
        } else {
            remove(&mut st, &k, t)
        };
        if let Some(l) = last {
            items.push(with_api_version(&l, &t.resource, &t.version));
        }
    }
    Ok((200, list_doc(t, st.resource_version(), items)))
}
