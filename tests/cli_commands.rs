//! End-to-end tests of `chain`, `simulate`, `inspect`, `pack` and `lint` through the built
//! binary, on the bundled samples.

mod common;
use common::*;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;

const IMAGES: &str = "samples/images";
const HEADER_APPEND: &str = "samples/extensions/build/header-append.wasm";
const HEADER_APPEND_REF: &str = "quay.io/meshext-samples/header-append:1.0";

/// Runs the binary: (exit code, stdout, stderr).
fn sh(args: &[&str]) -> (i32, String, String) {
    let out = run(args);
    (
        out.status.code().expect("exit code, not a signal"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("JSON ({e}): {stdout}"))
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort();
    k
}

fn names(filters: &Value) -> Vec<&str> {
    filters
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------- chain

#[test]
fn chain_json_has_the_documented_shape() {
    let (code, out, err) = sh(&[
        "chain",
        "samples/mesh",
        "--images",
        IMAGES,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j = json_of(&out);
    assert_eq!(keys(&j), ["mesh_version", "version", "workloads"]);
    assert_eq!(j["version"], 1);
    assert_eq!(j["mesh_version"], "v2.1");
    let workloads = j["workloads"].as_array().unwrap();
    let ids: Vec<String> = workloads
        .iter()
        .map(|w| {
            format!(
                "{}/{}",
                w["namespace"].as_str().unwrap(),
                w["name"].as_str().unwrap()
            )
        })
        .collect();
    for id in [
        "istio-system/istio-ingressgateway",
        "payments/api",
        "shop/web",
        "shop/auth",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    for w in workloads {
        for k in ["namespace", "name", "kind", "proxy", "listener", "filters"] {
            assert!(w.get(k).is_some(), "workload without {k}: {w}");
        }
        for f in w["filters"].as_array().unwrap() {
            assert!(f["name"].is_string() && f["builtin"].is_boolean(), "{f}");
        }
    }
    let web = workloads
        .iter()
        .find(|w| w["namespace"] == "shop" && w["name"] == "web")
        .unwrap();
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["proxy"], "sidecar");
    assert_eq!(
        names(&web["filters"]),
        [
            "istio.metadata_exchange",
            "istio_authn",
            "envoy.filters.http.cors",
            "envoy.filters.http.fault",
            "oob-auth",
            "header-append",
            "counter",
            "istio.stats",
            "envoy.filters.http.router"
        ]
    );
    let oob = &web["filters"][4];
    assert_eq!(oob["builtin"], false);
    assert_eq!(oob["extension"], "shop/oob-auth");
    assert_eq!(oob["phase"], "PreAuthZ");
    assert_eq!(oob["priority"], 50);
    let gw = workloads
        .iter()
        .find(|w| w["name"] == "istio-ingressgateway")
        .unwrap();
    assert_eq!(gw["proxy"], "gateway");
    assert!(names(&gw["filters"]).contains(&"envoy.filters.http.jwt_authn"));
}

#[test]
fn chain_human_dot_and_mermaid() {
    let (code, human, _) = sh(&["chain", "samples/mesh", "--images", IMAGES]);
    assert_eq!(code, 0);
    assert!(
        human.contains("Deployment shop/web (v2.1 sidecar, inbound, port 8080)"),
        "{human}"
    );
    let web = human.split("Deployment shop/web").nth(1).unwrap();
    let pos = |s: &str| web.find(s).unwrap_or_else(|| panic!("{s} not in {web}"));
    assert!(pos("oob-auth") < pos("header-append") && pos("header-append") < pos("counter"));
    assert!(web.contains("SME shop/oob-auth @sha256:"), "{web}");

    let (code, dot, _) = sh(&["chain", "samples/mesh", "--format", "dot"]);
    assert_eq!(code, 0);
    assert!(dot.starts_with("digraph chains {"), "{dot}");
    assert!(dot.trim_end().ends_with('}'));
    assert!(
        dot.contains("label=\"Deployment shop/web (inbound)\""),
        "{dot}"
    );
    assert_eq!(dot.matches("subgraph cluster_").count(), 4, "{dot}");
    assert!(dot.contains(" -> "));

    let (code, mermaid, _) = sh(&[
        "chain",
        "samples/mesh",
        "--format",
        "mermaid",
        "--workload",
        "shop/web",
    ]);
    assert_eq!(code, 0);
    assert!(mermaid.starts_with("flowchart LR"), "{mermaid}");
    assert!(mermaid.contains("Deployment shop/web"));
    assert!(mermaid.contains("oob-auth<br/>PreAuthZ 50"), "{mermaid}");
    assert!(!mermaid.contains("payments"), "filtered: {mermaid}");
}

#[test]
fn chain_workload_filter() {
    let (code, out, _) = sh(&[
        "chain",
        "samples/mesh",
        "--format",
        "json",
        "--workload",
        "shop/*",
    ]);
    assert_eq!(code, 0);
    let j = json_of(&out);
    let mut got: Vec<&str> = j["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["auth", "web"]);
    assert!(j["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["namespace"] == "shop"));

    // Repeatable: the union.
    let (_, out, _) = sh(&[
        "chain",
        "samples/mesh",
        "--format",
        "json",
        "--workload",
        "shop/web",
        "--workload",
        "payments/api",
    ]);
    assert_eq!(json_of(&out)["workloads"].as_array().unwrap().len(), 2);

    let (code, out, err) = sh(&["chain", "samples/mesh", "--workload", "nope/*"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("no workload in the mesh matches nope/*"),
        "{err}"
    );
}

#[test]
fn chain_diff_lists_only_the_changed_workload() {
    let tmp = tempfile::tempdir().unwrap();
    let new = tmp.path().join("mesh");
    copy_dir(&root().join("samples/mesh"), &new);
    let ext = new.join("shop/extensions.yaml");
    let text = std::fs::read_to_string(&ext).unwrap();
    assert!(text.contains("phase: PreStats"));
    std::fs::write(&ext, text.replace("phase: PreStats", "phase: PostAuthZ")).unwrap();
    let new = new.to_str().unwrap();

    let (code, human, err) = sh(&["chain", new, "--images", IMAGES, "--diff", "samples/mesh"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        human.starts_with("1 workload(s) with filter chain changes"),
        "{human}"
    );
    assert!(
        human.contains("Deployment shop/web (inbound) (changed)"),
        "{human}"
    );
    for other in ["payments/api", "shop/auth", "istio-ingressgateway"] {
        assert!(
            !human.contains(other),
            "{other} unchanged but listed: {human}"
        );
    }
    assert!(
        human.contains("\n  + counter [PostAuthZ 10] shop/counter sha256:"),
        "{human}"
    );
    assert!(
        human.contains("\n  - counter [PreStats 10] shop/counter sha256:"),
        "{human}"
    );

    let (code, md, _) = sh(&[
        "chain",
        new,
        "--images",
        IMAGES,
        "--diff",
        "samples/mesh",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0);
    assert!(
        md.contains("| workload | change | filters added | filters removed |"),
        "{md}"
    );
    assert!(
        md.contains("| `Deployment shop/web (inbound)` | changed | `counter [PostAuthZ 10]"),
        "{md}"
    );
    assert_eq!(md.matches("<details>").count(), 1, "{md}");
    assert!(md.contains("```diff\n"), "{md}");
    assert!(!md.contains("payments"), "{md}");

    let (code, out, _) = sh(&["chain", new, "--diff", "samples/mesh", "--format", "json"]);
    assert_eq!(code, 0);
    let j = json_of(&out);
    assert_eq!(j["changes"].as_array().unwrap().len(), 1, "{j:#}");
    assert_eq!(j["changes"][0]["workload"], "Deployment shop/web (inbound)");

    let (code, same, _) = sh(&["chain", "samples/mesh", "--diff", "samples/mesh"]);
    assert_eq!(code, 0);
    assert_eq!(same.trim(), "no filter chain changes");

    let (code, _, err) = sh(&["chain", new, "--diff", "samples/mesh", "--format", "dot"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--diff prints human, markdown or json"),
        "{err}"
    );
}

// ------------------------------------------------------------------------------------- simulate

#[test]
fn simulate_sample_scenario_passes() {
    let args = [
        "simulate",
        "samples/mesh",
        "--images",
        IMAGES,
        "--scenario",
        "samples/scenarios/shop-web.yaml",
    ];
    let (code, human, err) = sh(&args);
    assert_eq!(code, 0, "{human}\n{err}");
    assert!(
        human.starts_with("Simulating on the OpenShift Service Mesh v2.1 proxy"),
        "{human}"
    );
    assert_eq!(human.matches("[pass]").count(), 3, "{human}");
    assert!(!human.contains("FAIL"), "{human}");

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (code, out, _) = sh(&json_args);
    assert_eq!(code, 0);
    let j = json_of(&out);
    assert_eq!(
        j["chain"],
        serde_json::json!([
            "istio.metadata_exchange",
            "istio_authn",
            "envoy.filters.http.cors",
            "envoy.filters.http.fault",
            "shop/oob-auth",
            "istio-system/header-append",
            "shop/counter",
            "istio.stats",
            "envoy.filters.http.router"
        ])
    );
    let first = &j["requests"][0];
    // The trace: every filter's callbacks, with what the modules did.
    let trace = first["trace"].as_array().unwrap();
    assert!(trace.iter().any(|t| t["filter"] == "shop/oob-auth"
        && t["callback"] == "proxy_on_request_headers"
        && t["calls"][0]["cluster"] == "outbound|8080||auth.shop.svc.cluster.local"));
    assert!(trace
        .iter()
        .any(|t| t["filter"] == "istio-system/header-append"
            && t["changes"] == serde_json::json!(["+x-mesh: ossm", "+x-served-by: shop-web"])));
    // The request as the application got it, and the response as the client got it.
    let up = first["upstream_request"]["headers"].as_array().unwrap();
    assert!(
        up.contains(&serde_json::json!(["x-auth-user", "alice"])),
        "{up:?}"
    );
    assert_eq!(first["response"]["status"], 200);
    assert_eq!(first["response"]["body"], "hello");
    assert!(first["response"]["headers"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(["x-request-count", "1"])));
    assert!(first["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["ok"] == true));
    // The denied request never reaches the application.
    assert_eq!(j["requests"][1]["response"]["status"], 403);
    assert!(j["requests"][1]["upstream_request"].is_null());
    assert_eq!(j["metrics"]["requests_total"], 2);
    assert_eq!(j["shared_data"]["requests"], "2");
    assert_eq!(j["errors"], serde_json::json!([]));
}

#[test]
fn simulate_failed_expectation_exits_1_with_expected_and_actual() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write(
        tmp.path(),
        "wrong.yaml",
        "requests:\n  - name: wrong header value\n    request: {method: GET, path: /}\n    upstream: {status: 200, body: ok}\n    expect:\n      status: 200\n      response_headers: {x-a: c}\n",
    );
    let scenario = scenario.to_str().unwrap();
    let args = [
        "simulate",
        "--module",
        HEADER_APPEND,
        "--config",
        r#"{"x-a":"b"}"#,
        "--scenario",
        scenario,
    ];
    let (code, out, _) = sh(&args);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL response header x-a: expected \"c\", got \"b\""),
        "{out}"
    );
    assert!(out.contains("ok   status = 200"), "{out}");

    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (code, out, _) = sh(&json_args);
    assert_eq!(code, 1);
    let j = json_of(&out);
    let failed: Vec<&Value> = j["requests"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{j:#}");
    assert_eq!(failed[0]["expected"], "\"c\"");
    assert_eq!(failed[0]["actual"], "\"b\"");
}

#[test]
fn simulate_malformed_scenario_exits_2_with_position() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(
        tmp.path(),
        "bad.yaml",
        "requests:\n  - name: x\n    request: {method: GET, path: /}\n    expect:\n      statuss: 200\n",
    );
    let (code, out, err) = sh(&[
        "simulate",
        "--module",
        HEADER_APPEND,
        "--scenario",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty());
    assert!(err.contains("bad.yaml:5:7: invalid scenario"), "{err}");
    assert!(err.contains("statuss"), "{err}");

    let syntax = write(
        tmp.path(),
        "syntax.yaml",
        "requests:\n  - name: x\n    request: [\n",
    );
    let (code, _, err) = sh(&[
        "simulate",
        "samples/mesh",
        "--scenario",
        syntax.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("syntax.yaml:4:1: invalid scenario: invalid YAML"),
        "{err}"
    );
}

#[test]
fn simulate_standalone_module_and_image() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write(
        tmp.path(),
        "s.yaml",
        "requests:\n  - name: header added\n    request: {method: GET, path: /}\n    upstream: {status: 200, body: hi}\n    expect:\n      status: 200\n      response_headers: {x-a: b}\n      response_body: hi\n",
    );
    let scenario = scenario.to_str().unwrap();
    let (code, out, err) = sh(&[
        "simulate",
        "--module",
        HEADER_APPEND,
        "--config",
        r#"{"x-a":"b"}"#,
        "--scenario",
        scenario,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let j = json_of(&out);
    assert_eq!(
        j["chain"],
        serde_json::json!(["default/header-append", "router"])
    );
    assert!(j["requests"][0]["response"]["headers"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(["x-a", "b"])));

    let (code, out, err) = sh(&[
        "simulate",
        "--image",
        HEADER_APPEND_REF,
        "--images",
        IMAGES,
        "--plugin-config",
        r#"{"x-a":"b"}"#,
        "--scenario",
        scenario,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("[pass]"), "{out}");

    // The configuration from a file; the mesh version's host when given.
    let cfg = write(tmp.path(), "cfg.json", r#"{"x-a":"b"}"#);
    let at = format!("@{}", cfg.display());
    let (code, out, _) = sh(&[
        "simulate",
        "--module",
        HEADER_APPEND,
        "--plugin-config",
        &at,
        "--mesh-version",
        "v2.2",
        "--scenario",
        scenario,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("v2.2"), "{out}");

    let (code, _, err) = sh(&[
        "simulate",
        "--image",
        HEADER_APPEND_REF,
        "--scenario",
        scenario,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--image needs --images"), "{err}");
    let (code, _, err) = sh(&[
        "simulate",
        "--image",
        "quay.io/meshext-samples/nope:1.0",
        "--images",
        IMAGES,
        "--scenario",
        scenario,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("MX401"), "{err}");
}

// -------------------------------------------------------------------------------------- inspect

/// The keys of a lint JSON diagnostic (docs/json-format.md).
fn assert_lint_shape(d: &Value) {
    for k in [
        "rule",
        "severity",
        "message",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
    ] {
        assert!(d.get(k).is_some(), "diagnostic without {k}: {d}");
    }
}

#[test]
fn inspect_a_reference() {
    let (code, out, err) = sh(&["inspect", HEADER_APPEND_REF, "--images", IMAGES]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("image {HEADER_APPEND_REF}\n")),
        "{out}"
    );
    assert!(out.contains("manifest: phase PostAuthZ, priority 100, module header-append.wasm"));
    assert!(out.contains("ABI:         0.2.1"), "{out}");
    assert!(out.contains("mesh v2.0: does not load"), "{out}");
    assert!(out.contains("mesh v2.1: loads, no findings"), "{out}");

    let (code, out, _) = sh(&[
        "inspect",
        HEADER_APPEND_REF,
        "--images",
        IMAGES,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let j = json_of(&out);
    assert_eq!(j["version"], 1);
    assert_eq!(j["images"].as_array().unwrap().len(), 1);
    assert_eq!(j["images"][0]["reference"], HEADER_APPEND_REF);
    assert!(j["images"][0]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    // All three versions are inspected: v2.0 rejects the marker.
    let diags = j["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{j:#}");
    assert_lint_shape(&diags[0]);
    assert_eq!(diags[0]["rule"], "MX502");
    assert_eq!(
        diags[0]["file"],
        "quay.io/meshext-samples/header-append:1.0!/header-append.wasm"
    );

    let (code, _, err) = sh(&[
        "inspect",
        "quay.io/meshext-samples/nope:1.0",
        "--images",
        IMAGES,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("MX401"), "{err}");
    let (code, _, err) = sh(&["inspect", "quay.io/meshext-samples/nope:1.0", "--no-config"]);
    assert_eq!(code, 2);
    assert!(err.contains("pass --images"), "{err}");
}

#[test]
fn inspect_a_layout_lists_every_image() {
    let (code, out, _) = sh(&["inspect", IMAGES, "--format", "json"]);
    let j = json_of(&out);
    let refs: Vec<&str> = j["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reference"].as_str().unwrap())
        .collect();
    // 14 built by build.sh images, 8 by build.sh meshes (migrate's repackaged images).
    assert_eq!(refs.len(), 22, "{refs:?}");
    for name in [
        "header-append",
        "oob-auth",
        "counter",
        "body-rewrite",
        "wasi-logger",
        "config-panic",
        "as-add-header",
        "c-add-header",
        "header-append-wasmplugin",
        "as-add-header-wasmplugin",
        "as-add-header-wasmplugin-artifact",
        "c-add-header-wasmplugin",
        "c-add-header-wasmplugin-artifact",
        "c-add-header-wasmplugin-layered",
        "migrated/oob-auth",
        "migrated-artifact/oob-auth",
    ] {
        let r = format!("quay.io/meshext-samples/{name}:1.0");
        assert!(refs.contains(&r.as_str()), "{r} not in {refs:?}");
    }
    for d in j["diagnostics"].as_array().unwrap() {
        assert_lint_shape(d);
    }
    // The WasmPlugin image has no manifest.yaml, which is right for a WasmPlugin: no MX403,
    // and its plugin.wasm is inspected as its module.
    assert!(
        !j["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "MX403"),
        "{j:#}"
    );
    let wp = j["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"] == "quay.io/meshext-samples/header-append-wasmplugin:1.0")
        .unwrap();
    assert_eq!(wp["module"]["valid"], true, "{wp:#}");
    assert_eq!(code, 0);
}

#[test]
fn inspect_a_module_file() {
    let (code, out, _) = sh(&["inspect", HEADER_APPEND]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("module {HEADER_APPEND}\n")),
        "{out}"
    );
    assert!(out.contains("allocator:   malloc"), "{out}");

    let (code, out, _) = sh(&[
        "inspect",
        HEADER_APPEND,
        "--mesh-version",
        "v2.1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let j = json_of(&out);
    assert_eq!(j["abi"], "0.2.1");
    assert_eq!(j["diagnostics"], serde_json::json!([]));
    assert_eq!(j["checks"][0]["mesh_version"], "v2.1");
    assert_eq!(j["checks"][0]["loads"], true);

    // A Rust proxy-wasm 0.2 module on v2.0.
    let (code, out, _) = sh(&[
        "inspect",
        HEADER_APPEND,
        "--mesh-version",
        "v2.0",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let j = json_of(&out);
    let diags = j["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{j:#}");
    assert_lint_shape(&diags[0]);
    assert_eq!(diags[0]["rule"], "MX502");
    assert_eq!(diags[0]["severity"], "error");
    assert_eq!(diags[0]["file"], HEADER_APPEND);
    assert_eq!(j["checks"][0]["loads"], false);

    // The C module speaks ABI 0.1.0 and loads on v2.0.
    let (code, out, _) = sh(&[
        "inspect",
        "samples/extensions/build/c-add-header.wasm",
        "--mesh-version",
        "v2.0",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let j = json_of(&out);
    assert_eq!(j["abi"], "0.1.0");
    assert_eq!(j["checks"][0]["loads"], true);
    assert_eq!(j["diagnostics"], serde_json::json!([]));

    // Not a module: one finding, on one line.
    let tmp = tempfile::tempdir().unwrap();
    let html = write(tmp.path(), "page.wasm", "<html><body>404</body></html>\n");
    let (code, out, _) = sh(&["inspect", html.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    let j = json_of(&out);
    assert_eq!(j["diagnostics"][0]["rule"], "MX405");
    let msg = j["diagnostics"][0]["message"].as_str().unwrap();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains("\"<htm\" (3c 68 74 6d)"), "{msg}");
}

// ----------------------------------------------------------------------------------------- pack

#[test]
fn pack_then_lint_and_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = "samples/extensions/rust/header-append/manifest.yaml";
    let reference = "quay.io/acme/packed:2.0";
    let pack = |out: &Path| {
        let (code, stdout, err) = sh(&[
            "pack",
            "--manifest",
            manifest,
            "--module",
            HEADER_APPEND,
            "--ref",
            reference,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        let (digest, r) = stdout.trim().split_once(' ').unwrap();
        assert_eq!(r, reference);
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
        digest.to_string()
    };
    let layout = tmp.path().join("layout");
    let archive = tmp.path().join("image.tar");
    let d1 = pack(&layout);
    let d2 = pack(&tmp.path().join("again"));
    let d3 = pack(&archive);
    assert_eq!(d1, d2, "same input, same digest");
    assert_eq!(d1, d3, "layout and archive hold the same image");
    assert!(layout.join("oci-layout").is_file() && layout.join("index.json").is_file());
    assert!(archive.is_file());

    let mesh = tmp.path().join("mesh");
    copy_dir(&root().join("samples/mesh"), &mesh);
    let ext = mesh.join("istio-system/extensions.yaml");
    let text = std::fs::read_to_string(&ext).unwrap();
    std::fs::write(&ext, text.replace(HEADER_APPEND_REF, reference)).unwrap();
    let mesh = mesh.to_str().unwrap();

    for source in [&layout, &archive] {
        let src = source.to_str().unwrap();
        // The other images still come from the samples.
        let (code, json) = lint_json(&[mesh, "--images", IMAGES, "--images", src]);
        assert_eq!(
            json["diagnostics"],
            serde_json::json!([]),
            "{src}: {json:#}"
        );
        assert_eq!(code, 0);

        let (code, out, err) = sh(&["inspect", reference, "--images", src, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let j = json_of(&out);
        assert_eq!(j["images"][0]["digest"], d1.as_str());
        assert_eq!(j["images"][0]["manifest"]["phase"], "PostAuthZ");
    }
    // Without the packed image the reference is not pulled.
    let (_, json) = lint_json(&[mesh, "--images", IMAGES]);
    assert_eq!(rule_positions(&json), ["MX401 9:10"], "{json:#}");

    let (code, _, err) = sh(&[
        "pack",
        "--manifest",
        manifest,
        "--module",
        "samples/nope.wasm",
        "--ref",
        reference,
        "--out",
        tmp.path().join("x").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.wasm"), "{err}");
}

// ----------------------------------------------------------------------------------------- lint

#[test]
fn lint_no_runtime_skips_the_module_start() {
    let file = "samples/broken/MX703.yaml";
    let (code, json) = lint_json(&["--images", IMAGES, file]);
    assert_eq!(code, 1);
    assert!(rule_positions(&json).iter().any(|r| r.starts_with("MX703")));
    let (code, json) = lint_json(&["--images", IMAGES, "--no-runtime", file]);
    assert_eq!(json["diagnostics"], serde_json::json!([]), "{json:#}");
    assert_eq!(code, 0);
    // Static image and ABI checks still run.
    let (_, json) = lint_json(&[
        "--images",
        IMAGES,
        "--no-runtime",
        "samples/broken/MX502.yaml",
    ]);
    assert!(rule_positions(&json).iter().any(|r| r.starts_with("MX502")));
}

#[test]
fn sample_mesh_with_images_is_clean_in_every_format() {
    let base = ["lint", "samples/mesh", "--images", IMAGES, "--format"];
    let out = |format: &str| {
        let mut a = base.to_vec();
        a.push(format);
        let (code, out, err) = sh(&a);
        assert_eq!(code, 0, "{format}: {out}\n{err}");
        out
    };
    let j = json_of(&out("json"));
    assert_eq!(j["diagnostics"], serde_json::json!([]));
    assert_eq!(j["summary"]["files"], 7);
    let sarif = json_of(&out("sarif"));
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    let rd = json_of(&out("rdjson"));
    assert_eq!(rd["diagnostics"], serde_json::json!([]));
    let gh = out("github");
    assert!(!gh.contains("::error") && !gh.contains("::warning"), "{gh}");
    let junit = out("junit");
    assert!(junit.contains(r#"failures="0" errors="0""#), "{junit}");
    assert!(out("markdown").contains("no problems found"));
    assert_eq!(json_of(&out("gitlab")), serde_json::json!([]));
    assert!(out("human").contains("no problems found in 7 files (mesh v2.1)"));
}

/// Runs `cmd` with a reader that takes its first 16 bytes of output and closes the pipe.
fn reader_leaves_early(cmd: &mut std::process::Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_is_not_a_crash() {
    // SARIF carries the whole catalogue (> 64 KiB, more than a pipe buffer), so the writer
    // is still writing when the reader goes away.
    let out = reader_leaves_early(bin().args(["lint", "samples/mesh", "--format", "sarif"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// Output that cannot be written (a full disk: `/dev/full`) is an error, exit 2, never a clean
/// run: a review bot must not read half a SARIF file as "no findings". A closed pipe is not.
#[test]
fn output_that_cannot_be_written_is_an_error_but_a_closed_pipe_is_not() {
    if !std::path::Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full on this system");
        return;
    }
    let scenario = "samples/scenarios/header-append.yaml";
    let module = "samples/extensions/build/header-append.wasm";
    let sim = |format: &str| -> Vec<String> {
        [
            "simulate",
            "--module",
            module,
            "--config",
            "{\"x-team\":\"payments\"}",
            "--scenario",
            scenario,
            "--format",
            format,
        ]
        .map(String::from)
        .to_vec()
    };
    let cases: Vec<Vec<String>> = vec![
        ["lint", "samples/mesh", "--format", "sarif"]
            .map(String::from)
            .to_vec(),
        ["lint", "samples/mesh"].map(String::from).to_vec(),
        ["chain", "samples/mesh", "--format", "json"]
            .map(String::from)
            .to_vec(),
        ["rules"].map(String::from).to_vec(),
        sim("json"),
        sim("human"),
    ];
    for args in &cases {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = bin().args(args).stdout(full).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("cannot write the output to standard output") && !err.contains("panicked"),
            "{args:?}: {err}"
        );
    }

    // A streamed simulate report larger than a pipe buffer, its reader gone after 16 bytes:
    // the run ends normally with the scenario's own exit code.
    let dir = tempfile::tempdir().unwrap();
    let one = "  - {request: {path: /}, expect: {status: 200}}\n";
    let big = write(
        dir.path(),
        "big.yaml",
        &format!("requests:\n{}", one.repeat(300)),
    );
    let out = reader_leaves_early(
        bin()
            .args(["simulate", "--module", module, "--scenario"])
            .arg(&big)
            .args(["--format", "json"]),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("cannot write"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// `--root-id` runs SDKs that register a fixed root id (AssemblyScript's `add_header`); without
/// it the module gets the mesh's `<name>_root` and fails to start, as in the mesh (MX705).
#[test]
fn simulate_root_id_for_fixed_root_id_sdks() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "s.yaml",
        "requests:\n  - name: hello\n    upstream: {status: 200}\n    expect:\n      status: 200\n      response_headers: {hello: hi}\n",
    );
    let module = "samples/extensions/build/as-add-header.wasm";
    let base = [
        "simulate",
        "--module",
        module,
        "--config",
        "hi",
        "--scenario",
        scenario.to_str().unwrap(),
    ];
    let (code, out, _) = sh(&[&base[..], &["--root-id", "add_header"]].concat());
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = sh(&base);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("503"), "{out}");
}

/// `--fuel` bounds a runaway module from the command line: an infinite loop fails the filter
/// (503) quickly and the report names the limit.
#[test]
fn simulate_fuel_flag_stops_an_infinite_loop() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("hostile.wasm");
    std::fs::write(
        &module,
        wat::parse_file(root().join("tests/fixtures/wat/sim_hostile.wat")).unwrap(),
    )
    .unwrap();
    let scenario = write(
        dir.path(),
        "s.yaml",
        "requests:\n  - name: loop\n    upstream: {status: 200}\n    expect: {status: 200}\n",
    );
    let start = std::time::Instant::now();
    let (code, out, _) = sh(&[
        "simulate",
        "--module",
        module.to_str().unwrap(),
        "--config",
        "L",
        "--fuel",
        "2000000",
        "--scenario",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fuel"), "{out}");
    assert!(out.contains("503") || out.contains("reset"), "{out}");
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
}

/// A mistyped `--images` path is a usage error (exit 2) in every command that takes one,
/// not a finding that a `--fail-on none` run would let pass.
#[test]
fn a_missing_images_path_is_a_usage_error() {
    for args in [
        vec!["lint", "samples/mesh", "--images", "no/such/layout"],
        vec![
            "lint",
            "samples/mesh",
            "--fail-on",
            "none",
            "--images",
            "no/such/layout",
        ],
        vec!["chain", "samples/mesh", "--images", "no/such/layout"],
        vec!["inspect", "quay.io/acme/x:1", "--images", "no/such/layout"],
        vec![
            "lint",
            "samples/mesh",
            "--images",
            "quay.io/acme/x:1=no/such/dir",
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("no such file or directory"), "{args:?}: {err}");
    }
    // An existing REF=DIR root is fine.
    let out = run(&[
        "lint",
        "samples/broken/MX403.yaml",
        "--images",
        "quay.io/acme/bad-manifest:1.0=samples/broken/images/bad-manifest",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// `explain` takes a rule's name as well as its ID.
#[test]
fn explain_accepts_rule_names() {
    let by_id = run(&["explain", "MX301"]);
    let by_name = run(&["explain", "unknown-phase"]);
    assert_eq!(by_name.status.code(), Some(0));
    assert_eq!(by_id.stdout, by_name.stdout);
    assert_eq!(run(&["explain", "no-such-rule"]).status.code(), Some(2));
}

/// `--color` and the colour environment variables, on a pipe (tests never run on a terminal).
#[test]
fn color_follows_the_flag_and_the_environment() {
    let lint = |color: &str, env: &[(&str, &str)]| {
        let mut c = bin();
        c.env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c
            .args(["lint", "samples/broken/MX301.yaml", "--color", color])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        out.stdout.contains(&0x1b)
    };
    assert!(lint("always", &[]), "--color always colours a pipe");
    assert!(
        lint("always", &[("NO_COLOR", "1")]),
        "the flag wins over NO_COLOR"
    );
    assert!(!lint("never", &[("FORCE_COLOR", "1")]));
    assert!(!lint("auto", &[]), "a pipe is not a terminal");
    assert!(lint("auto", &[("FORCE_COLOR", "1")]));
    assert!(lint("auto", &[("CLICOLOR_FORCE", "1")]));
    assert!(!lint("auto", &[("FORCE_COLOR", "0")]));
    assert!(!lint("auto", &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]));
}

/// `-o FILE` writes the report there, prints nothing and keeps the exit code.
#[test]
fn output_file_takes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.sarif");
    let out = run(&[
        "lint",
        "samples/broken/MX301.yaml",
        "--format",
        "sarif",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "MX301");
    let bad = run(&["lint", "samples/mesh", "-o", "/no/such/dir/out.txt"]);
    assert_eq!(bad.status.code(), Some(2));
}
