use super::{exit, usage_error, use_color};
use crate::diag::Severity;
use crate::lint::{self, LintOptions};
use crate::model::{MeshVersion, VersionSource};
use crate::report::{self, Format, Report};
use clap::{Args, ValueEnum};

/// The lowest severity that makes the run fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    None,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::None => None,
        }
    }
}

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Files, directories (recursive: .yaml/.yml/.json), glob patterns, or `-` for stdin.
    #[arg(default_value = ".")]
    pub paths: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: FailOn,
    /// Mesh version to assume (overrides the ServiceMeshControlPlane's spec.version), e.g. v2.1.
    #[arg(long, value_parser = parse_mesh_version)]
    pub mesh_version: Option<MeshVersion>,
}

fn parse_mesh_version(s: &str) -> Result<MeshVersion, String> {
    MeshVersion::parse(s).ok_or_else(|| format!("not a mesh version: {s:?} (expected e.g. v2.1)"))
}

/// Exit code for a set of findings under a threshold.
pub fn exit_code(diags: &[crate::diag::Diagnostic], fail_on: FailOn) -> i32 {
    match fail_on.threshold() {
        Some(t)
            if diags
                .iter()
                .any(|d| d.suppressed.is_none() && d.severity >= t) =>
        {
            exit::FINDINGS
        }
        _ => exit::OK,
    }
}

pub fn run(args: LintArgs) -> i32 {
    let opts = LintOptions {
        paths: args.paths.clone(),
        ignore: Vec::new(),
        mesh_version: args.mesh_version.map(|v| (v, VersionSource::CommandLine)),
    };
    let outcome = match lint::lint(&opts) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let report = Report {
        diagnostics: &outcome.diagnostics,
        sources: &outcome.sources,
        files: outcome.files,
        mesh_version: outcome.mesh.version.to_string(),
        color: args.format == Format::Human && use_color(),
    };
    print!("{}", report::render(args.format, &report));
    exit_code(&outcome.diagnostics, args.fail_on)
}
