//! The image store: sources opened once, a catalogue of names, images read lazily and
//! cached per digest (safe to share between rayon threads).

use super::backing::{digest_hex, parse_json, read_json, sha256_hex, Backing};
use super::fs::{check_symlink, Budget, FileTree, Node, Pool};
use super::json::{self, AnyManifest, Config, Descriptor, DockerArchiveEntry, Index, OciLayout};
use super::reference::{is_tag_only, normalize, parse_reference};
use super::{Image, ImageError, ImageErrorKind, ImageKind, LayerInfo, Limits, SourceFormat};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Debug)]
struct Source {
    display: String,
    path: PathBuf,
    format: SourceFormat,
    backing: Option<Backing>,
}

#[derive(Debug, Clone)]
enum Target {
    Oci(Descriptor),
    Docker(usize),
    Root,
}

/// One image a source lists (read lazily by [`ImageStore::load`]).
#[derive(Debug, Clone)]
pub struct ImageInfo {
    /// Full names (`quay.io/acme/ext:1.0`) as stored.
    pub names: Vec<String>,
    /// Tag-only `ref.name`s (`1.0`).
    pub tags: Vec<String>,
    /// Digest of the top-level descriptor (manifest or index), when known without reading it.
    pub digest: Option<String>,
    /// Manifest digests listed by a top-level index.
    pub child_digests: Vec<String>,
    pub source: PathBuf,
    pub format: SourceFormat,
    normalized: Vec<String>,
    source_idx: usize,
    target: Target,
}

type Slot = Arc<OnceLock<Result<Arc<Image>, ImageError>>>;

#[derive(Debug, Default)]
pub struct ImageStore {
    sources: Vec<Source>,
    infos: Vec<ImageInfo>,
    limits: Limits,
    cache: Mutex<HashMap<String, Slot>>,
    /// File contents of every image read, shared by content.
    pool: Arc<Pool>,
}

/// `REF=DIR`: an image reference naming a plain image root directory.
fn named_root(text: &str) -> Option<(&str, &str)> {
    text.split_once('=')
        .filter(|(r, dir)| parse_reference(r).is_ok() && Path::new(dir).is_dir())
}

/// Whether `--images` source `p` is missing: neither an existing path nor `REF=DIR` with an
/// existing directory. The store reports such a source as unreadable; the CLI stops first.
pub fn source_missing(p: &Path) -> bool {
    !p.exists() && named_root(&p.to_string_lossy()).is_none()
}

impl ImageStore {
    /// Opens `--images` sources with the default [`Limits`]. Each unreadable source gives an
    /// [`ImageErrorKind::Source`] error.
    pub fn open(sources: &[PathBuf]) -> (ImageStore, Vec<ImageError>) {
        Self::open_with_limits(sources, Limits::default())
    }

    pub fn open_with_limits(sources: &[PathBuf], limits: Limits) -> (ImageStore, Vec<ImageError>) {
        let mut store = ImageStore {
            limits,
            ..Default::default()
        };
        let mut diags = Vec::new();
        for p in sources {
            let display = p.display().to_string();
            if let Err(e) = store.add_source(p) {
                diags.push(ImageError {
                    kind: ImageErrorKind::Source,
                    message: format!("cannot read image source `{display}`: {e}"),
                    source: display,
                });
            }
        }
        (store, diags)
    }

    fn add_source(&mut self, p: &Path) -> Result<(), String> {
        let idx = self.sources.len();
        let text = p.to_string_lossy();
        if !p.exists() {
            return match named_root(&text) {
                Some((r, dir)) => {
                    self.push_root(idx, Path::new(dir), vec![r.to_string()]);
                    Ok(())
                }
                None => Err("no such file or directory".into()),
            };
        }
        let src = if p.is_dir() {
            if p.join("oci-layout").is_file() || p.join("index.json").is_file() {
                self.new_source(p, SourceFormat::OciLayout, Backing::Dir(p.to_path_buf()))
            } else if p.join("manifest.yaml").exists() || p.join("plugin.wasm").exists() {
                self.push_root(idx, p, Vec::new());
                return Ok(());
            } else {
                return Err("a directory that is neither an OCI layout (`oci-layout`, `index.json`) nor an image root (`manifest.yaml`)".into());
            }
        } else {
            let b = Backing::archive(p)?;
            if b.exists("index.json") {
                self.new_source(p, SourceFormat::OciArchive, b)
            } else if b.exists("manifest.json") {
                self.new_source(p, SourceFormat::DockerArchive, b)
            } else {
                return Err("an archive with neither `index.json` (OCI archive) nor `manifest.json` (docker-archive)".into());
            }
        };
        let infos = match src.format {
            SourceFormat::DockerArchive => self.docker_infos(idx, &src)?,
            _ => self.oci_infos(idx, &src)?,
        };
        self.sources.push(src);
        self.infos.extend(infos);
        Ok(())
    }

    fn new_source(&self, p: &Path, format: SourceFormat, backing: Backing) -> Source {
        Source {
            display: p.display().to_string(),
            path: p.to_path_buf(),
            format,
            backing: Some(backing),
        }
    }

    fn push_root(&mut self, idx: usize, dir: &Path, names: Vec<String>) {
        let display = dir.display().to_string();
        self.sources.push(Source {
            display,
            path: dir.to_path_buf(),
            format: SourceFormat::RootDir,
            backing: None,
        });
        self.infos.push(ImageInfo {
            normalized: names.iter().map(|n| normalize(n)).collect(),
            names,
            tags: Vec::new(),
            digest: None,
            child_digests: Vec::new(),
            source: dir.to_path_buf(),
            format: SourceFormat::RootDir,
            source_idx: idx,
            target: Target::Root,
        });
    }

    fn oci_infos(&self, idx: usize, src: &Source) -> Result<Vec<ImageInfo>, String> {
        let b = src.backing.as_ref().ok_or("no backing")?;
        if b.exists("oci-layout") {
            let layout: Option<OciLayout> = read_json(b, "oci-layout", &self.limits)?;
            if let Some(l) = layout {
                if !l.image_layout_version.starts_with("1.") {
                    return Err(format!(
                        "unsupported imageLayoutVersion `{}`",
                        l.image_layout_version
                    ));
                }
            }
        }
        let index: Index =
            read_json(b, "index.json", &self.limits)?.ok_or("`index.json` is missing")?;
        let max = crate::limits::get_usize(crate::limits::Limit::ImagesPerSource);
        if index.manifests.len() > max {
            return Err(format!(
                "more than {max} images (bound; --limit images-per-source=N)"
            ));
        }
        let mut out = Vec::new();
        for d in index.manifests {
            digest_hex(&d.digest).map_err(|e| format!("`index.json`: {e}"))?;
            let mut names = Vec::new();
            let mut tags = Vec::new();
            for key in [json::ANNOTATION_REF_NAME, json::ANNOTATION_CONTAINERD_NAME] {
                if let Some(n) = d.annotations.get(key) {
                    if key == json::ANNOTATION_REF_NAME && is_tag_only(n) {
                        tags.push(n.clone());
                    } else if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
            // Children of an index, so `@sha256:` references to a platform manifest resolve.
            let mut child_digests = Vec::new();
            if matches!(d.media_type.as_str(), json::OCI_INDEX | json::DOCKER_LIST) {
                if let Ok(bytes) = b.blob(&d.digest, d.size, self.limits.max_json) {
                    if let Ok(i) = parse_json::<Index>(&bytes, "index") {
                        child_digests = i.manifests.into_iter().map(|c| c.digest).collect();
                    }
                }
            }
            out.push(ImageInfo {
                normalized: names.iter().map(|n| normalize(n)).collect(),
                names,
                tags,
                digest: Some(d.digest.clone()),
                child_digests,
                source: src.path.clone(),
                format: src.format,
                source_idx: idx,
                target: Target::Oci(d),
            });
        }
        Ok(out)
    }

    fn docker_infos(&self, idx: usize, src: &Source) -> Result<Vec<ImageInfo>, String> {
        let b = src.backing.as_ref().ok_or("no backing")?;
        let entries: Vec<DockerArchiveEntry> =
            read_json(b, "manifest.json", &self.limits)?.ok_or("`manifest.json` is missing")?;
        let max = crate::limits::get_usize(crate::limits::Limit::ImagesPerSource);
        if entries.len() > max {
            return Err(format!(
                "more than {max} images (bound; --limit images-per-source=N)"
            ));
        }
        Ok(entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let names = e.repo_tags.clone().unwrap_or_default();
                ImageInfo {
                    normalized: names.iter().map(|n| normalize(n)).collect(),
                    names,
                    tags: Vec::new(),
                    digest: path_digest(&e.config),
                    child_digests: Vec::new(),
                    source: src.path.clone(),
                    format: src.format,
                    source_idx: idx,
                    target: Target::Docker(i),
                }
            })
            .collect())
    }

    /// Every image the sources list, in source order.
    pub fn images(&self) -> &[ImageInfo] {
        &self.infos
    }

    /// Finds the image for an SME reference (see the module docs for the order). `None` means
    /// no source holds it (MX401); `Some(Err)` means it is there but unreadable (MX402) or the
    /// reference is ambiguous (MX401).
    pub fn resolve(&self, reference: &str) -> Option<Result<Arc<Image>, ImageError>> {
        let reference = reference.trim();
        if let Some((_, digest)) = reference.split_once('@') {
            let hit = self.infos.iter().find(|i| {
                i.digest.as_deref() == Some(digest) || i.child_digests.iter().any(|c| c == digest)
            });
            return hit.map(|i| self.load(i));
        }
        let norm = normalize(reference);
        if let Some(i) = self.infos.iter().find(|i| i.normalized.contains(&norm)) {
            return Some(self.load(i));
        }
        if let Ok(r) = parse_reference(reference) {
            if let Some(tag) = r.tag {
                let mut hits: Vec<&ImageInfo> = self
                    .infos
                    .iter()
                    .filter(|i| i.tags.contains(&tag))
                    .collect();
                hits.sort_by(|a, b| a.digest.cmp(&b.digest));
                hits.dedup_by(|a, b| a.digest == b.digest);
                match hits.len() {
                    0 => {}
                    1 => return Some(self.load(hits[0])),
                    n => {
                        let sources: Vec<String> = hits
                            .iter()
                            .map(|h| h.source.display().to_string())
                            .collect();
                        return Some(Err(ImageError {
                            kind: ImageErrorKind::Ambiguous,
                            source: sources[0].clone(),
                            message: format!(
                                "`{reference}` is ambiguous: {n} images are named only by the tag `{tag}` ({})",
                                sources.join(", ")
                            ),
                        }));
                    }
                }
            }
        }
        let roots: Vec<&ImageInfo> = self
            .infos
            .iter()
            .filter(|i| matches!(i.target, Target::Root) && i.names.is_empty())
            .collect();
        if roots.len() == 1 {
            return Some(self.load(roots[0]));
        }
        None
    }

    /// Reads one listed image (cached: each digest is read once, even from several threads).
    pub fn load(&self, info: &ImageInfo) -> Result<Arc<Image>, ImageError> {
        let key = match (&info.target, &info.digest) {
            (Target::Oci(d), _) => d.digest.clone(),
            (Target::Docker(i), Some(d)) => format!("{d}#docker{i}"),
            (Target::Docker(i), None) => format!("{}#docker{i}", info.source.display()),
            (Target::Root, _) => format!("{}#root", info.source.display()),
        };
        let slot = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.entry(key).or_default().clone()
        };
        slot.get_or_init(|| {
            let src = &self.sources[info.source_idx];
            self.read(src, info).map(Arc::new).map_err(|e| {
                ImageError::corrupt(&src.display, format!("image {}: {e}", display_name(info)))
            })
        })
        .clone()
    }

    fn read(&self, src: &Source, info: &ImageInfo) -> Result<Image, String> {
        let mut image = Image {
            reference: display_name(info),
            names: info.names.clone(),
            digest: String::new(),
            index_digest: None,
            fetcher_child: None,
            source: src.path.clone(),
            format: src.format,
            docker_save: matches!(
                src.format,
                SourceFormat::OciLayout | SourceFormat::OciArchive
            ) && src
                .backing
                .as_ref()
                .is_some_and(|b| b.exists("manifest.json")),
            manifest_media_type: String::new(),
            config_media_type: String::new(),
            layers: Vec::new(),
            files: FileTree::default(),
            kind: ImageKind::Other,
            artifact_wasm: None,
        };
        match &info.target {
            Target::Oci(d) => {
                self.read_oci(src.backing.as_ref().ok_or("no backing")?, d, &mut image)?
            }
            Target::Docker(i) => self.read_docker(src, *i, &mut image)?,
            Target::Root => self.read_root(&src.path, &mut image)?,
        }
        image.kind = if image.artifact_wasm.is_some() {
            ImageKind::WasmPluginArtifact
        } else if matches!(image.files.file("/manifest.yaml"), Ok(Some(_))) {
            ImageKind::SmeImage
        } else if image.plugin_wasm().is_some() {
            ImageKind::WasmPluginCompat
        } else {
            ImageKind::Other
        };
        Ok(image)
    }

    fn read_oci(&self, b: &Backing, top: &Descriptor, image: &mut Image) -> Result<(), String> {
        let mut desc = top.clone();
        let max_depth = crate::limits::get_usize(crate::limits::Limit::ImageIndexDepth);
        for depth in 0..=max_depth {
            let bytes = b.blob(&desc.digest, desc.size, self.limits.max_json)?;
            let any: AnyManifest = parse_json(&bytes, &format!("manifest {}", desc.digest))?;
            let is_index = matches!(any.media_type.as_str(), json::OCI_INDEX | json::DOCKER_LIST)
                || (any.manifests.is_some() && any.layers.is_none());
            if !is_index {
                let m: json::Manifest = parse_json(&bytes, &format!("manifest {}", desc.digest))?;
                image.digest = desc.digest.clone();
                image.manifest_media_type = if m.media_type.is_empty() {
                    desc.media_type.clone()
                } else {
                    m.media_type.clone()
                };
                return self.read_manifest(b, &m, image);
            }
            if depth == max_depth {
                break;
            }
            let index: Index = parse_json(&bytes, &format!("index {}", desc.digest))?;
            if image.index_digest.is_none() {
                image.fetcher_child = Some(fetcher_child(&index.manifests));
            }
            image.index_digest.get_or_insert(desc.digest.clone());
            desc = pick_platform(&index.manifests)
                .ok_or_else(|| format!("index {} lists no image", desc.digest))?;
        }
        Err(format!(
            "image indexes nested deeper than {max_depth} levels (bound; --limit image-index-depth=N)"
        ))
    }

    fn read_manifest(
        &self,
        b: &Backing,
        m: &json::Manifest,
        image: &mut Image,
    ) -> Result<(), String> {
        let config_bytes = b.blob(&m.config.digest, m.config.size, self.limits.max_json)?;
        image.config_media_type = m.config.media_type.clone();
        let is_image_config = m.config.media_type.contains("image.config")
            || m.config.media_type.contains("container.image");
        let config: Config = if is_image_config {
            parse_json(&config_bytes, &format!("config {}", m.config.digest))?
        } else {
            Config::default()
        };
        let fetch = |i: usize| b.blob(&m.layers[i].digest, m.layers[i].size, self.limits.max_blob);
        self.apply_layers(&m.layers, fetch, &config, image)
    }

    /// Reads (one at a time, so at most one compressed layer is in memory) and applies layers.
    fn apply_layers(
        &self,
        layers: &[Descriptor],
        fetch: impl Fn(usize) -> Result<Vec<u8>, String>,
        config: &Config,
        image: &mut Image,
    ) -> Result<(), String> {
        if layers.len() > self.limits.max_layers {
            return Err(format!(
                "the manifest lists {} layers, more than the bound {} (limit image-layers)",
                layers.len(),
                self.limits.max_layers
            ));
        }
        let mut budget = Budget {
            pool: Some(self.pool.clone()),
            ..Budget::default()
        };
        let mut diff_ids = Vec::new();
        // A blob listed again is read and verified once (kept while under the budget).
        let mut seen: HashMap<&str, Arc<Vec<u8>>> = HashMap::new();
        let mut kept = 0u64;
        for (i, d) in layers.iter().enumerate() {
            let bytes = match seen.get(d.digest.as_str()) {
                Some(b) => b.clone(),
                None => {
                    let b = Arc::new(fetch(i)?);
                    let again = layers[i + 1..].iter().any(|l| l.digest == d.digest);
                    if again && kept + b.len() as u64 <= self.limits.max_uncompressed {
                        kept += b.len() as u64;
                        seen.insert(d.digest.as_str(), b.clone());
                    }
                    b
                }
            };
            let mut info = LayerInfo {
                digest: d.digest.clone(),
                media_type: d.media_type.clone(),
                size: bytes.len() as u64,
                uncompressed_size: 0,
                applied: false,
                plugin_wasm: Vec::new(),
                first_plugin_wasm: None,
                gzip: false,
                wasm_content: None,
            };
            let mt = d.media_type.as_str();
            if mt == json::WASM_ARTIFACT_LAYER {
                let w: Arc<[u8]> = bytes.as_slice().into();
                info.wasm_content = Some(w.clone());
                // The fetcher takes the first such layer.
                image.artifact_wasm.get_or_insert(w);
            } else if mt.is_empty() || mt.contains("tar") || mt.contains("rootfs.diff") {
                let stats = image
                    .files
                    .apply_layer(&bytes, &self.limits, &mut budget)
                    .map_err(|e| format!("layer {} ({}): {e}", i + 1, d.digest))?;
                info.applied = true;
                info.uncompressed_size = stats.uncompressed_size;
                info.plugin_wasm = stats.plugin_wasm;
                info.first_plugin_wasm = stats.first_plugin_wasm;
                info.gzip = stats.gzip;
                diff_ids.push(stats.diff_id);
            }
            image.layers.push(info);
        }
        if let Some(rootfs) = &config.rootfs {
            if rootfs.diff_ids.len() != diff_ids.len() {
                return Err(format!(
                    "the config lists {} layer diff_ids, the manifest has {} layers",
                    rootfs.diff_ids.len(),
                    diff_ids.len()
                ));
            }
            for (n, (want, got)) in rootfs.diff_ids.iter().zip(&diff_ids).enumerate() {
                if want != got {
                    return Err(format!(
                        "layer {} uncompressed digest is {got}, the config says {want} (corrupt)",
                        n + 1
                    ));
                }
            }
        }
        Ok(())
    }

    fn read_docker(&self, src: &Source, i: usize, image: &mut Image) -> Result<(), String> {
        let b = src.backing.as_ref().ok_or("no backing")?;
        let entries: Vec<DockerArchiveEntry> =
            read_json(b, "manifest.json", &self.limits)?.ok_or("`manifest.json` is missing")?;
        let e = entries
            .get(i)
            .ok_or("`manifest.json` changed while reading")?;
        let config_bytes = b
            .read(&e.config, self.limits.max_json)?
            .ok_or_else(|| format!("missing config `{}`", e.config))?;
        let actual = sha256_hex(&config_bytes);
        if let Some(d) = path_digest(&e.config) {
            if d != format!("sha256:{actual}") {
                return Err(format!(
                    "config `{}` has digest sha256:{actual} (corrupt or tampered)",
                    e.config
                ));
            }
        }
        image.digest = format!("sha256:{actual}");
        image.manifest_media_type = "docker-archive".into();
        image.config_media_type = "application/vnd.docker.container.image.v1+json".into();
        let config: Config = parse_json(&config_bytes, &format!("config `{}`", e.config))?;
        let layers: Vec<Descriptor> = e
            .layers
            .iter()
            .map(|l| Descriptor {
                media_type: String::new(),
                digest: path_digest(l).unwrap_or_else(|| l.clone()),
                size: 0,
                annotations: Default::default(),
                platform: None,
            })
            .collect();
        let fetch = |i: usize| {
            let l = &e.layers[i];
            let bytes = b
                .read(l, self.limits.max_blob)?
                .ok_or_else(|| format!("missing layer `{l}`"))?;
            if l.starts_with("blobs/") {
                if let Some(d) = path_digest(l) {
                    let actual = format!("sha256:{}", sha256_hex(&bytes));
                    if d != actual {
                        return Err(format!(
                            "layer `{l}` has digest {actual} (corrupt or tampered)"
                        ));
                    }
                }
            }
            Ok(bytes)
        };
        self.apply_layers(&layers, fetch, &config, image)
    }

    /// A plain directory: its tree becomes one pseudo-layer. Symlinks are recorded, never
    /// followed out of the directory.
    fn read_root(&self, dir: &Path, image: &mut Image) -> Result<(), String> {
        let mut total = 0u64;
        let mut plugin_wasm = Vec::new();
        let mut listing = Vec::new();
        for entry in walkdir::WalkDir::new(dir)
            .follow_links(false)
            .sort_by_file_name()
            .min_depth(1)
        {
            let entry = entry.map_err(|e| format!("cannot read: {e}"))?;
            let rel = entry.path().strip_prefix(dir).map_err(|e| e.to_string())?;
            let key = rel.to_string_lossy().replace('\\', "/");
            let ft = entry.file_type();
            let node = if ft.is_dir() {
                Node::Dir
            } else if ft.is_symlink() {
                let t = std::fs::read_link(entry.path())
                    .map_err(|e| format!("cannot read `{key}`: {e}"))?;
                let t = t.to_string_lossy().into_owned();
                check_symlink(&key, &t)?;
                Node::Symlink(t)
            } else if ft.is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                total += size;
                if size > self.limits.max_blob || total > self.limits.max_uncompressed {
                    return Err(format!(
                        "more than {} bytes of files (bound)",
                        self.limits.max_uncompressed
                    ));
                }
                let bytes = crate::load::read::read_regular(entry.path(), self.limits.max_blob)
                    .map_err(|e| format!("cannot read `{key}`: {e}"))?;
                if entry.file_name() == "plugin.wasm" {
                    plugin_wasm.push(key.clone());
                }
                listing.push(format!("{key}\0{}", sha256_hex(&bytes)));
                Node::File(self.pool.intern(bytes)?)
            } else {
                continue;
            };
            image.files.put(key, node, &self.limits)?;
        }
        image.digest = format!("sha256:{}", sha256_hex(listing.join("\n").as_bytes()));
        image.manifest_media_type = "directory".into();
        image.layers.push(LayerInfo {
            digest: image.digest.clone(),
            media_type: "directory".into(),
            size: total,
            uncompressed_size: total,
            applied: true,
            plugin_wasm,
            first_plugin_wasm: None,
            gzip: false,
            wasm_content: None,
        });
        Ok(())
    }
}

fn display_name(info: &ImageInfo) -> String {
    info.names
        .first()
        .cloned()
        .or_else(|| info.tags.first().cloned())
        .or_else(|| info.digest.clone())
        .unwrap_or_else(|| info.source.display().to_string())
}

/// `sha256:<hex>` from a docker-archive path that names a digest (`<hex>.json`,
/// `blobs/sha256/<hex>`, `<hex>.tar`).
fn path_digest(path: &str) -> Option<String> {
    let base = path.rsplit('/').next()?;
    let stem = base
        .strip_suffix(".json")
        .or_else(|| base.strip_suffix(".tar"))
        .unwrap_or(base);
    let d = format!("sha256:{stem}");
    digest_hex(&d).ok()?;
    Some(d)
}

/// The child of an index go-containerregistry's `remoteIndex.childByPlatform` resolves for
/// the default platform: the first whose platform is linux/amd64, a child without a platform
/// counting as linux/amd64 (`pkg/v1/remote/index.go`).
fn fetcher_child(list: &[Descriptor]) -> Option<String> {
    list.iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_none_or(|p| p.os == "linux" && p.architecture == "amd64")
        })
        .map(|d| d.digest.clone())
}

/// The manifest of a multi-arch index to read: linux/amd64 preferred (the module is the same
/// for every platform), else the first that is not an attestation.
fn pick_platform(list: &[Descriptor]) -> Option<Descriptor> {
    let usable: Vec<&Descriptor> = list
        .iter()
        .filter(|d| {
            d.annotations
                .get("vnd.docker.reference.type")
                .map(String::as_str)
                != Some("attestation-manifest")
        })
        .filter(|d| d.platform.as_ref().is_none_or(|p| p.os != "unknown"))
        .collect();
    usable
        .iter()
        .find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == "amd64")
        })
        .or_else(|| usable.first())
        .map(|d| (*d).clone())
}
