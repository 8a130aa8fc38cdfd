//! Scenarios choose a listener class (`direction:`) and a port (`port:`) of a mesh workload
//! (issue 13): WasmPlugins with `match: [{mode: SERVER}]` run inbound only.

mod common;

use common::{bin, root, write};

fn simulate(scenario: &std::path::Path, mesh: &str) -> (i32, String) {
    let out = bin()
        .args(["simulate", mesh, "--images", "samples/images", "--scenario"])
        .arg(scenario)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn outbound_chains_run_without_inbound_only_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let s = |direction: &str, header: &str| {
        format!(
            "workload: shop/web\ndirection: {direction}\nrequests:\n  - request: {{path: /, headers: {{x-user: alice}}}}\n    http_calls:\n      - cluster: \"outbound|8080||auth.*\"\n        response: {{status: 200, body: alice}}\n    upstream: {{status: 200, body: ok}}\n    expect:\n      status: 200\n      response_headers: {{x-served-by: {header}}}\n"
        )
    };
    // Inbound: header-append (a WasmPlugin with match SERVER) adds x-served-by.
    let inbound = write(dir.path(), "in.yaml", &s("inbound", "shop-web"));
    let (code, text) = simulate(&inbound, "samples/mesh-v2.6");
    assert_eq!(code, 0, "{text}");
    // Outbound: no plugin on the chain, so no header.
    let outbound = write(dir.path(), "out.yaml", &s("outbound", "null"));
    let (code, text) = simulate(&outbound, "samples/mesh-v2.6");
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("shop/oob-auth"), "{text}");
    // v2.1 has no outbound chain for SMEs.
    let (code, text) = simulate(&outbound, "samples/mesh");
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("has no outbound chain"), "{text}");
}

#[test]
fn bad_direction_and_port_are_located_errors_and_gateways_have_one_class() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.yaml",
        "workload: shop/web\ndirection: sideways\nrequests: []\n",
    );
    let (code, text) = simulate(&bad, "samples/mesh-v2.6");
    assert_eq!(code, 2);
    assert!(
        text.contains("bad.yaml:2:12") && text.contains("`direction` is `inbound` or `outbound`"),
        "{text}"
    );
    let bad = write(
        dir.path(),
        "port.yaml",
        "workload: shop/web\nport: 0\nrequests: []\n",
    );
    let (code, text) = simulate(&bad, "samples/mesh-v2.6");
    assert_eq!(code, 2);
    assert!(
        text.contains("port.yaml:2:7") && text.contains("port number"),
        "{text}"
    );
    let gw = write(
        dir.path(),
        "gw.yaml",
        "workload: istio-system/istio-ingressgateway\ndirection: outbound\nrequests: []\n",
    );
    let (code, text) = simulate(&gw, "samples/mesh-v2.6");
    assert_eq!(code, 2);
    assert!(text.contains("is a gateway"), "{text}");
}

/// A WasmPlugin whose image the version's fetcher cannot use (here an SME image: no
/// plugin.wasm) follows `failStrategy`: FAIL_OPEN puts an allow-all stand-in on the chain
/// (Istio 1.19+); FAIL_CLOSE NACKs the update on Istio ≤ 1.24, so the chain does not serve.
#[test]
fn an_unfetchable_module_follows_the_fail_strategy() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = |strategy: &str| {
        format!(
            "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {{name: basic, namespace: istio-system}}\nspec: {{version: v2.6}}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {{name: default, namespace: istio-system}}\nspec: {{members: [shop]}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec: {{template: {{metadata: {{labels: {{app: web}}, annotations: {{sidecar.istio.io/inject: 'true'}}}}, spec: {{containers: [{{name: web, image: x}}]}}}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: shop}}\nspec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n---\napiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: sme-image, namespace: shop}}\nspec:\n  selector: {{matchLabels: {{app: web}}}}\n  url: oci://quay.io/meshext-samples/header-append:1.0\n  failStrategy: {strategy}\n"
        )
    };
    let scenario = write(
        dir.path(),
        "s.yaml",
        "workload: shop/web\nrequests:\n  - request: {path: /}\n    upstream: {status: 200, body: ok}\n    expect: {status: 200}\n",
    );
    let open = write(dir.path(), "open.yaml", &mesh("FAIL_OPEN"));
    let (code, text) = simulate(&scenario, open.to_str().unwrap());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("wasm-default-allow"), "{text}");
    let close = write(dir.path(), "close.yaml", &mesh("FAIL_CLOSE"));
    let (code, text) = simulate(&scenario, close.to_str().unwrap());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("NACKed"), "{text}");
    // From Istio 1.25 FAIL_CLOSE puts a deny-all RBAC filter in its place: 403.
    let upstream = mesh("FAIL_CLOSE");
    let workloads = upstream.splitn(3, "---\n").nth(2).unwrap();
    let close126 = write(dir.path(), "close126.yaml", workloads);
    let s403 = write(
        dir.path(),
        "s403.yaml",
        "workload: shop/web\nrequests:\n  - request: {path: /}\n    upstream: {status: 200, body: ok}\n    expect: {status: 403, response_body: \"RBAC: access denied\", upstream_called: false}\n",
    );
    let out = bin()
        .args([
            "simulate",
            "--istio-version",
            "1.26",
            "--images",
            "samples/images",
            "--scenario",
        ])
        .arg(&s403)
        .arg(&close126)
        .current_dir(root())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("wasm-default-deny"), "{text}");
}
