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
        } else if v.is_sail() {
            // OSSM 3.x has no maistra.io CRDs at all: the object cannot even be created.
            Diagnostic::new(
                RuleId::MX204,
                format!(
                    "ServiceMeshExtension does not exist in {v} (the Sail operator installs upstream Istio, without the maistra.io CRDs): {} cannot be applied",
                    sme_label(e)
                ),
            )
            .help("migrate it to a WasmPlugin (extensions.istio.io/v1alpha1)")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture;

    const SME: &str = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: shop}\nspec: {phase: PostAuthZ, image: quay.io/acme/auth:1.0}\n";

    fn with(cp: &str) -> Vec<Diagnostic> {
        fixture::check(&SmeSupport, &format!("{cp}---\n{SME}"))
    }

    #[test]
    fn removed_from_2_3_on_and_absent_on_3_x() {
        let smcp = |v: &str| {
            format!("apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {{name: basic, namespace: istio-system}}\nspec: {{version: {v}}}\n")
        };
        assert_eq!(
            fixture::positions(&with(&smcp("v2.1"))),
            Vec::<String>::new()
        );
        assert_eq!(fixture::positions(&with(&smcp("v2.2"))), ["MX203 7:1"]);
        for v in ["v2.3", "v2.6"] {
            let found = with(&smcp(v));
            assert_eq!(fixture::positions(&found), ["MX204 7:1"], "{v}");
            assert!(found[0].message.contains("has been removed"), "{v}");
        }
        let sail = "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec: {version: v1.24.3}\n";
        let found = with(sail);
        assert_eq!(fixture::positions(&found), ["MX204 7:1"]);
        assert!(
            found[0].message.contains("does not exist in v3.0"),
            "{}",
            found[0].message
        );
    }
}
