//! MX311: what a release's validation rejects in a WasmPlugin's `selector`, `targetRef` and
//! `targetRefs` (istio/istio `pkg/config/validation/validation.go` `ValidateWasmPlugin`:
//! `validateOneOfSelectorType`, `validateWorkloadSelector`, `validatePolicyTargetReference(s)`;
//! the CRD's CEL rules from istio/api release-1.23/1.24).

use super::wasm_plugin::{self as wp, istio};
use crate::diag::Diagnostic;
use crate::model::{IstioVersion, PolicyTargetRef, WasmPlugin};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct WasmPluginSelection;

impl Unit for WasmPluginSelection {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX311]
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
            let mut problems = Vec::new();
            one_of(p, v, &mut problems);
            labels(p, v, &mut problems);
            target_refs(p, v, &mut problems);
            for (ptr, what, help) in problems {
                out.push(
                    Diagnostic::new(
                        RuleId::MX311,
                        format!("{label} rejects the WasmPlugin: {what}"),
                    )
                    // `@` points at the key (which field), otherwise at the value.
                    .at(match ptr.strip_prefix('@') {
                        Some(key) => p.meta.key_loc(key),
                        None => p.meta.loc(&ptr),
                    })
                    .resource(p.meta.display())
                    .help(help),
                );
            }
        }
    }
}

type Problems = Vec<(String, String, String)>;

/// Kubernetes kinds a `targetRef` may name, with the release whose webhook first accepts them
/// (`allowedTargetRefs`; 1.20–1.21 accept only a Gateway API Gateway). `core` is the group of
/// Service, also written as "".
const TARGET_KINDS: &[(&str, &str, IstioVersion)] = &[
    ("gateway.networking.k8s.io", "Gateway", istio(20)),
    ("core", "Service", istio(22)),
    ("networking.istio.io", "ServiceEntry", istio(24)),
    ("gateway.networking.k8s.io", "GatewayClass", istio(25)),
];

/// More than one of `selector`, `targetRef`, `targetRefs` (from 1.20, when `targetRef` came).
fn one_of(p: &WasmPlugin, v: IstioVersion, out: &mut Problems) {
    if v < istio(20) {
        return;
    }
    let set: Vec<&str> = ["selector", "targetRef", "targetRefs"]
        .into_iter()
        .filter(|f| wp::has_in(f, v) && wp::has_field(&p.meta, f))
        .filter(|f| {
            *f != "targetRefs"
                || p.meta.doc.root.pointer("/spec/targetRefs").is_some_and(
                    |(_, n)| !matches!(&n.value, crate::load::yaml::Value::Seq(s) if s.is_empty()),
                )
        })
        .collect();
    if set.len() > 1 {
        // The webhook's message names targetRef until 1.21, targetRefs from 1.22.
        let msg = if v < istio(22) {
            "only one of targetRef or workloadSelector can be set"
        } else {
            "only one of targetRefs or workloadSelector can be set"
        };
        out.push((
            format!("@/spec/{}", set[1]),
            format!("\"{msg}\" (`{}` and `{}` are both set)", set[0], set[1]),
            "select workloads with `selector` or attach with `targetRefs`, not both".into(),
        ));
    }
}

/// `selector.matchLabels`: no empty key, no `*` (webhook, every release); values of at most 63
/// characters (CRD from 1.23).
fn labels(p: &WasmPlugin, v: IstioVersion, out: &mut Problems) {
    let Some(labels) = &p.selector else { return };
    for (k, val) in labels {
        let ptr = format!(
            "/spec/selector/matchLabels/{}",
            k.replace('~', "~0").replace('/', "~1")
        );
        if k.is_empty() {
            out.push((
                ptr.clone(),
                format!("empty key is not supported in selector: \"={val}\""),
                "give the label a key".into(),
            ));
        }
        if k.contains('*') || val.contains('*') {
            out.push((
                ptr.clone(),
                format!("wildcard is not supported in selector: \"{k}={val}\""),
                "selectors match label values exactly; list the workloads' labels".into(),
            ));
        }
        if v >= istio(23) && val.chars().count() > 63 {
            out.push((
                ptr,
                format!(
                    "the value of label `{k}` is longer than 63 characters (CRD from Istio 1.23)"
                ),
                "label values are at most 63 characters; no workload can carry this one".into(),
            ));
        }
    }
}

/// `validatePolicyTargetReference` per entry, and at most 16 `targetRefs` (CRD from 1.24).
fn target_refs(p: &WasmPlugin, v: IstioVersion, out: &mut Problems) {
    let kept = |r: &&PolicyTargetRef| {
        let field = if r.pointer == "/spec/targetRef" {
            "targetRef"
        } else {
            "targetRefs"
        };
        wp::has_in(field, v) // pruned ones are MX309's
    };
    let refs: Vec<&PolicyTargetRef> = p.target_refs.iter().filter(kept).collect();
    for r in &refs {
        if r.name.as_deref().unwrap_or("").is_empty() {
            out.push((
                r.pointer.clone(),
                "targetRef name must be set".into(),
                "name the Gateway or Service to attach to".into(),
            ));
        }
        if r.namespace.as_deref().is_some_and(|n| !n.is_empty()) {
            out.push((
                format!("{}/namespace", r.pointer),
                "targetRef namespace must not be set; cross namespace referencing is not supported"
                    .into(),
                "remove `namespace`: the target is in the plugin's namespace".into(),
            ));
        }
        let kind = r.kind.as_deref().unwrap_or("");
        let group = match r.group.as_deref().unwrap_or("") {
            "" => "core",
            g => g,
        };
        let allowed: Vec<String> = TARGET_KINDS
            .iter()
            .filter(|(_, _, since)| *since <= v)
            .map(|(g, k, _)| format!("{g}/{k}"))
            .collect();
        let ok = TARGET_KINDS
            .iter()
            .any(|(g, k, since)| *since <= v && *g == group && *k == kind);
        if !ok {
            let newer = TARGET_KINDS
                .iter()
                .find(|(g, k, since)| *since > v && *g == group && *k == kind);
            let help = match newer {
                Some((_, _, since)) => format!(
                    "{group}/{kind} is accepted from {}; attach to one of {} here",
                    wp::first_with(*since),
                    allowed.join(", ")
                ),
                None => format!("attach to one of {}", allowed.join(", ")),
            };
            let written = r.group.as_deref().unwrap_or("");
            let what = if v < istio(22) {
                format!("targetRef Group and/or Kind don't match; expected: [Group: gateway.networking.k8s.io, Kind: Gateway], got: [Group: {written}, Kind: {kind}]")
            } else {
                format!(
                    "targetRef must be to one of {} but was {written}/{kind}",
                    allowed.join(", ")
                )
            };
            out.push((format!("{}/kind", r.pointer), what, help));
        }
    }
    let listed = refs
        .iter()
        .filter(|r| r.pointer != "/spec/targetRef")
        .count();
    if v >= istio(24) && listed > 16 {
        out.push((
            "/spec/targetRefs/16".into(),
            format!("{listed} targetRefs, more than the 16 the CRD allows from Istio 1.24"),
            "split the plugin, or attach to fewer targets".into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture::positions;
    use crate::rules::resources::wasm_plugin::support::{on_istio, on_ossm, WP};

    fn istio(text: &str, release: &str) -> Vec<Diagnostic> {
        on_istio(&WasmPluginSelection, text, release)
    }

    #[test]
    fn selector_and_target_refs_exclude_each_other() {
        let text = format!("{WP}  selector: {{matchLabels: {{app: web}}}}\n  targetRef: {{group: gateway.networking.k8s.io, kind: Gateway, name: gw}}\n");
        let d = istio(&text, "1.20");
        assert_eq!(positions(&d), ["MX311 7:3"]);
        assert!(
            d[0].message
                .contains("only one of targetRef or workloadSelector"),
            "{}",
            d[0].message
        );
        assert!(istio(&text, "1.24")[0]
            .message
            .contains("only one of targetRefs"));
        // 1.19 prunes targetRef (MX309): nothing to reject.
        assert!(istio(&text, "1.19").is_empty());
        // An empty targetRefs list is not "set".
        let empty = format!("{WP}  selector: {{matchLabels: {{app: web}}}}\n  targetRefs: []\n");
        assert!(istio(&empty, "1.24").is_empty());
    }

    #[test]
    fn target_kinds_per_release() {
        let svc = format!("{WP}  targetRefs: [{{kind: Service, name: web}}]\n");
        let d = istio(&svc, "1.22");
        assert!(d.is_empty(), "{d:?}");
        let gw_on_1_20 = format!("{WP}  targetRef: {{kind: Service, name: web}}\n");
        let d = istio(&gw_on_1_20, "1.20");
        assert_eq!(positions(&d), ["MX311 6:21"]);
        assert!(
            d[0].message.contains("got: [Group: , Kind: Service]"),
            "{}",
            d[0].message
        );
        assert!(d[0]
            .help
            .as_deref()
            .unwrap()
            .contains("accepted from Istio 1.22"));
        let se = format!(
            "{WP}  targetRefs: [{{group: networking.istio.io, kind: ServiceEntry, name: db}}]\n"
        );
        assert_eq!(istio(&se, "1.23").len(), 1);
        assert!(istio(&se, "1.24").is_empty());
        let class = format!("{WP}  targetRefs: [{{group: gateway.networking.k8s.io, kind: GatewayClass, name: istio-waypoint}}]\n");
        assert_eq!(istio(&class, "1.24").len(), 1);
        assert!(istio(&class, "1.25").is_empty());
    }

    #[test]
    fn target_ref_name_and_namespace() {
        let text = format!("{WP}  targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, namespace: other}}]\n");
        let d = istio(&text, "1.24");
        assert_eq!(positions(&d), ["MX311 6:16", "MX311 6:77"]);
        assert!(d[0].message.ends_with("targetRef name must be set"));
    }

    #[test]
    fn too_many_target_refs_from_1_24() {
        let refs: Vec<String> = (0..17)
            .map(|i| format!("{{kind: Service, name: s{i}}}"))
            .collect();
        let text = format!("{WP}  targetRefs: [{}]\n", refs.join(", "));
        assert_eq!(istio(&text, "1.24").len(), 1);
        assert!(istio(&text, "1.23").is_empty());
    }

    #[test]
    fn selector_labels() {
        let text = format!("{WP}  selector: {{matchLabels: {{app: '*', '': x}}}}\n");
        let d = on_ossm(&WasmPluginSelection, &text, "v2.2");
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d.iter().any(|d| d
            .message
            .contains("wildcard is not supported in selector: \"app=*\"")));
        let long = format!(
            "{WP}  selector: {{matchLabels: {{app: {}}}}}\n",
            "a".repeat(64)
        );
        assert_eq!(istio(&long, "1.23").len(), 1);
        assert!(istio(&long, "1.22").is_empty());
    }
}
