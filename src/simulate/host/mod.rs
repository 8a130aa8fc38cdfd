//! The proxy-wasm host: per-VM state and the import functions registered on a
//! `wasmi::Linker`, one file per area. Semantics and status codes follow Envoy (see
//! `docs/fidelity.md`); the profile decides which imports exist for a mesh version.

pub mod buffers;
pub mod calls;
pub mod foreign;
pub mod headers;
pub mod profile;
pub mod properties;
pub mod shared;
pub mod wasi;

use super::budget::{MemoryLimiter, RunBudget};
use super::headers::HeaderMap;
use super::limits::{self, HOST_BYTES_PER_FUEL, HOST_FUEL_PER_ACCESS};
use crate::abi::AbiVersion;
use profile::Profile;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use wasmi::{Caller, Error, IntoFunc, Linker, Memory, TypedFunc};

/// `proxy_status_t` values (Envoy `WasmResult`).
pub mod status {
    pub const OK: i32 = 0;
    pub const NOT_FOUND: i32 = 1;
    pub const BAD_ARGUMENT: i32 = 2;
    pub const SERIALIZATION_FAILURE: i32 = 3;
    pub const PARSE_FAILURE: i32 = 4;
    pub const INVALID_MEMORY_ACCESS: i32 = 6;
    pub const EMPTY: i32 = 7;
    pub const CAS_MISMATCH: i32 = 8;
    pub const INTERNAL_FAILURE: i32 = 10;
    pub const UNIMPLEMENTED: i32 = 12;
}

/// Identity of a plugin as Envoy configures it.
#[derive(Debug, Clone, Default)]
pub struct PluginInfo {
    pub name: String,
    pub root_id: String,
    pub vm_id: String,
    pub configuration: Vec<u8>,
    pub vm_configuration: Vec<u8>,
    /// `vm_config.environment_variables` (a WasmPlugin's `vmConfig.env`), served by WASI
    /// `environ_get` as `KEY=VALUE`.
    pub env: Vec<(String, String)>,
}

/// Facts about the workload the proxy runs in: they feed `node`, `source`, `destination`
/// and friends. Scenario `properties` override individual paths.
#[derive(Debug, Clone)]
pub struct WorkloadInfo {
    pub name: String,
    pub namespace: String,
    pub service_host: String,
    pub pod_ip: String,
    pub port: u16,
    /// The port of the Service that selects the workload (number and name, the name possibly
    /// empty), when one does: mesh v2.0 names its inbound cluster after it.
    pub service_port: Option<(i64, String)>,
    pub labels: BTreeMap<String, String>,
    pub cluster_id: String,
    pub mesh_id: String,
    /// Property path (segments joined by `.`) → raw value, overriding computed ones.
    pub overrides: BTreeMap<String, Vec<u8>>,
}

impl Default for WorkloadInfo {
    fn default() -> Self {
        WorkloadInfo {
            name: "workload".into(),
            namespace: "default".into(),
            service_host: "workload.default.svc.cluster.local".into(),
            pod_ip: "10.0.0.2".into(),
            port: 8080,
            service_port: None,
            labels: BTreeMap::new(),
            cluster_id: "Kubernetes".into(),
            mesh_id: "cluster.local".into(),
            overrides: BTreeMap::new(),
        }
    }
}

/// The request/response as the filter chain currently has it. Shared by every filter (and
/// VM) of one stream; what a callback may touch is decided by [`Access`].
#[derive(Debug, Clone, Default)]
pub struct HttpState {
    pub req_headers: HeaderMap,
    pub req_trailers: HeaderMap,
    pub resp_headers: HeaderMap,
    pub resp_trailers: HeaderMap,
    /// The body buffer the current body callback sees (request / response).
    pub req_body: Vec<u8>,
    pub resp_body: Vec<u8>,
    /// `set_property` values (Envoy filter state `wasm.<path>`).
    pub filter_state: BTreeMap<String, Vec<u8>>,
    pub start_ns: u64,
    pub end_ns: Option<u64>,
    pub connection_id: u64,
    /// The simulated client's address (always the same one).
    pub source_address: &'static str,
    pub source_port: u16,
    pub response_code: Option<u32>,
    pub response_code_details: Option<String>,
    /// The router sent the request upstream: Envoy's `upstreamHost()` is set from then on.
    pub upstream_reached: bool,
    pub request_size: u64,
    pub response_size: u64,
    /// The client sent an empty data frame that did not end the stream, which only HTTP/2
    /// carries: `request.protocol` is then `HTTP/2` (else `HTTP/1.1`).
    pub downstream_http2: bool,
    /// Copies kept for the access-log phase.
    pub log_req_headers: HeaderMap,
    /// Request / response headers as they were before the first write of the current
    /// callback (taken by the host on that write), so the trace can show the edits without
    /// copying the maps for callbacks that change nothing.
    pub headers_before_write: [Option<HeaderMap>; 2],
    /// The same for the request / response body: most data callbacks only read it.
    pub body_before_write: [Option<Vec<u8>>; 2],
}

/// Which maps and buffers a context may use right now (Envoy keeps a pointer per map and
/// clears it when a callback returns Continue or the stream is resumed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    pub req_headers: bool,
    pub req_body: bool,
    pub req_trailers: bool,
    pub resp_headers: bool,
    pub resp_body: bool,
    pub resp_trailers: bool,
    /// Inside `proxy_on_log`: read-only access-log copies.
    pub log: bool,
    /// Network filters: the connection's read (DownstreamData, buffer 2) and write
    /// (UpstreamData, buffer 3) buffers, kept in the stream's request / response body.
    pub down_data: bool,
    pub up_data: bool,
}

impl Access {
    pub fn headers_mut(&mut self, response: bool) -> &mut bool {
        if response {
            &mut self.resp_headers
        } else {
            &mut self.req_headers
        }
    }

    pub fn body_mut(&mut self, response: bool) -> &mut bool {
        if response {
            &mut self.resp_body
        } else {
            &mut self.req_body
        }
    }

    pub fn trailers_mut(&mut self, response: bool) -> &mut bool {
        if response {
            &mut self.resp_trailers
        } else {
            &mut self.req_trailers
        }
    }
}

/// One context inside a VM.
#[derive(Debug, Clone)]
pub struct ContextInfo {
    /// 0 for root contexts.
    pub parent: u32,
    pub stream: Option<Rc<RefCell<HttpState>>>,
    pub access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevel {
    pub fn from_i32(v: i32) -> Option<LogLevel> {
        Some(match v {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
}

/// Something a hostcall asked the proxy to do once the current callback returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `continue_stream` / `continue_request` / `continue_response`; `response` picks the direction.
    Continue {
        ctx: u32,
        response: bool,
    },
    /// `close_stream` (HTTP) → stream reset.
    Close {
        ctx: u32,
        response: bool,
    },
    LocalReply {
        ctx: u32,
        reply: LocalReply,
    },
    HttpCall(HttpCall),
    /// `grpc_call` / `grpc_stream`: answered from the scenario's `grpc_calls`.
    GrpcCall(GrpcCall),
    /// `grpc_send` on a live stream.
    GrpcSend {
        token: u32,
        message: Vec<u8>,
    },
    /// `grpc_close` on a stream: the plugin closed its side.
    GrpcClose {
        token: u32,
    },
    /// `proxy_done` from a root that deferred its deletion.
    Done {
        ctx: u32,
    },
    /// `continue_stream(DOWNSTREAM)`: a network filter resumes reading.
    NetContinue {
        ctx: u32,
    },
    /// `close_stream(DOWNSTREAM | UPSTREAM)`: a network filter closes the connection.
    NetClose {
        ctx: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalReply {
    pub status: u32,
    pub details: String,
    #[serde(serialize_with = "super::trace::ser_bytes")]
    pub body: Vec<u8>,
    pub headers: HeaderMap,
    pub grpc_status: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpCall {
    pub token: u32,
    /// The root context that owns the call (receives `on_http_call_response`).
    #[serde(skip)]
    pub root: u32,
    pub cluster: String,
    pub headers: HeaderMap,
    #[serde(serialize_with = "super::trace::ser_bytes")]
    pub body: Vec<u8>,
    pub trailers: HeaderMap,
    pub timeout_ms: u32,
}

/// A gRPC call or stream a module opened (`proxy_grpc_call`, `proxy_grpc_stream`).
#[derive(Debug, Clone, PartialEq)]
pub struct GrpcCall {
    pub root: u32,
    pub token: u32,
    /// `envoy_grpc.cluster_name` of the `GrpcService` argument, or the argument itself when
    /// it is not a `GrpcService` message (Envoy takes it as a cluster name).
    pub cluster: String,
    pub service: String,
    pub method: String,
    /// The request message of a unary call (a stream's come with `grpc_send`).
    pub message: Option<Vec<u8>>,
    pub stream: bool,
    /// A unary call's timeout (`proxy_grpc_call`'s argument; 0 = none). Streams have none:
    /// `proxy_grpc_stream` takes no timeout.
    pub timeout_ms: u32,
    /// The `GrpcService` names a `google_grpc` client (field 2) rather than `envoy_grpc`.
    pub google: bool,
}

/// A gRPC call still open for the module (its token answers `grpc_send/close/cancel`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GrpcLive {
    pub stream: bool,
    pub local_closed: bool,
}

/// What a gRPC callback may read: map 4 (initial metadata), map 5 (trailing metadata) or
/// buffer 5 (the received message), only during that callback.
#[derive(Debug, Clone, Default)]
pub struct GrpcIncoming {
    pub initial: Option<HeaderMap>,
    pub trailing: Option<HeaderMap>,
    pub message: Option<Vec<u8>>,
}

/// The response delivered to `on_http_call_response` (maps 6/7, buffer 4).
#[derive(Debug, Clone, Default)]
pub struct CalloutResponse {
    pub headers: HeaderMap,
    pub trailers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    pub kind: MetricKind,
    pub value: i64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<u64>,
}

/// A hostcall error that names the budget it exceeded (the call traps; the trace and MX7xx
/// findings carry the message).
pub fn over_budget(what: &str, limit: impl std::fmt::Display) -> Error {
    Error::new(format!(
        "simulator limit: {what} (limit {limit}; docs/limits.md, \"Host\")"
    ))
}

/// Adds a hostcall's work to what the call owes (see [`charge`]); returns the total owed.
pub fn owe(c: &Caller<'_, HostState>, entries: u64, bytes: u64) -> u64 {
    let cost = HOST_FUEL_PER_ACCESS
        .saturating_add(entries.saturating_mul(limits::HOST_FUEL_PER_ENTRY))
        .saturating_add(bytes / HOST_BYTES_PER_FUEL);
    let s = c.data();
    let owed = s.host_fuel.get().saturating_add(cost);
    s.host_fuel.set(owed);
    owed
}

/// Charges a hostcall's work to the call's fuel: `entries` collection entries and `bytes`
/// bytes touched, on top of a fixed cost per access. The cost is owed (`HostState::host_fuel`)
/// and settled when the call returns; a hostcall whose debt passes the fuel left traps like
/// the module's own instructions would (`OutOfFuel`), so loops of cheap hostcalls are bounded.
pub fn charge(c: &Caller<'_, HostState>, entries: u64, bytes: u64) -> Result<(), Error> {
    let owed = owe(c, entries, bytes);
    match c.get_fuel() {
        Ok(left) if owed > left => Err(Error::from(wasmi::TrapCode::OutOfFuel)),
        _ => Ok(()),
    }
}

/// Per-VM host state (the `T` of `wasmi::Store<T>`).
pub struct HostState {
    pub plugin: Rc<PluginInfo>,
    pub workload: Rc<WorkloadInfo>,
    pub profile: Profile,
    pub abi: AbiVersion,
    pub limiter: MemoryLimiter,
    /// The run's totals (shared by its VMs).
    pub budget: Rc<RunBudget>,
    /// Module calls made from inside hostcalls now (`malloc` from `copy_out`).
    pub host_depth: u32,
    /// Fuel owed for hostcall work during the current call (see [`charge`]).
    pub host_fuel: std::cell::Cell<u64>,
    pub memory: Option<Memory>,
    pub malloc: Option<TypedFunc<i32, i32>>,
    pub shared: Rc<RefCell<shared::Shared>>,
    /// The plugin of each root context: plugins with the same VM key share one VM in Envoy
    /// (`plugin` is the VM's first; `vm_id` and the VM configuration are the same for all).
    pub plugins: BTreeMap<u32, Rc<PluginInfo>>,
    /// Index of this VM among the workload's VMs (queue owners are `(vm, root)`).
    pub vm_index: usize,
    /// The context the host called; hostcalls act on `effective`.
    pub current: u32,
    pub effective: u32,
    pub contexts: BTreeMap<u32, ContextInfo>,
    pub next_context_id: u32,
    pub in_configure: bool,
    pub callout: Option<CalloutResponse>,
    /// Open gRPC calls and streams by token.
    pub grpc_live: BTreeMap<u32, GrpcLive>,
    /// What the running gRPC callback can read.
    pub grpc_in: Option<GrpcIncoming>,
    pub logs: VecDeque<LogLine>,
    /// Bytes of the lines in `logs`.
    pub log_bytes: usize,
    pub logs_dropped: usize,
    /// `note_unsupported` messages already logged.
    pub noted: BTreeSet<String>,
    /// `declare_property` names per context (`foreign.rs`).
    pub declared: BTreeSet<(u32, String)>,
    /// `expr_create` expressions per root context (`foreign.rs`).
    pub expressions: BTreeMap<u32, foreign::Expressions>,
    pub effects: Vec<Effect>,
    /// Bytes held by `effects` (bodies, headers, details).
    pub effect_bytes: usize,
    pub metrics: Vec<Metric>,
    /// metric id → index in `metrics`.
    pub metric_ids: BTreeMap<u32, usize>,
    /// (name, kind) → index in `metrics`.
    pub metric_index: BTreeMap<(String, MetricKind), usize>,
    pub next_metric_id: u32,
    /// root context id → tick period in ms.
    pub tick_periods: BTreeMap<u32, u64>,
    pub next_token: u32,
    /// `proxy_get_status` answer: (code, message).
    pub last_status: (u32, Vec<u8>),
    pub rng: u64,
    /// Set by `proc_exit`: the module asked to exit with this code.
    pub exit_code: Option<i32>,
    /// How often the module read `plugin_root_id` (root-id dispatching SDKs do).
    pub root_id_reads: u32,
}

impl HostState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        plugin: Rc<PluginInfo>,
        workload: Rc<WorkloadInfo>,
        profile: Profile,
        abi: AbiVersion,
        limiter: MemoryLimiter,
        shared: Rc<RefCell<shared::Shared>>,
        vm_index: usize,
        seed: u64,
    ) -> HostState {
        let budget = shared.borrow().budget.clone();
        HostState {
            plugin,
            workload,
            profile,
            abi,
            limiter,
            budget,
            host_depth: 0,
            host_fuel: std::cell::Cell::new(0),
            memory: None,
            malloc: None,
            shared,
            plugins: BTreeMap::new(),
            vm_index,
            current: 0,
            effective: 0,
            contexts: BTreeMap::new(),
            next_context_id: 1,
            in_configure: false,
            callout: None,
            grpc_live: BTreeMap::new(),
            grpc_in: None,
            logs: VecDeque::new(),
            log_bytes: 0,
            logs_dropped: 0,
            noted: BTreeSet::new(),
            declared: BTreeSet::new(),
            expressions: BTreeMap::new(),
            effects: Vec::new(),
            effect_bytes: 0,
            metrics: Vec::new(),
            metric_ids: BTreeMap::new(),
            metric_index: BTreeMap::new(),
            next_metric_id: 0,
            tick_periods: BTreeMap::new(),
            next_token: 0,
            last_status: (0, Vec::new()),
            rng: seed | 1,
            exit_code: None,
            root_id_reads: 0,
        }
    }

    /// Buffers a log line: cut to `max_log_line_bytes()` (into a right-sized allocation), the
    /// oldest lines dropped past `max_log_lines()` / `max_log_bytes()`, nothing kept once the
    /// run's log budget is spent.
    pub fn log(&mut self, level: LogLevel, message: impl Into<String>) {
        let mut message = message.into();
        if message.len() > limits::max_log_line_bytes() {
            let mut cut = limits::max_log_line_bytes();
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut short = String::with_capacity(cut + '…'.len_utf8());
            short.push_str(&message[..cut]);
            short.push('…');
            message = short;
        } else {
            message.shrink_to_fit();
        }
        if !self.budget.take_log(message.len()) {
            self.logs_dropped += 1;
            return;
        }
        while !self.logs.is_empty()
            && (self.logs.len() >= limits::max_log_lines()
                || self.log_bytes + message.len() > limits::max_log_bytes())
        {
            if let Some(old) = self.logs.pop_front() {
                self.log_bytes -= old.message.len();
            }
            self.logs_dropped += 1;
        }
        self.log_bytes += message.len();
        self.logs.push_back(LogLine { level, message });
    }

    /// The buffered log lines, oldest first, emptying the buffer.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        self.log_bytes = 0;
        std::mem::take(&mut self.logs).into()
    }

    /// Queues an action for when the callback returns; `bytes` is what it holds.
    pub fn push_effect_sized(&mut self, e: Effect, bytes: usize) -> Result<(), Error> {
        if self.effects.len() >= limits::max_pending_effects() {
            return Err(over_budget(
                "too many pending proxy actions in one callback",
                limits::max_pending_effects(),
            ));
        }
        if self.effects.is_empty() {
            self.effect_bytes = 0;
        }
        if self.effect_bytes.saturating_add(bytes) > limits::max_pending_effect_bytes() {
            return Err(over_budget(
                "pending proxy actions of one callback hold too many bytes",
                limits::max_pending_effect_bytes(),
            ));
        }
        self.effect_bytes += bytes;
        self.effects.push(e);
        Ok(())
    }

    pub fn push_effect(&mut self, e: Effect) -> Result<(), Error> {
        self.push_effect_sized(e, 0)
    }

    /// The root context id that owns context `ctx`.
    pub fn root_of(&self, ctx: u32) -> u32 {
        match self.contexts.get(&ctx) {
            Some(c) if c.parent != 0 => c.parent,
            _ => ctx,
        }
    }

    /// The plugin whose root context the effective context belongs to (Envoy's `plugin_`).
    pub fn plugin_of_effective(&self) -> &Rc<PluginInfo> {
        self.plugin_of(self.effective)
    }

    /// The plugin whose root context owns context `ctx`.
    pub fn plugin_of(&self, ctx: u32) -> &Rc<PluginInfo> {
        let root = self.root_of(ctx);
        self.plugins.get(&root).unwrap_or(&self.plugin)
    }

    pub fn effective_ctx(&self) -> Option<&ContextInfo> {
        self.contexts.get(&self.effective)
    }

    /// Envoy allocates one token sequence per VM: HTTP 4, 8, …; gRPC call 5, 9, …; stream 6, 10, ….
    pub fn next_token(&mut self, kind: u32) -> u32 {
        self.next_token += 1;
        (self.next_token << 2) | kind
    }
}

/// Bounds-checked access to the module's linear memory from inside a hostcall.
pub mod mem {
    use super::{status, HostState};
    use wasmi::{Caller, Error};

    /// Error of a memory helper: a status to return, or a trap (e.g. inside `malloc`).
    pub enum Fault {
        Status(i32),
        Trap(Error),
    }

    impl From<Error> for Fault {
        fn from(e: Error) -> Self {
            Fault::Trap(e)
        }
    }

    pub type MemResult<T> = Result<T, Fault>;

    /// Turns a helper result into the hostcall's `i32` status (or trap).
    pub fn finish(r: MemResult<i32>) -> Result<i32, Error> {
        match r {
            Ok(v) => Ok(v),
            Err(Fault::Status(s)) => Ok(s),
            Err(Fault::Trap(e)) => Err(e),
        }
    }

    /// Checks `ptr..ptr+len` against the memory and charges the access (see [`super::charge`]).
    fn range(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> MemResult<(usize, usize)> {
        super::charge(caller, 0, len as u32 as u64)?;
        let memory = caller
            .data()
            .memory
            .ok_or(Fault::Status(status::INVALID_MEMORY_ACCESS))?;
        let size = memory.data_size(caller);
        let (p, l) = (ptr as u32 as usize, len as u32 as usize);
        match p.checked_add(l) {
            Some(end) if end <= size => Ok((p, end)),
            _ => Err(Fault::Status(status::INVALID_MEMORY_ACCESS)),
        }
    }

    pub fn read(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> MemResult<Vec<u8>> {
        let (start, end) = range(caller, ptr, len)?;
        let memory = caller.data().memory.expect("checked by range");
        Ok(memory.data(caller)[start..end].to_vec())
    }

    /// Runs `f` on the module's bytes at `ptr..ptr+len` without copying them.
    pub fn with_slice<R>(
        caller: &Caller<'_, HostState>,
        ptr: i32,
        len: i32,
        f: impl FnOnce(&[u8]) -> R,
    ) -> MemResult<R> {
        let (start, end) = range(caller, ptr, len)?;
        let memory = caller.data().memory.expect("checked by range");
        Ok(f(&memory.data(caller)[start..end]))
    }

    pub fn read_string(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> MemResult<String> {
        // One allocation: lossy conversion straight from guest memory.
        with_slice(caller, ptr, len, |b| {
            String::from_utf8_lossy(b).into_owned()
        })
    }

    /// Reads a string straight into a shared allocation (header values are stored shared).
    pub fn read_shared(
        caller: &Caller<'_, HostState>,
        ptr: i32,
        len: i32,
    ) -> MemResult<std::rc::Rc<str>> {
        with_slice(caller, ptr, len, |b| {
            String::from_utf8_lossy(b).as_ref().into()
        })
    }

    pub fn write(caller: &mut Caller<'_, HostState>, ptr: i32, bytes: &[u8]) -> MemResult<()> {
        let (start, end) = range(caller, ptr, bytes.len() as i32)?;
        let memory = caller.data().memory.expect("checked by range");
        memory.data_mut(caller)[start..end].copy_from_slice(bytes);
        Ok(())
    }

    pub fn write_u32(caller: &mut Caller<'_, HostState>, ptr: i32, v: u32) -> MemResult<()> {
        write(caller, ptr, &v.to_le_bytes())
    }

    pub fn write_u64(caller: &mut Caller<'_, HostState>, ptr: i32, v: u64) -> MemResult<()> {
        write(caller, ptr, &v.to_le_bytes())
    }

    /// Host → module transfer: allocate through the module, copy, write `(ptr, len)` into
    /// the out slots. Empty data writes `(0, 0)` without calling the allocator.
    pub fn copy_out(
        caller: &mut Caller<'_, HostState>,
        bytes: &[u8],
        ptr_ptr: i32,
        len_ptr: i32,
    ) -> MemResult<()> {
        if bytes.is_empty() {
            write_u32(caller, ptr_ptr, 0)?;
            return write_u32(caller, len_ptr, 0);
        }
        // Check the out slots before allocating so a bad pointer costs no guest memory.
        range(caller, ptr_ptr, 4)?;
        range(caller, len_ptr, 4)?;
        let malloc = caller
            .data()
            .malloc
            .ok_or(Fault::Status(status::INVALID_MEMORY_ACCESS))?;
        // The module's allocator may call hostcalls that copy out again: bound the nesting
        // (each level is a native stack frame of the interpreter).
        let depth = caller.data().host_depth;
        if depth >= super::limits::max_host_call_depth() {
            return Err(Fault::Trap(super::over_budget(
                "re-entrant hostcalls nested too deep (malloc called a hostcall that called malloc)",
                super::limits::max_host_call_depth(),
            )));
        }
        caller.data_mut().host_depth = depth + 1;
        let addr = malloc.call(&mut *caller, bytes.len() as i32);
        caller.data_mut().host_depth = depth;
        let addr = addr?;
        if addr == 0 {
            return Err(Fault::Status(status::INVALID_MEMORY_ACCESS));
        }
        write(caller, addr, bytes)?;
        write_u32(caller, ptr_ptr, addr as u32)?;
        write_u32(caller, len_ptr, bytes.len() as u32)
    }
}

/// Builds the import object for a module with ABI `abi` under `profile`: exactly the
/// functions that proxy registers (per `rules/abi/*.tsv`), so a module importing anything else
/// fails to link.
pub fn linker(
    engine: &wasmi::Engine,
    profile: &Profile,
    abi: AbiVersion,
) -> Result<Linker<HostState>, Error> {
    let mut l = Linker::new(engine);
    let mut r = Registrar {
        linker: &mut l,
        profile,
        abi,
    };
    calls::register(&mut r)?;
    headers::register(&mut r)?;
    buffers::register(&mut r)?;
    properties::register(&mut r)?;
    shared::register(&mut r)?;
    wasi::register(&mut r)?;
    Ok(l)
}

/// Registers the area files' host functions on a linker; the tables, not the area files,
/// decide which of them the emulated proxy has for the module's ABI.
pub struct Registrar<'a> {
    linker: &'a mut Linker<HostState>,
    profile: &'a Profile,
    abi: AbiVersion,
}

impl Registrar<'_> {
    /// Registers `module.name` if the proxy provides it for the module's ABI.
    pub fn func<Params, Args>(
        &mut self,
        module: &str,
        name: &str,
        f: impl IntoFunc<HostState, Params, Args>,
    ) -> Result<(), Error> {
        if self.profile.has_import(module, name, self.abi) {
            self.linker.func_wrap(module, name, f)?;
        }
        Ok(())
    }

    /// Registers `env.name` (see [`Registrar::func`]).
    pub fn env<Params, Args>(
        &mut self,
        name: &str,
        f: impl IntoFunc<HostState, Params, Args>,
    ) -> Result<(), Error> {
        self.func("env", name, f)
    }

    /// Makes everything registered under `module` available under `alias` too.
    pub fn alias_module(&mut self, module: &str, alias: &str) -> Result<(), Error> {
        self.linker.alias_module(module, alias)
    }
}

/// A hostcall's caller, for brevity in the area files.
pub type C<'a> = Caller<'a, HostState>;

/// Reports `(level, message)` for a hostcall that the simulator does not model faithfully, once.
pub fn note_unsupported(c: &mut C<'_>, what: &str) {
    let s = c.data_mut();
    if s.noted.insert(what.to_string()) {
        s.log(
            LogLevel::Warn,
            format!("[meshext-lint] {what} is not supported by the simulator"),
        );
    }
}

/// `:path` without query or fragment.
pub fn properties_url_path(path: &str) -> &str {
    path.split(['?', '#']).next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MeshVersion;

    fn state() -> HostState {
        state_on(MeshVersion::V2_1)
    }

    pub(super) fn state_on(v: MeshVersion) -> HostState {
        let limiter =
            MemoryLimiter::new(wasmi::StoreLimitsBuilder::new().build(), 1 << 20, 1 << 20);
        HostState::new(
            Rc::default(),
            Rc::default(),
            Profile::for_mesh(v),
            AbiVersion::V0_2_1,
            limiter,
            Rc::default(),
            0,
            1,
        )
    }

    #[test]
    fn a_cut_log_line_does_not_keep_its_size_and_the_oldest_lines_go_first() {
        let mut s = state();
        s.log(LogLevel::Info, "x".repeat(1 << 20));
        let cut = &s.logs[0].message;
        assert!(cut.ends_with('…') && cut.len() == limits::max_log_line_bytes() + 3);
        assert!(
            cut.capacity() <= limits::max_log_line_bytes() + 3,
            "{}",
            cut.capacity()
        );
        for i in 0..limits::max_log_lines() + 5 {
            s.log(LogLevel::Info, i.to_string());
        }
        assert_eq!(s.logs.len(), limits::max_log_lines());
        assert_eq!(s.logs.front().unwrap().message, "5");
        assert_eq!(s.logs_dropped, 6);
        assert_eq!(s.take_logs().len(), limits::max_log_lines());
        assert_eq!(s.log_bytes, 0);
    }

    #[test]
    fn buffered_log_bytes_are_bounded() {
        let mut s = state();
        for _ in 0..1000 {
            s.log(LogLevel::Info, "y".repeat(limits::max_log_line_bytes()));
        }
        assert!(s.log_bytes <= limits::max_log_bytes());
        let held: usize = s.logs.iter().map(|l| l.message.len()).sum();
        assert_eq!(held, s.log_bytes);
    }
}
