//! NETWORK WasmPlugins from a mesh: `simulate <mesh> --scenario S` with `connections:` runs the
//! workload's TCP network filters (`chain`'s `network`, Istio 1.20+) with the modules of
//! `--images`; the WAT guest `sim_tcp_upper` is packed as a WasmPlugin image.

mod common;

use common::{bin, write};
use meshext_lint::image::pack::{pack_wasm_plugin_bytes, WasmPluginVariant};
use std::path::{Path, PathBuf};

/// The Service of `shop/db` and what every mesh of these tests has besides
/// (`common::shop_db_mesh`).
const MESH_REST: &str = "apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec:
  selector: {app: db}
  ports:
    - {name: tcp-db, port: 5432, targetPort: 5432}
";

fn mesh(version: &str) -> String {
    common::shop_db_mesh(version, MESH_REST)
}

fn plugin(name: &str, extra: &str) -> String {
    format!(
        "---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: {name}, namespace: shop}}
spec:
  url: oci://quay.io/acme/tcp-upper:1.0
  type: NETWORK
  selector: {{matchLabels: {{app: db}}}}
{extra}"
    )
}

const SCENARIO: &str = "workload: shop/db
connections:
  - name: shout
    events: [{downstream: \"hi\\n\"}, {upstream: ok}]
    expect: {upstream_received: \"HI\\n\", downstream_received: ok}
";

struct Setup {
    _dir: tempfile::TempDir,
    mesh: PathBuf,
    images: PathBuf,
    scenario: PathBuf,
}

fn setup(version: &str, plugins: &str, scenario: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let p = format!(
        "{}/tests/fixtures/wat/sim_tcp_upper.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let module = wat::parse_file(&p).unwrap();
    let images = dir.path().join("images");
    pack_wasm_plugin_bytes(
        &module,
        "sim_tcp_upper.wat",
        "quay.io/acme/tcp-upper:1.0",
        &images,
        WasmPluginVariant::Compat,
    )
    .unwrap();
    let mesh = write(dir.path(), "mesh.yaml", &(mesh(version) + plugins));
    let scenario = write(dir.path(), "s.yaml", scenario);
    Setup {
        _dir: dir,
        mesh,
        images,
        scenario,
    }
}

fn simulate(s: &Setup, json: bool) -> (i32, String) {
    let mut cmd = bin();
    cmd.arg("simulate")
        .arg(&s.mesh)
        .arg("--images")
        .arg(&s.images);
    if json {
        cmd.args(["--format", "json"]);
    }
    let out = cmd.arg("--scenario").arg(&s.scenario).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn chain_json(mesh: &Path) -> serde_json::Value {
    let out = bin()
        .args(["chain", "--format", "json"])
        .arg(mesh)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_network_plugin_runs_on_the_workloads_tcp_chain() {
    let s = setup("v2.6", &plugin("upper", "  phase: AUTHZ\n"), SCENARIO);
    let (code, text) = simulate(&s, false);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("connection: shout [pass]"), "{text}");
    // The chain shows the stack the simulator ran.
    let v = chain_json(&s.mesh);
    let net = &v["workloads"][0]["network"][0];
    assert_eq!(net["terminal"], "tcp_proxy");
    let names: Vec<&str> = (net["filters"].as_array().unwrap().iter())
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "istio.metadata_exchange",
            "shop.upper",
            "istio.stats",
            "envoy.filters.network.tcp_proxy"
        ]
    );
}

#[test]
fn plugins_run_in_phase_then_priority_order() {
    // Both upper-case; the trace shows which read first: AUTHN, then STATS by priority.
    let plugins = plugin("late", "  phase: STATS\n  priority: 1\n")
        + &plugin("early", "  phase: AUTHN\n")
        + &plugin("mid", "  phase: STATS\n  priority: 9\n");
    let s = setup("v3.0", &plugins, SCENARIO);
    let (code, text) = simulate(&s, true);
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut order: Vec<&str> = (v["connections"][0]["trace"].as_array().unwrap().iter())
        .filter(|e| e["callback"] == "proxy_on_new_connection")
        .map(|e| e["filter"].as_str().unwrap())
        .collect();
    order.dedup();
    assert_eq!(order, ["shop/early", "shop/mid", "shop/late"], "{text}");
}

#[test]
fn a_plugin_whose_match_leaves_the_tcp_chain_does_not_run() {
    // CLIENT only: on the outbound chains, not inbound; the bytes pass unchanged.
    let s = setup(
        "v2.6",
        &plugin("upper", "  match: [{mode: CLIENT}]\n"),
        SCENARIO,
    );
    let (code, text) = simulate(&s, false);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("\"hi\\n\""), "{text}");
    // Outbound it runs.
    let out = SCENARIO.replace("connections:", "direction: outbound\nconnections:");
    let s = setup(
        "v2.6",
        &plugin("upper", "  match: [{mode: CLIENT}]\n"),
        &out,
    );
    let (code, text) = simulate(&s, false);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn before_istio_1_20_there_is_no_network_plugin() {
    // OSSM 2.5 is Istio 1.18: the CRD prunes `type`, the plugin is an HTTP filter.
    let s = setup("v2.5", &plugin("upper", ""), SCENARIO);
    let (code, text) = simulate(&s, false);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("Istio 1.18")
            && text.contains("`type: NETWORK` arrives with Istio 1.20")
            && text.contains("shop/upper runs as HTTP filters"),
        "{text}"
    );
}

#[test]
fn no_network_plugin_and_mixed_scenarios_are_clear_errors() {
    let s = setup("v2.6", "", SCENARIO);
    let (code, text) = simulate(&s, false);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("no `type: NETWORK` WasmPlugin attaches to `shop/db`"),
        "{text}"
    );
    let mixed = SCENARIO.to_string() + "requests:\n  - name: r\n";
    let s = setup("v2.6", &plugin("upper", ""), &mixed);
    let (code, text) = simulate(&s, false);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("put them in separate scenarios"), "{text}");
}

/// NETWORK plugins in front of an HTTP connection manager are not run by `requests:`; the
/// report says so (never a silent skip) and the HTTP chain still runs.
#[test]
fn requests_say_which_network_plugins_before_the_http_connection_manager_they_do_not_run() {
    let http_port = "    - {name: http-web, port: 8080, targetPort: 8080}\n";
    let scenario = "workload: shop/db
requests:
  - name: get
    request: {path: /}
    expect: {status: 200}
";
    let s = setup(
        "v2.6",
        &(http_port.to_string() + &plugin("upper", "")),
        scenario,
    );
    let (code, text) = simulate(&s, true);
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let notes = v["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{text}");
    let note = notes[0].as_str().unwrap();
    assert!(
        note.contains("shop/upper") && note.contains("not run"),
        "{note}"
    );
    let (code, human) = simulate(&s, false);
    assert_eq!(code, 0, "{human}");
    assert!(
        human.contains("note: not run: the NETWORK WasmPlugin shop/upper"),
        "{human}"
    );

    // Without a NETWORK plugin there is nothing to say.
    let s = setup("v2.6", http_port, scenario);
    let (code, text) = simulate(&s, true);
    assert_eq!(code, 0, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v.get("notes").is_none(), "{text}");
}
