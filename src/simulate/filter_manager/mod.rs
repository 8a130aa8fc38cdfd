//! Envoy's HTTP filter manager for one workload: request frames through the chain in order,
//! response frames in reverse, pause/resume (deferred until the callback returns), body
//! buffering, trailers, local replies that travel back through the encoder side, callouts
//! and queue events delivered between callbacks, then the access-log tail.
//!
//! Rooms: `input` (what it is given), `state` (frames and stream state), `drive` (the
//! scheduler, sinks and context creation), `data_path` (headers/body/trailers through one
//! shared callback step), `status` (filter statuses), `local_reply`, `callouts` (HTTP/gRPC),
//! `timers` (ticks, queue events) and `log_phase` (on_log/on_done/on_delete).

mod callouts;
mod data_path;
mod drive;
mod grpc;
pub mod input;
mod local_reply;
mod log_phase;
mod network;
pub(crate) mod state;
mod status;
mod timers;

pub(crate) use callouts::ClusterPatterns;
pub use drive::DENY_ALL;
pub use input::{
    ExtensionFilter, GrpcDelay, GrpcMock, HttpMock, RequestInput, Response, SimFilter,
};

use super::budget::{RunBudget, Scope};
use super::headers::HeaderMap;
use super::host::profile::Profile;
use super::host::shared::Shared;
use super::host::{Access, Effect, HttpState, PluginInfo, WorkloadInfo};
use super::trace::{RequestReport, StartupProblem, TraceEvent};
use super::vm::{self, Compiled, Limits, Vm};
use input::open_empty_frame;
use state::{ClientProgress, DirState, Frame, Lanes, Run, Upstream};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use wasmi::{TypedFunc, WasmParams};

/// A wasm filter's VM (or why it has none).
enum Slot {
    Ready(Box<Vm>),
    Broken(String),
}

struct Stage {
    label: Rc<str>,
    /// Index into `vms` for extensions.
    vm: Option<usize>,
    /// The plugin's root context in that VM (0 when the VM could not be loaded).
    root: u32,
    builtin_router: bool,
    /// The deny-all stand-in for an unfetchable WasmPlugin module ([`DENY_ALL`]).
    deny_all: bool,
    /// Envoy's `fail_open`: a plugin whose VM failed (start or trap) is left out of the
    /// stream instead of failing it.
    fail_open: bool,
}

/// The filter chain of one workload with its VMs; state persists across requests.
pub struct FilterManager {
    stages: Vec<Stage>,
    /// The singleton Wasm services ([`SimFilter::Service`]): started, never in a stream.
    services: Vec<Stage>,
    vms: Vec<Slot>,
    /// Per VM: the key plugins share it by (vm_id, VM configuration, module), for VMs that
    /// may be shared.
    vm_keys: Vec<Option<VmKey>>,
    /// Plugins (VM, root context) whose start failed: their filters fail closed, their
    /// timers and queues are dead, while other plugins of the same VM run on.
    failed_roots: BTreeSet<(usize, u32)>,
    pub shared: Rc<RefCell<Shared>>,
    profile: Profile,
    pub startup: Vec<TraceEvent>,
    pub startup_problems: Vec<StartupProblem>,
    next_conn: u64,
    request_seq: u64,
    /// Trace length of the previous request: the next trace is allocated at that size once
    /// instead of growing (each growth of a large `Vec` is a costly allocation).
    trace_hint: usize,
    /// The previous request's per-stage lanes and client frame queue, emptied: reused so
    /// their seven buffers are not allocated again for every request.
    spare: Option<(Lanes, VecDeque<Frame>)>,
    /// The previous request's `:authority`, `:method` and `:scheme` values (see `reuse`).
    last_values: [Option<Rc<str>>; 3],
    /// Callout cluster patterns, compiled once per distinct pattern.
    patterns: ClusterPatterns,
    /// The current step's `grpc_calls` answers.
    pub grpc_mocks: Vec<GrpcMock>,
    /// gRPC calls in flight and what the step's calls were.
    grpc: grpc::GrpcState,
    /// HTTP call answers and timeouts waiting for simulated time (`delay:`, the call's
    /// timeout).
    http_timed: Vec<callouts::TimedCall>,
}

/// What makes Envoy reuse a VM: `proxy_wasm::makeVmKey(vm_id, vm_configuration, code)`,
/// within one thread (cpp-host keeps its VMs in a `thread_local` map): true for the main
/// thread, where singleton services run, false for the worker the filters run on.
type VmKey = (String, String, Arc<Vec<u8>>, bool);

/// A module compiled once per distinct byte string.
type CompileResult = Result<Rc<Compiled>, vm::LoadError>;

const MAX_STEPS_PER_REQUEST: usize = 1_000_000;

/// The upstream's answer when the scenario gives none: 200, no headers, no body.
static DEFAULT_UPSTREAM: Response = Response {
    status: 200,
    headers: Vec::new(),
    body: Vec::new(),
    chunks: None,
    trailers: Vec::new(),
};

impl FilterManager {
    /// Loads every extension of the chain (one VM each) and starts its plugin.
    pub fn new(
        chain: &[SimFilter],
        workload: WorkloadInfo,
        profile: Profile,
        limits: Limits,
        seed: u64,
    ) -> FilterManager {
        let mut fm = FilterManager {
            stages: Vec::new(),
            services: Vec::new(),
            vms: Vec::new(),
            vm_keys: Vec::new(),
            failed_roots: BTreeSet::new(),
            shared: Rc::new(RefCell::new(Shared {
                budget: Rc::new(RunBudget::new(&limits)),
                ..Shared::default()
            })),
            profile,
            startup: Vec::new(),
            startup_problems: Vec::new(),
            next_conn: 1,
            request_seq: 0,
            trace_hint: 0,
            spare: None,
            last_values: Default::default(),
            patterns: ClusterPatterns::default(),
            grpc_mocks: Vec::new(),
            grpc: grpc::GrpcState::default(),
            http_timed: Vec::new(),
        };
        let mut loader = Loader {
            limits,
            seed,
            workload: Rc::new(workload),
            compiled: Vec::new(),
        };
        // Envoy starts bootstrap services in `onServerInitialized`, before workers start the
        // listeners' filters.
        for f in chain {
            if let SimFilter::Service(e) = f {
                fm.add_extension(&mut loader, f.label().into(), e, true);
            }
        }
        for f in chain {
            match f {
                SimFilter::Service(_) => {}
                SimFilter::Builtin { name } => fm.stages.push(Stage {
                    label: name.as_str().into(),
                    vm: None,
                    root: 0,
                    builtin_router: name == "router" || name.ends_with(".router"),
                    deny_all: name.starts_with(DENY_ALL),
                    fail_open: false,
                }),
                SimFilter::Extension(e) => {
                    fm.add_extension(&mut loader, f.label().into(), e, false)
                }
            }
        }
        fm
    }

    /// Starts one extension: in the VM of an earlier plugin with the same VM key when it may
    /// share one (Envoy), else in a VM of its own. A load failure leaves a broken slot and a
    /// start failure a dead root (both fail closed). A `service` shares VMs only with other
    /// services (they run on the main thread, filters on the workers).
    fn add_extension(
        &mut self,
        loader: &mut Loader,
        label: Rc<str>,
        e: &ExtensionFilter,
        service: bool,
    ) {
        let vm_id = e.vm_id.clone().unwrap_or_default();
        let vm_cfg = e.vm_configuration.clone().unwrap_or_default();
        let plugin = Rc::new(PluginInfo {
            name: e.plugin_name.clone(),
            root_id: e.root_id.clone(),
            vm_id: vm_id.clone(),
            configuration: e.configuration.clone().into_bytes(),
            vm_configuration: vm_cfg.clone().into_bytes(),
            env: e.env.clone(),
        });
        let same = |k: &Option<VmKey>| {
            matches!(k, Some((id, cfg, m, main)) if *id == vm_id && *cfg == vm_cfg
                && *main == service && (Arc::ptr_eq(m, &e.module) || **m == *e.module))
        };
        let shared_with = e
            .share_vm
            .then(|| self.vm_keys.iter().position(same))
            .flatten();
        let index = match shared_with {
            Some(i) => i,
            None => {
                let index = self.vms.len();
                let slot =
                    match loader.load(plugin.clone(), &e.module, index, self.profile, &self.shared)
                    {
                        Err(err) => Slot::Broken(err),
                        Ok(vm) => Slot::Ready(Box::new(vm)),
                    };
                self.vms.push(slot);
                self.vm_keys.push(
                    e.share_vm
                        .then(|| (vm_id.clone(), vm_cfg.clone(), e.module.clone(), service)),
                );
                index
            }
        };
        let root = match &mut self.vms[index] {
            Slot::Broken(m) => {
                let m = m.clone();
                if !self.startup_problems.iter().any(|p| *p.filter == *label) {
                    self.startup_problems.push(StartupProblem {
                        filter: label.to_string(),
                        message: m,
                        logs: Vec::new(),
                    });
                }
                0
            }
            Slot::Ready(vm) => {
                let r = vm.start_root(plugin);
                let logs = vm.take_logs();
                self.record_start(label.clone(), index, r, logs)
            }
        };
        let stage = Stage {
            label,
            vm: Some(index),
            root,
            builtin_router: false,
            deny_all: false,
            fail_open: e.fail_open,
        };
        if service {
            self.services.push(stage);
        } else {
            self.stages.push(stage);
        }
    }

    /// Why Envoy would not start: a singleton Wasm service that failed to load or start.
    /// Envoy creates it in `onServerInitialized`, where `createWasm` fails synchronously (the
    /// configuration canary runs the plugin's start) and `PluginConfig` throws "Unable to
    /// create Wasm plugin NAME" out of server initialization, whatever `fail_open` says.
    pub fn service_failure(&self) -> Option<String> {
        // A module that did not load, or a root whose start failed: both are known from the
        // start on (later traps neither break a slot nor fail a root).
        let failed: Vec<String> = (self.services.iter())
            .filter(|s| {
                s.vm.is_none_or(|v| {
                    matches!(self.vms[v], Slot::Broken(_))
                        || self.failed_roots.contains(&(v, s.root))
                })
            })
            .map(|s| service_name(&s.label))
            .collect();
        (!failed.is_empty()).then(|| {
            format!(
                "Envoy does not start: the Wasm service{} {} failed to start (server initialization throws \"Unable to create Wasm plugin\")",
                if failed.len() == 1 { "" } else { "s" },
                failed.join(", ")
            )
        })
    }

    /// Records a plugin's start in the startup trace; a failed start kills its root.
    fn record_start(
        &mut self,
        label: Rc<str>,
        vmi: usize,
        r: Result<u32, (u32, vm::PluginStartError)>,
        logs: Vec<super::host::LogLine>,
    ) -> u32 {
        self.startup.push(TraceEvent {
            filter: label.clone(),
            callback: "start (on_context_create, on_vm_start, on_configure)".into(),
            result: match &r {
                Ok(_) => "ok".into(),
                Err((_, e)) => e.to_string().into(),
            },
            logs: logs.clone(),
            ..Default::default()
        });
        match r {
            Ok(root) => root,
            Err((root, e)) => {
                self.startup_problems.push(StartupProblem {
                    filter: label.to_string(),
                    message: e.to_string(),
                    logs,
                });
                self.failed_roots.insert((vmi, root));
                // A plugin that failed to start never ticks.
                self.shared.borrow_mut().clock.ticks.remove(&(vmi, root));
                root
            }
        }
    }

    /// Whether plugin `root` of VM `vmi` runs (its VM loaded and not failed, its start ok).
    fn live(&self, vmi: usize, root: u32) -> bool {
        matches!(self.vms.get(vmi), Some(Slot::Ready(vm)) if vm.failed.is_none())
            && !self.failed_roots.contains(&(vmi, root))
    }

    /// Whether some plugin of VM `vmi` started (its metrics count).
    fn vm_started(&self, vmi: usize) -> bool {
        (self.stages.iter().chain(&self.services))
            .any(|s| s.vm == Some(vmi) && !self.failed_roots.contains(&(vmi, s.root)))
    }

    pub fn chain_labels(&self) -> Vec<String> {
        self.stages.iter().map(|s| s.label.to_string()).collect()
    }

    /// The filters' and services' labels, as the trace names them.
    pub fn trace_labels(&self) -> Vec<String> {
        (self.stages.iter().chain(&self.services))
            .map(|s| s.label.to_string())
            .collect()
    }

    /// The Wasm services by name (`default/x`), in start order.
    pub fn service_names(&self) -> Vec<String> {
        self.services
            .iter()
            .map(|s| service_name(&s.label))
            .collect()
    }

    fn vm(&mut self, i: usize) -> Option<&mut Vm> {
        match self.vms.get_mut(i) {
            Some(Slot::Ready(vm)) => Some(vm),
            _ => None,
        }
    }

    /// The label of the filter whose plugin has root context `root` in VM `vm`.
    fn label_of(&self, vm: usize, root: u32) -> Rc<str> {
        let all = || self.stages.iter().chain(&self.services);
        all()
            .find(|s| s.vm == Some(vm) && s.root == root)
            .or_else(|| all().find(|s| s.vm == Some(vm)))
            .map(|s| s.label.clone())
            .unwrap_or_else(|| "".into())
    }

    /// Whether a filter running on VM `vmi` has a context in this stream.
    fn vm_in_stream(&self, run: &Run<'_>, vmi: usize) -> bool {
        (0..self.stages.len()).any(|i| self.stages[i].vm == Some(vmi) && run.lanes.ctx[i].is_some())
    }

    /// Metric values summed by name over the workload's VMs (Envoy's `wasmcustom` stats).
    pub fn metrics(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for (i, s) in self.vms.iter().enumerate() {
            if let (Slot::Ready(vm), true) = (s, self.vm_started(i)) {
                for m in &vm.store.data().metrics {
                    *out.entry(m.name.clone()).or_insert(0) += m.value;
                }
            }
        }
        out
    }

    /// The type of each defined metric, by name (for scenario expectations).
    pub fn metric_kinds(&self) -> BTreeMap<String, super::host::MetricKind> {
        let mut out = BTreeMap::new();
        for (i, s) in self.vms.iter().enumerate() {
            if let (Slot::Ready(vm), true) = (s, self.vm_started(i)) {
                for m in &vm.store.data().metrics {
                    out.insert(m.name.clone(), m.kind);
                }
            }
        }
        out
    }

    pub fn shared_data(&self) -> BTreeMap<String, String> {
        self.shared
            .borrow()
            .data
            .iter()
            .map(|((_, k), (v, _))| (k.clone(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    /// Sends one request through the chain and returns what happened.
    pub fn run_request(
        &mut self,
        name: &str,
        input: &RequestInput<'_>,
        upstream: Option<&Response>,
        mocks: &[HttpMock],
    ) -> RequestReport {
        self.request_seq += 1;
        let conn = self.next_conn;
        self.next_conn += 1;
        let (lanes, mut downstream) = self.lanes();
        downstream_frames(input, &mut downstream);
        let mut run = Run {
            mocks,
            st: Rc::new(RefCell::new(self.request_state(input, conn))),
            lanes,
            downstream,
            upstream_resp: upstream.unwrap_or(&DEFAULT_UPSTREAM),
            upstream: None,
            upstream_state: Upstream::Pending,
            client: None,
            client_progress: ClientProgress::Waiting,
            reset: None,
            pending_calls: VecDeque::new(),
            waited_ns: 0,
            waited_ticks: 0,
            report: RequestReport {
                name: name.to_string(),
                trace: Vec::with_capacity(self.trace_hint),
                ..Default::default()
            },
        };
        let budget = self.shared.borrow().budget.clone();
        budget.begin(Scope::Request);
        self.drive(&mut run);
        self.tail(&mut run);
        budget.end();
        self.finish(run)
    }

    /// The stream's host state: request headers as Envoy completes them, connection facts.
    fn request_state(&mut self, input: &RequestInput<'_>, conn: u64) -> HttpState {
        // The pseudo-headers, the scenario's, x-request-id and content-length.
        let mut req_headers = HeaderMap::with_capacity(input.headers.len() + 6);
        let [authority, method, scheme] = &mut self.last_values;
        req_headers.add_shared(":authority", reuse(authority, input.authority));
        req_headers.add(":path", input.path);
        req_headers.add_shared(":method", reuse(method, input.method));
        req_headers.add_shared(":scheme", reuse(scheme, "http"));
        for (k, v) in input.headers {
            req_headers.add(k, v);
        }
        if req_headers.get("x-request-id").is_none() {
            req_headers.add_shared("x-request-id", request_id(self.request_seq));
        }
        let body_len: usize = input.chunks.iter().map(Vec::len).sum();
        if body_len > 0 && input.chunks.len() == 1 && req_headers.get("content-length").is_none() {
            req_headers.add("content-length", &body_len.to_string());
        }
        HttpState {
            req_headers,
            req_trailers: HeaderMap::from_pairs(
                input.trailers.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            ),
            start_ns: self.shared.borrow().clock.realtime_ns,
            connection_id: conn,
            source_address: "10.0.0.1",
            source_port: 40000 + (conn % 20000) as u16,
            request_size: body_len as u64,
            downstream_http2: (0..input.chunks.len())
                .any(|i| open_empty_frame(input.chunks, i, !input.trailers.is_empty())),
            ..Default::default()
        }
    }

    /// Fresh per-stage lanes and an empty client frame queue, in the previous request's
    /// buffers when there are.
    fn lanes(&mut self) -> (Lanes, VecDeque<Frame>) {
        let n = self.stages.len();
        let (mut l, downstream) = self.spare.take().unwrap_or_else(|| {
            let l = Lanes {
                ctx: Vec::with_capacity(n),
                dec: Vec::with_capacity(n),
                enc: Vec::with_capacity(n),
                dq: Vec::with_capacity(n),
                eq: Vec::with_capacity(n),
                enc_order: Vec::with_capacity(n),
            };
            (l, VecDeque::new())
        });
        l.ctx.resize(n, None);
        l.dec.resize_with(n, DirState::default);
        l.enc.resize_with(n, DirState::default);
        l.dq.resize_with(n, VecDeque::new);
        l.eq.resize_with(n, VecDeque::new);
        l.enc_order
            .extend((0..n).rev().filter(|&i| !self.stages[i].builtin_router));
        (l, downstream)
    }

    /// The report of a finished run; its lanes are emptied and kept for the next request.
    fn finish(&mut self, run: Run<'_>) -> RequestReport {
        let client_done = run.client_done();
        let mut lanes = run.lanes;
        lanes.ctx.clear();
        lanes.dec.clear();
        lanes.enc.clear();
        lanes
            .dq
            .iter_mut()
            .chain(&mut lanes.eq)
            .for_each(VecDeque::clear);
        lanes.enc_order.clear();
        let mut downstream = run.downstream;
        downstream.clear();
        self.spare = Some((lanes, downstream));
        let mut report = run.report;
        self.trace_hint = report.trace.len();
        report.upstream_request = run.upstream;
        if run.reset.is_none() && client_done {
            report.response = run.client;
        } else if run.reset.is_none() {
            report.stalled = true;
        }
        report.reset = run.reset;
        report.metrics_after = self.metrics();
        report
    }

    fn set_access(&mut self, vmi: usize, ctx: u32, f: impl FnOnce(&mut Access)) {
        if let Some(vm) = self.vm(vmi) {
            if let Some(c) = vm.store.data_mut().contexts.get_mut(&ctx) {
                f(&mut c.access);
            }
        }
    }
}

/// `default/x` of the label `service default/x`.
fn service_name(label: &str) -> String {
    label.strip_prefix("service ").unwrap_or(label).to_string()
}

/// The client's frames: headers, one data frame per body chunk (empty ones too), trailers.
fn downstream_frames(input: &RequestInput<'_>, downstream: &mut VecDeque<Frame>) {
    let frames = input.chunks.len();
    let has_trailers = !input.trailers.is_empty();
    downstream.push_back(Frame::Headers {
        eos: frames == 0 && !has_trailers,
    });
    for (k, c) in input.chunks.iter().enumerate() {
        downstream.push_back(Frame::Data {
            bytes: c.clone(),
            eos: k + 1 == frames && !has_trailers,
        });
    }
    if has_trailers {
        downstream.push_back(Frame::Trailers);
    }
}

/// What loading the chain's VMs shares: modules compiled once per byte string.
struct Loader {
    limits: Limits,
    seed: u64,
    workload: Rc<WorkloadInfo>,
    compiled: Vec<(Arc<Vec<u8>>, CompileResult)>,
}

impl Loader {
    fn compile(&mut self, module: &Arc<Vec<u8>>) -> CompileResult {
        let found = self
            .compiled
            .iter()
            .find(|(b, _)| Arc::ptr_eq(b, module) || **b == **module);
        if let Some((_, c)) = found {
            return c.clone();
        }
        let c = vm::compile(module, &self.limits).map(Rc::new);
        self.compiled.push((module.clone(), c.clone()));
        c
    }

    fn load(
        &mut self,
        plugin: Rc<PluginInfo>,
        module: &Arc<Vec<u8>>,
        index: usize,
        profile: Profile,
        shared: &Rc<RefCell<Shared>>,
    ) -> Result<Vm, String> {
        let c = self.compile(module).map_err(|err| err.to_string())?;
        Vm::load(
            &c,
            plugin,
            self.workload.clone(),
            profile,
            shared.clone(),
            index,
            self.limits,
            self.seed ^ index as u64,
        )
        .map_err(|err| err.to_string())
    }
}

/// Runs a root-context callback outside the filter chain (tick, queue ready, callout
/// response, gRPC close): records its result, failure and logs in `ev` and returns the
/// actions it asked for.
fn run_async<P: WasmParams>(
    vm: &mut Vm,
    ev: &mut TraceEvent,
    f: Option<TypedFunc<P, ()>>,
    params: P,
    root: u32,
    name: &str,
) -> Vec<Effect> {
    if let Some(f) = f {
        match vm.invoke(f, params, root, name) {
            Ok(()) => ev.result = "done".into(),
            Err(fl) => {
                ev.result = "trap".into();
                ev.failure = Some(Box::new(fl));
            }
        }
    }
    ev.logs = vm.take_logs();
    std::mem::take(&mut vm.store.data_mut().effects)
}

/// The `x-request-id` of the `seq`th request: `00000000-0000-4000-8000-{seq:012}`, built
/// without `format!` (one per request).
fn request_id(seq: u64) -> Rc<str> {
    const PREFIX: &str = "00000000-0000-4000-8000-";
    let mut n = itoa::Buffer::new();
    let digits = n.format(seq);
    // Built on the stack, then allocated once as the header value.
    let mut id = [b'0'; PREFIX.len() + 20];
    id[..PREFIX.len()].copy_from_slice(PREFIX.as_bytes());
    let len = PREFIX.len() + digits.len().max(12);
    id[len - digits.len()..len].copy_from_slice(digits.as_bytes());
    std::str::from_utf8(&id[..len]).map_or_else(|_| Rc::from(""), Rc::from)
}

/// `value` shared with the previous request's when it is the same (the authority, method
/// and scheme rarely change between requests): one allocation fewer per header.
fn reuse(last: &mut Option<Rc<str>>, value: &str) -> Rc<str> {
    match last {
        Some(v) if **v == *value => v.clone(),
        _ => last.insert(value.into()).clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reused_values_are_shared_only_while_they_are_equal() {
        let mut last = None;
        let a = super::reuse(&mut last, "shop.svc");
        let b = super::reuse(&mut last, "shop.svc");
        assert!(std::rc::Rc::ptr_eq(&a, &b));
        let c = super::reuse(&mut last, "cart.svc");
        assert_eq!(&*c, "cart.svc");
        assert_eq!(&*a, "shop.svc");
        assert!(std::rc::Rc::ptr_eq(
            &c,
            &super::reuse(&mut last, "cart.svc")
        ));
    }

    #[test]
    fn request_ids_are_zero_padded_to_twelve_digits() {
        for seq in [0, 1, 42, 999_999_999_999, 1_000_000_000_000, u64::MAX] {
            assert_eq!(
                &*super::request_id(seq),
                format!("00000000-0000-4000-8000-{seq:012}")
            );
        }
    }
}
