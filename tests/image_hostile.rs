//! Hostile and broken images, generated at run time: each gives a clear MX402 (or MX403/MX404),
//! never a panic, a hang or a write outside the temp dir.

use meshext_lint::image::{read_extension, ImageKind, ImageStore, Limits};
use meshext_lint::rules;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The findings the rules raise for a package (MX403/MX404).
fn package_findings(
    pkg: &meshext_lint::image::ExtensionPackage,
) -> Vec<meshext_lint::diag::Diagnostic> {
    rules::images::package_diagnostics(pkg)
}

const REF: &str = "quay.io/acme/ext:1.0";
const WASM: &[u8] = b"\0asm\x01\0\0\0";
const MANIFEST: &str =
    "schemaVersion: 1\nname: ext\nphase: PostAuthZ\npriority: 10\nmodule: ext.wasm\n";

fn sha(b: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(b))
}

enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A tar written with raw header names, so hostile paths (`../x`, `/x`) survive.
fn tar(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let mut h = tar::Header::new_gnu();
        let (name, data, kind, link): (&str, &[u8], tar::EntryType, Option<&str>) = match e {
            E::File(n, d) => (n, d, tar::EntryType::Regular, None),
            E::Dir(n) => (n, b"", tar::EntryType::Directory, None),
            E::Symlink(n, t) => (n, b"", tar::EntryType::Symlink, Some(t)),
            E::HardLink(n, t) => (n, b"", tar::EntryType::Link, Some(t)),
        };
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(l) = link {
                gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn gz(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Writes an OCI layout with one image whose layers are `layers` (already encoded), and
/// returns (dir, manifest digest). `diff_ids` are computed from the decompressed layers
/// unless a layer does not decompress.
struct Layout {
    dir: PathBuf,
    manifest: Vec<u8>,
}

fn blob(dir: &Path, b: &[u8]) -> String {
    let d = sha(b);
    std::fs::write(dir.join("blobs/sha256").join(&d[7..]), b).unwrap();
    d
}

fn layout(tmp: &Path, layers: &[(Vec<u8>, &str)], config_diff_ids: Option<Vec<String>>) -> Layout {
    let dir = tmp.join("layout");
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for (b, mt) in layers {
        let raw = if b.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&b[..]), &mut out);
            out
        } else {
            b.clone()
        };
        diff_ids.push(sha(&raw));
        let d = blob(&dir, b);
        descs.push(serde_json::json!({"mediaType": mt, "digest": d, "size": b.len()}));
    }
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": config_diff_ids.unwrap_or(diff_ids)}});
    let config = serde_json::to_vec(&config).unwrap();
    let cd = blob(&dir, &config);
    let manifest = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": descs})).unwrap();
    let md = blob(&dir, &manifest);
    write_index(&dir, &md, manifest.len());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    Layout { dir, manifest }
}

fn write_index(dir: &Path, digest: &str, size: usize) {
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": size,
        "annotations": {"org.opencontainers.image.ref.name": REF}}]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

const TGZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

fn good_layer() -> Vec<u8> {
    gz(&tar(&[
        E::File("manifest.yaml", MANIFEST.as_bytes()),
        E::File("ext.wasm", WASM),
    ]))
}

/// Opens `dir` and resolves REF; returns the MX402 message (panics if it is not MX402).
fn mx402(dir: &Path, limits: Limits) -> String {
    let (store, diags) = ImageStore::open_with_limits(&[dir.to_path_buf()], limits);
    if let Some(d) = diags.first() {
        assert_eq!(rules::images::image_error(d).rule, "MX402");
        return d.message.clone();
    }
    match store.resolve(REF) {
        Some(Err(e)) => {
            assert_eq!(rules::images::image_error(&e).rule, "MX402");
            e.message
        }
        Some(Ok(_)) => panic!("hostile image was accepted"),
        None => panic!("image not found"),
    }
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn a_clean_generated_image_reads() {
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    let (store, diags) = ImageStore::open(std::slice::from_ref(&l.dir));
    assert!(diags.is_empty(), "{diags:?}");
    let img = store.resolve(REF).unwrap().unwrap();
    assert_eq!(img.kind, ImageKind::SmeImage);
    assert_eq!(img.digest, sha(&l.manifest));
    let pkg = read_extension(&img);
    assert!(
        package_findings(&pkg).is_empty(),
        "{:?}",
        package_findings(&pkg)
    );
    assert_eq!(pkg.module_bytes.as_deref(), Some(WASM));
    // by digest, and by the same name written the docker way
    assert!(store
        .resolve(&format!("quay.io/other/name@{}", sha(&l.manifest)))
        .unwrap()
        .is_ok());
    assert!(store.resolve("quay.io/acme/ext:2.0").is_none());
}

#[test]
fn path_traversal_and_absolute_paths_are_refused() {
    for name in ["../../etc/passwd", "a/../../x", "/etc/passwd"] {
        let t = tmp();
        let layer = gz(&tar(&[
            E::File("manifest.yaml", MANIFEST.as_bytes()),
            E::File(name, b"x"),
        ]));
        let l = layout(t.path(), &[(layer, TGZ)], None);
        let msg = mx402(&l.dir, Limits::default());
        assert!(msg.contains("unsafe"), "{name}: {msg}");
    }
}

#[test]
fn symlinks_leaving_the_root_are_refused() {
    let t = tmp();
    let layer = tar(&[E::Dir("a"), E::Symlink("a/ext.wasm", "../../../etc/passwd")]);
    let l = layout(t.path(), &[(layer, TAR)], None);
    assert!(mx402(&l.dir, Limits::default()).contains("leaves the image root"));

    // writing through a symlink planted by a lower layer
    let t = tmp();
    let l1 = tar(&[E::Symlink("evil", "/")]);
    let l2 = tar(&[E::File("evil/x", b"x")]);
    let l = layout(t.path(), &[(l1, TAR), (l2, TAR)], None);
    assert!(mx402(&l.dir, Limits::default()).contains("through the symlink"));

    // hard link out of the root
    let t = tmp();
    let l = layout(
        t.path(),
        &[(tar(&[E::HardLink("x", "../../etc/shadow")]), TAR)],
        None,
    );
    assert!(mx402(&l.dir, Limits::default()).contains("unsafe"));
}

#[test]
fn absolute_symlinks_resolve_inside_the_root() {
    let t = tmp();
    let manifest = MANIFEST.replace("ext.wasm", "lib/ext.wasm");
    let layer = tar(&[
        E::File("manifest.yaml", manifest.as_bytes()),
        E::File("data/real.wasm", WASM),
        E::Symlink("lib", "/data"),
        E::Symlink("data/ext.wasm", "/data/real.wasm"),
    ]);
    let l = layout(t.path(), &[(layer, TAR)], None);
    let (store, _) = ImageStore::open(&[l.dir]);
    let pkg = read_extension(&store.resolve(REF).unwrap().unwrap());
    assert!(
        package_findings(&pkg).is_empty(),
        "{:?}",
        package_findings(&pkg)
    );
    assert_eq!(pkg.module_path.as_deref(), Some("/data/real.wasm"));
}

#[test]
fn gzip_bomb_is_bounded_and_fast() {
    let t = tmp();
    // 8 MiB of zeros in one file compresses to a few KiB; the bound is 1 MiB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut h = tar::Header::new_gnu();
    h.set_path("zeros").unwrap();
    h.set_size(8 << 20);
    h.set_cksum();
    e.write_all(h.as_bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..8 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 64 << 10);
    let l = layout(t.path(), &[(bomb, TGZ)], Some(vec![sha(b"unused")]));
    let limits = Limits {
        max_uncompressed: 1 << 20,
        ..Limits::default()
    };
    let start = std::time::Instant::now();
    let msg = mx402(&l.dir, limits);
    assert!(msg.contains("bound"), "{msg}");
    assert!(start.elapsed().as_secs() < 10);
}

#[test]
fn too_many_files_is_bounded() {
    let t = tmp();
    let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
    let entries: Vec<E> = names.iter().map(|n| E::File(n, b"")).collect();
    let l = layout(t.path(), &[(tar(&entries), TAR)], None);
    let msg = mx402(
        &l.dir,
        Limits {
            max_files: 20,
            ..Limits::default()
        },
    );
    assert!(msg.contains("bound"), "{msg}");
}

#[test]
fn missing_blob_digest_and_size_mismatch() {
    // missing layer blob
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    let layer_digest = sha(&good_layer());
    std::fs::remove_file(l.dir.join("blobs/sha256").join(&layer_digest[7..])).unwrap();
    assert!(mx402(&l.dir, Limits::default()).contains("missing blob"));

    // same size, different bytes
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    let p = l.dir.join("blobs/sha256").join(&layer_digest[7..]);
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len() - 10;
    b[n] ^= 0xff;
    std::fs::write(&p, b).unwrap();
    assert!(mx402(&l.dir, Limits::default()).contains("corrupt"));

    // truncated blob: size mismatch
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    let p = l.dir.join("blobs/sha256").join(&layer_digest[7..]);
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..b.len() / 2]).unwrap();
    assert!(mx402(&l.dir, Limits::default()).contains("descriptor says"));

    // config diff_id does not match the layer
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], Some(vec![sha(b"other")]));
    assert!(mx402(&l.dir, Limits::default()).contains("the config says"));

    // a digest that tries to be a path
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    write_index(&l.dir, "sha256:../../../../etc/passwd", 10);
    assert!(mx402(&l.dir, Limits::default()).contains("malformed digest"));
}

#[test]
fn malformed_json_is_reported() {
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    std::fs::write(
        l.dir.join("index.json"),
        b"{\"schemaVersion\": 2, \"manifests\": [",
    )
    .unwrap();
    assert!(mx402(&l.dir, Limits::default()).contains("malformed"));

    // a manifest blob that is valid by digest but not JSON
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    let junk = b"not json at all";
    let d = blob(&l.dir, junk);
    write_index(&l.dir, &d, junk.len());
    assert!(mx402(&l.dir, Limits::default()).contains("malformed manifest"));

    // index.json too large for the bound
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    let msg = mx402(
        &l.dir,
        Limits {
            max_json: 16,
            ..Limits::default()
        },
    );
    assert!(msg.contains("bound"), "{msg}");
}

#[test]
fn truncated_tar_and_random_bytes() {
    let t = tmp();
    let full = tar(&[
        E::File("manifest.yaml", MANIFEST.as_bytes()),
        E::File("ext.wasm", &[7u8; 3000]),
    ]);
    let l = layout(t.path(), &[(full[..1200].to_vec(), TAR)], None);
    assert!(mx402(&l.dir, Limits::default()).contains("bad tar"));

    let t = tmp();
    let mut x: u32 = 12345;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let l = layout(t.path(), &[(junk.clone(), TGZ)], None);
    let _ = mx402(&l.dir, Limits::default());

    // random bytes as a source file
    let p = t.path().join("junk.tar");
    std::fs::write(&p, &junk).unwrap();
    let (_, diags) = ImageStore::open(&[p]);
    assert_eq!(diags.len(), 1);
    assert_eq!(rules::images::image_error(&diags[0]).rule, "MX402");
}

#[test]
fn whiteouts_apply_across_layers() {
    let t = tmp();
    let l1 = tar(&[
        E::File("manifest.yaml", MANIFEST.as_bytes()),
        E::File("ext.wasm", WASM),
        E::File("d/old", b"x"),
        E::File("gone", b"x"),
    ]);
    let l2 = tar(&[
        E::File("d/.wh..wh..opq", b""),
        E::File("d/new", b"y"),
        E::File(".wh.ext.wasm", b""),
        E::File(".wh.gone", b""),
    ]);
    let l = layout(t.path(), &[(l1, TAR), (gz(&l2), TGZ)], None);
    let (store, _) = ImageStore::open(&[l.dir]);
    let img = store.resolve(REF).unwrap().unwrap();
    assert!(img.file("/d/old").unwrap().is_none());
    assert!(img.file("/gone").unwrap().is_none());
    assert_eq!(img.file("/d/new").unwrap().as_deref(), Some(&b"y"[..]));
    let pkg = read_extension(&img);
    assert_eq!(
        package_findings(&pkg).len(),
        1,
        "{:?}",
        package_findings(&pkg)
    );
    assert_eq!(package_findings(&pkg)[0].rule, "MX404");
    let loc = package_findings(&pkg)[0].location.clone().unwrap();
    assert_eq!(loc.file, "quay.io/acme/ext:1.0!/manifest.yaml");
    assert_eq!((loc.line, loc.column), (5, 9));
}

#[test]
fn fuzz_truncated_and_mutated_archives_never_panic() {
    let t = tmp();
    let out = t.path().join("img.tar");
    let m = t.path().join("manifest.yaml");
    let w = t.path().join("ext.wasm");
    std::fs::write(&m, MANIFEST).unwrap();
    std::fs::write(&w, WASM).unwrap();
    meshext_lint::image::pack::pack(&m, &w, REF, &out).unwrap();
    let archive = std::fs::read(&out).unwrap();
    let p = t.path().join("mutant.tar");
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut accepted = 0;
    for round in 0..300 {
        let mut b = archive.clone();
        if round % 3 == 0 {
            b.truncate((next() as usize) % archive.len());
        } else {
            for _ in 0..1 + next() % 8 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
        }
        std::fs::write(&p, &b).unwrap();
        let (store, _) = ImageStore::open(std::slice::from_ref(&p));
        if let Some(Ok(img)) = store.resolve(REF) {
            let _ = read_extension(&img);
            accepted += 1;
        }
        for info in store.images() {
            let _ = store.load(info);
        }
    }
    // Mutations of tar padding or unused header fields are harmless; most are caught.
    assert!(accepted < 300);
}

/// A docker-archive whose layer was altered fails the config's diff_ids; one whose config was
/// altered fails its file name's digest; one without its layer is reported as missing.
#[test]
fn tampered_docker_archive() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images/header-append.docker.tar");
    if !src.exists() {
        eprintln!("NOTICE: fixture {} is absent; skipping", src.display());
        return;
    }
    let reference = "quay.io/meshext-samples/header-append:1.0";
    for (what, needle) in [
        ("layer", "the config says"),
        ("config", "corrupt"),
        ("drop", "missing layer"),
    ] {
        let t = tmp();
        let out = t.path().join("d.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&out).unwrap());
        let mut a = tar::Archive::new(std::fs::File::open(&src).unwrap());
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let mut h = e.header().clone();
            let is_layer = name.ends_with(".tar") && !name.contains('/');
            if what == "drop" && (is_layer || name.ends_with("layer.tar")) {
                continue;
            }
            if (what == "layer" && is_layer)
                || (what == "config"
                    && name.ends_with(".json")
                    && !name.contains('/')
                    && name != "manifest.json")
            {
                let i = data.len() / 2;
                data[i] ^= 0x55;
            }
            b.append_data(&mut h, &name, &data[..]).unwrap();
        }
        b.finish().unwrap();
        drop(b);
        let (store, diags) = ImageStore::open(&[out]);
        assert!(diags.is_empty(), "{diags:?}");
        let e = store.resolve(reference).unwrap().unwrap_err();
        assert_eq!(rules::images::image_error(&e).rule, "MX402");
        assert!(e.message.contains(needle), "{what}: {}", e.message);
    }
}

/// The image budgets that used to be fixed constants are overridable like the others
/// (`--limit image-index-depth=N`, `images-per-source`), checked in a child process because
/// the limits are process-wide.
#[test]
fn index_depth_and_images_per_source_follow_the_limits() {
    let t = tmp();
    let l = layout(t.path(), &[(good_layer(), TGZ)], None);
    // index.json → a nested index → the manifest …
    let md = sha(&l.manifest);
    let nested = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": md, "size": l.manifest.len()}]}))
    .unwrap();
    let nd = blob(&l.dir, &nested);
    // … behind a second nested index, and the manifest once more under another name.
    let nested2 = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": nd, "size": nested.len()}]}))
    .unwrap();
    let nd2 = blob(&l.dir, &nested2);
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json", "digest": nd2, "size": nested2.len(),
        "annotations": {"org.opencontainers.image.ref.name": REF}}, {
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": l.manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "quay.io/acme/other:1.0"}}]});
    std::fs::write(
        l.dir.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let inspect = |limit: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
            .args(["inspect", REF, "--images"])
            .arg(&l.dir)
            .args(["--limit", limit])
            .output()
            .unwrap()
    };
    // The tiny module has ABI findings (exit 1); what matters is that the image was read.
    let ok = inspect("image-index-depth=4");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        !text.contains("nested deeper") && text.contains("manifest: phase"),
        "{text}"
    );
    let deep = inspect("image-index-depth=1");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&deep.stdout),
        String::from_utf8_lossy(&deep.stderr)
    );
    assert_ne!(deep.status.code(), Some(0), "{text}");
    assert!(text.contains("nested deeper than 1 levels"), "{text}");
    let few = inspect("images-per-source=1");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&few.stdout),
        String::from_utf8_lossy(&few.stderr)
    );
    assert_ne!(few.status.code(), Some(0), "{text}");
    assert!(text.contains("more than 1 images"), "{text}");
}
