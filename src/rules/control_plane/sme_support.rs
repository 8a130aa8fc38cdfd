//! MX203 (ServiceMeshExtension deprecated on v2.2) and MX204 (removed from v2.3).

use super::sme_label;
use crate::diag::Diagnostic;
use crate::model::MeshVersion;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct SmeSupport;

impl Unit for SmeSupport {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX203, RuleId::MX204]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_sme_support(facts, out);
    }
}

/// MX203 (deprecated on v2.2) and MX204 (removed on v2.3+).
fn check_sme_support(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let v = ctx.mesh.version;
    for e in &ctx.mesh.extensions {
        let d = if v == MeshVersion::V2_2 {
            Diagnostic::new(RuleId::MX203, "ServiceMeshExtension is deprecated on v2.2: it works now but will be removed in a future version")
                .help("migrate to a WasmPlugin (extensions.istio.io/v1alpha1) before upgrading to v2.3")
        } else if v >= MeshVersion::V2_3 {
            Diagnostic::new(
                RuleId::MX204,
                format!(
                    "ServiceMeshExtension support has been removed in {v}: istiod ignores {}, and the operator refuses to upgrade a control plane to v2.3 while it exists",
                    sme_label(e)
                ),
            )
            .help("migrate it to a WasmPlugin (extensions.istio.io/v1alpha1) and delete the ServiceMeshExtension")
        } else {
            continue;
        };
        out.push(d.at(e.meta.key_loc("/kind")).resource(sme_label(e)));
    }
}
