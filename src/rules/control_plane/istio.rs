//! MX208 (an upstream control plane's Istio release is rejected or unknown) and MX209 (the
//! inputs hold control planes that disagree).

use crate::diag::Diagnostic;
use crate::model::version::istio_rows;
use crate::model::{IstioControlPlane, IstioKind, IstioVersion};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Istio;

impl Unit for Istio {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX208, RuleId::MX209]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        for cp in &facts.mesh.istio_control_planes {
            if let Some(d) = version_problem(cp) {
                out.push(d);
            }
        }
        check_disagreement(facts, out);
    }
}

/// Sail's `Istio` and `IstioRevision` are cluster-scoped: `Istio default`, not `default/default`.
fn label(cp: &IstioControlPlane) -> String {
    match cp.kind {
        IstioKind::Operator => cp.meta.display(),
        _ => format!("{} {}", cp.meta.kind, cp.meta.name),
    }
}

fn newest() -> IstioVersion {
    istio_rows()
        .last()
        .expect("istio_versions.tsv has rows")
        .istio
}

/// MX208 for one control plane. Sail's `spec.version` must be a value of the operator's enum
/// (sail-operator `api/v1/istio_types.go` `IstioSpec.Version`, `IstioRevisionSpec.Version`):
/// `v`-prefixed, for releases the operator ships (1.21+), or `master`. An IstioOperator's `tag`
/// is an image tag and only judged when it names a release the tool does not know.
fn version_problem(cp: &IstioControlPlane) -> Option<Diagnostic> {
    let written = cp.version.as_deref()?;
    let at = cp.meta.loc(cp.version_path);
    let label = label(cp);
    let sail = cp.kind != IstioKind::Operator;
    let parsed = IstioVersion::parse(written);
    let d = match parsed {
        _ if sail && written == "master" => Diagnostic::new(
            RuleId::MX208,
            format!("`master` is not a release: linted as Istio {}, the newest this tool knows", newest()),
        )
        .help("pin a release such as `v1.26-latest` to lint what runs"),
        None if sail => Diagnostic::new(
            RuleId::MX208,
            format!("`{written}` is not an Istio version: the Sail operator rejects {label}"),
        )
        .help("write a release such as `v1.24.3` or `v1.26-latest`"),
        None => Diagnostic::new(
            RuleId::MX208,
            format!("`spec.tag: {written}` names no Istio release: the mesh version is not taken from {label}"),
        )
        .help("set `spec.tag` to the release, e.g. `1.26.2`, or pass `--istio-version`"),
        Some(v) => match v.row() {
            None if v > newest() => Diagnostic::new(
                RuleId::MX208,
                format!("Istio {v} is newer than this tool knows: linted as Istio {}", newest()),
            )
            .help("upgrade meshext-lint"),
            None => Diagnostic::new(
                RuleId::MX208,
                format!("Istio {v} is not a release this tool knows (rules/abi/istio_versions.tsv)"),
            )
            .help("check the version; known releases are 1.6 to the newest in `meshext-lint --version`"),
            Some(_) if sail && !written.starts_with('v') => Diagnostic::new(
                RuleId::MX208,
                format!("`{written}` lacks the leading `v`: the Sail operator's enum only has `v{written}`, so the API server rejects {label}"),
            )
            .help(format!("write `v{written}`")),
            Some(row) if sail && !row.sail => Diagnostic::new(
                RuleId::MX208,
                format!("the Sail operator does not install Istio {v} (its releases start at 1.21): the API server rejects {label}"),
            )
            .help("use a release the operator ships, e.g. `v1.24.3`"),
            Some(_) => return None,
        },
    };
    Some(d.at(at).resource(label))
}

/// MX209: an SMCP next to an upstream control plane, or upstream control planes (not counting
/// Sail's IstioRevisions, which differ during a revision-based upgrade) of different minor
/// releases. Reported on each control plane the linted version does not come from.
fn check_disagreement(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    let upstream: Vec<&IstioControlPlane> = mesh
        .istio_control_planes
        .iter()
        .filter(|c| c.kind != IstioKind::SailRevision)
        .collect();
    if let Some(smcp) = mesh.control_planes.first() {
        for cp in &upstream {
            out.push(
                Diagnostic::new(
                    RuleId::MX209,
                    format!(
                        "{} is an upstream Istio control plane next to {}: the mesh is linted as {}",
                        label(cp),
                        smcp.meta.display(),
                        mesh.version
                    ),
                )
                .at(cp.meta.key_loc("/kind"))
                .resource(label(cp))
                .related(smcp.meta.key_loc("/kind"), "the control plane the version comes from")
                .help("lint each mesh on its own"),
            );
        }
        return;
    }
    let release = |c: &IstioControlPlane| {
        c.version
            .as_deref()
            .and_then(IstioVersion::parse)
            .map(IstioVersion::minor_release)
    };
    let Some((first, v0)) = upstream.iter().find_map(|c| release(c).map(|v| (c, v))) else {
        return;
    };
    for cp in &upstream {
        if let Some(v) = release(cp).filter(|v| *v != v0) {
            out.push(
                Diagnostic::new(
                    RuleId::MX209,
                    format!(
                        "{} installs Istio {v} but {} installs Istio {v0}: the mesh is linted as Istio {v0}",
                        label(cp),
                        label(first)
                    ),
                )
                .at(cp.meta.loc(cp.version_path))
                .resource(label(cp))
                .related(first.meta.loc(first.version_path), "the release the mesh is linted as")
                .help("lint each mesh on its own"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture;

    fn sail(kind: &str, name: &str, version: &str) -> String {
        format!("apiVersion: sailoperator.io/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n  version: {version}\n  namespace: istio-system\n---\n")
    }

    fn messages(yaml: &str) -> Vec<String> {
        fixture::check(&Istio, yaml)
            .into_iter()
            .map(|d| format!("{} {}", d.rule.as_str(), d.message))
            .collect()
    }

    #[test]
    fn sail_versions_follow_the_operator_enum() {
        for ok in ["v1.24.3", "v1.26-latest", "v1.21.6", "v1.31.0-beta.1"] {
            assert_eq!(
                messages(&sail("Istio", "default", ok)),
                Vec::<String>::new(),
                "{ok}"
            );
        }
        let m = messages(&sail("Istio", "default", "1.24.3"));
        assert!(
            m[0].starts_with("MX208") && m[0].contains("leading `v`"),
            "{m:?}"
        );
        let m = messages(&sail("Istio", "default", "v1.20.3"));
        assert!(m[0].contains("does not install Istio 1.20.3"), "{m:?}");
        let m = messages(&sail("IstioRevision", "r", "latest"));
        assert!(m[0].contains("not an Istio version"), "{m:?}");
        let m = messages(&sail("Istio", "default", "v1.45.0"));
        assert!(m[0].contains("newer than this tool knows"), "{m:?}");
        let m = messages(&sail("Istio", "default", "master"));
        assert!(m[0].contains("`master` is not a release"), "{m:?}");
    }

    #[test]
    fn istio_operator_tags() {
        let iop = |tag: &str| {
            format!("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {{name: cp, namespace: istio-system}}\nspec: {{tag: {tag}}}\n")
        };
        assert!(messages(&iop("1.26.2")).is_empty());
        assert!(messages(&iop("1.26.2-distroless")).is_empty());
        let found = fixture::check(&Istio, &iop("latest"));
        assert_eq!(fixture::positions(&found), ["MX208 4:13"]);
    }

    #[test]
    fn control_planes_that_disagree() {
        let smcp = "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: v2.6}\n---\n";
        let m = messages(&format!("{smcp}{}", sail("Istio", "default", "v1.24.3")));
        assert_eq!(m.len(), 1);
        assert!(
            m[0].starts_with("MX209") && m[0].contains("linted as v2.6"),
            "{m:?}"
        );
        // Revisions of one Istio may differ (a revision-based upgrade in progress).
        let upgrade = format!(
            "{}{}{}",
            sail("Istio", "default", "v1.26.2"),
            sail("IstioRevision", "default-v1-24-3", "v1.24.3"),
            sail("IstioRevision", "default-v1-26-2", "v1.26.2")
        );
        assert!(messages(&upgrade).is_empty());
        let iop = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: cp, namespace: other}\nspec: {tag: 1.25.1}\n";
        let found = fixture::check(
            &Istio,
            &format!("{}{iop}", sail("Istio", "default", "v1.24.3")),
        );
        assert_eq!(fixture::positions(&found), ["MX209 11:13"]);
        assert!(found[0].message.contains("linted as Istio 1.24"));
    }
}
