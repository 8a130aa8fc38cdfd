//! Lint rules over the loaded documents and the typed mesh. Each family lives in its own
//! module; a check reads the [`Context`] and pushes findings. Rules that need images,
//! filter chains or the runtime are run by the pipeline in `crate::lint`.

pub mod control_plane;
pub mod extension;
pub mod image_ref;
pub mod schema;

use crate::diag::Diagnostic;
use crate::load::Document;
use crate::model::Mesh;
use std::sync::Arc;

/// What the checks see.
pub struct Context<'a> {
    pub mesh: &'a Mesh,
    pub documents: &'a [Arc<Document>],
}

/// A check: reads the context, reports findings.
pub type Check = fn(&Context, &mut Vec<Diagnostic>);

/// Every static check, in the order their families are numbered.
pub const CHECKS: &[Check] = &[
    schema::check_api_versions,
    schema::check_schemas,
    control_plane::check_version,
    control_plane::check_enabled,
    control_plane::check_membership,
    control_plane::check_sme_support,
    control_plane::check_webhooks,
    extension::check_phase,
    extension::check_image,
    extension::check_config,
    extension::check_selector,
    extension::check_status,
];

pub fn run(ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for check in CHECKS {
        check(ctx, &mut out);
    }
    out
}
