//! Rules MX601–MX609: where the effective chain differs from what an SME's author expects.
//!
//! Findings are grouped: one per (rule, SME, reason), listing the workloads it affects, so a
//! mesh-wide SME on hundreds of workloads gives one finding, not hundreds.

use super::builtins::{is_cors_or_fault, EXT_AUTHZ, RBAC, STATS};
use super::select::Phase;
use super::{ExtensionDefaults, Filter, Gate, Origin, WorkloadChain};
use crate::diag::{Diagnostic, Severity};
use crate::model::{Extension, Mesh, MeshVersion, ProxyType};
use crate::rules::RuleId;
use std::collections::BTreeMap;

/// How many workloads a message names before "and N more".
const NAMED: usize = 5;

/// Affected chains: (chain index, per-workload detail for the message).
type Hits = Vec<(usize, String)>;

/// Findings keyed by (rule, SME index, reason), with the chains they affect.
#[derive(Default)]
struct Groups {
    map: BTreeMap<(RuleId, usize, String), Hits>,
}

impl Groups {
    /// Records that chain `ci` shows `reason`; `detail` is a per-workload note for the message.
    fn add(
        &mut self,
        rule: RuleId,
        ext: usize,
        reason: impl Into<String>,
        ci: usize,
        detail: String,
    ) {
        let list = self.map.entry((rule, ext, reason.into())).or_default();
        if list.last().is_none_or(|(last, _)| *last != ci) {
            list.push((ci, detail));
        }
    }
}

fn workload_list(chains: &[WorkloadChain], hits: &[(usize, String)]) -> String {
    let mut names: Vec<String> = hits
        .iter()
        .take(NAMED)
        .map(|(ci, detail)| {
            let key = chains[*ci].key();
            if detail.is_empty() {
                key
            } else {
                format!("{key} ({detail})")
            }
        })
        .collect();
    if hits.len() > NAMED {
        names.push(format!("and {} more", hits.len() - NAMED));
    }
    let noun = if hits.len() == 1 {
        "workload"
    } else {
        "workloads"
    };
    format!("{} {noun}: {}", hits.len(), names.join(", "))
}

fn with_workloads(
    mut d: Diagnostic,
    mesh: &Mesh,
    chains: &[WorkloadChain],
    hits: &[(usize, String)],
) -> Diagnostic {
    for (ci, _) in hits.iter().take(NAMED) {
        if let Some(w) = mesh.workloads.get(chains[*ci].workload) {
            d = d.related(
                w.meta.key_loc("/metadata/name"),
                format!("affected workload {}", w.meta.display()),
            );
        }
    }
    d
}

fn at_ext(rule: RuleId, ext: &Extension, ptr: &str, msg: String) -> Diagnostic {
    Diagnostic::new(rule, msg)
        .at(ext.meta.key_loc(ptr))
        .resource(ext.meta.display())
}

/// Runs MX601–MX609 over the chains built by [`super::build_chains`] for `mesh`.
pub fn check(
    mesh: &Mesh,
    chains: &[WorkloadChain],
    defaults: &ExtensionDefaults,
) -> Vec<Diagnostic> {
    let version = mesh.version;
    let mut g = Groups::default();
    // Tie groups: (sorted SME indices) → chains.
    let mut ties: BTreeMap<Vec<usize>, Hits> = BTreeMap::new();
    for (ci, c) in chains.iter().enumerate() {
        scan_positions(c, ci, &mut g);
        scan_ties(c, ci, &mut ties);
        scan_coverage(version, c, ci, &mut g);
    }
    let mut out = Vec::new();
    for (&(rule, ei, ref reason), hits) in &g.map {
        let Some(ext) = mesh.extensions.get(ei) else {
            continue;
        };
        let name = &ext.meta.name;
        let list = workload_list(chains, hits);
        let d = match rule {
            RuleId::MX602 => at_ext(rule, ext, "/spec/phase", format!(
                "PostStats extension `{name}` runs before `istio.stats` on {list}: the telemetry EnvoyFilter inserts stats after the SME patch"))
                .help("PostStats behaves like PreStats here. If the extension must see the stats filter's work, it cannot be an SME; otherwise use PreStats to say what happens."),
            RuleId::MX603 => at_ext(rule, ext, "/spec/phase", format!("PostAuthZ extension `{name}` lands {reason} on {list}"))
                .help("PostAuthZ is placed right after the first RBAC filter. Do not rely on it running after every authorization decision; consolidate the AuthorizationPolicy actions or move the logic."),
            RuleId::MX604 => at_ext(rule, ext, "/spec/workloadSelector", format!("extension `{name}` {reason} on {list}"))
                .help("In v2.1/v2.2 istiod patches only the inbound chain of the first port of the oldest Service (MAISTRA-2321), and nothing for a workload without a Service. Expose one port per workload through one Service, or add a Service."),
            RuleId::MX605 => {
                let mut d = at_ext(rule, ext, "/metadata/name", format!(
                    "extension `{name}` is never applied to {list}: no EnvoyFilter selects these proxies, and v2.1/v2.2 skip the SME patch without one"))
                    .help("Enable telemetry (spec.telemetry.type: Istiod) or add an EnvoyFilter that selects the workloads.");
                if let Some(cp) = mesh.control_planes.first() {
                    d = d.related(cp.meta.key_loc("/spec/telemetry/type"), "telemetry setting of the control plane");
                }
                d
            }
            RuleId::MX608 => at_ext(rule, ext, "/spec/phase", format!(
                "extension `{name}` ({reason}) runs before the CUSTOM external authorizer and before JWT validation on {list}"))
                .help("With a CUSTOM AuthorizationPolicy, ext_authz is placed first; authentication-phase extensions see unauthenticated requests."),
            RuleId::MX609 => {
                let d = at_ext(rule, ext, "/spec/phase", format!(
                    "authentication-phase extension `{name}` has no authentication filter to anchor to ({reason}) and runs just before the router, after CORS and fault injection, on {list}"))
                    .help("Add a RequestAuthentication that selects these workloads to create the anchor, or choose a phase that matches where it actually runs.");
                if reason.starts_with("gateway") { d.severity(Severity::Info) } else { d }
            }
            _ => continue,
        };
        out.push(with_workloads(d, mesh, chains, hits));
    }
    for (members, hits) in &ties {
        if let Some(d) = tie_finding(mesh, version, members, chains, hits) {
            out.push(with_workloads(d, mesh, chains, hits));
        }
    }
    out.extend(overrides(mesh, defaults));
    out
}

fn scan_positions(c: &WorkloadChain, ci: usize, g: &mut Groups) {
    let sidecar = c.proxy == ProxyType::Sidecar;
    let has_authn = c.filters.iter().any(|f| {
        matches!(
            f.builtin_name(),
            Some(super::builtins::JWT | super::builtins::AUTHN)
        )
    });
    for (i, f) in c.filters.iter().enumerate() {
        let Filter::Extension(e) = f else { continue };
        let Some(phase) = e.phase else { continue };
        let rest = &c.filters[i + 1..];
        let later = |n: &str| rest.iter().any(|f| f.builtin_name() == Some(n));
        let before = &c.filters[..i];
        match phase {
            Phase::PostStats
                if rest.iter().any(|f| {
                    matches!(
                        f,
                        Filter::Builtin {
                            name: STATS,
                            origin: Origin::Telemetry
                        }
                    )
                }) =>
            {
                g.add(RuleId::MX602, e.index, "", ci, String::new());
            }
            Phase::PostAuthZ => {
                if rest.iter().any(|f| {
                    matches!(
                        f,
                        Filter::Builtin {
                            name: EXT_AUTHZ,
                            ..
                        }
                    )
                }) {
                    g.add(
                        RuleId::MX603,
                        e.index,
                        "between the shadow RBAC and ext_authz (CUSTOM policy)",
                        ci,
                        String::new(),
                    );
                } else if later(RBAC) {
                    g.add(
                        RuleId::MX603,
                        e.index,
                        "between RBAC filters (several AuthorizationPolicy actions)",
                        ci,
                        String::new(),
                    );
                }
            }
            _ => {}
        }
        if matches!(phase, Phase::PreAuthN | Phase::PostAuthN | Phase::PreAuthZ) && later(EXT_AUTHZ)
        {
            g.add(RuleId::MX608, e.index, phase.as_str(), ci, String::new());
        }
        if matches!(phase, Phase::PreAuthN | Phase::PostAuthN)
            && !has_authn
            && before
                .iter()
                .any(|f| f.builtin_name().is_some_and(is_cors_or_fault))
        {
            let reason = if sidecar {
                "sidecar without a RequestAuthentication"
            } else {
                "gateway without a RequestAuthentication"
            };
            g.add(RuleId::MX609, e.index, reason, ci, String::new());
        }
    }
}

fn scan_ties(c: &WorkloadChain, ci: usize, ties: &mut BTreeMap<Vec<usize>, Hits>) {
    let mut by_slot: BTreeMap<(Option<Phase>, i64), Vec<usize>> = BTreeMap::new();
    for e in c.extensions() {
        by_slot
            .entry((e.phase, e.priority))
            .or_default()
            .push(e.index);
    }
    for (_, members) in by_slot {
        if members.len() > 1 {
            let list = ties.entry(members).or_default();
            if list.last().is_none_or(|(l, _)| *l != ci) {
                list.push((ci, String::new()));
            }
        }
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
        None if version != MeshVersion::V2_0 => {
            let Some(p) = &c.ports else { return };
            if p.all.len() > 1 || p.services.len() > 1 {
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

fn tie_finding(
    mesh: &Mesh,
    version: MeshVersion,
    members: &[usize],
    chains: &[WorkloadChain],
    hits: &[(usize, String)],
) -> Option<Diagnostic> {
    let exts: Vec<&Extension> = members
        .iter()
        .filter_map(|i| mesh.extensions.get(*i))
        .collect();
    let first = *exts.first()?;
    let chain = chains.get(hits.first()?.0)?;
    let info = chain.extensions().find(|e| e.index == members[0])?;
    let names: Vec<String> = exts.iter().map(|e| format!("`{}`", e.meta.key())).collect();
    let list = workload_list(chains, hits);
    let same_image = exts.windows(2).any(|w| w[0].image == w[1].image);
    let phase = info.phase.map(Phase::as_str).unwrap_or("?");
    let how = if version == MeshVersion::V2_0 {
        if same_image {
            "they share an image, so v2.0 orders them differently from push to push".to_string()
        } else {
            "v2.0 orders them by image reference".to_string()
        }
    } else {
        format!(
            "istiod orders them by name+image, giving {}",
            names.join(" before ")
        )
    };
    let mut d = Diagnostic::new(
        RuleId::MX601,
        format!(
            "extensions {} share phase {phase} and priority {} on {list}: {how}",
            names.join(", "),
            info.priority
        ),
    )
    .at(first.meta.key_loc("/spec/priority"))
    .resource(first.meta.display())
    .help("Give each extension in the same phase a distinct priority (higher runs first).");
    for e in &exts[1..] {
        d = d.related(
            e.meta.key_loc("/spec/priority"),
            format!("same phase and priority: {}", e.meta.display()),
        );
    }
    Some(d)
}

/// MX606: the spec overrides what the image manifest declares.
fn overrides(mesh: &Mesh, defaults: &ExtensionDefaults) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for ext in &mesh.extensions {
        let Some(m) = defaults.manifests.get(&ext.meta.key()) else {
            continue;
        };
        if let (Some(spec), Some(man)) = (ext.phase.as_deref(), m.phase.as_deref()) {
            // An invalid manifest phase is MX403's; overriding it is the fix, not a surprise.
            if spec != man && !spec.is_empty() && crate::model::PHASES.contains(&man) {
                out.push(at_ext(RuleId::MX606, ext, "/spec/phase", format!(
                    "`{}` sets phase {spec} but its image manifest declares {man}", ext.meta.name))
                    .help("Check that the module works in the overriding phase, or drop spec.phase to use the manifest's."));
            }
        }
        if let (Some(spec), Some(man)) = (ext.priority, m.priority) {
            if spec != man {
                out.push(
                    at_ext(
                        RuleId::MX606,
                        ext,
                        "/spec/priority",
                        format!(
                            "`{}` sets priority {spec} but its image manifest declares {man}",
                            ext.meta.name
                        ),
                    )
                    .help(
                        "Intentional overrides are fine; drop spec.priority to use the manifest's.",
                    ),
                );
            }
        }
    }
    out
}
