//! MX613 (the SME selects only workloads whose pods run no proxy) and MX614 (… only workloads
//! without an HTTP filter chain, among them gateways whose Gateway resources give them no HTTP
//! server): extensions that run nowhere.

use super::{at_ext, Groups};
use crate::chain::{Gate, WorkloadChain};
use crate::diag::Diagnostic;
use crate::model::inject::Injection;
use crate::rules::registry::{Facts, Stage, Unit};
use crate::rules::RuleId;
use std::collections::BTreeMap;

pub(crate) struct Reach;

impl Unit for Reach {
    fn ids(&self) -> &'static [RuleId] {
        &[RuleId::MX613, RuleId::MX614]
    }

    fn stage(&self) -> Stage {
        Stage::Chains
    }

    fn check(&self, facts: &Facts, out: &mut Vec<Diagnostic>) {
        // Every chain that selects each SME, applied or not.
        let mut by_ext: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (ci, c) in facts.chains.iter().enumerate() {
            for e in c.extensions().chain(&c.unapplied) {
                let list = by_ext.entry(e.index).or_default();
                if list.last() != Some(&ci) {
                    list.push(ci);
                }
            }
        }
        let mut g = Groups::default();
        for (ext, chains) in by_ext {
            scan(ext, &chains, facts.chains, &mut g);
        }
        g.report(facts, out, |rule, ext, _, list| {
            let name = &ext.meta.name;
            Some(match rule {
                RuleId::MX613 => at_ext(rule, ext, "/spec/workloadSelector", format!(
                    "extension `{name}` runs nowhere: it selects only workloads whose pods run no proxy; {list}"))
                    .help("Sidecar injection is opt-in on OpenShift Service Mesh: add the annotation sidecar.istio.io/inject: \"true\" to the pod template (v2.2 also reads the label), or set spec.proxy.injection.autoInject."),
                RuleId::MX614 => at_ext(rule, ext, "/spec/workloadSelector", format!(
                    "extension `{name}` runs nowhere: none of the workloads it selects has an HTTP filter chain; {list}"))
                    .help("A gateway gets HTTP filters only for the HTTP servers, and the HTTPS servers that terminate TLS, of the Gateway resources that select it. Add such a server, or select workloads that serve HTTP."),
                _ => return None,
            })
        });
    }
}

/// The per-workload note for a chain without HTTP filters.
fn detail(c: &WorkloadChain) -> String {
    match (&c.injection, &c.servers) {
        (Injection::NotInjected(why), _) => why.clone(),
        (_, Some(s)) if s.gateways.is_empty() => "no Gateway resource selects it".into(),
        (_, Some(s)) => format!("only {}", s.other.join(", ")),
        _ => String::new(),
    }
}

fn scan(ext: usize, chains: &[usize], all: &[WorkloadChain], g: &mut Groups) {
    let gates: Vec<Option<Gate>> = chains.iter().map(|&ci| all[ci].gate).collect();
    let no_chain = |g: &Option<Gate>| matches!(g, Some(Gate::NotInjected | Gate::NoHttpServer));
    if chains.is_empty() || !gates.iter().all(no_chain) {
        return;
    }
    let rule = if gates.iter().all(|g| *g == Some(Gate::NotInjected)) {
        RuleId::MX613
    } else {
        RuleId::MX614
    };
    for &ci in chains {
        g.add(rule, ext, "", ci, detail(&all[ci]));
    }
}
