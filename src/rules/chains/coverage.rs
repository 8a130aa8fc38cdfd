//! MX604 (first port of the first Service only, a random port, a non-HTTP port, or no
//! Service) and MX605 (no EnvoyFilter, so
//! v2.1/v2.2 skip the SME patch): workloads an extension does not fully reach.

use super::{at_ext, Groups};
use crate::chain::builtins::Telemetry;
use crate::chain::{Gate, Ports, WorkloadChain};
use crate::diag::Diagnostic;
use crate::model::MeshVersion;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;

pub(crate) struct Coverage;

impl Unit for Coverage {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX604, RuleId::MX605]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        let mut g = Groups::default();
        for (ci, c) in facts.chains.iter().enumerate() {
            scan_coverage(facts.mesh.version, c, ci, &mut g);
        }
        let mesh = facts.mesh;
        g.report(facts, out, |rule, ext, reason, list| {
            let name = &ext.meta.name;
            Some(match rule {
                RuleId::MX604 => at_ext(rule, ext, "/spec/workloadSelector", format!("extension `{name}` {reason} on {list}"))
                    .help("In v2.1/v2.2 istiod patches only the inbound chain of the first service instance (MAISTRA-2321): the oldest Service (then the lower hostname), and within it a port taken from a Go map, so it changes from push to push. A port that is not HTTP has no HTTP filters, and a workload without a Service has no chain to patch. Give the workload one Service with one HTTP port, or add a Service."),
                RuleId::MX605 => {
                    let cp = mesh.control_planes.first();
                    // Name the SMCP setting that removed the telemetry EnvoyFilters.
                    let cause = match Telemetry::of(mesh.version, cp).off_because {
                        Some(why) => format!("{why} renders no telemetry EnvoyFilters and no other EnvoyFilter selects these proxies"),
                        None => "no EnvoyFilter selects these proxies".into(),
                    };
                    let mut d = at_ext(rule, ext, "/metadata/name", format!(
                        "extension `{name}` is never applied to {list}: {cause}, and v2.1/v2.2 skip the SME patch without one"))
                        .help("Enable telemetry (spec.telemetry.type: Istiod) or add an EnvoyFilter that selects the workloads.");
                    if let Some(cp) = cp {
                        d = d.related(cp.meta.key_loc("/spec/telemetry/type"), "telemetry setting of the control plane");
                    }
                    d
                }
                _ => return None,
            })
        });
    }
}

fn scan_coverage(version: MeshVersion, c: &WorkloadChain, ci: usize, g: &mut Groups) {
    match c.gate {
        Some(Gate::NoEnvoyFilter) => {
            for e in &c.unapplied {
                g.add(RuleId::MX605, e.index, "", ci, String::new());
            }
        }
        Some(Gate::NoService) => {
            for e in &c.unapplied {
                g.add(
                    RuleId::MX604,
                    e.index,
                    "is not applied: no Service selects the workload",
                    ci,
                    String::new(),
                );
            }
        }
        Some(Gate::NoHttpPort) => {
            let Some(p) = &c.ports else { return };
            let detail = ports_text(p);
            for e in &c.unapplied {
                g.add(
                    RuleId::MX604,
                    e.index,
                    "is not applied: the inbound port istiod patches is not HTTP, so it has no HTTP filters",
                    ci,
                    detail.clone(),
                );
            }
        }
        None if version != MeshVersion::V2_0 => {
            let Some(p) = &c.ports else { return };
            if p.random {
                let detail = ports_text(p);
                let reason = if p.candidates.iter().any(|c| !c.http) {
                    "reaches one inbound port picked at random on each push (none when the pick is not HTTP)"
                } else {
                    "reaches one inbound port picked at random on each push"
                };
                for e in c.extensions() {
                    g.add(RuleId::MX604, e.index, reason, ci, detail.clone());
                }
            } else if p.all.len() > 1 || p.services.len() > 1 {
                let detail = format!("only port {} of {}", p.patched.join(","), p.all.join(", "));
                for e in c.extensions() {
                    g.add(
                        RuleId::MX604,
                        e.index,
                        "reaches only the first port of the first Service",
                        ci,
                        detail.clone(),
                    );
                }
            }
        }
        _ => {}
    }
}

/// `ports 8080 (http), 5432 (tcp) of shop/web`.
fn ports_text(p: &Ports) -> String {
    let list: Vec<String> = p
        .candidates
        .iter()
        .map(|c| format!("{} ({})", c.port, c.protocol))
        .collect();
    let svc = p.services.first().map(String::as_str).unwrap_or("?");
    format!("ports {} of {svc}", list.join(", "))
}
