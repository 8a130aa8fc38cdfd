//! One proxy-wasm VM: compile once, link against the host profile, start the module the way
//! the proxy does, then call its callbacks under fuel, memory and stack limits. A trap marks
//! the VM failed (as Envoy does) and is reported with the module's last log lines.

use super::budget::{Bound, Denied, MemoryLimiter};
use super::compile::{Detached, Validation, BACKGROUND_FROM};
use super::host::profile::Profile;
use super::host::shared::Shared;
use super::host::{self, ContextInfo, HostState, LogLine, PluginInfo, WorkloadInfo};
use super::limits;
use crate::abi::AbiVersion;
use serde::Serialize;
use std::cell::RefCell;
use std::rc::Rc;
use wasmi::Engine;
use wasmi::{
    CompilationMode, CustomFuelCosts, Error, Instance, Module, Store, StoreLimitsBuilder,
    TypedFunc, WasmParams, WasmResults,
};

/// Resource limits of the VMs (defaults: `simulate::limits`, docs/limits.md "Host").
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Fuel (≈ Wasm instructions, hostcalls charged too) per host→module call.
    pub fuel_per_call: u64,
    /// Fuel over all calls of one request, of one `advance`, and of a whole run.
    pub fuel_per_request: u64,
    pub fuel_per_advance: u64,
    pub fuel_per_run: u64,
    /// Linear memory cap per VM, bytes.
    pub memory_bytes: usize,
    /// Linear memory cap over every live VM of the process, bytes.
    pub total_memory_bytes: usize,
    /// Maximum call depth inside a module.
    pub max_recursion_depth: usize,
    /// Largest module accepted, bytes.
    pub max_module_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Generous for real start-ups (a Go runtime initialises in far less), and a runaway
            // loop still stops in about a second.
            fuel_per_call: limits::FUEL_PER_CALL,
            fuel_per_request: limits::fuel_per_request(),
            fuel_per_advance: limits::fuel_per_advance(),
            fuel_per_run: limits::fuel_per_run(),
            memory_bytes: limits::MEMORY_PER_VM,
            total_memory_bytes: limits::memory_total(),
            max_recursion_depth: 1000,
            max_module_bytes: 64 << 20,
        }
    }
}

/// The engine of one compiled module and every VM that runs it (fuel metering on, bounded
/// recursion). Small modules are validated whole before they are translated, function by
/// function, on first call; large ones are validated function by function on first call, and
/// whole on another thread (`compile`).
fn engine(limits: &Limits, bytes: usize) -> Engine {
    let mut cfg = wasmi::Config::default();
    cfg.consume_fuel(true);
    if bytes >= BACKGROUND_FROM {
        cfg.compilation_mode(CompilationMode::Lazy);
        // Lazy bodies would also pay for their validation (2 per byte) when first called;
        // `LazyTranslation` validated them in `Module::new`, free. Same fuel for the same
        // code whatever the module's size: wasmi's other defaults, validation free.
        cfg.fuel_cost(CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 7,
            fuel_per_bytes_validated: 0,
        });
    }
    cfg.set_max_recursion_depth(limits.max_recursion_depth);
    Engine::new(&cfg)
}

/// A failed call: which callback, why, and what the module logged last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    pub callback: String,
    pub message: String,
    /// Shared: a failed VM's failure is repeated on every later event that reaches it.
    pub last_logs: std::sync::Arc<[LogLine]>,
}

/// Why a module could not be loaded (all of these are MX701 at lint time).
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// Not valid Wasm / too large.
    Compile(String),
    /// No (accepted) ABI marker, no memory, no allocator, bad export signature.
    Module(String),
    /// Missing import or import type mismatch.
    Link(String),
    /// The start function trapped or ran out of fuel.
    Start(Failure),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Compile(m) | LoadError::Module(m) | LoadError::Link(m) => f.write_str(m),
            LoadError::Start(fl) => write!(f, "{} trapped: {}", fl.callback, fl.message),
        }
    }
}

type F<P, R> = Option<TypedFunc<P, R>>;

/// Header callbacks differ between ABI 0.1.0 (2 params) and 0.2.x (3 params).
#[derive(Clone, Copy)]
pub enum HeadersFn {
    V1(TypedFunc<(i32, i32), i32>),
    V2(TypedFunc<(i32, i32, i32), i32>),
}

#[derive(Clone, Default)]
pub struct Exports {
    pub on_context_create: F<(i32, i32), ()>,
    pub on_vm_start: F<(i32, i32), i32>,
    pub on_configure: F<(i32, i32), i32>,
    pub on_tick: F<i32, ()>,
    pub on_request_headers: Option<HeadersFn>,
    pub on_request_body: F<(i32, i32, i32), i32>,
    pub on_request_trailers: F<(i32, i32), i32>,
    pub on_response_headers: Option<HeadersFn>,
    pub on_response_body: F<(i32, i32, i32), i32>,
    pub on_response_trailers: F<(i32, i32), i32>,
    pub on_http_call_response: F<(i32, i32, i32, i32, i32), ()>,
    pub on_grpc_close: F<(i32, i32, i32), ()>,
    pub on_grpc_receive: F<(i32, i32, i32), ()>,
    pub on_grpc_receive_initial_metadata: F<(i32, i32, i32), ()>,
    pub on_grpc_receive_trailing_metadata: F<(i32, i32, i32), ()>,
    pub on_queue_ready: F<(i32, i32), ()>,
    pub on_done: F<i32, i32>,
    pub on_log: F<i32, ()>,
    pub on_delete: F<i32, ()>,
    /// Network (TCP) filter callbacks.
    pub on_new_connection: F<i32, i32>,
    pub on_downstream_data: F<(i32, i32, i32), i32>,
    pub on_upstream_data: F<(i32, i32, i32), i32>,
    pub on_downstream_connection_close: F<(i32, i32), ()>,
    pub on_upstream_connection_close: F<(i32, i32), ()>,
}

/// A compiled module plus what the loader learned about it.
pub struct Compiled {
    engine: Engine,
    /// Private: only `Vm::load` and `links` instantiate it, after `validation`'s verdict.
    module: Module,
    /// The whole-module verdict still to come (large modules, `compile`).
    validation: Option<Validation>,
    /// Data segments kept out of `module` and written at instantiation (large modules whose
    /// verdict covers them, `compile::Detached`).
    data: Option<Detached>,
    /// Known ABI markers in export order (never empty); the profile picks the one it accepts.
    pub markers: Vec<AbiVersion>,
}

/// Compiles a module once; the result is shared by every VM that runs it.
pub fn compile(bytes: &[u8], limits: &Limits) -> Result<Compiled, LoadError> {
    if bytes.len() > limits.max_module_bytes {
        return Err(LoadError::Compile(format!(
            "module is {} bytes, larger than the {} byte limit",
            bytes.len(),
            limits.max_module_bytes
        )));
    }
    // WAT text and other non-Wasm files: the same one-line reason as `lint` (MX405).
    if let Some(e) = crate::abi::bad_magic(bytes) {
        return Err(invalid_module(e));
    }
    let engine = engine(limits, bytes.len());
    // Large modules: one copy, shared by the validation thread and the detached data.
    let shared: Option<std::sync::Arc<[u8]>> =
        (bytes.len() >= BACKGROUND_FROM).then(|| bytes.into());
    let validation = shared.as_ref().map(Validation::start);
    // Every error below waits for the whole module's verdict first: an invalid module is
    // reported as invalid, with wasmi's first error, whatever else is wrong with it. That
    // verdict also covers a data section kept out of wasmi's parse.
    let invalid = |v: &Option<Validation>| verdict(v.as_ref()).err();
    let (rest, data) = match shared.as_ref().and_then(Detached::split) {
        Some((rest, data)) => (Some(rest), Some(data)),
        None => (None, None),
    };
    let module = match Module::new(&engine, rest.as_deref().unwrap_or(bytes)) {
        Ok(m) => m,
        Err(e) => return Err(invalid(&validation).unwrap_or_else(|| invalid_module(e))),
    };
    let markers = crate::abi::abi_markers(bytes);
    if markers.is_empty() {
        return Err(invalid(&validation).unwrap_or_else(|| LoadError::Module("Missing or unknown Proxy-Wasm ABI version (no proxy_abi_version_0_1_0/0_2_0/0_2_1 export)".into())));
    }
    Ok(Compiled {
        engine,
        module,
        markers,
        validation,
        data,
    })
}

impl Compiled {
    /// Waits for the whole module's validation; `Err` is the compile error to report.
    pub fn validated(&self) -> Result<(), LoadError> {
        verdict(self.validation.as_ref())
    }
}

/// The whole-module verdict as a load result (small modules were validated by `Module::new`).
fn verdict(validation: Option<&Validation>) -> Result<(), LoadError> {
    validation.map_or(Ok(()), |v| v.wait().map_err(invalid_module))
}

fn invalid_module(e: impl std::fmt::Display) -> LoadError {
    LoadError::Compile(format!("invalid Wasm module: {e}"))
}

fn sig(params: &[wasmi::ValType], results: &[wasmi::ValType]) -> String {
    let j = |v: &[wasmi::ValType]| {
        v.iter()
            .map(|t| format!("{t:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", j(params), j(results))
}

/// One VM instance with its store.
pub struct Vm {
    pub store: Store<HostState>,
    pub instance: Instance,
    pub ex: Exports,
    pub root: u32,
    pub failed: Option<Failure>,
    pub limits: Limits,
}

impl Vm {
    /// Links and starts a module like the proxy: checks imports against what the proxy
    /// registers, looks up exports with their signatures, runs the start functions. Returns
    /// only once the whole module has validated (`compile::Validation`): a module Envoy
    /// would reject is reported as invalid, even if its start-up never reached the broken part.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        compiled: &Compiled,
        plugin: Rc<PluginInfo>,
        workload: Rc<WorkloadInfo>,
        profile: Profile,
        shared: Rc<RefCell<Shared>>,
        vm_index: usize,
        limits: Limits,
        seed: u64,
    ) -> Result<Vm, LoadError> {
        // Start-up runs while the whole module is still being validated (large modules). If
        // it turns out invalid, what the start-up did to the run's shared state and budgets
        // is undone: the module never ran as far as Envoy is concerned.
        // A module already known invalid is not started at all.
        let verdict = compiled.validation.as_ref().map(Validation::known);
        if let Some(Some(Err(e))) = verdict {
            return Err(invalid_module(e));
        }
        let undo = matches!(verdict, Some(None)).then(|| (shared.clone(), shared.borrow().mark()));
        let started = (|| {
            let Some(abi) = profile.accepted_abi(&compiled.markers) else {
                let accepts: Vec<&str> = profile
                    .row()
                    .abi_markers
                    .iter()
                    .map(|a| a.as_str())
                    .collect();
                return Err(LoadError::Module(format!(
                    "WASM missing Proxy-Wasm ABI version or requires an unsupported version: the {} accepts only ABI {}, the module is {}",
                    profile.label(),
                    accepts.join(", "),
                    compiled.markers[0].as_str()
                )));
            };
            let state = HostState::new(
                plugin,
                workload,
                profile,
                abi,
                store_limits(&limits, &compiled.module),
                shared,
                vm_index,
                seed,
            );
            let (mut store, instance) = instantiate(compiled, state, &limits)?;

            let memory = instance.exports(&store).find_map(|e| e.into_memory());
            let Some(memory) = memory else {
                return Err(LoadError::Module("the module exports no memory".into()));
            };
            store.data_mut().memory = Some(memory);
            // The allocators the proxy looks up, in its order (v2.0: malloc only).
            let mut malloc = None;
            for name in &profile.row().allocators {
                malloc = typed::<i32, i32>(&store, &instance, name)?;
                if malloc.is_some() {
                    break;
                }
            }
            if malloc.is_none() {
                return Err(LoadError::Module(
                    "Wasm module is missing malloc function.".into(),
                ));
            }
            store.data_mut().malloc = malloc;
            let ex = exports(&store, &instance, abi)?;
            let mut vm = Vm {
                store,
                instance,
                ex,
                root: 0,
                failed: None,
                limits,
            };
            vm.start(&profile)?;
            Ok(vm)
        })();
        if let Err(e) = compiled.validated() {
            drop(started);
            if let Some((shared, mark)) = undo {
                shared.borrow_mut().restore(mark);
            }
            return Err(e);
        }
        started
    }

    /// Runs the first start-up alternative of the proxy's row whose first export exists, then
    /// the exports that follow it (`rules/abi/mesh_versions.tsv`, column `start`).
    fn start(&mut self, p: &Profile) -> Result<(), LoadError> {
        for alt in &p.row().start {
            let Some(first) = typed::<(), ()>(&self.store, &self.instance, &alt[0])? else {
                continue;
            };
            self.invoke(first, (), 0, &alt[0])
                .map_err(LoadError::Start)?;
            for then in &alt[1..] {
                self.start_then(then, p)?;
            }
            return Ok(());
        }
        Ok(())
    }

    /// A start-up export after the first: `main(0, 0)` (or `__main_void()` on hosts that call
    /// it when there is no `main`), else a `() -> ()` function.
    fn start_then(&mut self, name: &str, p: &Profile) -> Result<(), LoadError> {
        if name == "main" {
            if let Some(main) = typed::<(i32, i32), i32>(&self.store, &self.instance, "main")? {
                self.invoke(main, (0, 0), 0, "main")
                    .map_err(LoadError::Start)?;
            } else if p.main_void() {
                if let Some(mv) = typed::<(), i32>(&self.store, &self.instance, "__main_void")? {
                    self.invoke(mv, (), 0, "__main_void")
                        .map_err(LoadError::Start)?;
                }
            }
            return Ok(());
        }
        if let Some(f) = typed::<(), ()>(&self.store, &self.instance, name)? {
            self.invoke(f, (), 0, name).map_err(LoadError::Start)?;
        }
        Ok(())
    }

    /// The module's log lines since the last drain.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        self.store.data_mut().take_logs()
    }

    /// Calls an export for context `ctx` with a fresh fuel budget. A trap fails the VM.
    pub fn invoke<P: WasmParams, R: WasmResults>(
        &mut self,
        f: TypedFunc<P, R>,
        params: P,
        ctx: u32,
        name: &str,
    ) -> Result<R, Failure> {
        if let Some(f) = &self.failed {
            return Err(f.clone());
        }
        let budget = self.store.data().budget.clone();
        let (grant, bound) = budget.grant(self.limits.fuel_per_call);
        self.store.set_fuel(grant).ok();
        let s = self.store.data_mut();
        s.current = ctx;
        s.effective = ctx;
        let r = f.call(&mut self.store, params);
        let owed = self.store.data().host_fuel.take();
        budget.spend(grant.saturating_sub(self.store.get_fuel().unwrap_or(0)) + owed);
        let s = self.store.data_mut();
        s.effective = 0;
        s.current = 0;
        match r {
            Ok(v) => Ok(v),
            Err(e) => {
                let s = self.store.data();
                let logs = &s.logs;
                let fail = Failure {
                    callback: name.to_string(),
                    message: describe(&e, &self.limits, bound, s.limiter.denied),
                    last_logs: logs
                        .range(logs.len().saturating_sub(5)..)
                        .cloned()
                        .collect(),
                };
                self.failed = Some(fail.clone());
                Err(fail)
            }
        }
    }

    pub fn new_context(
        &mut self,
        parent: u32,
        stream: Option<Rc<RefCell<host::HttpState>>>,
    ) -> u32 {
        let s = self.store.data_mut();
        let id = s.next_context_id;
        s.next_context_id += 1;
        s.contexts.insert(
            id,
            ContextInfo {
                parent,
                stream,
                access: Default::default(),
            },
        );
        id
    }

    /// Creates the root context of the VM's plugin and runs `on_vm_start` and `on_configure`.
    pub fn start_plugin(&mut self) -> Result<(), PluginStartError> {
        let plugin = self.store.data().plugin.clone();
        self.start_root(plugin).map(|_| ()).map_err(|(_, e)| e)
    }

    /// Starts `plugin` in this VM under a root context of its own (Envoy's `WasmBase::start`:
    /// every plugin of a shared VM gets `on_context_create`, `on_vm_start` and
    /// `on_configure`); returns the root context id, which is created even when start fails.
    pub fn start_root(&mut self, plugin: Rc<PluginInfo>) -> Result<u32, (u32, PluginStartError)> {
        let root = self.new_context(0, None);
        if self.root == 0 {
            self.root = root;
        }
        self.store.data_mut().plugins.insert(root, plugin);
        self.run_start(root).map(|_| root).map_err(|e| (root, e))
    }

    fn run_start(&mut self, root: u32) -> Result<(), PluginStartError> {
        if let Some(f) = self.ex.on_context_create {
            self.invoke(f, (root as i32, 0), root, "proxy_on_context_create")
                .map_err(PluginStartError::ContextTrap)?;
        }
        if let Some(f) = self.ex.on_vm_start {
            // The VM configuration's size, whichever plugin starts (proxy-wasm-cpp-host
            // `ContextBase::onStart`).
            let n = self.store.data().plugin.vm_configuration.len() as i32;
            let ok = self
                .invoke(f, (root as i32, n), root, "proxy_on_vm_start")
                .map_err(PluginStartError::VmStartTrap)?;
            if ok == 0 {
                return Err(PluginStartError::VmStartFalse);
            }
        }
        if let Some(f) = self.ex.on_configure {
            let n = self.store.data().plugins[&root].configuration.len() as i32;
            self.store.data_mut().in_configure = true;
            let r = self.invoke(f, (root as i32, n), root, "proxy_on_configure");
            self.store.data_mut().in_configure = false;
            if r.map_err(PluginStartError::ConfigureTrap)? == 0 {
                return Err(PluginStartError::ConfigureFalse);
            }
        }
        Ok(())
    }
}

/// Why a plugin (root context) failed to start.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginStartError {
    ContextTrap(Failure),
    VmStartTrap(Failure),
    VmStartFalse,
    ConfigureTrap(Failure),
    ConfigureFalse,
}

impl std::fmt::Display for PluginStartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginStartError::ContextTrap(x)
            | PluginStartError::VmStartTrap(x)
            | PluginStartError::ConfigureTrap(x) => {
                write!(f, "{} trapped: {}", x.callback, x.message)
            }
            PluginStartError::VmStartFalse => f.write_str("proxy_on_vm_start returned false"),
            PluginStartError::ConfigureFalse => {
                f.write_str("proxy_on_configure returned false (Failed to configure)")
            }
        }
    }
}

/// Explains an instantiation failure: a missing import or type mismatch, or a trap.
fn link_error(
    e: &Error,
    profile: &Profile,
    limits: &Limits,
    bound: Bound,
    denied: Option<Denied>,
) -> LoadError {
    if denied == Some(Denied::Total) {
        return LoadError::Link(format!(
            "Failed to load Wasm module: its memory does not fit in the total memory budget ({} MiB over all VMs)",
            limits.total_memory_bytes >> 20
        ));
    }
    if e.as_trap_code().is_some() || e.i32_exit_status().is_some() {
        return LoadError::Start(Failure {
            callback: "start function".into(),
            message: describe(e, limits, bound, denied),
            last_logs: Default::default(),
        });
    }
    let msg = e.to_string();
    if matches!(e.kind(), wasmi::errors::ErrorKind::Linker(_)) {
        return LoadError::Link(format!(
            "Failed to load Wasm module: {msg} — the {} does not provide this import",
            profile.label()
        ));
    }
    LoadError::Link(format!("Failed to load Wasm module: {msg}"))
}

/// A readable reason for a trap or host error; `bound` is the fuel budget the call had,
/// `denied` the memory limit that refused a growth, if one did.
pub fn describe(e: &Error, limits: &Limits, bound: Bound, denied: Option<Denied>) -> String {
    if let Some(code) = e.i32_exit_status() {
        return format!("proc_exit({code})");
    }
    match e.as_trap_code() {
        Some(wasmi::TrapCode::OutOfFuel) => bound.describe(limits.fuel_per_call),
        Some(wasmi::TrapCode::StackOverflow) => "call stack exhausted (recursion too deep)".into(),
        Some(wasmi::TrapCode::GrowthOperationLimited) if denied == Some(Denied::Total) => {
            format!(
                "memory limit reached ({} MiB over all VMs of the run, the total memory budget)",
                limits.total_memory_bytes >> 20
            )
        }
        Some(wasmi::TrapCode::GrowthOperationLimited) => {
            format!(
                "memory limit reached ({} MiB per VM)",
                limits.memory_bytes >> 20
            )
        }
        Some(code) => format!("wasm trap: {code}"),
        None => e.to_string(),
    }
}

/// Memory, table and instance caps of one VM's store, and its share of the process total.
fn store_limits(limits: &Limits, module: &Module) -> MemoryLimiter {
    // The memory the host creates for a module that imports one counts as well.
    let imported = module
        .imports()
        .filter(|i| matches!(i.ty(), wasmi::ExternType::Memory(_)))
        .count();
    let inner = StoreLimitsBuilder::new()
        .memory_size(limits.memory_bytes)
        .memories(1 + imported)
        .tables(4)
        .instances(1)
        .table_elements(1 << 20)
        .trap_on_grow_failure(true)
        .build();
    MemoryLimiter::new(inner, limits.memory_bytes, limits.total_memory_bytes)
}

/// Links `compiled` against the host `state.profile` describes and instantiates it (running
/// the module's start section only, not the proxy's start-up exports).
fn instantiate(
    compiled: &Compiled,
    state: HostState,
    limits: &Limits,
) -> Result<(Store<HostState>, Instance), LoadError> {
    let profile = state.profile;
    let mut store = Store::new(&compiled.engine, state);
    store.limiter(|s| &mut s.limiter);
    let mut linker = host::linker(&compiled.engine, &profile, store.data().abi)
        .map_err(|e| LoadError::Link(format!("host setup failed: {e}")))?;
    define_imported_memory(&mut store, &mut linker, &compiled.module, limits).map_err(|e| {
        match store.data().limiter.denied {
            Some(Denied::Total) => LoadError::Link(format!(
                "Failed to load Wasm module: its memory does not fit in the total memory budget ({} MiB over all VMs)",
                limits.total_memory_bytes >> 20
            )),
            _ => LoadError::Link(format!("Failed to load Wasm module: {e}")),
        }
    })?;
    let budget = store.data().budget.clone();
    let (grant, bound) = budget.grant(limits.fuel_per_call);
    store.set_fuel(grant).ok();
    let r = linker
        .instantiate_and_start(&mut store, &compiled.module)
        .and_then(|instance| {
            if let Some(data) = &compiled.data {
                // `Detached::split` kept only modules that define and export one memory.
                let memory = instance.exports(&store).find_map(|e| e.into_memory());
                let memory = memory.ok_or_else(|| Error::new("the module exports no memory"))?;
                data.write(&mut store, memory)?;
            }
            Ok(instance)
        });
    let owed = store.data().host_fuel.take();
    budget.spend(grant.saturating_sub(store.get_fuel().unwrap_or(0)) + owed);
    let instance =
        r.map_err(|e| link_error(&e, &profile, limits, bound, store.data().limiter.denied))?;
    Ok((store, instance))
}

/// Whether the proxy of `profile` accepts and links `compiled` (what `inspect`'s MX501–MX506
/// judge statically); start-up is not run. Used by the test that ties both to `rules/abi`.
pub fn links(compiled: &Compiled, profile: Profile) -> Result<(), LoadError> {
    compiled.validated()?;
    let Some(abi) = profile.accepted_abi(&compiled.markers) else {
        return Err(LoadError::Module("ABI marker refused".into()));
    };
    let limits = Limits::default();
    let state = HostState::new(
        Rc::default(),
        Rc::default(),
        profile,
        abi,
        store_limits(&limits, &compiled.module),
        Rc::default(),
        0,
        1,
    );
    instantiate(compiled, state, &limits).map(|_| ())
}

/// Like the proxy, creates the linear memory or table a module imports instead of exporting
/// (the static checks accept these imports from any module name).
fn define_imported_memory(
    store: &mut Store<HostState>,
    linker: &mut wasmi::Linker<HostState>,
    module: &Module,
    limits: &Limits,
) -> Result<(), Error> {
    for import in module.imports() {
        match import.ty() {
            wasmi::ExternType::Memory(ty) => {
                if ty.minimum().saturating_mul(65536) > limits.memory_bytes as u64 {
                    return Err(Error::new(format!(
                        "the imported memory is larger than the {} byte limit",
                        limits.memory_bytes
                    )));
                }
                let memory = wasmi::Memory::new(&mut *store, *ty)?;
                linker.define(import.module(), import.name(), memory)?;
            }
            wasmi::ExternType::Table(ty) => {
                let init = wasmi::Ref::null(ty.element());
                let table = wasmi::Table::new(&mut *store, *ty, init)?;
                linker.define(import.module(), import.name(), table)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn typed<P: WasmParams, R: WasmResults>(
    store: &Store<HostState>,
    inst: &Instance,
    name: &str,
) -> Result<Option<TypedFunc<P, R>>, LoadError> {
    let Some(f) = inst.get_func(store, name) else {
        return Ok(None);
    };
    f.typed::<P, R>(store).map(Some).map_err(|_| {
        let ty = f.ty(store);
        LoadError::Module(format!(
            "Bad function signature for: {name}, the module exports: {}",
            sig(ty.params(), ty.results())
        ))
    })
}

fn exports(
    store: &Store<HostState>,
    inst: &Instance,
    abi: AbiVersion,
) -> Result<Exports, LoadError> {
    let headers = |name: &str| -> Result<Option<HeadersFn>, LoadError> {
        Ok(if abi == AbiVersion::V0_1_0 {
            typed(store, inst, name)?.map(HeadersFn::V1)
        } else {
            typed(store, inst, name)?.map(HeadersFn::V2)
        })
    };
    Ok(Exports {
        on_context_create: typed(store, inst, "proxy_on_context_create")?,
        on_vm_start: typed(store, inst, "proxy_on_vm_start")?,
        on_configure: typed(store, inst, "proxy_on_configure")?,
        on_tick: typed(store, inst, "proxy_on_tick")?,
        on_request_headers: headers("proxy_on_request_headers")?,
        on_request_body: typed(store, inst, "proxy_on_request_body")?,
        on_request_trailers: typed(store, inst, "proxy_on_request_trailers")?,
        on_response_headers: headers("proxy_on_response_headers")?,
        on_response_body: typed(store, inst, "proxy_on_response_body")?,
        on_response_trailers: typed(store, inst, "proxy_on_response_trailers")?,
        on_http_call_response: typed(store, inst, "proxy_on_http_call_response")?,
        on_grpc_close: typed(store, inst, "proxy_on_grpc_close")?,
        on_grpc_receive: typed(store, inst, "proxy_on_grpc_receive")?,
        on_grpc_receive_initial_metadata: typed(
            store,
            inst,
            "proxy_on_grpc_receive_initial_metadata",
        )?,
        on_grpc_receive_trailing_metadata: typed(
            store,
            inst,
            "proxy_on_grpc_receive_trailing_metadata",
        )?,
        on_queue_ready: typed(store, inst, "proxy_on_queue_ready")?,
        on_done: typed(store, inst, "proxy_on_done")?,
        on_log: typed(store, inst, "proxy_on_log")?,
        on_delete: typed(store, inst, "proxy_on_delete")?,
        on_new_connection: typed(store, inst, "proxy_on_new_connection")?,
        on_downstream_data: typed(store, inst, "proxy_on_downstream_data")?,
        on_upstream_data: typed(store, inst, "proxy_on_upstream_data")?,
        on_downstream_connection_close: typed(store, inst, "proxy_on_downstream_connection_close")?,
        on_upstream_connection_close: typed(store, inst, "proxy_on_upstream_connection_close")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeshVersion;

    /// Loads `compiled` as lint does (OSSM 2.6, a plugin and shared state of its own).
    fn load(compiled: &Compiled) -> (Result<Vm, LoadError>, Rc<RefCell<Shared>>) {
        let limits = Limits::default();
        let (plugin, shared) = super::super::startup::lone_plugin("x", "", "", &limits);
        let profile = Profile::for_mesh(MeshVersion::V2_6);
        let r = Vm::load(
            compiled,
            plugin,
            Rc::default(),
            profile,
            shared.clone(),
            0,
            limits,
            1,
        );
        (r, shared)
    }

    /// A module whose `_initialize` calls an 18 KB function, padded to `pad` bytes of data.
    fn module(pad: usize) -> Vec<u8> {
        let body = "(drop (i32.add (i32.const 1) (i32.const 2)))\n".repeat(3000);
        let data = format!("(data (i32.const 65536) \"{}\")", "a".repeat(pad));
        wat::parse_str(format!(
            r#"(module
  (memory (export "memory") 32)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func $big {body})
  (func (export "_initialize") (call $big))
  {data})"#
        ))
        .unwrap()
    }

    /// Fuel `_initialize` used (its first call translates `$big`).
    fn start_fuel(bytes: &[u8]) -> u64 {
        let compiled = compile(bytes, &Limits::default()).unwrap();
        let vm = load(&compiled).0.unwrap();
        Limits::default().fuel_per_call - vm.store.get_fuel().unwrap()
    }

    #[test]
    fn a_module_known_invalid_does_not_start_again() {
        // `_initialize` stores shared data; a broken body makes the module invalid.
        let bytes = wat::parse_str(format!(
            r#"(module
  (import "env" "proxy_set_shared_data" (func $set (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 32)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "_initialize")
    (drop (call $set (i32.const 16) (i32.const 3) (i32.const 32) (i32.const 3) (i32.const 0))))
  (func $broken (result i32) i64.const 0)
  (data (i32.const 65536) "{}"))"#,
            "a".repeat(BACKGROUND_FROM)
        ))
        .unwrap();
        let compiled = compile(&bytes, &Limits::default()).unwrap();
        assert!(compiled.validated().is_err());
        let (r, shared) = load(&compiled);
        assert!(matches!(r, Err(LoadError::Compile(_))));
        // With the verdict in, nothing is undone afterwards: the start-up must not have run.
        assert!(
            shared.borrow().data.is_empty(),
            "{:?}",
            shared.borrow().data
        );
    }

    #[test]
    fn the_same_code_costs_the_same_fuel_in_small_and_large_modules() {
        let (small, large) = (module(0), module(BACKGROUND_FROM));
        assert!(small.len() < BACKGROUND_FROM && large.len() > BACKGROUND_FROM);
        let fuel = start_fuel(&small);
        // Translation is charged (7 per byte of the 18 KB body), validation is not.
        assert!(fuel > 7 * 18_000, "{fuel}");
        assert_eq!(start_fuel(&large), fuel);
    }

    /// The memory wasmi's own instantiation gives `bytes` (no imports, no start-up).
    fn eager_memory(bytes: &[u8]) -> Vec<u8> {
        let engine = Engine::default();
        let module = Module::new(&engine, bytes).unwrap();
        let mut store = Store::new(&engine, ());
        let linker = wasmi::Linker::new(&engine);
        let instance = linker.instantiate_and_start(&mut store, &module).unwrap();
        let memory = instance.get_memory(&store, "memory").unwrap();
        memory.data(&store).to_vec()
    }

    #[test]
    fn detached_data_lands_where_wasmi_puts_it() {
        // Overlapping segments (later ones win), an empty one, one ending at the last byte of
        // the memory, escapes.
        let bytes = wat::parse_str(format!(
            r#"(module
  (memory (export "memory") 32)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_context_create") (param i32 i32))
  (data (i32.const 16) "first segment")
  (data (i32.const 22) "SECOND")
  (data (i32.const 100) "")
  (data (i32.const 2000) "\00\ff\10 bytes")
  (data (i32.const 65536) "{}")
  (data (i32.const 2097136) "the very last 16"))"#,
            "p".repeat(BACKGROUND_FROM)
        ))
        .unwrap();
        let compiled = compile(&bytes, &Limits::default()).unwrap();
        assert!(compiled.data.is_some(), "the data section was not detached");
        let vm = load(&compiled).0.unwrap_or_else(|e| panic!("{e}"));
        let memory = vm.store.data().memory.unwrap();
        let ours = memory.data(&vm.store);
        assert_eq!(&ours[16..32], b"first SECONDt\0\0\0");
        assert!(ours == eager_memory(&bytes).as_slice(), "memories differ");
    }
}
