//! 6xx: where the effective chain differs from what an SME's or a WasmPlugin's author expects.
//!
//! Findings are grouped: one per (rule, SME, reason), listing the workloads it affects, so a
//! mesh-wide SME on hundreds of workloads gives one finding, not hundreds.

pub(crate) mod coverage;
pub(crate) mod custom;
pub(crate) mod overrides;
pub(crate) mod positions;
pub(crate) mod reach;
pub(crate) mod ties;
pub(crate) mod wasm_reach;
pub(crate) mod wasm_ties;

use crate::chain::{ExtensionDefaults, WorkloadChain};
use crate::diag::Diagnostic;
use crate::extensions::Resolution;
use crate::model::{Extension, Mesh};
use crate::rules::registry::{self, Facts, Stage};
use crate::rules::RuleId;
use std::collections::BTreeMap;

/// Runs the chain rules (MX601–MX619) over the chains built by
/// [`crate::chain::build_chains`] for `mesh`.
pub fn check(
    mesh: &Mesh,
    chains: &[WorkloadChain],
    defaults: &ExtensionDefaults,
) -> Vec<Diagnostic> {
    let facts = Facts {
        load_problems: &[],
        documents: &[],
        mesh,
        resolution: &Resolution::default(),
        defaults,
        chains,
        image_sources: &[],
        startups: &[],
        suppression_problems: &[],
    };
    let mut out = Vec::new();
    registry::run(&facts, &[Stage::Chains], &mut out);
    out
}

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

    /// One finding per group, written by `finding(rule, extension, reason, workload list)`.
    fn report(
        &self,
        facts: &Facts,
        out: &mut Vec<Diagnostic>,
        finding: impl Fn(RuleId, &Extension, &str, String) -> Option<Diagnostic>,
    ) {
        for (&(rule, ei, ref reason), hits) in &self.map {
            let Some(ext) = facts.mesh.extensions.get(ei) else {
                continue;
            };
            let list = workload_list(facts.chains, hits);
            if let Some(d) = finding(rule, ext, reason, list) {
                out.push(with_workloads(d, facts.mesh, facts.chains, hits));
            }
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
