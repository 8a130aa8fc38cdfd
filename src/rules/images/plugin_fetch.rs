//! MX406, MX407: the mesh version's istio-agent cannot fetch a WasmPlugin's module from its
//! image (`pkg/wasm/imagefetcher.go`), or what it fetches fails its Wasm magic check
//! (`pkg/wasm/cache.go` `isValidWasmBinary`).

use super::{fetch_failure_effect, fetch_problem, fetcher_label, per_plugin_image};
use crate::diag::Diagnostic;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct PluginFetch;

impl Unit for PluginFetch {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX406, RuleId::MX407]
    }
    fn stage(&self) -> Stage {
        Stage::Images
    }
    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mesh = facts.mesh;
        per_plugin_image(facts, out, |a, users| {
            let Some(p) = &a.fetch.problem else {
                return Vec::new();
            };
            let first = &mesh.wasm_plugins[users[0]];
            let mut d = fetch_problem(p, &a.reference);
            // Say which versions read the image as it is (an upgrade may be the fix).
            let readers: Vec<String> = crate::image::fetcher::by_version(&a.image)
                .into_iter()
                .filter(|(_, f)| f.problem.is_none() && f.other_child.is_none())
                .map(|(label, _)| label)
                .collect();
            if p.kind == crate::image::fetcher::FetchProblemKind::Unfetchable && !readers.is_empty()
            {
                let h = d.help.take().unwrap_or_default();
                d = d.help(format!(
                    "{h} As it is, the image is read by {}.",
                    readers.join(", ")
                ));
            }
            if a.image.kind == crate::image::ImageKind::SmeImage {
                d = d.help("This is a ServiceMeshExtension image (/manifest.yaml + module). For a WasmPlugin, rebuild it without manifest.yaml and with the module named plugin.wasm (`meshext-lint pack --format wasmplugin --module <module.wasm>`).");
            }
            d.message = format!(
                "{}; {}",
                d.message.replacen(
                    "istio-agent",
                    &format!("istio-agent of {}", fetcher_label(mesh)),
                    1
                ),
                fetch_failure_effect(mesh, first)
            );
            vec![d]
        });
    }
}
