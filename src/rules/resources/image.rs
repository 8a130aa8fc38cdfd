//! MX303 (an image reference the cacher rejects) and MX304 (the `latest` tag).

use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct ImageReference;

impl Unit for ImageReference {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX303, RuleId::MX304]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_image(facts, out);
    }
}

/// MX303 (reference the cacher rejects) and MX304 (`latest`).
fn check_image(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    for e in &ctx.mesh.extensions {
        let Some(image) = e.image.as_deref() else {
            continue;
        };
        let at = e.meta.loc("/spec/image");
        match crate::image::parse_reference(image) {
            Err(why) => out.push(
                Diagnostic::new(RuleId::MX303, format!("failed to parse spec.image: {image:?}: {why}; the extension never becomes ready"))
                    .at(at)
                    .resource(e.meta.display())
                    .help("write `registry/organisation/name:tag` or `registry/organisation/name@sha256:<64 hex>`"),
            ),
            Ok(r) if r.tag.as_deref() == Some("latest") => out.push(
                Diagnostic::new(RuleId::MX304, format!("`{image}` uses the mutable `latest` tag: it is re-imported on every reconcile and may change under you"))
                    .at(at)
                    .resource(e.meta.display())
                    .help("pin a version tag or, better, a digest (`@sha256:…`)"),
            ),
            Ok(_) => {}
        }
    }
}
