//! The built-in proof of `migrate`: the chains of the source mesh (SMEs, source version)
//! against the chains of the result (the WasmPlugins, target version), per workload, listener
//! class and port.
//!
//! Built-in filters differ between versions for reasons a migration cannot change
//! (`istio_authn` is gone from Istio 1.24, metadata exchange moved, telemetry filters come
//! from the Telemetry API on 3.x), so the chains are compared as what the plugins decide:
//! the sequence of extensions with the authn, authz and stats filters as landmarks. A
//! landmark is kept only when both sides have it; `istio_authn` is never one.

use crate::chain::{Filter, Listener, WorkloadChain};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One element of a projected chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Item {
    /// An extension by `namespace/name` (an SME and the WasmPlugin made from it share it).
    Extension(String),
    /// `authn` (jwt_authn), `authz` (rbac, ext_authz) or `stats` (istio.stats).
    Landmark(&'static str),
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Extension(k) => f.write_str(k),
            Item::Landmark(l) => write!(f, "[{l}]"),
        }
    }
}

fn landmark(builtin: &str, soft: bool) -> Option<&'static str> {
    match builtin {
        "envoy.filters.http.jwt_authn" => Some("authn"),
        "envoy.filters.http.rbac" | "envoy.filters.http.ext_authz" => Some("authz"),
        "istio.stats" => Some("stats"),
        // Soft landmarks: they act only when a VirtualService configures fault injection or
        // a CORS policy, which the model does not read.
        "envoy.filters.http.fault" if soft => Some("fault"),
        "envoy.filters.http.cors" if soft => Some("cors"),
        _ => None,
    }
}

/// The chain as extensions and landmarks (consecutive equal landmarks merged).
pub fn project(c: &WorkloadChain) -> Vec<Item> {
    project_with(c, false)
}

fn project_with(c: &WorkloadChain, soft: bool) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    for f in &c.filters {
        let item = match f {
            Filter::Builtin { name, .. } => match landmark(name, soft) {
                Some(l) => Item::Landmark(l),
                None => continue,
            },
            Filter::Extension(e) => Item::Extension(e.key()),
            Filter::WasmPlugin(p) => Item::Extension(p.key()),
        };
        if out.last() != Some(&item) || matches!(item, Item::Extension(_)) {
            out.push(item);
        }
    }
    out
}

/// One place where what runs differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// `namespace/name` of the workload.
    pub workload: String,
    pub listener: &'static str,
    /// The port, when the chains differ by port on either side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    pub before: Vec<Item>,
    pub after: Vec<Item>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &[Item]| {
            if v.iter().all(|i| matches!(i, Item::Landmark(_))) {
                "no extension".to_string()
            } else {
                v.iter()
                    .map(Item::to_string)
                    .collect::<Vec<_>>()
                    .join(" → ")
            }
        };
        write!(f, "{} {}", self.workload, self.listener)?;
        if let Some(p) = self.port {
            write!(f, " port {p}")?;
        }
        write!(
            f,
            ": before {}; after {}",
            show(&self.before),
            show(&self.after)
        )
    }
}

/// Keeps only the landmarks both sides have, then drops landmarks with no extension
/// between them and the previous one or the start, so that chains without extensions
/// compare equal whatever built-ins they have.
fn normalise(a: &[Item], b: &[Item]) -> (Vec<Item>, Vec<Item>) {
    let marks = |v: &[Item]| -> BTreeSet<&'static str> {
        v.iter()
            .filter_map(|i| match i {
                Item::Landmark(l) => Some(*l),
                Item::Extension(_) => None,
            })
            .collect()
    };
    let common: BTreeSet<&'static str> = marks(a).intersection(&marks(b)).copied().collect();
    let keep = |v: &[Item]| -> Vec<Item> {
        let has_ext = v.iter().any(|i| matches!(i, Item::Extension(_)));
        let mut out: Vec<Item> = Vec::new();
        for i in v {
            match i {
                Item::Landmark(l) if !common.contains(l) || !has_ext => {}
                Item::Landmark(_) if out.last() == Some(i) => {}
                _ => out.push(i.clone()),
            }
        }
        out
    };
    (keep(a), keep(b))
}

/// Compares the source chains with the result's. A source sidecar chain stands for the
/// inbound ports istiod patched; on any other inbound port, and on outbound chains, the SMEs
/// ran nowhere.
pub fn compare(before: &[WorkloadChain], after: &[WorkloadChain]) -> Vec<Difference> {
    compare_with(before, after, false)
}

/// Where only the position of the extensions relative to the fault and CORS filters changes
/// (places [`compare`] finds none): what runs changes only for requests a VirtualService's
/// fault injection or CORS policy acts on.
/// `hard` is what [`compare`] found for the same chains.
pub fn compare_soft(
    before: &[WorkloadChain],
    after: &[WorkloadChain],
    hard: &[Difference],
) -> Vec<Difference> {
    let hard: BTreeSet<(&str, &'static str, Option<i64>)> = hard
        .iter()
        .map(|d| (d.workload.as_str(), d.listener, d.port))
        .collect();
    compare_with(before, after, true)
        .into_iter()
        .filter(|d| !hard.contains(&(d.workload.as_str(), d.listener, d.port)))
        .collect()
}

fn compare_with(before: &[WorkloadChain], after: &[WorkloadChain], soft: bool) -> Vec<Difference> {
    let project = |c: &WorkloadChain| project_with(c, soft);
    type Key = (String, &'static str);
    let mut src: BTreeMap<Key, &WorkloadChain> = BTreeMap::new();
    for c in before {
        src.insert((c.key(), c.listener.as_str()), c);
    }
    let mut out = Vec::new();
    let mut seen: BTreeSet<Key> = BTreeSet::new();
    for c in after {
        let key = (c.key(), c.listener.as_str());
        seen.insert(key.clone());
        let old = src.get(&key).copied();
        let patched = |port: i64| -> bool {
            match old.and_then(|o| o.ports.as_ref()) {
                Some(p) => p
                    .patched
                    .iter()
                    .any(|x| x.parse::<i64>().ok() == Some(port)),
                None => true,
            }
        };
        let old_items = |port: Option<i64>| -> Vec<Item> {
            match old {
                Some(o) if c.listener != Listener::Inbound || port.is_none_or(patched) => {
                    project(o)
                }
                _ => Vec::new(),
            }
        };
        let new_items = project(c);
        // A chain that stands for every inbound port is compared port by port when the SMEs
        // ran on only some of them.
        let ports: Vec<Option<i64>> = match (c.port, c.listener, old.and_then(|o| o.ports.as_ref()))
        {
            (None, Listener::Inbound, Some(p)) => p
                .candidates
                .iter()
                .filter(|x| x.http)
                .filter_map(|x| x.port.parse::<i64>().ok())
                .map(Some)
                .collect(),
            (port, _, _) => vec![port],
        };
        let ports = if ports.is_empty() {
            vec![c.port]
        } else {
            ports
        };
        for port in ports {
            let (a, b) = normalise(&old_items(port), &new_items);
            if a != b {
                out.push(Difference {
                    workload: c.key(),
                    listener: c.listener.as_str(),
                    port: port.filter(|_| c.port.is_some() || port_matters(old, c)),
                    before: a,
                    after: b,
                });
            }
        }
    }
    // A chain of the source with extensions that the result does not have at all.
    for (key, c) in src {
        if seen.contains(&key) {
            continue;
        }
        let (a, b) = normalise(&project(c), &[]);
        if a != b {
            out.push(Difference {
                workload: key.0,
                listener: key.1,
                port: None,
                before: a,
                after: b,
            });
        }
    }
    out
}

/// Whether a port label helps: the source chain covered only some inbound ports.
fn port_matters(old: Option<&WorkloadChain>, c: &WorkloadChain) -> bool {
    c.listener == Listener::Inbound
        && old
            .and_then(|o| o.ports.as_ref())
            .is_some_and(|p| p.candidates.iter().filter(|x| x.http).count() > 1)
}
