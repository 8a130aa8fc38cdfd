//! MX305: configuration the module will not receive as the author expects.

use crate::diag::Diagnostic;
use crate::model::{Extension, ExtensionConfig, MeshVersion};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Config;

impl Unit for Config {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX305]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_config(facts, out);
    }
}

fn is_v1alpha1(e: &Extension) -> bool {
    e.meta.api_version.ends_with("/v1alpha1")
}

/// MX305: configuration the module will not receive as the author expects.
fn check_config(ctx: &Facts, out: &mut Vec<Diagnostic>) {
    let v = ctx.mesh.version;
    if !(v == MeshVersion::V2_1 || v == MeshVersion::V2_2) {
        return;
    }
    for e in &ctx.mesh.extensions {
        let (msg, ptr) = match (&e.config, is_v1alpha1(e)) {
            (ExtensionConfig::Absent, false) => (
                "no `config`: on this mesh version the module receives the text `null` as its configuration".to_string(),
                "/spec",
            ),
            (ExtensionConfig::Absent, true) => (
                "no `config`: after conversion to v1 the module receives the text `null` as its configuration".to_string(),
                "/spec",
            ),
            (ExtensionConfig::Text(t), true) if t.trim().is_empty() => (
                "empty `config`: after conversion to v1 the module receives the text `null` as its configuration".to_string(),
                "/spec/config",
            ),
            (ExtensionConfig::Text(t), true) if !matches!(serde_json::from_str::<serde_json::Value>(t), Ok(serde_json::Value::Object(_))) => (
                "`config` is not a JSON object: it is stored as `raw_v1alpha1_config` and passed to the module as raw text".to_string(),
                "/spec/config",
            ),
            _ => continue,
        };
        out.push(
            Diagnostic::new(RuleId::MX305, msg)
                .at(e.meta.key_loc(ptr))
                .resource(e.meta.display())
                .help("give the extension an explicit JSON object `config`, and make the module tolerate `null`"),
        );
    }
}
