//! MX409: a `type: NETWORK` WasmPlugin (Istio 1.20+; older CRDs prune the field) whose module
//! has no network callback. Network filters are only called through the TCP callbacks
//! (`proxy_on_new_connection`, `proxy_on_downstream_data`, …). The HTTP side, a module without
//! HTTP callbacks in an HTTP filter, is MX507 (judged for WasmPlugin modules too).

use super::plugin_is_network;
use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct PluginType;

impl Unit for PluginType {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX409]
    }
    fn stage(&self) -> Stage {
        Stage::Modules
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mesh = facts.mesh;
        for (a, users) in &facts.resolution.plugins.images {
            let Some(info) = &a.module_info else { continue };
            let cb = info.stream_callbacks();
            if !cb.network.is_empty() {
                continue;
            }
            for &i in users {
                let p = &mesh.wasm_plugins[i];
                if !plugin_is_network(mesh, p) {
                    continue;
                }
                let has = if cb.http.is_empty() {
                    "exports no stream callback at all".to_string()
                } else {
                    format!("exports only HTTP callbacks ({})", cb.http.join(", "))
                };
                out.push(
                    Diagnostic::new(
                        RuleId::MX409,
                        format!(
                            "{} is installed as a network filter (`type: NETWORK`), but its module `{}` {has}: the proxy never calls it on connections",
                            p.meta.display(),
                            a.reference
                        ),
                    )
                    .at(p.meta.loc("/spec/type"))
                    .resource(p.meta.display())
                    .related(a.module_location(), "the module")
                    .help("Drop `type: NETWORK` to install the module as the HTTP filter it is, or build it as a network filter (proxy_on_new_connection, proxy_on_downstream_data, …)."),
                );
            }
        }
    }
}
