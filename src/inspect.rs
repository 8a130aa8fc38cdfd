//! `inspect`: what an extension image or module holds, and how each mesh version's proxy
//! judges it. The logic lives here; `cli::inspect_cmd` only parses arguments.

use crate::abi::{self, ImportGroup, ModuleInfo};
use crate::diag::{Diagnostic, Location, Severity};
use crate::image::fetcher::{self, Fetch};
use crate::image::{self, Image, ImageKind};
use crate::model::MeshVersion;
use crate::rules::{self, RuleId};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::sync::Arc;

/// One inspected module: its analysis, or why it is not valid WebAssembly.
pub struct ModuleReport {
    pub location: Location,
    pub info: Result<ModuleInfo, Diagnostic>,
    /// Per mesh version, the ABI findings.
    pub checks: Vec<(MeshVersion, Vec<Diagnostic>)>,
}

/// One inspected image.
pub struct ImageReport {
    pub image: Arc<Image>,
    pub package: image::ExtensionPackage,
    /// The findings about the package (MX403/MX404).
    pub diagnostics: Vec<Diagnostic>,
    pub module: Option<ModuleReport>,
    /// What the WasmPlugin fetcher of each group of versions makes of the image (not for SME
    /// images).
    pub fetch: Vec<(String, Fetch)>,
    /// The mesh versions the module is judged on.
    pub versions: Vec<MeshVersion>,
}

/// The versions `inspect` judges a WasmPlugin image's module on by default: those running
/// WasmPlugins with their own proxy facts (`mesh_versions.tsv`; 3.x uses the v2.6 row).
pub const WASM_PLUGIN_VERSIONS: [MeshVersion; 5] = [
    MeshVersion::V2_2,
    MeshVersion::V2_3,
    MeshVersion { major: 2, minor: 4 },
    MeshVersion { major: 2, minor: 5 },
    MeshVersion::V2_6,
];

pub fn module_report(
    bytes: &[u8],
    location: Location,
    subject: &str,
    versions: &[MeshVersion],
) -> ModuleReport {
    match abi::analyze(bytes) {
        Ok(info) => {
            let checks = versions
                .iter()
                .map(|v| (*v, rules::abi::judge(&info, *v, &location, subject)))
                .collect();
            ModuleReport {
                location,
                info: Ok(info),
                checks,
            }
        }
        Err(e) => ModuleReport {
            info: Err(rules::images::invalid_module(&e, &location, subject)),
            location,
            checks: Vec::new(),
        },
    }
}

pub fn image_report(image: Arc<Image>, versions: &[MeshVersion]) -> ImageReport {
    let package = image::read_extension(&image);
    let mut diagnostics = rules::images::package_diagnostics(&package);
    // A WasmPlugin image has no manifest.yaml by design: that is only a problem for an SME.
    let wasm_plugin = matches!(
        image.kind,
        ImageKind::WasmPluginCompat | ImageKind::WasmPluginArtifact
    );
    if wasm_plugin && package.manifest.is_none() && matches!(image.file("/manifest.yaml"), Ok(None))
    {
        diagnostics.retain(|d| d.rule != RuleId::MX403);
    }
    let module = match (&package.module_bytes, image.kind) {
        (Some(bytes), _) => {
            let path = package.module_path.as_deref().unwrap_or("");
            Some(module_report(
                bytes,
                Location::file_only(image.location_name(path)),
                &image.reference,
                versions,
            ))
        }
        (None, ImageKind::WasmPluginCompat | ImageKind::WasmPluginArtifact) => {
            image.plugin_wasm().map(|bytes| {
                module_report(
                    &bytes,
                    Location::file_only(image.location_name("plugin.wasm")),
                    &image.reference,
                    versions,
                )
            })
        }
        (None, _) => None,
    };
    let fetch = if image.kind == ImageKind::SmeImage {
        Vec::new()
    } else {
        fetcher::by_version(&image)
    };
    ImageReport {
        image,
        package,
        diagnostics,
        module,
        fetch,
        versions: versions.to_vec(),
    }
}

impl ModuleReport {
    /// Every finding (invalid module, or per-version ABI findings).
    pub fn findings(&self) -> Vec<(Option<MeshVersion>, &Diagnostic)> {
        match &self.info {
            Err(d) => vec![(None, d)],
            Ok(_) => self
                .checks
                .iter()
                .flat_map(|(v, ds)| ds.iter().map(move |d| (Some(*v), d)))
                .collect(),
        }
    }

    /// Whether the module loads on at least one inspected version.
    pub fn loads_somewhere(&self) -> bool {
        self.info.is_ok()
            && self
                .checks
                .iter()
                .any(|(_, ds)| ds.iter().all(|d| d.severity < Severity::Error))
    }
}

fn group_name(g: ImportGroup) -> &'static str {
    match g {
        ImportGroup::ProxyWasm => "proxy_wasm",
        ImportGroup::Wasi => "wasi",
        ImportGroup::Other => "other",
    }
}

pub fn module_json(m: &ModuleReport) -> Value {
    let mut v = match &m.info {
        Err(d) => json!({"valid": false, "error": d.message}),
        Ok(info) => {
            let mut imports = serde_json::Map::new();
            for g in [
                ImportGroup::ProxyWasm,
                ImportGroup::Wasi,
                ImportGroup::Other,
            ] {
                imports.insert(
                    group_name(g).into(),
                    info.imports_in(g).map(|i| json!(i.qualified())).collect(),
                );
            }
            json!({
                "valid": true,
                "size": info.size,
                "abi": info.abi.map(|a| a.to_string()),
                "markers": info.markers,
                "entry_points": info.entry_points,
                "allocators": info.allocators,
                "memory": info.memory,
                "imports": imports,
                "callbacks": info.callbacks().map(|e| e.name.clone()).collect::<Vec<_>>(),
            })
        }
    };
    v["file"] = json!(m.location.file);
    v["checks"] = m
        .checks
        .iter()
        .map(|(ver, ds)| {
            json!({"mesh_version": ver.to_string(), "loads": ds.iter().all(|d| d.severity < Severity::Error),
                   "diagnostics": ds.iter().map(crate::report::json::diagnostic).collect::<Vec<_>>()})
        })
        .collect();
    v
}

pub fn image_json(r: &ImageReport) -> Value {
    let img = &r.image;
    let m = r.package.manifest.as_ref();
    json!({
        "reference": img.reference,
        "names": img.names,
        "digest": img.digest,
        "index_digest": img.index_digest,
        "source": img.source.to_string_lossy(),
        "kind": format!("{:?}", img.kind),
        "manifest_media_type": img.manifest_media_type,
        "layers": img.layers.iter().map(|l| json!({"digest": l.digest, "media_type": l.media_type, "size": l.size})).collect::<Vec<_>>(),
        "manifest": m.map(|m| json!({"schemaVersion": m.schema_version, "name": m.name, "phase": m.phase, "priority": m.priority, "module": m.module})),
        "diagnostics": r.diagnostics.iter().map(crate::report::json::diagnostic).collect::<Vec<_>>(),
        "module": r.module.as_ref().map(module_json),
        "wasmplugin": r.fetch.iter().map(|(versions, f)| json!({
            "versions": versions,
            "variant": f.variant.map(|v| v.label()),
            "module": f.module_path,
            "module_size": f.module.as_ref().map(|m| m.len()),
            "loads": f.problem.is_none() && f.other_child.is_none(),
            "error": f.problem.as_ref().map(|p| p.message.clone()),
            "index_child": f.other_child,
        })).collect::<Vec<_>>(),
    })
}

/// One line per group of versions: which variant the WasmPlugin fetcher reads, or why not.
fn fetch_human(s: &mut String, fetch: &[(String, Fetch)]) {
    if fetch.is_empty() {
        return;
    }
    let _ = writeln!(s, "  WasmPlugin fetcher (istio-agent):");
    for (versions, f) in fetch {
        let what = match (&f.problem, &f.other_child, f.variant) {
            (Some(p), _, _) => format!("cannot use it: {}", p.message),
            (None, Some(c), _) => format!("reads index child {c}, not the manifest inspected"),
            (None, None, Some(v)) => format!(
                "{} variant, module {} ({} bytes){}",
                v.label(),
                f.module_path.as_deref().unwrap_or("-"),
                f.module.as_ref().map_or(0, |m| m.len()),
                if f.truncated {
                    ", cut at the size cap"
                } else {
                    ""
                }
            ),
            (None, None, None) => "no module".into(),
        };
        let _ = writeln!(s, "    {versions}: {what}");
    }
}

pub fn module_human(m: &ModuleReport, versions: &[MeshVersion]) -> String {
    let mut s = String::new();
    match &m.info {
        Err(d) => {
            let _ = writeln!(s, "  {}", crate::report::human::one_line(d));
        }
        Ok(info) => {
            let v = versions.last().copied().unwrap_or(MeshVersion::V2_2);
            for line in abi::inspect::render(info, v).lines() {
                let _ = writeln!(s, "  {line}");
            }
            for (ver, ds) in &m.checks {
                if ds.is_empty() {
                    let _ = writeln!(s, "  mesh {ver}: loads, no findings");
                } else {
                    let verdict = if ds.iter().any(|d| d.severity == Severity::Error) {
                        "does not load"
                    } else {
                        "loads"
                    };
                    let _ = writeln!(s, "  mesh {ver}: {verdict}");
                    for d in ds {
                        let _ = writeln!(s, "    {}[{}]: {}", d.severity, d.rule, d.message);
                    }
                }
            }
        }
    }
    s
}

pub fn image_human(r: &ImageReport, versions: &[MeshVersion]) -> String {
    let img = &r.image;
    let mut s = String::new();
    let _ = writeln!(s, "image {}", img.reference);
    let _ = writeln!(s, "  digest:   {}", img.digest);
    if img.names.len() > 1 {
        let _ = writeln!(s, "  names:    {}", img.names.join(", "));
    }
    let _ = writeln!(s, "  source:   {} ({:?})", img.source.display(), img.format);
    let _ = writeln!(s, "  kind:     {:?}", img.kind);
    for (i, l) in img.layers.iter().enumerate() {
        let _ = writeln!(
            s,
            "  layer {i}:  {} {} ({} bytes)",
            l.digest, l.media_type, l.size
        );
    }
    if let Some(m) = &r.package.manifest {
        let _ = writeln!(
            s,
            "  manifest: phase {}, priority {}, module {}",
            m.phase.as_deref().unwrap_or("-"),
            m.priority.map(|p| p.to_string()).as_deref().unwrap_or("-"),
            m.module.as_deref().unwrap_or("-")
        );
    }
    for d in &r.diagnostics {
        let _ = writeln!(s, "  {}", crate::report::human::one_line(d));
    }
    fetch_human(&mut s, &r.fetch);
    if let Some(m) = &r.module {
        let _ = writeln!(s, "module {}", m.location.file);
        s.push_str(&module_human(m, versions));
    }
    s
}
