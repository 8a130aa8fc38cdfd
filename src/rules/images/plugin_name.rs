//! MX410: a WasmPlugin's module finds no root context under the plugin's root id
//! (`pluginName`, empty when unset), learnt by starting the module as Envoy does
//! (`plugin_startup`).

use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct PluginName;

impl Unit for PluginName {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX410]
    }
    fn stage(&self) -> Stage {
        Stage::Runtime
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mesh = facts.mesh;
        for m in &facts.resolution.plugins.root_id_misses {
            let p = &mesh.wasm_plugins[m.users[0]];
            let Some(Some(a)) = facts.resolution.plugins.by_plugin.get(m.users[0]) else {
                continue;
            };
            let (at, what) = if p.plugin_name.is_some() {
                (
                    p.meta.loc("/spec/pluginName"),
                    format!("`pluginName: {}`", m.root_id),
                )
            } else {
                (
                    p.meta.key_loc("/spec"),
                    "no `pluginName` (root id \"\")".to_string(),
                )
            };
            let mut d = Diagnostic::new(
                RuleId::MX410,
                format!(
                    "{} has {what}, but its module `{}` picks its root context by id and registers none under it: {}",
                    p.meta.display(),
                    a.reference,
                    m.evidence
                ),
            )
            .at(at)
            .resource(p.meta.display())
            .related(a.module_location(), "the module")
            .help("Set `pluginName` to the root id the module registers (AssemblyScript: the name passed to `registerRootContext`; C++: the `root_id` of `RegisterContextFactory`).");
            for &j in &m.users[1..] {
                let o = &mesh.wasm_plugins[j];
                d = d.related(
                    o.meta.loc("/spec/url"),
                    format!("also {}", o.meta.display()),
                );
            }
            out.push(d);
        }
    }
}
