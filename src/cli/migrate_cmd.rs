//! `meshext-lint migrate`: ServiceMeshExtensions → WasmPlugins (engine: `crate::migrate`).

use super::mesh_args::{load_mesh, select_config, ConfigArgs, MeshArgs, MeshVersionParser};
use super::{exit, usage_error, write_stdout, write_text};
use crate::image::pack::{create_dir_no_follow, write_no_follow};
use crate::load::inputs::LoadProblem;
use crate::migrate::{self, render, Migration};
use crate::model::MeshVersion;
use clap::{Args, ValueEnum};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MigrateFormat {
    Human,
    Json,
    /// A pull-request description: what changed, what could not be kept, what to check.
    Markdown,
}

const AFTER: &str = "\
Each ServiceMeshExtension becomes a WasmPlugin with the same namespace and name: phase and an
explicit priority chosen so the plugins keep the SMEs' order, pluginName <name>_root (the root
id the SME had), pluginConfig from config, selector.matchLabels from workloadSelector.labels,
url oci://<image>, and `match` to keep it inbound-only where the target version has it.
Everything that changes what runs is listed per plugin.

Exit codes: 0 every plugin keeps what ran; 1 something could not be kept (listed);
2 unusable input (unreadable or invalid files, no SME version, a file that cannot be rewritten).";

#[derive(Args, Debug)]
#[command(after_long_help = AFTER)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub mesh: MeshArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The mesh version the WasmPlugins are for (v2.2 … v2.6, v3.0 …).
    #[arg(long, value_parser = MeshVersionParser)]
    pub to: MeshVersion,
    /// Write one WasmPlugin per SME as DIR/<namespace>/<name>.yaml.
    #[arg(long, value_name = "DIR", conflicts_with = "in_place")]
    pub out: Option<PathBuf>,
    /// Replace each SME document in its file with the WasmPlugin, keeping every other byte.
    #[arg(long)]
    pub in_place: bool,
    /// Output format of the report.
    #[arg(long, value_enum, default_value = "human")]
    pub format: MigrateFormat,
    /// Where to write the repackaged images (an OCI layout directory, or an OCI archive when
    /// PATH ends in .tar) [default: DIR/images with --out]. Needs --images: each SME image's
    /// module becomes a WasmPlugin image and the plugin's url and sha256 point at it.
    #[arg(long, value_name = "PATH")]
    pub image_out: Option<PathBuf>,
    /// Registry and organisation of the repackaged images' references, e.g. `quay.io/acme`
    /// [default: the SME image's repository, tag suffixed with `-wasmplugin`].
    #[arg(long, value_name = "PREFIX")]
    pub registry: Option<String>,
    /// Which WasmPlugin image variant to write (compat: one layer with plugin.wasm, read by
    /// every fetcher version; artifact: the 2-layer OCI Wasm artifact).
    #[arg(long, value_enum, default_value = "compat")]
    pub variant: super::pack_cmd::PackVariant,
    /// Run each scenario through the source mesh (SMEs) and the result (WasmPlugins) with
    /// the real modules and report any difference in responses, upstream requests,
    /// callouts, logs or metrics. Needs --images and the repackaged images (--out or
    /// --image-out).
    #[arg(long, value_name = "SCENARIO", num_args = 1..)]
    pub verify: Vec<PathBuf>,
}

pub fn run(args: MigrateArgs) -> i32 {
    match migrate(&args) {
        Ok(code) => code,
        Err(e) => usage_error(e),
    }
}

fn migrate(args: &MigrateArgs) -> Result<i32, String> {
    if args.to < MeshVersion::V2_2 {
        return Err(format!(
            "--to {}: WasmPlugins exist from v2.2 (Istio 1.12) on",
            args.to
        ));
    }
    let cfg = select_config(args.config.config.as_deref(), args.config.no_config)?;
    let opts = args.mesh.options(&cfg, &args.mesh.paths);
    let loaded = load_mesh(&opts)?;
    // A file that did not parse may hold SMEs: converting the rest would silently drop them.
    if let Some(p) = loaded.load_problems.iter().find(|p| blocks(p)) {
        return Err(format!(
            "{}: the inputs must parse before they can be migrated",
            describe(p)
        ));
    }
    let from = loaded.mesh.version;
    if from > MeshVersion::V2_2 {
        return Err(format!(
            "the inputs' mesh version is {from}, where ServiceMeshExtensions no longer run; pass --mesh-version with the version they run on (v2.0, v2.1 or v2.2)"
        ));
    }
    if loaded.mesh.extensions.is_empty() {
        return Err("no ServiceMeshExtension in the inputs: nothing to migrate".into());
    }
    let resolved = crate::chain::resolve_extensions(&loaded.mesh, &loaded.defaults);
    let mut m = migrate::plan(&loaded.mesh, &resolved, &loaded.chains, args.to);
    migrate::check_root_ids(&mut m, |i| {
        loaded
            .resolution
            .by_extension
            .get(i)
            .and_then(|a| a.as_ref())
            .and_then(|a| a.module.clone())
    });
    let mut written = render::Written::default();
    let image_out = args
        .image_out
        .clone()
        .or_else(|| args.out.as_ref().map(|d| d.join("images")));
    if let (Some(out), false) = (&image_out, args.mesh.images.is_empty()) {
        written.files.extend(repackage(&loaded, &mut m, out, args)?);
    }
    // The proof: the chains of the result against the source's.
    let after = migrate::result_chains(&loaded.documents, &m);
    m.differences = migrate::proof::compare(&loaded.chains, &after);
    m.soft_differences = migrate::proof::compare_soft(&loaded.chains, &after, &m.differences);
    if !args.verify.is_empty() {
        let Some(out) = image_out.as_ref().filter(|_| !args.mesh.images.is_empty()) else {
            return Err("--verify runs the modules of both meshes: pass --images and --out DIR (or --image-out PATH) so the SME images are repackaged".into());
        };
        m.mismatches = verify(&loaded, &m, out, args, &cfg)?;
    }
    if let Some(dir) = &args.out {
        written.files.extend(write_out(dir, &m)?);
    } else if args.in_place {
        written.files.extend(rewrite_in_place(&loaded.mesh, &m)?);
    }
    let code = match args.format {
        MigrateFormat::Human => write_text(&render::human(&m, &written)),
        MigrateFormat::Json => write_stdout(render::json(&m, &written).as_bytes()),
        MigrateFormat::Markdown => write_text(&render::markdown(&m, &written)),
    };
    if code != exit::OK {
        return Ok(code);
    }
    Ok(if m.kept() { exit::OK } else { exit::FINDINGS })
}

/// Writes each SME module that was pulled as a WasmPlugin image into `out` and points the
/// plugin at it. Plugins whose module is not available keep their note.
fn repackage(
    loaded: &crate::lint::Outcome,
    m: &mut Migration,
    out: &Path,
    args: &MigrateArgs,
) -> Result<Vec<String>, String> {
    use crate::image::pack::{pack_wasm_plugin_bytes, WasmPluginVariant};
    let variant = match args.variant {
        super::pack_cmd::PackVariant::Compat => WasmPluginVariant::Compat,
        super::pack_cmd::PackVariant::Artifact => WasmPluginVariant::Artifact,
    };
    let how = match variant {
        WasmPluginVariant::Compat => "compat image, one layer with plugin.wasm",
        WasmPluginVariant::Artifact => "OCI Wasm artifact",
    };
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            create_dir_no_follow(parent)?;
        }
    }
    let mut any = false;
    for p in &mut m.plugins {
        let ext = &loaded.mesh.extensions[p.index];
        let module = loaded
            .resolution
            .by_extension
            .get(p.index)
            .and_then(|a| a.as_ref())
            .and_then(|a| a.module.clone());
        let (Some(module), Some(image)) = (module, ext.image.as_deref()) else {
            continue;
        };
        let Some(reference) = migrate::repackaged_reference(image, args.registry.as_deref()) else {
            continue;
        };
        let r = pack_wasm_plugin_bytes(
            &module,
            &format!("{image} module"),
            &reference,
            out,
            variant,
        )?;
        p.repackaged(&reference, &r.digest, how);
        any = true;
    }
    Ok(if any {
        vec![out.display().to_string()]
    } else {
        Vec::new()
    })
}

fn blocks(p: &LoadProblem) -> bool {
    matches!(
        p,
        LoadProblem::TooLarge { .. }
            | LoadProblem::NotUtf8 { .. }
            | LoadProblem::Binary { .. }
            | LoadProblem::Syntax { .. }
    )
}

fn describe(p: &LoadProblem) -> String {
    let (what, at) = match p {
        LoadProblem::TooLarge { at } => ("file too large".to_string(), at),
        LoadProblem::NotUtf8 { at, .. } => ("not UTF-8".to_string(), at),
        LoadProblem::Binary { at, .. } => ("binary data".to_string(), at),
        LoadProblem::Syntax { message, at } => (message.clone(), at),
        LoadProblem::DuplicateKey { key, at, .. } => (format!("duplicate key {key}"), at),
        LoadProblem::NotAnObject { at } | LoadProblem::NotAMapping { at } => {
            ("not a Kubernetes object".to_string(), at)
        }
    };
    format!("{}:{}:{}: {what}", at.file, at.line, at.column)
}

/// `DIR/<namespace>/<name>.yaml` per plugin; never through a symlink.
fn write_out(dir: &Path, m: &Migration) -> Result<Vec<String>, String> {
    create_dir_no_follow(dir)?;
    let mut files = Vec::new();
    for p in &m.plugins {
        let (ns, name) = p.key.split_once('/').unwrap_or(("default", &p.key));
        for part in [ns, name] {
            // Kubernetes names are DNS labels; anything else would escape DIR.
            if part.is_empty() || part.contains(['/', '\\']) || part == "." || part == ".." {
                return Err(format!("cannot write a file for {}: invalid name", p.key));
            }
        }
        let sub = dir.join(ns);
        create_dir_no_follow(&sub)?;
        let path = sub.join(format!("{name}.yaml"));
        write_no_follow(&path, p.yaml.as_bytes())?;
        files.push(path.display().to_string());
    }
    Ok(files)
}

/// Each input file that holds SMEs, with its SME documents replaced by the WasmPlugins.
fn spliced_files(
    mesh: &crate::model::Mesh,
    m: &Migration,
) -> Result<BTreeMap<String, String>, String> {
    let mut per_file: BTreeMap<String, (std::sync::Arc<crate::source::SourceFile>, Vec<_>)> =
        BTreeMap::new();
    for p in &m.plugins {
        let meta = &mesh.extensions[p.index].meta;
        let doc = &meta.doc;
        if !doc.base.is_empty() {
            return Err(format!(
                "{}:{}: {} is an item of a `kind: List`; --in-place rewrites whole documents only (use --out)",
                p.location.file, p.location.line, p.key
            ));
        }
        if doc.source.name.starts_with('<') || doc.source.name.contains('!') {
            return Err(format!(
                "{} comes from {}, not a file; use --out",
                p.key, doc.source.name
            ));
        }
        let span = doc.root.span;
        // A root that does not start a line (`--- {…}`) gets its own line.
        let mut text = p.yaml.clone();
        if span.start > 0 && !doc.source.text[..span.start].ends_with('\n') {
            text.insert(0, '\n');
        }
        per_file
            .entry(doc.source.name.clone())
            .or_insert_with(|| (doc.source.clone(), Vec::new()))
            .1
            .push((span.start, span.end, text));
    }
    Ok(per_file
        .into_iter()
        .map(|(name, (source, replacements))| (name, migrate::splice(&source.text, replacements)))
        .collect())
}

/// Replaces each SME document with its WasmPlugin, file by file.
fn rewrite_in_place(mesh: &crate::model::Mesh, m: &Migration) -> Result<Vec<String>, String> {
    let mut files = Vec::new();
    for (name, new) in spliced_files(mesh, m)? {
        write_no_follow(Path::new(&name), new.as_bytes())?;
        files.push(name);
    }
    Ok(files)
}

/// Writes the result mesh into a private temporary directory, loads it on the target version
/// with the repackaged images, and runs every scenario through both meshes.
fn verify(
    loaded: &crate::lint::Outcome,
    m: &Migration,
    image_out: &Path,
    args: &MigrateArgs,
    cfg: &crate::config::Config,
) -> Result<Vec<migrate::verify::Mismatch>, String> {
    let spliced = spliced_files(&loaded.mesh, m)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let tmp = std::env::temp_dir().join(format!(
        "meshext-lint-verify-{}-{stamp}",
        std::process::id()
    ));
    // create_dir (not _all): fails if anything is already there, link or not.
    std::fs::create_dir(&tmp).map_err(|e| format!("cannot create `{}`: {e}", tmp.display()))?;
    let result = (|| {
        let mut names: Vec<&String> = loaded
            .sources
            .keys()
            .filter(|n| !n.starts_with('<') && !n.contains('!'))
            .collect();
        names.sort();
        for (i, name) in names.into_iter().enumerate() {
            let text = spliced
                .get(name)
                .cloned()
                .unwrap_or_else(|| loaded.sources[name].text.clone());
            write_no_follow(&tmp.join(format!("{i:05}.yaml")), text.as_bytes())?;
        }
        let mut mesh_args = args.mesh.clone();
        mesh_args.paths = vec![tmp.display().to_string()];
        mesh_args.mesh_version = Some(m.to);
        mesh_args.images.push(image_out.to_path_buf());
        let after = load_mesh(&mesh_args.options(cfg, &mesh_args.paths))?;
        let mut out = Vec::new();
        for path in &args.verify {
            let text = crate::load::read::read_regular_text(
                path,
                crate::limits::get(crate::limits::Limit::ScenarioBytes),
            )
            .map_err(|e| format!("{}: {e}", path.display()))?;
            let scenario = crate::simulate::parse_scenario(&path.to_string_lossy(), &text)
                .map_err(|e| e.titled("invalid scenario"))?;
            let Some(workload) = scenario.workload.clone() else {
                return Err(format!(
                    "{}: --verify needs `workload:` in the scenario",
                    path.display()
                ));
            };
            let before = simulate_on(loaded, &workload, &scenario)?;
            let after = simulate_on(&after, &workload, &scenario)?;
            out.extend(migrate::verify::compare(
                &path.display().to_string(),
                &before,
                &after,
            ));
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// The scenario through `workload`'s chain of `outcome` (the listener class and port the
/// scenario picks).
fn simulate_on(
    outcome: &crate::lint::Outcome,
    workload: &str,
    scenario: &crate::simulate::Scenario,
) -> Result<crate::simulate::trace::SimReport, String> {
    use crate::simulate::{from_mesh, SimOptions};
    let chain =
        from_mesh::pick_chain(&outcome.chains, workload, scenario.direction, scenario.port)?;
    let opts = SimOptions {
        mesh: outcome.mesh.version,
        workload: from_mesh::workload_info(&outcome.mesh, chain),
        ..SimOptions::default()
    };
    let sim = from_mesh::sim_chain(&outcome.mesh, chain, &outcome.resolution)?;
    Ok(crate::simulate::run_scenario(&sim, scenario, &opts))
}
