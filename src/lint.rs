//! The `lint` pipeline: load inputs → facts (mesh, images, chains) → the rule units of
//! [`registry::UNITS`], stage by stage, so every command sees the same mesh.
//!
//! [`run`] wraps [`lint`] with what CI needs: a context directory loaded for judgement while
//! only what the given files cause is reported (pre-commit passes just the changed files), then
//! suppressions, per-rule settings from the config, the baseline and `--new-since`.

use crate::baseline::Baseline;
use crate::chain::{self, ExtensionDefaults, WorkloadChain};
use crate::config::RuleSetting;
use crate::diag::Diagnostic;
use crate::diag::Location;
use crate::extensions::{self, Resolution};
use crate::image::{ImageError, ImageStore};
use crate::load::inputs::{self, InputPath, LoadProblem, Selection, Skipped};
use crate::load::Document;
use crate::model::{self, IstioVersion, Mesh, MeshVersion, VersionSource};
use crate::rules::registry::{self, Facts, Stage};
use crate::simulate::startup::Startup;
use crate::source::SourceFile;
use crate::suppress::{Origin, SuppressionProblem, Suppressor};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Paths, directories, globs or `-`.
    pub paths: Vec<String>,
    /// Glob patterns of files to skip when walking directories.
    pub ignore: Vec<String>,
    pub mesh_version: Option<(MeshVersion, VersionSource)>,
    /// `--istio-version`: the Istio release when no control plane in the inputs says one.
    pub istio_version: Option<IstioVersion>,
    /// Pulled extension images (`--images`, config `images:`). Without any, image and module
    /// checks are skipped.
    pub images: Vec<PathBuf>,
    /// Skip starting the modules (MX7xx).
    pub no_runtime: bool,
}

/// Everything a run produced.
pub struct Outcome {
    pub mesh: Mesh,
    pub documents: Vec<Arc<Document>>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: HashMap<String, Arc<SourceFile>>,
    pub files: usize,
    /// Each extension's pulled image and module (empty without `images`).
    pub resolution: Resolution,
    /// The effective filter chain of every in-mesh workload.
    pub chains: Vec<WorkloadChain>,
    /// What the loader found wrong with the input files (reported as MX1xx).
    pub load_problems: Vec<LoadProblem>,
    /// The manifest defaults the chains were built with.
    pub defaults: ExtensionDefaults,
    /// `--images` sources that could not be read.
    pub image_sources: Vec<ImageError>,
    /// How each pulled module started (empty with `--no-runtime` or without images).
    pub startups: Vec<Startup>,
    /// Input files left out: `ignore:`, or not manifests (`lint --verbose` lists them).
    pub skipped: Vec<Skipped>,
}

impl Outcome {
    /// The facts the rule units judge.
    fn facts<'a>(&'a self, suppression_problems: &'a [SuppressionProblem]) -> Facts<'a> {
        Facts {
            load_problems: &self.load_problems,
            documents: &self.documents,
            mesh: &self.mesh,
            resolution: &self.resolution,
            defaults: &self.defaults,
            chains: &self.chains,
            image_sources: &self.image_sources,
            startups: &self.startups,
            suppression_problems,
        }
    }
}

/// A problem that stops the run before any finding (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Loads the inputs and builds the mesh; only problems of the files themselves are reported.
pub fn load(opts: &LintOptions) -> Result<Outcome, UsageError> {
    let ignore = inputs::globset(&opts.ignore).map_err(UsageError)?;
    let sel = inputs::select(&opts.paths, &ignore).map_err(UsageError)?;
    load_paths(&sel, opts)
}

/// No input files at all is an error here (`chain`, `simulate` have nothing to show); files
/// that were all skipped (an ignored Helm template passed by pre-commit) make an empty run.
/// `lint` reports an empty directory as an empty result instead ([`run`]).
fn load_paths(sel: &Selection, opts: &LintOptions) -> Result<Outcome, UsageError> {
    if sel.paths.is_empty() && sel.skipped.is_empty() {
        return Err(UsageError(format!(
            "no .yaml, .yml or .json files in {}",
            opts.paths.join(", ")
        )));
    }
    load_inputs(sel, opts)
}

fn load_inputs(sel: &Selection, opts: &LintOptions) -> Result<Outcome, UsageError> {
    let loaded = inputs::load_selection(sel).map_err(UsageError)?;
    let paths = &sel.paths;
    let read_but_skipped = loaded.skipped.len() - sel.skipped.len();
    let mesh = model::build::build_with(
        &loaded.documents,
        opts.mesh_version.clone(),
        opts.istio_version
            .map(|v| (v, VersionSource::IstioCommandLine)),
    );
    let sources = loaded
        .sources
        .iter()
        .map(|s| (s.name.clone(), s.clone()))
        .collect();
    let mut out = Outcome {
        mesh,
        documents: loaded.documents,
        diagnostics: Vec::new(),
        sources,
        files: paths.len() - read_but_skipped,
        resolution: Resolution::default(),
        chains: Vec::new(),
        load_problems: loaded.problems,
        defaults: ExtensionDefaults::default(),
        image_sources: Vec::new(),
        startups: Vec::new(),
        skipped: loaded.skipped,
    };
    let mut found = Vec::new();
    registry::run(&out.facts(&[]), &[Stage::Files], &mut found);
    out.diagnostics = found;
    Ok(out)
}

/// Loads and checks.
pub fn lint(opts: &LintOptions) -> Result<Outcome, UsageError> {
    let out = load(opts)?;
    Ok(check(out, opts))
}

/// Resolves images and builds the filter chains: what `chain` and `simulate` need. Of the
/// checks, only the image stage runs (unreadable images and manifests are input problems for
/// them); modules are not judged. The chains' manifest defaults are in `out.defaults`.
pub fn analyse(out: &mut Outcome, opts: &LintOptions) {
    gather(out, opts);
    let mut found = Vec::new();
    registry::run(&out.facts(&[]), &[Stage::Images], &mut found);
    out.diagnostics.extend(found);
}

/// Resolves images and builds the filter chains (no checks).
fn gather(out: &mut Outcome, opts: &LintOptions) {
    if !opts.images.is_empty() {
        let (store, problems) = ImageStore::open(&opts.images);
        out.image_sources = problems;
        out.resolution = extensions::resolve(&out.mesh, &store);
        // Findings inside an image's manifest.yaml get snippets like any other file.
        for a in out.resolution.by_extension.iter().flatten() {
            if let Some(src) = &a.manifest_source {
                out.sources
                    .entry(src.name.clone())
                    .or_insert_with(|| src.clone());
            }
        }
    }
    out.defaults = out.resolution.defaults(&out.mesh);
    out.chains = chain::build_chains(&out.mesh, &out.defaults);
}

/// The stages whose facts a run gathers, after the files (judged by [`load`]).
fn stages(opts: &LintOptions) -> Vec<Stage> {
    let mut stages = vec![Stage::Documents, Stage::Mesh];
    if !opts.images.is_empty() {
        stages.extend([Stage::Images, Stage::Modules]);
    }
    stages.push(Stage::Chains);
    if !opts.no_runtime {
        stages.push(Stage::Runtime);
    }
    stages
}

fn check(mut out: Outcome, opts: &LintOptions) -> Outcome {
    gather(&mut out, opts);
    if !opts.no_runtime {
        out.startups = crate::simulate::startup::start_extensions(&out.mesh, &out.resolution);
        out.resolution.plugins.root_id_misses =
            crate::plugin_startup::probe_root_ids(&out.mesh, &out.resolution.plugins);
    }
    let mut found = Vec::new();
    registry::run(&out.facts(&[]), &stages(opts), &mut found);
    out.diagnostics.append(&mut found);
    out.diagnostics.sort_by_key(|d| d.sort_key());
    out.diagnostics.dedup();
    out
}

/// [`lint`] plus the CI stages. `Default` gives plain `lint` behaviour.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub lint: LintOptions,
    /// Load everything under this directory too (in a git work tree, only the files git
    /// tracks), but report only the findings that the files of `lint.paths` can cause: located
    /// in them, or depending on a resource in them ([`crate::causes`]), findings without a
    /// file, and, when the index deletes files of the context, findings absent at `HEAD`.
    pub context: Option<PathBuf>,
    /// Per-rule overrides (config `rules:`).
    pub rules: Vec<(String, RuleSetting)>,
    /// `RULES=GLOB` suppressions with their origin and, for the config file, location.
    pub suppress: Vec<(String, Origin, Option<Location>)>,
    pub baseline: Option<Baseline>,
    /// `--stdin-filename NAME`: stdin is the document NAME (see [`with_stdin_as`]); only its
    /// findings are reported.
    pub stdin_name: Option<String>,
    /// A git revision: report only findings absent when the same run lints the tree at it
    /// (matched by fingerprint, like a baseline).
    pub new_since: Option<String>,
}

/// Loads (with context), checks, then applies suppressions, rule settings and the baseline.
/// Findings stay in the outcome when suppressed (marked), so reports can show them.
pub fn run(opts: &RunOptions) -> Result<Outcome, UsageError> {
    let lint_opts = &opts.lint;
    let ignore = inputs::globset(&lint_opts.ignore).map_err(UsageError)?;
    let given = inputs::select(&lint_opts.paths, &ignore).map_err(UsageError)?;
    let mut sel = given.clone();
    let targets = match &opts.stdin_name {
        Some(name) => {
            let (targets, paths) = with_stdin_as(name, given.paths.clone(), &lint_opts.paths);
            sel.paths = paths;
            targets
        }
        None => given.paths.clone(),
    };
    if let Some(dir) = &opts.context {
        if !dir.is_dir() {
            return Err(UsageError(format!(
                "--context {}: not a directory",
                dir.display()
            )));
        }
        let named: HashSet<PathBuf> = targets.iter().filter_map(canonical).collect();
        let walked = inputs::select(&[display_dir(dir)], &ignore).map_err(UsageError)?;
        // Untracked files (scratch copies, generated output) are not part of what is committed.
        let tracked = crate::git::tracked(dir);
        for p in walked.paths {
            let c = canonical(&p);
            let is_given = c.as_ref().is_some_and(|c| named.contains(c));
            let untracked = match (&tracked, &c) {
                (Some(t), Some(c)) => !t.contains(c),
                _ => false,
            };
            if !is_given && !untracked {
                if let InputPath::File(f) = &p {
                    sel.loose.insert(f.clone());
                }
                sel.paths.push(p);
            }
        }
    }
    // An empty directory lints to an empty report (valid in every format), not an error.
    let mut out = check(load_inputs(&sel, lint_opts)?, lint_opts);

    let mut suppressor = Suppressor::new();
    suppressor.scan(&out.documents, out.sources.values());
    for (spec, origin, loc) in &opts.suppress {
        suppressor
            .add_pattern(spec, *origin, loc.clone())
            .map_err(UsageError)?;
    }
    let problems = suppressor.apply(&mut out.diagnostics);
    let mut found = Vec::new();
    registry::run(&out.facts(&problems), &[Stage::Suppressions], &mut found);
    out.diagnostics.append(&mut found);
    apply_rule_settings(&mut out.diagnostics, &opts.rules);
    if let Some(b) = &opts.baseline {
        b.apply(&mut out.diagnostics, &out.sources);
    }
    if let Some(dir) = &opts.context {
        let names: HashSet<String> = targets.iter().map(input_name).collect();
        // A deleted file is not among the changed files (pre-commit passes only existing
        // ones), and what its absence causes points at nothing: when the index deletes files
        // of the context, the findings absent at HEAD are blamed on the deletion.
        let mut after_deletion = Vec::new();
        if opts.new_since.is_none() && !crate::git::staged_deletions(dir).is_empty() {
            let whole = RunOptions {
                lint: LintOptions {
                    paths: vec![display_dir(dir)],
                    ..lint_opts.clone()
                },
                context: None,
                new_since: None,
                ..opts.clone()
            };
            let before = at_revision(&whole, "HEAD")?;
            after_deletion = out.diagnostics.clone();
            Baseline::of(&before.diagnostics, &before.sources)
                .remove_recorded(&mut after_deletion, &out.sources);
        }
        keep_caused(&mut out.diagnostics, &out.mesh, &names);
        let kept: HashSet<_> = out.diagnostics.iter().map(Diagnostic::sort_key).collect();
        out.diagnostics.extend(
            after_deletion
                .into_iter()
                .filter(|d| !kept.contains(&d.sort_key())),
        );
        // Report (and count) only the given files, not what the context walk met.
        out.skipped
            .retain(|s| names.contains(&s.path) || given.skipped.contains(s));
        let unread = out
            .skipped
            .iter()
            .filter(|s| names.contains(&s.path))
            .count();
        out.files = targets.len() - unread;
    }
    if opts.context.is_none() && opts.stdin_name.is_some() {
        // An editor buffer: only its own findings (and those inside images it uses).
        let names: HashSet<String> = targets.iter().map(input_name).collect();
        let in_image = |file: &str| file.contains("!/");
        out.diagnostics.retain(|d| {
            d.location.as_ref().is_none_or(|l| {
                names.contains(&l.file)
                    || (in_image(&l.file)
                        && d.related.iter().any(|r| names.contains(&r.location.file)))
            })
        });
        out.files = targets.len();
    }
    if let Some(rev) = &opts.new_since {
        let before = at_revision(opts, rev)?;
        Baseline::of(&before.diagnostics, &before.sources)
            .remove_recorded(&mut out.diagnostics, &out.sources);
    }
    out.diagnostics.sort_by_key(|d| d.sort_key());
    out.diagnostics.dedup();
    Ok(out)
}

/// How many changed resources a kept finding names as related locations.
const NAMED_CAUSES: usize = 5;

/// Keeps the findings that a change to the files named `changed` can cause: located in one,
/// with a related location in one (the control plane that disables extensions, the member
/// roll, the resources using an image, the workloads of a chain finding), or depending on a
/// resource declared in one ([`crate::causes`]); those get the resource as a related location.
/// Findings without a location are kept.
pub fn keep_caused(diags: &mut Vec<Diagnostic>, mesh: &Mesh, changed: &HashSet<String>) {
    let causality = crate::causes::Causality::new(mesh);
    diags.retain_mut(|d| {
        let Some(at) = &d.location else {
            return true;
        };
        if changed.contains(&at.file)
            || d.related.iter().any(|r| changed.contains(&r.location.file))
        {
            return true;
        }
        let causes: Vec<_> = causality
            .causes(d)
            .into_iter()
            .filter(|c| changed.contains(&c.location.file))
            .collect();
        for c in causes.iter().take(NAMED_CAUSES) {
            d.related.push(crate::diag::Related {
                location: c.location.clone(),
                message: format!("changed: {}, which this finding depends on", c.resource),
            });
        }
        !causes.is_empty()
    });
}

/// The same run on the tree of git revision `rev`, with the findings' file names as the
/// current run gives them (so fingerprints of findings without a resource match too). Paths
/// that do not exist at `rev` are left out; the images are the current ones.
fn at_revision(opts: &RunOptions, rev: &str) -> Result<Outcome, UsageError> {
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| UsageError(format!("--new-since: {e}")))?;
    let top = crate::git::toplevel(&cwd)
        .and_then(|t| t.canonicalize().ok())
        .ok_or_else(|| UsageError("--new-since needs a git work tree".into()))?;
    let tree = crate::git::checkout_tree(&top, rev).map_err(UsageError)?;
    let prefix = cwd.strip_prefix(&top).unwrap_or(Path::new(""));
    let old_top = tree.0.to_string_lossy().into_owned();
    let old_cwd = if prefix.as_os_str().is_empty() {
        old_top.clone()
    } else {
        format!("{old_top}/{}", prefix.to_string_lossy())
    };
    // A path as the old tree holds it; paths outside the repository stay as they are.
    let map = |p: &str| -> String {
        let path = Path::new(p);
        match path.strip_prefix(&top) {
            Ok(rel) if path.is_absolute() => format!("{old_top}/{}", rel.to_string_lossy()),
            _ if path.is_absolute() => p.to_string(),
            _ => format!("{old_cwd}/{}", p.strip_prefix("./").unwrap_or(p)),
        }
    };
    // Whether the old tree has the path (for a glob, its literal directory).
    let exists = |p: &String| {
        let literal: PathBuf = Path::new(p)
            .components()
            .take_while(|c| {
                !c.as_os_str()
                    .to_string_lossy()
                    .contains(['*', '?', '[', '{'])
            })
            .collect();
        literal.exists()
    };
    let mut old = opts.clone();
    old.new_since = None;
    // The old tree's copy of the buffer's file is on disk there; stdin is read once.
    old.stdin_name = None;
    old.lint.paths = opts
        .lint
        .paths
        .iter()
        .map(|p| map(p))
        .filter(exists)
        .collect();
    old.context = match &opts.context {
        Some(dir) => Some(map(&display_dir(dir)))
            .filter(exists)
            .map(PathBuf::from),
        None => None,
    };
    // Relative image paths name the current tree's images.
    old.lint.images = opts.lint.images.iter().map(|p| cwd.join(p)).collect();
    let mut before = match run(&old) {
        Ok(o) => o,
        // Nothing to lint at `rev` (the files are new): everything is new.
        Err(_) if old.lint.paths.is_empty() && old.context.is_none() => return Ok(empty()),
        Err(e) => return Err(UsageError(format!("--new-since {rev}: {e}"))),
    };
    let rename = |name: &str| -> String {
        if let Some(rest) = name.strip_prefix(&format!("{old_cwd}/")) {
            rest.strip_prefix("./").unwrap_or(rest).to_string()
        } else if let Some(rest) = name.strip_prefix(&format!("{old_top}/")) {
            top.join(rest).to_string_lossy().into_owned()
        } else {
            name.to_string()
        }
    };
    for d in &mut before.diagnostics {
        if let Some(l) = &mut d.location {
            l.file = rename(&l.file);
        }
    }
    before.sources = before
        .sources
        .into_iter()
        .map(|(k, v)| (rename(&k), v))
        .collect();
    Ok(before)
}

/// An outcome without inputs.
fn empty() -> Outcome {
    Outcome {
        mesh: Mesh::default(),
        documents: Vec::new(),
        diagnostics: Vec::new(),
        sources: HashMap::new(),
        files: 0,
        resolution: Resolution::default(),
        chains: Vec::new(),
        load_problems: Vec::new(),
        defaults: ExtensionDefaults::default(),
        image_sources: Vec::new(),
        startups: Vec::new(),
        skipped: Vec::new(),
    }
}

/// Drops findings of rules turned off and changes severities as configured.
pub fn apply_rule_settings(diags: &mut Vec<Diagnostic>, rules: &[(String, RuleSetting)]) {
    let setting = |id: &str| {
        rules
            .iter()
            .rev()
            .find(|(r, _)| r.eq_ignore_ascii_case(id))
            .map(|(_, s)| *s)
    };
    diags.retain_mut(|d| match setting(d.rule.as_str()) {
        Some(RuleSetting::Off) => false,
        Some(RuleSetting::Severity(s)) => {
            d.severity = s;
            true
        }
        None => true,
    });
}

fn canonical(p: &InputPath) -> Option<PathBuf> {
    match p {
        InputPath::File(f) => f.canonicalize().ok(),
        // The buffer stands in for its file on disk, which a context walk must then skip.
        InputPath::StdinAs(name) => Path::new(name).canonicalize().ok(),
        InputPath::Stdin => None,
    }
}

/// An absolute form of a path that may not exist yet (an unsaved editor buffer): symbolic
/// links resolved as far as the path exists.
fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(file)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            absolute(dir).join(file)
        }
        _ => std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
    }
}

/// `--stdin-filename NAME`: the targets (stdin, named NAME) and the inputs to load. When NAME
/// is one of the given files or lies under a given directory, the other inputs are loaded with
/// it and NAME's file on disk is left out (the buffer replaces it); otherwise stdin is linted
/// alone. A `-` among the paths is that same stdin.
fn with_stdin_as(
    name: &str,
    expanded: Vec<InputPath>,
    args: &[String],
) -> (Vec<InputPath>, Vec<InputPath>) {
    let me = InputPath::StdinAs(name.to_string());
    let abs = absolute(Path::new(name));
    let is_me = |p: &InputPath| matches!(p, InputPath::File(f) if absolute(f) == abs);
    let inside = expanded.iter().any(is_me)
        || args
            .iter()
            .any(|a| a != "-" && Path::new(a).is_dir() && abs.starts_with(absolute(Path::new(a))));
    let mut paths = vec![me.clone()];
    if inside {
        paths.extend(
            expanded
                .into_iter()
                .filter(|p| !is_me(p) && *p != InputPath::Stdin),
        );
    }
    (vec![me], paths)
}

/// The name findings use for an input (as `inputs::read` names it).
fn input_name(p: &InputPath) -> String {
    match p {
        InputPath::Stdin => "<stdin>".into(),
        InputPath::File(f) => f.to_string_lossy().into_owned(),
        InputPath::StdinAs(name) => name.clone(),
    }
}

/// A context directory as the walk should name it: relative to the working directory when it
/// contains it (`..`), so reported names stay short and match the given paths' form.
fn display_dir(dir: &Path) -> String {
    let rel = (|| {
        let cwd = std::env::current_dir().ok()?.canonicalize().ok()?;
        let abs = dir.canonicalize().ok()?;
        if abs == cwd {
            return Some(".".to_string());
        }
        if let Ok(below) = abs.strip_prefix(&cwd) {
            return Some(below.to_string_lossy().into_owned());
        }
        let up = cwd.strip_prefix(&abs).ok()?.components().count();
        Some(vec![".."; up].join("/"))
    })();
    rel.unwrap_or_else(|| dir.to_string_lossy().into_owned())
}
