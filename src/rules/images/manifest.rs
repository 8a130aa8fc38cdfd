//! MX403: an image's `/manifest.yaml` is missing or invalid.

crate::rules::registry::kinds_unit!(
    Manifest,
    [MX403],
    Images,
    super::report,
    [crate::image::ManifestProblemKind::Manifest]
);
