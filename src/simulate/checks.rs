//! Lint-time runtime checks (MX701–MX705): start the module as the mesh version's proxy
//! would, with the SME's configuration, and report what goes wrong.

use super::host::profile::Profile;
use super::host::shared::Shared;
use super::host::{LogLevel, LogLine, PluginInfo, WorkloadInfo};
use super::vm::{self, Limits, LoadError, PluginStartError, Vm};
use crate::diag::{Diagnostic, Location};
use crate::model::MeshVersion;
use crate::rules::RuleId;
use std::cell::RefCell;
use std::rc::Rc;

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
/// [`super::configuration_for`]) on `version`'s proxy. Findings point at `at`.
pub fn runtime_checks(
    module: &[u8],
    sme_name: &str,
    configuration: &str,
    version: MeshVersion,
    at: &Location,
    resource: &str,
) -> Vec<Diagnostic> {
    runtime_checks_with(
        module,
        sme_name,
        configuration,
        Profile::for_mesh(version),
        Limits::default(),
        at,
        resource,
    )
}

/// [`runtime_checks`] with an explicit host profile and limits.
pub fn runtime_checks_with(
    module: &[u8],
    sme_name: &str,
    configuration: &str,
    profile: Profile,
    limits: Limits,
    at: &Location,
    resource: &str,
) -> Vec<Diagnostic> {
    let engine = vm::engine(&limits);
    let compiled = vm::compile(&engine, module, &limits);
    runtime_checks_compiled(
        &engine,
        &compiled,
        sme_name,
        configuration,
        profile,
        limits,
        at,
        resource,
    )
}

/// [`runtime_checks_with`] for a module already compiled with `engine` (by [`vm::compile`]
/// with the same `limits`): lint compiles each module once and starts it for every SME.
#[allow(clippy::too_many_arguments)]
pub fn runtime_checks_compiled(
    engine: &vm::Engine,
    compiled: &Result<vm::Compiled, LoadError>,
    sme_name: &str,
    configuration: &str,
    profile: Profile,
    limits: Limits,
    at: &Location,
    resource: &str,
) -> Vec<Diagnostic> {
    let d =
        |rule: RuleId, msg: String| Diagnostic::new(rule, msg).at(at.clone()).resource(resource);
    let root_id = format!("{sme_name}_root");
    let compiled = match compiled {
        Ok(c) => c,
        Err(e) => return vec![d(RuleId::MX701, format!("the module cannot be loaded by the {}: {e}", profile.label())).help("Build the module for the proxy-wasm ABI this mesh version accepts (see `meshext-lint explain MX701`).")],
    };
    let plugin = Rc::new(PluginInfo {
        name: sme_name.into(),
        root_id: root_id.clone(),
        vm_id: String::new(),
        configuration: configuration.as_bytes().to_vec(),
        vm_configuration: Vec::new(),
    });
    let shared = Rc::new(RefCell::new(Shared::default()));
    let mut vm = match Vm::load(
        engine,
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
        Err(LoadError::Start(f)) => {
            return vec![d(RuleId::MX701, format!("the module's start function {} fails: {}{}", f.callback, f.message, log_excerpt(&f.last_logs, LogLevel::Trace)))
                .help("The proxy runs `_initialize`/`main` (or `_start`) when it loads the module; fix the trap or the endless work there.")];
        }
        Err(e) => {
            return vec![d(
                RuleId::MX701,
                format!("the {} cannot load the module: {e}", profile.label()),
            )]
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
                return vec![d(RuleId::MX705, format!("the module looked for a root context registered as {root_id:?} (the root id the mesh gives SME {sme_name:?}) and did not find it{}", log_excerpt(&logs, LogLevel::Trace)))
                    .help(format!("Register the root context under \"{root_id}\" (or name the SME so that `<name>_root` matches the id the module registers)."))];
            }
            Vec::new()
        }
        Err(PluginStartError::ContextTrap(f)) if root_id_problem(&vm, &logs, &root_id) => {
            vec![d(RuleId::MX705, format!("the module registered no root context for root id {root_id:?}: proxy_on_context_create traps ({}){}", f.message, log_excerpt(&logs, LogLevel::Trace)))
                .help(format!("AssemblyScript and C++ filters pick the root context by id. Register it as \"{root_id}\" or rename the SME to match the id the module registers."))]
        }
        Err(PluginStartError::ContextTrap(f)) | Err(PluginStartError::VmStartTrap(f)) => {
            vec![d(RuleId::MX702, format!("{} traps: {}{}", f.callback, f.message, log_excerpt(&logs, LogLevel::Trace)))]
        }
        Err(PluginStartError::VmStartFalse) => vec![d(RuleId::MX702, format!("proxy_on_vm_start returned false: the plugin does not start{}", log_excerpt(&logs, LogLevel::Trace)))],
        Err(PluginStartError::ConfigureFalse) => vec![d(
            RuleId::MX703,
            format!("proxy_on_configure rejects the configuration {cfg_note:?} (returned false){}", log_excerpt(&logs, LogLevel::Warn)),
        )
        .help("Give the extension a configuration the module accepts; the module's error log above says what it expected.")],
        Err(PluginStartError::ConfigureTrap(f)) => vec![d(
            RuleId::MX704,
            format!("proxy_on_configure traps on the configuration {cfg_note:?}: {}{}", f.message, log_excerpt(&logs, LogLevel::Trace)),
        )
        .help("The module panics while reading its configuration (often `unwrap()` on JSON parsing). On v2.1/v2.2 an SME without `config` delivers the text `null`.")],
    }
}
