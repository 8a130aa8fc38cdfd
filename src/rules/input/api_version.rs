//! MX105: an API version the mesh version does not serve.

use super::{kind_of, resource_label};
use crate::diag::Diagnostic;
use crate::model::build::group_of;
use crate::model::MeshVersion;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct ApiVersion;

impl Unit for ApiVersion {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX105]
    }

    fn stage(&self) -> Stage {
        Stage::Documents
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_api_versions(facts, out);
    }
}

/// The API versions each kind is served at, with the first mesh version that serves it.
const API_VERSIONS: &[(&str, &[(&str, MeshVersion)])] = &[
    (
        "ServiceMeshExtension",
        &[
            ("maistra.io/v1alpha1", MeshVersion::V2_0),
            ("maistra.io/v1", MeshVersion::V2_1),
        ],
    ),
    (
        "ServiceMeshControlPlane",
        &[
            // The operator serves both control-plane APIs for every version it manages
            // (v1.1 included); MX206 judges the version itself.
            ("maistra.io/v2", MeshVersion::V1_0),
            ("maistra.io/v1", MeshVersion::V1_0),
        ],
    ),
    (
        "ServiceMeshMemberRoll",
        &[("maistra.io/v1", MeshVersion::V1_0)],
    ),
    ("ServiceMeshMember", &[("maistra.io/v1", MeshVersion::V1_0)]),
    (
        "WasmPlugin",
        &[("extensions.istio.io/v1alpha1", MeshVersion::V2_2)],
    ),
    // The Sail operator serves both APIs whatever Istio release it installs (v1alpha1 until
    // sail-operator c864dfe0 "Bump CRDs to v1"); MX208 judges the release.
    (
        "Istio",
        &[
            ("sailoperator.io/v1", MeshVersion::V1_0),
            ("sailoperator.io/v1alpha1", MeshVersion::V1_0),
        ],
    ),
    (
        "IstioRevision",
        &[
            ("sailoperator.io/v1", MeshVersion::V1_0),
            ("sailoperator.io/v1alpha1", MeshVersion::V1_0),
        ],
    ),
    (
        "IstioOperator",
        &[("install.istio.io/v1alpha1", MeshVersion::V1_0)],
    ),
];

fn check_api_versions(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let version = ctx.mesh.version;
    for doc in ctx.documents {
        let Some((kind, api)) = kind_of(doc) else {
            continue;
        };
        let Some((_, served)) = API_VERSIONS.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        let at = doc.location_of("/apiVersion");
        let known: Vec<&str> = served.iter().map(|(a, _)| *a).collect();
        let diag = match served.iter().find(|(a, _)| *a == api) {
            Some((_, since)) if version < *since => Diagnostic::new(
                RuleId::MX105,
                format!("`{api}` {kind} is not served by mesh {version}; it is available from {since}"),
            )
            .help(if kind == "ServiceMeshExtension" {
                "on v2.0 use `apiVersion: maistra.io/v1alpha1` with a string `config`".to_string()
            } else {
                format!("upgrade the control plane to {since} or remove the resource")
            }),
            Some(_) => continue,
            None if group_of(api) == "extensions.maistra.io" => Diagnostic::new(
                RuleId::MX105,
                format!("`{api}` is the pre-release API group of {kind}; the control plane only watches `maistra.io`"),
            )
            .help("use `apiVersion: maistra.io/v1` (or `maistra.io/v1alpha1` on v2.0)"),
            None => Diagnostic::new(RuleId::MX105, format!("unknown API version `{api}` for {kind}"))
                .help(format!("use one of: {}", known.join(", "))),
        };
        out.push(diag.at(at).resource(resource_label(doc)));
    }
}
