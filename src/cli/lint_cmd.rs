use super::mesh_args::{images_from, mesh_version_from, missing_image_source, select_config};
use super::{exit, usage_error, Progress};
use crate::baseline::Baseline;
use crate::config::{self, Config};
use crate::diag::Severity;
use crate::lint::{self, LintOptions, RunOptions};
use crate::model::MeshVersion;
use crate::report::{self, Format, Report};
use crate::suppress::Origin;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

pub use crate::report::FailOn;

/// `--output-threshold` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Threshold {
    Error,
    Warning,
    Info,
}

impl Threshold {
    pub fn severity(self) -> Severity {
        match self {
            Threshold::Error => Severity::Error,
            Threshold::Warning => Severity::Warning,
            Threshold::Info => Severity::Info,
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
    /// Lowest severity that makes the exit code 1 [default: error, or the config's `fail-on`].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Lowest severity shown; does not change the exit code [default: info, or the config's].
    #[arg(long, value_enum)]
    pub output_threshold: Option<Threshold>,
    /// Mesh version to assume (overrides the ServiceMeshControlPlane's spec.version), e.g. v2.1.
    #[arg(long, value_parser = super::mesh_args::MeshVersionParser)]
    pub mesh_version: Option<MeshVersion>,
    /// Pulled extension images: an OCI layout directory, an OCI archive, a docker-archive, or
    /// an unpacked image directory (`REF=DIR` to name it). Repeatable [default: the config's
    /// `images`]. Without images, image and module checks are skipped.
    #[arg(long, value_name = "PATH")]
    pub images: Vec<PathBuf>,
    /// Do not start the extensions' modules (skips MX701–MX705).
    #[arg(long)]
    pub no_runtime: bool,
    /// Configuration file [default: the nearest .meshext-lint.yaml or .yml in this or a parent directory, up to the repository root].
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any .meshext-lint.yaml.
    #[arg(long)]
    pub no_config: bool,
    /// Also load every manifest under DIR to judge the given files, but report only findings in
    /// the given files (for pre-commit). `--context` alone: the config's `context`, else the
    /// repository root. `--context DIR` takes DIR only when it is an existing directory.
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    pub context: Option<Option<PathBuf>>,
    /// Suppress findings: RULES=GLOB, e.g. 'MX306=ServiceMeshExtension shop/*' (GLOB matches
    /// `Kind namespace/name`; default `*`). Repeatable.
    #[arg(long, value_name = "RULES=GLOB")]
    pub suppress: Vec<String>,
    /// Ignore findings recorded in this baseline file [default: the config's `baseline`].
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Base URL of the rule documentation pages linked from SARIF, rdjson, Markdown and JSON
    /// (`BASE/MX301.md`).
    #[arg(long, value_name = "BASE", default_value = report::DEFAULT_DOCS_URL, value_parser = report::docs_base)]
    pub docs_url: String,

    /// When to colour the human format.
    #[arg(long, value_enum, default_value_t = super::ColorChoice::Auto)]
    pub color: super::ColorChoice,

    /// Write the report to FILE instead of stdout (the exit code is the same).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Record the current findings in FILE (they are then reported as baselined).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

/// Command line and configuration merged into pipeline options (flags win).
fn options(args: &LintArgs, cfg: &Config) -> Result<RunOptions, String> {
    let mesh_version = mesh_version_from(args.mesh_version, cfg);
    let context = match &args.context {
        None => None,
        Some(Some(dir)) => Some(dir.clone()),
        Some(None) => Some(
            cfg.context
                .clone()
                .or_else(|| std::env::current_dir().ok().and_then(|d| config::repo_root(&d)))
                .ok_or("--context without DIR needs a git repository or `context:` in the configuration")?,
        ),
    };
    let mut suppress: Vec<_> = cfg
        .suppress
        .iter()
        .map(|s| (s.spec.clone(), Origin::Config, s.location.clone()))
        .collect();
    suppress.extend(
        args.suppress
            .iter()
            .map(|s| (s.clone(), Origin::CommandLine, None)),
    );
    let baseline = match (&args.baseline, &cfg.baseline) {
        (Some(p), _) => Some(Baseline::load(p)?),
        // A configured baseline that does not exist yet is empty (write it with --write-baseline).
        (None, Some(p)) if p.exists() => Some(Baseline::load(p)?),
        _ => None,
    };
    let images = images_from(&args.images, cfg);
    if let Some(e) = missing_image_source(&images) {
        return Err(e);
    }
    Ok(RunOptions {
        lint: LintOptions {
            paths: args.paths.clone(),
            ignore: cfg.ignore.clone(),
            mesh_version,
            images,
            no_runtime: args.no_runtime,
        },
        context,
        rules: cfg.rules.clone(),
        suppress,
        baseline,
    })
}

pub fn run(args: LintArgs) -> i32 {
    let cfg = match select_config(args.config.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let opts = match options(&args, &cfg) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let progress = Progress::start("checking manifests");
    let outcome = lint::run(&opts);
    drop(progress);
    let mut outcome = match outcome {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    if let Some(path) = &args.write_baseline {
        let text = Baseline::render(&outcome.diagnostics, &outcome.sources);
        if let Err(e) = std::fs::write(path, &text) {
            return usage_error(format!("{}: {e}", path.display()));
        }
        let b = Baseline::parse(&text).unwrap_or_default();
        eprintln!(
            "meshext-lint: recorded {} in {}",
            report::plural(b.len(), "finding"),
            path.display()
        );
        b.apply(&mut outcome.diagnostics, &outcome.sources);
    }
    let fail_on = args
        .fail_on
        .or(cfg.fail_on.map(FailOn::from_threshold))
        .unwrap_or(FailOn::Error);
    let threshold = args
        .output_threshold
        .map(Threshold::severity)
        .or(cfg.output_threshold)
        .unwrap_or(Severity::Info);
    let shown = report::shown(&outcome.diagnostics, threshold);
    let report = Report {
        diagnostics: &shown,
        tally: report::Tally::new(&outcome.diagnostics, threshold, fail_on),
        sources: &outcome.sources,
        files: outcome.files,
        mesh_version: outcome.mesh.version.to_string(),
        color: args.format == Format::Human && {
            use std::io::IsTerminal;
            let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
            super::use_color_for(args.color, to_terminal)
        },
        docs_url: args.docs_url.clone(),
    };
    let text = report::render(args.format, &report);
    match &args.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text.as_bytes()) {
                return usage_error(format!("--output {}: {e}", path.display()));
            }
        }
        None => {
            super::write_stdout(text.as_bytes());
        }
    }
    let code = exit_code(&outcome.diagnostics, fail_on);
    debug_assert!(code == exit::OK || code == exit::FINDINGS);
    code
}

/// The exit code for findings under `--fail-on`: 1 when they fail the run, else 0.
pub fn exit_code(diags: &[crate::diag::Diagnostic], fail_on: FailOn) -> i32 {
    if crate::report::fails(diags, fail_on) {
        super::exit::FINDINGS
    } else {
        super::exit::OK
    }
}
