//! MX309/MX310: a WasmPlugin against its Istio release's CRD. The union schema (MX103/MX104)
//! knows every field of every release; which release has which field or enum value is
//! `rules/abi/wasm_plugin_fields.tsv`, and the constraints a release's CRD added are here.

use super::wasm_plugin::{self as wp, istio};
use crate::diag::Diagnostic;
use crate::load::yaml::{Node, Value};
use crate::model::{IstioVersion, WasmPlugin};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct WasmPluginSchema;

impl Unit for WasmPluginSchema {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX309, RuleId::MX310]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let Some(v) = wp::release(facts.mesh) else {
            return;
        };
        let label = wp::label(facts.mesh, v);
        for p in &facts.mesh.wasm_plugins {
            pruned(p, v, &label, out);
            rejected_values(p, v, &label, out);
        }
    }
}

/// MX309: fields the release's CRD does not have; its structural schema prunes them.
fn pruned(p: &WasmPlugin, v: IstioVersion, label: &str, out: &mut Vec<Diagnostic>) {
    for row in wp::fields()
        .iter()
        .filter(|r| r.value.is_none() && r.since > v)
    {
        if !wp::has_field(&p.meta, row.field) {
            continue;
        }
        let ptr = format!("/spec/{}", row.field);
        out.push(
            Diagnostic::new(
                RuleId::MX309,
                format!(
                    "`{}` is not in the WasmPlugin API of {label}: the API server prunes it silently, so {}",
                    row.field, row.without
                ),
            )
            .at(p.meta.key_loc(&ptr))
            .resource(p.meta.display())
            .help(format!(
                "the field arrived in {}; remove it, or upgrade the control plane",
                wp::first_with(row.since)
            )),
        );
    }
}

/// The release from which the CRD has `minLength: 1` on these strings and keys `match[].ports`
/// by number (istio/api release-1.20 `customresourcedefinitions.gen.yaml`).
const CRD_CONSTRAINTS: IstioVersion = istio(20);

/// MX310: values the release's CRD rejects though a newer one accepts them.
fn rejected_values(p: &WasmPlugin, v: IstioVersion, label: &str, out: &mut Vec<Diagnostic>) {
    let reject = |ptr: &str, what: String, help: String| {
        Diagnostic::new(
            RuleId::MX310,
            format!("{what}: the API server of {label} rejects the WasmPlugin"),
        )
        .at(p.meta.loc(ptr))
        .resource(p.meta.display())
        .help(help)
    };
    for row in wp::fields().iter().filter(|r| r.since > v) {
        let Some(value) = row.value else { continue };
        if !wp::has_in(row.field, v) {
            continue; // pruned with its field (MX309)
        }
        let ptr = format!("/spec/{}", row.field);
        if p.meta.doc.str_at(&ptr) == Some(value) {
            out.push(reject(
                &ptr,
                format!("`{}: {value}` is not in this release's enum", row.field),
                format!(
                    "the value arrived in {}; use another value or upgrade the control plane",
                    wp::first_with(row.since)
                ),
            ));
        }
    }
    if v < CRD_CONSTRAINTS {
        return;
    }
    for field in ["pluginName", "imagePullSecret"] {
        let ptr = format!("/spec/{field}");
        if p.meta.doc.str_at(&ptr) == Some("") {
            out.push(reject(
                &ptr,
                format!("`{field}` is empty (minLength 1 from Istio 1.20)"),
                format!("remove `{field}` instead of leaving it empty"),
            ));
        }
    }
    // `match[].ports` is a list-map keyed by `number`: a repeated number is a duplicate key.
    for sel in &p.matches {
        let ports = format!("{}/ports", sel.pointer);
        let Some((
            _,
            Node {
                value: Value::Seq(items),
                ..
            },
        )) = p.meta.doc.root.pointer(&ports)
        else {
            continue;
        };
        let mut seen = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let Some(Value::Int(n)) = item.get("number").map(|n| &n.value) else {
                continue;
            };
            if seen.contains(n) {
                out.push(reject(
                    &format!("{ports}/{i}/number"),
                    format!("port {n} is listed twice in this traffic selector (`ports` is keyed by `number` from Istio 1.20)"),
                    "list each port once".into(),
                ));
            }
            seen.push(*n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture::positions;
    use crate::rules::resources::wasm_plugin::support::{on_istio, on_ossm, WP};

    fn istio(text: &str, release: &str) -> Vec<Diagnostic> {
        on_istio(&WasmPluginSchema, text, release)
    }

    #[test]
    fn fields_newer_than_the_release_are_pruned() {
        let spec = "  vmConfig: {env: [{name: A, value: b}]}\n  match: [{mode: SERVER}]\n  failStrategy: FAIL_OPEN\n  type: HTTP\n  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}\n  targetRefs: null\n";
        let on = |v: &str| on_ossm(&WasmPluginSchema, &format!("{WP}{spec}"), v);
        let found = on("v2.2");
        assert_eq!(
            positions(&found),
            [
                "MX309 6:3",
                "MX309 7:3",
                "MX309 8:3",
                "MX309 10:3",
                "MX309 9:3"
            ]
        );
        assert!(
            found[1].message.contains("Istio 1.12 (OSSM v2.2)"),
            "{}",
            found[1].message
        );
        assert!(found[1].message.contains("applies to all traffic"));
        assert_eq!(
            found[1].help.as_deref(),
            Some("the field arrived in Istio 1.16, OSSM v2.4; remove it, or upgrade the control plane")
        );
        // v2.4 (1.16) has vmConfig and match; v2.6 (1.20) has everything written here.
        assert_eq!(on("v2.4").len(), 3);
        assert!(on("v2.6").is_empty());
    }

    #[test]
    fn target_refs_need_istio_1_22() {
        let text = format!(
            "{WP}  targetRefs: [{{kind: Gateway, group: gateway.networking.k8s.io, name: gw}}]\n"
        );
        let d = istio(&text, "1.21");
        assert_eq!(positions(&d), ["MX309 6:3"]);
        assert!(d[0].message.contains("every workload in its namespace"));
        assert!(istio(&text, "1.22").is_empty());
    }

    #[test]
    fn fail_reload_is_rejected_before_1_27() {
        let text = format!("{WP}  failStrategy: FAIL_RELOAD\n");
        let d = istio(&text, "1.26");
        assert_eq!(positions(&d), ["MX310 6:17"]);
        // An IstioOperator mesh is plain Istio: no OSSM version is named.
        assert!(
            d[0].message.contains("API server of Istio 1.26 rejects"),
            "{}",
            d[0].message
        );
        assert!(istio(&text, "1.27").is_empty());
        // On 1.18 the field itself is pruned: MX309 only.
        assert_eq!(positions(&istio(&text, "1.18")), ["MX309 6:3"]);
    }

    #[test]
    fn constraints_added_in_1_20() {
        let text = format!("{WP}  pluginName: ''\n  match: [{{ports: [{{number: 80}}, {{number: 81}}, {{number: 80}}]}}]\n");
        let d = istio(&text, "1.20");
        assert_eq!(positions(&d), ["MX310 6:15", "MX310 7:57"]);
        assert!(istio(&text, "1.18").is_empty());
    }

    #[test]
    fn every_field_is_pruned_exactly_before_its_release() {
        // A valid value per field, so that nothing but the release decides.
        let value = |f: &str| match f {
            "selector" => "{matchLabels: {app: web}}",
            "url" => "oci://q.io/a:1",
            "sha256" => "''",
            "imagePullPolicy" => "IfNotPresent",
            "pluginConfig" | "vmConfig" => "{}",
            "priority" => "1",
            "phase" => "AUTHZ",
            "match" => "[]",
            "failStrategy" => "FAIL_CLOSE",
            "targetRef" => "{group: gateway.networking.k8s.io, kind: Gateway, name: gw}",
            "targetRefs" => "[]",
            "type" => "HTTP",
            _ => "x",
        };
        for row in wp::fields().iter().filter(|r| r.value.is_none()) {
            let spec = if row.field == "url" {
                String::new()
            } else {
                format!("  {}: {}\n", row.field, value(row.field))
            };
            for minor in 12..=31 {
                let d = istio(&format!("{WP}{spec}"), &format!("1.{minor}"));
                let pruned = d.iter().any(|d| d.rule == RuleId::MX309);
                assert_eq!(
                    pruned,
                    wp::istio(minor) < row.since,
                    "{} on 1.{minor}: {d:?}",
                    row.field
                );
                assert!(d.iter().all(|d| d.rule == RuleId::MX309), "{d:?}");
            }
        }
    }

    #[test]
    fn meshes_without_the_api_are_not_judged() {
        assert!(on_ossm(&WasmPluginSchema, &format!("{WP}  match: []\n"), "v2.1").is_empty());
    }
}
