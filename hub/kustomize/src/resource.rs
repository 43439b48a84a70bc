//! One rendered Kubernetes object and its identity (group, version, kind, namespace, name).
//! A `Resource` is plain data; transformers edit its JSON object in place.

use serde_json::{Map, Value};

/// A Kubernetes object produced by a build.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub(crate) obj: Map<String, Value>,
    /// File the object came from (for messages); empty for generated objects.
    pub(crate) origin: String,
    /// Name and namespace before any prefix/suffix or namespace change, for name references.
    pub(crate) orig_name: String,
    pub(crate) orig_namespace: String,
    /// Names this object had in each build layer, innermost first.
    pub(crate) prev_names: Vec<(String, String)>,
    /// Kinds this object had before a patch changed its kind, each with the index in
    /// `prev_names` of the id it had then (name references to the old kind follow it).
    pub(crate) prev_kinds: Vec<(usize, String)>,
    /// Generated objects whose name got a content hash.
    pub(crate) needs_hash: bool,
    /// Generator behavior (`create`, `merge`, `replace`), when generated.
    pub(crate) behavior: Option<String>,
    /// The built-in generator that made this object, if one did (`origin` is then the
    /// kustomization file that configured it).
    pub(crate) generated_by: Option<&'static str>,
    /// The plugin configuration (a `generators:` entry) that made this object.
    pub(crate) generator_config: Option<ConfigId>,
    /// The patch transformer that took this object's origin annotation away, which kubectl
    /// then gives it as its origin.
    pub(crate) origin_by: Option<ConfiguredBy>,
    /// `origin` as kubectl writes it in build notes (see `Kustomization::written`), set
    /// where the root asks for notes.
    pub(crate) written: Option<String>,
    /// A patch of the transformer running now took the origin away: kubectl records that
    /// patch as the object's origin, not as a transformation, and the notes of the
    /// transformer's earlier patches went with the annotations. How many of its notes go.
    pub(crate) origin_taken: usize,
    /// Built-in transformers that ran over this object, for
    /// `buildMetadata: [transformerAnnotations]`.
    pub(crate) transformations: Vec<ConfiguredBy>,
    /// Names of the `vars` whose object reference this object is.
    pub(crate) ref_vars: Vec<String>,
    /// Name prefixes and suffixes applied to this object, innermost first: where one
    /// old name fits several renamed objects, a reference goes to the one renamed
    /// alongside the referrer.
    pub(crate) prefixes: Vec<String>,
    pub(crate) suffixes: Vec<String>,
    /// The source text of non-string scalars as written (`0644`), by JSON pointer: what a
    /// replacement copies into a string field, as kubectl copies a scalar's text.
    pub(crate) texts: Texts,
    /// Places (paths of keys) that hold one shared value, as kubectl shares one node
    /// among the places a label or annotation transformer added a key to: a later write
    /// to one of them shows in all.
    pub(crate) aliases: Vec<Alias>,
    /// Numbers and booleans a replacement created: kubectl holds them untyped, so a `vars`
    /// substitution that visits one reads it (and writes it back) as a string.
    pub(crate) untyped: Vec<Untyped>,
}

/// A scalar a replacement created, with the text it was copied as.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Untyped {
    pub(crate) at: Vec<String>,
    pub(crate) value: Value,
    pub(crate) text: String,
}

/// A value shared by several places of one object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Alias {
    pub(crate) paths: Vec<Vec<String>>,
    /// The value all of them held when last made the same.
    pub(crate) value: Value,
}

/// The name and namespace of a plugin configuration, as build notes name it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConfigId {
    pub(crate) name: String,
    pub(crate) namespace: String,
}

/// A built-in transformer or generator as build notes name it: the kustomization or plugin
/// file that configured it (as kubectl writes it, see `Kustomization::written`), its kind
/// and, for a plugin configuration, its id.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConfiguredBy {
    pub(crate) file: String,
    pub(crate) kind: &'static str,
    pub(crate) config: Option<ConfigId>,
}

impl Resource {
    /// This object's id as a plugin configuration.
    pub(crate) fn config_id(&self) -> ConfigId {
        ConfigId {
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }
}

/// How an object's scalars were written, by JSON pointer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SourceTexts {
    /// The text of non-string plain scalars not written as they are written back
    /// (`0644`, `True`), and of empty values.
    pub(crate) plain: std::collections::HashMap<String, String>,
    /// Strings written quoted or as block scalars: kubectl keeps a node's style, so a plain
    /// number or boolean a patch puts there becomes a string of its text.
    pub(crate) quoted: std::collections::HashSet<String>,
    /// Strings that a patch wrote as a plain number or boolean onto a quoted string: kubectl
    /// keeps that node's type, which a var reads.
    pub(crate) retyped: std::collections::HashMap<String, Value>,
    /// Strings that read as no string when plain (`"5"`), which a patch put onto a plain
    /// scalar: kubectl keeps that node plain, so a number a transformer writes there later
    /// is a number.
    pub(crate) unquoted: std::collections::HashSet<String>,
    /// Strings written with an explicit `!!str` tag that read as no string without it
    /// (`!!str 3`): kubectl keeps the tag on the node, and a number a transformer writes
    /// there is a number.
    pub(crate) tagged: std::collections::HashSet<String>,
    /// The maps where a key repeats, with the key (see `SourceNotes`).
    pub(crate) repeated: Vec<(String, String)>,
    /// Maps and lists written in flow style, which kubectl writes back so.
    pub(crate) flow: std::collections::HashSet<String>,
    /// Folded scalars as read, before kubectl's writing back changed them: a transformer
    /// that sets such a string starts from this, and a replacement's text is folded
    /// again there.
    pub(crate) folded: std::collections::HashMap<String, String>,
    /// Maps and lists with a comment holding a JSON object, which kubectl reads as the
    /// field's schema when it merges a patch (see `SourceNotes::schema_comments`).
    pub(crate) schema_comments: std::collections::BTreeSet<String>,
}

impl From<crate::yaml::SourceNotes> for SourceTexts {
    fn from(notes: crate::yaml::SourceNotes) -> SourceTexts {
        SourceTexts {
            plain: notes.texts.into_iter().collect(),
            quoted: notes.quoted.into_iter().collect(),
            retyped: std::collections::HashMap::new(),
            unquoted: std::collections::HashSet::new(),
            tagged: notes.tagged.into_iter().collect(),
            repeated: notes.repeated,
            flow: notes.flow.into_iter().collect(),
            folded: notes.folded.into_iter().collect(),
            schema_comments: notes.schema_comments.into_iter().collect(),
        }
    }
}

impl SourceTexts {
    pub(crate) fn is_empty(&self) -> bool {
        self.plain.is_empty()
            && self.quoted.is_empty()
            && self.retyped.is_empty()
            && self.unquoted.is_empty()
            && self.tagged.is_empty()
    }

    /// The texts of the List item at `path` (its `items` index at each level), as the
    /// item's own.
    pub(crate) fn inside(&self, path: &[usize]) -> SourceTexts {
        if path.is_empty() {
            return self.clone();
        }
        let prefix: String = path
            .iter()
            .map(|i| format!("/items/{i}"))
            .collect::<String>()
            + "/";
        let inside = |p: &String| Some(format!("/{}", p.strip_prefix(&prefix)?));
        let keyed = |m: &std::collections::HashMap<String, String>| {
            m.iter()
                .filter_map(|(p, t)| Some((inside(p)?, t.clone())))
                .collect()
        };
        SourceTexts {
            plain: keyed(&self.plain),
            quoted: self.quoted.iter().filter_map(inside).collect(),
            retyped: std::collections::HashMap::new(),
            unquoted: std::collections::HashSet::new(),
            tagged: self.tagged.iter().filter_map(inside).collect(),
            repeated: (self.repeated.iter())
                .filter_map(|(p, k)| Some((inside(p)?, k.clone())))
                .collect(),
            flow: self.flow.iter().filter_map(inside).collect(),
            folded: keyed(&self.folded),
            schema_comments: self.schema_comments.iter().filter_map(inside).collect(),
        }
    }

    /// Whether nothing at all is recorded, flow collections and folded scalars included
    /// (which alone ask for no carrying through merges: their places rarely move).
    pub(crate) fn is_blank(&self) -> bool {
        self.is_empty()
            && self.flow.is_empty()
            && self.folded.is_empty()
            && self.schema_comments.is_empty()
            && self.repeated.is_empty()
    }
}

/// Source texts of scalars, when any were recorded.
pub(crate) type Texts = Option<std::sync::Arc<SourceTexts>>;

/// The value at a path of map keys and list indexes.
fn value_at<'v>(obj: &'v Map<String, Value>, path: &[String]) -> Option<&'v Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = obj.get(first)?;
    for step in rest {
        cur = match cur {
            Value::Object(m) => m.get(step)?,
            Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn value_at_mut<'v>(obj: &'v mut Map<String, Value>, path: &[String]) -> Option<&'v mut Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = obj.get_mut(first)?;
    for step in rest {
        cur = match cur {
            Value::Object(m) => m.get_mut(step)?,
            Value::Array(items) => items.get_mut(step.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// The source text recorded at `pointer`, when the value there still reads as it.
pub(crate) fn text_at<'t>(texts: &'t Texts, pointer: &str, current: &Value) -> Option<&'t str> {
    let text = texts.as_ref()?.plain.get(pointer)?;
    (crate::yaml::parse::resolve_plain(text) == *current).then_some(text.as_str())
}

/// The folded scalar at `pointer` as read, where `current` is still what kubectl's
/// writing back made of it.
pub(crate) fn folded_at<'t>(texts: &'t Texts, pointer: &str, current: &Value) -> Option<&'t str> {
    let read = texts
        .as_ref()
        .filter(|t| !t.folded.is_empty())?
        .folded
        .get(pointer)?;
    (crate::yaml::parse::folded_round_trip(read) == current.as_str()?).then_some(read.as_str())
}

/// Group, version and kind of an object.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = split_api_version(api_version);
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }
}

/// A namespace with none read as `default`, as kustomize compares namespaces.
pub(crate) fn or_default(ns: &str) -> &str {
    if ns.is_empty() {
        "default"
    } else {
        ns
    }
}

/// `group/version` (or just `version` for the core group) as (group, version), split at
/// the first slash as kustomize splits it (`a/v1/x` is group `a`, version `v1/x`).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The apiVersion of a group and version (the core group has none).
pub(crate) fn join_api_version(group: &str, version: &str) -> String {
    match group {
        "" => version.to_string(),
        g => format!("{g}/{version}"),
    }
}

impl Resource {
    pub(crate) fn new(obj: Map<String, Value>, origin: &str) -> Resource {
        let mut r = Resource {
            obj,
            origin: origin.to_string(),
            orig_name: String::new(),
            orig_namespace: String::new(),
            prev_names: Vec::new(),
            prev_kinds: Vec::new(),
            needs_hash: false,
            behavior: None,
            generated_by: None,
            generator_config: None,
            origin_by: None,
            written: None,
            origin_taken: 0,
            transformations: Vec::new(),
            ref_vars: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            texts: None,
            aliases: Vec::new(),
            untyped: Vec::new(),
        };
        r.orig_name = r.name().to_string();
        r.orig_namespace = r.namespace().to_string();
        r
    }

    /// The object as JSON, keys in input order.
    pub fn to_json(&self) -> Value {
        Value::Object(self.obj.clone())
    }

    /// The object as JSON, borrowed.
    pub fn as_json(&self) -> &Map<String, Value> {
        &self.obj
    }

    pub fn api_version(&self) -> &str {
        self.obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.obj.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.meta_str("name")
    }

    /// `metadata.namespace`, or `""`.
    pub fn namespace(&self) -> &str {
        self.meta_str("namespace")
    }

    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }

    /// A map under `metadata` (`labels`, `annotations`), if there is one.
    pub(crate) fn meta_map(&self, key: &str) -> Option<&Map<String, Value>> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_object)
    }

    fn meta_str(&self, key: &str) -> &str {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub(crate) fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let meta = self
            .obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        match meta {
            Value::Object(m) => m,
            _ => unreachable!("metadata was just made an object"),
        }
    }

    pub(crate) fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_string()));
    }

    pub(crate) fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_string()));
    }

    /// `apps/v1 Deployment ns/name` for messages.
    pub fn describe(&self) -> String {
        let ns = self.namespace();
        let who = if ns.is_empty() {
            self.name().to_string()
        } else {
            format!("{ns}/{}", self.name())
        };
        format!("{} {} {}", self.api_version(), self.kind(), who)
    }

    /// Identity (group, version, kind, namespace, name): two objects with the same key may
    /// not both be in one build; the same object under two API versions may.
    pub(crate) fn id_key(&self) -> String {
        let g = self.gvk();
        format!(
            "{}|{}|{}|{}|{}",
            g.group,
            g.version,
            g.kind,
            self.effective_namespace(),
            self.name()
        )
    }

    /// The folded scalar at `path` as read, where it still holds what kubectl's writing
    /// back made of that: kubectl sets or copies such a string without the fold.
    pub(crate) fn folded_as_read(&self, path: &[String], current: &Value) -> Option<&str> {
        folded_at(
            &self.texts,
            &crate::yaml::parse::json_pointer(path),
            current,
        )
    }

    /// Sets each folded scalar in the map at `key` back to its value as read (see
    /// [`Resource::folded_as_read`]), as kubectl does when it writes that map anew.
    pub(crate) fn unfold_children(&mut self, key: &str) {
        if self.texts.as_ref().is_none_or(|t| t.folded.is_empty()) {
            return;
        }
        let Some(Value::Object(m)) = self.obj.get(key) else {
            return;
        };
        let reads: Vec<(String, String)> = m
            .iter()
            .filter_map(|(k, v)| {
                let path = [key.to_string(), k.clone()];
                self.folded_as_read(&path, v)
                    .map(|r| (k.clone(), r.to_string()))
            })
            .collect();
        if let Some(Value::Object(m)) = self.obj.get_mut(key) {
            for (k, read) in reads {
                m.insert(k, Value::String(read));
            }
        }
    }

    /// Whether the place at `path` lies in a collection written in flow style, which
    /// kubectl writes its children back in too.
    pub(crate) fn in_flow(&self, path: &[String]) -> bool {
        let Some(texts) = self.texts.as_ref().filter(|t| !t.flow.is_empty()) else {
            return false;
        };
        (0..path.len()).any(|n| {
            texts
                .flow
                .contains(&crate::yaml::parse::json_pointer(&path[..n]))
        })
    }

    /// The source text of the scalar at `path` (keys and list indexes), when it still
    /// holds the value that text reads as.
    pub(crate) fn source_text(&self, path: &[String], current: &Value) -> Option<&str> {
        text_at(
            &self.texts,
            &crate::yaml::parse::json_pointer(path),
            current,
        )
    }

    /// Spreads a write to one place of a shared value to the others, as kubectl's shared
    /// nodes show it, and forgets places that are gone.
    pub(crate) fn sync_aliases(&mut self) {
        if self.aliases.is_empty() {
            return;
        }
        let mut aliases = std::mem::take(&mut self.aliases);
        for alias in &mut aliases {
            alias.paths.retain(|p| value_at(&self.obj, p).is_some());
            // Of several writes, the one kubectl makes last wins: it walks keys in order.
            let changed = alias
                .paths
                .iter()
                .filter_map(|p| value_at(&self.obj, p).map(|v| (p, v)))
                .filter(|(_, v)| **v != alias.value)
                .max_by(|a, b| a.0.cmp(b.0))
                .map(|(_, v)| v.clone());
            if let Some(new) = changed {
                for p in &alias.paths {
                    if let Some(slot) = value_at_mut(&mut self.obj, p) {
                        *slot = new.clone();
                    }
                }
                alias.value = new;
            }
        }
        aliases.retain(|a| a.paths.len() > 1);
        self.aliases = aliases;
    }

    /// Marks the strings kubectl would write quoted (`"3"`, `"true"`) as quoted, and only
    /// those, as a generated object comes out of kubectl's round trip through YAML text: a
    /// number patched there later becomes a string.
    pub(crate) fn quote_as_written_out(&mut self) {
        fn walk(v: &Value, at: &mut Vec<String>, out: &mut Vec<String>) {
            match v {
                Value::String(s) if !crate::yaml::parse::plain_key_reads_as_string(s) => {
                    out.push(crate::yaml::parse::json_pointer(at));
                }
                Value::Object(m) => {
                    for (k, x) in m {
                        at.push(k.clone());
                        walk(x, at, out);
                        at.pop();
                    }
                }
                Value::Array(items) => {
                    for (i, x) in items.iter().enumerate() {
                        at.push(i.to_string());
                        walk(x, at, out);
                        at.pop();
                    }
                }
                _ => {}
            }
        }
        let mut quoted = Vec::new();
        let mut at = Vec::new();
        for (k, v) in &self.obj {
            at.push(k.clone());
            walk(v, &mut at, &mut quoted);
            at.pop();
        }
        // Written out and read back, no other string keeps the quotes it had.
        let mut texts = self.texts.as_deref().cloned().unwrap_or_default();
        texts.quoted = quoted.into_iter().collect();
        self.texts = (!texts.is_blank()).then(|| std::sync::Arc::new(texts));
    }

    /// Records which of the places a transformer just set hold a quoted string (kyaml
    /// quotes a value that would not read back as a string): a number a later patch puts
    /// there becomes a string of its text. The others lose any quotes they had.
    pub(crate) fn note_quoted(&mut self, written: &[(Vec<String>, bool)]) {
        let had = |t: &SourceTexts, p: &str| t.quoted.contains(p);
        let pointers: Vec<(String, bool)> = written
            .iter()
            .map(|(path, quoted)| (crate::yaml::parse::json_pointer(path), *quoted))
            .collect();
        let current = self.texts.as_deref();
        let changes = pointers
            .iter()
            .any(|(p, quoted)| *quoted != current.is_some_and(|t| had(t, p)));
        if !changes {
            return;
        }
        let mut texts = current.cloned().unwrap_or_default();
        for (p, quoted) in pointers {
            if quoted {
                texts.quoted.insert(p);
            } else {
                texts.quoted.remove(&p);
            }
        }
        self.texts = Some(std::sync::Arc::new(texts));
    }

    /// Whether kubectl holds notes of its own among this object's annotations while it
    /// builds (an earlier name or namespace, a prefix or suffix, a generator's marks), so
    /// that the object has an annotations map even where its source has none.
    pub(crate) fn has_bookkeeping(&self) -> bool {
        !self.prev_names.is_empty()
            || self.orig_name != self.name()
            || self.orig_namespace != self.namespace()
            || !self.prefixes.is_empty()
            || !self.suffixes.is_empty()
            || self.needs_hash
            || self.behavior.is_some()
            || self.generated_by.is_some()
    }

    /// Records that the scalar at `at` was written as `text` on a node of no type (as a
    /// replacement creates one, or the image and name transformers write one): a later
    /// replacement's text there is read again as plain YAML.
    pub(crate) fn mark_untagged(&mut self, at: Vec<String>, text: String) {
        let Some(value) = value_at(&self.obj, &at).cloned() else {
            return;
        };
        self.untyped.retain(|u| u.at != at);
        self.untyped.push(Untyped { at, value, text });
    }

    /// Makes the numbers and booleans a replacement created in maps strings of the text
    /// they were copied as, as kubectl's strategic merge walk writes them back (list
    /// items stay as they are).
    pub(crate) fn type_untyped_in_maps(&mut self) {
        for u in std::mem::take(&mut self.untyped) {
            let in_map = match u.at.split_last() {
                Some((_, [])) => true,
                Some((_, parent)) => value_at(&self.obj, parent).is_some_and(Value::is_object),
                None => false,
            };
            match value_at_mut(&mut self.obj, &u.at) {
                // An empty one stays null.
                Some(v) if in_map && *v == u.value && !u.text.is_empty() => {
                    *v = Value::String(u.text)
                }
                _ => self.untyped.push(u),
            }
        }
    }

    /// Forgets the object's past, as kubectl does when a patch drops the annotations it
    /// keeps that in: its earlier ids and kinds, its name prefixes and suffixes, and
    /// whether its name takes a hash. Its current id becomes its original one.
    pub(crate) fn forget_history(&mut self) {
        self.orig_name = self.name().to_string();
        self.orig_namespace = self.namespace().to_string();
        self.prev_names.clear();
        self.prev_kinds.clear();
        self.prefixes.clear();
        self.suffixes.clear();
        self.needs_hash = false;
    }

    /// Remembers an earlier (name, namespace) of this object, unless it is the last one
    /// remembered and the kind has not changed since.
    pub(crate) fn remember_id(&mut self, id: (String, String)) {
        let kind_changed_since = self
            .prev_kinds
            .last()
            .is_some_and(|(at, _)| at + 1 == self.prev_names.len());
        if self.prev_names.last() != Some(&id) || kind_changed_since {
            self.prev_names.push(id);
        }
    }

    /// The kinds of this object's earlier ids: the kinds a patch changed away from, and
    /// the current kind when an id was remembered since the last change.
    pub(crate) fn earlier_kinds(&self) -> Vec<&str> {
        let mut kinds: Vec<&str> = self.prev_kinds.iter().map(|(_, k)| k.as_str()).collect();
        let since = self
            .prev_kinds
            .last()
            .is_none_or(|(at, _)| self.prev_names.len() > at + 1);
        if since {
            kinds.push(self.kind());
        }
        kinds
    }

    /// The kind this object was read or generated with.
    pub(crate) fn original_kind(&self) -> &str {
        self.prev_kinds
            .first()
            .map_or_else(|| self.kind(), |(_, k)| k.as_str())
    }

    /// Every (kind, name, namespace) this object has had: current, original and each one
    /// before a rename or a change of kind, each name with the kind it had then, as
    /// kustomize matches an id against "any id" of an object.
    pub(crate) fn any_kind_ids(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        let kind_at = |j: usize| {
            (self.prev_kinds.iter())
                .find(|(at, _)| *at >= j)
                .map_or_else(|| self.kind(), |(_, k)| k.as_str())
        };
        std::iter::once((self.kind(), self.name(), self.namespace()))
            .chain(std::iter::once((
                self.original_kind(),
                self.orig_name.as_str(),
                self.orig_namespace.as_str(),
            )))
            .chain(
                (self.prev_names.iter().enumerate())
                    .map(move |(j, (n, ns))| (kind_at(j), n.as_str(), ns.as_str())),
            )
    }

    /// Every (name, namespace) this object has had: current, original and each one
    /// before a rename, as kustomize matches an id against "any id" of an object.
    pub(crate) fn any_ids(&self) -> impl Iterator<Item = (&str, &str)> {
        std::iter::once((self.name(), self.namespace()))
            .chain(std::iter::once((
                self.orig_name.as_str(),
                self.orig_namespace.as_str(),
            )))
            .chain(
                self.prev_names
                    .iter()
                    .map(|(n, ns)| (n.as_str(), ns.as_str())),
            )
    }

    /// Namespace used for identity: namespaced objects without one are in `default`,
    /// cluster-scoped objects in none.
    pub(crate) fn effective_namespace(&self) -> &str {
        let ns = self.namespace();
        let (group, version) = crate::resource::split_api_version(self.api_version());
        if crate::scope::kustomize_cluster_scoped_gvk(group, version, self.kind()) {
            // A namespace written on a cluster-scoped object means nothing.
            ""
        } else if ns.is_empty() {
            "default"
        } else {
            ns
        }
    }
}
