//! MX201: WebAssembly extensions are switched off for the mesh version.

use super::sme_label;
use crate::diag::Diagnostic;
use crate::model::MeshVersion;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Enabled;

impl Unit for Enabled {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX201]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_enabled(facts, out);
    }
}

/// MX201: extensions are switched off for the mesh version.
fn check_enabled(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    let Some(cp) = mesh.control_planes.first() else {
        return;
    };
    let off = match mesh.version {
        MeshVersion::V2_0 => cp.wasm_extensions_enabled != Some(true),
        MeshVersion::V2_1 | MeshVersion::V2_2 => cp.wasm_extensions_enabled == Some(false),
        _ => false,
    };
    if !off {
        return;
    }
    let why = if mesh.version == MeshVersion::V2_0 {
        "on v2.0 WebAssembly extensions are a tech preview, off unless `spec.techPreview.wasmExtensions.enabled: true`"
    } else {
        "`spec.techPreview.wasmExtensions.enabled: false` turns WebAssembly extensions off"
    };
    let cp_loc = if cp.wasm_extensions_enabled.is_some() {
        cp.meta.loc("/spec/techPreview/wasmExtensions/enabled")
    } else {
        cp.meta.key_loc("/spec")
    };
    for e in &mesh.extensions {
        out.push(
            Diagnostic::new(RuleId::MX201, format!("{} is ignored: {why}", sme_label(e)))
                .at(e.meta.key_loc("/kind"))
                .resource(sme_label(e))
                .related(cp_loc.clone(), "the control plane that disables extensions")
                .help("set `spec.techPreview.wasmExtensions.enabled: true` in the ServiceMeshControlPlane"),
        );
    }
}
