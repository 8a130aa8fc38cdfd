//! WasmPlugin images end to end: `pack --format wasmplugin` in both variants, `--images`
//! resolving `url`s (oci://, scheme-less, tags, digests), the fetcher's rules per version
//! (MX406–MX409), and interoperability with skopeo.

mod common;

use common::{lint_json, root, rule_positions, run, write};
use meshext_lint::image::fetcher::{self, Fetcher, Variant};
use meshext_lint::image::pack::{pack_wasm_plugin, WasmPluginVariant};
use meshext_lint::image::ImageStore;
use meshext_lint::model::IstioVersion;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const HTTP_PLUGIN: &str = "samples/broken/images/http-plugin/plugin.wasm";
const TCP_PLUGIN: &str = "samples/broken/images/tcp-plugin/plugin.wasm";

fn sha(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

fn put_blob(layout: &Path, b: &[u8]) -> String {
    let h = sha(b);
    let dir = layout.join("blobs/sha256");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&h), b).unwrap();
    h
}

fn tar_gz(entries: &[(&str, &[u8])]) -> (Vec<u8>, Vec<u8>) {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    (tar, gz.finish().unwrap())
}

/// Adds an image of OCI gzip layers (each a list of files) named `reference` to `layout`;
/// returns its manifest digest (hex).
fn add_layered_image(layout: &Path, reference: &str, layers: &[&[(&str, &[u8])]]) -> String {
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for files in layers {
        let (tar, gz) = tar_gz(files);
        diff_ids.push(format!("sha256:{}", sha(&tar)));
        let h = put_blob(layout, &gz);
        descs.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": format!("sha256:{h}"), "size": gz.len()}));
    }
    let config = serde_json::to_vec(&serde_json::json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}})).unwrap();
    let ch = put_blob(layout, &config);
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{ch}"), "size": config.len()},
        "layers": descs})).unwrap();
    let mh = put_blob(layout, &manifest);
    add_to_index(
        layout,
        reference,
        "application/vnd.oci.image.manifest.v1+json",
        &mh,
        manifest.len(),
    );
    mh
}

fn add_to_index(layout: &Path, reference: &str, media: &str, hex: &str, size: usize) {
    let path = layout.join("index.json");
    let mut index: serde_json::Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| serde_json::json!({"schemaVersion": 2, "manifests": []}));
    index["manifests"].as_array_mut().unwrap().push(
        serde_json::json!({"mediaType": media, "digest": format!("sha256:{hex}"), "size": size,
        "annotations": {"org.opencontainers.image.ref.name": reference}}),
    );
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
}

/// A mesh of `version` (an SMCP) with one WasmPlugin whose spec ends with `spec`.
fn mesh(dir: &Path, version: &str, spec: &str) -> PathBuf {
    write(
        dir,
        "mesh.yaml",
        &format!(
            "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {{name: basic, namespace: istio-system}}\nspec: {{version: {version}}}\n---\n\
apiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {{name: default, namespace: istio-system}}\nspec: {{members: [shop]}}\n---\n\
apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: wp, namespace: shop}}\nspec:\n{spec}"
        ),
    )
}

/// The rules (with positions) a lint of `spec` on `version` raises, MX4xx and MX5xx only.
fn image_rules(dir: &Path, images: &Path, version: &str, spec: &str) -> Vec<String> {
    let m = mesh(dir, version, spec);
    let (_, json) = lint_json(&[
        "--images",
        images.to_str().unwrap(),
        "--no-runtime",
        m.to_str().unwrap(),
    ]);
    rule_positions(&json)
        .into_iter()
        .filter(|r| r.starts_with("MX4") || r.starts_with("MX5"))
        .collect()
}

#[test]
fn both_packed_variants_are_read_by_every_version() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    let module = root().join(HTTP_PLUGIN);
    let compat = pack_wasm_plugin(
        &module,
        "quay.io/acme/p:compat",
        &layout,
        WasmPluginVariant::Compat,
    )
    .unwrap();
    let art = pack_wasm_plugin(
        &module,
        "quay.io/acme/p:artifact",
        &layout,
        WasmPluginVariant::Artifact,
    )
    .unwrap();
    // Deterministic: packing again gives the same digests.
    let again = pack_wasm_plugin(
        &module,
        "quay.io/acme/p:compat",
        &t.path().join("l2"),
        WasmPluginVariant::Compat,
    )
    .unwrap();
    assert_eq!(again.digest, compat.digest);
    let (store, errs) = ImageStore::open(std::slice::from_ref(&layout));
    assert!(errs.is_empty(), "{errs:?}");
    for (r, want) in [
        ("quay.io/acme/p:compat", Variant::OciCompat),
        ("quay.io/acme/p:artifact", Variant::OciArtifact),
    ] {
        let img = store.resolve(r).unwrap().unwrap();
        for (label, _, f) in fetcher::targets() {
            let got = fetcher::fetch(&img, &f);
            assert_eq!(
                (got.variant, got.problem),
                (Some(want), None),
                "{r} on {label}"
            );
            assert_eq!(
                got.module.as_deref(),
                Some(&std::fs::read(&module).unwrap()[..])
            );
        }
    }
    assert_ne!(compat.digest, art.digest);
    // A module that is not Wasm is refused.
    let bad = write(t.path(), "bad.wasm", "<html>");
    let e = pack_wasm_plugin(
        &bad,
        "quay.io/acme/p:bad",
        &layout,
        WasmPluginVariant::Compat,
    )
    .unwrap_err();
    assert!(e.contains("not a Wasm binary"), "{e}");
    // The CLI: no --manifest for a WasmPlugin, and the layout is written.
    let out = run(&[
        "pack",
        "--format",
        "wasmplugin",
        "--variant",
        "artifact",
        "--module",
        HTTP_PLUGIN,
        "--ref",
        "quay.io/acme/p:cli",
        "--out",
        layout.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        format!("{} quay.io/acme/p:cli", art.digest)
    );
    let out = run(&[
        "pack",
        "--format",
        "wasmplugin",
        "--manifest",
        "x.yaml",
        "--module",
        HTTP_PLUGIN,
        "--ref",
        "quay.io/acme/p:cli",
        "--out",
        layout.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_two_layer_image_fails_only_where_the_fetcher_wants_one_layer() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    let wasm = std::fs::read(root().join(HTTP_PLUGIN)).unwrap();
    add_layered_image(
        &layout,
        "quay.io/acme/two:1.0",
        &[
            &[("etc/os-release", b"ID=ubi\n")],
            &[("plugin.wasm", &wasm)],
        ],
    );
    let spec = "  url: oci://quay.io/acme/two:1.0\n";
    // OSSM 2.2 (Istio 1.12): exactly one layer.
    assert_eq!(image_rules(t.path(), &layout, "v2.2", spec), ["MX406 15:8"]);
    // OSSM 2.3 carries the last-layer change on its Istio 1.14 base; 2.4+ (1.16) have it.
    assert_eq!(
        image_rules(t.path(), &layout, "v2.3", spec),
        Vec::<String>::new()
    );
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", spec),
        Vec::<String>::new()
    );
    // Upstream 1.14 does not (a bare WasmPlugin linted with --istio-version); 1.16 does.
    let m = upstream_messages(t.path(), &layout, "1.14", spec);
    assert!(
        m.len() == 1
            && m[0].contains("istio-agent of Istio 1.14 cannot")
            && m[0].contains("must be 1 but got 2"),
        "{m:?}"
    );
    assert_eq!(
        upstream_messages(t.path(), &layout, "1.16", spec),
        Vec::<String>::new()
    );
    let img = ImageStore::open(std::slice::from_ref(&layout))
        .0
        .resolve("quay.io/acme/two:1.0")
        .unwrap()
        .unwrap();
    let up = fetcher::fetch(
        &img,
        &Fetcher::of(IstioVersion::parse("1.14").unwrap(), false),
    );
    assert!(up
        .problem
        .unwrap()
        .message
        .contains("number of layers must be 1 but got 2"));
    // plugin.wasm anywhere in the last layer, by base name; in the first layer only: not found.
    add_layered_image(
        &layout,
        "quay.io/acme/deep:1.0",
        &[&[("a/b/plugin.wasm", &wasm)]],
    );
    assert_eq!(
        image_rules(t.path(), &layout, "v2.2", "  url: quay.io/acme/deep:1.0\n"),
        Vec::<String>::new()
    );
    add_layered_image(
        &layout,
        "quay.io/acme/first:1.0",
        &[&[("plugin.wasm", &wasm)], &[("README", b"x")]],
    );
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", "  url: quay.io/acme/first:1.0\n"),
        ["MX406 15:8"]
    );
}

#[test]
fn the_checksum_is_the_manifest_digest_and_a_url_digest_counts_from_1_14() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    let module = root().join(HTTP_PLUGIN);
    let packed = pack_wasm_plugin(
        &module,
        "quay.io/acme/p:1.0",
        &layout,
        WasmPluginVariant::Compat,
    )
    .unwrap();
    let manifest = packed.digest.trim_start_matches("sha256:").to_string();
    let module_sha = sha(&std::fs::read(&module).unwrap());
    let url = "  url: oci://quay.io/acme/p:1.0\n";
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            &format!("{url}  sha256: {manifest}\n")
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.2",
            &format!("{url}  sha256: {module_sha}\n")
        ),
        ["MX408 16:11"]
    );
    // A multi-arch index over the image: the fetcher resolves linux/amd64 and compares that.
    let m = std::fs::read(layout.join("blobs/sha256").join(&manifest)).unwrap();
    let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": packed.digest, "size": m.len(), "platform": {"architecture": "amd64", "os": "linux"}}]})).unwrap();
    let ih = put_blob(&layout, &index);
    add_to_index(
        &layout,
        "quay.io/acme/p:multi",
        "application/vnd.oci.image.index.v1+json",
        &ih,
        index.len(),
    );
    let pinned = format!("  url: oci://quay.io/acme/p@sha256:{ih}\n");
    // 1.12 (OSSM 2.2) only compares the sha256 field; 2.3+ take the URL digest as checksum.
    assert_eq!(
        image_rules(t.path(), &layout, "v2.2", &pinned),
        Vec::<String>::new()
    );
    assert_eq!(
        image_rules(t.path(), &layout, "v2.3", &pinned),
        ["MX408 15:8"]
    );
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            &format!("  url: oci://quay.io/acme/p@{}\n", packed.digest)
        ),
        Vec::<String>::new()
    );
    // An index without linux/amd64 cannot be fetched at all.
    let arm = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": packed.digest, "size": m.len(), "platform": {"architecture": "arm64", "os": "linux"}}]})).unwrap();
    let ah = put_blob(&layout, &arm);
    add_to_index(
        &layout,
        "quay.io/acme/p:arm",
        "application/vnd.oci.image.index.v1+json",
        &ah,
        arm.len(),
    );
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", "  url: quay.io/acme/p:arm\n"),
        ["MX406 15:8"]
    );
}

#[test]
fn urls_resolve_like_istiod_and_the_agent_parse_them() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    pack_wasm_plugin(
        &root().join(HTTP_PLUGIN),
        "quay.io/acme/p:latest",
        &layout,
        WasmPluginVariant::Compat,
    )
    .unwrap();
    // No tag = latest; no scheme = oci://.
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", "  url: quay.io/acme/p\n"),
        Vec::<String>::new()
    );
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            "  url: oci://quay.io/acme/p:2.0\n"
        ),
        ["MX401 15:8"]
    );
    // `registry:5000/x` without a scheme parses with scheme `registry`: never pulled by the
    // agent, so not an image question (the url rules say why).
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            "  url: registry:5000/acme/p:1.0\n"
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            "  url: https://example.com/p.wasm\n"
        ),
        Vec::<String>::new()
    );
    // WasmPlugins do not exist before OSSM 2.2: nothing to resolve.
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.1",
            "  url: oci://quay.io/acme/p:2.0\n"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn network_plugins_need_network_callbacks() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    pack_wasm_plugin(
        &root().join(HTTP_PLUGIN),
        "quay.io/acme/http:1",
        &layout,
        WasmPluginVariant::Compat,
    )
    .unwrap();
    pack_wasm_plugin(
        &root().join(TCP_PLUGIN),
        "quay.io/acme/tcp:1",
        &layout,
        WasmPluginVariant::Artifact,
    )
    .unwrap();
    let net = "  type: NETWORK\n";
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            &format!("  url: quay.io/acme/tcp:1\n{net}")
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.6",
            &format!("  url: quay.io/acme/http:1\n{net}")
        ),
        ["MX409 16:9"]
    );
    // An HTTP plugin without HTTP callbacks is MX507; before 1.20 `type` is pruned: HTTP.
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", "  url: quay.io/acme/tcp:1\n"),
        ["MX507 1:1"]
    );
    assert_eq!(
        image_rules(
            t.path(),
            &layout,
            "v2.5",
            &format!("  url: quay.io/acme/tcp:1\n{net}")
        ),
        ["MX507 1:1"]
    );
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("NOTICE: `{tool}` is not installed; skipping the interoperability check (apt-get install -y {tool})");
    }
    ok
}

#[test]
fn skopeo_copies_packed_wasmplugin_images_and_we_read_them_back() {
    if !have("skopeo") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    let module = root().join(HTTP_PLUGIN);
    pack_wasm_plugin(
        &module,
        "quay.io/acme/p:compat",
        &layout,
        WasmPluginVariant::Compat,
    )
    .unwrap();
    pack_wasm_plugin(
        &module,
        "quay.io/acme/p:artifact",
        &layout,
        WasmPluginVariant::Artifact,
    )
    .unwrap();
    let skopeo = |args: &[&str]| {
        let out = Command::new("skopeo").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "skopeo {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let l = layout.to_str().unwrap();
    let docker = t.path().join("p.docker.tar");
    skopeo(&[
        "copy",
        "--quiet",
        &format!("oci:{l}:quay.io/acme/p:compat"),
        &format!("docker-archive:{}:quay.io/acme/p:compat", docker.display()),
    ]);
    let copy = t.path().join("copy");
    skopeo(&[
        "copy",
        "--quiet",
        &format!("oci:{l}:quay.io/acme/p:artifact"),
        &format!("oci:{}:quay.io/acme/p:artifact", copy.display()),
    ]);
    let (store, errs) = ImageStore::open(&[docker, copy]);
    assert!(errs.is_empty(), "{errs:?}");
    let want = std::fs::read(&module).unwrap();
    for (r, v) in [
        ("quay.io/acme/p:compat", Variant::DockerCompat),
        ("quay.io/acme/p:artifact", Variant::OciArtifact),
    ] {
        let img = store.resolve(r).unwrap().unwrap();
        let f = fetcher::fetch(
            &img,
            &Fetcher::of(IstioVersion::parse("1.12").unwrap(), true),
        );
        assert_eq!((f.variant, f.problem), (Some(v), None), "{r}");
        assert_eq!(f.module.as_deref(), Some(&want[..]));
    }
}

/// The messages of a lint of a bare WasmPlugin (no control plane) on upstream Istio `istio`.
fn upstream_messages(dir: &Path, images: &Path, istio: &str, spec: &str) -> Vec<String> {
    let m = write(
        dir,
        "wp.yaml",
        &format!("apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: wp, namespace: shop}}\nspec:\n{spec}"),
    );
    let (_, json) = lint_json(&[
        "--images",
        images.to_str().unwrap(),
        "--istio-version",
        istio,
        m.to_str().unwrap(),
    ]);
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["rule"].as_str().unwrap().starts_with("MX4"))
        .map(|d| {
            format!(
                "{} {}",
                d["rule"].as_str().unwrap(),
                d["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn the_failure_effect_follows_the_version_and_fail_strategy() {
    let t = tempfile::tempdir().unwrap();
    let images = root().join("samples/images");
    let url = "  url: oci://quay.io/meshext-samples/header-append:1.0\n"; // an SME image: no plugin.wasm
    let m = upstream_messages(t.path(), &images, "1.24", url);
    assert!(
        m.len() == 1
            && m[0].starts_with("MX406 istio-agent of Istio 1.24 cannot")
            && m[0].contains("NACKs"),
        "{m:?}"
    );
    let m = upstream_messages(t.path(), &images, "1.26", url);
    assert!(m[0].contains("403 (wasm-default-deny)"), "{m:?}");
    let m = upstream_messages(
        t.path(),
        &images,
        "1.26",
        &format!("{url}  failStrategy: FAIL_OPEN\n"),
    );
    assert!(m[0].contains("skips the plugin"), "{m:?}");
    // failStrategy arrived in 1.19: before, FAIL_OPEN is pruned and the fetch failure NACKs.
    let m = upstream_messages(
        t.path(),
        &images,
        "1.18",
        &format!("{url}  failStrategy: FAIL_OPEN\n"),
    );
    assert!(m[0].contains("NACKs"), "{m:?}");
}

#[test]
fn plugin_name_is_the_root_id_the_module_must_register() {
    let t = tempfile::tempdir().unwrap();
    let images = root().join("samples/images");
    let url = "  url: oci://quay.io/meshext-samples/as-add-header-wasmplugin-artifact:1.0\n";
    let rules = |spec: &str| {
        let m = mesh(t.path(), "v2.6", spec);
        let (_, json) = lint_json(&["--images", images.to_str().unwrap(), m.to_str().unwrap()]);
        rule_positions(&json)
    };
    assert_eq!(
        rules(&format!("{url}  pluginName: add_header\n")),
        Vec::<String>::new()
    );
    assert_eq!(
        rules(&format!("{url}  pluginName: greeting\n")),
        ["MX410 16:15"]
    );
    assert_eq!(rules(url), ["MX410 14:1"]);
    // The Rust SDK has one root context whatever the id.
    assert_eq!(rules("  url: oci://quay.io/meshext-samples/header-append-wasmplugin:1.0\n  pluginName: anything\n"), Vec::<String>::new());
    // --no-runtime skips the start.
    let m = mesh(t.path(), "v2.6", url);
    let (_, json) = lint_json(&[
        "--images",
        images.to_str().unwrap(),
        "--no-runtime",
        m.to_str().unwrap(),
    ]);
    assert_eq!(rule_positions(&json), Vec::<String>::new());
}

#[test]
fn a_plugin_wasm_that_is_not_a_file_reads_as_nothing() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    let wasm = std::fs::read(root().join(HTTP_PLUGIN)).unwrap();
    // A symlink named plugin.wasm comes first in the tar: the fetcher takes it (0 bytes).
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "plugin.wasm", "real.wasm").unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(wasm.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, "real.wasm", &wasm[..]).unwrap();
    let tar = b.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let lh = put_blob(&layout, &gz);
    let config = serde_json::to_vec(&serde_json::json!({"rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha(&tar))]}})).unwrap();
    let ch = put_blob(&layout, &config);
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{ch}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": format!("sha256:{lh}"), "size": gz.len()}]})).unwrap();
    let mh = put_blob(&layout, &manifest);
    add_to_index(
        &layout,
        "quay.io/acme/link:1",
        "application/vnd.oci.image.manifest.v1+json",
        &mh,
        manifest.len(),
    );
    let img = ImageStore::open(std::slice::from_ref(&layout))
        .0
        .resolve("quay.io/acme/link:1")
        .unwrap()
        .unwrap();
    let f = fetcher::fetch(
        &img,
        &Fetcher::of(IstioVersion::parse("1.26").unwrap(), false),
    );
    let p = f.problem.unwrap();
    assert_eq!(p.kind, fetcher::FetchProblemKind::NotWasm);
    assert!(p.message.contains("empty"), "{}", p.message);
    assert!(f.module_path.unwrap().contains("symlink"));
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", "  url: quay.io/acme/link:1\n"),
        ["MX407 15:8"]
    );
}

#[test]
fn uncompressed_layers_fail_unless_the_layout_is_a_docker_save() {
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("l");
    let wasm = std::fs::read(root().join(HTTP_PLUGIN)).unwrap();
    let (tar, _) = tar_gz(&[("plugin.wasm", &wasm)]);
    let lh = put_blob(&layout, &tar);
    let config = serde_json::to_vec(&serde_json::json!({"rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha(&tar))]}})).unwrap();
    let ch = put_blob(&layout, &config);
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{ch}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{lh}"), "size": tar.len()}]})).unwrap();
    let mh = put_blob(&layout, &manifest);
    add_to_index(
        &layout,
        "quay.io/acme/plain:1",
        "application/vnd.oci.image.manifest.v1+json",
        &mh,
        manifest.len(),
    );
    let spec = "  url: quay.io/acme/plain:1\n  sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n";
    // As pushed from this layout: an uncompressed OCI layer is not `tar+gzip` (istio's own
    // test case); the checksum is compared first.
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", "  url: quay.io/acme/plain:1\n"),
        ["MX406 15:8"]
    );
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", spec),
        ["MX406 15:8", "MX408 16:11"]
    );
    // `docker save` (Docker ≥ 25) writes this shape plus manifest.json; `docker push`
    // compresses the layers and makes a new manifest digest: neither is judged from the layout.
    std::fs::write(layout.join("manifest.json"), format!(r#"[{{"Config":"blobs/sha256/{ch}","RepoTags":["quay.io/acme/plain:1"],"Layers":["blobs/sha256/{lh}"]}}]"#)).unwrap();
    assert_eq!(
        image_rules(t.path(), &layout, "v2.6", spec),
        Vec::<String>::new()
    );
}
