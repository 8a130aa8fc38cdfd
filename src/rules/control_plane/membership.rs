//! MX202: an extension in a namespace outside the mesh is never seen.

use super::sme_label;
use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Membership;

impl Unit for Membership {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX202]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_membership(facts, out);
    }
}

/// MX202: an SME in a namespace that is not part of the mesh is never seen.
fn check_membership(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    // Member rolls are an SMCP's; upstream control planes (3.x) have none.
    if mesh.control_planes.is_empty() {
        return;
    }
    let Some(cp) = mesh.control_plane_namespace() else {
        return;
    };
    let members = mesh.mesh_namespaces();
    let roll = mesh.member_rolls.first();
    for e in &mesh.extensions {
        if members.contains(&e.meta.namespace) {
            continue;
        }
        let mut d = Diagnostic::new(
            RuleId::MX202,
            format!(
                "namespace `{}` is neither the control-plane namespace `{cp}` nor a mesh member: the control plane never sees {}",
                e.meta.namespace,
                sme_label(e)
            ),
        )
        .at(e.meta.loc("/metadata/namespace"))
        .resource(sme_label(e))
        .help(format!("add `{}` to the ServiceMeshMemberRoll's `spec.members`, or move the extension", e.meta.namespace));
        d = match roll {
            Some(r) => d.related(r.meta.key_loc("/spec/members"), "the member roll"),
            None => d.related(mesh.control_planes[0].meta.key_loc("/metadata"), "no ServiceMeshMemberRoll in the inputs; only this control plane's namespace is in the mesh"),
        };
        out.push(d);
    }
}
