//! Start-up of modules as the mesh version's proxy would start them, with the SME's
//! configuration: the typed [`StartFailure`] (if any) of each start. `rules::runtime` judges
//! them (MX701–MX705); [`start_extensions`] gathers them for every pulled extension.

use super::budget::RunBudget;
use super::host::profile::Profile;
use super::host::shared::Shared;
use super::host::{LogLevel, LogLine, PluginInfo, WorkloadInfo};
use super::vm::{self, Limits, LoadError, PluginStartError, Vm};
use crate::extensions::Resolution;
use crate::model::{Mesh, MeshVersion};
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// How a start went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFailureKind {
    /// The module cannot be loaded or its start function fails (MX701).
    LoadFailed,
    /// `proxy_on_vm_start` (or the root context's creation) traps or returns false (MX702).
    VmStartFailed,
    /// `proxy_on_configure` returns false (MX703).
    ConfigurationRejected,
    /// `proxy_on_configure` traps (MX704).
    ConfigurationPanics,
    /// The module looks for a root context under another id (MX705).
    RootIdMismatch,
}

/// Why a module did not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartFailure {
    pub kind: StartFailureKind,
    pub message: String,
    pub help: Option<String>,
}

impl StartFailure {
    fn new(kind: StartFailureKind, message: String) -> StartFailure {
        StartFailure {
            kind,
            message,
            help: None,
        }
    }

    fn help(mut self, help: impl Into<String>) -> StartFailure {
        self.help = Some(help.into());
        self
    }
}

fn log_excerpt(logs: &[LogLine], min: LogLevel) -> String {
    let all: Vec<String> = logs
        .iter()
        .filter(|l| l.level >= min)
        .map(|l| format!("[{}] {}", l.level.as_str(), l.message))
        .collect();
    let lines = &all[all.len().saturating_sub(5)..];
    if lines.is_empty() {
        String::new()
    } else {
        format!("; module log: {}", lines.join(" | "))
    }
}

/// Whether a start failure comes from a root-id lookup (AssemblyScript / C++ SDKs register
/// root contexts under a fixed id).
fn root_id_problem(vm: &Vm, logs: &[LogLine], root_id: &str) -> bool {
    let read = vm.store.data().root_id_reads > 0;
    let mentions = logs.iter().any(|l| {
        let m = l.message.to_ascii_lowercase();
        m.contains("root")
            && (m.contains("missing")
                || m.contains("no root")
                || m.contains("not found")
                || m.contains("unknown")
                || m.contains(&root_id.to_ascii_lowercase()))
    });
    read && (mentions || vm.failed.is_some())
}

/// Starts `module` for the SME `sme_name` with `configuration` (as delivered, see
/// [`super::configuration_for`]) on `version`'s proxy.
/// The plugin and the host state of a VM started on its own (lint's start-up checks): no
/// vm_id, no VM configuration, a run budget of its own.
pub fn lone_plugin(
    name: &str,
    root_id: &str,
    configuration: &str,
    limits: &Limits,
) -> (Rc<PluginInfo>, Rc<RefCell<Shared>>) {
    let plugin = Rc::new(PluginInfo {
        name: name.into(),
        root_id: root_id.into(),
        vm_id: String::new(),
        configuration: configuration.as_bytes().to_vec(),
        vm_configuration: Vec::new(),
        env: Vec::new(),
    });
    let shared = Rc::new(RefCell::new(Shared {
        budget: Rc::new(RunBudget::new(limits)),
        ..Shared::default()
    }));
    (plugin, shared)
}

pub fn start_module(
    module: &[u8],
    sme_name: &str,
    configuration: &str,
    version: MeshVersion,
) -> Option<StartFailure> {
    start_module_with(
        module,
        sme_name,
        configuration,
        Profile::for_mesh(version),
        Limits::default(),
    )
}

/// [`start_module`] with an explicit host profile and limits.
pub fn start_module_with(
    module: &[u8],
    sme_name: &str,
    configuration: &str,
    profile: Profile,
    limits: Limits,
) -> Option<StartFailure> {
    let compiled = vm::compile(module, &limits);
    start_compiled(&compiled, sme_name, configuration, profile, limits)
}

/// [`start_module_with`] for a module already compiled (by [`vm::compile`] with the same
/// `limits`): lint compiles each module once and starts it for every SME.
pub fn start_compiled(
    compiled: &Result<vm::Compiled, LoadError>,
    sme_name: &str,
    configuration: &str,
    profile: Profile,
    limits: Limits,
) -> Option<StartFailure> {
    use StartFailureKind::*;
    let d = StartFailure::new;
    let root_id = format!("{sme_name}_root");
    // Also for a broken body found while the module starts (`compile::Validation`).
    let not_loadable = |e: &LoadError| {
        Some(d(LoadFailed, format!("the module cannot be loaded by the {}: {e}", profile.label())).help("Build the module for the proxy-wasm ABI this mesh version accepts (see `meshext-lint explain MX701`)."))
    };
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => return not_loadable(e),
    };
    let (plugin, shared) = lone_plugin(sme_name, &root_id, configuration, &limits);
    let mut vm = match Vm::load(
        compiled,
        plugin,
        Rc::new(WorkloadInfo::default()),
        profile,
        shared,
        0,
        limits,
        1,
    ) {
        Ok(vm) => vm,
        Err(e @ LoadError::Compile(_)) => return not_loadable(&e),
        Err(LoadError::Start(f)) => {
            return Some(d(LoadFailed, format!("the module's start function {} fails: {}{}", f.callback, f.message, log_excerpt(&f.last_logs, LogLevel::Trace)))
                .help("The proxy runs `_initialize`/`main` (or `_start`) when it loads the module; fix the trap or the endless work there."));
        }
        Err(e) => {
            return Some(d(
                LoadFailed,
                format!("the {} cannot load the module: {e}", profile.label()),
            ))
        }
    };
    let r = vm.start_plugin();
    let logs = vm.take_logs();
    let cfg_note = if configuration.len() > 60 {
        format!(
            "{}…",
            &configuration[..configuration
                .char_indices()
                .nth(60)
                .map(|(i, _)| i)
                .unwrap_or(configuration.len())]
        )
    } else {
        configuration.to_string()
    };
    match r {
        Ok(()) => {
            if root_id_problem(&vm, &logs, &root_id) {
                return Some(d(RootIdMismatch, format!("the module looked for a root context registered as {root_id:?} (the root id the mesh gives SME {sme_name:?}) and did not find it{}", log_excerpt(&logs, LogLevel::Trace)))
                    .help(format!("Register the root context under \"{root_id}\" (or name the SME so that `<name>_root` matches the id the module registers).")));
            }
            None
        }
        Err(PluginStartError::ContextTrap(f)) if root_id_problem(&vm, &logs, &root_id) => {
            Some(d(RootIdMismatch, format!("the module registered no root context for root id {root_id:?}: proxy_on_context_create traps ({}){}", f.message, log_excerpt(&logs, LogLevel::Trace)))
                .help(format!("AssemblyScript and C++ filters pick the root context by id. Register it as \"{root_id}\" or rename the SME to match the id the module registers.")))
        }
        Err(PluginStartError::ContextTrap(f)) | Err(PluginStartError::VmStartTrap(f)) => {
            Some(d(VmStartFailed, format!("{} traps: {}{}", f.callback, f.message, log_excerpt(&logs, LogLevel::Trace))))
        }
        Err(PluginStartError::VmStartFalse) => Some(d(VmStartFailed, format!("proxy_on_vm_start returned false: the plugin does not start{}", log_excerpt(&logs, LogLevel::Trace)))),
        Err(PluginStartError::ConfigureFalse) => Some(d(
            ConfigurationRejected,
            format!("proxy_on_configure rejects the configuration {cfg_note:?} (returned false){}", log_excerpt(&logs, LogLevel::Warn)),
        )
        .help("Give the extension a configuration the module accepts; the module's error log above says what it expected.")),
        Err(PluginStartError::ConfigureTrap(f)) => Some(d(
            ConfigurationPanics,
            format!("proxy_on_configure traps on the configuration {cfg_note:?}: {}{}", f.message, log_excerpt(&logs, LogLevel::Trace)),
        )
        .help("The module panics while reading its configuration (often `unwrap()` on JSON parsing). On v2.1/v2.2 an SME without `config` delivers the text `null`.")),
    }
}

/// The start of one (module, SME name, configuration): the SMEs it stands for (indexes into
/// `mesh.extensions`, the first names the job) and how it went.
#[derive(Debug)]
pub struct Startup {
    pub users: Vec<usize>,
    pub failure: Option<StartFailure>,
}

/// Starts every pulled extension as the mesh version would, with its own configuration and root
/// id. Modules the proxy refuses statically for this version ([`crate::extensions::Analysed::
/// startable`]) are not started (the proxy would not get that far). Identical (module, name,
/// configuration) triples start once.
pub fn start_extensions(mesh: &Mesh, res: &Resolution) -> Vec<Startup> {
    let version = mesh.version;
    if !version.has_sme() {
        return Vec::new();
    }
    let mut jobs: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, (e, a)) in mesh.extensions.iter().zip(&res.by_extension).enumerate() {
        let Some(a) = a else { continue };
        if !a.startable() {
            continue;
        }
        let config = super::configuration_for(e, version);
        jobs.entry((a.image.digest.clone(), e.meta.name.clone(), config))
            .or_default()
            .push(i);
    }
    let jobs: Vec<_> = jobs.into_iter().collect();
    // Compile each module once (in parallel), then start it for every job: SMEs sharing an
    // image differ only in name and configuration.
    let limits = Limits::default();
    let profile = Profile::for_mesh(version);
    let mut digests: BTreeMap<&str, usize> = BTreeMap::new();
    for ((digest, _, _), users) in &jobs {
        digests.entry(digest.as_str()).or_insert(users[0]);
    }
    let compiled: BTreeMap<&str, Result<vm::Compiled, vm::LoadError>> = digests
        .into_par_iter()
        .map(|(digest, user)| {
            let a = res.by_extension[user].as_ref().expect("resolved above");
            let module = a.module.as_ref().expect("checked above");
            (digest, vm::compile(module, &limits))
        })
        .collect();
    let run = |((digest, name, config), users): &((String, String, String), Vec<usize>)| {
        let module = &compiled[digest.as_str()];
        Startup {
            users: users.clone(),
            failure: start_compiled(module, name, config, profile, limits),
        }
    };
    // No more start-ups at once than the total memory budget holds VMs at their cap, so the
    // total (`budget::MemoryLimiter`) is never what fails a start-up here: findings do not
    // depend on the number of cores.
    let at_once = (limits.total_memory_bytes / limits.memory_bytes.max(1)).max(1);
    match rayon::ThreadPoolBuilder::new()
        .num_threads(at_once.min(rayon::current_num_threads()))
        .build()
    {
        Ok(pool) => pool.install(|| jobs.par_iter().map(run).collect()),
        Err(_) => jobs.iter().map(run).collect(),
    }
}
