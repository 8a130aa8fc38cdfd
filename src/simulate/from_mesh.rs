//! Turning a workload's effective filter chain (from `crate::chain`) and its pulled modules
//! (from `crate::extensions`) into the simulator's chain.

use super::{ExtensionFilter, SimFilter, WorkloadInfo};
use crate::chain::{Filter, Gate, NetStack, WorkloadChain};
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
    let (want, class) = pick_class(chains, workload, direction)?;
    pick_port(want, class, workload, port)
}

/// The entries of `workload`'s listener class: its gateway class, or the sidecar's inbound
/// (default) or outbound one (`direction:`).
fn pick_class<'a>(
    chains: &'a [WorkloadChain],
    workload: &str,
    direction: Option<super::Direction>,
) -> Result<(crate::chain::Listener, Vec<&'a WorkloadChain>), String> {
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
    Ok((want, class))
}

/// `pick_chain` continued: the entry of the class for `port`.
fn pick_port<'a>(
    want: crate::chain::Listener,
    class: Vec<&'a WorkloadChain>,
    workload: &str,
    port: Option<u16>,
) -> Result<&'a WorkloadChain, String> {
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
            Filter::WasmPlugin(p) => out.push(plugin_filter(mesh, p, res)?),
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

/// A WasmPlugin filter as Envoy runs it (istiod `buildPluginConfig`, maistra.md §5.5): root
/// id = pluginName, plugin name `<ns>.<name>`, configuration = the JSON of pluginConfig or
/// nothing; the module as the version's fetcher extracts it. HTTP and NETWORK plugins alike.
fn plugin_filter(
    mesh: &Mesh,
    p: &crate::chain::wasm::WasmInfo,
    res: &Resolution,
) -> Result<SimFilter, String> {
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
            return Ok(SimFilter::Builtin {
                name: format!("wasm-default-allow ({}: module not fetched, FAIL_OPEN)", p.key()),
            });
        }
        None if image.is_some() && since(25) => {
            return Ok(SimFilter::Builtin {
                name: format!(
                    "{} ({}: module not fetched, FAIL_CLOSE)",
                    super::filter_manager::DENY_ALL,
                    p.key()
                ),
            });
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
    Ok(SimFilter::Extension(ExtensionFilter {
        name: p.name.clone(),
        namespace: p.namespace.clone(),
        module: Arc::new(module.to_vec()),
        configuration: crate::plugin_startup::plugin_configuration(wp.plugin_config.as_ref()),
        root_id: wp.plugin_name.clone().unwrap_or_default(),
        plugin_name: format!("{}.{}", p.namespace, p.name),
        // Inline `vmConfig.env` only: a HOST variable takes its value from the
        // proxy container's environment, which the inputs do not hold.
        env: wp
            .vm_env
            .iter()
            .filter(|v| v.value_from.as_deref().is_none_or(|f| f == "INLINE"))
            .filter_map(|v| Some((v.name.clone()?, v.value.clone().unwrap_or_default())))
            .collect(),
        fail_open,
        ..Default::default()
    }))
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
                info.service_port = Some((p.port, p.name.clone().unwrap_or_default()));
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

/// The NETWORK WasmPlugins (`namespace/name`) in front of the HTTP connection manager of
/// `chain`'s filter chain (same class, same port or the class-wide stack). `requests:` run
/// the HTTP filters only; these would see each connection's raw bytes.
pub fn hcm_network_plugins(
    chains: &[WorkloadChain],
    chain: &WorkloadChain,
    direction: Option<super::Direction>,
) -> Vec<String> {
    use crate::chain::wasm::Terminal;
    let Ok((_, class)) = pick_class(chains, &chain.key(), direction) else {
        return Vec::new();
    };
    let stacks = class_stacks(&class, Terminal::Hcm);
    stack_of_port(&stacks, chain.port)
        .map_or_else(Vec::new, |n| n.wasm_plugins().map(|w| w.key()).collect())
}

/// The network filter stacks of a listener class that end in `terminal` (the class's entries
/// hold them; ports split them where `match.ports` differ).
fn class_stacks<'a>(
    class: &[&'a WorkloadChain],
    terminal: crate::chain::wasm::Terminal,
) -> Vec<&'a NetStack> {
    class
        .iter()
        .flat_map(|c| c.network.iter())
        .filter(|n| n.terminal == terminal)
        .collect()
}

/// The stack of listener `port`, else the class-wide one (no port split).
fn stack_of_port<'a>(stacks: &[&'a NetStack], port: Option<i64>) -> Option<&'a NetStack> {
    stacks
        .iter()
        .find(|n| n.port.is_some() && n.port == port)
        .or_else(|| stacks.iter().find(|n| n.port.is_none()))
        .copied()
}

/// The TCP (`tcp_proxy`) network filters of `workload` that a scenario's `connections:` run
/// through: the class `direction:` picks (inbound by default, the gateway's own), the stack of
/// `port:` where NETWORK plugins differ by port. Errors say why a workload has none: no
/// NETWORK plugin attaches, or the version predates `type: NETWORK` (Istio 1.20).
pub fn pick_net_stack<'a>(
    mesh: &Mesh,
    chains: &'a [WorkloadChain],
    workload: &str,
    direction: Option<super::Direction>,
    port: Option<u16>,
) -> Result<&'a NetStack, String> {
    use crate::chain::wasm::{self, Terminal};
    // Port-split HTTP entries do not matter here: the class's first entry holds the stacks.
    let (_, class) = pick_class(chains, workload, direction)?;
    let entry = class[0];
    if let Some(Gate::NotInjected) = entry.gate {
        let why = match &entry.injection {
            Injection::NotInjected(why) => why.clone(),
            _ => Gate::NotInjected.describe().to_string(),
        };
        return Err(format!("{workload} has no network filters: {why}"));
    }
    let typed: Vec<String> = entry
        .wasm_attached
        .iter()
        .filter(|&&i| mesh.wasm_plugins[i].plugin_type.as_deref() == Some("NETWORK"))
        .map(|&i| mesh.wasm_plugins[i].meta.key())
        .collect();
    let istio = wasm::mesh_istio(mesh);
    if istio.is_none_or(|v| wasm::minor(v) < 20) {
        let v = istio.map_or_else(|| mesh.version.to_string(), |v| format!("Istio {v}"));
        return Err(if typed.is_empty() {
            format!("{v} has no NETWORK WasmPlugins (`type: NETWORK` arrives with Istio 1.20, OSSM 2.6): `connections:` of `{workload}` need one")
        } else {
            format!(
                "{v} has no NETWORK WasmPlugins: `type: NETWORK` arrives with Istio 1.20 (OSSM 2.6); this version's CRD prunes `type`, so {} run{} as HTTP filters on `{workload}`'s HTTP chain (use `requests:`)",
                typed.join(", "),
                if typed.len() == 1 { "s" } else { "" }
            )
        });
    }
    let stacks = class_stacks(&class, Terminal::TcpProxy);
    if stacks.is_empty() {
        return Err(if typed.is_empty() {
            format!(
                "no `type: NETWORK` WasmPlugin attaches to `{workload}`: its {} TCP filter chains run no Wasm filter, so `connections:` have nothing to run",
                entry.listener.as_str()
            )
        } else {
            format!(
                "`{workload}` has no {} TCP filter chain (no TCP port or server) for {}",
                entry.listener.as_str(),
                typed.join(", ")
            )
        });
    }
    let ports = || {
        stacks
            .iter()
            .filter_map(|n| n.port)
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match port {
        Some(p) => stack_of_port(&stacks, Some(i64::from(p))).ok_or_else(|| {
                format!(
                    "`{workload}` {} has no TCP filter chain for port {p} (ports: {})",
                    entry.listener.as_str(),
                    ports()
                )
            }),
        None if stacks.len() > 1 => Err(format!(
            "the {} TCP filter chains of `{workload}` differ by port ({}; 0 = passthrough): set `port:` in the scenario",
            entry.listener.as_str(),
            ports()
        )),
        None => Ok(stacks[0]),
    }
}

/// The simulator chain of a TCP network filter stack: built-ins by name (the network filter
/// manager passes them), WasmPlugins as for HTTP chains.
pub fn sim_net_chain(
    mesh: &Mesh,
    stack: &NetStack,
    res: &Resolution,
) -> Result<Vec<SimFilter>, String> {
    stack
        .filters
        .iter()
        .map(|f| match f {
            Filter::WasmPlugin(p) => plugin_filter(mesh, p, res),
            other => Ok(SimFilter::Builtin {
                name: other.name().to_string(),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mesh(service: &str) -> Mesh {
        let text = crate::rules::fixture::shop_web("v2.0", "") + service;
        let mut l = crate::load::inputs::Loaded::default();
        crate::load::inputs::add_source(&mut l, "t.yaml".into(), text.into_bytes());
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        crate::model::build::build(&l.documents, None)
    }

    fn info(m: &Mesh) -> WorkloadInfo {
        let chains = crate::chain::build_chains(m, &Default::default());
        workload_info(m, &chains[0])
    }

    /// The Service's first port: the endpoint port the application listens on, and the
    /// service port and its name (mesh v2.0 names the inbound cluster after them).
    #[test]
    fn the_selecting_services_first_port_is_the_workloads() {
        let m = mesh(
            "---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http-api, port: 9080, targetPort: 8080}, {name: grpc, port: 9090}]
",
        );
        let w = info(&m);
        assert_eq!(w.service_host, "api.shop.svc.cluster.local");
        assert_eq!(w.port, 8080);
        assert_eq!(w.service_port, Some((9080, "http-api".to_string())));
        let bare = info(&mesh(""));
        assert_eq!(bare.service_host, "web.shop.svc.cluster.local");
        assert_eq!(bare.service_port, None);
    }
}
