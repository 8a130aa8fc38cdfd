//! Reading real images (the samples made with skopeo/umoci), the four source kinds, reference
//! resolution, manifest.yaml checks, `pack`, and interoperability with skopeo and umoci.

use meshext_lint::image::pack::pack;
use meshext_lint::image::{read_extension, ImageKind, ImageStore, SourceFormat};
use meshext_lint::rules;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The findings the rules raise for a package (MX403/MX404).
fn package_findings(
    pkg: &meshext_lint::image::ExtensionPackage,
) -> Vec<meshext_lint::diag::Diagnostic> {
    rules::images::package_diagnostics(pkg)
}

const WASM: &[u8] = b"\0asm\x01\0\0\0";
const MANIFEST: &str =
    "schemaVersion: 1\nname: ext\nphase: PostAuthZ\npriority: 10\nmodule: ext.wasm\n";
const HA: &str = "quay.io/meshext-samples/header-append:1.0";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A committed fixture, or `None` with a notice (fixtures are produced by another task).
fn fixture(rel: &str) -> Option<PathBuf> {
    let p = root().join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("NOTICE: fixture {rel} is absent; skipping");
        None
    }
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

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn inputs(dir: &Path, manifest: &str) -> (PathBuf, PathBuf) {
    let m = dir.join("manifest.yaml");
    let w = dir.join("ext.wasm");
    std::fs::write(&m, manifest).unwrap();
    std::fs::write(&w, WASM).unwrap();
    (m, w)
}

#[test]
fn sample_layout_holds_every_sample_image() {
    let Some(dir) = fixture("samples/images") else {
        return;
    };
    let (store, diags) = ImageStore::open(&[dir]);
    assert!(diags.is_empty(), "{diags:?}");
    assert!(store.images().len() >= 9);
    for info in store.images() {
        let name = &info.names[0];
        let img = store.resolve(name).unwrap().unwrap();
        assert_eq!(img.format, SourceFormat::OciLayout);
        // `…/migrated/…` and `…/migrated-artifact/…` are migrate's repackaged images.
        if name.contains("wasmplugin") || name.contains("/migrated") {
            let kind = if name.contains("-artifact") {
                ImageKind::WasmPluginArtifact
            } else {
                ImageKind::WasmPluginCompat
            };
            assert_eq!(img.kind, kind, "{name}");
            assert!(img.plugin_wasm().unwrap().starts_with(b"\0asm"));
            assert_eq!(package_findings(&read_extension(&img))[0].rule, "MX403");
        } else {
            assert_eq!(img.kind, ImageKind::SmeImage, "{name}");
            let pkg = read_extension(&img);
            // wasi-logger's manifest had `description: WASI filter: logs …`, which is invalid
            // YAML (an unquoted `: `); the cacher's yaml.v2 refuses it too.
            if name.contains("wasi-logger") && !package_findings(&pkg).is_empty() {
                let d = &package_findings(&pkg)[0];
                assert_eq!(
                    (d.rule.as_str(), d.location.as_ref().unwrap().line),
                    ("MX403", 4)
                );
                eprintln!("NOTICE: {name}: {}", d.message);
                continue;
            }
            assert!(
                package_findings(&pkg).is_empty(),
                "{name}: {:?}",
                package_findings(&pkg)
            );
            assert!(pkg.module_bytes.unwrap().starts_with(b"\0asm"));
            assert!(pkg.manifest.unwrap().phase.is_some());
        }
    }
}

#[test]
fn archives_and_root_dirs_give_the_same_extension() {
    let (Some(oci), Some(docker), Some(rootfs)) = (
        fixture("tests/fixtures/images/header-append.oci.tar"),
        fixture("tests/fixtures/images/header-append.docker.tar"),
        fixture("tests/fixtures/images/header-append-rootfs"),
    ) else {
        return;
    };
    let mut modules = Vec::new();
    for (src, format) in [
        (oci, SourceFormat::OciArchive),
        (docker, SourceFormat::DockerArchive),
        (rootfs, SourceFormat::RootDir),
    ] {
        let (store, diags) = ImageStore::open(std::slice::from_ref(&src));
        assert!(diags.is_empty(), "{diags:?}");
        // the unnamed root dir answers any reference; the archives by name
        let img = store.resolve(HA).unwrap().unwrap();
        assert_eq!(img.format, format);
        let pkg = read_extension(&img);
        assert!(
            package_findings(&pkg).is_empty(),
            "{src:?}: {:?}",
            package_findings(&pkg)
        );
        let m = pkg.manifest.unwrap();
        assert_eq!(
            (m.phase.as_deref(), m.priority),
            (Some("PostAuthZ"), Some(100))
        );
        modules.push(pkg.module_bytes.unwrap());
        if format == SourceFormat::DockerArchive {
            // the image ID (config digest) answers digest references
            let by_id = format!("quay.io/meshext-samples/header-append@{}", img.digest);
            assert!(Arc::ptr_eq(&store.resolve(&by_id).unwrap().unwrap(), &img));
        }
    }
    assert!(modules.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn root_dirs_named_with_ref_equals_dir() {
    let t = tempfile::tempdir().unwrap();
    let a = t.path().join("a");
    let b = t.path().join("b");
    for d in [&a, &b] {
        std::fs::create_dir(d).unwrap();
        inputs(d, MANIFEST);
    }
    let named = PathBuf::from(format!("quay.io/acme/a:1={}", a.display()));
    let (store, diags) = ImageStore::open(&[named, b.clone()]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        store.resolve("quay.io/acme/a:1").unwrap().unwrap().source,
        a
    );
    // the single unnamed root dir is the fallback
    assert_eq!(
        store.resolve("quay.io/acme/zzz:1").unwrap().unwrap().source,
        b
    );
    // two unnamed root dirs: no fallback
    let (store, _) = ImageStore::open(&[a, b]);
    assert!(store.resolve("quay.io/acme/zzz:1").is_none());
}

#[test]
fn missing_and_unrecognised_sources_are_mx402() {
    let t = tempfile::tempdir().unwrap();
    let (_, diags) = ImageStore::open(&[t.path().join("nope"), t.path().to_path_buf()]);
    assert_eq!(diags.len(), 2);
    assert!(diags
        .iter()
        .all(|d| rules::images::image_error(d).rule == "MX402"));
    assert_eq!(
        rules::images::image_error(&diags[0]).location.unwrap().file,
        t.path().join("nope").display().to_string()
    );
}

#[test]
fn pack_is_deterministic_and_reads_back() {
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(t.path(), MANIFEST);
    let r1 = pack(&m, &w, "quay.io/acme/ext:1.0", &t.path().join("one")).unwrap();
    let r2 = pack(&m, &w, "quay.io/acme/ext:1.0", &t.path().join("two")).unwrap();
    let r3 = pack(&m, &w, "quay.io/acme/ext:1.0", &t.path().join("img.tar")).unwrap();
    assert_eq!(r1, r2);
    assert_eq!(r1, r3);
    let a = std::fs::read(t.path().join("img.tar")).unwrap();
    pack(&m, &w, "quay.io/acme/ext:1.0", &t.path().join("img.tar")).unwrap();
    assert_eq!(a, std::fs::read(t.path().join("img.tar")).unwrap());
    // a second image joins the layout; the first stays
    pack(&m, &w, "quay.io/acme/other:2", &t.path().join("one")).unwrap();
    for src in [t.path().join("one"), t.path().join("img.tar")] {
        let (store, diags) = ImageStore::open(&[src]);
        assert!(diags.is_empty());
        let img = store.resolve("quay.io/acme/ext:1.0").unwrap().unwrap();
        assert_eq!(img.digest, r1.digest);
        let pkg = read_extension(&img);
        assert!(
            package_findings(&pkg).is_empty(),
            "{:?}",
            package_findings(&pkg)
        );
        assert_eq!(pkg.module_bytes.as_deref(), Some(WASM));
    }
    let (store, _) = ImageStore::open(&[t.path().join("one")]);
    assert_eq!(store.images().len(), 2);
}

#[test]
fn pack_refuses_an_invalid_manifest_or_reference() {
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(
        t.path(),
        "schemaVersion: 1\nphase: postauthz\npriority: 1\nmodule: ext.wasm\n",
    );
    let e = pack(&m, &w, "quay.io/acme/ext:1.0", &t.path().join("o")).unwrap_err();
    assert!(e.contains("2:8") && e.contains("case-sensitive"), "{e}");
    let (m, w) = inputs(t.path(), MANIFEST);
    assert!(pack(&m, &w, "ext:1.0", &t.path().join("o")).is_err());
    assert!(!t.path().join("o").exists());
}

/// MX403/MX404 with positions inside the image.
#[test]
fn manifest_checks() {
    let cases: &[(&str, &str, &str, (u32, u32))] = &[
        (
            "phase: PostAuthZ\npriority: 1\nmodule: ext.wasm\n",
            "MX403",
            "schemaVersion",
            (1, 1),
        ),
        (
            "schemaVersion: 2\nphase: PostAuthZ\npriority: 1\nmodule: ext.wasm\n",
            "MX403",
            "must be 1",
            (1, 16),
        ),
        (
            "schemaVersion: 1\nphase: Stats\npriority: 1\nmodule: ext.wasm\n",
            "MX403",
            "not one of",
            (2, 8),
        ),
        (
            "schemaVersion: 1\nphase: PreAuthN\npriority: \"5\"\nmodule: ext.wasm\n",
            "MX403",
            "integer",
            (3, 11),
        ),
        (
            "schemaVersion: 1\nphase: PreAuthN\nmodule: ext.wasm\n",
            "MX403",
            "priority",
            (1, 1),
        ),
        (
            "schemaVersion: 1\nphase: PreAuthN\npriority: 1\n",
            "MX403",
            "module",
            (1, 1),
        ),
        (
            "schemaVersion: 1\nphase: [PreAuthN\n",
            "MX403",
            "not valid YAML",
            (0, 0),
        ),
        ("- a\n- b\n", "MX403", "mapping", (1, 1)),
        (
            "schemaVersion: 1\nphase: PreAuthN\npriority: 1\nmodule: sub/missing.wasm\n",
            "MX404",
            "not in the image",
            (4, 9),
        ),
        (
            "schemaVersion: 1\nphase: PreAuthN\npriority: 1\nmodule: sub\n",
            "MX404",
            "directory",
            (4, 9),
        ),
    ];
    for (manifest, rule, needle, (line, col)) in cases {
        let t = tempfile::tempdir().unwrap();
        inputs(t.path(), manifest);
        std::fs::create_dir(t.path().join("sub")).unwrap();
        let (store, _) = ImageStore::open(&[PathBuf::from(format!(
            "quay.io/acme/ext:1.0={}",
            t.path().display()
        ))]);
        let pkg = read_extension(&store.resolve("quay.io/acme/ext:1.0").unwrap().unwrap());
        assert_eq!(
            package_findings(&pkg).len(),
            1,
            "{manifest}: {:?}",
            package_findings(&pkg)
        );
        let d = &package_findings(&pkg)[0];
        assert_eq!(d.rule, *rule, "{manifest}");
        assert!(d.message.contains(needle), "{manifest}: {}", d.message);
        let loc = d.location.as_ref().unwrap();
        assert_eq!(loc.file, "quay.io/acme/ext:1.0!/manifest.yaml");
        if *line > 0 {
            assert_eq!((loc.line, loc.column), (*line, *col), "{manifest}");
        }
    }
    // and a missing manifest
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("plugin.wasm"), WASM).unwrap();
    let (store, _) = ImageStore::open(&[t.path().to_path_buf()]);
    let img = store.resolve("quay.io/acme/ext:1.0").unwrap().unwrap();
    assert_eq!(img.kind, ImageKind::WasmPluginCompat);
    let pkg = read_extension(&img);
    assert_eq!(package_findings(&pkg)[0].rule, "MX403");
    assert!(package_findings(&pkg)[0]
        .help
        .as_ref()
        .unwrap()
        .contains("WasmPlugin"));
}

fn sha(b: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(b))
}

fn put_blob(dir: &Path, b: &[u8]) -> String {
    let d = sha(b);
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
    d
}

#[test]
fn multi_arch_index_and_tag_only_names() {
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(t.path(), MANIFEST);
    let dir = t.path().join("layout");
    let r = pack(&m, &w, "quay.io/acme/ext:1.0", &dir).unwrap();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mut child = index["manifests"][0].clone();
    child.as_object_mut().unwrap().remove("annotations");
    child["platform"] = serde_json::json!({"architecture": "amd64", "os": "linux"});
    let arm = serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": sha(b"absent"), "size": 6, "platform": {"architecture": "arm64", "os": "linux"}});
    let multi = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [arm, child]}))
    .unwrap();
    let md = put_blob(&dir, &multi);
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": md, "size": multi.len(),
        "annotations": {"org.opencontainers.image.ref.name": "1.0"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();

    let (store, diags) = ImageStore::open(std::slice::from_ref(&dir));
    assert!(diags.is_empty(), "{diags:?}");
    // tag-only name, unique in the store
    let img = store.resolve("quay.io/acme/ext:1.0").unwrap().unwrap();
    assert_eq!(img.digest, r.digest);
    assert_eq!(img.index_digest.as_deref(), Some(md.as_str()));
    // by platform manifest digest and by index digest
    for d in [&r.digest, &md] {
        assert!(store
            .resolve(&format!("quay.io/acme/ext@{d}"))
            .unwrap()
            .is_ok());
    }
    assert!(store.resolve("quay.io/acme/ext:2.0").is_none());

    // the same tag in two single-repository layouts is ambiguous
    let dir2 = t.path().join("layout2");
    let (m2, w2) = inputs(t.path(), &MANIFEST.replace("priority: 10", "priority: 11"));
    pack(&m2, &w2, "quay.io/acme/other:1.0", &dir2).unwrap();
    let idx = std::fs::read_to_string(dir2.join("index.json"))
        .unwrap()
        .replace("quay.io/acme/other:1.0", "1.0");
    std::fs::write(dir2.join("index.json"), idx).unwrap();
    let (store, _) = ImageStore::open(&[dir, dir2]);
    let e = store.resolve("quay.io/acme/ext:1.0").unwrap().unwrap_err();
    assert_eq!(rules::images::image_error(&e).rule, "MX401");
    assert!(e.message.contains("ambiguous"));
}

#[test]
fn wasm_plugin_artifact_variant() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("layout");
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let config = br#"{"type":"envoy_proxy","abiVersions":["v0-097b7f2e4cc1fb490cc1943d0d633655ac3c522f"],"config":{"rootIds":["x"]}}"#;
    let cd = put_blob(&dir, config);
    let wd = put_blob(&dir, WASM);
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.module.wasm.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.module.wasm.content.layer.v1+wasm", "digest": wd, "size": WASM.len()}]}))
    .unwrap();
    let md = put_blob(&dir, &manifest);
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
        "annotations": {"io.containerd.image.name": "quay.io/acme/plugin:1"}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let (store, diags) = ImageStore::open(&[dir]);
    assert!(diags.is_empty(), "{diags:?}");
    let img = store.resolve("quay.io/acme/plugin:1").unwrap().unwrap();
    assert_eq!(img.kind, ImageKind::WasmPluginArtifact);
    assert_eq!(img.plugin_wasm().as_deref(), Some(WASM));
    assert_eq!(package_findings(&read_extension(&img))[0].rule, "MX403");
}

#[test]
fn parallel_resolves_read_each_digest_once() {
    use rayon::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(t.path(), MANIFEST);
    let dir = t.path().join("layout");
    pack(&m, &w, "quay.io/acme/ext:1.0", &dir).unwrap();
    pack(&m, &w, "quay.io/acme/alias:1.0", &dir).unwrap();
    let (store, _) = ImageStore::open(&[dir]);
    let refs: Vec<&str> = (0..64)
        .map(|i| {
            if i % 2 == 0 {
                "quay.io/acme/ext:1.0"
            } else {
                "quay.io/acme/alias:1.0"
            }
        })
        .collect();
    let images: Vec<_> = refs
        .par_iter()
        .map(|r| store.resolve(r).unwrap().unwrap())
        .collect();
    // both names point at one manifest digest: one Image
    assert!(images.iter().all(|i| Arc::ptr_eq(i, &images[0])));
}

#[test]
fn skopeo_reads_what_pack_writes_and_we_read_what_skopeo_writes() {
    if !have("skopeo") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(t.path(), MANIFEST);
    let dir = t.path().join("layout");
    let reference = "quay.io/acme/ext:1.0";
    let r = pack(&m, &w, reference, &dir).unwrap();
    let out = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:{reference}", dir.display())));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["Digest"], r.digest);
    assert_eq!(v["Layers"][0], r.layer_digest);
    run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:{reference}", {
            let tar = t.path().join("img.tar");
            pack(&m, &w, reference, &tar).unwrap();
            tar.display().to_string()
        })));

    // skopeo re-writes it as an OCI layout (tag-only name), an OCI archive and a docker-archive
    let copies = [
        (
            format!("oci:{}:1.0", t.path().join("copy").display()),
            t.path().join("copy"),
        ),
        (
            format!(
                "oci-archive:{}:{reference}",
                t.path().join("c.tar").display()
            ),
            t.path().join("c.tar"),
        ),
        (
            format!(
                "docker-archive:{}:{reference}",
                t.path().join("d.tar").display()
            ),
            t.path().join("d.tar"),
        ),
    ];
    for (dest, path) in copies {
        run(Command::new("skopeo")
            .args(["copy", "--quiet"])
            .arg(format!("oci:{}:{reference}", dir.display()))
            .arg(&dest));
        let (store, diags) = ImageStore::open(&[path]);
        assert!(diags.is_empty(), "{dest}: {diags:?}");
        let img = store.resolve(reference).unwrap().unwrap();
        let pkg = read_extension(&img);
        assert!(
            package_findings(&pkg).is_empty(),
            "{dest}: {:?}",
            package_findings(&pkg)
        );
        assert_eq!(pkg.module_bytes.as_deref(), Some(WASM), "{dest}");
    }
}

#[test]
fn umoci_unpacks_what_pack_writes() {
    if !have("umoci") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(t.path(), MANIFEST);
    let dir = t.path().join("layout");
    pack(&m, &w, "quay.io/acme/ext:1.0", &dir).unwrap();
    run(Command::new("umoci")
        .arg("stat")
        .arg("--image")
        .arg(format!("{}:quay.io/acme/ext:1.0", dir.display())));
    let bundle = t.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:quay.io/acme/ext:1.0", dir.display()))
        .arg(&bundle));
    assert_eq!(
        std::fs::read_to_string(bundle.join("rootfs/manifest.yaml")).unwrap(),
        MANIFEST
    );
    assert_eq!(std::fs::read(bundle.join("rootfs/ext.wasm")).unwrap(), WASM);
}

#[test]
fn fifty_image_layout_reads_in_parallel() {
    use rayon::prelude::*;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("layout");
    let m = t.path().join("manifest.yaml");
    std::fs::write(&m, MANIFEST).unwrap();
    for i in 0..50 {
        let w = t.path().join("ext.wasm");
        std::fs::write(&w, [WASM, &[i as u8; 1000][..]].concat()).unwrap();
        pack(&m, &w, &format!("quay.io/acme/ext{i}:1.0"), &dir).unwrap();
    }
    let start = std::time::Instant::now();
    let (store, diags) = ImageStore::open(&[dir]);
    assert!(diags.is_empty());
    let infos = store.images();
    assert_eq!(infos.len(), 50);
    let ok = infos
        .par_iter()
        .filter(|i| {
            store
                .load(i)
                .is_ok_and(|img| package_findings(&read_extension(&img)).is_empty())
        })
        .count();
    assert_eq!(ok, 50);
    eprintln!("read 50 images in {:?}", start.elapsed());
}

#[test]
fn findings_use_the_catalogue_severities() {
    use meshext_lint::diag::Severity;
    let d = rules::images::not_pulled("quay.io/acme/ext:1.0");
    assert_eq!((d.rule.as_str(), d.severity), ("MX401", Severity::Warning));
    assert!(d
        .help
        .unwrap()
        .contains("skopeo copy docker://quay.io/acme/ext:1.0 oci:"));
    for id in ["MX402", "MX403", "MX404"] {
        let r = meshext_lint::rules::get(id).unwrap();
        assert_eq!(r.default_severity(), Severity::Error, "{id}");
    }
}

/// umoci writes one layer per insert, and a real `.wh.` whiteout for `--whiteout`.
#[test]
fn we_read_multi_layer_images_umoci_writes() {
    if !have("umoci") {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (m, w) = inputs(t.path(), MANIFEST);
    let layout = t.path().join("L");
    let image = format!("{}:quay.io/acme/u:1", layout.display());
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    for (src, dest) in [
        (&m, "/manifest.yaml"),
        (&w, "/ext.wasm"),
        (&w, "/old/x.wasm"),
    ] {
        run(Command::new("umoci")
            .args(["insert", "--rootless", "--image", &image])
            .arg(src)
            .arg(dest));
    }
    run(Command::new("umoci").args([
        "insert",
        "--rootless",
        "--image",
        &image,
        "--whiteout",
        "/old",
    ]));
    let (store, diags) = ImageStore::open(&[layout]);
    assert!(diags.is_empty(), "{diags:?}");
    let img = store.resolve("quay.io/acme/u:1").unwrap().unwrap();
    assert_eq!(img.layers.len(), 4);
    assert!(img.file("/old/x.wasm").unwrap().is_none());
    assert!(img.files.get("old").is_none());
    let pkg = read_extension(&img);
    assert!(
        package_findings(&pkg).is_empty(),
        "{:?}",
        package_findings(&pkg)
    );
    assert_eq!(pkg.module_bytes.as_deref(), Some(WASM));
}
