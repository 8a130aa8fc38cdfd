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
        let mut ties: BTreeMap<TieKey, Hits> = BTreeMap::new();
        for (ci, c) in facts.chains.iter().enumerate() {
            scan_ties(c, ci, &mut ties);
        }
        let (mesh, chains) = (facts.mesh, facts.chains);
        for (key, hits) in &ties {
            if let Some(d) = tie_finding(mesh, mesh.version, key, chains, hits) {
                out.push(with_workloads(d, mesh, chains, hits));
            }
        }
    }
}

/// A tie group: its members in chain order, and whether istiod may reorder them per push.
type TieKey = (Vec<usize>, bool);

fn scan_ties(c: &WorkloadChain, ci: usize, ties: &mut BTreeMap<TieKey, Hits>) {
    let mut by_slot: BTreeMap<(Option<Phase>, i64), Vec<usize>> = BTreeMap::new();
    for e in c.extensions() {
        by_slot
            .entry((e.phase, e.priority))
            .or_default()
            .push(e.index);
    }
    for ((phase, _), members) in by_slot {
        if members.len() > 1 {
            let varies = phase.is_some_and(|p| c.order_varies.contains(&p));
            let list = ties.entry((members, varies)).or_default();
            if list.last().is_none_or(|(l, _)| *l != ci) {
                list.push((ci, String::new()));
            }
        }
    }
}

/// Members of one namespace that compare equal under istiod's tie-break, as `a` and `b`.
fn equal_pairs(version: MeshVersion, exts: &[&Extension]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, a) in exts.iter().enumerate() {
        for b in &exts[i + 1..] {
            let key = |e: &Extension| {
                let image = e.image.clone().unwrap_or_default();
                if version == MeshVersion::V2_0 {
                    image
                } else {
                    format!("{}{image}", e.meta.name)
                }
            };
            if a.meta.namespace == b.meta.namespace && key(a) == key(b) {
                out.push(format!("`{}` and `{}`", a.meta.key(), b.meta.key()));
            }
        }
    }
    out
}

fn tie_finding(
    mesh: &Mesh,
    version: MeshVersion,
    (members, varies): &TieKey,
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
    let phase = info.phase.map(Phase::as_str).unwrap_or("?");
    let rule = if version == MeshVersion::V2_0 {
        "v2.0 breaks the tie with `image_i + image_i < image_j + image_i` (not plain image order when one image is a prefix of the other)"
    } else {
        "istiod breaks the tie by `name + image`"
    };
    let how = if *varies {
        let pairs = equal_pairs(version, &exts);
        let what = if pairs.is_empty() {
            "the comparator is inconsistent for these images".to_string()
        } else {
            format!("it cannot tell {} apart", pairs.join(", "))
        };
        format!(
            "{rule}; {what}, and istiod reads each namespace's SMEs in random order, so their order changes from push to push"
        )
    } else {
        format!("{rule}, giving {} on every push", names.join(" before "))
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
