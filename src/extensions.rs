//! Resolving each ServiceMeshExtension to its pulled image and module, and analysing each image
//! once: `manifest.yaml`, the module's validity and (on demand) its ABI problems against the
//! mesh version's proxy. Only facts and typed problems: `rules::images` and `rules::abi` judge
//! them (once per digest, with related locations to every SME that uses it).

use crate::abi::{self, AbiProblem, InvalidModule, ModuleInfo};
use crate::chain::{ExtensionDefaults, ManifestDefaults};
use crate::diag::Location;
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
    res
}
