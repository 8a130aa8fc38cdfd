//! Image-dependent lint rules through the whole pipeline, with images made on the fly as
//! unpacked directories (`REF=DIR`).

mod common;
use common::*;

const CP20: &str = "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec:\n  version: v2.0\n  techPreview: {wasmExtensions: {enabled: true}}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {name: default, namespace: istio-system}\nspec: {members: [shop]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {metadata: {labels: {app: web}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n---\n";

/// An unpacked image with `manifest` and the C sample module (ABI 0.1.0, loads on v2.0).
fn image_dir(dir: &std::path::Path, manifest: &str) -> String {
    let img = dir.join("img");
    std::fs::create_dir_all(&img).unwrap();
    std::fs::write(img.join("manifest.yaml"), manifest).unwrap();
    std::fs::copy(
        root().join("samples/extensions/build/c-add-header.wasm"),
        img.join("ext.wasm"),
    )
    .unwrap();
    format!("quay.io/acme/auth:1.0={}", img.display())
}

#[test]
fn mx302_fires_when_neither_sme_nor_manifest_has_a_phase() {
    let dir = tempfile::tempdir().unwrap();
    let images = image_dir(
        dir.path(),
        "schemaVersion: 1\nname: auth\npriority: 1\nmodule: ext.wasm\n",
    );
    let sme = "apiVersion: maistra.io/v1alpha1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: shop}\nspec:\n  image: quay.io/acme/auth:1.0\n";
    let mesh = write(dir.path(), "mesh.yaml", &format!("{CP20}{sme}"));
    let (code, json) = lint_json(&["--no-runtime", "--images", &images, mesh.to_str().unwrap()]);
    let rules = rule_positions(&json);
    assert!(rules.contains(&"MX302 26:1".to_string()), "{rules:?}");
    assert!(
        rules.iter().any(|r| r.starts_with("MX403")),
        "the manifest itself is invalid too: {rules:?}"
    );
    assert_eq!(code, 1);
    // With a phase in the resource, the manifest's lack does not matter to the SME.
    let mesh = write(
        dir.path(),
        "mesh.yaml",
        &format!("{CP20}{sme}  phase: PostAuthZ\n"),
    );
    let (_, json) = lint_json(&["--no-runtime", "--images", &images, mesh.to_str().unwrap()]);
    assert!(
        !rule_positions(&json).iter().any(|r| r.starts_with("MX302")),
        "{json}"
    );
}

#[test]
fn mx302_needs_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let sme = "apiVersion: maistra.io/v1alpha1\nkind: ServiceMeshExtension\nmetadata: {name: auth, namespace: shop}\nspec:\n  image: quay.io/acme/auth:1.0\n";
    let mesh = write(dir.path(), "mesh.yaml", &format!("{CP20}{sme}"));
    let (_, json) = lint_json(&[mesh.to_str().unwrap()]);
    assert!(
        !rule_positions(&json).iter().any(|r| r.starts_with("MX302")),
        "{json}"
    );
}

#[test]
fn image_findings_are_reported_once_per_digest_with_every_user() {
    let dir = tempfile::tempdir().unwrap();
    // A Rust SDK module (ABI 0.2.1) on v2.0: MX502, once, related to both SMEs.
    let img = dir.path().join("img");
    std::fs::create_dir_all(&img).unwrap();
    std::fs::write(
        img.join("manifest.yaml"),
        "schemaVersion: 1\nphase: PostAuthZ\npriority: 1\nmodule: ext.wasm\n",
    )
    .unwrap();
    std::fs::copy(
        root().join("samples/extensions/build/header-append.wasm"),
        img.join("ext.wasm"),
    )
    .unwrap();
    let images = format!("quay.io/acme/auth:1.0={}", img.display());
    let smes: String = ["one", "two"]
        .iter()
        .map(|n| format!("apiVersion: maistra.io/v1alpha1\nkind: ServiceMeshExtension\nmetadata: {{name: {n}, namespace: shop}}\nspec:\n  image: quay.io/acme/auth:1.0\n  phase: PostAuthZ\n  priority: {}\n---\n", n.len() + if *n == "one" { 0 } else { 1 }))
        .collect();
    let mesh = write(dir.path(), "mesh.yaml", &format!("{CP20}{smes}"));
    let (_, json) = lint_json(&["--images", &images, mesh.to_str().unwrap()]);
    let mx502: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"] == "MX502")
        .collect();
    assert_eq!(mx502.len(), 1, "{json:#}");
    assert_eq!(mx502[0]["related"].as_array().unwrap().len(), 2, "{json:#}");
    assert_eq!(mx502[0]["file"], "quay.io/acme/auth:1.0!/ext.wasm");
    // The module is not started when the proxy would refuse it (no MX701 on top).
    assert!(
        !json["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["rule"] == "MX701"),
        "{json:#}"
    );
}
