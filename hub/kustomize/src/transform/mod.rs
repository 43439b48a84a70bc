//! Generators and transformers of one kustomization, run in kustomize's order, and the
//! steps run once at the end of the root build (content hashes, name references).

use crate::build::Builder;
use crate::kustomization::Kustomization;
use crate::resource::Resource;
use crate::{Error, Result};

/// Fields not implemented yet: an error, never a silently different result.
const PENDING: &[&str] = &[
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "crds",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "buildMetadata",
    "components",
];

/// Runs one kustomization's components, generators and transformers over `acc`.
pub(crate) fn run(
    _b: &mut Builder<'_>,
    k: &Kustomization,
    acc: &mut Vec<Resource>,
    _depth: usize,
) -> Result<()> {
    for field in PENDING {
        if k.get(field).is_some() {
            return Err(Error::Unsupported {
                path: k.file.clone(),
                field: field.to_string(),
                what: "this field".into(),
            });
        }
    }
    if let Some(ns) = k.str_field("namespace")? {
        if !ns.is_empty() {
            crate::build::apply_namespace(acc, &ns);
        }
    }
    Ok(())
}

/// Steps run once over the root build's output.
pub(crate) fn finish(_out: &mut [Resource], _root: &Kustomization) -> Result<()> {
    Ok(())
}
