//! Pulled extension images, read offline and in memory.
//!
//! Sources (`--images PATH`, repeatable), told apart by content:
//! - an OCI image layout directory (`oci-layout`, `index.json`, `blobs/`), any number of images;
//! - an OCI archive (a `.tar` of a layout);
//! - a docker-archive (`docker save`, `skopeo copy … docker-archive:F`): `manifest.json` with
//!   `RepoTags`; a `docker save` of Docker ≥ 25 is also a layout and is read as one;
//! - a plain directory holding an unpacked image root (`manifest.yaml` + module), for local
//!   development. Name it with `REF=DIR`; an unnamed one answers any reference no other source
//!   has, as long as it is the only unnamed one.
//!
//! A reference (`spec.image`) resolves, in this order, to:
//! 1. for `…@sha256:D`, the image whose manifest (or top-level index) digest is `D`, whatever
//!    its name;
//! 2. an image named exactly the reference by `org.opencontainers.image.ref.name`,
//!    `io.containerd.image.name`, `RepoTags` or `REF=DIR`, after Docker-style normalisation
//!    (`acme/ext:1` = `docker.io/acme/ext:1`);
//! 3. an image whose `ref.name` is only a tag (`skopeo copy … oci:DIR:1.0`) equal to the
//!    reference's tag, when exactly one image in all sources has that tag-only name (several →
//!    an "ambiguous" MX401: we cannot tell which repository each came from);
//! 4. the single unnamed plain directory.
//!
//! Image indexes (multi-arch) are followed: `linux/amd64` is preferred, else the first entry
//! that is not an attestation. Every blob is checked against its descriptor's size and sha256;
//! layers (tar, tar+gzip) are applied in order with whiteouts into a [`fs::FileTree`] held in
//! memory, bounded by [`Limits`]; the tar's uncompressed digest is compared with the config's
//! `diff_ids`. Hostile input (path traversal, symlinks leaving the root, decompression bombs,
//! missing blobs, digest or size mismatch, malformed JSON, truncated tars) gives an
//! [`ImageError`], never a panic or a write to disk.
//!
//! API for callers (the caller runs images in parallel with rayon; the store caches per digest,
//! so resolving many references to one image reads it once):
//! - [`ImageStore::open`]`(&[PathBuf]) -> (ImageStore, Vec<ImageError>)` (one per bad source);
//! - [`ImageStore::resolve`]`(&self, reference) -> Option<Result<Arc<Image>, ImageError>>`
//!   (`None` = not pulled);
//! - [`ImageStore::images`] lists what the sources hold; [`ImageStore::load`] reads one;
//! - [`read_extension`]`(&Image) -> ExtensionPackage` reads `/manifest.yaml` and the
//!   module into facts and [`ManifestProblem`]s; [`Image::plugin_wasm`] reads the WasmPlugin variants;
//! - [`parse_reference`] is the control plane's reference grammar (also for MX303);
//! - [`pack::pack`] writes an extension image as an OCI layout or OCI archive.

mod backing;
pub mod extension;
pub mod fetcher;
pub mod fs;
pub mod json;
pub mod pack;
pub mod reference;
mod store;
mod tar_guard;

pub use crate::model::PHASES;
pub use backing::sha256_hex;
pub use extension::{
    read_extension, read_extension_as, ExtensionPackage, Manifest, ManifestProblem,
    ManifestProblemKind,
};
pub use reference::{parse_reference, ImageRef};
pub use store::{source_missing, ImageInfo, ImageStore};

use std::path::PathBuf;
use std::sync::Arc;

/// Largest JSON document read (index, manifest, config, `manifest.json`).
pub const MAX_JSON_BYTES: u64 = 4 << 20;
/// Largest blob or layer file read (compressed size): the bound on any module file.
pub const MAX_BLOB_BYTES: u64 = crate::load::read::MAX_MODULE_BYTES;
/// Most bytes of uncompressed layer data read for one image, all layers together (the
/// WasmPlugin fetcher caps its tar read at 256 MiB too).
pub const MAX_UNCOMPRESSED_BYTES: u64 = 256 << 20;
/// Most entries in one layer and in the merged filesystem of one image.
pub const MAX_FILES: usize = 100_000;

/// Bounds for reading images; defaults are the run's budgets (`crate::limits`, initially the
/// constants above). Tests shrink them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_json: u64,
    pub max_blob: u64,
    pub max_uncompressed: u64,
    pub max_files: usize,
    /// Most layers in one manifest (Docker and overlayfs stop at 127/128).
    pub max_layers: usize,
    /// Longest path of a layer entry, bytes (PATH_MAX).
    pub max_path: usize,
    /// Largest tar extension header (GNU long name / long link, PAX), which the tar reader
    /// buffers whole.
    pub max_tar_header: u64,
}

impl Default for Limits {
    fn default() -> Self {
        use crate::limits::{get, get_usize, Limit};
        Limits {
            max_json: get(Limit::ImageJsonBytes),
            max_blob: get(Limit::ModuleBytes),
            max_uncompressed: get(Limit::ImageUncompressedBytes),
            max_files: get_usize(Limit::ImageFiles),
            max_layers: get_usize(Limit::ImageLayers),
            max_path: get_usize(Limit::ImagePathBytes),
            max_tar_header: get(Limit::ImageTarHeaderBytes),
        }
    }
}

/// How a source stores its images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    OciLayout,
    OciArchive,
    DockerArchive,
    RootDir,
}

/// What an image holds, for the SME cacher and the WasmPlugin fetcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// `/manifest.yaml` at the root (ServiceMeshExtension image).
    SmeImage,
    /// No manifest.yaml; the last layer holds a `plugin.wasm` (WasmPlugin "compat" variant).
    WasmPluginCompat,
    /// A layer of type `application/vnd.module.wasm.content.layer.v1+wasm` (WasmPlugin "artifact").
    WasmPluginArtifact,
    /// None of these.
    Other,
}

#[derive(Debug, Clone)]
pub struct LayerInfo {
    pub digest: String,
    pub media_type: String,
    /// Compressed size (as stored).
    pub size: u64,
    /// Uncompressed tar size; 0 for layers that are not tars.
    pub uncompressed_size: u64,
    /// Whether the layer was applied to the filesystem as a tar.
    pub applied: bool,
    /// `plugin.wasm` files this layer adds (paths relative to the root).
    pub plugin_wasm: Vec<String>,
    /// The first tar entry named `plugin.wasm` (what the WasmPlugin fetcher takes).
    pub first_plugin_wasm: Option<fs::PluginWasmEntry>,
    /// Whether the blob is gzip-compressed.
    pub gzip: bool,
    /// The raw bytes of a `application/vnd.module.wasm.content.layer.v1+wasm` layer.
    pub wasm_content: Option<Arc<[u8]>>,
}

/// One image, read and verified.
#[derive(Debug)]
pub struct Image {
    /// The name used in locations (`REF!/manifest.yaml`): its first stored name, or the digest.
    pub reference: String,
    /// Every name the source gives it.
    pub names: Vec<String>,
    /// Manifest digest (`sha256:…`). For a docker-archive: the config digest (the image ID);
    /// for a plain directory: a content hash of its files.
    pub digest: String,
    /// The index digest when the image was reached through a (multi-arch) index.
    pub index_digest: Option<String>,
    /// Reached through an index: the child go-containerregistry resolves for the WasmPlugin
    /// fetcher (the first whose platform is linux/amd64 or absent), `None` when no child
    /// matches. `Some(d)` with `d != digest` means the fetcher reads another manifest.
    pub fetcher_child: Option<Option<String>>,
    pub source: PathBuf,
    pub format: SourceFormat,
    /// An OCI layout/archive that also has a `manifest.json`: `docker save` (Docker ≥ 25),
    /// whose layers are stored uncompressed and recompressed by `docker push`.
    pub docker_save: bool,
    pub manifest_media_type: String,
    pub config_media_type: String,
    pub layers: Vec<LayerInfo>,
    /// The merged filesystem.
    pub files: fs::FileTree,
    pub kind: ImageKind,
    /// The raw module of a WasmPlugin artifact image.
    artifact_wasm: Option<Arc<[u8]>>,
}

impl Image {
    /// An unpacked image of one applied layer holding `files`, as `REF=DIR` gives (no
    /// digests): what `pack` checks before writing, and what tests build.
    pub(crate) fn unpacked(reference: &str, files: fs::FileTree) -> Image {
        Image {
            reference: reference.into(),
            names: vec![reference.into()],
            digest: String::new(),
            index_digest: None,
            fetcher_child: None,
            source: Default::default(),
            format: SourceFormat::RootDir,
            docker_save: false,
            manifest_media_type: String::new(),
            config_media_type: String::new(),
            layers: vec![LayerInfo {
                digest: String::new(),
                media_type: String::new(),
                size: 0,
                uncompressed_size: 0,
                applied: true,
                plugin_wasm: Vec::new(),
                first_plugin_wasm: None,
                gzip: false,
                wasm_content: None,
            }],
            files,
            kind: ImageKind::SmeImage,
            artifact_wasm: None,
        }
    }

    /// The location name of a file inside the image: `quay.io/acme/ext:1.0!/manifest.yaml`.
    pub fn location_name(&self, path: &str) -> String {
        format!("{}!/{}", self.reference, path.trim_start_matches('/'))
    }

    /// The content of a regular file (symlinks followed inside the root).
    pub fn file(&self, path: &str) -> Result<Option<Arc<[u8]>>, String> {
        self.files.file(path)
    }

    /// The module as the Istio WasmPlugin fetcher finds it: the artifact layer, else a
    /// `plugin.wasm` in the last layer (Istio ≥ 1.16 / OSSM 2.3; OSSM 2.2 requires exactly one
    /// layer). `None` for other images.
    pub fn plugin_wasm(&self) -> Option<Arc<[u8]>> {
        if let Some(w) = &self.artifact_wasm {
            return Some(w.clone());
        }
        let last = self.layers.iter().rev().find(|l| l.applied)?;
        last.plugin_wasm
            .iter()
            .find_map(|p| self.files.file(p).ok().flatten())
    }
}

/// Why an image could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageErrorKind {
    /// Several images answer the reference (MX401).
    Ambiguous,
    /// The image is unreadable or corrupt (MX402).
    Corrupt,
    /// An `--images` source is unreadable (MX402, located at the source).
    Source,
}

/// Why an image (or an `--images` source) could not be read; `rules::images` judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageError {
    pub kind: ImageErrorKind,
    /// The source the image comes from (path as given).
    pub source: String,
    pub message: String,
}

impl ImageError {
    pub(crate) fn corrupt(source: &str, message: impl Into<String>) -> ImageError {
        ImageError {
            kind: ImageErrorKind::Corrupt,
            source: source.to_string(),
            message: message.into(),
        }
    }
}
