//! MX302: on v2.0 the phase may be omitted from the SME (the CRD does not require it) and is
//! then taken from the image's manifest; when the manifest has none either, the extension has
//! an empty phase and is never injected. A resource rule, but it needs the pulled manifest.

use crate::diag::{Diagnostic, Location};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct MissingPhase;

impl Unit for MissingPhase {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX302]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mesh = facts.mesh;
        for (e, a) in mesh.extensions.iter().zip(&facts.resolution.by_extension) {
            let Some(a) = a else { continue };
            let manifest_phase = a.manifest.as_ref().and_then(|m| m.phase.as_deref());
            if e.phase.is_none() && manifest_phase.is_none() && a.manifest.is_some() {
                let d = Diagnostic::new(
                    RuleId::MX302,
                    format!(
                        "{} has no phase: the resource omits `spec.phase` and the manifest of `{}` declares none, so the extension is never injected",
                        e.meta.display(),
                        a.reference
                    ),
                )
                .at(e.meta.key_loc("/spec"))
                .resource(e.meta.display())
                .help("set `spec.phase` (one of PreAuthN, PostAuthN, PreAuthZ, PostAuthZ, PreStats, PostStats)");
                let d = d.related(
                    Location::file_only(a.image.location_name("manifest.yaml")),
                    "the image's manifest",
                );
                out.push(d);
            }
        }
    }
}
