//! 3xx: the ServiceMeshExtension resources themselves.

use super::Context;
use crate::diag::Diagnostic;
use crate::model::index::WorkloadsByLabel;
use crate::model::{Extension, ExtensionConfig, MeshVersion, PHASES};
use crate::rules::RuleId;

/// MX301: unknown phase.
pub fn check_phase(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for e in &ctx.mesh.extensions {
        let Some(phase) = e.phase.as_deref() else {
            continue;
        };
        if PHASES.contains(&phase) {
            continue;
        }
        let near = PHASES.iter().find(|p| p.eq_ignore_ascii_case(phase));
        let help = match near {
            Some(p) => format!("phases are case-sensitive: did you mean `{p}`?"),
            None => format!("use one of {}", PHASES.join(", ")),
        };
        out.push(
            Diagnostic::new(
                RuleId::MX301,
                format!("phase `{phase}` is not one of the six phases: the API accepts it, but the extension is never injected"),
            )
            .at(e.meta.loc("/spec/phase"))
            .resource(e.meta.display())
            .help(help),
        );
    }
}

/// MX303 (reference the cacher rejects) and MX304 (`latest`).
pub fn check_image(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for e in &ctx.mesh.extensions {
        let Some(image) = e.image.as_deref() else {
            continue;
        };
        let at = e.meta.loc("/spec/image");
        match crate::image::parse_reference(image) {
            Err(why) => out.push(
                Diagnostic::new(RuleId::MX303, format!("failed to parse spec.image: {image:?}: {why}; the extension never becomes ready"))
                    .at(at)
                    .resource(e.meta.display())
                    .help("write `registry/organisation/name:tag` or `registry/organisation/name@sha256:<64 hex>`"),
            ),
            Ok(r) if r.tag.as_deref() == Some("latest") => out.push(
                Diagnostic::new(RuleId::MX304, format!("`{image}` uses the mutable `latest` tag: it is re-imported on every reconcile and may change under you"))
                    .at(at)
                    .resource(e.meta.display())
                    .help("pin a version tag or, better, a digest (`@sha256:…`)"),
            ),
            Ok(_) => {}
        }
    }
}

fn is_v1alpha1(e: &Extension) -> bool {
    e.meta.api_version.ends_with("/v1alpha1")
}

/// MX305: configuration the module will not receive as the author expects.
pub fn check_config(ctx: &Context, out: &mut Vec<Diagnostic>) {
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

/// MX306 (selector matches nothing in scope) and MX308 (empty selector matches everything).
pub fn check_selector(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let mesh = ctx.mesh;
    let root = mesh.control_plane_namespace();
    let members = mesh.mesh_namespaces();
    let by_label = WorkloadsByLabel::new(&mesh.workloads);
    for e in &mesh.extensions {
        let Some(sel) = &e.selector else { continue };
        if sel.is_empty() {
            out.push(
                Diagnostic::new(RuleId::MX308, "`workloadSelector.labels` is empty: the extension applies to every workload in its scope")
                    .at(e.meta.key_loc("/spec/workloadSelector"))
                    .resource(e.meta.display())
                    .help("remove `workloadSelector` to say so explicitly, or list the labels to select"),
            );
            continue;
        }
        let mesh_wide = Some(e.meta.namespace.as_str()) == root;
        let in_scope = |ns: &str| {
            if mesh_wide {
                members.contains(ns)
            } else {
                ns == e.meta.namespace
            }
        };
        let matched = by_label.selected(sel).any(|w| in_scope(&w.meta.namespace));
        if !matched {
            let scope = if mesh_wide {
                "the mesh".to_string()
            } else {
                format!("namespace `{}`", e.meta.namespace)
            };
            let wanted = sel
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            out.push(
                Diagnostic::new(RuleId::MX306, format!("the workload selector `{wanted}` matches no workload in {scope} among the inputs"))
                    .at(e.meta.loc("/spec/workloadSelector/labels"))
                    .resource(e.meta.display())
                    .help("check the labels against the pod template labels of the intended workload (`spec.template.metadata.labels`)"),
            );
        }
    }
}

/// MX307: the status says the extension is not ready, so istiod skips it.
pub fn check_status(ctx: &Context, out: &mut Vec<Diagnostic>) {
    for e in &ctx.mesh.extensions {
        if e.status_ready != Some(false) {
            continue;
        }
        let msg = e
            .meta
            .doc
            .str_at("/status/deployment/message")
            .unwrap_or("no message");
        out.push(
            Diagnostic::new(RuleId::MX307, format!("status.deployment.ready is false ({msg}): istiod skips extensions that are not ready"))
                .at(e.meta.loc("/status/deployment/ready"))
                .resource(e.meta.display())
                .help("fix the cause in the status message (usually the image pull), then let the cacher retry"),
        );
    }
}
