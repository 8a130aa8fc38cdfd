//! MX404: the module named by `manifest.yaml` is not a file in the image.

crate::rules::registry::kinds_unit!(
    ModulePath,
    [MX404],
    Images,
    super::report,
    [crate::image::ManifestProblemKind::Module]
);
