use super::mesh_args::{load_mesh, select_config, MeshArgs};
use super::{usage_error, write_stdout, write_text};
use crate::image::{self, ImageStore};
use crate::limits::{self, Limit};
use crate::load::read::{read_regular, read_regular_text};
use crate::rules::images;
use crate::simulate::{
    self, from_mesh, render, ExtensionFilter, Limits, Profile, SimFilter, SimOptions,
};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub mesh: MeshArgs,
    /// The scenario file (YAML): requests, mocked upstream and callouts, expectations.
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// The workload whose chain runs (NAMESPACE/NAME) [default: the scenario's `workload`].
    #[arg(long, value_name = "NS/NAME")]
    pub workload: Option<String>,
    /// Run one module without a mesh: a `.wasm` file.
    #[arg(long, value_name = "FILE.wasm", conflicts_with = "image")]
    pub module: Option<PathBuf>,
    /// Run one extension image without a mesh (resolved in --images).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Configuration for --module/--image, delivered to the module as is: the text, or @FILE
    /// to read it. (`--plugin-config` is an alias.)
    #[arg(long = "config", alias = "plugin-config", value_name = "TEXT|@FILE")]
    pub plugin_config: Option<String>,
    /// meshext-lint's configuration file [default: the nearest .meshext-lint.yaml]. Here
    /// `--config` is the module's configuration, as the other commands' is the file.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config_file: Option<PathBuf>,
    /// Ignore any .meshext-lint.yaml.
    #[arg(long)]
    pub no_config: bool,
    /// Plugin name for --module/--image (the root id is NAME_root) [default: the file or image name].
    #[arg(long)]
    pub name: Option<String>,
    /// Root id for --module/--image, for modules that register a fixed one (C++ and
    /// AssemblyScript SDKs) [default: NAME_root, as the mesh gives it].
    #[arg(long)]
    pub root_id: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: SimFormat,
    /// Wasm instructions (fuel) per call into a module [default: the config's, else 5e8].
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Linear memory per module instance, MiB [default: the config's, else 512].
    #[arg(long)]
    pub memory_mib: Option<u32>,
}

/// The single-filter chain of `--module`/`--image`: the extension, then the router.
fn standalone(args: &SimulateArgs, images: &[PathBuf]) -> Result<Vec<SimFilter>, String> {
    let (bytes, default_name): (Vec<u8>, String) = if let Some(path) = &args.module {
        let bytes = read_regular(path, limits::get(Limit::ModuleBytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "module".into());
        (bytes, stem)
    } else {
        let reference = args.image.as_deref().unwrap_or_default();
        if images.is_empty() {
            return Err("--image needs --images PATH (where the image was pulled)".into());
        }
        let (store, problems) = ImageStore::open(images);
        if let Some(p) = problems.first() {
            return Err(super::finding_text(&images::image_error(p)));
        }
        let img = match store.resolve(reference) {
            None => return Err(super::finding_text(&images::not_pulled(reference))),
            Some(Err(e)) => return Err(super::finding_text(&images::image_error(&e))),
            Some(Ok(img)) => img,
        };
        let pkg = image::read_extension(&img);
        let bytes = pkg
            .module_bytes
            .map(|b| b.to_vec())
            .or_else(|| img.plugin_wasm().map(|b| b.to_vec()));
        let Some(bytes) = bytes else {
            let why = pkg
                .problems
                .first()
                .map(|p| super::finding_text(&images::manifest_problem(p)))
                .unwrap_or_else(|| "no module in the image".into());
            return Err(why);
        };
        let name = image::parse_reference(reference)
            .map(|r| r.repository)
            .unwrap_or_else(|_| "extension".into());
        (bytes, name)
    };
    let configuration = match args.plugin_config.as_deref() {
        None => String::new(),
        Some(s) => match s.strip_prefix('@') {
            Some(path) => read_regular_text(Path::new(path), limits::get(Limit::PluginConfigBytes))
                .map_err(|e| format!("{path}: {e}"))?,
            None => s.to_string(),
        },
    };
    let name = args.name.clone().unwrap_or(default_name);
    Ok(vec![
        SimFilter::Extension(ExtensionFilter {
            namespace: "default".into(),
            module: Arc::new(bytes),
            configuration,
            root_id: args
                .root_id
                .clone()
                .unwrap_or_else(|| format!("{name}_root")),
            plugin_name: name.clone(),
            name,
        }),
        SimFilter::Builtin {
            name: "router".into(),
        },
    ])
}

pub fn run(args: SimulateArgs) -> i32 {
    let cfg = match select_config(args.config_file.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let text = match read_regular_text(&args.scenario, limits::get(Limit::ScenarioBytes)) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("{}: {e}", args.scenario.display())),
    };
    let scenario = match simulate::parse_scenario(&args.scenario.to_string_lossy(), &text) {
        Ok(s) => s,
        Err(e) => return usage_error(e.titled("invalid scenario")),
    };
    let mut limits = Limits::default();
    if let Some(f) = args.fuel.or(cfg.simulate.fuel) {
        limits.fuel_per_call = f;
    }
    if let Some(m) = args.memory_mib.or(cfg.simulate.memory_mib) {
        limits.memory_bytes = (m as usize) << 20;
    }
    let mut opts = SimOptions {
        limits,
        ..SimOptions::default()
    };
    let chain = if args.module.is_some() || args.image.is_some() {
        let images = super::mesh_args::images_from(&args.mesh.images, &cfg);
        if let Some(e) = super::mesh_args::missing_image_source(&images) {
            return usage_error(e);
        }
        // Without a mesh, the newest Envoy host unless --mesh-version narrows it.
        let istio = args.mesh.istio_version.and_then(|i| i.mesh_equivalent());
        match args.mesh.mesh_version.or(cfg.mesh_version).or(istio) {
            Some(v) => opts.mesh = v,
            None => opts.profile = Some(Profile::latest()),
        }
        match standalone(&args, &images) {
            Ok(c) => c,
            Err(e) => return usage_error(e),
        }
    } else {
        let Some(workload) = args.workload.clone().or_else(|| scenario.workload.clone()) else {
            return usage_error("which workload? set `workload:` in the scenario or pass --workload NS/NAME (or use --module/--image)");
        };
        let lint_opts = args.mesh.options(&cfg, &args.mesh.paths);
        let out = match load_mesh(&lint_opts) {
            Ok(o) => o,
            Err(e) => return usage_error(e),
        };
        let Some(chain) = out.chains.iter().find(|c| c.key() == workload) else {
            let known: Vec<String> = out.chains.iter().map(|c| c.key()).take(10).collect();
            return usage_error(format!(
                "no workload `{workload}` in the mesh (workloads: {})",
                known.join(", ")
            ));
        };
        opts.mesh = out.mesh.version;
        opts.workload = from_mesh::workload_info(&out.mesh, chain);
        match from_mesh::sim_chain(&out.mesh, chain, &out.resolution) {
            Ok(c) => c,
            Err(e) => return usage_error(e),
        }
    };
    let progress = super::Progress::start("simulating");
    let report = simulate::run_scenario(&chain, &scenario, &opts);
    drop(progress);
    match args.format {
        SimFormat::Human => write_text(&render::human(&report)),
        SimFormat::Json => write_stdout(render::json(&report).as_bytes()),
    };
    report.exit_code()
}
