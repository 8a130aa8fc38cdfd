//! MX606: the spec overrides the phase or priority its image manifest declares.

use super::at_ext;
use crate::chain::ExtensionDefaults;
use crate::diag::Diagnostic;
use crate::model::Mesh;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Overrides;

impl Unit for Overrides {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX606]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        out.extend(overrides(facts.mesh, facts.defaults));
    }
}

/// MX606: the spec overrides what the image manifest declares.
fn overrides(mesh: &Mesh, defaults: &ExtensionDefaults) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for ext in &mesh.extensions {
        let Some(m) = defaults.manifests.get(&ext.meta.key()) else {
            continue;
        };
        if let (Some(spec), Some(man)) = (ext.phase.as_deref(), m.phase.as_deref()) {
            // An invalid manifest phase is MX403's; overriding it is the fix, not a surprise.
            if spec != man && !spec.is_empty() && crate::model::PHASES.contains(&man) {
                out.push(at_ext(RuleId::MX606, ext, "/spec/phase", format!(
                    "`{}` sets phase {spec} but its image manifest declares {man}", ext.meta.name))
                    .help("Check that the module works in the overriding phase, or drop spec.phase to use the manifest's."));
            }
        }
        if let (Some(spec), Some(man)) = (ext.priority, m.priority) {
            if spec != man {
                out.push(
                    at_ext(
                        RuleId::MX606,
                        ext,
                        "/spec/priority",
                        format!(
                            "`{}` sets priority {spec} but its image manifest declares {man}",
                            ext.meta.name
                        ),
                    )
                    .help(
                        "Intentional overrides are fine; drop spec.priority to use the manifest's.",
                    ),
                );
            }
        }
    }
    out
}
