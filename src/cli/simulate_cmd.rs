use super::mesh_args::{load_mesh, select_config, MeshArgs};
use super::{exit, usage_error, write_text};
use crate::image::{self, ImageStore};
use crate::limits::{self, Limit};
use crate::load::read::{read_regular, read_regular_text};
use crate::rules::images;
use crate::simulate::{
    self, from_mesh, render, ExtensionFilter, Limits, Profile, SimFilter, SimOptions,
};
use clap::{ArgMatches, Args, ValueEnum};
use std::io::Write as _;
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
    /// Run modules without a mesh: a `.wasm` file. Repeat it for a chain of several modules,
    /// in the order given. The per-module options (--config, --name, --root-id, --vm-id,
    /// --vm-config) apply to the --module (or --service, --image) before them; those given
    /// before the first apply to the first.
    #[arg(long, value_name = "FILE.wasm", conflicts_with = "image")]
    pub module: Vec<PathBuf>,
    /// Run a `.wasm` file as a singleton Wasm service (Envoy's `envoy.bootstrap.wasm`
    /// bootstrap extension) instead of a filter: it starts before the filters and gets
    /// timers, queue events and callout answers, never a request or connection. Repeatable;
    /// takes the per-module options like --module. Without --module/--image, requests go
    /// straight to the router.
    #[arg(long, value_name = "FILE.wasm")]
    pub service: Vec<PathBuf>,
    /// Run one extension image without a mesh (resolved in --images).
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Per module: its configuration, delivered to it as is: the text, or @FILE to read it.
    /// (`--plugin-config` is an alias.)
    #[arg(long = "config", alias = "plugin-config", value_name = "TEXT|@FILE")]
    pub plugin_config: Vec<String>,
    /// meshext-lint's configuration file [default: the nearest .meshext-lint.yaml]. Here
    /// `--config` is the module's configuration, as the other commands' is the file.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config_file: Option<PathBuf>,
    /// Ignore any .meshext-lint.yaml.
    #[arg(long)]
    pub no_config: bool,
    /// Per module: plugin name (a filter's root id is NAME_root) [default: the file or image
    /// name].
    #[arg(long)]
    pub name: Vec<String>,
    /// Per module: root id, for modules that register a fixed one (C++ and AssemblyScript
    /// SDKs) [default: NAME_root, as the mesh gives it; for a --service, empty, as a
    /// WasmService without `root_id`].
    #[arg(long)]
    pub root_id: Vec<String>,
    /// Per module: `vm_config.vm_id`. Modules with the same vm_id share shared data and
    /// queues; with the same VM configuration and code too, one VM, as in Envoy (services
    /// only with services: they run on Envoy's main thread, filters on a worker) [default:
    /// the scenario's `vm_id`, else empty].
    #[arg(long, value_name = "ID")]
    pub vm_id: Vec<String>,
    /// Per module: the VM configuration (`proxy_on_vm_start`): the text, or @FILE to read it
    /// [default: the scenario's `vm_config`, else empty].
    #[arg(long, value_name = "TEXT|@FILE")]
    pub vm_config: Vec<String>,
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

/// The options of one `--module` (or `--image`).
#[derive(Default)]
struct ModuleOpts {
    config: Option<String>,
    name: Option<String>,
    root_id: Option<String>,
    vm_id: Option<String>,
    vm_config: Option<String>,
}

/// What the per-module options attach to: a `--module`, `--service` or `--image`, by its
/// position among the values of its flag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Anchor {
    Module(usize),
    Service(usize),
    Image,
}

/// The per-module options of the `--module`s and of the `--service`s, each in order, and
/// of `--image`.
#[derive(Default)]
struct Grouped {
    modules: Vec<ModuleOpts>,
    services: Vec<ModuleOpts>,
    image: ModuleOpts,
}

/// Groups the per-module options by module: each applies to the closest `--module`,
/// `--service` or `--image` before it on the command line (the first of them for options
/// before any), at most once per module.
fn per_module(args: &SimulateArgs, m: &ArgMatches) -> Result<Grouped, String> {
    let indices =
        |id: &str| -> Vec<usize> { m.indices_of(id).map(|i| i.collect()).unwrap_or_default() };
    // (command-line index, what) for every anchor, in command-line order.
    let mut anchors: Vec<(usize, Anchor)> = Vec::new();
    for (k, at) in indices("module").into_iter().enumerate() {
        anchors.push((at, Anchor::Module(k)));
    }
    for (k, at) in indices("service").into_iter().enumerate() {
        anchors.push((at, Anchor::Service(k)));
    }
    for at in indices("image") {
        anchors.push((at, Anchor::Image));
    }
    anchors.sort_unstable_by_key(|&(at, _)| at);
    let mut out = Grouped {
        modules: args.module.iter().map(|_| ModuleOpts::default()).collect(),
        services: args.service.iter().map(|_| ModuleOpts::default()).collect(),
        image: ModuleOpts::default(),
    };
    type Field = fn(&mut ModuleOpts) -> &mut Option<String>;
    let options: [(&str, &str, &[String], Field); 5] = [
        ("plugin_config", "--config", &args.plugin_config, |o| {
            &mut o.config
        }),
        ("name", "--name", &args.name, |o| &mut o.name),
        ("root_id", "--root-id", &args.root_id, |o| &mut o.root_id),
        ("vm_id", "--vm-id", &args.vm_id, |o| &mut o.vm_id),
        ("vm_config", "--vm-config", &args.vm_config, |o| {
            &mut o.vm_config
        }),
    ];
    for (id, flag, values, field) in options {
        let indices: Vec<usize> = m.indices_of(id).map(|i| i.collect()).unwrap_or_default();
        for (value, at) in values.iter().zip(indices) {
            if anchors.is_empty() {
                return Err(format!(
                    "{flag} is an option of --module/--service/--image (a mesh's plugins take theirs from the mesh)"
                ));
            }
            let k = anchors.iter().rposition(|&(a, _)| a < at).unwrap_or(0);
            let anchor = anchors[k].1;
            let opts = match anchor {
                Anchor::Module(i) => &mut out.modules[i],
                Anchor::Service(i) => &mut out.services[i],
                Anchor::Image => &mut out.image,
            };
            let slot = field(opts);
            if slot.is_some() {
                let which = match anchor {
                    Anchor::Module(i) => format!("--module {}", args.module[i].display()),
                    Anchor::Service(i) => format!("--service {}", args.service[i].display()),
                    Anchor::Image => "--image".into(),
                };
                return Err(format!(
                    "{flag} given twice for {which} (per-module options apply to the --module, --service or --image before them)"
                ));
            }
            *slot = Some(value.clone());
        }
    }
    Ok(out)
}

/// `TEXT`, or the contents of `@FILE` read within `limit` bytes.
fn text_or_file(s: &str, limit: Limit) -> Result<String, String> {
    match s.strip_prefix('@') {
        Some(path) => read_regular_text(Path::new(path), limits::get(limit))
            .map_err(|e| format!("{path}: {e}")),
        None => Ok(s.to_string()),
    }
}

/// The module of an `--image`: its bytes and default name.
fn image_module(reference: &str, images: &[PathBuf]) -> Result<(Vec<u8>, String), String> {
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
    Ok((bytes, name))
}

/// The `--service`s, then the chain of `--module`s (in order) or of `--image`, then the router.
fn standalone(
    args: &SimulateArgs,
    m: &ArgMatches,
    images: &[PathBuf],
) -> Result<Vec<SimFilter>, String> {
    let opts = per_module(args, m)?;
    let read = |path: &PathBuf| -> Result<(Vec<u8>, String), String> {
        let bytes = read_regular(path, limits::get(Limit::ModuleBytes))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "module".into());
        Ok((bytes, stem))
    };
    // (bytes, default name, options, service)
    let mut sources: Vec<(Vec<u8>, String, ModuleOpts, bool)> = Vec::new();
    for (path, o) in args.service.iter().zip(opts.services) {
        let (bytes, stem) = read(path)?;
        sources.push((bytes, stem, o, true));
    }
    for (path, o) in args.module.iter().zip(opts.modules) {
        let (bytes, stem) = read(path)?;
        sources.push((bytes, stem, o, false));
    }
    if let Some(reference) = &args.image {
        let (bytes, name) = image_module(reference, images)?;
        sources.push((bytes, name, opts.image, false));
    }
    let mut chain = Vec::with_capacity(sources.len() + 1);
    // Modules compiled once: the same file twice is the same code (a shared VM's key).
    let mut modules: Vec<Arc<Vec<u8>>> = Vec::new();
    for (bytes, default_name, o, service) in sources {
        let configuration = match &o.config {
            None => String::new(),
            Some(s) => text_or_file(s, Limit::PluginConfigBytes)?,
        };
        let vm_configuration = match &o.vm_config {
            None => None,
            Some(s) => Some(text_or_file(s, Limit::PluginConfigBytes)?),
        };
        let module = match modules.iter().find(|m| ***m == bytes) {
            Some(m) => m.clone(),
            None => {
                let m = Arc::new(bytes);
                modules.push(m.clone());
                m
            }
        };
        let name = o.name.unwrap_or(default_name);
        // A mesh names a filter's root NAME_root; a WasmService without `root_id` has "".
        let root_id = o.root_id.unwrap_or_else(|| {
            if service {
                String::new()
            } else {
                format!("{name}_root")
            }
        });
        let e = ExtensionFilter {
            namespace: "default".into(),
            module,
            configuration,
            root_id,
            plugin_name: name.clone(),
            name,
            vm_id: o.vm_id,
            vm_configuration,
            share_vm: true,
            env: Vec::new(),
            fail_open: false,
        };
        chain.push(if service {
            SimFilter::Service(e)
        } else {
            SimFilter::Extension(e)
        });
    }
    chain.push(SimFilter::Builtin {
        name: "router".into(),
    });
    Ok(chain)
}

pub fn run(args: SimulateArgs, m: &ArgMatches) -> i32 {
    let cfg = match select_config(args.config_file.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let text = match read_regular_text(&args.scenario, limits::get(Limit::ScenarioBytes)) {
        Ok(t) => t,
        Err(e) => return usage_error(format!("{}: {e}", args.scenario.display())),
    };
    let scenario = match simulate::parse_scenario_for_exit(&args.scenario.to_string_lossy(), &text)
    {
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
    let chain = if !args.module.is_empty() || args.image.is_some() || !args.service.is_empty() {
        // Without a mesh there is nothing for mesh inputs or a workload to choose: say so
        // rather than ignore them.
        if let Some(p) = args.mesh.paths.first() {
            return usage_error(format!(
                "{p}: --module/--service/--image run modules without a mesh, so mesh inputs are not read (for a workload's chain, drop them; a .wasm goes after --module or --service)"
            ));
        }
        if args.workload.is_some() {
            return usage_error(
                "--workload picks a chain from mesh inputs; --module/--service/--image run without a mesh",
            );
        }
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
        match standalone(&args, m, &images) {
            Ok(c) => c,
            Err(e) => return usage_error(e),
        }
    } else {
        if let Err(e) = per_module(&args, m) {
            return usage_error(e);
        }
        let Some(workload) = args.workload.clone().or_else(|| scenario.workload.clone()) else {
            return usage_error("which workload? set `workload:` in the scenario or pass --workload NS/NAME (or use --module/--image)");
        };
        let lint_opts = args.mesh.options(&cfg, &args.mesh.paths);
        let out = match load_mesh(&lint_opts) {
            Ok(o) => o,
            Err(e) => return usage_error(e),
        };
        if !scenario.connections.is_empty() {
            // Connections run through the workload's TCP network filters, requests through
            // its HTTP chain: two different filter chains.
            if !scenario.requests.is_empty() {
                return usage_error(format!(
                    "{}: with a mesh, `requests:` run on the HTTP chain and `connections:` on the TCP network filters of `{workload}`: put them in separate scenarios",
                    args.scenario.display()
                ));
            }
            let stack = match from_mesh::pick_net_stack(
                &out.mesh,
                &out.chains,
                &workload,
                scenario.direction,
                scenario.port,
            ) {
                Ok(s) => s,
                Err(e) => return usage_error(e),
            };
            opts.mesh = out.mesh.version;
            if let Some(c) = out.chains.iter().find(|c| c.key() == workload) {
                opts.workload = from_mesh::workload_info(&out.mesh, c);
            }
            match from_mesh::sim_net_chain(&out.mesh, stack, &out.resolution) {
                Ok(c) => c,
                Err(e) => return usage_error(e),
            }
        } else {
            let chain = match from_mesh::pick_chain(
                &out.chains,
                &workload,
                scenario.direction,
                scenario.port,
            ) {
                Ok(c) => c,
                Err(e) => return usage_error(e),
            };
            opts.mesh = out.mesh.version;
            opts.workload = from_mesh::workload_info(&out.mesh, chain);
            let before_hcm = from_mesh::hcm_network_plugins(&out.chains, chain, scenario.direction);
            if !before_hcm.is_empty() {
                opts.notes.push(format!(
                    "not run: the NETWORK WasmPlugin{} {} in front of the HTTP connection manager of this listener (they see each connection's raw bytes; `requests:` run the HTTP filters only)",
                    if before_hcm.len() == 1 { "" } else { "s" },
                    before_hcm.join(", ")
                ));
            }
            match from_mesh::sim_chain(&out.mesh, chain, &out.resolution) {
                Ok(c) => c,
                Err(e) => return usage_error(e),
            }
        }
    };
    // Streamed JSON on a terminal shows its own progress; a note there would cut into it.
    let streams_to_terminal = {
        use std::io::IsTerminal;
        matches!(args.format, SimFormat::Json) && std::io::stdout().is_terminal()
    };
    let progress = (!streams_to_terminal).then(|| super::Progress::start("simulating"));
    let (report, code) = match args.format {
        SimFormat::Human => {
            let report = simulate::run_scenario(&chain, &scenario, &opts);
            drop(progress);
            let written = write_text(&render::human(&report));
            let code = if written == exit::OK {
                report.exit_code()
            } else {
                written
            };
            (report, code)
        }
        SimFormat::Json => {
            // Each request's report is written when it completes (in 64 KiB chunks) and
            // dropped; a closed pipe (`| head`) is not an error worth reporting.
            let mut out = render::JsonStream::new(std::io::stdout().lock());
            let report = simulate::run_scenario_into(&chain, &scenario, &opts, &mut out);
            drop(progress);
            let code = report.exit_code_given(out.passed());
            let written = super::output_written(out.finish(&report).and_then(|mut w| w.flush()));
            (report, if written == exit::OK { code } else { written })
        }
    };
    // The process ends here: freeing the scenario (and, for the human format, every request's
    // trace) item by item would cost a few percent of a long run for nothing.
    std::mem::forget(report);
    std::mem::forget(scenario);
    code
}
