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
