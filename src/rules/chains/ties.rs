//! MX601: extensions that share phase and priority on a workload, so their order is decided by
//! istiod's tie-break (or, on v2.0, not decided at all).

use super::{with_workloads, workload_list, Hits};
use crate::chain::select::Phase;
use crate::chain::WorkloadChain;
use crate::diag::Diagnostic;
use crate::model::{Extension, Mesh, MeshVersion};
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use std::collections::BTreeMap;

pub(crate) struct Ties;

impl Unit for Ties {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX601]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        // Tie groups: (sorted SME indices) → chains.
        let mut ties: BTreeMap<Vec<usize>, Hits> = BTreeMap::new();
        for (ci, c) in facts.chains.iter().enumerate() {
            scan_ties(c, ci, &mut ties);
        }
        let (mesh, chains) = (facts.mesh, facts.chains);
        for (members, hits) in &ties {
            if let Some(d) = tie_finding(mesh, mesh.version, members, chains, hits) {
                out.push(with_workloads(d, mesh, chains, hits));
            }
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
