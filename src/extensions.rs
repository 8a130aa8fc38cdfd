//! Resolving each ServiceMeshExtension to its pulled image and module, and analysing each image
//! once: `manifest.yaml`, the module's validity and (on demand) its ABI problems against the
//! mesh version's proxy. Only facts and typed problems: `rules::images` and `rules::abi` judge
//! them (once per digest, with related locations to every SME that uses it).

use crate::abi::{self, AbiProblem, InvalidModule, ModuleInfo};
use crate::chain::{ExtensionDefaults, ManifestDefaults};
use crate::diag::Location;
use crate::image::fetcher::{Fetch, Fetcher};
use crate::image::{self, Image, ImageError, ImageStore, Manifest, ManifestProblem};
use crate::model::{Mesh, MeshVersion};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// What one image digest holds, analysed once.
#[derive(Debug)]
pub struct Analysed {
    pub image: Arc<Image>,
    /// The reference used in messages (the first SME's `spec.image`).
    pub reference: String,
    pub manifest: Option<Manifest>,
    /// The image's `manifest.yaml` text, so reports can show snippets inside the image.
    pub manifest_source: Option<Arc<crate::source::SourceFile>>,
    pub module_path: Option<String>,
    pub module: Option<Arc<[u8]>>,
    pub module_info: Option<ModuleInfo>,
    /// Why the module is not valid WebAssembly.
    pub invalid_module: Option<InvalidModule>,
    /// Problems of `manifest.yaml` and the module path.
    pub problems: Vec<ManifestProblem>,
    /// The mesh version the ABI problems are judged for.
    version: MeshVersion,
    /// What the mesh version's proxy has against the module, worked out on first use: `chain`
    /// and `simulate` never need it.
    abi_problems: OnceLock<Vec<AbiProblem>>,
}

impl Analysed {
    /// `REF!/path/to/module.wasm`, where module findings point.
    pub fn module_location(&self) -> Location {
        Location::file_only(format!(
            "{}!/{}",
            self.reference,
            self.module_path
                .as_deref()
                .unwrap_or("")
                .trim_start_matches('/')
        ))
    }

    /// What the mesh version's proxy has against the module (empty without a valid module).
    pub fn abi_problems(&self) -> &[AbiProblem] {
        self.abi_problems.get_or_init(|| match &self.module_info {
            Some(info) => abi::check(info, self.version, &self.reference),
            None => Vec::new(),
        })
    }

    /// Whether the proxy gets as far as starting the module: it is valid, the image has no
    /// package problem and the proxy neither refuses nor fails to link it.
    pub fn startable(&self) -> bool {
        self.module.is_some()
            && self.module_info.is_some()
            && self.problems.is_empty()
            && !self.abi_problems().iter().any(AbiProblem::refuses)
    }
}

/// Why an SME's image is not there to analyse.
#[derive(Debug, Clone)]
pub enum ResolveProblem {
    /// No `--images` source holds the reference.
    NotPulled,
    /// The image is there but unreadable, or the reference is ambiguous.
    Unreadable(ImageError),
}

/// The result of resolving every SME of a mesh.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Index into `mesh.extensions` → its analysed image, when pulled and readable.
    pub by_extension: Vec<Option<Arc<Analysed>>>,
    /// Per SME (index into `mesh.extensions`, its `spec.image`), why its image is missing.
    pub problems: Vec<(usize, String, ResolveProblem)>,
    /// Each analysed digest once, with the SMEs that use it (in `mesh.extensions` order).
    pub images: Vec<(Arc<Analysed>, Vec<usize>)>,
    /// The images of the WasmPlugins' `oci://` URLs.
    pub plugins: PluginResolution,
}

/// One WasmPlugin image digest, as the mesh version's istio-agent fetcher reads it.
#[derive(Debug)]
pub struct PluginImage {
    pub image: Arc<Image>,
    /// The image reference of the first WasmPlugin using it (`url` without `oci://`).
    pub reference: String,
    /// What the fetcher extracts (or why it fails).
    pub fetch: Fetch,
    /// The fetched module, analysed (only when it passes the fetcher's magic check).
    pub module_info: Option<ModuleInfo>,
    pub invalid_module: Option<InvalidModule>,
    /// The mesh version the ABI problems are judged for.
    version: MeshVersion,
    abi_problems: OnceLock<Vec<AbiProblem>>,
}

impl PluginImage {
    /// What the mesh version's proxy has against the fetched module (worked out on first use).
    pub fn abi_problems(&self) -> &[AbiProblem] {
        self.abi_problems.get_or_init(|| match &self.module_info {
            Some(info) => abi::check(info, self.version, &self.reference),
            None => Vec::new(),
        })
    }

    /// `REF!/plugin.wasm` (or the artifact layer), where module findings point.
    pub fn module_location(&self) -> Location {
        let path = self.fetch.module_path.as_deref().unwrap_or("");
        Location::file_only(format!(
            "{}!/{}",
            self.reference,
            path.trim_start_matches("./")
        ))
    }
}

/// The WasmPlugins' images: like [`Resolution`], indexed by `mesh.wasm_plugins`.
#[derive(Debug, Default)]
pub struct PluginResolution {
    /// The fetcher of the mesh version (`None` before WasmPlugin existed, or without images).
    pub fetcher: Option<Fetcher>,
    pub by_plugin: Vec<Option<Arc<PluginImage>>>,
    /// Per WasmPlugin (index into `mesh.wasm_plugins`, its image reference), why its image is
    /// missing.
    pub problems: Vec<(usize, String, ResolveProblem)>,
    pub images: Vec<(Arc<PluginImage>, Vec<usize>)>,
    /// WasmPlugins whose module finds no root context under `pluginName` (gathered with the
    /// runtime facts, `plugin_startup`).
    pub root_id_misses: Vec<crate::plugin_startup::RootIdMiss>,
}

/// The image reference the agent pulls for a WasmPlugin `url`, as istiod and the agent parse
/// it: Go's `url.Parse` scheme (none = `oci://`, istiod's `convertToWasmPluginWrapper`), then
/// `u.Host + u.Path` (`pkg/wasm/cache.go`). `None` for `file://`, `http(s)://`, other schemes
/// and URLs Go does not parse.
pub fn oci_reference(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = go_scheme(url)?;
    let rest = match scheme {
        // Go refuses a scheme-less URL whose first segment holds a colon.
        "" if url.split('/').next().is_some_and(|s| s.contains(':')) => return None,
        "" => url,
        s if s.eq_ignore_ascii_case("oci") => rest.strip_prefix("//").unwrap_or(rest),
        _ => return None,
    };
    let rest = rest.trim_start_matches('/');
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Go `net/url` `getScheme`: `Some((scheme, rest))`, scheme `""` when there is none; `None`
/// when the URL has an empty scheme (`:x`).
pub fn go_scheme(url: &str) -> Option<(&str, &str)> {
    for (i, c) in url.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return None,
            ':' => return Some((&url[..i], &url[i + 1..])),
            _ => return Some(("", url)),
        }
    }
    Some(("", url))
}

fn analyse_plugin(
    image: Arc<Image>,
    reference: String,
    fetcher: &Fetcher,
    version: MeshVersion,
) -> PluginImage {
    let fetch = image::fetcher::fetch(&image, fetcher);
    let mut p = PluginImage {
        image,
        reference,
        fetch,
        module_info: None,
        invalid_module: None,
        version,
        abi_problems: OnceLock::new(),
    };
    if p.fetch.problem.is_none() {
        if let Some(bytes) = &p.fetch.module {
            match abi::analyze(bytes) {
                Ok(info) => p.module_info = Some(info),
                Err(e) => p.invalid_module = Some(e),
            }
        }
    }
    p
}

/// Resolves every WasmPlugin's `oci://` image and reads it as the mesh's fetcher does, once per
/// digest (in parallel).
pub fn resolve_plugins(mesh: &Mesh, store: &ImageStore) -> PluginResolution {
    let mut res = PluginResolution {
        by_plugin: vec![None; mesh.wasm_plugins.len()],
        ..PluginResolution::default()
    };
    if mesh.version < MeshVersion::V2_2 {
        return res;
    }
    let fetcher = Fetcher::for_mesh(mesh);
    res.fetcher = Some(fetcher);
    let mut by_digest: BTreeMap<String, (Arc<Image>, String, Vec<usize>)> = BTreeMap::new();
    for (i, p) in mesh.wasm_plugins.iter().enumerate() {
        let Some(reference) = p.url.as_deref().and_then(oci_reference) else {
            continue;
        };
        match store.resolve(&image::reference::normalize(&reference)) {
            None => res.problems.push((i, reference, ResolveProblem::NotPulled)),
            Some(Err(err)) => res
                .problems
                .push((i, reference, ResolveProblem::Unreadable(err))),
            Some(Ok(img)) => {
                by_digest
                    .entry(img.digest.clone())
                    .or_insert_with(|| (img.clone(), reference.clone(), Vec::new()))
                    .2
                    .push(i);
            }
        }
    }
    let analysed: Vec<(Arc<PluginImage>, Vec<usize>)> = by_digest
        .into_values()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(img, reference, users)| {
            let a = analyse_plugin(img, reference, &fetcher, mesh.version);
            (Arc::new(a), users)
        })
        .collect();
    for (a, users) in analysed {
        for &i in &users {
            res.by_plugin[i] = Some(a.clone());
        }
        res.images.push((a, users));
    }
    res
}

impl Resolution {
    /// Manifest phase/priority and image digest per SME key, for the filter-chain builder.
    pub fn defaults(&self, mesh: &Mesh) -> ExtensionDefaults {
        let mut d = ExtensionDefaults::default();
        for (e, a) in mesh.extensions.iter().zip(&self.by_extension) {
            if let Some(a) = a {
                let m = a.manifest.as_ref();
                d.manifests.insert(
                    e.meta.key(),
                    ManifestDefaults {
                        phase: m.and_then(|m| m.phase.clone()),
                        priority: m.and_then(|m| m.priority),
                        digest: Some(a.image.digest.clone()),
                    },
                );
            }
        }
        d
    }
}

fn analyse(image: Arc<Image>, reference: String, version: MeshVersion) -> Analysed {
    let pkg = image::read_extension_as(&image, &reference);
    let mut a = Analysed {
        image,
        reference,
        manifest: pkg.manifest,
        manifest_source: pkg.manifest_source,
        module_path: pkg.module_path,
        module: pkg.module_bytes,
        module_info: None,
        invalid_module: None,
        problems: pkg.problems,
        version,
        abi_problems: OnceLock::new(),
    };
    if let Some(bytes) = a.module.clone() {
        match abi::analyze(&bytes) {
            Ok(info) => a.module_info = Some(info),
            Err(e) => a.invalid_module = Some(e),
        }
    }
    a
}

/// Resolves and analyses every SME's image. Each digest is read and checked once; digests are
/// analysed in parallel.
pub fn resolve(mesh: &Mesh, store: &ImageStore) -> Resolution {
    let mut res = Resolution {
        by_extension: vec![None; mesh.extensions.len()],
        ..Resolution::default()
    };
    // digest → (image, first reference, SMEs using it)
    let mut by_digest: BTreeMap<String, (Arc<Image>, String, Vec<usize>)> = BTreeMap::new();
    for (i, e) in mesh.extensions.iter().enumerate() {
        let Some(reference) = e.image.as_deref() else {
            continue;
        };
        if image::parse_reference(reference).is_err() {
            continue; // MX303 already says why; the cacher never pulls it.
        }
        match store.resolve(reference) {
            None => res
                .problems
                .push((i, reference.to_string(), ResolveProblem::NotPulled)),
            Some(Err(err)) => {
                res.problems
                    .push((i, reference.to_string(), ResolveProblem::Unreadable(err)))
            }
            Some(Ok(img)) => {
                by_digest
                    .entry(img.digest.clone())
                    .or_insert_with(|| (img.clone(), reference.to_string(), Vec::new()))
                    .2
                    .push(i);
            }
        }
    }
    let version = mesh.version;
    let analysed: Vec<(Arc<Analysed>, Vec<usize>)> = by_digest
        .into_values()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(img, reference, users)| (Arc::new(analyse(img, reference, version)), users))
        .collect();
    for (a, users) in analysed {
        for &i in &users {
            res.by_extension[i] = Some(a.clone());
        }
        res.images.push((a, users));
    }
    res.plugins = resolve_plugins(mesh, store);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_plugin_urls_parse_like_go_net_url() {
        let r = |u: &str| oci_reference(u);
        assert_eq!(r("oci://quay.io/a/b:1").as_deref(), Some("quay.io/a/b:1"));
        assert_eq!(r("OCI://quay.io/a/b").as_deref(), Some("quay.io/a/b"));
        // No scheme: istiod adds oci://.
        assert_eq!(
            r("quay.io/a/b@sha256:00").as_deref(),
            Some("quay.io/a/b@sha256:00")
        );
        assert_eq!(r("b").as_deref(), Some("b"));
        // The first `:` before any `/` makes a scheme: `registry:5000/x` is scheme `registry`.
        assert_eq!(r("registry:5000/a/b:1"), None);
        assert_eq!(r("localhost:5000/a"), None);
        assert_eq!(
            r("oci://registry:5000/a/b:1").as_deref(),
            Some("registry:5000/a/b:1")
        );
        assert_eq!(r("file:///opt/p.wasm"), None);
        assert_eq!(r("https://x/p.wasm"), None);
        assert_eq!(r(":x"), None);
        assert_eq!(r("oci://"), None);
        // Query and fragment are not part of host + path.
        assert_eq!(r("oci://q.io/a/b:1?x=1#f").as_deref(), Some("q.io/a/b:1"));
        assert_eq!(go_scheme("1abc:x"), Some(("", "1abc:x")));
        assert_eq!(r("1abc:x/y"), None);
    }
}
