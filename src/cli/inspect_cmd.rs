use super::{exit, finding_error, usage_error, write_stdout, write_text};
use crate::diag::Severity;
use crate::image::ImageStore;
use crate::inspect::{self, ImageReport};
use crate::model::MeshVersion;
use crate::rules::images;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// An image reference (resolved in --images), an image source (OCI layout, archive,
    /// unpacked directory: every image in it), or a `.wasm` file.
    pub target: String,
    /// Pulled extension images, to resolve a reference. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub images: Vec<PathBuf>,
    /// Only this mesh version [default: v2.0, v2.1 and v2.2].
    #[arg(long, value_parser = super::mesh_args::MeshVersionParser)]
    pub mesh_version: Option<MeshVersion>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: InspectFormat,
    /// Configuration file [default: the nearest .meshext-lint.yaml].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any .meshext-lint.yaml.
    #[arg(long)]
    pub no_config: bool,
}

fn is_wasm_file(p: &Path) -> bool {
    p.is_file()
        && (p.extension().is_some_and(|e| e == "wasm")
            || std::fs::File::open(p).ok().and_then(|mut f| {
                let mut magic = [0u8; 4];
                std::io::Read::read_exact(&mut f, &mut magic)
                    .ok()
                    .map(|()| magic == *b"\0asm")
            }) == Some(true))
}

/// Exit code: 1 when the target cannot load on any inspected version (or the image is
/// broken), else 0.
pub fn run(args: InspectArgs) -> i32 {
    let cfg = match super::mesh_args::select_config(args.config.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let versions: Vec<MeshVersion> = match args.mesh_version {
        Some(v) => vec![v],
        None => MeshVersion::WITH_SME.to_vec(),
    };
    // A WasmPlugin image is judged on the versions that run WasmPlugins.
    let versions_for = |img: &crate::image::Image| -> Vec<MeshVersion> {
        use crate::image::ImageKind;
        match (args.mesh_version, img.kind) {
            (None, ImageKind::WasmPluginCompat | ImageKind::WasmPluginArtifact) => {
                inspect::WASM_PLUGIN_VERSIONS.to_vec()
            }
            _ => versions.clone(),
        }
    };
    let target = Path::new(&args.target);
    let json = args.format == InspectFormat::Json;
    if is_wasm_file(target) {
        let bytes = match crate::load::read::read_regular(
            target,
            crate::limits::get(crate::limits::Limit::ModuleBytes),
        ) {
            Ok(b) => b,
            Err(e) => return usage_error(format!("{}: {e}", target.display())),
        };
        let name = target.to_string_lossy().into_owned();
        let m = inspect::module_report(
            &bytes,
            crate::diag::Location::file_only(&name),
            &name,
            &versions,
        );
        let text = if json {
            let mut v = inspect::module_json(&m);
            v["version"] = serde_json::json!(1);
            v["diagnostics"] = m
                .findings()
                .iter()
                .map(|(_, d)| crate::report::json::diagnostic(d))
                .collect();
            format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
        } else {
            format!("module {name}\n{}", inspect::module_human(&m, &versions))
        };
        let written = if json {
            write_stdout(text.as_bytes())
        } else {
            write_text(&text)
        };
        if written != exit::OK {
            return written;
        }
        return if m.loads_somewhere() {
            exit::OK
        } else {
            exit::FINDINGS
        };
    }
    let reports: Vec<ImageReport> = if target.exists() {
        let (store, problems) = ImageStore::open(&[target.to_path_buf()]);
        if let Some(p) = problems.first() {
            return finding_error(&images::image_error(p));
        }
        let mut out = Vec::new();
        for info in store.images() {
            match store.load(info) {
                Ok(img) => {
                    let v = versions_for(&img);
                    out.push(inspect::image_report(img, &v))
                }
                Err(e) => return finding_error(&images::image_error(&e)),
            }
        }
        out
    } else {
        let sources = super::mesh_args::images_from(&args.images, &cfg);
        if let Some(e) = super::mesh_args::missing_image_source(&sources) {
            return usage_error(e);
        }
        if sources.is_empty() {
            return usage_error(format!(
                "{}: not a file or directory; to inspect an image reference pass --images PATH",
                args.target
            ));
        }
        let (store, problems) = ImageStore::open(&sources);
        if let Some(p) = problems.first() {
            return finding_error(&images::image_error(p));
        }
        match store.resolve(&args.target) {
            None => return finding_error(&images::not_pulled(&args.target)),
            Some(Err(e)) => return finding_error(&images::image_error(&e)),
            Some(Ok(img)) => {
                let v = versions_for(&img);
                vec![inspect::image_report(img, &v)]
            }
        }
    };
    let text = if json {
        let all: Vec<serde_json::Value> = reports
            .iter()
            .flat_map(|r| {
                let module = r.module.iter().flat_map(|m| m.findings()).map(|(_, d)| d);
                r.diagnostics
                    .iter()
                    .chain(module)
                    .map(crate::report::json::diagnostic)
                    .collect::<Vec<_>>()
            })
            .collect();
        let v = serde_json::json!({"version": 1, "images": reports.iter().map(inspect::image_json).collect::<Vec<_>>(), "diagnostics": all});
        format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default())
    } else {
        reports
            .iter()
            .map(|r| inspect::image_human(r, &r.versions))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let written = if json {
        write_stdout(text.as_bytes())
    } else {
        write_text(&text)
    };
    if written != exit::OK {
        return written;
    }
    let broken = reports.iter().any(|r| {
        r.diagnostics.iter().any(|d| d.severity == Severity::Error)
            || r.module.as_ref().is_some_and(|m| !m.loads_somewhere())
            || (!r.fetch.is_empty() && r.fetch.iter().all(|(_, f)| f.problem.is_some()))
    });
    if broken {
        exit::FINDINGS
    } else {
        exit::OK
    }
}
