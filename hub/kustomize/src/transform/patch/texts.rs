//! Source texts through a strategic merge: which text each scalar of the merged object
//! was written as, whether it came from the object or from the patch.
//!
//! kubectl merges YAML nodes, so a scalar a patch puts in place keeps the text it was
//! written as (`0644`, `0x10`, `True`): a replacement or a var later copies that text. A
//! patched node keeps the style of the node it lands on, so a plain number or boolean
//! patched onto a quoted (or block) string becomes a string of its text. The merge itself
//! works on values; this walk pairs each place of the result with the place of the old
//! object and of the patch it came from (list elements by merge key, as they were merged)
//! and carries their texts over.

use serde_json::Value;

use super::{is_union, merge_key, Schema};
use crate::resource::SourceTexts;
use crate::yaml::emit::value_text;
use crate::yaml::parse::json_pointer;

/// Where one place of the result came from.
struct Walk<'a> {
    old: Option<&'a SourceTexts>,
    patch: &'a SourceTexts,
    builtin: Schema<'a>,
    out: SourceTexts,
}

/// The texts of `merged`, which is `old` with `patch` merged in; a number or boolean the
/// patch put onto a quoted string becomes a string of the patch's text.
pub(super) fn carry(
    merged: &mut Value,
    (old, old_texts): (&Value, Option<&SourceTexts>),
    (patch, patch_texts): (&Value, &SourceTexts),
    builtin: Schema<'_>,
) -> SourceTexts {
    let mut walk = Walk {
        old: old_texts.filter(|t| !t.is_blank()),
        patch: patch_texts,
        builtin,
        out: SourceTexts::default(),
    };
    let mut at = Places::default();
    walk.node(merged, Some(old), Some(patch), &mut at);
    walk.out
}

/// The pointer segments of one place in the result, the old object and the patch, and the
/// schema path (keys only) the merge used.
#[derive(Default)]
struct Places {
    new: Vec<String>,
    old: Vec<String>,
    patch: Vec<String>,
    keys: Vec<String>,
}

impl Walk<'_> {
    fn node(
        &mut self,
        new: &mut Value,
        old: Option<&Value>,
        patch: Option<&Value>,
        at: &mut Places,
    ) {
        if new.is_object() || new.is_array() {
            if let Some(t) = self.old.filter(|t| !t.flow.is_empty()) {
                if old.is_some() && t.flow.contains(&json_pointer(&at.old)) {
                    self.out.flow.insert(json_pointer(&at.new));
                }
            }
        }
        match new {
            Value::Object(m) => {
                // A map the patch replaces holds nothing of the old one.
                let replaced =
                    patch.and_then(|p| p.get("$patch")).and_then(Value::as_str) == Some("replace");
                let old = old.filter(|_| !replaced);
                for (k, v) in m.iter_mut() {
                    let o = old.and_then(|o| o.as_object()).and_then(|o| o.get(k));
                    let p = patch.and_then(|p| p.as_object()).and_then(|p| p.get(k));
                    at.new.push(k.clone());
                    at.old.push(k.clone());
                    at.patch.push(k.clone());
                    at.keys.push(k.clone());
                    self.node(v, o, p, at);
                    at.new.pop();
                    at.old.pop();
                    at.patch.pop();
                    at.keys.pop();
                }
            }
            Value::Array(items) => self.list(items, old, patch, at),
            scalar => self.scalar(scalar, old, patch, at),
        }
    }

    fn list(
        &mut self,
        items: &mut [Value],
        old: Option<&Value>,
        patch: Option<&Value>,
        at: &mut Places,
    ) {
        let empty = Vec::new();
        let patch_items = patch.and_then(Value::as_array);
        // A list the patch replaces (its first directive a bare `$patch: replace`) holds
        // nothing of the old one.
        let replaced = patch_items.is_some_and(|p| {
            p.iter()
                .find(|x| x.get("$patch").is_some())
                .is_some_and(super::is_replace_directive)
        });
        let old_items = old
            .filter(|_| !replaced)
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let key = patch_items.and_then(|p| {
            let all: Vec<&Value> = old_items
                .iter()
                .chain(p.iter().filter(|x| x.get("$patch").is_none()))
                .collect();
            if is_union(&at.keys, self.builtin) {
                return None;
            }
            merge_key(&at.keys, &all, self.builtin)
        });
        // The element with each key value in the old list and in the patch's: the first,
        // but where the object had no list the patch's is that list, and the last of its
        // elements with one key takes their place unwalked (see `keyed`).
        let no_list = old.and_then(Value::as_array).is_none();
        let positions = |list: &[Value], key: &str, last: bool| {
            let mut at = std::collections::HashMap::new();
            for (i, x) in list.iter().enumerate() {
                if let Some(k) = x.get(key).and_then(value_text) {
                    if last {
                        at.insert(k, i);
                    } else {
                        at.entry(k).or_insert(i);
                    }
                }
            }
            at
        };
        let index = key.as_deref().zip(patch_items).map(|(key, p)| {
            (
                key,
                positions(old_items, key, false),
                positions(p, key, no_list),
            )
        });
        for (i, item) in items.iter_mut().enumerate() {
            // Which element of the old list and of the patch list this one is.
            let (o, p) = match (&index, patch_items) {
                // Merged by key: the first element with the same key in each.
                (Some((key, old_at, patch_at)), Some(patch_items)) => {
                    match item.get(*key) {
                        None => (None, None),
                        Some(kv) => match value_text(kv) {
                            Some(k) => (old_at.get(&k).copied(), patch_at.get(&k).copied()),
                            // A map or list as a key: compared whole.
                            None => {
                                let find = |list: &[Value]| {
                                    list.iter().position(|x| x.get(*key) == Some(kv))
                                };
                                (find(old_items), find(patch_items))
                            }
                        },
                    }
                }
                // Replaced by the patch's list (or a union of scalars, which need no text).
                (None, Some(_)) => (None, Some(i)),
                // Left alone.
                (_, None) => (Some(i), None),
            };
            at.new.push(i.to_string());
            let old_item = o.and_then(|o| {
                at.old.push(o.to_string());
                old_items.get(o)
            });
            let patch_item = p.and_then(|p| {
                at.patch.push(p.to_string());
                patch_items.and_then(|l| l.get(p))
            });
            self.node(item, old_item, patch_item, at);
            at.new.pop();
            if o.is_some() {
                at.old.pop();
            }
            if p.is_some() {
                at.patch.pop();
            }
        }
    }

    fn scalar(&mut self, new: &mut Value, old: Option<&Value>, patch: Option<&Value>, at: &Places) {
        // A folded scalar the merge left as it was stays one.
        if let Some(t) = self.old.filter(|t| !t.folded.is_empty()) {
            if old == Some(&*new) {
                if let Some(read) = t.folded.get(&json_pointer(&at.old)) {
                    self.out.folded.insert(json_pointer(&at.new), read.clone());
                }
            }
        }
        let old_quoted = || {
            old.is_some_and(Value::is_string)
                && self.old.is_some_and(|t| {
                    !t.quoted.is_empty() && t.quoted.contains(&json_pointer(&at.old))
                })
        };
        if let Some(p) = patch.filter(|p| !p.is_object() && !p.is_array()) {
            let pointer = json_pointer(&at.patch);
            let text = self.patch.plain.get(&pointer).cloned();
            // A patch's own quotes do not stay (kubectl holds a patch as data); the quotes of
            // the string it lands on do.
            let quoted = old_quoted();
            match new {
                v if *v == *p => {
                    if quoted {
                        // A plain date patched there is its text too.
                        let retyped = !p.is_string() || text.is_some();
                        if retyped {
                            let written = text.or_else(|| crate::yaml::emit::scalar_text(p));
                            *v = Value::String(written.unwrap_or_default());
                            if !p.is_string() {
                                self.out.retyped.insert(json_pointer(&at.new), p.clone());
                            }
                        }
                        self.out.quoted.insert(json_pointer(&at.new));
                    } else if old.is_none() && self.patch.quoted.contains(&pointer) {
                        // A scalar new to the object is the patch's own node, quotes and all.
                        self.out.quoted.insert(json_pointer(&at.new));
                    } else if let Some(text) = text {
                        self.out.plain.insert(json_pointer(&at.new), text);
                    } else if old.is_some_and(|o| !o.is_object() && !o.is_array())
                        && p.as_str()
                            .is_some_and(|s| !crate::yaml::parse::resolve_plain(s).is_string())
                    {
                        self.out.unquoted.insert(json_pointer(&at.new));
                    }
                }
                _ => {}
            }
            return;
        }
        let (Some(old), Some(texts)) = (old, self.old) else {
            return;
        };
        if old == new {
            let pointer = json_pointer(&at.old);
            if let Some(text) = texts.plain.get(&pointer) {
                self.out.plain.insert(json_pointer(&at.new), text.clone());
            }
            // A string an earlier patch wrote plain, that this one leaves, is written with
            // its quotes from now on in kubectl: a later number there is a string.
            if texts.quoted.contains(&pointer) || texts.unquoted.contains(&pointer) {
                self.out.quoted.insert(json_pointer(&at.new));
            }
            if texts.tagged.contains(&pointer) {
                self.out.tagged.insert(json_pointer(&at.new));
            }
            if let Some(typed) = texts.retyped.get(&pointer) {
                self.out
                    .retyped
                    .insert(json_pointer(&at.new), typed.clone());
            }
        }
    }
}
