//! MX610: a CUSTOM AuthorizationPolicy whose provider istiod cannot build, so the workloads it
//! selects get one deny-all RBAC filter instead of ext_authz.

use super::{with_workloads, workload_list, Hits};
use crate::diag::Diagnostic;
use crate::model::{selector_matches, AuthzAction};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use std::collections::BTreeMap;

pub(crate) struct CustomProvider;

impl Unit for CustomProvider {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX610]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mesh = facts.mesh;
        let root = mesh.control_plane_namespace().unwrap_or("istio-system");
        // (policy index, reason) → affected chains.
        let mut groups: BTreeMap<(usize, &str), Hits> = BTreeMap::new();
        for (ci, c) in facts.chains.iter().enumerate() {
            let Some(why) = c.custom_deny_all.as_deref() else {
                continue;
            };
            let Some(w) = mesh.workloads.get(c.workload) else {
                continue;
            };
            for (pi, p) in mesh.authorization_policies.iter().enumerate() {
                let ns = p.meta.namespace.as_str();
                let selects = p.action == AuthzAction::Custom
                    && (ns == root || ns == c.namespace)
                    && p.selector
                        .as_ref()
                        .is_none_or(|s| selector_matches(s, &w.labels));
                if selects {
                    groups
                        .entry((pi, why))
                        .or_default()
                        .push((ci, String::new()));
                }
            }
        }
        for ((pi, why), hits) in &groups {
            let p = &mesh.authorization_policies[*pi];
            let list = workload_list(facts.chains, hits);
            let at = if p.provider.is_some() {
                "/spec/provider/name"
            } else {
                "/spec/action"
            };
            let d = Diagnostic::new(
                RuleId::MX610,
                format!(
                    "CUSTOM AuthorizationPolicy `{}` gets no ext_authz filter ({why}): istiod puts one deny-all RBAC filter in its place, which denies every request on {list}",
                    p.meta.key()
                ),
            )
            .at(p.meta.key_loc(at))
            .resource(p.meta.display())
            .help("Declare the provider in the control plane's meshConfig.extensionProviders (spec.techPreview.meshConfig on v2.1/v2.2) with a valid service and port, and use one provider per workload.");
            out.push(with_workloads(d, mesh, facts.chains, hits));
        }
    }
}
