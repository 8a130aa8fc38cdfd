use super::mesh_args::{images_from, mesh_version_from, missing_image_source, select_config};
use super::{exit, usage_error, Progress};
use crate::baseline::Baseline;
use crate::config::{self, Config};
use crate::diag::Severity;
use crate::lint::{self, LintOptions, RunOptions};
use crate::model::{IstioVersion, MeshVersion};
use crate::report::{self, Format, FormatSpec, Report};
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
    /// Output format; `FORMAT=FILE` writes that format to FILE. Repeatable, for several
    /// formats in one run (`--format sarif=results.sarif --format human`); at most one goes to
    /// stdout (or to `-o FILE`).
    #[arg(long, value_name = "FORMAT[=FILE]", default_value = "human", value_parser = FormatSpecParser)]
    pub format: Vec<FormatSpec>,
    /// Lowest severity that makes the exit code 1 [default: error, or the config's `fail-on`].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Lowest severity shown; does not change the exit code [default: info, or the config's].
    #[arg(long, value_enum)]
    pub output_threshold: Option<Threshold>,
    /// Mesh version to assume (overrides the ServiceMeshControlPlane's spec.version), e.g. v2.1.
    #[arg(long, value_parser = super::mesh_args::MeshVersionParser)]
    pub mesh_version: Option<MeshVersion>,
    /// Upstream Istio release when no control plane in the inputs says one, e.g. 1.26.
    #[arg(long, value_parser = super::mesh_args::parse_istio_version)]
    pub istio_version: Option<IstioVersion>,
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
    /// Also load every manifest under DIR (that git tracks) to judge the given files, but report
    /// only findings the given files can cause: in them, or depending on a resource in them
    /// (for pre-commit). `--context` alone: the config's `context`, else the repository root.
    /// `--context DIR` takes DIR only when it is an existing directory.
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
    /// (`BASE/MX301.md`) [default: the config's `docs-url`, else the project's docs/rules/].
    #[arg(long, value_name = "BASE", value_parser = report::docs_base)]
    pub docs_url: Option<String>,

    /// When to colour the human format.
    #[arg(long, value_enum, default_value_t = super::ColorChoice::Auto)]
    pub color: super::ColorChoice,

    /// Write the report to FILE instead of stdout (the exit code is the same).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Record the current findings in FILE (they are then reported as baselined).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Read the document from stdin and report it as NAME (editors linting an unsaved buffer).
    /// When NAME is inside the given paths, it is linted with them, in place of the file on disk.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,
    /// Print findings only: no summary line, nothing at all when there is nothing to report.
    #[arg(short, long)]
    pub quiet: bool,
    /// Exit 0 even when findings fail the run (for SARIF upload steps); usage errors still
    /// exit 2.
    #[arg(long)]
    pub no_exit_codes: bool,
    /// Report only findings absent when the same run lints the tree of git revision REV
    /// (matched by fingerprint), e.g. a pull request's base. Offline: reads the local repository.
    #[arg(long, value_name = "REV")]
    pub new_since: Option<String>,
    /// Say on stderr which input files were skipped (`ignore:`, or not manifests) and why.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Parses `--format FORMAT[=FILE]`; offers the format names to help and completions.
#[derive(Clone)]
struct FormatSpecParser;

impl clap::builder::TypedValueParser for FormatSpecParser {
    type Value = FormatSpec;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        _arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<FormatSpec, clap::Error> {
        let text = value.to_string_lossy();
        FormatSpec::parse(&text).map_err(|e| {
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("invalid value '{text}' for '--format <FORMAT[=FILE]>': {e}\n"),
            )
            .with_cmd(cmd)
        })
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(
            Format::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value),
        ))
    }
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
            istio_version: args.istio_version,
            images,
            no_runtime: args.no_runtime,
        },
        context,
        rules: cfg.rules.clone(),
        suppress,
        baseline,
        stdin_name: args.stdin_filename.clone(),
        new_since: args.new_since.clone(),
    })
}

pub fn run(args: LintArgs) -> i32 {
    let cfg = match select_config(args.config.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    // Checked before the (possibly long) run.
    let destinations = match destinations(&args) {
        Ok(d) => d,
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
    if args.verbose {
        for s in &outcome.skipped {
            // File names can hold control characters.
            eprintln!(
                "meshext-lint: {}",
                report::escape_controls(&s.to_string(), false)
            );
        }
    }
    if let Some(path) = &args.write_baseline {
        let text = Baseline::render(&outcome.diagnostics, &outcome.sources);
        if let Err(e) = std::fs::write(path, &text) {
            return usage_error(format!("{}: {e}", path.display()));
        }
        let b = Baseline::parse(&text).unwrap_or_default();
        if !args.quiet {
            eprintln!(
                "meshext-lint: recorded {} in {}",
                report::plural(b.len(), "finding"),
                path.display()
            );
        }
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
    let docs_url = args
        .docs_url
        .clone()
        .or_else(|| cfg.docs_url.clone())
        .unwrap_or_else(|| report::DEFAULT_DOCS_URL.to_string());
    let mut report = Report {
        diagnostics: &shown,
        tally: report::Tally::new(&outcome.diagnostics, threshold, fail_on),
        sources: &outcome.sources,
        files: outcome.files,
        mesh_version: outcome.mesh.version.to_string(),
        color: false,
        docs_url,
        quiet: args.quiet,
    };
    // Files that were all skipped (and said so under --verbose) are not "no files".
    if outcome.files == 0 && outcome.skipped.is_empty() && !args.quiet {
        eprintln!(
            "meshext-lint: warning: no .yaml, .yml or .json files in {}",
            crate::report::escape_controls(&args.paths.join(", "), false)
        );
    }
    // Every output is written before the exit code is decided, once, from the findings.
    for (format, dest) in &destinations {
        report.color = *format == Format::Human && {
            use std::io::IsTerminal;
            let to_terminal = dest.is_none() && std::io::stdout().is_terminal();
            super::use_color_for(args.color, to_terminal)
        };
        let text = report::render(*format, &report);
        match dest {
            Some(path) => {
                if let Err(e) = std::fs::write(path, text.as_bytes()) {
                    return usage_error(format!("{}: {e}", path.display()));
                }
            }
            None => {
                let written = super::write_stdout(text.as_bytes());
                if written != exit::OK {
                    return written;
                }
            }
        }
    }
    let code = exit_code(&outcome.diagnostics, fail_on);
    debug_assert!(code == exit::OK || code == exit::FINDINGS);
    if args.no_exit_codes {
        exit::OK
    } else {
        code
    }
}

/// Where each `--format` goes: its own `=FILE`, else `-o FILE`, else stdout (`None`). Two
/// formats cannot share stdout or a file.
fn destinations(args: &LintArgs) -> Result<Vec<(Format, Option<PathBuf>)>, String> {
    let mut out: Vec<(Format, Option<PathBuf>)> = Vec::new();
    for spec in &args.format {
        let dest = spec.file.clone().or_else(|| args.output.clone());
        if let Some((other, _)) = out.iter().find(|(_, d)| *d == dest) {
            return Err(match &dest {
                None => format!(
                    "--format {} and --format {} both write to stdout; give one a file: --format {}=FILE",
                    name(*other),
                    name(spec.format),
                    name(spec.format)
                ),
                Some(p) => format!(
                    "--format {} and --format {} both write to {}",
                    name(*other),
                    name(spec.format),
                    p.display()
                ),
            });
        }
        out.push((spec.format, dest));
    }
    Ok(out)
}

fn name(f: Format) -> String {
    f.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// The exit code for findings under `--fail-on`: 1 when they fail the run, else 0.
pub fn exit_code(diags: &[crate::diag::Diagnostic], fail_on: FailOn) -> i32 {
    if crate::report::fails(diags, fail_on) {
        super::exit::FINDINGS
    } else {
        super::exit::OK
    }
}
