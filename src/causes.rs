//! What a finding depends on: the resources whose change can make it appear or disappear.
//!
//! `lint --context` keeps a finding when one of the changed files holds its location, one of its
//! related locations, or one of these causes (docs/ci.md, "What a change is blamed for"). The
//! model is deliberately wide: missing a breaking change lets it through the hook, while an
//! extra pre-existing finding is handled by a baseline or `--new-since`.
//!
//! Per rule family, from the facts the units judge:
//! - the control plane (version, `techPreview.wasmExtensions`, telemetry, root namespace) for
//!   schemas and API versions (MX103–MX105, chosen per mesh version), MX2xx, the configuration
//!   (MX305) and selector scope (MX306), MX5xx
//!   (the version's proxy), MX6xx and MX7xx;
//! - the member roll and members for membership (MX202, MX206) and the chains (MX6xx: only
//!   in-mesh workloads get one);
//! - everything in the finding's scope (its resource's namespace and the root namespace, or the
//!   whole mesh for a resource in the root namespace): workloads, services, extensions,
//!   WasmPlugins and the security and EnvoyFilter resources, for selectors (MX306) and chains
//!   (MX6xx).
//!
//! Findings about a file itself (MX101, MX102, MX106) and suppressions depend on their own file
//! only; findings inside an image already name the resources using the image as related
//! locations.

use crate::diag::{Diagnostic, Location, RuleId};
use crate::model::{Mesh, Meta};
use std::collections::HashMap;

/// A resource a finding depends on, where it is declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub location: Location,
    /// `Kind namespace/name`.
    pub resource: String,
}

#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
enum Scope {
    #[default]
    None,
    /// The workloads a selector can match.
    Workloads,
    /// Everything that shapes a chain.
    All,
}

#[derive(Clone, Copy, Default)]
struct Needs {
    control_plane: bool,
    membership: bool,
    scope: Scope,
}

fn needs(rule: RuleId) -> Needs {
    let n: u32 = rule.as_str()[2..].parse().unwrap_or(0);
    let cp = Needs {
        control_plane: true,
        ..Needs::default()
    };
    match n {
        // Schemas and API versions are chosen per mesh version.
        103..=105 => cp,
        202 | 206 => Needs {
            membership: true,
            ..cp
        },
        // The configuration a module receives depends on the mesh version; so does every
        // WasmPlugin rule (the Istio release's API, webhook and agent).
        305 | 309..=319 => cp,
        // The scope is the namespace, or the mesh for the root namespace.
        306 => Needs {
            scope: Scope::Workloads,
            ..cp
        },
        201..=299 | 501..=599 | 701..=799 => cp,
        601..=699 => Needs {
            control_plane: true,
            membership: true,
            scope: Scope::All,
        },
        _ => Needs::default(),
    }
}

/// Every resource of the mesh, with its identity and document.
fn resources(mesh: &Mesh) -> impl Iterator<Item = &Meta> {
    mesh.control_planes
        .iter()
        .map(|r| &r.meta)
        .chain(mesh.istio_control_planes.iter().map(|r| &r.meta))
        .chain(mesh.member_rolls.iter().map(|r| &r.meta))
        .chain(mesh.members.iter().map(|r| &r.meta))
        .chain(scoped(mesh))
}

/// The resources that are judged per namespace: what selectors and chains see.
fn scoped(mesh: &Mesh) -> impl Iterator<Item = &Meta> {
    mesh.extensions
        .iter()
        .map(|r| &r.meta)
        .chain(mesh.wasm_plugins.iter().map(|r| &r.meta))
        .chain(mesh.workloads.iter().map(|r| &r.meta))
        .chain(mesh.services.iter().map(|r| &r.meta))
        .chain(mesh.namespaces.iter())
        .chain(mesh.authorization_policies.iter().map(|r| &r.meta))
        .chain(mesh.request_authentications.iter().map(|r| &r.meta))
        .chain(mesh.peer_authentications.iter().map(|r| &r.meta))
        .chain(mesh.envoy_filters.iter().map(|r| &r.meta))
}

fn cause(meta: &Meta) -> Cause {
    Cause {
        location: meta.key_loc("/metadata/name"),
        resource: meta.display(),
    }
}

/// The resources of a mesh by `Kind namespace/name`, to find what findings depend on.
pub struct Causality<'a> {
    mesh: &'a Mesh,
    by_name: HashMap<String, &'a Meta>,
}

impl<'a> Causality<'a> {
    pub fn new(mesh: &'a Mesh) -> Causality<'a> {
        let by_name = resources(mesh).map(|m| (m.display(), m)).collect();
        Causality { mesh, by_name }
    }

    /// The resources `d` depends on besides its own location and related locations.
    pub fn causes(&self, d: &Diagnostic) -> Vec<Cause> {
        let mesh = self.mesh;
        let needs = needs(d.rule);
        let mut out = Vec::new();
        if needs.control_plane {
            out.extend(mesh.control_planes.iter().map(|c| cause(&c.meta)));
            // OSSM 3.x / upstream Istio: the version, root namespace and membership come from here.
            out.extend(mesh.istio_control_planes.iter().map(|c| cause(&c.meta)));
        }
        if needs.membership {
            out.extend(mesh.member_rolls.iter().map(|r| cause(&r.meta)));
            out.extend(mesh.members.iter().map(|r| cause(&r.meta)));
        }
        // The finding's own resource, wherever the finding is located (an image's manifest, a
        // module, another resource).
        let subject = d
            .resource
            .as_deref()
            .and_then(|r| self.by_name.get(r).copied());
        if let Some(s) = subject {
            out.push(cause(s));
        }
        let Some(s) = subject else {
            return out;
        };
        let pool: Box<dyn Iterator<Item = &Meta>> = match needs.scope {
            Scope::None => return out,
            Scope::Workloads => Box::new(
                mesh.workloads
                    .iter()
                    .map(|w| &w.meta)
                    .chain(mesh.namespaces.iter()),
            ),
            Scope::All => Box::new(scoped(mesh)),
        };
        let root = mesh.control_plane_namespace();
        let mesh_wide = root == Some(s.namespace.as_str());
        out.extend(
            pool.filter(|m| {
                mesh_wide
                    || m.namespace == s.namespace
                    || root == Some(m.namespace.as_str())
                    // A Namespace object is cluster-scoped: its name is the namespace.
                    || (m.kind == "Namespace" && m.name == s.namespace)
            })
            .map(cause),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_depend_on_what_their_units_read() {
        assert!(!needs(RuleId::MX101).control_plane);
        assert!(needs(RuleId::MX103).control_plane);
        assert!(needs(RuleId::MX201).control_plane && !needs(RuleId::MX201).membership);
        assert!(needs(RuleId::MX202).membership);
        assert_eq!(needs(RuleId::MX306).scope, Scope::Workloads);
        assert!(!needs(RuleId::MX304).control_plane);
        let chain = needs(RuleId::MX601);
        assert!(chain.control_plane && chain.membership && chain.scope == Scope::All);
        assert!(!needs(RuleId::MX403).control_plane);
    }

    #[test]
    fn a_sail_istio_is_a_cause_of_version_dependent_findings() {
        use crate::load::inputs::{add_source, Loaded};
        let mut l = Loaded::default();
        add_source(
            &mut l,
            "t.yaml".into(),
            b"apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec: {version: v1.24.3}\n".to_vec(),
        );
        let mesh = crate::model::build::build(&l.documents, None);
        let c = Causality::new(&mesh);
        let d = Diagnostic::new(RuleId::MX204, "x");
        let causes: Vec<String> = c.causes(&d).into_iter().map(|c| c.resource).collect();
        assert!(causes.iter().any(|r| r.starts_with("Istio ")), "{causes:?}");
    }
}
