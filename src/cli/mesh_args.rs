//! Arguments shared by the commands that read a mesh (`chain`, `simulate`, `inspect`).

use crate::config::{self, Config};
use crate::diag::Severity;
use crate::lint::{self, LintOptions, Outcome};
use crate::model::{IstioVersion, MeshVersion, VersionSource};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct MeshArgs {
    /// Files, directories (recursive: .yaml/.yml/.json), glob patterns, or `-` for stdin.
    pub paths: Vec<String>,
    /// Pulled extension images (OCI layout, OCI archive, docker-archive, or `REF=DIR`). Repeatable.
    #[arg(long, value_name = "PATH")]
    pub images: Vec<PathBuf>,
    /// Mesh version to assume (overrides the ServiceMeshControlPlane's spec.version), e.g. v2.1.
    #[arg(long, value_parser = MeshVersionParser)]
    pub mesh_version: Option<MeshVersion>,
    /// Upstream Istio release when no control plane in the inputs says one, e.g. 1.26.
    #[arg(long, value_parser = parse_istio_version)]
    pub istio_version: Option<IstioVersion>,
}

/// `--config FILE` / `--no-config`, for the commands where `--config` names the file.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// Configuration file [default: the nearest .meshext-lint.yaml].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any .meshext-lint.yaml.
    #[arg(long)]
    pub no_config: bool,
}

/// The configuration the flags select.
pub fn select_config(file: Option<&std::path::Path>, disabled: bool) -> Result<Config, String> {
    config::select(file, disabled).map_err(|e| format!("invalid configuration: {e}"))
}

pub fn parse_mesh_version(s: &str) -> Result<MeshVersion, String> {
    MeshVersion::parse(s).ok_or_else(|| format!("not a mesh version: {s:?} (expected e.g. v2.1)"))
}

/// `--istio-version`: `1.26`, `v1.24.3`; only releases the tool knows
/// (`rules/abi/istio_versions.tsv`), since behaviour is looked up there.
pub fn parse_istio_version(s: &str) -> Result<IstioVersion, String> {
    let v = IstioVersion::parse(s)
        .ok_or_else(|| format!("not an Istio version: {s:?} (expected e.g. 1.26)"))?;
    if v.row().is_none() || v.mesh_equivalent().is_none() {
        let rows = crate::model::version::istio_rows();
        return Err(format!(
            "unknown Istio release {v} (known: {} to {})",
            rows[0].istio,
            rows[rows.len() - 1].istio
        ));
    }
    Ok(v)
}

/// `--mesh-version`: parses leniently (`2.1`, `v2.1.3`) like [`parse_mesh_version`], and
/// offers the known versions to shell completion and the manual (clap takes possible values
/// only from the value parser).
#[derive(Clone, Copy, Debug)]
pub struct MeshVersionParser;

impl clap::builder::TypedValueParser for MeshVersionParser {
    type Value = MeshVersion;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<MeshVersion, clap::Error> {
        let text = value.to_string_lossy();
        parse_mesh_version(&text).map_err(|msg| {
            let name = arg.map(|a| a.to_string()).unwrap_or_default();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '{name}': {msg}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            MeshVersion::KNOWN
                .iter()
                .map(|v| clap::builder::PossibleValue::new(*v)),
        ))
    }
}

/// The mesh version: the flag, else the configuration's.
pub fn mesh_version_from(
    flag: Option<MeshVersion>,
    cfg: &Config,
) -> Option<(MeshVersion, VersionSource)> {
    flag.map(|v| (v, VersionSource::CommandLine))
        .or(cfg.mesh_version.map(|v| (v, VersionSource::Config)))
}

/// A usage error for the first image source that does not exist (a path, or the directory
/// of `REF=DIR`): a mistyped `--images` must not pass as "images not pulled".
pub fn missing_image_source(sources: &[PathBuf]) -> Option<String> {
    sources
        .iter()
        .find(|p| crate::image::source_missing(p))
        .map(|p| format!("--images {}: no such file or directory", p.display()))
}

/// Image sources: the flags, else the configuration's.
pub fn images_from(flag: &[PathBuf], cfg: &Config) -> Vec<PathBuf> {
    if flag.is_empty() {
        cfg.images.clone()
    } else {
        flag.to_vec()
    }
}

impl MeshArgs {
    /// Pipeline options: flags win over the configuration.
    pub fn options(&self, cfg: &Config, paths: &[String]) -> LintOptions {
        LintOptions {
            paths: if paths.is_empty() {
                vec![".".into()]
            } else {
                paths.to_vec()
            },
            ignore: cfg.ignore.clone(),
            mesh_version: mesh_version_from(self.mesh_version, cfg),
            istio_version: self.istio_version,
            images: images_from(&self.images, cfg),
            no_runtime: true,
        }
    }
}

/// Loads a mesh, resolves images and builds chains. Input errors (unparseable files,
/// unreadable images) are printed to stderr as one line each, so a chain or simulation built
/// from partial input never looks complete.
pub fn load_mesh(opts: &LintOptions) -> Result<Outcome, String> {
    if let Some(e) = missing_image_source(&opts.images) {
        return Err(e);
    }
    let progress = super::Progress::start("loading the mesh and its images");
    let mut out = lint::load(opts).map_err(|e| e.to_string())?;
    lint::analyse(&mut out, opts);
    drop(progress);
    for d in out
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
    {
        eprintln!(
            "meshext-lint: input problem: {}",
            crate::report::human::one_line(d)
        );
    }
    Ok(out)
}
