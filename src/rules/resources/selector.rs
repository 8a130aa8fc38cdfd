//! MX306 (a selector that matches nothing in scope) and MX308 (an empty selector).

use crate::diag::Diagnostic;
use crate::model::index::WorkloadsByLabel;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Selector;

impl Unit for Selector {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX306, RuleId::MX308]
    }

    fn stage(&self) -> Stage {
        Stage::Mesh
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        check_selector(facts, out);
    }
}

/// MX306 (selector matches nothing in scope) and MX308 (empty selector matches everything).
fn check_selector(ctx: &Facts, out: &mut Vec<Diagnostic>) {
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
