//! MX206 (the operator or its webhook rejects a control plane, member roll or member) and
//! MX207 (control-plane settings the operator rejects).

use crate::diag::{Diagnostic, Severity};
use crate::model::MeshVersion;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct Operator;

impl Unit for Operator {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX206, RuleId::MX207]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_version(facts, out);
        check_webhooks(facts, out);
    }
}

/// `spec.version` values some operator release accepts (`v1.0` was dropped).
const SUPPORTED_VERSIONS: &[&str] = &[
    "v1.1", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "v2.5", "v2.6",
];

/// MX206: a `spec.version` the operator rejects.
fn check_version(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    for cp in &mesh.control_planes {
        let Some(v) = cp.version.as_deref() else {
            continue;
        };
        let at = cp.meta.loc("/spec/version");
        let msg = if v == "v1.0" {
            Some("support for v1.0 has been dropped".to_string())
        } else if !SUPPORTED_VERSIONS.contains(&v) {
            Some(format!("invalid version: {v}"))
        } else if cp.meta.api_version == "maistra.io/v1" && v.starts_with("v2") {
            Some("must use v2 ServiceMeshControlPlane resource for v2.0+ installations".to_string())
        } else {
            None
        };
        if let Some(msg) = msg {
            out.push(
                Diagnostic::new(
                    RuleId::MX206,
                    format!("the operator rejects this control plane: {msg}"),
                )
                .at(at)
                .resource(cp.meta.display())
                .help(format!("use one of {}", SUPPORTED_VERSIONS.join(", "))),
            );
        }
    }
}

fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// MX206 (member roll / member webhook rules) and MX207 (control-plane webhook rules).
fn check_webhooks(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    let cp_ns = mesh.control_plane_namespace();
    let mut claimed: BTreeMap<&str, &str> = BTreeMap::new();
    for roll in &mesh.member_rolls {
        let r = roll.meta.display();
        if roll.meta.name != "default" {
            out.push(
                Diagnostic::new(RuleId::MX206, format!("the ServiceMeshMemberRoll must be named `default`, not `{}`", roll.meta.name))
                    .at(roll.meta.loc("/metadata/name"))
                    .resource(&r)
                    .help("rename it to `default`: the control plane only reads the member roll named default"),
            );
        }
        if let Some(cp) = cp_ns {
            if roll.meta.namespace != cp {
                out.push(
                    Diagnostic::new(
                        RuleId::MX206,
                        format!("the member roll is in `{}`, not in the control-plane namespace `{cp}`: the control plane ignores it", roll.meta.namespace),
                    )
                    .severity(Severity::Error)
                    .at(roll.meta.key_loc("/metadata/namespace"))
                    .resource(&r),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for (i, m) in roll.members.iter().enumerate() {
            let at = roll.meta.loc(&format!("/spec/members/{i}"));
            let msg = if !seen.insert(m.as_str()) {
                Some(format!("duplicate member `{m}`"))
            } else if !is_dns1123_label(m) {
                Some(format!("member `{m}` is not a valid namespace name (lowercase letters, digits and `-`, at most 63)"))
            } else if Some(m.as_str()) == cp_ns {
                Some(format!(
                    "the control-plane namespace `{m}` must not be listed as a member"
                ))
            } else {
                claimed
                    .insert(m.as_str(), roll.meta.namespace.as_str())
                    .filter(|o| *o != roll.meta.namespace)
                    .map(|other| {
                        format!("namespace `{m}` is already a member of the mesh in `{other}`")
                    })
            };
            if let Some(msg) = msg {
                out.push(
                    Diagnostic::new(
                        RuleId::MX206,
                        format!("the operator's webhook rejects this member roll: {msg}"),
                    )
                    .at(at)
                    .resource(&r),
                );
            }
        }
    }
    for m in &mesh.members {
        if m.meta.name != "default" {
            out.push(
                Diagnostic::new(
                    RuleId::MX206,
                    format!(
                        "a ServiceMeshMember must be named `default`, not `{}`",
                        m.meta.name
                    ),
                )
                .at(m.meta.loc("/metadata/name"))
                .resource(m.meta.display()),
            );
        }
    }
    let mut per_ns: BTreeMap<&str, usize> = BTreeMap::new();
    for cp in &mesh.control_planes {
        let r = cp.meta.display();
        let n = per_ns.entry(cp.meta.namespace.as_str()).or_default();
        *n += 1;
        if *n > 1 {
            out.push(
                Diagnostic::new(
                    RuleId::MX207,
                    "only one service mesh may be installed per project/namespace",
                )
                .at(cp.meta.key_loc("/metadata/namespace"))
                .resource(&r),
            );
        }
        let v = cp
            .version
            .as_deref()
            .and_then(MeshVersion::parse)
            .unwrap_or(mesh.version);
        let j = &cp.meta.doc.json();
        let s = |p: &str| j.pointer(p).and_then(|x| x.as_str());
        let mut reject = |ptr: &str, msg: String| {
            out.push(
                Diagnostic::new(RuleId::MX207, msg)
                    .at(cp.meta.loc(ptr))
                    .resource(&r),
            );
        };
        if v >= MeshVersion::V2_1 {
            for (ptr, what) in [
                ("/spec/policy/type", "policy"),
                ("/spec/telemetry/type", "telemetry"),
            ] {
                if s(ptr) == Some("Mixer") {
                    reject(ptr, format!("Mixer {what} is not supported in {v}: the operator rejects this control plane"));
                }
            }
            for (ptr, what) in [
                ("/spec/policy/mixer", "policy.mixer"),
                ("/spec/telemetry/mixer", "telemetry.mixer"),
            ] {
                if j.pointer(ptr).is_some() {
                    reject(ptr, format!("`{what}` is not supported in {v}: the operator rejects this control plane"));
                }
            }
            if j.pointer("/spec/addons/3scale").is_some() {
                reject("/spec/addons/3scale", "the 3scale addon is rejected from v2.1: configure the 3scale WebAssembly adapter using a ServiceMeshExtension resource".into());
            }
        }
        if v == MeshVersion::V2_2 {
            for dir in ["inbound", "outbound"] {
                let ptr = format!("/spec/proxy/networking/protocol/autoDetect/{dir}");
                if j.pointer(&ptr).and_then(|x| x.as_bool()) == Some(true) {
                    reject(&ptr, format!("protocol auto-detection for {dir} traffic cannot be enabled on v2.2: the operator rejects this control plane"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture;

    #[test]
    fn the_member_roll_webhook_rules() {
        let found = fixture::check(
            &Operator,
            "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: v2.2}\n---\n\
apiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {name: default, namespace: istio-system}\nspec:\n  members: [shop, shop, Bad_NS, istio-system]\n",
        );
        assert_eq!(
            fixture::positions(&found),
            ["MX206 10:19", "MX206 10:25", "MX206 10:33"]
        );
        assert!(found[0].message.ends_with("duplicate member `shop`"));
    }
}
