//! WasmPlugin modules started the way Envoy starts them for a WasmPlugin, to learn whether the
//! module finds a root context for the plugin's root id: istiod sends `root_id = pluginName`
//! (empty when unset) and `name = <ns>.<name>` (`pilot/pkg/model/extensions.go`
//! `convertToWasmPluginWrapper`), and the configuration is the JSON of `pluginConfig`, nothing
//! when it is empty. SDKs that pick the root context by id (AssemblyScript, C++) read the
//! `plugin_root_id` property and fail or log when none is registered under it; the Rust and Go
//! SDKs use one root context whatever the id, so they never fail here.
//!
//! Facts only (`rules::images::plugin_name` judges them); built from the simulator's public
//! VM (`simulate::vm`), with the mesh version's host profile. Other start-up failures are not
//! reported from here.

use crate::extensions::PluginResolution;
use crate::model::Mesh;
use crate::simulate::host::{LogLine, WorkloadInfo};
use crate::simulate::vm::{self, Limits, PluginStartError, Vm};
use crate::simulate::Profile;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::rc::Rc;

/// A WasmPlugin whose module found no root context under its root id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootIdMiss {
    /// Indexes into `mesh.wasm_plugins` with this (module, root id, configuration).
    pub users: Vec<usize>,
    /// The root id Envoy passes (`pluginName`, or empty).
    pub root_id: String,
    /// What the module logged or how the start failed.
    pub evidence: String,
}

/// The configuration Envoy delivers for a WasmPlugin: `pluginConfig` as JSON, nothing when it
/// is absent or empty (`len(PluginConfig.Fields) > 0`).
pub fn plugin_configuration(config: Option<&serde_json::Value>) -> String {
    match config {
        Some(serde_json::Value::Object(m)) if !m.is_empty() => {
            serde_json::to_string(m).unwrap_or_default()
        }
        _ => String::new(),
    }
}

/// A log line saying no root context matches (AssemblyScript: "Missing root context factory
/// for root id: X"; C++: "no context factory for root_id: X"). A line that merely names the
/// id ("Registering new root context for X") is not one.
fn mentions_root(logs: &[LogLine]) -> Option<String> {
    logs.iter()
        .find(|l| {
            let m = l.message.to_ascii_lowercase();
            (m.contains("root") || m.contains("context factory"))
                && (m.contains("missing")
                    || m.contains("no root")
                    || m.contains("no context factory")
                    || m.contains("not found")
                    || m.contains("unknown"))
        })
        .map(|l| l.message.clone())
}

/// Starts one module for one (root id, name, configuration); `Some(evidence)` when it looked
/// up its root context by id and found none.
fn probe(
    compiled: &vm::Compiled,
    root_id: &str,
    name: &str,
    configuration: &str,
    profile: Profile,
    limits: Limits,
) -> Option<String> {
    let (plugin, shared) =
        crate::simulate::startup::lone_plugin(name, root_id, configuration, &limits);
    let mut vm = Vm::load(
        compiled,
        plugin,
        Rc::new(WorkloadInfo::default()),
        profile,
        shared,
        0,
        limits,
        1,
    )
    .ok()?;
    let r = vm.start_plugin();
    let logs = vm.take_logs();
    if vm.store.data().root_id_reads == 0 {
        return None;
    }
    let logged = mentions_root(&logs);
    match (r, logged) {
        (_, Some(line)) => Some(format!("the module logged {line:?}")),
        (Err(PluginStartError::ContextTrap(f)), None) => Some(format!(
            "proxy_on_context_create traps after reading the root id ({})",
            f.message
        )),
        _ => None,
    }
}

/// Starts `module` as the proxy of `version` would under (`root_id`, `name`,
/// `configuration`); `Some(evidence)` when it looked up its root context by that id and
/// found none (what MX410 reports).
pub fn root_id_miss(
    module: &[u8],
    root_id: &str,
    name: &str,
    configuration: &str,
    version: crate::model::MeshVersion,
) -> Option<String> {
    let limits = Limits::default();
    let compiled = vm::compile(module, &limits).ok()?;
    probe(
        &compiled,
        root_id,
        name,
        configuration,
        Profile::for_mesh(version),
        limits,
    )
}

/// Starts every pulled WasmPlugin module that the fetcher hands over and the proxy accepts,
/// once per (module, root id, configuration).
pub fn probe_root_ids(mesh: &Mesh, res: &PluginResolution) -> Vec<RootIdMiss> {
    let mut jobs: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, p) in mesh.wasm_plugins.iter().enumerate() {
        let Some(Some(a)) = res.by_plugin.get(i) else {
            continue;
        };
        if a.fetch.problem.is_some()
            || a.module_info.is_none()
            || a.abi_problems().iter().any(|p| p.refuses())
        {
            continue;
        }
        let root_id = p.plugin_name.clone().unwrap_or_default();
        let config = plugin_configuration(p.plugin_config.as_ref());
        jobs.entry((a.image.digest.clone(), root_id, config))
            .or_default()
            .push(i);
    }
    let jobs: Vec<_> = jobs.into_iter().collect();
    jobs.into_par_iter()
        .filter_map(|((_, root_id, config), users)| {
            let a = res.by_plugin[users[0]].as_ref()?;
            let module = a.fetch.module.as_ref()?;
            let p = &mesh.wasm_plugins[users[0]];
            let name = format!("{}.{}", p.meta.namespace, p.meta.name);
            let evidence = root_id_miss(module, &root_id, &name, &config, mesh.version)?;
            Some(RootIdMiss {
                users,
                root_id,
                evidence,
            })
        })
        .collect()
}
