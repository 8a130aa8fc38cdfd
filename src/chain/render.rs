//! Chain renderers: `human` (a readable table per workload), `json`, `dot`, `mermaid`.
//! Pure functions from chains to text.

use super::{Filter, Gate, Listener, WorkloadChain};
use crate::model::inject::Injection;
use crate::model::{MeshVersion, ProxyType};
use serde_json::{json, Value};
use std::fmt::Write;

fn proxy_str(p: ProxyType) -> &'static str {
    match p {
        ProxyType::Sidecar => "sidecar",
        ProxyType::Gateway => "gateway",
    }
}

/// One line describing coverage quirks of a chain, if any.
fn notes(c: &WorkloadChain) -> Vec<String> {
    let mut out = Vec::new();
    if let Injection::NotInjected(why) = &c.injection {
        out.push(format!("no proxy: {why}"));
    }
    if let Some(sv) = &c.servers {
        if !sv.other.is_empty() {
            out.push(format!(
                "no HTTP filters on {} (TCP, TLS or passthrough servers)",
                sv.other.join(", ")
            ));
        }
        if sv.gateways.is_empty() {
            out.push("no Gateway resource selects this gateway".into());
        }
    }
    if let Some(g) = c.gate {
        if !c.unapplied.is_empty() {
            let names: Vec<String> = c.unapplied.iter().map(|e| e.key()).collect();
            out.push(format!(
                "not applied: {} ({})",
                names.join(", "),
                g.describe()
            ));
        }
    }
    if let Some(p) = &c.ports {
        let list = |ps: &[super::PortInfo]| {
            ps.iter()
                .map(|p| format!("{} ({})", p.port, p.protocol))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if c.gate == Some(super::Gate::NoHttpPort) && !p.candidates.is_empty() {
            out.push(format!("ports istiod patches: {}", list(&p.candidates)));
        }
        if p.random && c.gate.is_none() {
            let first = p.services.first().map(String::as_str).unwrap_or("");
            let mut note = format!(
                "the patched port is random per push: istiod takes the first of {}'s ports {} in Go map order",
                first,
                list(&p.candidates)
            );
            let dead: Vec<&str> = p
                .candidates
                .iter()
                .filter(|p| !p.http)
                .map(|p| p.port.as_str())
                .collect();
            if !dead.is_empty() {
                let _ = write!(
                    note,
                    "; when it takes {} (not HTTP) the extensions run nowhere",
                    dead.join(" or ")
                );
            }
            out.push(note);
        }
        let skipped_ports: Vec<&super::PortInfo> =
            p.candidates.iter().filter(|p| !p.http).collect();
        if c.version == MeshVersion::V2_0
            && !skipped_ports.is_empty()
            && c.gate.is_none()
            && c.extensions().next().is_some()
        {
            out.push(format!(
                "ports without HTTP filters get no extensions: {}",
                skipped_ports
                    .iter()
                    .map(|p| format!("{} ({})", p.port, p.protocol))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if c.gate.is_none()
            && !p.random
            && p.all.len() > p.patched.len()
            && c.extensions().next().is_some()
        {
            out.push(format!(
                "extensions only on inbound port {} (of {}); the other ports run without them",
                p.patched.join(", "),
                p.all.join(", ")
            ));
        }
    }
    for l in &c.wasm_left_off {
        out.push(format!(
            "WasmPlugin {} is not on this listener: {}",
            l.key,
            l.why.describe()
        ));
    }
    for e in &c.skipped {
        if let Some(r) = &e.skip {
            out.push(format!("skipped {}: {r}", e.key()));
        }
    }
    if let Some(why) = &c.custom_deny_all {
        out.push(format!(
            "CUSTOM AuthorizationPolicy without ext_authz ({why}): istiod emits one deny-all RBAC filter, so every request is denied"
        ));
    }
    for p in &c.order_varies {
        let names: Vec<String> = c
            .extensions()
            .filter(|e| e.phase == Some(*p))
            .map(|e| e.key())
            .collect();
        out.push(format!(
            "{p} order may change from push to push (istiod's tie-break cannot tell {} apart); shown: one possible order",
            names.join(", ")
        ));
    }
    out
}

/// A readable table per workload.
pub fn human(chains: &[WorkloadChain]) -> String {
    let mut s = String::new();
    for (n, c) in chains.iter().enumerate() {
        if n > 0 {
            s.push('\n');
        }
        let ports = match &c.ports {
            // The SME-patched inbound port; nothing is patched from v2.3 on.
            _ if !c.version.has_sme() => String::new(),
            Some(p) if p.random && c.gate != Some(Gate::NotInjected) => format!(
                ", one of ports {} per push",
                p.candidates
                    .iter()
                    .map(|p| p.port.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(p) if !p.patched.is_empty() && c.gate != Some(Gate::NotInjected) => {
                format!(", port {}", p.patched.join(","))
            }
            _ => String::new(),
        };
        let listener = match (c.gate, c.listener) {
            (Some(Gate::NotInjected), _) => "no proxy",
            (Some(Gate::NoHttpServer), _) => "no HTTP listener",
            (_, Listener::Gateway) => "every HTTP listener",
            (_, Listener::Inbound) => "inbound",
            (_, Listener::Outbound) => "outbound",
        };
        let ports = match c.port {
            Some(p) => format!("{ports}, listener port {p}"),
            None => ports,
        };
        let _ = writeln!(
            s,
            "{} {} ({} {}, {listener}{ports})",
            c.kind,
            c.key(),
            c.version,
            proxy_str(c.proxy),
        );
        let main_rows = rows(&c.filters);
        if !main_rows.is_empty() {
            table(&mut s, &main_rows);
        }
        for note in notes(c) {
            let _ = writeln!(s, "  note: {note}");
        }
        for n in &c.network {
            let _ = writeln!(s, "  {}:", net_title(n));
            table(&mut s, &rows(&n.filters));
            for l in &n.left_off {
                let _ = writeln!(
                    s,
                    "  note: WasmPlugin {} is not among these network filters: {}",
                    l.key,
                    l.why.describe()
                );
            }
        }
    }
    if chains.is_empty() {
        s.push_str("no workloads in the mesh\n");
    }
    s
}

/// The table rows of a filter list: name, phase, priority, source.
fn rows(filters: &[Filter]) -> Vec<[String; 4]> {
    filters
        .iter()
        .map(|f| match f {
            Filter::Builtin { name, origin } => [
                name.to_string(),
                String::new(),
                String::new(),
                origin.describe().to_string(),
            ],
            Filter::Extension(e) => {
                let mut src = format!("SME {}", e.key());
                if let Some(d) = &e.digest {
                    let _ = write!(src, " @{d}");
                }
                let _ = write!(src, " — {}", e.why);
                [
                    e.name.clone(),
                    e.phase.map(|p| p.to_string()).unwrap_or_default(),
                    e.priority.to_string(),
                    src,
                ]
            }
            Filter::WasmPlugin(p) => [
                p.filter_name.clone(),
                p.phase.to_string(),
                p.priority.map_or("unset".into(), |v| v.to_string()),
                format!("WasmPlugin {} — {}", p.key(), p.url),
            ],
        })
        .collect()
}

fn table(s: &mut String, rows: &[[String; 4]]) {
    let width = |i: usize, title: &str| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
            .max(title.len())
    };
    let (w0, w1, w2) = (width(0, "filter"), width(1, "phase"), width(2, "priority"));
    let _ = writeln!(
        s,
        "  {:>2}  {:w0$}  {:w1$}  {:>w2$}  source",
        "#", "filter", "phase", "priority"
    );
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>2}  {:w0$}  {:w1$}  {:>w2$}  {}",
            i + 1,
            r[0],
            r[1],
            r[2],
            r[3]
        );
    }
}

fn filter_json(f: &Filter) -> Value {
    match f {
        Filter::Builtin { name, origin } => {
            json!({"name": name, "builtin": true, "source": origin.describe()})
        }
        Filter::WasmPlugin(p) => json!({
            "name": p.filter_name,
            "builtin": false,
            "kind": "WasmPlugin",
            "extension": p.key(),
            "phase": p.phase.as_str(),
            "priority": p.priority,
            "url": p.url,
        }),
        Filter::Extension(e) => {
            let mut v = json!({
                "name": e.name,
                "builtin": false,
                "kind": "ServiceMeshExtension",
                "extension": e.key(),
                "phase": e.phase.map(|p| p.as_str()),
                "priority": e.priority,
                "image": e.image,
                "why": e.why,
            });
            if let Some(d) = &e.digest {
                v["digest"] = json!(d);
            }
            v
        }
    }
}

/// The JSON document (`version: 1`) described in the issue.
pub fn json_value(version: MeshVersion, chains: &[WorkloadChain]) -> Value {
    let workloads: Vec<Value> = chains
        .iter()
        .map(|c| {
            let mut w = json!({
                "namespace": c.namespace,
                "name": c.name,
                "kind": c.kind,
                "proxy": proxy_str(c.proxy),
                "listener": c.listener.as_str(),
                "filters": c.filters.iter().map(filter_json).collect::<Vec<_>>(),
            });
            if let Some(p) = c.port {
                w["port"] = json!(p);
            }
            if let Some(p) = &c.ports {
                w["services"] = json!(p.services);
                w["ports"] = json!(p.all);
                w["patched_ports"] = json!(p.patched);
                w["candidate_ports"] = p
                    .candidates
                    .iter()
                    .map(|c| json!({"port": c.port, "protocol": c.protocol, "http": c.http}))
                    .collect();
                w["patched_port_random"] = json!(p.random);
            }
            if let Injection::NotInjected(why) = &c.injection {
                w["no_proxy"] = json!(why);
            }
            if let Some(sv) = &c.servers {
                w["gateways"] = json!(sv.gateways);
                w["http_servers"] = json!(sv.http);
                w["other_servers"] = json!(sv.other);
            }
            if let Some(g) = c.gate {
                w["not_applied"] = json!({
                    "reason": g.describe(),
                    "extensions": c.unapplied.iter().map(|e| e.key()).collect::<Vec<_>>(),
                });
            }
            if let Some(why) = &c.custom_deny_all {
                w["custom_deny_all"] = json!(why);
            }
            if !c.order_varies.is_empty() {
                w["order_varies"] = json!(c.order_varies.iter().map(|p| p.as_str()).collect::<Vec<_>>());
            }
            if !c.wasm_left_off.is_empty() {
                w["wasm_left_off"] = c
                    .wasm_left_off
                    .iter()
                    .map(|l| json!({"extension": l.key, "reason": l.why.describe()}))
                    .collect();
            }
            if !c.network.is_empty() {
                w["network"] = c
                    .network
                    .iter()
                    .map(|n| {
                        let mut v = json!({
                            "terminal": n.terminal.as_str(),
                            "filters": n.filters.iter().map(filter_json).collect::<Vec<_>>(),
                        });
                        if let Some(p) = n.port {
                            v["port"] = json!(p);
                        }
                        if !n.left_off.is_empty() {
                            v["wasm_left_off"] = n
                                .left_off
                                .iter()
                                .map(|l| json!({"extension": l.key, "reason": l.why.describe()}))
                                .collect();
                        }
                        v
                    })
                    .collect();
            }
            if !c.skipped.is_empty() {
                w["skipped"] = c
                    .skipped
                    .iter()
                    .map(|e| json!({"extension": e.key(), "reason": e.skip.as_ref().map(|r| r.to_string())}))
                    .collect();
            }
            w
        })
        .collect();
    json!({"version": 1, "mesh_version": version.to_string(), "workloads": workloads})
}

pub fn json(version: MeshVersion, chains: &[WorkloadChain]) -> String {
    let mut s = crate::json_pretty::to_string(&json_value(version, chains)).unwrap_or_default();
    s.push('\n');
    s
}

fn escape_dot(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn label(f: &Filter) -> String {
    match f {
        Filter::Builtin { name, .. } => name.to_string(),
        Filter::WasmPlugin(p) => format!(
            "{}\n{} {}",
            p.filter_name,
            p.phase.as_str(),
            p.priority.map_or("unset".into(), |v| v.to_string())
        ),
        Filter::Extension(e) => {
            format!(
                "{}\n{} {}",
                e.name,
                e.phase.map(|p| p.as_str()).unwrap_or("?"),
                e.priority
            )
        }
    }
}

/// The heading of a network filter stack ("network filters of the tcp_proxy chains, …").
fn net_title(n: &super::NetStack) -> String {
    let port = match n.port {
        Some(0) => ", passthrough chain".to_string(),
        Some(p) => format!(", listener port {p}"),
        None => String::new(),
    };
    format!(
        "network filters of the {} chains{port}",
        n.terminal.as_str()
    )
}

/// Graphviz nodes `{id}_{i}` of a filter list, chained in order.
fn dot_list(s: &mut String, id: &str, filters: &[Filter], indent: &str) {
    for (fi, f) in filters.iter().enumerate() {
        let style = if f.builtin_name().is_none() {
            ", style=filled, fillcolor=lightblue"
        } else {
            ""
        };
        let text = escape_dot(&label(f)).replace('\n', "\\n");
        let _ = writeln!(s, "{indent}{id}_{fi} [label=\"{text}\"{style}];");
    }
    let ids: Vec<String> = (0..filters.len()).map(|fi| format!("{id}_{fi}")).collect();
    if ids.len() > 1 {
        let _ = writeln!(s, "{indent}{};", ids.join(" -> "));
    }
}

/// Graphviz: one cluster per workload, filters in order; network filter stacks (NETWORK
/// WasmPlugins) as clusters inside it.
pub fn dot(chains: &[WorkloadChain]) -> String {
    let mut s = String::from(
        "digraph chains {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (ci, c) in chains.iter().enumerate() {
        let _ = writeln!(
            s,
            "  subgraph cluster_{ci} {{\n    label=\"{}\";",
            escape_dot(&c.label())
        );
        dot_list(&mut s, &format!("w{ci}"), &c.filters, "    ");
        for (ni, n) in c.network.iter().enumerate() {
            let _ = writeln!(
                s,
                "    subgraph cluster_{ci}_n{ni} {{\n      label=\"{}\";",
                escape_dot(&net_title(n))
            );
            dot_list(&mut s, &format!("w{ci}_n{ni}"), &n.filters, "      ");
            s.push_str("    }\n");
        }
        s.push_str("  }\n");
    }
    s.push_str("}\n");
    s
}

fn escape_mermaid(s: &str) -> String {
    s.replace('"', "#quot;").replace('\n', "<br/>")
}

/// Mermaid nodes `{id}_{i}` of a filter list, chained in order.
fn mermaid_list(s: &mut String, id: &str, filters: &[Filter], indent: &str) {
    for (fi, f) in filters.iter().enumerate() {
        let (open, close) = if f.builtin_name().is_none() {
            ("([\"", "\"])")
        } else {
            ("[\"", "\"]")
        };
        let _ = writeln!(
            s,
            "{indent}{id}_{fi}{open}{}{close}",
            escape_mermaid(&label(f))
        );
    }
    let ids: Vec<String> = (0..filters.len()).map(|fi| format!("{id}_{fi}")).collect();
    if ids.len() > 1 {
        let _ = writeln!(s, "{indent}{}", ids.join(" --> "));
    }
}

/// Mermaid flowchart: one subgraph per workload; network filter stacks (NETWORK
/// WasmPlugins) as subgraphs inside it.
pub fn mermaid(chains: &[WorkloadChain]) -> String {
    let mut s = String::from("flowchart LR\n");
    for (ci, c) in chains.iter().enumerate() {
        let _ = writeln!(s, "  subgraph w{ci}[\"{}\"]", escape_mermaid(&c.label()));
        mermaid_list(&mut s, &format!("w{ci}"), &c.filters, "    ");
        for (ni, n) in c.network.iter().enumerate() {
            let _ = writeln!(
                s,
                "    subgraph w{ci}_n{ni}[\"{}\"]",
                escape_mermaid(&net_title(n))
            );
            mermaid_list(&mut s, &format!("w{ci}_n{ni}"), &n.filters, "      ");
            s.push_str("    end\n");
        }
        s.push_str("  end\n");
    }
    s
}
