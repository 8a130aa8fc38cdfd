//! Network filter stacks of `type: NETWORK` WasmPlugins (Istio 1.20+) per listener class, as
//! `chain --format json` shows them (`network[]`); HTTP filter lists stay as they were.

mod common;

use common::{bin, write};
use serde_json::Value;

/// The Service of `shop/db` and what every mesh of these tests has besides
/// (`common::shop_db_mesh`).
const BASE_REST: &str = "apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports:
    - {name: tcp-db, port: 5432, targetPort: 5432}
    - {name: http, port: 80, targetPort: 8080}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny, namespace: shop}
spec: {action: DENY, rules: [{from: [{source: {namespaces: [evil]}}]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow, namespace: shop}
spec: {action: ALLOW, rules: [{}]}
";

fn base(version: &str) -> String {
    common::shop_db_mesh(version, BASE_REST)
}

fn plugin(name: &str, extra: &str) -> String {
    format!(
        "---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: {name}, namespace: shop}}
spec:
  url: oci://quay.io/acme/{name}:1.0
  type: NETWORK
{extra}"
    )
}

fn chain(version: &str, extra: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mesh = write(dir.path(), "mesh.yaml", &(base(version) + extra));
    let out = bin()
        .args(["chain", "--format", "json"])
        .arg(&mesh)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(filters: &Value) -> Vec<String> {
    (filters.as_array().unwrap().iter())
        .map(|f| {
            let n = f["name"].as_str().unwrap();
            n.strip_prefix("envoy.filters.network.")
                .unwrap_or(n)
                .to_string()
        })
        .collect()
}

/// (listener, terminal, port) → filter names.
fn stacks(v: &Value) -> Vec<(String, String, Option<i64>, Vec<String>)> {
    let mut out = Vec::new();
    for w in v["workloads"].as_array().unwrap() {
        for n in w["network"].as_array().into_iter().flatten() {
            out.push((
                w["listener"].as_str().unwrap().to_string(),
                n["terminal"].as_str().unwrap().to_string(),
                n["port"].as_i64(),
                names(&n["filters"]),
            ));
        }
    }
    out
}

fn phases() -> String {
    plugin("u", "")
        + &plugin("st-low", "  phase: STATS\n  priority: 1\n")
        + &plugin("st-high", "  phase: STATS\n  priority: 5\n")
        + &plugin("z", "  phase: AUTHZ\n")
        + &plugin("n", "  phase: AUTHN\n")
}

#[test]
fn each_class_gets_istiods_network_layout() {
    let v = chain("v2.6", &phases());
    let s = stacks(&v);
    let want = |l: &str, t: &str, f: &[&str]| {
        (
            l.to_string(),
            t.to_string(),
            None,
            f.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    let plugins = ["shop.n", "shop.z"];
    let tail = ["shop.st-high", "shop.st-low", "shop.u"];
    let inbound_tcp: Vec<&str> = [
        "istio.metadata_exchange",
        plugins[0],
        plugins[1],
        "rbac",
        "rbac",
    ]
    .into_iter()
    .chain(tail)
    .chain(["istio.stats", "tcp_proxy"])
    .collect();
    let outbound_tcp: Vec<&str> = plugins
        .into_iter()
        .chain(tail)
        .chain(["istio.stats", "tcp_proxy"])
        .collect();
    let inbound_http: Vec<&str> = ["istio.metadata_exchange"]
        .into_iter()
        .chain(plugins)
        .chain(tail)
        .chain(["http_connection_manager"])
        .collect();
    let outbound_http: Vec<&str> = plugins
        .into_iter()
        .chain(tail)
        .chain(["http_connection_manager"])
        .collect();
    assert_eq!(
        s,
        [
            want("inbound", "tcp_proxy", &inbound_tcp),
            want("inbound", "http_connection_manager", &inbound_http),
            want("outbound", "tcp_proxy", &outbound_tcp),
            want("outbound", "http_connection_manager", &outbound_http),
        ]
    );
    // The network RBAC filters are the DENY then the ALLOW policy.
    let f = &v["workloads"][0]["network"][0]["filters"];
    assert_eq!(f[3]["source"], "AuthorizationPolicy DENY");
    assert_eq!(f[4]["source"], "AuthorizationPolicy ALLOW");
}

#[test]
fn http_filter_lists_do_not_change() {
    let without = chain("v2.6", "");
    let with = chain("v2.6", &phases());
    for (a, b) in
        (without["workloads"].as_array().unwrap().iter()).zip(with["workloads"].as_array().unwrap())
    {
        assert_eq!(a["filters"], b["filters"]);
    }
    // No NETWORK plugin: no `network` (the output of such meshes is unchanged).
    assert!(without["workloads"][0].get("network").is_none());
}

#[test]
fn match_ports_split_the_tcp_chains() {
    let v = chain(
        "v3.0",
        &plugin("pg", "  match: [{mode: SERVER, ports: [{number: 5432}]}]\n"),
    );
    let s = stacks(&v);
    let inbound: Vec<_> = s
        .iter()
        .filter(|x| x.0 == "inbound")
        .map(|x| {
            (
                x.1.as_str(),
                x.2,
                x.3.iter().any(|n| n.ends_with("/shop.pg")),
            )
        })
        .collect();
    // Passthrough (0) has no port to match; 5432 does; the HTTP port 8080 does not.
    assert_eq!(
        inbound,
        [
            ("tcp_proxy", Some(0), false),
            ("tcp_proxy", Some(5432), true),
            ("http_connection_manager", None, false)
        ]
    );
    let w = &v["workloads"][0]["network"][0]["wasm_left_off"][0];
    assert_eq!(w["extension"], "shop/pg");
}

#[test]
fn a_gateway_with_only_tcp_servers_has_network_filters() {
    let gw = "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system}
spec:
  template:
    metadata:
      labels: {istio: ingressgateway}
    spec:
      containers: [{name: istio-proxy, image: registry.redhat.io/openshift-service-mesh/proxyv2-rhel8:2.6}]
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: pg, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 15443, name: tls, protocol: TLS}
      hosts: [\"*\"]
      tls: {mode: ISTIO_MUTUAL}
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {name: edge, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  url: oci://quay.io/acme/edge:1.0
  type: NETWORK
";
    let v = chain("v2.6", gw);
    let s: Vec<_> = stacks(&v)
        .into_iter()
        .filter(|x| x.0 == "gateway")
        .collect();
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0].1, "tcp_proxy");
    // ISTIO_MUTUAL: metadata exchange first; no HTTP server, so no HCM stack.
    assert_eq!(
        s[0].3,
        [
            "istio.metadata_exchange",
            "istio-system.edge",
            "istio.stats",
            "tcp_proxy"
        ]
    );
}

#[test]
fn before_istio_1_20_type_is_pruned_and_the_plugin_is_http() {
    let v = chain("v2.5", &plugin("n", "  phase: AUTHN\n"));
    assert!(stacks(&v).is_empty());
    let http = names(&v["workloads"][0]["filters"]);
    assert!(http.contains(&"shop.n".to_string()), "{http:?}");
}

#[test]
fn inbound_tcp_chains_match_the_service_port_not_the_target_port() {
    // istiod passes the Service port to the TCP chains' plugin lookup (the HTTP ones get the
    // targetPort): 5432 → 15432 matches on 5432.
    let run = |port: u16| {
        let dir = tempfile::tempdir().unwrap();
        let text = base("v2.6").replace("targetPort: 5432", "targetPort: 15432")
            + &plugin(
                "pg",
                &format!("  match: [{{mode: SERVER, ports: [{{number: {port}}}]}}]\n"),
            );
        let mesh = write(dir.path(), "mesh.yaml", &text);
        let out = bin()
            .args(["chain", "--format", "json"])
            .arg(&mesh)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        stacks(&v)
            .into_iter()
            .filter(|x| x.0 == "inbound" && x.3.iter().any(|n| n == "shop.pg"))
            .map(|x| x.2)
            .collect::<Vec<_>>()
    };
    assert_eq!(run(5432), [Some(5432)]);
    assert!(run(15432).is_empty());
}

#[test]
fn chain_diff_shows_network_filter_changes() {
    let dir = tempfile::tempdir().unwrap();
    let base = base("v2.6");
    let old = write(
        dir.path(),
        "old.yaml",
        &(base.clone() + &plugin("a", "  priority: 1\n") + &plugin("b", "  priority: 2\n")),
    );
    let new = write(
        dir.path(),
        "new.yaml",
        &(base + &plugin("a", "  priority: 3\n") + &plugin("b", "  priority: 2\n")),
    );
    let out = bin()
        .args(["chain"])
        .arg(&new)
        .arg("--diff")
        .arg(&old)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+ (network tcp_proxy) shop.a [UNSPECIFIED_PHASE 3]"),
        "{text}"
    );
}

/// `--format dot` and `--format mermaid` draw the network filter stacks inside the workload's
/// cluster, with the NETWORK plugin in them; a mesh without one draws none.
#[test]
fn dot_and_mermaid_draw_network_filter_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let with = write(
        dir.path(),
        "with.yaml",
        &(base("v2.6") + &plugin("upper", "")),
    );
    let without = write(dir.path(), "without.yaml", &base("v2.6"));
    let draw = |format: &str, mesh: &std::path::Path| {
        let out = bin()
            .args(["chain", "--workload", "shop/db", "--format", format])
            .arg(mesh)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let dot = draw("dot", &with);
    assert!(dot.contains("subgraph cluster_0_n0 {"), "{dot}");
    assert!(
        dot.contains("label=\"network filters of the tcp_proxy chains"),
        "{dot}"
    );
    assert!(dot.contains("w0_n0_0") && dot.contains("upper"), "{dot}");
    let mermaid = draw("mermaid", &with);
    assert!(
        mermaid.contains("subgraph w0_n0[\"network filters of the tcp_proxy chains"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains(" --> ") && mermaid.contains("upper"),
        "{mermaid}"
    );
    assert!(!draw("dot", &without).contains("_n0"));
    assert!(!draw("mermaid", &without).contains("_n0"));
}
