//! Envoy's HTTP filter manager for one workload: request frames through the chain in order,
//! response frames in reverse, pause/resume (deferred until the callback returns), body
//! buffering, trailers, local replies that travel back through the encoder side, callouts
//! and queue events delivered between callbacks, then the access-log tail.

use super::headers::HeaderMap;
use super::host::profile::Profile;
use super::host::shared::Shared;
use super::host::{
    Access, CalloutResponse, Effect, HttpCall, HttpState, LocalReply, PluginInfo, WorkloadInfo,
};
use super::trace::{
    diff_body, diff_headers, ClientResponse, Message, RequestReport, StartupProblem, TraceEvent,
};
use super::vm::{self, Compiled, HeadersFn, Limits, Vm};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use wasmi::{TypedFunc, WasmParams};

/// One filter of the effective chain, as the chain builder hands it over.
#[derive(Debug, Clone)]
pub enum SimFilter {
    /// A built-in filter (`istio_authn`, `rbac`, `istio.stats`, `router`, …): passes through.
    Builtin {
        name: String,
    },
    Extension(ExtensionFilter),
}

#[derive(Debug, Clone)]
pub struct ExtensionFilter {
    /// SME name and namespace.
    pub name: String,
    pub namespace: String,
    pub module: Arc<Vec<u8>>,
    /// The configuration text exactly as the proxy delivers it.
    pub configuration: String,
    /// `<name>_root` for SMEs.
    pub root_id: String,
    /// Envoy `PluginConfig.name` (the SME name).
    pub plugin_name: String,
}

impl SimFilter {
    pub fn label(&self) -> String {
        match self {
            SimFilter::Builtin { name } => name.clone(),
            SimFilter::Extension(e) => format!("{}/{}", e.namespace, e.name),
        }
    }
}

/// An answer for out-of-band HTTP calls.
#[derive(Debug, Clone, Default)]
pub struct HttpMock {
    /// Exact cluster name or a `*` glob.
    pub cluster: String,
    pub path: Option<String>,
    pub response: Response,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Response {
    pub status: u32,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
}

/// A request to send (already defaulted).
#[derive(Debug, Clone, Default)]
pub struct RequestInput {
    pub method: String,
    pub path: String,
    pub authority: String,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Vec<u8>>,
    pub trailers: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Dec,
    Enc,
}

#[derive(Debug, Clone)]
enum Frame {
    Headers { eos: bool },
    Data { bytes: Vec<u8>, eos: bool },
    Trailers,
}

#[derive(Debug, Clone, Default)]
struct DirState {
    stopped_all: bool,
    headers_eos: bool,
    held: Vec<u8>,
    held_any: bool,
    held_eos: bool,
    held_trailers: bool,
    buffering: Option<Vec<u8>>,
    data_eos: bool,
    trailers_stopped: bool,
}

/// A wasm filter's VM (or why it has none).
enum Slot {
    Ready(Box<Vm>),
    Broken(String),
}

struct Stage {
    label: Arc<str>,
    /// Index into `vms` for extensions.
    vm: Option<usize>,
    builtin_router: bool,
}

/// The filter chain of one workload with its VMs; state persists across requests.
pub struct FilterManager {
    stages: Vec<Stage>,
    vms: Vec<Slot>,
    pub shared: Rc<RefCell<Shared>>,
    profile: Profile,
    pub startup: Vec<TraceEvent>,
    pub startup_problems: Vec<StartupProblem>,
    next_conn: u64,
    request_seq: u64,
    /// Trace length of the previous request: the next trace is allocated at that size once
    /// instead of growing (each growth of a large `Vec` is a costly allocation).
    trace_hint: usize,
    /// The frame queues of the previous request, emptied: reused so their buffers are not
    /// allocated again for every request.
    spare_queues: Vec<VecDeque<Frame>>,
}

/// A module compiled once per distinct byte string.
type CompileResult = Result<Rc<Compiled>, vm::LoadError>;

const MAX_TICKS_PER_ADVANCE: usize = 10_000;
const MAX_STEPS_PER_REQUEST: usize = 1_000_000;
/// How long a paused request may wait for a root's timer to resume it: Envoy's default
/// `stream_idle_timeout` (5 minutes). Past it the request is reported as stalled.
const MAX_WAIT_NS: u64 = 300_000_000_000;
/// Ticks fired while one request waits (a 1 ms timer would otherwise run 300 000 times).
const MAX_TICKS_PER_WAIT: usize = 1_000;

/// Per-request run state.
struct Run<'a> {
    mocks: &'a [HttpMock],
    st: Rc<RefCell<HttpState>>,
    /// Per stage: stream context id in its VM.
    ctx: Vec<Option<u32>>,
    dec: Vec<DirState>,
    enc: Vec<DirState>,
    dq: Vec<VecDeque<Frame>>,
    eq: Vec<VecDeque<Frame>>,
    /// Indices of stages on the encoder side, in encoding order.
    enc_order: Vec<usize>,
    downstream: VecDeque<Frame>,
    upstream_resp: Response,
    upstream: Option<Message>,
    upstream_done: bool,
    client: Option<ClientResponse>,
    client_headers_sent: bool,
    client_done: bool,
    local_reply_mode: bool,
    reset: Option<String>,
    pending_calls: VecDeque<(usize, HttpCall, CalloutResponse)>,
    pending_grpc: VecDeque<(usize, u32, u32)>,
    /// Simulated time and ticks spent waiting for a timer to resume this request.
    waited_ns: u64,
    waited_ticks: usize,
    report: RequestReport,
}

impl Run<'_> {
    fn ds(&mut self, dir: Dir, i: usize) -> &mut DirState {
        match dir {
            Dir::Dec => &mut self.dec[i],
            Dir::Enc => &mut self.enc[i],
        }
    }

    fn queue(&mut self, dir: Dir, i: usize) -> &mut VecDeque<Frame> {
        match dir {
            Dir::Dec => &mut self.dq[i],
            Dir::Enc => &mut self.eq[i],
        }
    }
}

impl FilterManager {
    /// Loads every extension of the chain (one VM each) and starts its plugin.
    pub fn new(
        chain: &[SimFilter],
        workload: WorkloadInfo,
        profile: Profile,
        limits: Limits,
        seed: u64,
    ) -> FilterManager {
        let engine = vm::engine(&limits);
        let shared = Rc::new(RefCell::new(Shared::default()));
        let workload = Rc::new(workload);
        let mut fm = FilterManager {
            stages: Vec::new(),
            vms: Vec::new(),
            shared: shared.clone(),
            profile,
            startup: Vec::new(),
            startup_problems: Vec::new(),
            next_conn: 1,
            request_seq: 0,
            trace_hint: 0,
            spare_queues: Vec::new(),
        };
        let mut compiled: Vec<(Arc<Vec<u8>>, CompileResult)> = Vec::new();
        for f in chain {
            match f {
                SimFilter::Builtin { name } => fm.stages.push(Stage {
                    label: name.as_str().into(),
                    vm: None,
                    builtin_router: name == "router" || name.ends_with(".router"),
                }),
                SimFilter::Extension(e) => {
                    let label: Arc<str> = f.label().into();
                    let c = match compiled
                        .iter()
                        .find(|(b, _)| Arc::ptr_eq(b, &e.module) || **b == *e.module)
                    {
                        Some((_, c)) => c.clone(),
                        None => {
                            let c = vm::compile(&engine, &e.module, &limits).map(Rc::new);
                            compiled.push((e.module.clone(), c.clone()));
                            c
                        }
                    };
                    let plugin = Rc::new(PluginInfo {
                        name: e.plugin_name.clone(),
                        root_id: e.root_id.clone(),
                        vm_id: String::new(),
                        configuration: e.configuration.clone().into_bytes(),
                        vm_configuration: Vec::new(),
                    });
                    let index = fm.vms.len();
                    let slot = match c {
                        Err(err) => Slot::Broken(err.to_string()),
                        Ok(c) => match Vm::load(
                            &engine,
                            &c,
                            plugin,
                            workload.clone(),
                            profile,
                            shared.clone(),
                            index,
                            limits,
                            seed ^ index as u64,
                        ) {
                            Err(err) => Slot::Broken(err.to_string()),
                            Ok(mut vm) => {
                                let r = vm.start_plugin();
                                let logs = vm.take_logs();
                                fm.startup.push(TraceEvent {
                                    filter: label.clone(),
                                    callback:
                                        "start (on_context_create, on_vm_start, on_configure)"
                                            .into(),
                                    result: match &r {
                                        Ok(()) => "ok".into(),
                                        Err(e) => e.to_string().into(),
                                    },
                                    logs: logs.clone(),
                                    ..Default::default()
                                });
                                match r {
                                    Ok(()) => Slot::Ready(Box::new(vm)),
                                    Err(e) => {
                                        fm.startup_problems.push(StartupProblem {
                                            filter: label.to_string(),
                                            message: e.to_string(),
                                            logs,
                                        });
                                        Slot::Broken(e.to_string())
                                    }
                                }
                            }
                        },
                    };
                    if let Slot::Broken(m) = &slot {
                        if !fm.startup_problems.iter().any(|p| *p.filter == *label) {
                            fm.startup_problems.push(StartupProblem {
                                filter: label.to_string(),
                                message: m.clone(),
                                logs: Vec::new(),
                            });
                        }
                    }
                    fm.vms.push(slot);
                    fm.stages.push(Stage {
                        label,
                        vm: Some(index),
                        builtin_router: false,
                    });
                }
            }
        }
        fm
    }

    pub fn chain_labels(&self) -> Vec<String> {
        self.stages.iter().map(|s| s.label.to_string()).collect()
    }

    fn vm(&mut self, i: usize) -> Option<&mut Vm> {
        match self.vms.get_mut(i) {
            Some(Slot::Ready(vm)) => Some(vm),
            _ => None,
        }
    }

    fn label_of_vm(&self, vm: usize) -> Arc<str> {
        self.stages
            .iter()
            .find(|s| s.vm == Some(vm))
            .map(|s| s.label.clone())
            .unwrap_or_else(|| "".into())
    }

    /// Metric values summed by name over the workload's VMs (Envoy's `wasmcustom` stats).
    pub fn metrics(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for s in &self.vms {
            if let Slot::Ready(vm) = s {
                for m in &vm.store.data().metrics {
                    *out.entry(m.name.clone()).or_insert(0) += m.value;
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

    /// Moves the simulated clock forward, firing due ticks (and the queue events and
    /// callouts they cause) in time order.
    pub fn advance(&mut self, ns: u64, mocks: &[HttpMock], trace: &mut Vec<TraceEvent>) {
        let target = self.shared.borrow().clock.monotonic_ns.saturating_add(ns);
        let mut fired = 0;
        loop {
            let due = self.shared.borrow().clock.next_due(target);
            let Some(((vmi, root), at)) = due else { break };
            fired += 1;
            if fired > MAX_TICKS_PER_ADVANCE {
                trace.push(TraceEvent {
                    filter: self.label_of_vm(vmi),
                    callback: "proxy_on_tick".into(),
                    result: format!("stopped after {MAX_TICKS_PER_ADVANCE} ticks (tick period too short for this advance)").into(),
                    ..Default::default()
                });
                break;
            }
            {
                let mut sh = self.shared.borrow_mut();
                sh.clock.set_monotonic(at);
                if let Some(t) = sh.clock.ticks.get_mut(&(vmi, root)) {
                    t.1 = at.saturating_add(t.0.max(1));
                }
            }
            let label = self.label_of_vm(vmi);
            let mut ev = TraceEvent {
                filter: label,
                callback: "proxy_on_tick".into(),
                ..Default::default()
            };
            let mut calls = Vec::new();
            if let Some(vm) = self.vm(vmi) {
                let f = vm.ex.on_tick;
                for e in run_async(vm, &mut ev, f, root as i32, root, "proxy_on_tick") {
                    if let Effect::HttpCall(c) = e {
                        calls.push(c);
                    }
                }
            }
            ev.calls = calls.clone();
            trace.push(ev);
            for c in calls {
                let resp = answer(mocks, &c);
                self.deliver_call(vmi, &c, &resp, trace);
            }
            self.drain_queue_events(trace);
        }
        self.shared.borrow_mut().clock.set_monotonic(target);
    }

    fn drain_queue_events(&mut self, trace: &mut Vec<TraceEvent>) {
        for _ in 0..100_000 {
            let ev = self.shared.borrow_mut().ready.pop_front();
            let Some((vmi, root, token)) = ev else { return };
            let label = self.label_of_vm(vmi);
            if let Some(vm) = self.vm(vmi) {
                let mut t = TraceEvent {
                    filter: label,
                    callback: format!("proxy_on_queue_ready(token {token})").into(),
                    ..Default::default()
                };
                let f = vm.ex.on_queue_ready;
                let params = (root as i32, token as i32);
                run_async(vm, &mut t, f, params, root, "proxy_on_queue_ready");
                trace.push(t);
            }
        }
    }

    /// Delivers an HTTP call response to the root context outside a request (ticks).
    fn deliver_call(
        &mut self,
        vmi: usize,
        call: &HttpCall,
        resp: &CalloutResponse,
        trace: &mut Vec<TraceEvent>,
    ) {
        let label = self.label_of_vm(vmi);
        if let Some(vm) = self.vm(vmi) {
            let mut t = TraceEvent {
                filter: label,
                callback: format!("proxy_on_http_call_response(token {})", call.token).into(),
                ..Default::default()
            };
            call_response(vm, &mut t, call, resp);
            trace.push(t);
        }
    }

    /// Sends one request through the chain and returns what happened.
    pub fn run_request(
        &mut self,
        name: &str,
        input: &RequestInput,
        upstream: Option<&Response>,
        mocks: &[HttpMock],
    ) -> RequestReport {
        self.request_seq += 1;
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut req_headers = HeaderMap::new();
        req_headers.add(":authority", &input.authority);
        req_headers.add(":path", &input.path);
        req_headers.add(":method", &input.method);
        req_headers.add(":scheme", "http");
        for (k, v) in &input.headers {
            req_headers.add(k, v);
        }
        if req_headers.get("x-request-id").is_none() {
            req_headers.add(
                "x-request-id",
                &format!("00000000-0000-4000-8000-{:012}", self.request_seq),
            );
        }
        let body_len: usize = input.chunks.iter().map(Vec::len).sum();
        if body_len > 0 && input.chunks.len() == 1 && req_headers.get("content-length").is_none() {
            req_headers.add("content-length", &body_len.to_string());
        }
        let now = self.shared.borrow().clock.realtime_ns;
        let st = Rc::new(RefCell::new(HttpState {
            req_headers,
            req_trailers: HeaderMap::from_pairs(
                input.trailers.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            ),
            start_ns: now,
            connection_id: conn,
            source_address: "10.0.0.1".into(),
            source_port: 40000 + (conn % 20000) as u16,
            request_size: body_len as u64,
            ..Default::default()
        }));
        let n = self.stages.len();
        let mut downstream = VecDeque::new();
        let has_body = !input.chunks.is_empty() && body_len > 0;
        let has_trailers = !input.trailers.is_empty();
        downstream.push_back(Frame::Headers {
            eos: !has_body && !has_trailers,
        });
        if has_body {
            let chunks: Vec<&Vec<u8>> = input.chunks.iter().filter(|c| !c.is_empty()).collect();
            for (i, c) in chunks.iter().enumerate() {
                downstream.push_back(Frame::Data {
                    bytes: (*c).clone(),
                    eos: i + 1 == chunks.len() && !has_trailers,
                });
            }
        }
        if has_trailers {
            downstream.push_back(Frame::Trailers);
        }
        let enc_order: Vec<usize> = (0..n)
            .rev()
            .filter(|&i| !self.stages[i].builtin_router)
            .collect();
        let mut run = Run {
            mocks,
            st,
            ctx: vec![None; n],
            dec: vec![DirState::default(); n],
            enc: vec![DirState::default(); n],
            dq: self.queues(n),
            eq: self.queues(n),
            enc_order,
            downstream,
            upstream_resp: upstream.cloned().unwrap_or(Response {
                status: 200,
                ..Default::default()
            }),
            upstream: None,
            upstream_done: false,
            client: None,
            client_headers_sent: false,
            client_done: false,
            local_reply_mode: false,
            reset: None,
            pending_calls: VecDeque::new(),
            pending_grpc: VecDeque::new(),
            waited_ns: 0,
            waited_ticks: 0,
            report: RequestReport {
                name: name.to_string(),
                trace: Vec::with_capacity(self.trace_hint),
                ..Default::default()
            },
        };
        self.drive(&mut run);
        self.tail(&mut run);
        for mut q in run.dq.into_iter().chain(run.eq) {
            q.clear();
            self.spare_queues.push(q);
        }
        let mut report = run.report;
        self.trace_hint = report.trace.len();
        report.upstream_request = run.upstream;
        if run.reset.is_none() && run.client_done {
            report.response = run.client;
        } else if run.reset.is_none() {
            report.stalled = true;
        }
        report.reset = run.reset;
        report.metrics_after = self.metrics();
        report
    }

    /// `n` empty frame queues, from the previous request's when there are.
    fn queues(&mut self, n: usize) -> Vec<VecDeque<Frame>> {
        let mut v = Vec::with_capacity(n);
        v.extend((0..n).map(|_| self.spare_queues.pop().unwrap_or_default()));
        v
    }

    fn drive(&mut self, run: &mut Run<'_>) {
        for _ in 0..MAX_STEPS_PER_REQUEST {
            if run.reset.is_some() || run.client_done {
                // Late callouts still get their answers (owned by the root context).
                if !self.deliver_pending(run) {
                    return;
                }
                continue;
            }
            // Depth first: the deepest runnable frame, encoder side first.
            let mut step = None;
            for (pos, &i) in run.enc_order.iter().enumerate().rev() {
                if !run.eq[i].is_empty() {
                    step = Some((Dir::Enc, i, pos));
                    break;
                }
            }
            if step.is_none() {
                for i in (0..self.stages.len()).rev() {
                    if !run.dq[i].is_empty() {
                        step = Some((Dir::Dec, i, 0));
                        break;
                    }
                }
            }
            if let Some((dir, i, _)) = step {
                let q = run.queue(dir, i);
                let frame = q.pop_front().expect("non-empty");
                self.process(run, dir, i, frame);
                continue;
            }
            if !run.local_reply_mode {
                if let Some(f) = run.downstream.pop_front() {
                    self.push_next(run, Dir::Dec, None, f);
                    continue;
                }
            }
            if self.deliver_pending(run) {
                continue;
            }
            return;
        }
        run.reset = Some("simulator limit: too many filter steps".into());
    }

    /// Delivers one pending async event; false when there is none.
    fn deliver_pending(&mut self, run: &mut Run<'_>) -> bool {
        if let Some((vmi, call, resp)) = run.pending_calls.pop_front() {
            let label = self.label_of_vm(vmi);
            let mut ev = TraceEvent {
                filter: label,
                callback: format!("proxy_on_http_call_response(token {})", call.token).into(),
                ..Default::default()
            };
            let effects = match self.vm(vmi) {
                Some(vm) => call_response(vm, &mut ev, &call, &resp),
                None => Vec::new(),
            };
            let failed = ev.failure.is_some();
            let idx = run.report.trace.len();
            run.report.trace.push(ev);
            self.apply_effects(run, vmi, effects, idx);
            if failed {
                // A trap in an async callback fails the streams of that VM that wait on it.
                if let Some(i) = self.stages.iter().position(|s| s.vm == Some(vmi)) {
                    if run.ctx[i].is_some() && !run.client_done {
                        self.fail_stream(
                            run,
                            i,
                            if run.upstream_done {
                                Dir::Enc
                            } else {
                                Dir::Dec
                            },
                        );
                    }
                }
            }
            return true;
        }
        if let Some((vmi, root, token)) = run.pending_grpc.pop_front() {
            let label = self.label_of_vm(vmi);
            if let Some(vm) = self.vm(vmi) {
                let mut ev = TraceEvent {
                    filter: label,
                    callback: format!("proxy_on_grpc_close(token {token}, 14)").into(),
                    ..Default::default()
                };
                vm.store.data_mut().last_status = (14, b"gRPC callouts are not simulated".to_vec());
                let f = vm.ex.on_grpc_close;
                let params = (root as i32, token as i32, 14);
                let effects = run_async(vm, &mut ev, f, params, root, "proxy_on_grpc_close");
                let idx = run.report.trace.len();
                run.report.trace.push(ev);
                self.apply_effects(run, vmi, effects, idx);
            }
            return true;
        }
        let ev = self.shared.borrow_mut().ready.pop_front();
        if let Some((vmi, root, token)) = ev {
            let label = self.label_of_vm(vmi);
            if let Some(vm) = self.vm(vmi) {
                let mut t = TraceEvent {
                    filter: label,
                    callback: format!("proxy_on_queue_ready(token {token})").into(),
                    ..Default::default()
                };
                let f = vm.ex.on_queue_ready;
                let params = (root as i32, token as i32);
                let effects = run_async(vm, &mut t, f, params, root, "proxy_on_queue_ready");
                let idx = run.report.trace.len();
                run.report.trace.push(t);
                self.apply_effects(run, vmi, effects, idx);
            }
            return true;
        }
        self.tick_while_waiting(run)
    }

    /// A paused request with nothing else to run waits in real Envoy until a root's timer
    /// resumes it (e.g. a plugin that postpones requests and continues them in `on_tick`):
    /// let simulated time pass to the next due tick, within Envoy's stream idle timeout.
    fn tick_while_waiting(&mut self, run: &mut Run<'_>) -> bool {
        if run.reset.is_some() || run.client_done || run.waited_ticks >= MAX_TICKS_PER_WAIT {
            return false;
        }
        let (now, due) = {
            let sh = self.shared.borrow();
            let now = sh.clock.monotonic_ns;
            let until = now.saturating_add(MAX_WAIT_NS - run.waited_ns);
            (now, sh.clock.next_due(until))
        };
        let Some(((vmi, root), at)) = due else {
            return false;
        };
        run.waited_ticks += 1;
        run.waited_ns += at.saturating_sub(now);
        {
            let mut sh = self.shared.borrow_mut();
            sh.clock.set_monotonic(at);
            if let Some(t) = sh.clock.ticks.get_mut(&(vmi, root)) {
                t.1 = at.saturating_add(t.0.max(1));
            }
        }
        let mut ev = TraceEvent {
            filter: self.label_of_vm(vmi),
            callback: format!(
                "proxy_on_tick (request waiting, +{} ms)",
                run.waited_ns / 1_000_000
            )
            .into(),
            ..Default::default()
        };
        let mut effects = Vec::new();
        if let Some(vm) = self.vm(vmi) {
            let f = vm.ex.on_tick;
            effects = run_async(vm, &mut ev, f, root as i32, root, "proxy_on_tick");
        }
        let failed = ev.failure.is_some();
        let idx = run.report.trace.len();
        run.report.trace.push(ev);
        self.apply_effects(run, vmi, effects, idx);
        if failed && !run.client_done {
            // The VM is gone: the request it holds fails like any other trap.
            if let Some(i) = self.stages.iter().position(|s| s.vm == Some(vmi)) {
                if run.ctx[i].is_some() {
                    self.fail_stream(run, i, Dir::Dec);
                }
            }
        }
        true
    }

    /// Pushes a frame to the stage after `from` (None = the first) in direction `dir`, or to
    /// the sink (upstream / client).
    fn push_next(&mut self, run: &mut Run<'_>, dir: Dir, from: Option<usize>, f: Frame) {
        match dir {
            Dir::Dec => {
                let next = match from {
                    None => 0,
                    Some(i) if self.stages[i].builtin_router => self.stages.len(),
                    Some(i) => i + 1,
                };
                if next < self.stages.len() {
                    run.dq[next].push_back(f);
                } else {
                    self.upstream_frame(run, f);
                }
            }
            Dir::Enc => {
                let pos = match from {
                    None => 0,
                    Some(i) => run
                        .enc_order
                        .iter()
                        .position(|&x| x == i)
                        .map(|p| p + 1)
                        .unwrap_or(usize::MAX),
                };
                match run.enc_order.get(pos) {
                    Some(&i) => run.eq[i].push_back(f),
                    None => self.client_frame(run, f),
                }
            }
        }
    }

    fn upstream_frame(&mut self, run: &mut Run<'_>, f: Frame) {
        let up = run.upstream.get_or_insert_with(Message::default);
        let eos = match f {
            Frame::Headers { eos } => {
                up.headers = run.st.borrow().req_headers.clone();
                eos
            }
            Frame::Data { bytes, eos } => {
                up.body.extend(bytes);
                eos
            }
            Frame::Trailers => {
                up.trailers = run.st.borrow().req_trailers.clone();
                true
            }
        };
        if eos && !run.upstream_done {
            run.upstream_done = true;
            // The router: the upstream answers once the whole request arrived.
            let r = run.upstream_resp.clone();
            self.start_response(run, &r, "via_upstream");
        }
    }

    fn start_response(&mut self, run: &mut Run<'_>, r: &Response, details: &str) {
        let mut h = HeaderMap::new();
        h.add(":status", &r.status.to_string());
        for (k, v) in &r.headers {
            h.add(k, v);
        }
        if !r.body.is_empty() && h.get("content-length").is_none() {
            h.add("content-length", &r.body.len().to_string());
        }
        {
            let mut st = run.st.borrow_mut();
            st.resp_headers = h;
            st.resp_trailers =
                HeaderMap::from_pairs(r.trailers.iter().map(|(a, b)| (a.as_str(), b.as_str())));
            st.response_code = Some(r.status);
            st.response_code_details = Some(details.to_string());
            st.response_size = r.body.len() as u64;
        }
        let has_body = !r.body.is_empty();
        let has_trailers = !r.trailers.is_empty();
        run.client = Some(ClientResponse {
            details: details.to_string(),
            ..Default::default()
        });
        self.push_next(
            run,
            Dir::Enc,
            None,
            Frame::Headers {
                eos: !has_body && !has_trailers,
            },
        );
        if has_body {
            self.push_next(
                run,
                Dir::Enc,
                None,
                Frame::Data {
                    bytes: r.body.clone(),
                    eos: !has_trailers,
                },
            );
        }
        if has_trailers {
            self.push_next(run, Dir::Enc, None, Frame::Trailers);
        }
    }

    fn client_frame(&mut self, run: &mut Run<'_>, f: Frame) {
        let st = run.st.borrow();
        let c = run.client.get_or_insert_with(ClientResponse::default);
        let eos = match f {
            Frame::Headers { eos } => {
                c.headers = st.resp_headers.clone();
                c.status = c
                    .headers
                    .get(":status")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                run.client_headers_sent = true;
                eos
            }
            Frame::Data { bytes, eos } => {
                c.body.extend(bytes);
                eos
            }
            Frame::Trailers => {
                c.trailers = st.resp_trailers.clone();
                true
            }
        };
        if eos {
            run.client_done = true;
        }
    }

    fn process(&mut self, run: &mut Run<'_>, dir: Dir, i: usize, frame: Frame) {
        let Some(vmi) = self.stages[i].vm else {
            // Built-in filters pass everything through; headers show up in the trace.
            if let Frame::Headers { .. } = frame {
                let cb = if dir == Dir::Dec {
                    "decodeHeaders"
                } else {
                    "encodeHeaders"
                };
                run.report.trace.push(TraceEvent {
                    filter: self.stages[i].label.clone(),
                    callback: cb.into(),
                    result: "Continue".into(),
                    ..Default::default()
                });
            }
            self.push_next(run, dir, Some(i), frame);
            return;
        };
        // Context creation / skipping rules.
        if run.ctx[i].is_none() {
            let create = match (dir, &frame) {
                (Dir::Dec, Frame::Headers { .. }) => true,
                (Dir::Enc, Frame::Headers { .. }) => self.profile.response_without_request(),
                _ => false,
            };
            if !create {
                self.push_next(run, dir, Some(i), frame);
                return;
            }
            if !self.create_ctx(run, i, vmi) {
                return;
            }
        }
        let ds = run.ds(dir, i);
        if ds.stopped_all && !matches!(frame, Frame::Headers { .. }) {
            match frame {
                Frame::Data { bytes, eos } => {
                    ds.held.extend(bytes);
                    ds.held_any = true;
                    ds.held_eos = eos;
                }
                Frame::Trailers => ds.held_trailers = true,
                Frame::Headers { .. } => {}
            }
            return;
        }
        let ctx = run.ctx[i].expect("created");
        match frame {
            Frame::Headers { eos } => self.on_headers(run, dir, i, vmi, ctx, eos),
            Frame::Data { bytes, eos } => self.on_data(run, dir, i, vmi, ctx, bytes, eos),
            Frame::Trailers => self.on_trailers(run, dir, i, vmi, ctx),
        }
    }

    fn create_ctx(&mut self, run: &mut Run<'_>, i: usize, vmi: usize) -> bool {
        let label = self.stages[i].label.clone();
        let st = run.st.clone();
        let Some(vm) = self.vm(vmi) else {
            // Failed plugin: fail closed.
            run.report.trace.push(TraceEvent {
                filter: label,
                callback: "create filter".into(),
                result: "plugin failed to start; failing closed".into(),
                ..Default::default()
            });
            self.fail_stream(run, i, Dir::Dec);
            return false;
        };
        if vm.failed.is_some() {
            let fl = vm.failed.clone();
            run.report.trace.push(TraceEvent {
                filter: label,
                callback: "create filter".into(),
                result: "VM failed earlier; failing closed".into(),
                failure: fl.map(Box::new),
                ..Default::default()
            });
            self.fail_stream(run, i, Dir::Dec);
            return false;
        }
        let root = vm.root;
        let ctx = vm.new_context(root, Some(st));
        run.ctx[i] = Some(ctx);
        if let Some(f) = vm.ex.on_context_create {
            if let Err(fl) = vm.invoke(f, (ctx as i32, root as i32), ctx, "proxy_on_context_create")
            {
                let logs = vm.take_logs();
                run.report.trace.push(TraceEvent {
                    filter: label,
                    callback: "proxy_on_context_create".into(),
                    result: "trap".into(),
                    logs,
                    failure: Some(Box::new(fl)),
                    ..Default::default()
                });
                self.fail_stream(run, i, Dir::Dec);
                return false;
            }
        }
        true
    }

    fn set_access(&mut self, vmi: usize, ctx: u32, f: impl FnOnce(&mut Access)) {
        if let Some(vm) = self.vm(vmi) {
            if let Some(c) = vm.store.data_mut().contexts.get_mut(&ctx) {
                f(&mut c.access);
            }
        }
    }

    fn on_headers(
        &mut self,
        run: &mut Run<'_>,
        dir: Dir,
        i: usize,
        vmi: usize,
        ctx: u32,
        eos: bool,
    ) {
        let slot = usize::from(dir == Dir::Enc);
        let n = {
            let mut st = run.st.borrow_mut();
            // The host snapshots the map on the callback's first write (for the trace diff).
            st.headers_before_write[slot] = None;
            if dir == Dir::Dec {
                st.req_headers.len() as i32
            } else {
                st.resp_headers.len() as i32
            }
        };
        self.set_access(vmi, ctx, |a| *a.headers_mut(dir == Dir::Enc) = true);
        let (name, f) = {
            let vm = self.vm(vmi).expect("ready");
            if dir == Dir::Dec {
                ("proxy_on_request_headers", vm.ex.on_request_headers)
            } else {
                ("proxy_on_response_headers", vm.ex.on_response_headers)
            }
        };
        let vm = self.vm(vmi).expect("ready");
        let r = match f {
            None => Ok(0),
            Some(HeadersFn::V1(f)) => vm.invoke(f, (ctx as i32, n), ctx, name),
            Some(HeadersFn::V2(f)) => vm.invoke(f, (ctx as i32, n, eos as i32), ctx, name),
        };
        let mut ev = self.event(run, i, vmi, name);
        {
            let mut st = run.st.borrow_mut();
            if let Some(before) = st.headers_before_write[slot].take() {
                let after = if dir == Dir::Dec {
                    &st.req_headers
                } else {
                    &st.resp_headers
                };
                diff_headers("", &before, after, &mut ev.changes);
            }
        }
        let (effects, local) = self.take_effects(vmi);
        match r {
            Err(fl) => self.trapped(run, ev, fl, i, dir),
            Ok(code) => {
                // StopIteration (1) becomes StopAllIterationAndWatermark; ContinueAndEndStream (2)
                // and any value Envoy does not know continue (its conversion's `default:` case).
                let stop_all = local || matches!(code, 1 | 3 | 4);
                ev.result = if stop_all {
                    "StopAllIterationAndWatermark".into()
                } else if !(0..=4).contains(&code) {
                    format!("{code} (not a FilterHeadersStatus) → Continue, as Envoy treats unknown values").into()
                } else {
                    "Continue".into()
                };
                if code == 1 && !local {
                    ev.result = "StopIteration → StopAllIterationAndWatermark".into();
                }
                let idx = run.report.trace.len();
                run.report.trace.push(ev);
                if stop_all {
                    let ds = run.ds(dir, i);
                    ds.stopped_all = true;
                    ds.headers_eos = eos;
                } else {
                    self.set_access(vmi, ctx, |a| *a.headers_mut(dir == Dir::Enc) = false);
                    self.push_next(run, dir, Some(i), Frame::Headers { eos });
                }
                self.apply_effects(run, vmi, effects, idx);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_data(
        &mut self,
        run: &mut Run<'_>,
        dir: Dir,
        i: usize,
        vmi: usize,
        ctx: u32,
        chunk: Vec<u8>,
        eos: bool,
    ) {
        let slot = usize::from(dir == Dir::Enc);
        let ds = run.ds(dir, i);
        let was_buffering = ds.buffering.is_some();
        // Envoy 1.17–1.20: while buffering, the callback sees the data buffered so far (the
        // current chunk is appended after it returns) and `body_size` is that length.
        let (visible, chunk) = match &ds.buffering {
            Some(b) => (b.clone(), chunk),
            // Not buffering: the chunk itself is what the callback sees.
            None => (chunk, Vec::new()),
        };
        let visible_len = visible.len();
        {
            // The callback sees `visible`; the host keeps a copy only if the module edits it.
            let mut st = run.st.borrow_mut();
            st.body_before_write[slot] = None;
            if dir == Dir::Dec {
                st.req_body = visible
            } else {
                st.resp_body = visible
            }
        }
        self.set_access(vmi, ctx, |a| *a.body_mut(dir == Dir::Enc) = true);
        let (name, f) = {
            let vm = self.vm(vmi).expect("ready");
            if dir == Dir::Dec {
                ("proxy_on_request_body", vm.ex.on_request_body)
            } else {
                ("proxy_on_response_body", vm.ex.on_response_body)
            }
        };
        let r = match f {
            None => Ok(0),
            Some(f) => self.vm(vmi).expect("ready").invoke(
                f,
                (ctx as i32, visible_len as i32, eos as i32),
                ctx,
                name,
            ),
        };
        self.set_access(vmi, ctx, |a| *a.body_mut(dir == Dir::Enc) = false);
        let mut ev = self.event(run, i, vmi, name);
        ev.callback = format!("{name}({visible_len} bytes, end_of_stream={eos})").into();
        let (edited, before) = {
            // Nothing reads the buffer once the callback returned (access is withdrawn).
            let mut st = run.st.borrow_mut();
            let before = st.body_before_write[slot].take();
            let edited = std::mem::take(if dir == Dir::Dec {
                &mut st.req_body
            } else {
                &mut st.resp_body
            });
            (edited, before)
        };
        if let Some(before) = before {
            diff_body("", &before, &edited, &mut ev.changes);
        }
        let (effects, local) = self.take_effects(vmi);
        let code = match r {
            Err(fl) => return self.trapped(run, ev, fl, i, dir),
            Ok(c) => {
                if local {
                    3
                } else {
                    c
                }
            }
        };
        // Values Envoy does not know continue (its conversion's `default:` case).
        let code = if !(0..=3).contains(&code) {
            ev.result = format!(
                "{code} (not a FilterDataStatus) → Continue, as Envoy treats unknown values"
            )
            .into();
            0
        } else {
            ev.result = match code {
                0 => "Continue",
                1 => "StopIterationAndBuffer",
                2 => "StopIterationAndWatermark",
                _ => "StopIterationNoBuffer",
            }
            .into();
            code
        };
        let idx = run.report.trace.len();
        run.report.trace.push(ev);
        let ds = run.ds(dir, i);
        let (buffered, current) = if was_buffering {
            (Some(edited), chunk)
        } else {
            (None, edited)
        };
        match code {
            0 => {
                let mut out = buffered.unwrap_or_default();
                out.extend(current);
                ds.buffering = None;
                self.push_next(run, dir, Some(i), Frame::Data { bytes: out, eos });
            }
            1 | 2 => {
                let mut b = buffered.unwrap_or_default();
                b.extend(current);
                ds.buffering = Some(b);
                ds.data_eos = eos;
            }
            _ => {
                ds.buffering = buffered;
                ds.data_eos = eos;
            }
        }
        self.apply_effects(run, vmi, effects, idx);
    }

    fn on_trailers(&mut self, run: &mut Run<'_>, dir: Dir, i: usize, vmi: usize, ctx: u32) {
        let before = {
            let st = run.st.borrow();
            if dir == Dir::Dec {
                st.req_trailers.clone()
            } else {
                st.resp_trailers.clone()
            }
        };
        self.set_access(vmi, ctx, |a| *a.trailers_mut(dir == Dir::Enc) = true);
        let (name, f) = {
            let vm = self.vm(vmi).expect("ready");
            if dir == Dir::Dec {
                ("proxy_on_request_trailers", vm.ex.on_request_trailers)
            } else {
                ("proxy_on_response_trailers", vm.ex.on_response_trailers)
            }
        };
        let r = match f {
            None => Ok(0),
            Some(f) => {
                self.vm(vmi)
                    .expect("ready")
                    .invoke(f, (ctx as i32, before.len() as i32), ctx, name)
            }
        };
        let mut ev = self.event(run, i, vmi, name);
        {
            let st = run.st.borrow();
            let after = if dir == Dir::Dec {
                &st.req_trailers
            } else {
                &st.resp_trailers
            };
            diff_headers("trailer ", &before, after, &mut ev.changes);
        }
        let (effects, local) = self.take_effects(vmi);
        match r {
            Err(fl) => self.trapped(run, ev, fl, i, dir),
            Ok(code) => {
                let stop = local || code != 0;
                ev.result = if stop {
                    "StopIteration".into()
                } else {
                    "Continue".into()
                };
                let idx = run.report.trace.len();
                run.report.trace.push(ev);
                if stop {
                    let ds = run.ds(dir, i);
                    ds.trailers_stopped = true;
                } else {
                    self.set_access(vmi, ctx, |a| *a.trailers_mut(dir == Dir::Enc) = false);
                    let ds = run.ds(dir, i);
                    if let Some(b) = ds.buffering.take() {
                        self.push_next(
                            run,
                            dir,
                            Some(i),
                            Frame::Data {
                                bytes: b,
                                eos: false,
                            },
                        );
                    }
                    self.push_next(run, dir, Some(i), Frame::Trailers);
                }
                self.apply_effects(run, vmi, effects, idx);
            }
        }
    }

    /// Takes the actions a stream callback asked for; `true` when one is a local reply.
    fn take_effects(&mut self, vmi: usize) -> (Vec<Effect>, bool) {
        let vm = self.vm(vmi).expect("ready");
        let effects = std::mem::take(&mut vm.store.data_mut().effects);
        let local = effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. }));
        (effects, local)
    }

    /// A stream callback trapped: record it and fail the stream.
    fn trapped(
        &mut self,
        run: &mut Run<'_>,
        mut ev: TraceEvent,
        fl: vm::Failure,
        i: usize,
        dir: Dir,
    ) {
        ev.result = "trap".into();
        ev.failure = Some(Box::new(fl));
        run.report.trace.push(ev);
        self.fail_stream(run, i, dir);
    }

    /// A trace event for a callback of stage `i`, with the VM's logs.
    fn event(&mut self, _run: &Run<'_>, i: usize, vmi: usize, name: &'static str) -> TraceEvent {
        let logs = self.vm(vmi).map(|vm| vm.take_logs()).unwrap_or_default();
        TraceEvent {
            filter: self.stages[i].label.clone(),
            callback: name.into(),
            logs,
            ..Default::default()
        }
    }

    /// Applies what the module asked for during a callback (deferred, as Envoy does).
    fn apply_effects(
        &mut self,
        run: &mut Run<'_>,
        vmi: usize,
        effects: Vec<Effect>,
        trace_idx: usize,
    ) {
        for e in effects {
            let stage_of = |ctx: u32| {
                run.ctx
                    .iter()
                    .position(|c| *c == Some(ctx))
                    .filter(|&i| self.stages[i].vm == Some(vmi))
            };
            match e {
                Effect::HttpCall(call) => {
                    let resp = answer(run.mocks, &call);
                    if let Some(ev) = run.report.trace.get_mut(trace_idx) {
                        ev.calls.push(call.clone());
                    }
                    run.report.http_calls.push(call.clone());
                    run.pending_calls.push_back((vmi, call, resp));
                }
                Effect::GrpcCall { root, token, .. } => {
                    run.pending_grpc.push_back((vmi, root, token))
                }
                Effect::Continue { ctx, response } => {
                    if let Some(i) = stage_of(ctx) {
                        self.resume(run, i, vmi, ctx, if response { Dir::Enc } else { Dir::Dec });
                    }
                }
                Effect::Close { ctx, .. } => {
                    if stage_of(ctx).is_some() && !run.client_done {
                        run.reset =
                            Some("stream reset by proxy_close_stream (wasm_close_stream)".into());
                    }
                }
                Effect::LocalReply { ctx, reply } => {
                    if let Some(ev) = run.report.trace.get_mut(trace_idx) {
                        ev.local_reply = Some(Box::new(reply.clone()));
                    }
                    if stage_of(ctx).is_some() {
                        self.local_reply(run, &reply);
                    }
                }
                Effect::Done { .. } => {}
            }
        }
    }

    fn resume(&mut self, run: &mut Run<'_>, i: usize, vmi: usize, ctx: u32, dir: Dir) {
        if run.reset.is_some() || run.client_done || (dir == Dir::Dec && run.local_reply_mode) {
            return;
        }
        // Envoy drops its pointers to this direction's maps and buffers on continue.
        self.set_access(vmi, ctx, |a| {
            if dir == Dir::Dec {
                a.req_headers = false;
                a.req_body = false;
                a.req_trailers = false;
            } else {
                a.resp_headers = false;
                a.resp_body = false;
                a.resp_trailers = false;
            }
        });
        let ds = run.ds(dir, i);
        if ds.stopped_all {
            ds.stopped_all = false;
            let eos = ds.headers_eos;
            let mut again = VecDeque::new();
            if ds.held_any {
                again.push_back(Frame::Data {
                    bytes: std::mem::take(&mut ds.held),
                    eos: ds.held_eos,
                });
            }
            if ds.held_trailers {
                again.push_back(Frame::Trailers);
            }
            ds.held_any = false;
            ds.held_trailers = false;
            // Buffered frames go back to this same filter (Envoy iterates from the current filter).
            let q = run.queue(dir, i);
            for f in again.into_iter().rev() {
                q.push_front(f);
            }
            self.push_next(run, dir, Some(i), Frame::Headers { eos });
        } else {
            let trailers = ds.trailers_stopped;
            ds.trailers_stopped = false;
            if let Some(b) = ds.buffering.take() {
                let eos = ds.data_eos && !trailers;
                self.push_next(run, dir, Some(i), Frame::Data { bytes: b, eos });
            }
            if trailers {
                self.push_next(run, dir, Some(i), Frame::Trailers);
            }
        }
    }

    fn local_reply(&mut self, run: &mut Run<'_>, reply: &LocalReply) {
        if run.reset.is_some() || run.client_done {
            return;
        }
        if run.client_headers_sent {
            run.reset = Some("local reply after the response started: stream reset".into());
            return;
        }
        let mut r = Response {
            status: reply.status,
            headers: Vec::new(),
            body: reply.body.clone(),
            trailers: Vec::new(),
        };
        if !reply.body.is_empty() {
            r.headers.push(("content-type".into(), "text/plain".into()));
        }
        r.headers.extend(
            reply
                .headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        for q in run.dq.iter_mut() {
            q.clear();
        }
        run.downstream.clear();
        let details = if reply.details.is_empty() {
            "wasm_local_reply".to_string()
        } else {
            reply.details.clone()
        };
        if run.upstream_done || run.client.is_some() {
            // Encoding started: the reply replaces the response without re-entering filters.
            for q in run.eq.iter_mut() {
                q.clear();
            }
            let mut h = HeaderMap::new();
            h.add(":status", &r.status.to_string());
            for (k, v) in &r.headers {
                h.add(k, v);
            }
            if !r.body.is_empty() {
                h.add("content-length", &r.body.len().to_string());
            }
            {
                let mut st = run.st.borrow_mut();
                st.resp_headers = h.clone();
                st.response_code = Some(r.status);
                st.response_code_details = Some(details.clone());
            }
            run.client = Some(ClientResponse {
                status: r.status,
                headers: h,
                body: r.body,
                trailers: HeaderMap::new(),
                details,
            });
            run.client_done = true;
            return;
        }
        run.local_reply_mode = true;
        run.upstream_done = true;
        self.start_response(run, &r, &details);
    }

    /// A filter failed (trap, failed VM): 503 `wasm_fail_stream` or a reset, per proxy.
    fn fail_stream(&mut self, run: &mut Run<'_>, _i: usize, _dir: Dir) {
        if self.profile.fail_with_local_reply() && !run.client_headers_sent {
            let reply = LocalReply {
                status: 503,
                details: "wasm_fail_stream".into(),
                body: Vec::new(),
                headers: HeaderMap::new(),
                grpc_status: None,
            };
            self.local_reply(run, &reply);
        } else if !run.client_done {
            run.reset = Some("stream reset: wasm_fail_stream".into());
        }
    }

    /// on_log / on_done / on_delete for every Wasm filter, in the proxy's order.
    fn tail(&mut self, run: &mut Run<'_>) {
        {
            let mut st = run.st.borrow_mut();
            st.end_ns = Some(self.shared.borrow().clock.realtime_ns);
            st.log_req_headers = st.req_headers.clone();
        }
        for i in 0..self.stages.len() {
            let Some(vmi) = self.stages[i].vm else {
                continue;
            };
            let label = self.stages[i].label.clone();
            let log_creates = self.profile.log_creates_context();
            let done_first = self.profile.done_before_log();
            let st = run.st.clone();
            let Some(vm) = self.vm(vmi) else { continue };
            if vm.failed.is_some() {
                continue;
            }
            if run.ctx[i].is_none() && log_creates {
                let ctx = vm.new_context(vm.root, Some(st));
                run.ctx[i] = Some(ctx);
                if let Some(f) = vm.ex.on_context_create {
                    let r = vm.invoke(
                        f,
                        (ctx as i32, vm.root as i32),
                        ctx,
                        "proxy_on_context_create",
                    );
                    let logs = vm.take_logs();
                    run.report.trace.push(TraceEvent {
                        filter: label.clone(),
                        callback: "proxy_on_context_create (log phase)".into(),
                        result: if r.is_ok() {
                            "done".into()
                        } else {
                            "trap".into()
                        },
                        logs,
                        failure: r.err().map(Box::new),
                        ..Default::default()
                    });
                }
            }
            let Some(ctx) = run.ctx[i] else { continue };
            let order: [&str; 3] = if done_first {
                ["proxy_on_done", "proxy_on_log", "proxy_on_delete"]
            } else {
                ["proxy_on_log", "proxy_on_done", "proxy_on_delete"]
            };
            for cb in order {
                if vm.failed.is_some() {
                    break;
                }
                if let Some(c) = vm.store.data_mut().contexts.get_mut(&ctx) {
                    c.access = Access {
                        log: cb == "proxy_on_log",
                        ..Default::default()
                    };
                }
                let r = match cb {
                    "proxy_on_log" => vm.ex.on_log.map(|f| vm.invoke(f, ctx as i32, ctx, cb)),
                    "proxy_on_done" => vm
                        .ex
                        .on_done
                        .map(|f| vm.invoke(f, ctx as i32, ctx, cb).map(|_| ())),
                    _ => vm.ex.on_delete.map(|f| vm.invoke(f, ctx as i32, ctx, cb)),
                };
                let Some(r) = r else { continue };
                let logs = vm.take_logs();
                vm.store.data_mut().effects.clear();
                run.report.trace.push(TraceEvent {
                    filter: label.clone(),
                    callback: cb.into(),
                    result: if r.is_ok() {
                        "done".into()
                    } else {
                        "trap".into()
                    },
                    logs,
                    failure: r.err().map(Box::new),
                    ..Default::default()
                });
            }
            vm.store.data_mut().contexts.remove(&ctx);
        }
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

/// Delivers a callout's response to the root context that made the call (maps 6/7 and
/// buffer 4 hold the response only during this callback).
fn call_response(
    vm: &mut Vm,
    ev: &mut TraceEvent,
    call: &HttpCall,
    resp: &CalloutResponse,
) -> Vec<Effect> {
    let f = vm.ex.on_http_call_response;
    if f.is_some() {
        vm.store.data_mut().callout = Some(resp.clone());
    }
    let params = (
        call.root as i32,
        call.token as i32,
        resp.headers.len() as i32,
        resp.body.len() as i32,
        resp.trailers.len() as i32,
    );
    let effects = run_async(vm, ev, f, params, call.root, "proxy_on_http_call_response");
    vm.store.data_mut().callout = None;
    effects
}

/// A cluster pattern with `*` wildcards.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (k, p) in parts.iter().enumerate() {
        if k == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if k == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            let Some(at) = rest.find(p) else { return false };
            rest = &rest[at + p.len()..];
        }
    }
    true
}

/// The scenario's answer for a callout, or what Envoy's router synthesizes when the cluster
/// has no healthy upstream (503).
fn answer(mocks: &[HttpMock], call: &HttpCall) -> CalloutResponse {
    let path = call.headers.get(":path").unwrap_or("");
    let m = mocks.iter().find(|m| {
        glob_match(&m.cluster, &call.cluster)
            && m.path
                .as_deref()
                .is_none_or(|p| p == path || p == super::host::properties_url_path(path))
    });
    let r = match m {
        Some(m) => m.response.clone(),
        None => Response {
            status: 503,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"no healthy upstream".to_vec(),
            trailers: Vec::new(),
        },
    };
    let mut headers = HeaderMap::new();
    headers.add(":status", &r.status.to_string());
    for (k, v) in &r.headers {
        headers.add(k, v);
    }
    if !r.body.is_empty() && headers.get("content-length").is_none() {
        headers.add("content-length", &r.body.len().to_string());
    }
    CalloutResponse {
        headers,
        trailers: HeaderMap::from_pairs(r.trailers.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
        body: r.body,
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(
            "outbound|8080||auth.*",
            "outbound|8080||auth.shop.svc.cluster.local"
        ));
        assert!(glob_match("*", "x"));
        assert!(!glob_match("a*c", "abd"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(glob_match("exact", "exact") && !glob_match("exact", "exactly"));
    }
}
