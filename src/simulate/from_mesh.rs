//! Turning a workload's effective filter chain (from `crate::chain`) and its pulled modules
//! (from `crate::extensions`) into the simulator's chain.

use super::{ExtensionFilter, SimFilter, WorkloadInfo};
use crate::chain::{Filter, Gate, WorkloadChain};
use crate::extensions::Resolution;
use crate::model::inject::Injection;
use crate::model::{selector_matches, Mesh};
use std::sync::Arc;

/// The chain of `workload` a scenario runs: its gateway chain, or the sidecar's inbound
/// (default) or outbound one (`direction:`); `port` picks among a class split per port.
pub fn pick_chain<'a>(
    chains: &'a [WorkloadChain],
    workload: &str,
    direction: Option<super::Direction>,
    port: Option<u16>,
) -> Result<&'a WorkloadChain, String> {
    use crate::chain::Listener;
    let of_workload: Vec<&WorkloadChain> = chains.iter().filter(|c| c.key() == workload).collect();
    if of_workload.is_empty() {
        let mut known: Vec<String> = chains.iter().map(|c| c.key()).collect();
        known.dedup();
        known.truncate(10);
        return Err(format!(
            "no workload `{workload}` in the mesh (workloads: {})",
            known.join(", ")
        ));
    }
    let gateway = of_workload.iter().any(|c| c.listener == Listener::Gateway);
    let want = match (gateway, direction) {
        (true, None) => Listener::Gateway,
        (true, Some(d)) => {
            return Err(format!(
                "`{workload}` is a gateway: it has one listener class, so `direction: {}` does not apply",
                if d == super::Direction::Inbound { "inbound" } else { "outbound" }
            ))
        }
        (false, Some(super::Direction::Outbound)) => Listener::Outbound,
        (false, _) => Listener::Inbound,
    };
    let class: Vec<&WorkloadChain> = of_workload
        .into_iter()
        .filter(|c| c.listener == want)
        .collect();
    if class.is_empty() {
        return Err(format!(
            "`{workload}` has no {} chain on this mesh version (sidecar outbound chains are modelled from OSSM 2.3 / Istio 1.14, where WasmPlugins reach them)",
            want.as_str()
        ));
    }
    match port {
        Some(p) => class
            .iter()
            .find(|c| c.port == Some(i64::from(p)))
            .or_else(|| class.iter().find(|c| c.port.is_none()))
            .copied()
            .ok_or_else(|| {
                let ports: Vec<String> = class
                    .iter()
                    .filter_map(|c| c.port)
                    .map(|p| p.to_string())
                    .collect();
                format!(
                    "`{workload}` {} has no chain for port {p} (ports: {})",
                    want.as_str(),
                    ports.join(", ")
                )
            }),
        None if class.len() > 1 => {
            let ports: Vec<String> = class
                .iter()
                .filter_map(|c| c.port)
                .map(|p| p.to_string())
                .collect();
            Err(format!(
                "the {} chains of `{workload}` differ by port ({}): set `port:` in the scenario",
                want.as_str(),
                ports.join(", ")
            ))
        }
        None => Ok(class[0]),
    }
}

/// The simulator chain of `chain`; every extension needs its module (`--images`).
pub fn sim_chain(
    mesh: &Mesh,
    chain: &WorkloadChain,
    res: &Resolution,
) -> Result<Vec<SimFilter>, String> {
    // No proxy or no HTTP connection manager: there is nothing to simulate.
    if let Some(g @ (Gate::NotInjected | Gate::NoHttpServer)) = chain.gate {
        let why = match &chain.injection {
            Injection::NotInjected(why) => why.clone(),
            _ => g.describe().to_string(),
        };
        return Err(format!("{} has no HTTP filter chain: {why}", chain.key()));
    }
    let mut out = Vec::with_capacity(chain.filters.len());
    for f in &chain.filters {
        match f {
            Filter::Builtin { name, .. } => out.push(SimFilter::Builtin {
                name: name.to_string(),
            }),
            // As Envoy runs a WasmPlugin (istiod `buildPluginConfig`, maistra.md §5.5): root id
            // = pluginName, plugin name `<ns>.<name>`, configuration = the JSON of
            // pluginConfig or nothing; the module as the version's fetcher extracts it.
            Filter::WasmPlugin(p) => {
                let wp = &mesh.wasm_plugins[p.index];
                let istio = crate::chain::wasm::mesh_istio(mesh);
                let since = |minor: u8| istio.is_some_and(|v| (v.major, v.minor) >= (1, minor));
                // FAIL_OPEN exists from Istio 1.19 (the CRD prunes it before).
                let fail_open = wp.fail_strategy.as_deref() == Some("FAIL_OPEN") && since(19);
                let image = res.plugins.by_plugin.get(p.index).and_then(|a| a.as_ref());
                let module = match image.and_then(|img| img.fetch.module.clone()) {
                    Some(m) => m,
                    // The image is there but the version's fetcher cannot use it: what the
                    // agent does then (pkg/wasm/convert.go) follows failStrategy and version.
                    None if image.is_some() && fail_open => {
                        out.push(SimFilter::Builtin {
                            name: format!("wasm-default-allow ({}: module not fetched, FAIL_OPEN)", p.key()),
                        });
                        continue;
                    }
                    None if image.is_some() && since(25) => {
                        out.push(SimFilter::Builtin {
                            name: format!(
                                "{} ({}: module not fetched, FAIL_CLOSE)",
                                super::filter_manager::DENY_ALL,
                                p.key()
                            ),
                        });
                        continue;
                    }
                    None if image.is_some() => {
                        return Err(format!(
                            "the istio-agent cannot fetch the module of WasmPlugin {} ({}; `meshext-lint inspect {}` says why), and with failStrategy FAIL_CLOSE {}",
                            p.key(),
                            p.url,
                            p.url.trim_start_matches("oci://"),
                            "the ECDS update is NACKed (Istio ≤ 1.24) and the listener waits for it: this chain does not serve"
                        ))
                    }
                    None => {
                        return Err(format!(
                            "the module of WasmPlugin {} ({}) is not available: pull the image and pass --images",
                            p.key(),
                            p.url
                        ))
                    }
                };
                out.push(SimFilter::Extension(ExtensionFilter {
                    name: p.name.clone(),
                    namespace: p.namespace.clone(),
                    module: Arc::new(module.to_vec()),
                    configuration: crate::plugin_startup::plugin_configuration(
                        wp.plugin_config.as_ref(),
                    ),
                    root_id: wp.plugin_name.clone().unwrap_or_default(),
                    plugin_name: format!("{}.{}", p.namespace, p.name),
                    // Inline `vmConfig.env` only: a HOST variable takes its value from the
                    // proxy container's environment, which the inputs do not hold.
                    env: wp
                        .vm_env
                        .iter()
                        .filter(|v| v.value_from.as_deref().is_none_or(|f| f == "INLINE"))
                        .filter_map(|v| {
                            Some((v.name.clone()?, v.value.clone().unwrap_or_default()))
                        })
                        .collect(),
                    fail_open,
                    ..Default::default()
                }));
            }
            Filter::Extension(x) => {
                let ext = &mesh.extensions[x.index];
                let module = res
                    .by_extension
                    .get(x.index)
                    .and_then(|a| a.as_ref())
                    .and_then(|a| a.module.clone())
                    .ok_or_else(|| {
                        format!(
                            "the module of {} ({}) is not available: pull the image and pass --images (e.g. `skopeo copy docker://{} oci:images:{}`)",
                            ext.meta.display(),
                            x.image,
                            x.image,
                            x.image
                        )
                    })?;
                out.push(SimFilter::Extension(ExtensionFilter {
                    name: x.name.clone(),
                    namespace: x.namespace.clone(),
                    module: Arc::new(module.to_vec()),
                    configuration: super::configuration_for(ext, mesh.version),
                    root_id: format!("{}_root", x.name),
                    plugin_name: x.name.clone(),
                    // istiod's VM identity is not modelled: one VM per extension.
                    ..Default::default()
                }));
            }
        }
    }
    Ok(out)
}

/// Node facts of the workload: labels, and the host and port of its oldest Service.
pub fn workload_info(mesh: &Mesh, chain: &WorkloadChain) -> WorkloadInfo {
    let w = &mesh.workloads[chain.workload];
    let mut info = WorkloadInfo {
        name: w.meta.name.clone(),
        namespace: w.meta.namespace.clone(),
        labels: w.labels.clone(),
        ..WorkloadInfo::default()
    };
    let svc = mesh
        .services
        .iter()
        .filter(|s| s.meta.namespace == w.meta.namespace)
        .find(|s| {
            s.selector
                .as_ref()
                .is_some_and(|sel| !sel.is_empty() && selector_matches(sel, &w.labels))
        });
    match svc {
        Some(s) => {
            info.service_host = format!("{}.{}.svc.cluster.local", s.meta.name, s.meta.namespace);
            if let Some(p) = s.ports.first() {
                info.port = p
                    .target_port
                    .parse()
                    .ok()
                    .or(u16::try_from(p.port).ok())
                    .unwrap_or(info.port);
            }
        }
        None => {
            info.service_host = format!("{}.{}.svc.cluster.local", w.meta.name, w.meta.namespace)
        }
    }
    info
}
