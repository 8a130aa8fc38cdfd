//! `meshext-lint migrate`: writing (--out, --in-place), formats and exit codes (issue 14).

mod common;

use common::{bin, root, write};
use std::process::Output;

fn migrate(args: &[&str]) -> Output {
    bin().arg("migrate").args(args).output().unwrap()
}

const MESH: &str = "# The control plane.\napiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: v2.1}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {name: default, namespace: istio-system}\nspec: {members: [shop]}\n";

const SHOP: &str = r#"# Storefront extensions.   
apiVersion: v1
kind: ConfigMap   # unrelated, kept byte for byte
metadata: {name: cm, namespace: shop}
data: {a: "1"}
---
# The auth filter.
apiVersion: maistra.io/v1
kind: ServiceMeshExtension
metadata:
  name: auth
  namespace: shop
spec:
  image: quay.io/x/auth:1
  phase: PreAuthZ
  priority: 50   # a comment inside the SME goes with it
  workloadSelector:
    labels: {app: web}
  config: {cluster: auth}
---
# Between the two.
apiVersion: maistra.io/v1
kind: ServiceMeshExtension
metadata: {name: stats, namespace: shop}
spec: {image: quay.io/x/stats:1, phase: PreStats}
...
# trailing comment
"#;

#[test]
fn in_place_replaces_only_the_sme_documents() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = write(dir.path(), "mesh.yaml", MESH);
    let shop = write(dir.path(), "shop.yaml", SHOP);
    let out = migrate(&[
        mesh.to_str().unwrap(),
        shop.to_str().unwrap(),
        "--to",
        "v2.6",
        "--in-place",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&mesh).unwrap(),
        MESH,
        "untouched file"
    );
    let new = std::fs::read_to_string(&shop).unwrap();
    // Everything outside the two SME documents, byte for byte.
    let head_end = SHOP.find("apiVersion: maistra.io/v1").unwrap();
    assert!(new.starts_with(&SHOP[..head_end]), "{new}");
    assert!(new.contains("\n---\n# Between the two.\n"), "{new}");
    assert!(new.ends_with("\n...\n# trailing comment\n"), "{new}");
    assert!(!new.contains("ServiceMeshExtension\n"), "{new}");
    assert_eq!(new.matches("kind: WasmPlugin").count(), 2, "{new}");
    assert!(new.contains("# Migrated by meshext-lint from ServiceMeshExtension shop/auth"));
    // The result parses, and the converted documents are what --format json reports.
    let lint = bin()
        .args(["lint", "--format", "json", "--mesh-version", "v2.6"])
        .arg(&shop)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let input_errors: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"].as_str().is_some_and(|r| r.starts_with("MX1")))
        .collect();
    assert!(input_errors.is_empty(), "{input_errors:#?}\n{new}");
}

#[test]
fn out_writes_one_file_per_plugin_and_never_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = write(dir.path(), "mesh.yaml", MESH);
    let shop = write(dir.path(), "shop.yaml", SHOP);
    let out_dir = dir.path().join("out");
    let out = migrate(&[
        mesh.to_str().unwrap(),
        shop.to_str().unwrap(),
        "--to",
        "v3.0",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let auth = std::fs::read_to_string(out_dir.join("shop/auth.yaml")).unwrap();
    assert!(auth.contains("kind: WasmPlugin") && auth.contains("pluginName: auth_root"));
    assert!(out_dir.join("shop/stats.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(&shop).unwrap(),
        SHOP,
        "inputs untouched"
    );

    // A symlink inside the output tree is refused, the file it points to untouched.
    let victim = write(dir.path(), "victim.txt", "keep");
    let out2 = dir.path().join("out2");
    std::fs::create_dir_all(out2.join("shop")).unwrap();
    std::os::unix::fs::symlink(&victim, out2.join("shop/auth.yaml")).unwrap();
    let out = migrate(&[
        mesh.to_str().unwrap(),
        shop.to_str().unwrap(),
        "--to",
        "v3.0",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
}

#[test]
fn reports_in_every_format() {
    let mesh = root().join("samples/mesh");
    let out = migrate(&[mesh.to_str().unwrap(), "--to", "v2.6", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["from"], "v2.1");
    assert_eq!(json["to"], "v2.6");
    assert_eq!(json["kept"], false);
    let plugins = json["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), 4);
    for p in plugins {
        assert!(p["wasm_plugin"]["spec"]["priority"].is_i64(), "{p}");
        assert!(p["location"]["line"].as_u64().unwrap() > 0);
        assert!(p["yaml"].as_str().unwrap().contains("kind: WasmPlugin"));
    }
    let md = migrate(&[
        mesh.to_str().unwrap(),
        "--to",
        "v2.6",
        "--format",
        "markdown",
    ]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.starts_with("## ServiceMeshExtension → WasmPlugin (v2.1 → v2.6)"),
        "{md}"
    );
    assert!(md.contains("### What could not be kept") && md.contains("### What to check"));
    let human = migrate(&[mesh.to_str().unwrap(), "--to", "v2.6"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("shop/oob-auth (samples/mesh/shop/extensions.yaml:2:1)")
            || human.contains("shop/oob-auth ("),
        "{human}"
    );
    assert!(human.contains("Nothing written"));
}

#[test]
fn unusable_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = write(dir.path(), "mesh.yaml", MESH);
    let bad = write(dir.path(), "bad.yaml", "a: [\n");
    let out = migrate(&[
        mesh.to_str().unwrap(),
        bad.to_str().unwrap(),
        "--to",
        "v2.6",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml:"));
    // Nothing to migrate.
    let out = migrate(&[mesh.to_str().unwrap(), "--to", "v2.6"]);
    assert_eq!(out.status.code(), Some(2));
    // A target without WasmPlugins, and a source where SMEs no longer run.
    let shop = write(dir.path(), "shop.yaml", SHOP);
    let out = migrate(&[shop.to_str().unwrap(), "--to", "v2.1"]);
    assert_eq!(out.status.code(), Some(2));
    let out = migrate(&[
        shop.to_str().unwrap(),
        "--to",
        "v2.6",
        "--mesh-version",
        "v2.4",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--mesh-version"));
    // --in-place on a List item.
    let list = write(
        dir.path(),
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: maistra.io/v1\n  kind: ServiceMeshExtension\n  metadata: {name: e, namespace: shop}\n  spec: {image: quay.io/x/e:1, phase: PreStats}\n",
    );
    let out = migrate(&[list.to_str().unwrap(), "--to", "v2.6", "--in-place"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("List"));
}

#[test]
fn images_are_repackaged_and_the_result_lints_clean_on_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let mesh = root().join("samples/mesh");
    let images = root().join("samples/images");
    let out = migrate(&[
        mesh.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--to",
        "v2.6",
        "--out",
        out_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kept"], true);
    assert_eq!(
        json["differences"],
        serde_json::json!([]),
        "the proof: same chains"
    );
    for p in json["plugins"].as_array().unwrap() {
        let spec = &p["wasm_plugin"]["spec"];
        let url = spec["url"].as_str().unwrap();
        assert!(
            url.starts_with("oci://quay.io/meshext-samples/") && url.contains("-wasmplugin:"),
            "{url}"
        );
        assert_eq!(spec["sha256"].as_str().unwrap().len(), 64);
    }
    // The whole sample mesh migrated in place (a copy), with its images, lints without
    // errors or warnings on the target version.
    let copy = dir.path().join("mesh");
    for sub in ["istio-system", "shop", "payments"] {
        std::fs::create_dir_all(copy.join(sub)).unwrap();
        for f in std::fs::read_dir(mesh.join(sub)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, copy.join(sub).join(f.file_name().unwrap())).unwrap();
        }
    }
    let copy_images = dir.path().join("images-inplace");
    let out = migrate(&[
        copy.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--to",
        "v2.6",
        "--in-place",
        "--image-out",
        copy_images.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lint = bin()
        .args([
            "lint",
            "--format",
            "json",
            "--mesh-version",
            "v2.6",
            "--images",
        ])
        .arg(&copy_images)
        .arg(&copy)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&lint.stdout).unwrap();
    let bad: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "info")
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    let inspect = bin()
        .args([
            "inspect",
            "quay.io/meshext-samples/counter-wasmplugin:1.0",
            "--images",
        ])
        .arg(out_dir.join("images"))
        .args(["--mesh-version", "v2.6"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        text.contains("WasmPluginCompat") && text.contains("plugin.wasm"),
        "{text}"
    );
    // With a registry prefix, the references move there.
    let out2 = dir.path().join("out2");
    let out = migrate(&[
        mesh.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--to",
        "v3.0",
        "--out",
        out2.to_str().unwrap(),
        "--registry",
        "registry.example.com/mesh",
        "--variant",
        "artifact",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let y = std::fs::read_to_string(out2.join("shop/counter.yaml")).unwrap();
    assert!(
        y.contains("url: \"oci://registry.example.com/mesh/counter:1.0\""),
        "{y}"
    );
}

#[test]
fn verify_runs_scenarios_through_both_meshes() {
    let dir = tempfile::tempdir().unwrap();
    let images = root().join("samples/images");
    // The sample mesh keeps what runs on OSSM 2.6 and 3.0: same chains, and the same
    // responses, upstream requests, callouts, logs and metrics.
    for to in ["v2.6", "v3.0"] {
        let out = migrate(&[
            root().join("samples/mesh").to_str().unwrap(),
            "--images",
            images.to_str().unwrap(),
            "--to",
            to,
            "--image-out",
            dir.path().join(format!("img-{to}")).to_str().unwrap(),
            "--verify",
            root()
                .join("samples/scenarios/shop-web.yaml")
                .to_str()
                .unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{to}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["differences"], serde_json::json!([]), "{to}");
        assert_eq!(json["verify_mismatches"], serde_json::json!([]), "{to}");
    }
    let out = migrate(&[
        root().join("samples/mesh").to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--to",
        "v2.6",
        "--image-out",
        dir.path().join("img").to_str().unwrap(),
        "--verify",
        root()
            .join("samples/scenarios/shop-web.yaml")
            .to_str()
            .unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["verify_mismatches"], serde_json::json!([]));

    // A v1alpha1 text config: header-append received `hello` and appended
    // `custom-header: hello`; the WasmPlugin sends {"config":"hello"}, so it appends
    // `config: hello` instead. --verify sees the response change.
    let mesh = write(
        dir.path(),
        "mesh.yaml",
        &format!(
            "{MESH}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: shop}}\nspec: {{template: {{metadata: {{labels: {{app: web}}, annotations: {{sidecar.istio.io/inject: 'true'}}}}, spec: {{containers: [{{name: web, image: x}}]}}}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: shop}}\nspec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n---\napiVersion: maistra.io/v1alpha1\nkind: ServiceMeshExtension\nmetadata: {{name: header-append, namespace: shop}}\nspec:\n  image: quay.io/meshext-samples/header-append:1.0\n  phase: PostAuthZ\n  priority: 1\n  workloadSelector: {{labels: {{app: web}}}}\n  config: hello\n"
        ),
    );
    let scenario = write(
        dir.path(),
        "s.yaml",
        "workload: shop/web\nrequests:\n  - name: one\n    request: {path: /}\n    upstream: {status: 200, body: ok}\n",
    );
    let out = migrate(&[
        mesh.to_str().unwrap(),
        "--images",
        images.to_str().unwrap(),
        "--to",
        "v2.6",
        "--image-out",
        dir.path().join("img2").to_str().unwrap(),
        "--verify",
        scenario.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = json["verify_mismatches"].as_array().unwrap();
    assert!(
        m.iter().any(|x| x["what"] == "response"
            && x["before"].to_string().contains("custom-header")
            && x["after"].to_string().contains("\"config\"")),
        "{m:#?}"
    );
    // --verify without images is a usage error.
    let out = migrate(&[
        mesh.to_str().unwrap(),
        "--to",
        "v2.6",
        "--verify",
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// A module that picks its root context by id (the AssemblyScript SDK registers `add_header`)
/// never found it as an SME (root id `<name>_root`); pluginName keeps that id, so nothing
/// changes, and the report says how to make it run.
#[test]
fn a_module_with_its_own_root_id_is_reported_not_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = write(
        dir.path(),
        "mesh.yaml",
        &format!(
            "{MESH}---\napiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {{name: as-add-header, namespace: shop}}\nspec: {{image: quay.io/meshext-samples/as-add-header:1.0, phase: PostAuthZ}}\n"
        ),
    );
    let out = migrate(&[
        mesh.to_str().unwrap(),
        "--images",
        root().join("samples/images").to_str().unwrap(),
        "--to",
        "v2.6",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &json["plugins"][0];
    assert_eq!(p["wasm_plugin"]["spec"]["pluginName"], "as-add-header_root");
    let root_id: Vec<_> = p["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "root_id")
        .collect();
    assert_eq!(root_id.len(), 1, "{p:#}");
    assert_eq!(root_id[0]["kept"], true);
    assert!(
        root_id[0]["message"]
            .as_str()
            .unwrap()
            .contains("Missing root context"),
        "{p:#}"
    );
    // The Rust sample modules do not dispatch on the root id: no such note.
    let out = migrate(&[
        root().join("samples/mesh").to_str().unwrap(),
        "--images",
        root().join("samples/images").to_str().unwrap(),
        "--to",
        "v2.6",
        "--format",
        "json",
    ]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!json.to_string().contains("\"root_id\""), "{json:#}");
}
