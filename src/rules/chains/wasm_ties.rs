//! MX615: WasmPlugins that share phase and effective priority on a listener, so their order is
//! decided by creation time and names, or by the namespace order that flips at Istio 1.20.

use super::{with_workloads, workload_list, Hits};
use crate::chain::wasm::{self, WasmInfo};
use crate::chain::WorkloadChain;
use crate::diag::Diagnostic;
use crate::model::{IstioVersion, Mesh};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) struct WasmTies;

impl Unit for WasmTies {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX615]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let Some(istio) = wasm::mesh_istio(facts.mesh) else {
            return;
        };
        // (earlier plugin, later plugin) → the chains where they tie, one per workload.
        let mut ties: BTreeMap<(usize, usize), Hits> = BTreeMap::new();
        for (ci, c) in facts.chains.iter().enumerate() {
            scan(c, ci, facts.chains, &mut ties);
        }
        for (&(a, b), hits) in &ties {
            if let Some(d) = finding(facts.mesh, istio, a, b, facts.chains, hits) {
                out.push(with_workloads(d, facts.mesh, facts.chains, hits));
            }
        }
    }
}

fn scan(
    c: &WorkloadChain,
    ci: usize,
    all: &[WorkloadChain],
    ties: &mut BTreeMap<(usize, usize), Hits>,
) {
    let http: Vec<&Arc<WasmInfo>> = c.wasm_plugins().collect();
    // NETWORK plugins tie among the network filters of each kind of filter chain.
    let lists = std::iter::once(http).chain(c.network.iter().map(|n| n.wasm_plugins().collect()));
    for plugins in lists {
        scan_list(&plugins, c, ci, all, ties);
    }
}

fn scan_list(
    plugins: &[&Arc<WasmInfo>],
    c: &WorkloadChain,
    ci: usize,
    all: &[WorkloadChain],
    ties: &mut BTreeMap<(usize, usize), Hits>,
) {
    for pair in plugins.windows(2) {
        let (x, y) = (pair[0], pair[1]);
        if x.phase == y.phase && x.effective_priority == y.effective_priority {
            let hits = ties.entry((x.index, y.index)).or_default();
            // One line per workload, whatever its listener entries (adjacent in `all`).
            if hits
                .last()
                .is_none_or(|(h, _)| all[*h].workload != c.workload)
            {
                hits.push((ci, String::new()));
            }
        }
    }
}

fn finding(
    mesh: &Mesh,
    istio: IstioVersion,
    a: usize,
    b: usize,
    chains: &[WorkloadChain],
    hits: &Hits,
) -> Option<Diagnostic> {
    let (pa, pb) = (mesh.wasm_plugins.get(a)?, mesh.wasm_plugins.get(b)?);
    let m = wasm::minor(istio);
    let prio = match pa.priority {
        Some(p) => format!("priority {p}"),
        None if pb.priority.is_none() => "no priority (both sort after every explicit one)".into(),
        // From 1.19 an explicit MinInt32 is what unset means.
        None => format!("priority {} (what unset means from Istio 1.19)", i32::MIN),
    };
    let phase = wasm::WasmPhase::parse(pa.phase.as_deref()).map_or("?", |p| p.as_str());
    let why = if pa.meta.namespace != pb.meta.namespace {
        let order = if m >= 20 {
            "the workload's namespace before the root namespace (Istio 1.20+; before 1.20 it was root first)"
        } else {
            "the root namespace before the workload's namespace (Istio ≤1.19; 1.20+ reverses it)"
        };
        format!("istiod keeps its namespace order: {order}")
    } else {
        let names = if m <= 22 {
            "then the `name.namespace` string"
        } else {
            "then name and namespace"
        };
        let created = |p: &crate::model::WasmPlugin| p.meta.creation_timestamp.clone();
        let by = match (created(pa), created(pb)) {
            (Some(x), Some(y)) if x != y => {
                format!("creation time ({x} before {y}): recreating one of them reverses the order")
            }
            _ => format!("creation time, {names}: the order changes when one of them is recreated"),
        };
        format!("istiod orders them by {by}")
    };
    let list = workload_list(chains, hits);
    let loc_ptr = if pb.priority.is_some() {
        "/spec/priority"
    } else {
        "/metadata/name"
    };
    Some(
        Diagnostic::new(
            RuleId::MX615,
            format!(
                "WasmPlugins `{}/{}` and `{}/{}` share phase {phase} and {prio} on {list}; {why}",
                pa.meta.namespace,
                pa.meta.name,
                pb.meta.namespace,
                pb.meta.name
            ),
        )
        .at(pb.meta.key_loc(loc_ptr))
        .resource(pb.meta.display())
        .related(pa.meta.key_loc("/metadata/name"), "the WasmPlugin it ties with")
        .help("Give each WasmPlugin of a phase a distinct `priority` (higher runs first); an unset priority sorts after every explicit one, not at 0."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fixture;

    fn mesh(version: &str, plugins: &str) -> String {
        fixture::shop_web(version, "") + plugins
    }

    fn wp(ns: &str, name: &str, priority: &str) -> String {
        format!(
            "---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: {name}, namespace: {ns}}}
spec:
  url: oci://quay.io/acme/{name}:1.0
  phase: STATS
{priority}"
        )
    }

    #[test]
    fn distinct_priorities_do_not_tie() {
        let y = mesh(
            "v2.6",
            &(wp("shop", "a", "  priority: 2\n") + &wp("shop", "b", "  priority: 1\n")),
        );
        assert!(fixture::check(&WasmTies, &y).is_empty());
    }

    #[test]
    fn a_root_and_a_local_tie_names_the_1_20_flip() {
        let plugins =
            wp("istio-system", "r", "  priority: 5\n") + &wp("shop", "l", "  priority: 5\n");
        let found = fixture::check(&WasmTies, &mesh("v2.6", &plugins));
        assert_eq!(found.len(), 1);
        assert!(
            found[0].message.contains("`shop/l` and `istio-system/r`")
                && found[0].message.contains("before 1.20 it was root first"),
            "{}",
            found[0].message
        );
        let found = fixture::check(&WasmTies, &mesh("v2.5", &plugins));
        assert!(
            found[0].message.contains("`istio-system/r` and `shop/l`")
                && found[0].message.contains("1.20+ reverses it"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn network_plugins_tie_on_network_filters_only() {
        let net = |name: &str, prio: &str| wp("shop", name, &format!("  type: NETWORK\n{prio}"));
        let y = mesh("v2.6", &(net("a", "") + &net("b", "")));
        let found = fixture::check(&WasmTies, &y);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("`shop/a` and `shop/b`"));
        let y = mesh(
            "v2.6",
            &(net("a", "  priority: 2\n") + &net("b", "  priority: 1\n")),
        );
        assert!(fixture::check(&WasmTies, &y).is_empty());
        // An HTTP and a NETWORK plugin of one phase are on different filter lists.
        let y = mesh("v2.6", &(net("a", "") + &wp("shop", "b", "")));
        assert!(fixture::check(&WasmTies, &y).is_empty());
    }

    #[test]
    fn no_wasm_plugins_before_v2_2() {
        let y = mesh("v2.1", &(wp("shop", "a", "") + &wp("shop", "b", "")));
        assert!(fixture::check(&WasmTies, &y).is_empty());
        let y = mesh("v2.2", &(wp("shop", "a", "") + &wp("shop", "b", "")));
        assert_eq!(fixture::check(&WasmTies, &y).len(), 1);
    }
}
