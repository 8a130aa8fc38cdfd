//! Effective filter chains of hand-written meshes (tests/fixtures/chain/*.yaml), through the
//! binary, against the orders the reference derives (maistra.md §3.3–§3.6).

mod common;
use common::*;
use serde_json::Value;

const MX: &str = "istio.metadata_exchange";
const AUTHN: &str = "istio_authn";
const JWT: &str = "envoy.filters.http.jwt_authn";
const RBAC: &str = "envoy.filters.http.rbac";
const EXT_AUTHZ: &str = "envoy.filters.http.ext_authz";
const CORS: &str = "envoy.filters.http.cors";
const FAULT: &str = "envoy.filters.http.fault";
const STATS: &str = "istio.stats";
const ROUTER: &str = "envoy.filters.http.router";

fn fixture(name: &str) -> String {
    format!("tests/fixtures/chain/{name}")
}

/// `chain --format json` of a fixture: (mesh version, workloads).
fn chain(name: &str, extra: &[&str]) -> (String, Vec<Value>) {
    let f = fixture(name);
    let mut args = vec!["chain", f.as_str(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        j["mesh_version"].as_str().unwrap().to_string(),
        j["workloads"].as_array().unwrap().clone(),
    )
}

fn filters(w: &Value) -> Vec<&str> {
    w["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

fn only_workload(workloads: &[Value]) -> &Value {
    assert_eq!(workloads.len(), 1, "{workloads:#?}");
    &workloads[0]
}

fn rules(file: &str, extra: &[&str]) -> Vec<String> {
    let f = fixture(file);
    let mut args = vec![f.as_str()];
    args.extend_from_slice(extra);
    rule_positions(&lint_json(&args).1)
}

#[test]
fn worked_example_v2_1() {
    let (version, w) = chain("worked-example.yaml", &[]);
    assert_eq!(version, "v2.1");
    let web = only_workload(&w);
    // maistra.md §3.6: [mx(EF), A, B, istio_authn, rbac, C, cors, fault, D, istio.stats(EF), router]
    assert_eq!(
        filters(web),
        [MX, "a", "b", AUTHN, RBAC, "c", CORS, FAULT, "d", STATS, ROUTER]
    );
    let f = &web["filters"];
    assert_eq!(f[0]["source"], "telemetry EnvoyFilter");
    assert_eq!(
        (f[1]["phase"].as_str(), f[1]["priority"].as_i64()),
        (Some("PreAuthN"), Some(10))
    );
    assert_eq!(
        (f[2]["phase"].as_str(), f[2]["priority"].as_i64()),
        (Some("PreAuthN"), Some(5))
    );
    assert_eq!(f[4]["source"], "AuthorizationPolicy ALLOW");
    // D is PostStats but lands before the stats filter.
    assert_eq!(rules("worked-example.yaml", &[]), ["MX602 86:3"]);
}

#[test]
fn worked_example_v2_0() {
    let (version, w) = chain("worked-example-v20.yaml", &[]);
    assert_eq!(version, "v2.0");
    // Same anchors; the Envoy 1.14 filter names.
    assert_eq!(
        filters(only_workload(&w)),
        [
            MX,
            "a",
            "b",
            AUTHN,
            RBAC,
            "c",
            "envoy.cors",
            "envoy.fault",
            "d",
            STATS,
            "envoy.router"
        ]
    );
}

#[test]
fn worked_example_v2_2() {
    let (version, w) = chain("worked-example.yaml", &["--mesh-version", "v2.2"]);
    assert_eq!(version, "v2.2");
    // v2.2: no istio_authn without a RequestAuthentication, so PreAuthN goes before the RBAC
    // filter; metadata exchange is a native filter after the authz filters.
    assert_eq!(
        filters(only_workload(&w)),
        ["a", "b", RBAC, "c", MX, CORS, FAULT, "d", STATS, ROUTER]
    );
}

#[test]
fn gateway_with_jwt() {
    let (_, w) = chain("gateway-jwt.yaml", &[]);
    let gw = only_workload(&w);
    assert_eq!(gw["proxy"], "gateway");
    assert_eq!(gw["name"], "istio-ingressgateway");
    assert_eq!(
        filters(gw),
        [
            MX,
            "pre-authn",
            JWT,
            AUTHN,
            "post-authn",
            CORS,
            FAULT,
            "stats",
            STATS,
            ROUTER
        ]
    );
    assert_eq!(gw["filters"][2]["source"], "RequestAuthentication");
    assert_eq!(rules("gateway-jwt.yaml", &[]), Vec::<String>::new());
}

#[test]
fn custom_authorization_policy() {
    let (_, w) = chain("custom-authz.yaml", &[]);
    // Shadow RBAC + ext_authz before authn: PreAuthZ before them, PostAuthZ in between.
    assert_eq!(
        filters(only_workload(&w)),
        [
            MX,
            "pre-authz",
            RBAC,
            "post-authz",
            EXT_AUTHZ,
            AUTHN,
            CORS,
            FAULT,
            STATS,
            ROUTER
        ]
    );
    assert_eq!(
        rules("custom-authz.yaml", &[]),
        ["MX603 63:3", "MX608 54:3"]
    );
    // CUSTOM does not exist on v2.0 (Istio 1.6): no shadow RBAC, no ext_authz.
    let (_, w) = chain("custom-authz.yaml", &["--mesh-version", "v2.0"]);
    let names = filters(only_workload(&w));
    assert!(
        !names.contains(&EXT_AUTHZ) && !names.contains(&RBAC),
        "{names:?}"
    );
}

#[test]
fn telemetry_none_applies_nothing_on_v2_1() {
    let (_, w) = chain("telemetry-none.yaml", &[]);
    let web = only_workload(&w);
    // No telemetry EnvoyFilters and no SME patch.
    assert_eq!(filters(web), [AUTHN, CORS, FAULT, ROUTER]);
    assert_eq!(
        web["not_applied"]["extensions"],
        serde_json::json!(["shop/header"])
    );
    assert_eq!(rules("telemetry-none.yaml", &[]), ["MX605 37:12"]);
    // Same gate on v2.2 (plus the deprecation of the resource there).
    assert_eq!(
        rules("telemetry-none.yaml", &["--mesh-version", "v2.2"]),
        ["MX203 36:1", "MX605 37:12"]
    );
}

/// v2.1 patches only the first port of the oldest Service; a Service written without
/// `creationTimestamp` (not created yet) is newer than one exported with a timestamp.
#[test]
fn the_oldest_service_gets_the_extensions() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = std::fs::read_to_string(root().join("samples/mesh/shop/web.yaml")).unwrap();
    let extra = "---\napiVersion: v1\nkind: Service\nmetadata: {name: web-admin, namespace: shop, creationTimestamp: '2020-01-01T00:00:00Z'}\nspec:\n  selector: {app: web}\n  ports: [{name: http-admin, port: 81, targetPort: 9090}]\n";
    write(dir.path(), "shop/web.yaml", &format!("{mesh}{extra}"));
    for f in ["istio-system/control-plane.yaml", "shop/extensions.yaml"] {
        write(
            dir.path(),
            f,
            &std::fs::read_to_string(root().join("samples/mesh").join(f)).unwrap(),
        );
    }
    let out = run(&[
        "chain",
        "--format",
        "json",
        "--workload",
        "shop/web",
        dir.path().to_str().unwrap(),
    ]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = &json["workloads"][0];
    assert_eq!(w["patched_ports"], serde_json::json!(["9090"]), "{w:#}");
    assert_eq!(w["services"][0], "shop/web-admin", "{w:#}");
}

/// `(listener, wasm plugin keys)` of every entry.
fn wasm_entries(workloads: &[Value]) -> Vec<(String, Vec<String>)> {
    workloads
        .iter()
        .map(|w| {
            let keys = w["filters"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["kind"] == "WasmPlugin")
                .map(|f| f["extension"].as_str().unwrap().to_string())
                .collect();
            (w["listener"].as_str().unwrap().to_string(), keys)
        })
        .collect()
}

#[test]
fn apply_wasm_plugins_to_inbound_only_per_ossm_version() {
    let e = |extra: &[&str]| wasm_entries(&chain("wasm-inbound-only.yaml", extra).1);
    let s = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // 2.3: nothing on outbound; `match` is pruned, so both are inbound.
    assert_eq!(
        e(&[]),
        [
            ("inbound".into(), s(&["shop/everywhere", "shop/client"])),
            ("outbound".into(), s(&[]))
        ]
    );
    // 2.4: only the plugin without `match` stays off outbound.
    assert_eq!(
        e(&["--mesh-version", "v2.4"]),
        [
            ("inbound".into(), s(&["shop/everywhere"])),
            ("outbound".into(), s(&["shop/client"]))
        ]
    );
    // 2.5: no flag.
    assert_eq!(
        e(&["--mesh-version", "v2.5"])[1],
        ("outbound".into(), s(&["shop/everywhere", "shop/client"]))
    );
    let (_, w) = chain("wasm-inbound-only.yaml", &[]);
    // 1.14 ties (no creation time) by "name.namespace": client.shop first.
    assert_eq!(w[1]["wasm_left_off"][0]["extension"], "shop/client");
    assert_eq!(w[0]["filters"][0]["name"], "shop.everywhere");
}
