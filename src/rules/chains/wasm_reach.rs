//! Where WasmPlugins do not go where their author expects: MX616 (`match` that applies to no
//! listener of the workloads it selects), MX617 (a selector that selects no workload), MX618
//! (targetRefs, which attach only to Gateway API gateways), MX619 (the sidecar outbound
//! coverage the version implies).

use super::{with_workloads, workload_list, Hits};
use crate::chain::wasm::{self, Attach, OffReason};
use crate::chain::{Listener, WorkloadChain};
use crate::diag::Diagnostic;
use crate::model::index::WorkloadsByLabel;
use crate::model::{IstioVersion, Mesh, WasmPlugin};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use std::collections::BTreeMap;

pub(crate) struct WasmReach;

impl Unit for WasmReach {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX616, RuleId::MX617, RuleId::MX618, RuleId::MX619]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mesh = facts.mesh;
        let Some(istio) = wasm::mesh_istio(mesh) else {
            return;
        };
        let per = Placement::of(facts.chains);
        selection(mesh, istio, out);
        for (i, p) in mesh.wasm_plugins.iter().enumerate() {
            let empty = PluginPlacement::default();
            let pl = per.by_plugin.get(&i).unwrap_or(&empty);
            never_matches(p, istio, pl, facts, out);
            coverage(mesh, istio, p, pl, facts, out);
        }
    }
}

/// Where each plugin is attached and placed, from the chain entries.
#[derive(Default)]
struct Placement {
    by_plugin: BTreeMap<usize, PluginPlacement>,
}

#[derive(Default)]
struct PluginPlacement {
    /// Entries that attach the plugin, with the reason it is left off (`None`: placed) and
    /// the listener port the entry stands for. A NETWORK plugin's entries are the network
    /// stacks (its HTTP entries only say it is not an HTTP filter).
    entries: Vec<(usize, Option<OffReason>, Option<i64>)>,
    /// A NETWORK plugin (placed among network filters, never HTTP ones).
    network: bool,
}

impl Placement {
    fn of(chains: &[WorkloadChain]) -> Placement {
        let mut out = Placement::default();
        for (ci, c) in chains.iter().enumerate() {
            for &i in &c.wasm_attached {
                // Every attached plugin is either on the chain or in `wasm_left_off`.
                let reason = c.wasm_left_off.iter().find(|l| l.index == i).map(|l| l.why);
                let pl = out.by_plugin.entry(i).or_default();
                if reason == Some(OffReason::Network) {
                    pl.network = true;
                } else {
                    pl.entries.push((ci, reason, c.port));
                }
            }
            for n in &c.network {
                for p in n.wasm_plugins() {
                    let pl = out.by_plugin.entry(p.index).or_default();
                    pl.network = true;
                    pl.entries.push((ci, None, n.port));
                }
                for l in &n.left_off {
                    let pl = out.by_plugin.entry(l.index).or_default();
                    pl.network = true;
                    pl.entries.push((ci, Some(l.why), n.port));
                }
            }
        }
        out
    }
}

/// MX616: the plugin selects workloads with a proxy and HTTP chain, but its `match` keeps it off
/// every listener they have.
fn never_matches(
    p: &WasmPlugin,
    istio: IstioVersion,
    pl: &PluginPlacement,
    facts: &Facts,
    out: &mut Vec<Diagnostic>,
) {
    if !wasm::has_match(istio) || p.matches.is_empty() || pl.entries.is_empty() {
        return;
    }
    let all_match = pl
        .entries
        .iter()
        .all(|(_, r, _)| r.is_some_and(OffReason::is_match));
    if !all_match {
        return;
    }
    let chains = facts.chains;
    let mut hits: Hits = Vec::new();
    for (ci, _, _) in &pl.entries {
        // A workload's entries are adjacent in `chains`: one line per workload.
        if hits
            .last()
            .is_none_or(|(h, _)| chains[*h].workload != chains[*ci].workload)
        {
            hits.push((*ci, String::new()));
        }
    }
    let classes: Vec<&str> = {
        let mut v: Vec<Listener> = pl
            .entries
            .iter()
            .map(|(ci, _, _)| chains[*ci].listener)
            .collect();
        v.sort();
        v.dedup();
        v.into_iter().map(Listener::as_str).collect()
    };
    let ports: Vec<String> = {
        let mut v: Vec<i64> = pl
            .entries
            .iter()
            // Port 0: the inbound passthrough chain, which has no port to match.
            .filter_map(|(_, _, port)| port.filter(|p| *p != 0))
            .collect();
        v.sort_unstable();
        v.dedup();
        v.iter().map(i64::to_string).collect()
    };
    let server_on_gateways = classes == ["gateway"]
        && p.matches
            .iter()
            .all(|m| m.mode.as_deref() == Some("SERVER"));
    let kind = if pl.network {
        "network filter chain (TCP, or before the HTTP connection manager)"
    } else {
        "listener"
    };
    let why = if server_on_gateways {
        "`mode: SERVER` never applies to a gateway: istiod matches gateway listeners as CLIENT"
            .to_string()
    } else if ports.is_empty() {
        format!("no {} {kind} matches its mode and ports", classes.join("/"))
    } else {
        format!(
            "no {} {kind} matches its mode and ports (listener ports: {})",
            classes.join("/"),
            ports.join(", ")
        )
    };
    let d = Diagnostic::new(
        RuleId::MX616,
        format!(
            "WasmPlugin `{}/{}` runs nowhere: {why}; it selects {}",
            p.meta.namespace,
            p.meta.name,
            workload_list(chains, &hits)
        ),
    )
    .at(p.meta.key_loc("/spec/match"))
    .resource(p.meta.display())
    .help(if pl.network {
        "Sidecar inbound is SERVER, sidecar outbound and gateways are CLIENT. For a NETWORK plugin, inbound TCP chains match the Service port (not the container port), the network filters before HTTP the container port; outbound matches the service port, gateways their listener port."
    } else {
        "Sidecar inbound is SERVER, sidecar outbound and gateways are CLIENT. Ports are the inbound target port (the container port), the outbound service port, and the gateway's listener port (the gateway Service's targetPort, e.g. 8080 for port 80)."
    });
    out.push(with_workloads(d, facts.mesh, chains, &hits));
}

/// MX617 (selector selects no workload in scope) and MX618 (targetRefs that attach nowhere;
/// ignored on every workload that is not a Gateway API gateway).
fn selection(mesh: &Mesh, istio: IstioVersion, out: &mut Vec<Diagnostic>) {
    let root = mesh.control_plane_namespace().unwrap_or("istio-system");
    let members = mesh.mesh_namespaces();
    let by_label = WorkloadsByLabel::new(&mesh.workloads);
    for p in &mesh.wasm_plugins {
        let mesh_wide = p.meta.namespace == root;
        let in_scope = |ns: &str| {
            if mesh_wide {
                members.is_empty() || members.contains(ns)
            } else {
                ns == p.meta.namespace
            }
        };
        let refs_read = p.target_refs.iter().any(|r| {
            let m = wasm::minor(istio);
            if r.pointer == "/spec/targetRef" {
                m >= 20
            } else {
                m >= 22
            }
        });
        if refs_read {
            let hit = mesh
                .workloads
                .iter()
                .filter(|w| w.meta.namespace == p.meta.namespace)
                .any(|w| wasm::attach(istio, p, w) == Attach::Direct);
            if !hit {
                let first = p
                    .target_refs
                    .first()
                    .map_or("/spec/targetRefs", |r| r.pointer.as_str());
                out.push(
                    Diagnostic::new(
                        RuleId::MX618,
                        format!(
                            "WasmPlugin `{}/{}` attaches to nothing: its targetRef(s) name no Gateway API gateway of namespace `{}` among the inputs, and a WasmPlugin with targetRefs is ignored entirely on every other workload",
                            p.meta.namespace,
                            p.meta.name,
                            p.meta.namespace
                        ),
                    )
                    .at(p.meta.key_loc(first))
                    .resource(p.meta.display())
                    .help("targetRefs select a Kubernetes Gateway API `Gateway` (group gateway.networking.k8s.io, kind Gateway) in the same namespace, whose pods carry the label gateway.networking.k8s.io/gateway-name. For sidecars and istio-ingressgateway Deployments, use `selector.matchLabels` instead."),
                );
            }
            continue;
        }
        let Some(sel) = p.selector.as_ref().filter(|s| !s.is_empty()) else {
            continue;
        };
        if by_label.selected(sel).any(|w| in_scope(&w.meta.namespace)) {
            continue;
        }
        let scope = if mesh_wide {
            "the mesh".to_string()
        } else {
            format!("namespace `{}`", p.meta.namespace)
        };
        let wanted = sel
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        out.push(
            Diagnostic::new(
                RuleId::MX617,
                format!(
                    "WasmPlugin `{}/{}` selects no workload: `{wanted}` matches no workload in {scope} among the inputs",
                    p.meta.namespace,
                    p.meta.name
                ),
            )
            .at(p.meta.loc("/spec/selector/matchLabels"))
            .resource(p.meta.display())
            .help("`selector.matchLabels` must be a subset of the pod template labels (`spec.template.metadata.labels`) of a workload in the plugin's namespace, or of the mesh for a plugin in the root namespace."),
        );
    }
}

/// MX619: the plugin reaches sidecar outbound because of the version (Istio 1.14+, OSSM 2.3+),
/// or is kept off it only by OSSM 2.3/2.4's `APPLY_WASM_PLUGINS_TO_INBOUND_ONLY`, which 2.5
/// removes.
fn coverage(
    mesh: &Mesh,
    istio: IstioVersion,
    p: &WasmPlugin,
    pl: &PluginPlacement,
    facts: &Facts,
    out: &mut Vec<Diagnostic>,
) {
    // NETWORK plugins arrive with 1.20, after outbound coverage became the rule.
    if wasm::minor(istio) < 14 || !p.matches.is_empty() && wasm::has_match(istio) || pl.network {
        return;
    }
    let chains = facts.chains;
    let outbound = |placed: bool| -> Hits {
        let mut hits: Hits = Vec::new();
        for (ci, r, _) in &pl.entries {
            let c = &chains[*ci];
            let hit = c.listener == Listener::Outbound
                && if placed {
                    r.is_none()
                } else {
                    *r == Some(OffReason::InboundOnly)
                };
            // A workload's entries are adjacent in `chains`: one line per workload.
            if hit
                && hits
                    .last()
                    .is_none_or(|(h, _)| chains[*h].workload != c.workload)
            {
                hits.push((*ci, String::new()));
            }
        }
        hits
    };
    let placed = outbound(true);
    let held = outbound(false);
    let (hits, msg, help) = if !held.is_empty() {
        (
            held,
            format!(
                "WasmPlugin `{}/{}` is kept off sidecar outbound only by APPLY_WASM_PLUGINS_TO_INBOUND_ONLY on",
                p.meta.namespace,
                p.meta.name
            ),
            "OSSM 2.5 removes the flag: after the upgrade the plugin also runs on every outbound HTTP connection of these sidecars. Add `match: [{mode: SERVER}]` (OSSM 2.4+) to keep it inbound.",
        )
    } else if !placed.is_empty() {
        (
            placed,
            format!(
                "WasmPlugin `{}/{}` runs on sidecar outbound as well as inbound (Istio 1.14+ / OSSM 2.3+; OSSM 2.2 ran it inbound only) on",
                p.meta.namespace,
                p.meta.name
            ),
            if wasm::has_match(istio) {
                "Plugins that read inbound-only state (JWT claims, peer identity) fail on outbound requests. Add `match: [{mode: SERVER}]` to keep it on inbound, or `mode: CLIENT` for outbound only."
            } else {
                "Plugins that read inbound-only state (JWT claims, peer identity) fail on outbound requests. `match` arrives with OSSM 2.4 (Istio 1.16); on OSSM 2.3 set APPLY_WASM_PLUGINS_TO_INBOUND_ONLY on istiod (spec.runtime.components.pilot.container.env)."
            },
        )
    } else {
        return;
    };
    let d = Diagnostic::new(
        RuleId::MX619,
        format!("{msg} {}", workload_list(chains, &hits)),
    )
    .at(p.meta.key_loc("/metadata/name"))
    .resource(p.meta.display())
    .help(help);
    out.push(with_workloads(d, mesh, chains, &hits));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture;

    fn mesh(version: &str, extra_cp: &str, plugin: &str) -> String {
        fixture::shop_web(version, extra_cp)
            + &format!(
                "---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec:
  selector: {{app: web}}
  ports:
    - {{name: http, port: 80, targetPort: 8080}}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: p, namespace: shop}}
spec:
  url: oci://quay.io/acme/p:1.0
{plugin}"
            )
    }

    fn rules(found: &[Diagnostic]) -> Vec<RuleId> {
        found.iter().map(|d| d.rule).collect()
    }

    #[test]
    fn ports_no_listener_has_never_apply() {
        // The service port (80) is not the inbound listener port (8080): SERVER on 80 is dead.
        let f = fixture::check(
            &WasmReach,
            &mesh(
                "v2.6",
                "",
                "  match:\n    - mode: SERVER\n      ports: [{number: 80}]\n",
            ),
        );
        assert_eq!(rules(&f), [RuleId::MX616]);
        let f = fixture::check(
            &WasmReach,
            &mesh(
                "v2.6",
                "",
                "  match:\n    - mode: SERVER\n      ports: [{number: 8080}]\n",
            ),
        );
        assert!(f.is_empty(), "{f:?}");
        // v2.3 prunes `match`: the plugin is everywhere (and reaches outbound).
        let f = fixture::check(
            &WasmReach,
            &mesh(
                "v2.3",
                "",
                "  match:\n    - mode: SERVER\n      ports: [{number: 80}]\n",
            ),
        );
        assert_eq!(rules(&f), [RuleId::MX619]);
    }

    #[test]
    fn outbound_coverage_per_version() {
        // 2.2: inbound only, nothing to say.
        assert!(fixture::check(&WasmReach, &mesh("v2.2", "", "")).is_empty());
        let f = fixture::check(&WasmReach, &mesh("v2.6", "", ""));
        assert_eq!(rules(&f), [RuleId::MX619]);
        assert!(f[0].message.contains("runs on sidecar outbound"));
        // 2.3 with the flag: kept off, but 2.5 drops the flag.
        let flag = "  runtime:\n    components:\n      pilot:\n        container:\n          env: {APPLY_WASM_PLUGINS_TO_INBOUND_ONLY: \"true\"}\n";
        let f = fixture::check(&WasmReach, &mesh("v2.3", flag, ""));
        assert_eq!(rules(&f), [RuleId::MX619]);
        assert!(
            f[0].message.contains("kept off sidecar outbound only by"),
            "{}",
            f[0].message
        );
        // An invalid boolean is Go's default, false.
        let bad = flag.replace("\"true\"", "\"yes\"");
        let f = fixture::check(&WasmReach, &mesh("v2.3", &bad, ""));
        assert!(f[0].message.contains("runs on sidecar outbound"));
        // mode SERVER keeps it inbound on 2.4+.
        let f = fixture::check(
            &WasmReach,
            &mesh("v2.4", "", "  match:\n    - mode: SERVER\n"),
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn network_plugins_are_judged_on_their_network_filters() {
        let net = |m: &str| format!("  type: NETWORK\n{m}");
        // 8080 is the HTTP port: the plugin sits before the HTTP connection manager.
        let f = fixture::check(
            &WasmReach,
            &mesh(
                "v2.6",
                "",
                &net("  match:\n    - mode: SERVER\n      ports: [{number: 8080}]\n"),
            ),
        );
        assert!(f.is_empty(), "{f:?}");
        // The passthrough chain is never a port: 9999 is nowhere.
        let f = fixture::check(
            &WasmReach,
            &mesh(
                "v2.6",
                "",
                &net("  match:\n    - mode: SERVER\n      ports: [{number: 9999}]\n"),
            ),
        );
        assert_eq!(rules(&f), [RuleId::MX616], "{f:?}");
        // No outbound-coverage warning: NETWORK plugins never were inbound only.
        let f = fixture::check(&WasmReach, &mesh("v2.6", "", &net("")));
        assert!(f.is_empty(), "{f:?}");
        // Before 1.20 `type` is pruned: an HTTP plugin, judged as one.
        let f = fixture::check(&WasmReach, &mesh("v2.5", "", &net("")));
        assert_eq!(rules(&f), [RuleId::MX619], "{f:?}");
    }

    #[test]
    fn selector_and_target_refs() {
        let f = fixture::check(
            &WasmReach,
            &mesh("v2.6", "", "  selector:\n    matchLabels: {app: nope}\n"),
        );
        assert_eq!(fixture::positions(&f), ["MX617 35:18"]);
        let gw_ref =
            "  targetRefs:\n    - {group: gateway.networking.k8s.io, kind: Gateway, name: edge}\n";
        let f = fixture::check(&WasmReach, &mesh("v3.0", "", gw_ref));
        assert_eq!(rules(&f), [RuleId::MX618]);
        // With the Gateway API gateway's pods in the inputs it attaches.
        let edge = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: edge, namespace: shop}\nspec:\n  template:\n    metadata:\n      annotations: {sidecar.istio.io/inject: \"true\"}\n      labels: {gateway.networking.k8s.io/gateway-name: edge}\n";
        let f = fixture::check(&WasmReach, &(mesh("v3.0", "", gw_ref) + edge));
        assert!(!rules(&f).contains(&RuleId::MX618), "{f:?}");
        // 1.20 reads only `targetRef`; `targetRefs` (1.22) is pruned, so the plugin is
        // namespace-wide there.
        let f = fixture::check(&WasmReach, &mesh("v2.6", "", gw_ref));
        assert!(!rules(&f).contains(&RuleId::MX618), "{f:?}");
    }
}
