//! `--mesh-version` v3.x, `--istio-version`, and the mesh version the Sail operator's `Istio`
//! resource gives (issue 13, "Control planes and versions").

mod common;
use common::*;

const WASM_PLUGIN: &str = "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: auth, namespace: shop}\nspec:\n  url: oci://quay.io/acme/auth:1.0\n";
const SME: &str = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: shop}\nspec: {phase: PostAuthZ, image: quay.io/acme/auth:1.0}\n";

fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (n, t) in files {
        write(d.path(), n, t);
    }
    d
}

fn rules(json: &serde_json::Value) -> Vec<String> {
    rule_positions(json)
        .into_iter()
        .map(|p| p.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn sail_istio_sets_the_mesh_version() {
    let d = dir(&[
            ("istio.yaml", "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec:\n  version: v1.24.3\n  namespace: istio-system\n"),
            ("plugin.yaml", WASM_PLUGIN),
        ],
    );
    let (code, json) = lint_json(&[d.path().to_str().unwrap()]);
    assert_eq!(json["mesh_version"], "v3.0", "{json}");
    // A recognised control plane: no MX205 "no control plane", no schema/API findings.
    assert!(rules(&json).is_empty(), "{json}");
    assert_eq!(code, 0);
}

#[test]
fn istio_version_applies_without_a_control_plane() {
    let d = dir(&[("plugin.yaml", WASM_PLUGIN)]);
    let (_, json) = lint_json(&["--istio-version", "1.26", d.path().to_str().unwrap()]);
    assert_eq!(json["mesh_version"], "v3.1", "{json}");
    let mx205 = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "MX205")
        .expect("MX205: no control plane in the inputs");
    assert!(
        mx205["message"]
            .as_str()
            .unwrap()
            .contains("mesh version v3.1 from --istio-version 1.26"),
        "{mx205}"
    );
    // An Istio release before WasmPlugin existed: the API is not served.
    let (_, json) = lint_json(&["--istio-version", "1.9", d.path().to_str().unwrap()]);
    assert_eq!(json["mesh_version"], "v2.1", "{json}");
    assert!(rules(&json).contains(&"MX105".to_string()), "{json}");
}

#[test]
fn a_control_plane_wins_over_istio_version() {
    let d = dir(&[
            ("smcp.yaml", "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: v2.6}\n"),
            ("plugin.yaml", WASM_PLUGIN),
        ],
    );
    let (_, json) = lint_json(&["--istio-version", "1.26", d.path().to_str().unwrap()]);
    assert_eq!(json["mesh_version"], "v2.6", "{json}");
}

#[test]
fn bad_istio_versions_are_usage_errors() {
    for bad in ["latest", "1.99", "1.2.3.4"] {
        let out = run(&["lint", "--istio-version", bad, "samples/mesh"]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--istio-version"), "{bad}: {err}");
    }
}

#[test]
fn mesh_version_accepts_3_x_and_smes_stay_unsupported() {
    let d = dir(&[("sme.yaml", SME)]);
    let (code, json) = lint_json(&["--mesh-version", "v3.0", d.path().to_str().unwrap()]);
    assert_eq!(json["mesh_version"], "v3.0");
    assert!(rules(&json).contains(&"MX204".to_string()), "{json}");
    assert_eq!(code, 1);
    // SME behaviour on 2.0-2.2 is unchanged: v2.1 accepts it.
    let (_, json) = lint_json(&["--mesh-version", "v2.1", d.path().to_str().unwrap()]);
    assert!(!rules(&json).contains(&"MX204".to_string()), "{json}");
}
