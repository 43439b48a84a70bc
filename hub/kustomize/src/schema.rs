//! The types of a kustomization's fields, as kustomize declares them: kubectl decodes a
//! kustomization strictly into typed fields, so a number where a string belongs (an
//! unquoted `newTag: 1.10`), a quoted `"true"` where a flag belongs, or a fraction where a
//! count belongs is an error rather than something to convert.

use serde_json::Value;

/// The type of a field.
pub(crate) enum Ty {
    Str,
    Bool,
    Int,
    /// A map of strings to strings.
    StrMap,
    /// A map of strings to booleans.
    BoolMap,
    List(&'static Ty),
    /// An object with these typed fields and no others.
    Obj(&'static [(&'static str, Ty)]),
    /// Not checked here.
    Any,
}

use Ty::*;

const STRINGS: Ty = List(&Str);

const SELECTOR: Ty = Obj(&[
    ("group", Str),
    ("version", Str),
    ("kind", Str),
    ("name", Str),
    ("namespace", Str),
    ("labelSelector", Str),
    ("annotationSelector", Str),
]);

const FIELD_SPEC: Ty = Obj(&[
    ("group", Str),
    ("version", Str),
    ("kind", Str),
    ("path", Str),
    ("create", Bool),
]);

const PATCH: Ty = Obj(&[
    ("path", Str),
    ("patch", Str),
    ("target", SELECTOR),
    ("options", BoolMap),
]);

const IMAGE: Ty = Obj(&[
    ("name", Str),
    ("newName", Str),
    ("newTag", Str),
    ("digest", Str),
    ("tagSuffix", Str),
]);

const FIELD_OPTIONS: Ty = Obj(&[
    ("delimiter", Str),
    ("index", Int),
    ("encoding", Str),
    ("create", Bool),
]);

const REPLACEMENT: Ty = Obj(&[
    ("path", Str),
    (
        "source",
        Obj(&[
            ("group", Str),
            ("version", Str),
            ("kind", Str),
            ("name", Str),
            ("namespace", Str),
            ("fieldPath", Str),
            ("options", FIELD_OPTIONS),
        ]),
    ),
    (
        "targets",
        List(&Obj(&[
            ("select", SELECTOR),
            ("reject", List(&SELECTOR)),
            ("fieldPaths", STRINGS),
            ("options", FIELD_OPTIONS),
        ])),
    ),
]);

const GENERATOR_OPTIONS: Ty = Obj(&[
    ("labels", StrMap),
    ("annotations", StrMap),
    ("disableNameSuffixHash", Bool),
    ("immutable", Bool),
]);

/// A generator entry. A ConfigMap's has no `type`, which its generator refuses.
const GENERATOR: Ty = Obj(&[
    ("namespace", Str),
    ("name", Str),
    ("behavior", Str),
    ("literals", STRINGS),
    ("files", STRINGS),
    ("envs", STRINGS),
    ("env", Str),
    ("type", Str),
    ("options", GENERATOR_OPTIONS),
    // Refused as not supported where generators run.
    ("kvSources", Any),
]);

/// The fields of a Kustomization or Component.
pub(crate) const KUSTOMIZATION: Ty = Obj(&[
    ("apiVersion", Str),
    ("kind", Str),
    ("openapi", StrMap),
    ("namePrefix", Str),
    ("nameSuffix", Str),
    ("namespace", Str),
    ("commonLabels", StrMap),
    (
        "labels",
        List(&Obj(&[
            ("pairs", StrMap),
            ("includeSelectors", Bool),
            ("includeTemplates", Bool),
            ("fields", List(&FIELD_SPEC)),
        ])),
    ),
    ("commonAnnotations", StrMap),
    ("patchesStrategicMerge", STRINGS),
    ("patchesJson6902", List(&PATCH)),
    ("patches", List(&PATCH)),
    ("images", List(&IMAGE)),
    ("imageTags", List(&IMAGE)),
    ("replacements", List(&REPLACEMENT)),
    ("replicas", List(&Obj(&[("name", Str), ("count", Int)]))),
    (
        "vars",
        List(&Obj(&[
            ("name", Str),
            (
                "objref",
                Obj(&[
                    ("group", Str),
                    ("version", Str),
                    ("kind", Str),
                    ("apiVersion", Str),
                    ("name", Str),
                    ("namespace", Str),
                ]),
            ),
            ("fieldref", Obj(&[("fieldPath", Str)])),
        ])),
    ),
    (
        "sortOptions",
        Obj(&[
            ("order", Str),
            (
                "legacySortOptions",
                Obj(&[("orderFirst", STRINGS), ("orderLast", STRINGS)]),
            ),
        ]),
    ),
    ("resources", STRINGS),
    ("components", STRINGS),
    ("crds", STRINGS),
    ("bases", STRINGS),
    ("configMapGenerator", List(&GENERATOR)),
    ("secretGenerator", List(&GENERATOR)),
    ("generatorOptions", GENERATOR_OPTIONS),
    ("configurations", STRINGS),
    ("generators", STRINGS),
    ("transformers", STRINGS),
    ("validators", STRINGS),
    ("buildMetadata", STRINGS),
    (
        "metadata",
        Obj(&[
            ("name", Str),
            ("namespace", Str),
            ("labels", StrMap),
            ("annotations", StrMap),
        ]),
    ),
    (
        "helmGlobals",
        Obj(&[("chartHome", Str), ("configHome", Str)]),
    ),
    ("helmCharts", Any),
    ("helmChartInflationGenerator", Any),
]);

/// A whole number as kubectl decodes one into a Go int: the YAML goes through JSON,
/// where a whole float (`3.0`, `1e3`) is written as an integer.
pub(crate) fn go_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    let f = v.as_f64().filter(|f| f.fract() == 0.0)?;
    // Go decodes the float's JSON text, which holds its shortest digits: 2^63 - 512 is
    // 9223372036854775000, and 2^63 is out of range.
    crate::yaml::emit::go_json_float(f).parse().ok()
}

/// Checks `v` against `ty`; the error names the field by its path from `at`.
pub(crate) fn check(v: &Value, ty: &Ty, at: &str) -> Result<(), String> {
    if v.is_null() {
        return Ok(());
    }
    let wrong = |want: &str| {
        let got = match v {
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "a list",
            Value::Object(_) => "a map",
            Value::Null => "null",
        };
        Err(format!("{at}: expected {want}, found {got}"))
    };
    match ty {
        Any => Ok(()),
        Str if v.is_string() => Ok(()),
        Str => wrong("a string (quote it)"),
        Bool if v.is_boolean() => Ok(()),
        Bool => wrong("true or false"),
        Int if go_int(v).is_some() => Ok(()),
        Int if v.is_number() => wrong("a whole number within 64-bit range"),
        Int => wrong("a whole number"),
        StrMap | BoolMap => {
            let Value::Object(m) = v else {
                return wrong("a map");
            };
            let item_ty = if matches!(ty, StrMap) { &Str } else { &Bool };
            for (k, item) in m {
                check(item, item_ty, &format!("{at}.{k}"))?;
            }
            Ok(())
        }
        List(item) => {
            let Value::Array(items) = v else {
                return wrong("a list");
            };
            for (i, x) in items.iter().enumerate() {
                check(x, item, &format!("{at}[{i}]"))?;
            }
            Ok(())
        }
        Obj(fields) => {
            let Value::Object(m) = v else {
                return wrong("a map");
            };
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            for (k, x) in m {
                // kubectl decodes every field strictly.
                let Some(name) = crate::kustomization::canonical(k, &names) else {
                    return Err(format!("{at}: unknown field {k:?}"));
                };
                let Some((_, ty)) = fields.iter().find(|(n, _)| *n == name) else {
                    continue;
                };
                let at = if at.is_empty() {
                    name.to_string()
                } else {
                    format!("{at}.{name}")
                };
                check(x, ty, &at)?;
            }
            Ok(())
        }
    }
}
