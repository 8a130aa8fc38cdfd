//! MX205: no ServiceMeshControlPlane in the inputs, so the mesh version is assumed.

use crate::diag::Diagnostic;
use crate::model::VersionSource;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Missing;

impl Unit for Missing {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX205]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_missing(facts, out);
    }
}

/// MX205: no control plane among the inputs.
fn check_missing(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    // Nothing parsed at all: the parse errors say enough.
    // An upstream control plane (Sail `Istio`, IstioOperator) gives the version; MX208 judges it.
    if mesh.control_planes.is_empty()
        && mesh.istio_control_planes.is_empty()
        && !ctx.documents.is_empty()
    {
        let istio = mesh.istio.map(|i| i.to_string()).unwrap_or_default();
        let how = match mesh.version_source {
            Some(VersionSource::CommandLine) => "given by --mesh-version".to_string(),
            Some(VersionSource::IstioCommandLine) => format!("from --istio-version {istio}"),
            Some(VersionSource::Config) => "from the configuration file".to_string(),
            _ => "assumed".to_string(),
        };
        let first = ctx.documents.first().map(|d| d.source.location(0, 0));
        out.push(
            Diagnostic::new(
                RuleId::MX205,
                format!(
                    "no ServiceMeshControlPlane in the inputs: mesh version {} {how}; membership and enablement checks are skipped",
                    mesh.version
                ),
            )
            .at_opt(first)
            .help("add the SMCP to the inputs (or `--context DIR`), or set `--mesh-version`"),
        );
    }
}
