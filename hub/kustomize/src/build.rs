//! The build: load a kustomization, accumulate its resources (files, directories, nested
//! kustomizations, components), run generators and transformers in kustomize's order, then
//! fix name references and sort. Reads only through the `FileSystem`.

use crate::cache::{Cache, Recorder};
use crate::kustomization::{self, Kustomization};
use crate::openapi::{Active, OpenApi};
use crate::resource::Resource;
use crate::transform::Layer;
use crate::{fs, scope, sort, EntryKind, Error, FileSystem, Result};
use serde_json::Value;

/// Options of one build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// Flux's `targetNamespace`: as if the root kustomization had `namespace: X`.
    pub namespace: Option<String>,
    /// Flux's behaviour for a path without a kustomization file: include every YAML file
    /// below it that holds Kubernetes objects, and every subdirectory that has its own
    /// kustomization file (without walking into it).
    pub flux_autodetect: bool,
}

/// How deep kustomizations may nest before the build gives up.
pub const MAX_DEPTH: usize = 64;

/// How many objects one kustomization may gather: a safety limit, as bases taken over and
/// over (each level holding the one below twice) grow a small tree without bound.
pub const MAX_OBJECTS: usize = 100_000;

/// Builds the kustomization in `dir` (relative to the file-system root; `""` or `"."` is
/// the root) and returns its objects in output order.
pub fn build(fsys: &dyn FileSystem, dir: &str, opts: &BuildOptions) -> Result<Vec<Resource>> {
    build_inner(fsys, dir, opts, None)
}

/// [`build`] reusing (and filling) `cache`: kustomization directories reached through
/// `resources` whose files are unchanged since an earlier build are not built again. The
/// output is identical to [`build`]'s.
pub fn build_with_cache(
    fsys: &dyn FileSystem,
    dir: &str,
    opts: &BuildOptions,
    cache: &Cache,
) -> Result<Vec<Resource>> {
    // The whole render is cached too, keyed by the root and the options, so a cluster
    // whose tree did not change since its last render costs only the checks.
    let key = format!(
        "{}\0root\0{:?}\0{}",
        normalize_dir(dir)?,
        opts.namespace,
        opts.flux_autodetect
    );
    if let Some(e) = cache.lookup(fsys, &key) {
        return Ok(e.layer.res);
    }
    let recorder = Recorder::new(fsys);
    recorder.open(&key, 0);
    let built = build_inner(&recorder, dir, opts, Some((cache, &recorder)));
    let frame = recorder.close();
    if let Ok(out) = &built {
        let layer = Layer {
            res: out.clone(),
            ..Layer::default()
        };
        cache.store(&key, frame.deps, layer, 0, (Vec::new(), Active::default()));
    }
    built
}

fn build_inner(
    fsys: &dyn FileSystem,
    dir: &str,
    opts: &BuildOptions,
    cache: Option<(&Cache, &Recorder<'_>)>,
) -> Result<Vec<Resource>> {
    let dir = normalize_dir(dir)?;
    match fsys.kind(&dir) {
        Some(EntryKind::Dir) => {}
        _ => {
            return Err(Error::NoDir {
                path: fs::display(&dir).to_string(),
            })
        }
    }
    let mut k = match kustomization::find(fsys, &dir)? {
        Some(file) => Kustomization::load(fsys, &file)?,
        None if opts.flux_autodetect => autodetect(fsys, &dir)?,
        None => {
            return Err(Error::NoKustomization {
                path: fs::display(&dir).to_string(),
            })
        }
    };
    // A Component built on its own is built as a kustomization, as kubectl builds it.
    if let Some(ns) = &opts.namespace {
        k.fields
            .insert("namespace".into(), Value::String(ns.clone()));
    }
    let meta = crate::transform::BuildMetadata::parse(&k)?;
    let track = meta.transformers;
    // Kinds a custom schema declares cluster-scoped are so for this build only.
    let _schema = scope::enter_build();
    // With origin (or transformer) annotations, kubectl annotates objects with their
    // origin as it reads them (in every layer), so patches see that annotation.
    let origins = (meta.origin || meta.transformers).then(|| k.dir.clone());
    let mut b = Builder {
        fsys,
        stack: Vec::new(),
        track,
        cache: cache.map(|c| c.0),
        recorder: cache.map(|c| c.1),
        openapi: Active::default(),
        origins,
    };
    let mut layer = b.kustomization(&k, 0)?;
    crate::transform::finish(&mut layer)?;
    layer.res.retain(|r| !is_local_config(r));
    // kubectl gathers the output by id once more: two objects that transformers gave
    // one id (hash suffixes and all) fail there.
    let mut seen = std::collections::HashSet::new();
    if let Some(twin) = layer.res.iter().find(|r| !seen.insert(r.id_key())) {
        return Err(Error::Conflict {
            path: k.file.clone(),
            message: format!("two objects end up with one id: {}", twin.describe()),
        });
    }
    // kubectl clears its own bookkeeping annotations last, whoever set them.
    for r in layer.res.iter_mut() {
        drop_build_annotations(&mut r.obj);
    }
    if track {
        crate::transform::add_transformations(&mut layer.res);
    }
    crate::transform::drop_unasked(&mut layer.res, meta.origin, track);
    let mut out = layer.res;
    apply_sort(&mut out, &k)?;
    Ok(out)
}

/// Whether `outer` is `inner` or one of its ancestors: building a directory that holds one
/// being built is a cycle, as kubectl sees it.
fn contains_dir(outer: &str, inner: &str) -> bool {
    outer == inner
        || outer.is_empty()
        || outer == "."
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn normalize_dir(dir: &str) -> Result<String> {
    fs::join("", dir).ok_or_else(|| {
        Error::Fs(crate::FsError::Escapes {
            path: dir.to_string(),
        })
    })
}

fn apply_sort(out: &mut [Resource], k: &Kustomization) -> Result<()> {
    let Some(opts) = k.get("sortOptions") else {
        sort::legacy_sort(
            out,
            &owned(sort::DEFAULT_ORDER_FIRST),
            &owned(sort::DEFAULT_ORDER_LAST),
        );
        return Ok(());
    };
    let opts = kustomization::canonical_object(opts, &["order", "legacySortOptions"])
        .map_err(|m| k.field_err("sortOptions", m))?;
    let order = opts.get("order").and_then(Value::as_str).unwrap_or("");
    let legacy = opts.get("legacySortOptions").filter(|v| !v.is_null());
    match order {
        "fifo" => {
            if legacy.is_some() {
                return Err(k.field_err(
                    "sortOptions.legacySortOptions",
                    "is set but the selected sort order is 'fifo', not 'legacy'",
                ));
            }
        }
        "legacy" => {
            let (first, last) = match legacy {
                None => (
                    owned(sort::DEFAULT_ORDER_FIRST),
                    owned(sort::DEFAULT_ORDER_LAST),
                ),
                Some(l) => {
                    let l = kustomization::canonical_object(l, &["orderFirst", "orderLast"])
                        .map_err(|m| k.field_err("sortOptions.legacySortOptions", m))?;
                    let list = |key: &str| -> Result<Vec<String>> {
                        match l.get(key) {
                            None | Some(Value::Null) => Ok(Vec::new()),
                            Some(Value::Array(a)) => a
                                .iter()
                                .map(|v| {
                                    // Go decodes a null element as "".
                                    let v = if v.is_null() {
                                        &Value::String(String::new())
                                    } else {
                                        v
                                    };
                                    v.as_str().map(str::to_string).ok_or_else(|| {
                                        k.field_err(
                                            "sortOptions.legacySortOptions",
                                            "expected strings",
                                        )
                                    })
                                })
                                .collect(),
                            Some(_) => {
                                Err(k.field_err("sortOptions.legacySortOptions", "expected a list"))
                            }
                        }
                    };
                    (list("orderFirst")?, list("orderLast")?)
                }
            };
            sort::legacy_sort(out, &first, &last);
        }
        _ => {
            return Err(k.field_err("sortOptions.order", "must be one of [fifo, legacy]"));
        }
    }
    Ok(())
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Fields this engine refuses, with what to say.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("helmCharts", "Helm chart inflation"),
    ("helmChartInflationGenerator", "Helm chart inflation"),
    ("validators", "validator plugins"),
];

pub(crate) struct Builder<'a> {
    pub(crate) fsys: &'a dyn FileSystem,
    /// Directories being built, outermost first, for cycle detection.
    stack: Vec<String>,
    cache: Option<&'a Cache>,
    /// Whether the root asks for transformer annotations.
    pub(crate) track: bool,
    /// Records what each cached directory's build reads (it is also `fsys`).
    recorder: Option<&'a Recorder<'a>>,
    /// The schema strategic merges follow.
    pub(crate) openapi: Active,
    /// The root directory, when the root asks for origin or transformer annotations.
    pub(crate) origins: Option<String>,
}

impl Builder<'_> {
    /// Builds one kustomization (not its final name-reference fixing and sorting).
    pub(crate) fn kustomization(&mut self, k: &Kustomization, depth: usize) -> Result<Layer> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep {
                path: k.file.clone(),
                limit: MAX_DEPTH,
            });
        }
        if let Some(pos) = self.stack.iter().position(|d| contains_dir(&k.dir, d)) {
            let mut chain: Vec<&str> = self.stack[pos..].iter().map(|s| fs::display(s)).collect();
            chain.push(fs::display(&k.dir));
            return Err(Error::Cycle {
                path: k.file.clone(),
                chain: chain.join(" -> "),
            });
        }
        for (field, what) in UNSUPPORTED {
            // An empty list or map asks for nothing, nor do empty validator paths (null
            // ones included), which kubectl passes over.
            let empty = |v: &Value| match v {
                Value::Array(a) if *field == "validators" => {
                    a.iter().all(|p| p.is_null() || p.as_str() == Some(""))
                }
                Value::Array(a) => a.is_empty(),
                Value::Object(m) => m.is_empty(),
                _ => false,
            };
            if k.get(field).is_some_and(|v| !empty(v)) {
                return Err(Error::Unsupported {
                    path: k.file.clone(),
                    field: field.to_string(),
                    what: what.to_string(),
                });
            }
        }
        if let Some(rec) = self.recorder {
            rec.enter(&k.dir, depth);
        }
        self.choose_schema(k, depth == 0)?;
        self.stack.push(k.dir.clone());
        let result = self.kustomization_inner(k, depth);
        self.stack.pop();
        result
    }

    fn kustomization_inner(&mut self, k: &Kustomization, depth: usize) -> Result<Layer> {
        let mut layer = Layer::default();
        let mut entries = k.str_list("resources")?;
        entries.extend(k.str_list("bases")?);
        // Only these appends change `layer.res` here, so one index serves them all.
        let mut ids = None;
        for entry in &entries {
            let loaded = self.resource_entry(k, "resources", entry, depth)?;
            layer.absorb(loaded, k, &mut ids)?;
        }
        crate::transform::run(self, k, &mut layer, depth)?;
        Ok(layer)
    }

    /// kubectl's schema choice on reaching `k` (the root first): the first kustomization
    /// whose `openapi` field names a schema chooses it for the rest of the build. The
    /// file is read, and must exist, even when a schema was chosen before.
    fn choose_schema(&mut self, k: &Kustomization, root: bool) -> Result<()> {
        let Some(Value::Object(field)) = k.get("openapi") else {
            return Ok(());
        };
        let text = match field.get("path") {
            None => None,
            Some(path) => {
                let path = path.as_str().unwrap_or_default();
                let (bytes, file) = read_local(self.fsys, k, "openapi.path", path)?;
                Some((crate::yaml::decode_file(bytes, &file)?, file))
            }
        };
        if !self.openapi.is_unset() && !root {
            return Ok(());
        }
        let version = field.get("version").map(|v| v.as_str().unwrap_or_default());
        if let Some((text, file)) = text {
            if version.is_some() {
                return Err(k.field_err(
                    "openapi",
                    "a built-in version and a custom schema (path) cannot be used together",
                ));
            }
            match OpenApi::parse(&text) {
                Ok(api) => {
                    if let Some(why) = api.unsupported() {
                        return Err(k.field_err("openapi.path", why));
                    }
                    self.openapi.choose(api)
                }
                Err(message) => self
                    .openapi
                    .choose_broken(file, format!("invalid OpenAPI schema: {message}")),
            }
            scope::use_build_schema(self.openapi.custom_arc());
            return Ok(());
        }
        match version.unwrap_or_default() {
            "" => {}
            crate::openapi::BUNDLED_VERSION => self.openapi.choose_bundled(),
            other => {
                return Err(k.field_err(
                    "openapi.version",
                    format!(
                        "{other:?} is not built in (the one built-in version is {})",
                        crate::openapi::BUNDLED_VERSION
                    ),
                ))
            }
        }
        Ok(())
    }

    /// Loads one `resources` entry: a file, or a directory holding a kustomization.
    pub(crate) fn resource_entry(
        &mut self,
        k: &Kustomization,
        field: &str,
        entry: &str,
        depth: usize,
    ) -> Result<Layer> {
        if is_remote(entry) {
            return Err(Error::Remote {
                path: k.file.clone(),
                field: field.into(),
                url: entry.into(),
            });
        }
        let target = fs::join(&k.dir, entry).ok_or_else(|| Error::Restricted {
            path: k.file.clone(),
            field: field.into(),
            target: entry.into(),
            root: fs::display(&k.dir).into(),
        })?;
        match self.fsys.kind(&target) {
            Some(EntryKind::File) => {
                let (bytes, path) = read_local(self.fsys, k, field, entry)?;
                let text = crate::yaml::decode_file(bytes, &path)?;
                let mut res = parse_resources(&text, &path)?;
                if self.origins.is_some() {
                    let written = crate::kustomization::written_join(&k.written, entry);
                    for r in &mut res {
                        r.written = Some(written.clone());
                    }
                }
                // kubectl reads its bundled schema to learn the scope of a kind it does
                // not know.
                if res
                    .iter()
                    .any(|r| !crate::transform::bundled_knows(&r.gvk()))
                {
                    self.openapi.read_bundled();
                    if let Some((file, message)) = self.openapi.broken() {
                        return Err(Error::Invalid {
                            path: file.to_string(),
                            message: message.to_string(),
                        });
                    }
                }
                Ok(Layer {
                    res,
                    ..Layer::default()
                })
            }
            // kubectl takes a new kustomization root only by a relative path.
            Some(EntryKind::Dir) if entry.starts_with('/') => Err(k.field_err(
                field,
                format!("{entry:?}: a directory must be named by a relative path"),
            )),
            Some(EntryKind::Dir) => {
                let (Some(cache), Some(rec)) = (self.cache, self.recorder) else {
                    return self.directory(k, field, entry, &target, depth);
                };
                // Objects built for a root that notes transformers carry those notes.
                // So do objects built under another schema.
                let mut key = target.clone();
                if self.track {
                    key.push_str("\0transformations");
                }
                if let Some(root) = &self.origins {
                    let written = crate::kustomization::written_join(&k.written, entry);
                    key.push_str(&format!("\0origins={root}\0written={written}"));
                }
                key.push_str(&self.openapi.cache_tag());
                if let Some(e) = cache.lookup(rec.inner(), &key) {
                    let fits = depth + 1 + e.height <= MAX_DEPTH
                        && !e.dirs.iter().any(|d| self.stack.contains(d));
                    if fits {
                        rec.absorb(&e, depth + 1);
                        self.openapi = e.schema_after;
                        scope::use_build_schema(self.openapi.custom_arc());
                        return Ok(e.layer);
                    }
                }
                rec.open(&target, depth + 1);
                let built = self.directory(k, field, entry, &target, depth);
                let frame = rec.close();
                if let Ok(layer) = &built {
                    cache.store(
                        &key,
                        frame.deps,
                        layer.clone(),
                        frame.max_depth.saturating_sub(depth + 1),
                        (frame.dirs, self.openapi.clone()),
                    );
                }
                built
            }
            None => Err(Error::Field {
                path: k.file.clone(),
                field: field.into(),
                message: format!("{entry:?}: no such file or directory"),
            }),
        }
    }

    /// Builds a kustomization directory named by a `resources` entry.
    fn directory(
        &mut self,
        k: &Kustomization,
        field: &str,
        entry: &str,
        target: &str,
        depth: usize,
    ) -> Result<Layer> {
        // kubectl roots a kustomization at its directory's real path: entries of one
        // reached through a symbolic link are relative to where the link leads.
        let real = self.fsys.real_path(target);
        let target = real.as_deref().unwrap_or(target);
        let Some(file) = kustomization::find(self.fsys, target)? else {
            return Err(Error::NoKustomization {
                path: fs::display(target).to_string(),
            });
        };
        let mut sub = Kustomization::load(self.fsys, &file)?;
        sub.written = crate::kustomization::written_join(&k.written, entry);
        if sub.is_component() {
            return Err(k.field_err(
                field,
                format!(
                    "{} holds a Component: list it under components",
                    relative_to(&k.dir, target)
                ),
            ));
        }
        self.kustomization(&sub, depth + 1)
    }

    /// Loads a component directory and applies it to `acc`.
    pub(crate) fn component(
        &mut self,
        k: &Kustomization,
        entry: &str,
        acc: &mut Layer,
        depth: usize,
    ) -> Result<()> {
        if is_remote(entry) {
            return Err(Error::Remote {
                path: k.file.clone(),
                field: "components".into(),
                url: entry.into(),
            });
        }
        let target = fs::join(&k.dir, entry).ok_or_else(|| Error::Restricted {
            path: k.file.clone(),
            field: "components".into(),
            target: entry.into(),
            root: fs::display(&k.dir).into(),
        })?;
        if self.fsys.kind(&target) != Some(EntryKind::Dir) {
            return Err(k.field_err("components", format!("{entry:?}: no such directory")));
        }
        if entry.starts_with('/') {
            return Err(k.field_err(
                "components",
                format!("{entry:?}: a directory must be named by a relative path"),
            ));
        }
        let target = self.fsys.real_path(&target).unwrap_or(target);
        let Some(file) = kustomization::find(self.fsys, &target)? else {
            return Err(Error::NoKustomization {
                path: fs::display(&target).to_string(),
            });
        };
        let mut sub = Kustomization::load(self.fsys, &file)?;
        sub.written = crate::kustomization::written_join(&k.written, entry);
        if !sub.is_component() {
            return Err(k.field_err(
                "components",
                format!("{entry:?} is a Kustomization; components must have kind: Component"),
            ));
        }
        if depth + 1 > MAX_DEPTH {
            return Err(Error::TooDeep {
                path: sub.file.clone(),
                limit: MAX_DEPTH,
            });
        }
        self.choose_schema(&sub, false)?;
        if self.stack.iter().any(|d| contains_dir(&sub.dir, d)) {
            return Err(Error::Cycle {
                path: sub.file.clone(),
                chain: fs::display(&sub.dir).into(),
            });
        }
        self.stack.push(sub.dir.clone());
        let r = (|| {
            let mut entries = sub.str_list("resources")?;
            entries.extend(sub.str_list("bases")?);
            let mut ids = None;
            for e in &entries {
                let loaded = self.resource_entry(&sub, "resources", e, depth + 1)?;
                acc.absorb(loaded, &sub, &mut ids)?;
            }
            crate::transform::run(self, &sub, acc, depth + 1)?;
            acc.config
                .gather_again()
                .map_err(|m| sub.field_err("configurations", m))?;
            // kubectl gathers a component's result anew: ids must still be unique.
            crate::transform::unique_ids(&sub, &acc.res, "components")
        })();
        self.stack.pop();
        r
    }
}

/// Ids of the objects in an accumulation, to their positions.
pub(crate) type IdIndex = std::collections::HashMap<String, usize>;

/// Appends resources, refusing a second object with the same id. `ids` indexes `acc` (it
/// is built here when `None`) so a kustomization's appends stay linear in its objects.
pub(crate) fn append_all(
    acc: &mut Vec<Resource>,
    more: Vec<Resource>,
    k: &Kustomization,
    ids: &mut Option<IdIndex>,
) -> Result<()> {
    if more.is_empty() {
        return Ok(());
    }
    if acc.len() + more.len() > MAX_OBJECTS {
        return Err(Error::Invalid {
            path: k.file.clone(),
            message: format!("gathers more than {MAX_OBJECTS} objects, a safety limit"),
        });
    }
    let ids = ids.get_or_insert_with(|| {
        acc.iter()
            .enumerate()
            .map(|(i, r)| (r.id_key(), i))
            .collect()
    });
    for r in more {
        let key = r.id_key();
        if let Some(existing) = ids.get(&key).map(|i| &acc[*i]) {
            return Err(id_conflict(existing, &r, k));
        }
        ids.insert(key, acc.len());
        acc.push(r);
    }
    Ok(())
}

fn id_conflict(existing: &Resource, r: &Resource, k: &Kustomization) -> Error {
    Error::Conflict {
        path: k.file.clone(),
        message: format!(
            "may not add resource with an already registered id: {} (from {} and {})",
            r.describe(),
            fs::display(&existing.origin),
            fs::display(&r.origin)
        ),
    }
}

/// Reads a file named by a kustomization, confined to the kustomization's directory (the
/// load restrictor): neither `..` nor a symbolic link may lead outside it.
pub(crate) fn read_local(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    field: &str,
    rel: &str,
) -> Result<(Vec<u8>, String)> {
    let restricted = || Error::Restricted {
        path: k.file.clone(),
        field: field.into(),
        target: rel.into(),
        root: fs::display(&k.dir).into(),
    };
    let path = fs::join(&k.dir, rel)
        .filter(|p| fs::is_within(p, &k.dir))
        .ok_or_else(restricted)?;
    if let (Some(real), Some(real_dir)) = (fsys.real_path(&path), fsys.real_path(&k.dir)) {
        if !fs::is_within(&real, &real_dir) {
            return Err(restricted());
        }
    }
    match fsys.read_file(&path) {
        Ok(bytes) => Ok((bytes, path)),
        Err(crate::FsError::NotFound { .. }) => {
            Err(k.field_err(field, format!("{rel:?}: no such file")))
        }
        Err(e) => Err(Error::Fs(e)),
    }
}

/// `read_local` for text files.
pub(crate) fn read_local_text(
    fsys: &dyn FileSystem,
    k: &Kustomization,
    field: &str,
    rel: &str,
) -> Result<(String, String)> {
    let (bytes, path) = read_local(fsys, k, field, rel)?;
    let text = crate::yaml::decode_file(bytes, &path)?;
    Ok((text, path))
}

fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.starts_with("github.com/")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
        || entry.contains("?ref=")
}

/// `target` as seen from `dir` (both relative to the file system's root), for messages.
fn relative_to(dir: &str, target: &str) -> String {
    let d: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let t: Vec<&str> = target.split('/').filter(|p| !p.is_empty()).collect();
    let common = d.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; d.len() - common];
    parts.extend(&t[common..]);
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Parses manifest text; `path` names it in errors.
pub(crate) fn parse_resources(text: &str, path: &str) -> Result<Vec<Resource>> {
    let docs = crate::yaml::parse_manifests(text).map_err(|e| Error::Yaml {
        path: path.into(),
        line: e.line,
        message: e.message,
    })?;
    if let Some(doc) = docs
        .iter()
        .find(|d| !matches!(&d.value, Value::Null | Value::Object(_)) && !is_empty_list(&d.value))
    {
        return Err(Error::Yaml {
            path: path.into(),
            line: doc.line,
            message: "a resource document must be a mapping".into(),
        });
    }
    let values: Vec<&Value> = docs.iter().map(|d| &d.value).collect();
    let order = list_order(text, &values).map_err(|(d, message)| Error::Yaml {
        path: path.into(),
        line: docs[d].line,
        message,
    })?;
    let mut docs = docs;
    let mut out = Vec::with_capacity(order.paths.len());
    for at in order.paths {
        let doc = &mut docs[at[0]];
        let Value::Object(obj) = take_at(&mut doc.value, &at[1..]) else {
            continue;
        };
        // An object read as written keeps how its scalars were written; List items that
        // kubectl reads through JSON do not.
        let as_written = at.len() == 1 + usize::from(order.whole) && !obj.contains_key("items");
        let mut r = checked(obj, path, doc.line)?;
        if as_written {
            // A whole document is read once; the items of an opened List share its notes.
            let notes = if at.len() == 1 {
                std::mem::take(&mut doc.notes)
            } else {
                doc.notes.clone()
            };
            let texts = crate::resource::SourceTexts::from(notes).inside(&at[1..]);
            if !texts.is_blank() {
                r.texts = Some(std::sync::Arc::new(texts));
            }
        }
        out.push(r);
    }
    Ok(out)
}

fn is_empty_list(v: &Value) -> bool {
    v.as_array().is_some_and(|a| a.is_empty())
}

/// Where kubectl finds the objects of a file (`text`, read as `docs`), in the order it
/// reads them: each a path of indexes, the document's and then an item's at each level of
/// Lists. Empty documents and items are passed over; an error names the document.
///
/// kubectl reads Lists through a queue: the objects of a file come first and the items of
/// its Lists after them, at the end of the queue, where items that are Lists again are read
/// in their turn. Two steps open a `List` (or `ResourceList`) on the spot instead: the whole
/// file, when it is one such document with no `---` line after its first line, and each
/// item of a List being opened, whose own items take its place (one level only).
pub(crate) fn list_order(
    text: &str,
    docs: &[&Value],
) -> std::result::Result<ListOrder, (usize, String)> {
    let mut queue = std::collections::VecDeque::new();
    let opened = |v: &Value| -> Option<std::result::Result<Vec<usize>, String>> {
        let obj = v.as_object()?;
        let kind = obj.get("kind").and_then(Value::as_str)?;
        let holds = match obj.get("items") {
            Some(Value::Array(_) | Value::Null) => true,
            None => obj.contains_key("functionConfig"),
            Some(_) => false,
        };
        if !(holds && (kind == "List" || kind == "ResourceList")) {
            return None;
        }
        Some(list_items(obj).unwrap_or(Ok(Vec::new())))
    };
    let whole = match docs {
        [only] => opened(only).filter(|_| !has_separator_line(text)),
        _ => None,
    };
    let opened_whole = whole.is_some();
    match whole {
        Some(items) => queue.extend(items.map_err(|e| (0, e))?.into_iter().map(|i| vec![0, i])),
        None => queue.extend((0..docs.len()).map(|d| vec![d])),
    }
    let mut out = Vec::new();
    while let Some(at) = queue.pop_front() {
        let v = value_at(docs[at[0]], &at[1..]);
        let Some((obj, items)) = v.as_object().and_then(|m| Some((m, list_items(m)?))) else {
            out.push(at);
            continue;
        };
        if at.len() > MAX_DEPTH {
            return Err((at[0], "a List nested too deep".into()));
        }
        let items = items.map_err(|e| (at[0], e))?;
        let all = obj.get("items").and_then(Value::as_array);
        for i in items {
            let mut item = at.clone();
            item.push(i);
            match all.and_then(|a| a.get(i)).and_then(opened) {
                Some(inner) => {
                    for j in inner.map_err(|e| (at[0], e))? {
                        let mut inner = item.clone();
                        inner.push(j);
                        queue.push_back(inner);
                    }
                }
                None => queue.push_back(item),
            }
        }
    }
    // Empty objects are no objects; what is not an object is its reader's to judge.
    out.retain(|at| match value_at(docs[at[0]], &at[1..]) {
        Value::Object(m) => !m.is_empty(),
        v => !v.is_null(),
    });
    Ok(ListOrder {
        paths: out,
        whole: opened_whole,
    })
}

/// Where kubectl finds a file's objects (see `list_order`).
pub(crate) struct ListOrder {
    /// Each object's document index, then its `items` index at each level of Lists.
    pub(crate) paths: Vec<Vec<usize>>,
    /// Whether the file was one List opened on the spot, whose items kubectl reads as
    /// written (the items of other Lists it reads back from JSON).
    pub(crate) whole: bool,
}

/// Whether a line after the first starts with `---` (and a line follows it): where kubectl
/// splits a file into documents before it reads them.
fn has_separator_line(text: &str) -> bool {
    // Line ends of CR LF find the same places.
    text.match_indices("\n---")
        .any(|(at, _)| text[at + 4..].contains('\n'))
}

/// The item at `path` (an index into `items` at each level) inside `v`.
fn value_at<'v>(v: &'v Value, path: &[usize]) -> &'v Value {
    path.iter().fold(v, |v, &i| &v["items"][i])
}

/// Takes the item at `path` out of `v`, leaving null.
pub(crate) fn take_at(v: &mut Value, path: &[usize]) -> Value {
    let mut at = v;
    for &i in path {
        match at.get_mut("items").and_then(|items| items.get_mut(i)) {
            Some(next) => at = next,
            None => return Value::Null,
        }
    }
    std::mem::take(at)
}

/// The items of an object that is a list as kubectl reads files (a kind ending in `List`,
/// with `items`): `None` for any other object, else the indexes of the items that are
/// objects. kubectl passes over null and empty-list items, reads a `List`'s `items` that
/// are a scalar or an empty map as no items, and refuses anything else.
pub(crate) fn list_items(
    obj: &serde_json::Map<String, Value>,
) -> Option<std::result::Result<Vec<usize>, String>> {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if !kind.ends_with("List") {
        return None;
    }
    let items = obj.get("items")?;
    let found = match items {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter(|(_, item)| !item.is_null() && item.as_array().is_none_or(|a| !a.is_empty()))
            .map(|(i, item)| match item {
                Value::Object(_) => Ok(i),
                _ => Err(format!("items of {kind} must be objects")),
            })
            .collect(),
        Value::Object(m) if kind == "List" && !m.is_empty() => {
            Err("items of List must be a list; kubectl finds no object metadata in a map".into())
        }
        _ if kind == "List" => Ok(Vec::new()),
        other => Err(format!(
            "items of {kind} must be a list, found {}",
            crate::transform::fieldspec::kind_name(other)
        )),
    };
    Some(found)
}

/// An object annotated so (with anything but "false") is configuration for the tools, not
/// for the cluster: kubectl builds with it (a replacement may read it, a patch may mark an
/// object so) and leaves it out of the output.
const LOCAL_CONFIG: &str = "config.kubernetes.io/local-config";

fn is_local_config(r: &Resource) -> bool {
    r.meta_map("annotations")
        .and_then(|a| a.get(LOCAL_CONFIG))
        .is_some_and(|v| v.as_str() != Some("false"))
}

/// Bookkeeping annotations of kustomize and kyaml that kubectl drops from what it reads.
const TOOL_ANNOTATIONS: &[&str] = &[
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.kubernetes.io/origin",
    "config.k8s.io/id",
    "alpha.config.kubernetes.io/transformations",
    "internal.config.kubernetes.io/path",
    "internal.config.kubernetes.io/index",
    "internal.config.kubernetes.io/id",
    "internal.config.kubernetes.io/seqindent",
    "internal.config.kubernetes.io/annotations-migration-resource-id",
    "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/previousKinds",
    "internal.config.kubernetes.io/previousNamespaces",
    "internal.config.kubernetes.io/prefixes",
    "internal.config.kubernetes.io/suffixes",
    "internal.config.kubernetes.io/generatorBehavior",
];

/// kustomize's notes of an object's earlier ids.
pub(crate) const PREVIOUS_IDS: &[&str] = &[
    "internal.config.kubernetes.io/previousNames",
    "internal.config.kubernetes.io/previousKinds",
    "internal.config.kubernetes.io/previousNamespaces",
];

fn drop_tool_annotations(obj: &mut serde_json::Map<String, Value>) {
    drop_annotations(obj, |k| TOOL_ANNOTATIONS.contains(&k));
}

/// The tool annotations but for the build notes a kustomization may ask for.
fn drop_build_annotations(obj: &mut serde_json::Map<String, Value>) {
    drop_annotations(obj, |k| {
        TOOL_ANNOTATIONS.contains(&k)
            && k != "config.kubernetes.io/origin"
            && k != "alpha.config.kubernetes.io/transformations"
    });
}

/// Removes the annotations `drop` names, and the map if that empties it.
fn drop_annotations(obj: &mut serde_json::Map<String, Value>, drop: impl Fn(&str) -> bool) {
    let Some(Value::Object(meta)) = obj.get_mut("metadata") else {
        return;
    };
    let Some(Value::Object(notes)) = meta.get_mut("annotations") else {
        return;
    };
    if !notes.keys().any(|k| drop(k)) {
        return;
    }
    notes.retain(|k, _| !drop(k));
    if notes.is_empty() {
        meta.shift_remove("annotations");
    }
}

fn checked(mut obj: serde_json::Map<String, Value>, path: &str, line: usize) -> Result<Resource> {
    let err = |message: &str| Error::Yaml {
        path: path.into(),
        line,
        message: message.into(),
    };
    // kubectl takes these notes of its own, written by hand, for the object's earlier ids
    // (and fails where their lists differ in length).
    if let Some(note) = (obj.get("metadata"))
        .and_then(|m| m.get("annotations"))
        .and_then(Value::as_object)
        .and_then(|a| a.keys().find(|k| PREVIOUS_IDS.contains(&k.as_str())))
    {
        return Err(err(&format!(
            "metadata.annotations: kustomize's own note {note} written by hand is not supported"
        )));
    }
    drop_tool_annotations(&mut obj);
    match obj.get("kind") {
        Some(Value::String(k)) if !k.is_empty() => {}
        Some(Value::String(_)) | None => return Err(err("missing kind")),
        // kubectl takes such a kind or apiVersion by its text, which no rule gives.
        Some(_) => return Err(err("kind: a value other than a string is not supported")),
    }
    if let Some(v) = obj.get("apiVersion") {
        if !v.is_string() {
            return Err(err(
                "apiVersion: a value other than a string is not supported",
            ));
        }
    }
    // kubectl reads a `...List` kind without items as an object that needs no name.
    let nameless_list = obj
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"));
    match obj.get("metadata") {
        None | Some(Value::Null) if nameless_list => {
            obj.insert("metadata".into(), Value::Object(serde_json::Map::new()));
        }
        Some(Value::Object(m)) => {
            for key in ["name", "namespace"] {
                if let Some(v) = m.get(key) {
                    if !v.is_string() && !v.is_null() {
                        return Err(err(&format!(
                            "metadata.{key}: a number or boolean here is not supported; quote it"
                        )));
                    }
                }
            }
            // kustomize identifies every object by name: `generateName` alone is refused.
            let has_name = m
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
            if !has_name && !nameless_list {
                return Err(err("missing metadata.name"));
            }
        }
        Some(_) => return Err(err("metadata: expected a mapping")),
        None => return Err(err("missing metadata.name")),
    }
    let mut obj = Value::Object(obj);
    crate::roundtrip::json_round_trip(&mut obj).map_err(|m| err(&m))?;
    let Value::Object(mut obj) = obj else {
        unreachable!("an object stays an object")
    };
    let wants_hash = take_hash_note(&mut obj).map_err(|m| err(&m))?;
    let mut r = Resource::new(obj, path);
    r.needs_hash = wants_hash;
    Ok(r)
}

/// The note kustomize puts on what its generators make, written in a manifest: kubectl
/// takes it off, and with `enabled` names the object by its content hash as it names a
/// generated one. A generated object's hash covers a ConfigMap's or Secret's data; what
/// kubectl hashes for other kinds holds its own notes, so those are refused.
fn take_hash_note(obj: &mut serde_json::Map<String, Value>) -> std::result::Result<bool, String> {
    const NEEDS_HASH: &str = "internal.config.kubernetes.io/needsHashSuffix";
    let note = obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(NEEDS_HASH))
        .cloned();
    let Some(note) = note else {
        return Ok(false);
    };
    drop_annotations(obj, |k| k == NEEDS_HASH);
    let enabled = note.as_str() == Some("enabled");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    if enabled && kind != "ConfigMap" && kind != "Secret" {
        return Err(format!(
            "metadata.annotations: {NEEDS_HASH} on a {kind} is not supported (only on a ConfigMap or Secret)"
        ));
    }
    Ok(enabled)
}

/// The kustomization Flux's kustomize-controller generates for a path without one.
fn autodetect(fsys: &dyn FileSystem, dir: &str) -> Result<Kustomization> {
    let mut resources = Vec::new();
    walk(fsys, dir, dir, &mut resources)?;
    let mut fields = serde_json::Map::new();
    fields.insert(
        "resources".into(),
        Value::Array(resources.into_iter().map(Value::String).collect()),
    );
    let file = fs::join(dir, "kustomization.yaml").unwrap_or_else(|| "kustomization.yaml".into());
    Ok(Kustomization {
        file,
        dir: dir.to_string(),
        written: String::new(),
        fields,
    })
}

fn walk(fsys: &dyn FileSystem, root: &str, dir: &str, out: &mut Vec<String>) -> Result<()> {
    for entry in fsys.read_dir(dir).map_err(Error::Fs)? {
        let path = fs::join(dir, &entry.name).unwrap_or_default();
        let rel = if root.is_empty() {
            path.clone()
        } else {
            path[root.len() + 1..].to_string()
        };
        match entry.kind {
            EntryKind::Dir => {
                if kustomization::find(fsys, &path)?.is_some() {
                    out.push(rel);
                } else {
                    walk(fsys, root, &path, out)?;
                }
            }
            EntryKind::File => {
                if !(entry.name.ends_with(".yaml") || entry.name.ends_with(".yml")) {
                    continue;
                }
                let bytes = fsys.read_file(&path).map_err(Error::Fs)?;
                let text = crate::yaml::decode_file(bytes, &path)?;
                let docs = crate::yaml::parse_documents(&text).map_err(|e| Error::Yaml {
                    path: path.clone(),
                    line: e.line,
                    message: e.message,
                })?;
                let holds_objects = docs.iter().any(|d| {
                    d.value.get("apiVersion").is_some_and(Value::is_string)
                        && d.value.get("kind").is_some_and(Value::is_string)
                });
                if holds_objects {
                    out.push(rel);
                }
            }
        }
    }
    Ok(())
}

/// Sets the namespace of every namespaced object (the `namespace` field).
pub(crate) fn apply_namespace(resources: &mut [Resource], ns: &str) {
    for r in resources.iter_mut() {
        if !scope::kustomize_cluster_scoped(&r.gvk()) {
            r.set_namespace(ns);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{build, BuildOptions, DiskFs, Error};

    /// A kustomization gathering more objects than the limit fails, naming its file,
    /// rather than growing without bound.
    #[test]
    fn gathering_past_the_object_limit_fails() {
        let k = crate::kustomization::Kustomization::parse(
            "resources: [cm.yaml]\n",
            "app/kustomization.yaml",
        )
        .unwrap();
        let object = |i: usize| {
            let v = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}});
            crate::resource::Resource::new(v.as_object().unwrap().clone(), "app/cm.yaml")
        };
        let mut acc = Vec::new();
        let all: Vec<_> = (0..super::MAX_OBJECTS).map(object).collect();
        super::append_all(&mut acc, all, &k, &mut None).unwrap();
        let err = super::append_all(&mut acc, vec![object(super::MAX_OBJECTS)], &k, &mut None)
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("app/kustomization.yaml") && text.contains("safety limit"),
            "{text}"
        );
    }

    /// kubectl takes a base or a component only by a relative path; an absolute path to
    /// a directory is refused, even one inside the tree.
    #[test]
    fn absolute_directory_entries_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("base")).unwrap();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(
            root.join("base/kustomization.yaml"),
            "resources:\n- cm.yaml\n",
        )
        .unwrap();
        std::fs::write(
            root.join("base/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        )
        .unwrap();
        for (field, entry) in [("resources", "/base"), ("components", "/base")] {
            std::fs::write(
                root.join("app/kustomization.yaml"),
                format!("{field}:\n- {entry}\n"),
            )
            .unwrap();
            let err = build(&DiskFs::new(root), "app", &BuildOptions::default()).unwrap_err();
            assert!(
                err.to_string().contains("must be named by a relative path"),
                "{field}: {err}"
            );
        }
        std::fs::write(
            root.join("app/kustomization.yaml"),
            "resources:\n- ../base\n",
        )
        .unwrap();
        assert!(build(&DiskFs::new(root), "app", &BuildOptions::default()).is_ok());
    }

    /// The load restrictor follows symbolic links: a link inside a kustomization's folder
    /// that points elsewhere in the tree is refused, even when the file-system root is `/`
    /// (as the CLI builds) so `..` to a base works.
    #[cfg(unix)]
    #[test]
    fn symlink_out_of_kustomization_folder_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(
            root.join("outside.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(root.join("outside.yaml"), root.join("app/link.yaml")).unwrap();
        std::fs::write(
            root.join("app/kustomization.yaml"),
            "resources:\n- link.yaml\n",
        )
        .unwrap();
        let err = build(&DiskFs::new(root), "app", &BuildOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Restricted { .. }), "{err}");

        let abs = std::fs::canonicalize(root.join("app")).unwrap();
        let rel = abs.to_string_lossy().trim_start_matches('/').to_string();
        let err = build(&DiskFs::new("/"), &rel, &BuildOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Restricted { .. }), "{err}");
        // Shown with absolute paths, as kubectl shows them.
        let shown = err.with_root("/").to_string();
        assert!(
            shown.starts_with(&format!("/{rel}/kustomization.yaml: resources: ")),
            "{shown}"
        );

        std::fs::write(
            root.join("app/kustomization.yaml"),
            "configMapGenerator:\n- name: x\n  files:\n  - link.yaml\n",
        )
        .unwrap();
        let err = build(&DiskFs::new(root), "app", &BuildOptions::default()).unwrap_err();
        assert!(matches!(err, Error::Restricted { .. }), "{err}");
    }

    /// Writes `text` to `path` under `root`, making its folders.
    #[cfg(unix)]
    fn write(root: &std::path::Path, path: &str, text: &str) {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }

    /// A base reached through a linked folder is rooted where the link leads, as kubectl
    /// roots it: its `../` entries start from there, not from beside the link.
    #[cfg(unix)]
    #[test]
    fn linked_base_entries_start_where_the_link_leads() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let cm =
            |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
        write(
            root,
            "shared/base/kustomization.yaml",
            "resources:\n- ../common\n",
        );
        write(
            root,
            "shared/common/kustomization.yaml",
            "resources:\n- cm.yaml\n",
        );
        write(root, "shared/common/cm.yaml", &cm("shared-common"));
        write(
            root,
            "app/common/kustomization.yaml",
            "resources:\n- cm.yaml\n",
        );
        write(root, "app/common/cm.yaml", &cm("beside-the-link"));
        write(root, "app/kustomization.yaml", "resources:\n- base\n");
        std::os::unix::fs::symlink("../shared/base", root.join("app/base")).unwrap();
        let built = build(&DiskFs::new(root), "app", &BuildOptions::default()).unwrap();
        let names: Vec<&str> = built.iter().map(|r| r.name()).collect();
        assert_eq!(names, ["shared-common"]);
    }

    /// A kustomization file that is a link to one outside its folder is no kustomization
    /// there, as in kubectl; a link to a file beside it is one.
    #[cfg(unix)]
    #[test]
    fn kustomization_file_linked_from_outside_is_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "shared/kustomization.yaml", "resources:\n- cm.yaml\n");
        write(
            root,
            "app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
        );
        let link = root.join("app/kustomization.yaml");
        std::os::unix::fs::symlink("../shared/kustomization.yaml", &link).unwrap();
        let err = build(&DiskFs::new(root), "app", &BuildOptions::default()).unwrap_err();
        assert!(err.to_string().contains("no kustomization.yaml"), "{err}");

        std::fs::remove_file(&link).unwrap();
        write(root, "app/k.yaml", "resources:\n- cm.yaml\n");
        std::os::unix::fs::symlink("k.yaml", &link).unwrap();
        let built = build(&DiskFs::new(root), "app", &BuildOptions::default()).unwrap();
        assert_eq!(built.len(), 1);
    }
}
