//! `meshext-lint pack`: writes an SME extension image (one layer holding `/manifest.yaml` and
//! the module) as an OCI layout directory or, for an output ending in `.tar`, an OCI archive.
//! The output is deterministic: no timestamps, owners or host-specific bytes, so the same
//! inputs always give the same digests.

use super::backing::sha256_hex;
use super::fs::{clean_entry_path, FileTree, Node};
use super::json::{self, Descriptor, Index, Manifest, OciLayout};
use super::{read_extension_as, Image, Limits};
use crate::load::yaml;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackResult {
    /// The manifest digest (what `skopeo inspect` shows as `Digest`).
    pub digest: String,
    pub reference: String,
    pub config_digest: String,
    pub layer_digest: String,
}

fn read_bounded(p: &Path, max: u64, what: &str) -> Result<Vec<u8>, String> {
    crate::load::read::read_regular(p, max)
        .map_err(|e| format!("cannot read {what} `{}`: {e}", p.display()))
}

fn tar_header(kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// A deterministic tar of `(path, Some(bytes) | None = directory)`, in the given order.
fn tar_of(entries: &[(String, Option<&[u8]>)]) -> Result<Vec<u8>, String> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let io = |e: std::io::Error| format!("writing tar entry `{path}`: {e}");
        match data {
            Some(d) => {
                let mut h = tar_header(tar::EntryType::Regular, d.len() as u64, 0o644);
                b.append_data(&mut h, path, *d).map_err(io)?;
            }
            None => {
                let mut h = tar_header(tar::EntryType::Directory, 0, 0o755);
                b.append_data(&mut h, format!("{path}/"), std::io::empty())
                    .map_err(io)?;
            }
        }
    }
    b.into_inner().map_err(|e| format!("writing tar: {e}"))
}

fn gzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut enc = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    enc.write_all(data).map_err(|e| e.to_string())?;
    enc.finish().map_err(|e| e.to_string())
}

fn descriptor(media_type: &str, bytes: &[u8]) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: format!("sha256:{}", sha256_hex(bytes)),
        size: bytes.len() as u64,
        annotations: BTreeMap::new(),
        platform: None,
    }
}

/// The module path named by the manifest, or an error telling the user what to add.
fn module_path(manifest_text: &str) -> Result<String, String> {
    let parsed = yaml::parse(manifest_text, yaml::Limits::default());
    let root = parsed.docs.into_iter().next().and_then(|d| d.root);
    let path = root
        .as_ref()
        .and_then(|r| r.get("module"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .ok_or("manifest.yaml has no `module: <path of the .wasm in the image>`")?;
    let key =
        clean_entry_path(path.trim_start_matches('/')).map_err(|e| format!("`module`: {e}"))?;
    if key.is_empty() {
        return Err("`module` must name a file".into());
    }
    Ok(key)
}

/// Checks the image-to-be with the same rules `lint` applies (MX403/MX404).
fn self_check(
    manifest: &[u8],
    module_key: &str,
    module: &[u8],
    reference: &str,
) -> Result<(), String> {
    let limits = Limits::default();
    let mut files = FileTree::default();
    files.put("manifest.yaml".into(), Node::File(manifest.into()), &limits)?;
    files.put(module_key.to_string(), Node::File(module.into()), &limits)?;
    let image = Image::unpacked(reference, files);
    // Every manifest problem is an error (MX403/MX404), as `lint` reports it.
    let errors: Vec<String> = read_extension_as(&image, "manifest.yaml")
        .problems
        .iter()
        .map(|p| format!("{}:{}: {}", p.at.line, p.at.column, p.message))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "manifest.yaml is not valid:\n  {}",
            errors.join("\n  ")
        ))
    }
}

/// Packs `manifest` and `module` into an image named `reference` and writes it to `out`: an
/// OCI archive when `out` ends in `.tar`, else an OCI layout directory (an existing layout
/// keeps its other images; an image with the same name is replaced).
pub fn pack(
    manifest: &Path,
    module: &Path,
    reference: &str,
    out: &Path,
) -> Result<PackResult, String> {
    check_tag(reference)?;
    let manifest_bytes = read_bounded(manifest, Limits::default().max_json, "manifest")?;
    let module_bytes = read_bounded(module, Limits::default().max_blob, "module")?;
    let text = std::str::from_utf8(&manifest_bytes)
        .map_err(|_| "manifest.yaml is not UTF-8 text".to_string())?;
    let module_key = module_path(text)?;
    self_check(&manifest_bytes, &module_key, &module_bytes, reference)?;

    // Layer: parent directories, manifest.yaml and the module, sorted by path.
    let mut entries: BTreeMap<String, Option<&[u8]>> = BTreeMap::new();
    let mut dir = module_key.as_str();
    while let Some(i) = dir.rfind('/') {
        dir = &dir[..i];
        entries.insert(dir.to_string(), None);
    }
    entries.insert("manifest.yaml".into(), Some(&manifest_bytes));
    entries.insert(module_key.clone(), Some(&module_bytes));
    let layer_tar = tar_of(&entries.into_iter().collect::<Vec<_>>())?;
    let layer = gzip(&layer_tar)?;
    let layer_desc = descriptor(json::OCI_LAYER_GZIP, &layer);

    let config = image_config(&layer_tar)?;
    let config_desc = descriptor(json::OCI_CONFIG, &config);
    write_image(
        out,
        reference,
        config_desc,
        &config,
        vec![(layer_desc, layer)],
    )
}

/// An OCI image config for one layer whose uncompressed tar is `layer_tar` (no timestamps).
fn image_config(layer_tar: &[u8]) -> Result<Vec<u8>, String> {
    let config = serde_json::json!({
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(layer_tar))]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "meshext-lint pack"}],
    });
    serde_json::to_vec(&config).map_err(|e| e.to_string())
}

/// Which WasmPlugin image variant `pack --format wasmplugin` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmPluginVariant {
    /// One gzip tar layer holding `/plugin.wasm` (every fetcher version reads it).
    Compat,
    /// The 2-layer OCI artifact: the raw module and its `application/vnd.module.wasm.config.v1+json`.
    Artifact,
}

/// The config of the OCI artifact variant (the Solo `wasme` shape; istio-agent ignores it).
pub const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";

/// Packs `module` as a WasmPlugin image named `reference` (the variant the istio-agent
/// fetcher reads, `image::fetcher`) and writes it to `out` as [`pack`] does.
pub fn pack_wasm_plugin(
    module: &Path,
    reference: &str,
    out: &Path,
    variant: WasmPluginVariant,
) -> Result<PackResult, String> {
    // Refuse a bad reference before reading a module of up to `module-bytes`.
    check_tag(reference)?;
    let module_bytes = read_bounded(module, Limits::default().max_blob, "module")?;
    pack_wasm_plugin_bytes(
        &module_bytes,
        &module.display().to_string(),
        reference,
        out,
        variant,
    )
}

/// [`pack_wasm_plugin`] for a module already in memory (`migrate` repackages SME images);
/// `label` names it in errors.
pub fn pack_wasm_plugin_bytes(
    module_bytes: &[u8],
    label: &str,
    reference: &str,
    out: &Path,
    variant: WasmPluginVariant,
) -> Result<PackResult, String> {
    check_tag(reference)?;
    if !super::fetcher::is_valid_wasm_binary(module_bytes) {
        return Err(format!(
            "`{label}` is not a Wasm binary (istio-agent checks for the 8-byte header starting with \\0asm)"
        ));
    }
    let info = crate::abi::analyze(module_bytes)
        .map_err(|e| format!("`{label}` is not a valid WebAssembly module: {e}"))?;
    match variant {
        WasmPluginVariant::Compat => {
            let layer_tar = tar_of(&[("plugin.wasm".to_string(), Some(module_bytes))])?;
            let layer = gzip(&layer_tar)?;
            let layer_desc = descriptor(json::OCI_LAYER_GZIP, &layer);
            let config = image_config(&layer_tar)?;
            let config_desc = descriptor(json::OCI_CONFIG, &config);
            write_image(
                out,
                reference,
                config_desc,
                &config,
                vec![(layer_desc, layer)],
            )
        }
        WasmPluginVariant::Artifact => {
            let abi: Vec<String> = info.abi.iter().map(|a| a.to_string()).collect();
            let config = serde_json::to_vec(&serde_json::json!({
                "type": "envoy_proxy",
                "abiVersions": abi,
                "rootIds": [],
            }))
            .map_err(|e| e.to_string())?;
            let config_desc = descriptor(WASM_CONFIG, &config);
            let wasm_desc = descriptor(json::WASM_ARTIFACT_LAYER, module_bytes);
            // istio-agent wants exactly two layers (`extractOCIArtifactImage`): the module and
            // the config, as its own tests build them.
            write_image(
                out,
                reference,
                config_desc.clone(),
                &config,
                vec![
                    (wasm_desc, module_bytes.to_vec()),
                    (config_desc, config.clone()),
                ],
            )
        }
    }
}

fn check_tag(reference: &str) -> Result<(), String> {
    let r = super::parse_reference(reference).map_err(|e| format!("--ref `{reference}`: {e}"))?;
    if r.digest.is_some() || r.tag.as_deref().is_none_or(str::is_empty) {
        return Err(format!(
            "--ref `{reference}` must name a tag (`quay.io/org/ext:1.0`), not a digest"
        ));
    }
    Ok(())
}

/// Writes one image (config plus layers, in order) named `reference` to `out`: an OCI archive
/// when `out` ends in `.tar`, else an OCI layout directory (an existing layout keeps its other
/// images; one with the same name is replaced).
fn write_image(
    out: &Path,
    reference: &str,
    config_desc: Descriptor,
    config: &[u8],
    layers: Vec<(Descriptor, Vec<u8>)>,
) -> Result<PackResult, String> {
    let image_manifest = Manifest {
        schema_version: 2,
        media_type: json::OCI_MANIFEST.into(),
        config: config_desc.clone(),
        layers: layers.iter().map(|(d, _)| d.clone()).collect(),
    };
    let manifest_json = serde_json::to_vec(&image_manifest).map_err(|e| e.to_string())?;
    let mut manifest_desc = descriptor(json::OCI_MANIFEST, &manifest_json);
    let result = PackResult {
        digest: manifest_desc.digest.clone(),
        reference: reference.to_string(),
        config_digest: config_desc.digest.clone(),
        layer_digest: layers
            .last()
            .map(|(d, _)| d.digest.clone())
            .unwrap_or_default(),
    };
    manifest_desc
        .annotations
        .insert(json::ANNOTATION_REF_NAME.into(), reference.into());

    let mut blobs: Vec<(String, &[u8])> = layers
        .iter()
        .map(|(d, b)| (d.digest.clone(), &b[..]))
        .collect();
    blobs.push((config_desc.digest.clone(), config));
    blobs.push((manifest_desc.digest.clone(), &manifest_json));
    blobs.sort();
    blobs.dedup();
    let is_archive = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tar"));
    let mut index = Index {
        schema_version: 2,
        media_type: json::OCI_INDEX.into(),
        manifests: Vec::new(),
    };
    // Never write through a symlink: refuse an output that holds one before reading or
    // writing anything in it (a pull request can plant `out/index.json -> ~/.bashrc`).
    refuse_symlinks(out, is_archive)?;
    if !is_archive {
        let index_path = out.join("index.json");
        // An existing index that cannot be read is an error, not silently replaced (it lists
        // the layout's other images).
        if std::fs::symlink_metadata(&index_path).is_ok() {
            let bytes = read_bounded(&index_path, Limits::default().max_json, "index.json")?;
            let old: Index = serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "`{}` exists but its index.json is malformed: {e}",
                    out.display()
                )
            })?;
            index.manifests = old.manifests;
        }
    }
    index.manifests.retain(|d| {
        d.annotations
            .get(json::ANNOTATION_REF_NAME)
            .map(String::as_str)
            != Some(reference)
    });
    index.manifests.push(manifest_desc);
    index.manifests.sort_by(|a, b| {
        a.annotations
            .get(json::ANNOTATION_REF_NAME)
            .cmp(&b.annotations.get(json::ANNOTATION_REF_NAME))
    });
    let index_json = serde_json::to_vec(&index).map_err(|e| e.to_string())?;
    let layout = serde_json::to_vec(&OciLayout {
        image_layout_version: "1.0.0".into(),
    })
    .map_err(|e| e.to_string())?;

    if is_archive {
        let mut files: Vec<(String, Option<&[u8]>)> =
            vec![("blobs".into(), None), ("blobs/sha256".into(), None)];
        let mut sorted = blobs.clone();
        sorted.sort();
        for (d, b) in &sorted {
            files.push((
                format!("blobs/sha256/{}", d.trim_start_matches("sha256:")),
                Some(b),
            ));
        }
        files.push(("index.json".into(), Some(&index_json)));
        files.push(("oci-layout".into(), Some(&layout)));
        let tar = tar_of(&files)?;
        write_no_follow(out, &tar)?;
    } else {
        create_dir_no_follow(out)?;
        let blobs_dir = out.join("blobs");
        create_dir_no_follow(&blobs_dir)?;
        let dir = blobs_dir.join("sha256");
        create_dir_no_follow(&dir)?;
        for (d, b) in &blobs {
            write_no_follow(&dir.join(d.trim_start_matches("sha256:")), b)?;
        }
        write_no_follow(&out.join("oci-layout"), &layout)?;
        write_no_follow(&out.join("index.json"), &index_json)?;
    }
    Ok(result)
}

fn symlink_error(p: &Path) -> String {
    format!(
        "refusing to write the output: `{}` is a symbolic link (meshext-lint never writes through links; remove it)",
        p.display()
    )
}

/// Errors when the output holds a symbolic link anywhere below `out` (or, for an archive, when
/// `out` itself is one). `out`'s own ancestors are the caller's choice and are not checked.
fn refuse_symlinks(out: &Path, is_archive: bool) -> Result<(), String> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read `{}`: {e}", out.display())),
    };
    if is_archive {
        return if meta.file_type().is_symlink() {
            Err(symlink_error(out))
        } else {
            Ok(())
        };
    }
    if !meta.is_dir() {
        return Ok(()); // create_dir_no_follow reports it
    }
    // Iterative walk with `symlink_metadata` (walkdir's default does not follow links either,
    // but an explicit stack keeps the check obvious and bounded by the tree, not the stack).
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let rd =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        for entry in rd {
            let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
            let path = entry.path();
            let ft = entry
                .file_type()
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            if ft.is_symlink() {
                return Err(symlink_error(&path));
            }
            if ft.is_dir() {
                stack.push(path);
            }
        }
    }
    Ok(())
}

/// Creates directory `p` unless it already is one; a symlink there (even dangling) is an error.
pub(crate) fn create_dir_no_follow(p: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_symlink() => Err(symlink_error(p)),
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!("cannot create `{}`: not a directory", p.display())),
        // `mkdir` never follows a link in its last component: a link planted since fails here.
        Err(_) => {
            std::fs::create_dir(p).map_err(|e| format!("cannot create `{}`: {e}", p.display()))
        }
    }
}

/// Writes `bytes` to `p` without following a symlink: the bytes go to a fresh file created with
/// `create_new` (O_CREAT|O_EXCL never follows links, dangling or not) beside `p`, which is then
/// renamed over `p` (rename replaces a link itself, never its target).
pub(crate) fn write_no_follow(p: &Path, bytes: &[u8]) -> Result<(), String> {
    let err = |e: std::io::Error| format!("cannot write `{}`: {e}", p.display());
    if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(symlink_error(p));
    }
    let name = p
        .file_name()
        .ok_or_else(|| format!("cannot write `{}`: no file name", p.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = p.with_file_name(tmp_name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| format!("cannot write `{}`: {e}", tmp.display()))?;
    let written = f.write_all(bytes);
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, p)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}
