//! Resolving each ServiceMeshExtension to its pulled image and module, and checking each image
//! once: `manifest.yaml` (MX403/MX404), the module's validity (MX405) and its ABI against the
//! mesh version's proxy (MX5xx). Findings about an image are reported once per digest, with
//! related locations to every SME that uses it; per-SME problems (MX401 not pulled, MX402
//! unreadable) point at each SME's `spec.image`.

use crate::abi::{self, ModuleInfo};
use crate::chain::{ExtensionDefaults, ManifestDefaults};
use crate::diag::{Diagnostic, Location};
use crate::image::{self, Image, ImageStore, Manifest};
use crate::model::{Mesh, MeshVersion};
use crate::rules::RuleId;
use crate::simulate::checks::runtime_checks_compiled;
use crate::simulate::vm::{self, Engine, Limits};
use crate::simulate::Profile;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// Findings about the image and module (not yet tied to SMEs).
    pub findings: Vec<Diagnostic>,
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
}

/// The result of resolving every SME of a mesh.
#[derive(Debug, Default)]
pub struct Resolution {
    /// Index into `mesh.extensions` → its analysed image, when pulled and readable.
    pub by_extension: Vec<Option<Arc<Analysed>>>,
    pub diagnostics: Vec<Diagnostic>,
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
        findings: pkg.diagnostics,
    };
    if let Some(bytes) = a.module.clone() {
        let at = a.module_location();
        match abi::analyze(&bytes) {
            Ok(info) => {
                a.findings
                    .extend(abi::check(&info, version, &at, &a.reference));
                a.module_info = Some(info);
            }
            Err(e) => a
                .findings
                .push(abi::invalid_module_diagnostic(&e, &at, &a.reference)),
        }
    }
    a
}

/// Resolves and analyses every SME's image. Each digest is read and checked once; digests are
/// analysed in parallel.
pub fn resolve(mesh: &Mesh, store: &ImageStore) -> Resolution {
    let mut res = Resolution {
        by_extension: vec![None; mesh.extensions.len()],
        diagnostics: Vec::new(),
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
        let at = e.meta.loc("/spec/image");
        match store.resolve(reference) {
            None => res.diagnostics.push(
                image::not_pulled(reference)
                    .at(at)
                    .resource(e.meta.display()),
            ),
            Some(Err(err)) => res
                .diagnostics
                .push(err.to_diagnostic().at(at).resource(e.meta.display())),
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
        for f in &a.findings {
            let mut d = f.clone();
            for &i in &users {
                let e = &mesh.extensions[i];
                d = d.related(
                    e.meta.loc("/spec/image"),
                    format!("used by {}", e.meta.display()),
                );
            }
            if d.resource.is_none() && users.len() == 1 {
                d.resource = Some(mesh.extensions[users[0]].meta.display());
            }
            res.diagnostics.push(d);
        }
        for &i in &users {
            res.by_extension[i] = Some(a.clone());
        }
    }
    res.diagnostics.extend(missing_phases(mesh, &res));
    res
}

/// MX302: on v2.0 the phase may be omitted from the SME (the CRD does not require it) and is
/// then taken from the image's manifest; when the manifest has none either, the extension has
/// an empty phase and is never injected.
fn missing_phases(mesh: &Mesh, res: &Resolution) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (e, a) in mesh.extensions.iter().zip(&res.by_extension) {
        let Some(a) = a else { continue };
        let manifest_phase = a.manifest.as_ref().and_then(|m| m.phase.as_deref());
        if e.phase.is_none() && manifest_phase.is_none() && a.manifest.is_some() {
            let d = Diagnostic::new(
                RuleId::MX302,
                format!(
                    "{} has no phase: the resource omits `spec.phase` and the manifest of `{}` declares none, so the extension is never injected",
                    e.meta.display(),
                    a.reference
                ),
            )
            .at(e.meta.key_loc("/spec"))
            .resource(e.meta.display())
            .help("set `spec.phase` (one of PreAuthN, PostAuthN, PreAuthZ, PostAuthZ, PreStats, PostStats)");
            let d = d.related(
                Location::file_only(a.image.location_name("manifest.yaml")),
                "the image's manifest",
            );
            out.push(d);
        }
    }
    out
}

/// MX701–MX705: starts every pulled extension as the mesh version would, with its own
/// configuration and root id. Modules the ABI check already rejects for this version are not
/// started (the proxy would not get that far). Identical (module, name, configuration)
/// triples start once.
pub fn runtime_checks(mesh: &Mesh, res: &Resolution) -> Vec<Diagnostic> {
    let version = mesh.version;
    if !version.has_sme() {
        return Vec::new();
    }
    let mut jobs: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, (e, a)) in mesh.extensions.iter().zip(&res.by_extension).enumerate() {
        let Some(a) = a else { continue };
        let loads = a.module.is_some()
            && a.module_info.is_some()
            && !a
                .findings
                .iter()
                .any(|d| d.severity == crate::diag::Severity::Error);
        if !loads {
            continue;
        }
        let config = crate::simulate::configuration_for(e, version);
        jobs.entry((a.image.digest.clone(), e.meta.name.clone(), config))
            .or_default()
            .push(i);
    }
    let jobs: Vec<_> = jobs.into_iter().collect();
    // Compile each module once (in parallel), then start it for every job: SMEs sharing an
    // image differ only in name and configuration.
    let limits = Limits::default();
    let profile = Profile::for_mesh(version);
    let mut digests: BTreeMap<&str, usize> = BTreeMap::new();
    for ((digest, _, _), users) in &jobs {
        digests.entry(digest.as_str()).or_insert(users[0]);
    }
    let compiled: BTreeMap<&str, (Engine, Result<vm::Compiled, vm::LoadError>)> = digests
        .into_par_iter()
        .map(|(digest, user)| {
            let a = res.by_extension[user].as_ref().expect("resolved above");
            let module = a.module.as_ref().expect("checked above");
            let engine = vm::engine(&limits);
            let c = vm::compile(&engine, module, &limits);
            (digest, (engine, c))
        })
        .collect();
    let found: Vec<Vec<Diagnostic>> = jobs
        .par_iter()
        .map(|((digest, name, config), users)| {
            let first = &mesh.extensions[users[0]];
            let a = res.by_extension[users[0]].as_ref().expect("resolved above");
            let at = first.meta.loc("/spec/image");
            let (engine, module) = &compiled[digest.as_str()];
            let mut ds = runtime_checks_compiled(
                engine,
                module,
                name,
                config,
                profile,
                limits,
                &at,
                &first.meta.display(),
            );
            for d in &mut ds {
                if d.rule == RuleId::MX703 || d.rule == RuleId::MX704 {
                    // Configuration problems point at the configuration.
                    d.location = Some(if first.meta.doc.root.pointer("/spec/config").is_some() {
                        first.meta.key_loc("/spec/config")
                    } else {
                        first.meta.key_loc("/spec")
                    });
                }
                *d = d.clone().related(a.module_location(), "the module");
                for &j in &users[1..] {
                    let e = &mesh.extensions[j];
                    *d = d.clone().related(
                        e.meta.loc("/spec/image"),
                        format!("also {}", e.meta.display()),
                    );
                }
            }
            ds
        })
        .collect();
    found.into_iter().flatten().collect()
}
