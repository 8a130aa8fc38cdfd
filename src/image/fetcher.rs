//! The istio-agent WasmPlugin image fetcher, per version (`pkg/wasm/imagefetcher.go` and
//! `cache.go` of istio/istio and maistra/istio; docs/fidelity.md "Images (WasmPlugin)").
//!
//! [`fetch`] tells, for one image and one [`Fetcher`], which variant the fetcher reads and the
//! bytes it hands to Envoy, or why it fails. Facts only: `rules::images` judges them.
//!
//! What differs between versions:
//! - the compat variants (Docker and OCI) read exactly one layer on Istio 1.12–1.15 and OSSM
//!   2.2, the last of any number of layers from Istio 1.16 and on OSSM 2.3 (maistra/istio
//!   `maistra-2.3` carries the change on its 1.14 base);
//! - from 1.16 the compat tar stream is read through a 256 MiB `io.LimitReader`; from 1.30 the
//!   cap is `ISTIO_WASM_MAX_BINARY_SIZE_BYTES` (default 256 MiB) and also truncates an
//!   artifact module;
//! - from 1.14 (OSSM 2.3) a `@sha256:` digest in the URL is the expected checksum when the
//!   WasmPlugin has no `sha256` (`getEntry`); 1.12/1.13 only compare the `sha256` field.

use super::json::{DOCKER_MANIFEST, OCI_LAYER_GZIP, WASM_ARTIFACT_LAYER};
use super::{Image, LayerInfo, SourceFormat};
use crate::model::{IstioVersion, Mesh, MeshVersion};
use std::sync::Arc;

/// `types.DockerLayer` of go-containerregistry.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The compat tar read limit (1.16–1.29) and the default of `ISTIO_WASM_MAX_BINARY_SIZE_BYTES`
/// (1.30+).
pub const FETCH_CAP: u64 = 256 << 20;

/// One version's fetcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetcher {
    /// Compat variants require exactly one layer (else: the last layer is read).
    pub one_layer: bool,
    /// Bytes of the uncompressed compat tar stream read at most.
    pub tar_cap: Option<u64>,
    /// Bytes of an artifact module read at most (the rest is silently dropped).
    pub artifact_cap: Option<u64>,
    /// A `@sha256:` digest in the URL is the expected checksum when `sha256` is empty.
    pub url_digest_is_checksum: bool,
}

impl Fetcher {
    /// The fetcher of upstream Istio `istio` (OSSM 3.x ships upstream's), or of the OSSM 2.x
    /// build of it when `ossm` (only OSSM 2.3 differs from its Istio base).
    pub fn of(istio: IstioVersion, ossm: bool) -> Fetcher {
        let minor = if istio.major > 1 {
            u8::MAX
        } else {
            istio.minor
        };
        let ossm_2_3 = ossm && minor == 14;
        Fetcher {
            one_layer: minor < 16 && !ossm_2_3,
            tar_cap: (minor >= 16).then_some(FETCH_CAP),
            artifact_cap: (minor >= 30).then_some(FETCH_CAP),
            url_digest_is_checksum: minor >= 14,
        }
    }

    /// The fetcher of the mesh: its Istio release, built by OSSM when an SMCP (or
    /// `--mesh-version v2.x`) decides the version.
    pub fn for_mesh(mesh: &Mesh) -> Fetcher {
        let istio = mesh
            .istio
            .or_else(|| mesh.version.istio())
            .unwrap_or(IstioVersion::WASM_PLUGIN);
        let upstream = matches!(
            mesh.version_source,
            Some(crate::model::VersionSource::IstioCommandLine)
        ) || (mesh.control_planes.is_empty()
            && !mesh.istio_control_planes.is_empty());
        Fetcher::of(istio, mesh.version < MeshVersion::V3_0 && !upstream)
    }
}

/// Every fetcher a WasmPlugin image may meet, with its label: upstream Istio from 1.12 to the
/// newest release the tool knows, and the OSSM 2.3 build (the only OSSM one that differs).
pub fn targets() -> Vec<(String, Option<MeshVersion>, Fetcher)> {
    let mut out = Vec::new();
    for row in crate::model::version::istio_rows() {
        if row.istio < IstioVersion::WASM_PLUGIN {
            continue;
        }
        // OSSM 2.3 (Istio 1.14 base) reads like 1.16: listed there so outcomes group.
        if row.istio.minor == 16 {
            if let Some(base) = MeshVersion::V2_3.istio() {
                out.push((
                    "OSSM v2.3".to_string(),
                    Some(MeshVersion::V2_3),
                    Fetcher::of(base, true),
                ));
            }
        }
        let ossm = row.ossm.filter(|v| *v != MeshVersion::V2_3);
        out.push((
            format!("Istio {}", row.istio),
            ossm,
            Fetcher::of(row.istio, false),
        ));
    }
    out
}

/// The image variants of the Wasm image specification the fetcher reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// A Docker v2 manifest: `plugin.wasm` in a gzip tar layer (`extractDockerImage`).
    DockerCompat,
    /// An OCI manifest: `plugin.wasm` in a `tar+gzip` layer (`extractOCIStandardImage`).
    OciCompat,
    /// An OCI manifest with exactly 2 layers, one the raw module
    /// (`application/vnd.module.wasm.content.layer.v1+wasm`, `extractOCIArtifactImage`).
    OciArtifact,
}

impl Variant {
    pub fn label(self) -> &'static str {
        match self {
            Variant::DockerCompat => "Docker compat",
            Variant::OciCompat => "OCI compat",
            Variant::OciArtifact => "OCI artifact",
        }
    }
}

/// Why the fetch fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchProblemKind {
    /// No variant yields a module: layers, media types, `plugin.wasm`, the size cap, the index
    /// (MX406).
    Unfetchable,
    /// The bytes fetched fail the agent's `isValidWasmBinary` (MX407).
    NotWasm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchProblem {
    pub kind: FetchProblemKind,
    /// The fetcher's own reason, worded as its error.
    pub message: String,
}

/// What one version's fetcher does with an image.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// The variant that yielded the module.
    pub variant: Option<Variant>,
    /// The module as handed to Envoy (`None` when the fetch fails before the magic check).
    pub module: Option<Arc<[u8]>>,
    /// Where the module is in the image (`plugin.wasm` path or the artifact layer).
    pub module_path: Option<String>,
    pub problem: Option<FetchProblem>,
    /// Hex digest the fetcher compares `sha256` with (`img.Digest().Hex`): the manifest read.
    /// `None` when the store cannot know the registry's digest (docker-archive, directory).
    pub manifest_digest: Option<String>,
    /// The artifact module was cut at the size cap (the fetcher does not notice).
    pub truncated: bool,
    /// The fetcher reads another index child than the one the store read: not judged.
    pub other_child: Option<String>,
}

fn unfetchable(message: String) -> FetchProblem {
    FetchProblem {
        kind: FetchProblemKind::Unfetchable,
        message,
    }
}

/// `isValidWasmBinary` (`pkg/wasm/cache.go`): at least the 8-byte header, starting with the
/// magic `\0asm` (the version is not checked).
pub fn is_valid_wasm_binary(b: &[u8]) -> bool {
    b.len() >= 8 && b.starts_with(b"\0asm")
}

/// Compat extraction (`extractDockerImage` / `extractOCIStandardImage` then
/// `extractWasmPluginBinary`). `check_media` is false for images whose pushed media types
/// the store cannot see (docker-archive: `docker push` writes gzip Docker layers).
fn compat(
    layers: &[&LayerInfo],
    f: &Fetcher,
    want: &str,
    check_media: bool,
) -> Result<(Arc<[u8]>, String), String> {
    if f.one_layer && layers.len() != 1 {
        return Err(format!(
            "number of layers must be 1 but got {}",
            layers.len()
        ));
    }
    let Some(layer) = layers.last() else {
        return Err("number of layers must be greater than zero".into());
    };
    if check_media && layer.media_type != want {
        return Err(format!(
            "invalid media type {} (expect {want})",
            if layer.media_type.is_empty() {
                "(none)"
            } else {
                &layer.media_type
            }
        ));
    }
    if check_media && !layer.gzip {
        return Err(
            "could not extract wasm binary: failed to parse layer as tar.gz: gzip: invalid header"
                .into(),
        );
    }
    let Some(e) = &layer.first_plugin_wasm else {
        return Err("could not extract wasm binary: plugin.wasm not found in the archive".into());
    };
    if let Some(cap) = f.tar_cap {
        if e.data_end > cap {
            return Err(format!(
                "could not extract wasm binary: failed to read plugin.wasm: unexpected EOF (`{}` ends {} bytes into the layer, past the fetcher's {} MiB read limit)",
                e.name, e.data_end, cap >> 20
            ));
        }
    }
    let path = if e.kind == "file" {
        e.name.clone()
    } else {
        format!("{} ({}, read as 0 bytes)", e.name, e.kind)
    };
    Ok((e.bytes.clone(), path))
}

/// Artifact extraction (`extractOCIArtifactImage`).
fn artifact(layers: &[&LayerInfo], f: &Fetcher) -> Result<(Arc<[u8]>, String, bool), String> {
    if layers.len() != 2 {
        return Err(format!(
            "number of layers must be 2 but got {}",
            layers.len()
        ));
    }
    let Some((i, l)) = layers
        .iter()
        .enumerate()
        .find(|(_, l)| l.media_type == WASM_ARTIFACT_LAYER)
    else {
        return Err(format!(
            "could not find the layer of type {WASM_ARTIFACT_LAYER}"
        ));
    };
    let bytes = l.wasm_content.clone().unwrap_or_else(|| Arc::from(&[][..]));
    let path = format!("layer {} ({})", i + 1, l.digest);
    match f.artifact_cap {
        Some(cap) if bytes.len() as u64 > cap => {
            Ok((Arc::from(&bytes[..cap as usize]), path, true))
        }
        _ => Ok((bytes, path, false)),
    }
}

/// What fetcher `f` does with `image` (its manifest as the store read it).
pub fn fetch(image: &Image, f: &Fetcher) -> Fetch {
    let mut out = Fetch {
        variant: None,
        module: None,
        module_path: None,
        problem: None,
        manifest_digest: None,
        truncated: false,
        other_child: None,
    };
    match &image.fetcher_child {
        Some(None) => {
            out.problem = Some(unfetchable(format!(
                "could not fetch image: no child with platform linux/amd64 in index {}",
                image.index_digest.as_deref().unwrap_or("")
            )));
            return out;
        }
        Some(Some(d)) if *d != image.digest => {
            out.other_child = Some(d.clone());
            return out;
        }
        _ => {}
    }
    let layers: Vec<&LayerInfo> = image.layers.iter().collect();
    let result = match image.format {
        SourceFormat::RootDir => {
            // An unpacked root stands for the single-layer image built from it.
            let one: Vec<&LayerInfo> = layers.iter().take(1).copied().collect();
            let found = image.layers.first().and_then(|l| {
                l.plugin_wasm
                    .first()
                    .and_then(|p| image.files.file(p).ok().flatten().map(|b| (b, p.clone())))
            });
            match (one.len(), found) {
                (1, Some((b, p))) => Ok((Variant::OciCompat, b, p, false)),
                _ => Err(
                    "could not extract wasm binary: plugin.wasm not found in the archive"
                        .to_string(),
                ),
            }
        }
        SourceFormat::DockerArchive => compat(&layers, f, DOCKER_LAYER, false)
            .map(|(b, p)| (Variant::DockerCompat, b, p, false))
            .map_err(|e| {
                format!("could not extract Wasm file from the image as Docker container {e}")
            }),
        // `docker save` (Docker ≥ 25) writes an OCI layout of uncompressed layers; `docker
        // push` sends gzip Docker layers under a new manifest digest.
        _ if image.docker_save => compat(&layers, f, DOCKER_LAYER, false)
            .map(|(b, p)| (Variant::DockerCompat, b, p, false))
            .map_err(|e| {
                format!("could not extract Wasm file from the image as Docker container {e}")
            }),
        _ => {
            out.manifest_digest = image.digest.strip_prefix("sha256:").map(String::from);
            if image.manifest_media_type == DOCKER_MANIFEST {
                compat(&layers, f, DOCKER_LAYER, true)
                    .map(|(b, p)| (Variant::DockerCompat, b, p, false))
                    .map_err(|e| {
                        format!(
                            "could not extract Wasm file from the image as Docker container {e}"
                        )
                    })
            } else {
                match compat(&layers, f, OCI_LAYER_GZIP, true) {
                    Ok((b, p)) => Ok((Variant::OciCompat, b, p, false)),
                    Err(ec) => match artifact(&layers, f) {
                        Ok((b, p, t)) => Ok((Variant::OciArtifact, b, p, t)),
                        Err(ea) => Err(format!(
                            "the given image is in invalid format as an OCI image: could not parse as compat variant: {ec}; could not parse as oci variant: {ea}"
                        )),
                    },
                }
            }
        }
    };
    match result {
        Ok((variant, bytes, path, truncated)) => {
            out.variant = Some(variant);
            out.module_path = Some(path);
            out.truncated = truncated;
            if !is_valid_wasm_binary(&bytes) {
                out.problem = Some(FetchProblem {
                    kind: FetchProblemKind::NotWasm,
                    message: format!(
                        "the fetched binary is not WebAssembly: {}",
                        describe_bytes(&bytes)
                    ),
                });
            }
            out.module = Some(bytes);
        }
        Err(e) => out.problem = Some(unfetchable(e)),
    }
    out
}

/// A short description of bytes that are not a module, for messages.
fn describe_bytes(b: &[u8]) -> String {
    if b.is_empty() {
        return "it is empty".into();
    }
    if b.len() < 8 && b.starts_with(&b"\0asm"[..b.len().min(4)]) {
        return format!("{} bytes, shorter than the 8-byte header", b.len());
    }
    let head: String = b.iter().take(4).map(|x| format!("{x:02x} ")).collect();
    let kind = if b.starts_with(&[0x1f, 0x8b]) {
        " (a gzip stream)"
    } else if b.starts_with(b"(module") || b.starts_with(b";;") {
        " (WebAssembly text, not binary)"
    } else {
        ""
    };
    format!("it starts with {}instead of 00 61 73 6d{kind}", head)
}

/// `inspect`: per group of versions with the same outcome, a label and the outcome.
pub fn by_version(image: &Image) -> Vec<(String, Fetch)> {
    let mut groups: Vec<(Vec<String>, Vec<MeshVersion>, String, Fetch)> = Vec::new();
    for (label, ossm, f) in targets() {
        let r = fetch(image, &f);
        let key = format!(
            "{:?}|{:?}|{:?}|{}",
            r.variant,
            r.problem.as_ref().map(|p| &p.message),
            r.module_path,
            r.truncated
        );
        let ossm_label = label.starts_with("OSSM");
        match groups.last_mut() {
            Some(g) if g.2 == key => {
                if !ossm_label {
                    g.0.push(label);
                }
                g.1.extend(ossm);
            }
            _ => {
                let labels = if ossm_label { Vec::new() } else { vec![label] };
                groups.push((labels, ossm.into_iter().collect(), key, r));
            }
        }
    }
    groups
        .into_iter()
        .map(|(labels, ossm, _, r)| {
            let istio = match (labels.first(), labels.last()) {
                (Some(a), Some(b)) if a == b => a.clone(),
                (Some(a), Some(b)) => format!("{a}–{}", b.trim_start_matches("Istio ")),
                _ => String::new(),
            };
            let ossm: Vec<String> = ossm.iter().map(|v| v.to_string()).collect();
            let ossm = match ossm.len() {
                0 => String::new(),
                1 => format!("OSSM {}", ossm[0]),
                _ => format!("OSSM {}–{}", ossm[0], ossm[ossm.len() - 1]),
            };
            let label = match (istio.is_empty(), ossm.is_empty()) {
                (false, false) => format!("{istio} ({ossm})"),
                (false, true) => istio,
                _ => ossm,
            };
            (label, r)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::fs::{FileTree, PluginWasmEntry};
    use crate::image::json::OCI_MANIFEST;

    const WASM: &[u8] = b"\0asm\x01\0\0\0";

    fn ist(s: &str) -> IstioVersion {
        IstioVersion::parse(s).unwrap()
    }

    fn tar_layer(media: &str, plugin: Option<(&str, &'static str, &[u8], u64)>) -> LayerInfo {
        LayerInfo {
            digest: "sha256:l".into(),
            media_type: media.into(),
            size: 1,
            uncompressed_size: 1,
            applied: true,
            plugin_wasm: Vec::new(),
            first_plugin_wasm: plugin.map(|(name, kind, b, end)| PluginWasmEntry {
                name: name.into(),
                kind,
                bytes: b.into(),
                data_end: end,
            }),
            gzip: true,
            wasm_content: None,
        }
    }

    fn wasm_layer(media: &str, bytes: &[u8]) -> LayerInfo {
        LayerInfo {
            applied: false,
            gzip: false,
            wasm_content: (media == WASM_ARTIFACT_LAYER).then(|| bytes.into()),
            ..tar_layer(media, None)
        }
    }

    fn image(manifest: &str, layers: Vec<LayerInfo>) -> Image {
        let mut i = Image::unpacked("r/x:1", FileTree::default());
        i.format = SourceFormat::OciLayout;
        i.digest = format!("sha256:{}", "d".repeat(64));
        i.manifest_media_type = manifest.into();
        i.layers = layers;
        i
    }

    fn plugin_layer() -> LayerInfo {
        tar_layer(OCI_LAYER_GZIP, Some(("./plugin.wasm", "file", WASM, 1024)))
    }

    #[test]
    fn base_names_follow_go_filepath_base() {
        use crate::image::fs::go_base;
        assert_eq!(go_base("./plugin.wasm"), "plugin.wasm");
        assert_eq!(go_base("a/b/plugin.wasm/"), "plugin.wasm");
        assert_eq!(go_base("plugin.wasm.bak"), "plugin.wasm.bak");
        assert_eq!(go_base("///"), "/");
        assert_eq!(go_base(""), ".");
    }

    #[test]
    fn versions_map_to_their_fetcher() {
        let f12 = Fetcher::of(ist("1.12"), true);
        assert!(f12.one_layer && f12.tar_cap.is_none() && !f12.url_digest_is_checksum);
        // Upstream 1.14 reads one layer; OSSM 2.3's build of it the last one.
        assert!(Fetcher::of(ist("1.14"), false).one_layer);
        let o23 = Fetcher::of(ist("1.14"), true);
        assert!(!o23.one_layer && o23.tar_cap.is_none() && o23.url_digest_is_checksum);
        let f16 = Fetcher::of(ist("1.16"), false);
        assert_eq!(
            (f16.one_layer, f16.tar_cap, f16.artifact_cap),
            (false, Some(FETCH_CAP), None)
        );
        assert_eq!(
            Fetcher::of(ist("1.30"), false).artifact_cap,
            Some(FETCH_CAP)
        );
    }

    #[test]
    fn compat_reads_one_layer_before_1_16_and_the_last_after() {
        let two = image(
            OCI_MANIFEST,
            vec![tar_layer(OCI_LAYER_GZIP, None), plugin_layer()],
        );
        let old = fetch(&two, &Fetcher::of(ist("1.12"), true));
        let p = old.problem.unwrap();
        assert_eq!(p.kind, FetchProblemKind::Unfetchable);
        assert!(
            p.message.contains("number of layers must be 1 but got 2"),
            "{}",
            p.message
        );
        assert!(
            p.message.contains("could not find the layer of type"),
            "{}",
            p.message
        );
        let new = fetch(&two, &Fetcher::of(ist("1.16"), false));
        assert_eq!(new.variant, Some(Variant::OciCompat));
        assert!(new.problem.is_none());
        assert_eq!(new.module.as_deref(), Some(WASM));
        assert_eq!(new.manifest_digest.as_deref(), Some(&"d".repeat(64)[..]));
        // plugin.wasm only in the first of two layers: the last is read.
        let first = image(
            OCI_MANIFEST,
            vec![plugin_layer(), tar_layer(OCI_LAYER_GZIP, None)],
        );
        let r = fetch(&first, &Fetcher::of(ist("1.20"), false));
        assert!(r
            .problem
            .unwrap()
            .message
            .contains("plugin.wasm not found in the archive"));
    }

    #[test]
    fn media_types_gzip_and_the_cap_decide() {
        let f = Fetcher::of(ist("1.20"), false);
        // A Docker manifest wants the Docker layer type and never tries the artifact.
        let d = image(DOCKER_MANIFEST, vec![plugin_layer()]);
        let m = fetch(&d, &f).problem.unwrap().message;
        assert!(m.contains("as Docker container invalid media type application/vnd.oci.image.layer.v1.tar+gzip"), "{m}");
        let mut plain = plugin_layer();
        plain.gzip = false;
        let m = fetch(&image(OCI_MANIFEST, vec![plain]), &f)
            .problem
            .unwrap()
            .message;
        assert!(m.contains("failed to parse layer as tar.gz"), "{m}");
        let big = tar_layer(
            OCI_LAYER_GZIP,
            Some(("plugin.wasm", "file", WASM, FETCH_CAP + 1)),
        );
        let m = fetch(&image(OCI_MANIFEST, vec![big.clone()]), &f)
            .problem
            .unwrap()
            .message;
        assert!(m.contains("unexpected EOF"), "{m}");
        // Without a cap (OSSM 2.3) the same layer is read.
        assert!(fetch(
            &image(OCI_MANIFEST, vec![big]),
            &Fetcher::of(ist("1.14"), true)
        )
        .problem
        .is_none());
        // A directory named plugin.wasm is read as nothing: the magic check fails.
        let dir = tar_layer(
            OCI_LAYER_GZIP,
            Some(("x/plugin.wasm/", "directory", b"", 512)),
        );
        let r = fetch(&image(OCI_MANIFEST, vec![dir]), &f);
        assert_eq!(r.problem.unwrap().kind, FetchProblemKind::NotWasm);
    }

    #[test]
    fn the_artifact_needs_exactly_two_layers() {
        let f = Fetcher::of(ist("1.12"), true);
        let art = image(
            OCI_MANIFEST,
            vec![
                wasm_layer(WASM_ARTIFACT_LAYER, WASM),
                wasm_layer("application/vnd.module.wasm.config.v1+json", b"{}"),
            ],
        );
        let r = fetch(&art, &f);
        assert_eq!((r.variant, r.problem), (Some(Variant::OciArtifact), None));
        // wasm-to-oci's single layer of another type: both variants fail, as istio's test says.
        let w2o = image(
            OCI_MANIFEST,
            vec![wasm_layer(
                "application/vnd.wasm.content.layer.v1+wasm",
                WASM,
            )],
        );
        let m = fetch(&w2o, &f).problem.unwrap().message;
        assert!(
            m.ends_with("could not parse as oci variant: number of layers must be 2 but got 1"),
            "{m}"
        );
        // Not Wasm: an HTML page.
        let html = image(
            OCI_MANIFEST,
            vec![
                wasm_layer(WASM_ARTIFACT_LAYER, b"<html>.."),
                wasm_layer("x", b""),
            ],
        );
        let p = fetch(&html, &f).problem.unwrap();
        assert_eq!(p.kind, FetchProblemKind::NotWasm);
        assert!(p.message.contains("3c 68 74 6d"), "{}", p.message);
    }

    #[test]
    fn an_index_without_linux_amd64_is_not_fetched() {
        let mut i = image(OCI_MANIFEST, vec![plugin_layer()]);
        i.index_digest = Some("sha256:i".into());
        i.fetcher_child = Some(None);
        let m = fetch(&i, &Fetcher::of(ist("1.24"), false))
            .problem
            .unwrap()
            .message;
        assert!(m.contains("no child with platform linux/amd64"), "{m}");
        i.fetcher_child = Some(Some("sha256:other".into()));
        let r = fetch(&i, &Fetcher::of(ist("1.24"), false));
        assert_eq!(
            (r.problem, r.other_child.as_deref()),
            (None, Some("sha256:other"))
        );
    }

    #[test]
    fn inspect_groups_versions_by_outcome() {
        let two = image(
            OCI_MANIFEST,
            vec![tar_layer(OCI_LAYER_GZIP, None), plugin_layer()],
        );
        let groups: Vec<(String, bool)> = by_version(&two)
            .into_iter()
            .map(|(l, r)| (l, r.problem.is_none()))
            .collect();
        assert_eq!(
            groups[0],
            ("Istio 1.12–1.15 (OSSM v2.2)".to_string(), false)
        );
        assert!(
            groups[1].0.starts_with("Istio 1.16–1.") && groups[1].0.contains("(OSSM v2.3–v3."),
            "{groups:?}"
        );
        assert!(groups[1].1);
        assert_eq!(groups.len(), 2);
    }
}
