//! TCP connections through the chain's Wasm filters as Envoy's network filter manager runs
//! them (`envoy.filters.network.wasm`, `source/extensions/common/wasm/context.cc`):
//! read filters in chain order, write filters in reverse, the connection's read and write
//! buffers shared by every filter, iteration stopped by `StopIteration` and resumed by
//! `continue_stream(DOWNSTREAM)`, and the close callbacks and log phase at the end.
//! Builtin filters (the HTTP router) are not network filters: the bytes that pass every
//! filter reach the upstream (tcp_proxy) or the client.

use super::super::host::{Access, Effect, HttpCall, HttpState};
use super::super::scenario::{ClosedBy, ConnectionSpec, NetEvent, Peer};
use super::super::trace::{ConnectionReport, TraceEvent};
use super::super::vm::Failure;
use super::callouts::Ready;
use super::{FilterManager, HttpMock, Slot};
use crate::simulate::budget::Scope;
use crate::simulate::limits::max_ticks_per_advance;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// `proxy_on_downstream_connection_close` peer types (ABI `PeerType`).
const PEER_UNKNOWN: i32 = 0;
const PEER_LOCAL: i32 = 1;
const PEER_REMOTE: i32 = 2;

/// gRPC answer bursts delivered at most after one connection event (a module that opens a
/// new call in every callback would otherwise never stop).
const MAX_NET_GRPC_BURSTS: usize = 100_000;

/// A network callback.
#[derive(Clone, Copy)]
enum NetCb {
    New,
    Down { eos: bool },
    Up { eos: bool },
    DownClose(i32),
    UpClose,
}

impl NetCb {
    fn name(self) -> &'static str {
        match self {
            NetCb::New => "proxy_on_new_connection",
            NetCb::Down { .. } => "proxy_on_downstream_data",
            NetCb::Up { .. } => "proxy_on_upstream_data",
            NetCb::DownClose(_) => "proxy_on_downstream_connection_close",
            NetCb::UpClose => "proxy_on_upstream_connection_close",
        }
    }
}

/// One connection in flight.
struct Conn {
    /// The read buffer (`req_body`, DownstreamData) and write buffer (`resp_body`,
    /// UpstreamData), shared by every filter as Envoy's connection buffers are.
    st: Rc<RefCell<HttpState>>,
    /// Chain positions of the Wasm filters (the network filters), in chain order.
    net: Vec<usize>,
    /// Per network filter: its context, created with `on_new_connection` (Envoy `onCreate`).
    ctx: Vec<Option<u32>>,
    /// Per network filter: `on_new_connection` ran (Envoy `ActiveReadFilter::initialized_`).
    initialized: Vec<bool>,
    closed: Option<ClosedBy>,
    /// The client / the upstream ended its side (half-close): the read / write path carries
    /// `end_of_stream` from then on.
    down_ended: bool,
    up_ended: bool,
    /// The upstream's end passed every write filter: the client's side is written to its
    /// end (a write filter that stops it holds it back).
    client_write_ended: bool,
    /// Answers to the filters' HTTP calls (the connection's `http_calls`).
    http_mocks: Vec<HttpMock>,
    /// HTTP calls dispatched and not answered yet: Envoy answers them from its dispatcher,
    /// after the callback that made them returns.
    pending_http: VecDeque<(usize, HttpCall)>,
    report: ConnectionReport,
}

impl FilterManager {
    /// Network filters in the chain whose module exports no network callback: running a
    /// connection through them is a scenario error.
    fn http_only_filters(&self) -> Vec<String> {
        (self.stages.iter())
            .filter_map(|s| match s.vm.and_then(|v| self.vms.get(v)) {
                Some(Slot::Ready(vm))
                    if vm.ex.on_new_connection.is_none()
                        && vm.ex.on_downstream_data.is_none()
                        && vm.ex.on_upstream_data.is_none() =>
                {
                    Some(s.label.to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// Runs one TCP connection; Err when a filter of the chain is not a network filter.
    pub fn run_connection(&mut self, spec: &ConnectionSpec) -> Result<ConnectionReport, String> {
        let http_only = self.http_only_filters();
        if !http_only.is_empty() {
            return Err(format!(
                "{}: connection {:?}: the module of {} exports no network callback \
                 (proxy_on_new_connection, proxy_on_downstream_data, proxy_on_upstream_data): \
                 it is an HTTP filter, run it with `requests:`",
                spec.location,
                spec.name,
                http_only
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let conn_id = self.next_conn;
        self.next_conn += 1;
        // The Wasm filters, and the deny-all stand-in for an unfetchable FAIL_CLOSE module
        // (a network RBAC filter; the other built-ins pass the bytes on).
        let net: Vec<usize> = (0..self.stages.len())
            .filter(|&i| self.stages[i].vm.is_some() || self.stages[i].deny_all)
            .collect();
        let st = HttpState {
            start_ns: self.shared.borrow().clock.realtime_ns,
            connection_id: conn_id,
            source_address: "10.0.0.1",
            source_port: 40000 + (conn_id % 20000) as u16,
            ..Default::default()
        };
        let mut c = Conn {
            st: Rc::new(RefCell::new(st)),
            ctx: vec![None; net.len()],
            initialized: vec![false; net.len()],
            net,
            closed: None,
            down_ended: false,
            up_ended: false,
            client_write_ended: false,
            http_mocks: spec.http_calls.clone(),
            pending_http: VecDeque::new(),
            report: ConnectionReport {
                name: spec.name.clone(),
                ..Default::default()
            },
        };
        let budget = self.shared.borrow().budget.clone();
        budget.begin(Scope::Request);
        self.grpc_mocks.clone_from(&spec.grpc_calls);
        // Envoy `FilterManagerImpl::initializeReadFilters`: on_new_connection in order.
        self.read_from(&mut c, 0);
        self.net_drain(&mut c);
        for e in &spec.events {
            if c.closed.is_some() {
                break;
            }
            match e {
                NetEvent::Downstream(bytes, end) => {
                    c.st.borrow_mut().req_body.extend_from_slice(bytes);
                    // A half-close: Envoy's `ConnectionImpl::onReadReady` (half-close enabled
                    // by tcp_proxy) latches `read_end_stream_` and runs the read filters.
                    c.down_ended |= *end;
                    self.read_from(&mut c, 0);
                    if *end {
                        self.both_ended(&mut c, ClosedBy::Downstream);
                    }
                }
                NetEvent::Upstream(bytes, end) => {
                    c.st.borrow_mut().resp_body.extend_from_slice(bytes);
                    let passed = self.write(&mut c, *end);
                    if *end {
                        c.up_ended = true;
                        c.client_write_ended = passed;
                        self.both_ended(&mut c, ClosedBy::Upstream);
                    }
                }
                NetEvent::Advance(ns) => self.net_advance(&mut c, *ns),
                NetEvent::Close(Peer::Downstream) => self.close(&mut c, ClosedBy::Downstream),
                NetEvent::Close(Peer::Upstream) => {
                    // Envoy sees the upstream's end as end_stream on the write path (unless
                    // the upstream already ended its side), then tcp_proxy closes the
                    // downstream connection (FlushWrite).
                    if !c.up_ended {
                        self.write(&mut c, true);
                    }
                    self.close(&mut c, ClosedBy::Upstream);
                }
            }
            // gRPC answers arrive before the peers' next bytes.
            self.net_drain(&mut c);
        }
        // A connection the events leave open is closed by its client.
        if c.closed.is_none() {
            self.close(&mut c, ClosedBy::Downstream);
        }
        budget.end();
        let mut report = c.report;
        report.grpc_calls = self.take_grpc_calls();
        report.closed_by = c.closed.map_or("", ClosedBy::as_str).to_string();
        report.metrics_after = self.metrics();
        Ok(report)
    }

    /// Envoy `FilterManagerImpl::onContinueReading`: from network filter `from` on, each
    /// filter not yet initialized gets `on_new_connection`, then, when there are bytes,
    /// `on_downstream_data` with the whole read buffer; a stop ends the iteration (the bytes
    /// stay in the buffer and are offered again, from the first filter, with the next read).
    /// Past the last filter, tcp_proxy moves the buffer to the upstream.
    fn read_from(&mut self, c: &mut Conn, from: usize) {
        for pos in from..c.net.len() {
            if c.closed.is_some() {
                return;
            }
            if self.stages[c.net[pos]].deny_all {
                // istio-agent's stand-in is Envoy's network RBAC filter with empty rules:
                // `RoleBasedAccessControlFilter::onData` denies the first bytes (or the end of
                // stream) that reach it and closes the connection without flushing.
                if !c.st.borrow().req_body.is_empty() || c.down_ended {
                    c.report.trace.push(TraceEvent {
                        filter: self.stages[c.net[pos]].label.clone(),
                        callback: "onData (network RBAC, empty rules)".into(),
                        result: "denied: connection closed".into(),
                        ..Default::default()
                    });
                    self.close(c, ClosedBy::Plugin);
                    return;
                }
                continue;
            }
            if !c.initialized[pos] {
                c.initialized[pos] = true;
                if !self.create_net_ctx(c, pos) {
                    return;
                }
                if self.net_call(c, pos, NetCb::New) {
                    return;
                }
            }
            if c.closed.is_some() {
                return;
            }
            // The borrow ends before the module runs (it may write the buffer). Envoy's
            // `onContinueReading` calls `onData` when there are bytes or the client ended
            // its side (`end_stream`, latched: every later pass carries it too).
            let has_bytes = !c.st.borrow().req_body.is_empty();
            let eos = c.down_ended;
            if (has_bytes || eos) && self.net_call(c, pos, NetCb::Down { eos }) {
                return;
            }
        }
        if c.closed.is_none() {
            let bytes = std::mem::take(&mut c.st.borrow_mut().req_body);
            c.report.upstream_received.extend_from_slice(&bytes);
        }
    }

    /// Envoy `FilterManagerImpl::onWrite`: write filters in reverse chain order get
    /// `on_upstream_data` with the whole write buffer (and, at the upstream's end,
    /// `on_upstream_connection_close(UNKNOWN)` right after it, as `Context::onWrite` does); a
    /// stop keeps the bytes for the next write. Past the first filter they reach the client.
    /// True when the write reached the client.
    fn write(&mut self, c: &mut Conn, eos: bool) -> bool {
        for pos in (0..c.net.len()).rev() {
            if c.closed.is_some() {
                return false;
            }
            let stop = self.net_call(c, pos, NetCb::Up { eos });
            if eos {
                self.net_call(c, pos, NetCb::UpClose);
            }
            if stop {
                return false;
            }
        }
        if c.closed.is_some() {
            return false;
        }
        let bytes = std::mem::take(&mut c.st.borrow_mut().resp_body);
        c.report.downstream_received.extend_from_slice(&bytes);
        true
    }

    /// Both sides of the client's connection have ended (`by` ended last): its read side by
    /// the client's half-close, its write side by the upstream's end once it passed the
    /// write filters. Envoy's `ConnectionImpl` then closes it (`bothSidesHalfClosed()` in
    /// `onReadReady`/`onWriteReady`: `closeSocket(ConnectionEvent::RemoteClose)`), so the
    /// filters see a REMOTE close.
    fn both_ended(&mut self, c: &mut Conn, by: ClosedBy) {
        if c.down_ended && c.client_write_ended {
            self.close_as(c, by, PEER_REMOTE);
        }
    }

    /// The downstream connection closes: `on_downstream_connection_close` (REMOTE when the
    /// client closed, LOCAL when the proxy did) for every filter with a context, in chain
    /// order (Envoy `Context::onEvent`), then `on_done`, `on_log`, `on_delete`.
    fn close(&mut self, c: &mut Conn, by: ClosedBy) {
        let peer = if by == ClosedBy::Downstream {
            PEER_REMOTE
        } else {
            PEER_LOCAL
        };
        self.close_as(c, by, peer);
    }

    fn close_as(&mut self, c: &mut Conn, by: ClosedBy, peer: i32) {
        if c.closed.is_some() {
            return;
        }
        c.closed = Some(by);
        for pos in 0..c.net.len() {
            self.net_call(c, pos, NetCb::DownClose(peer));
        }
        for pos in 0..c.net.len() {
            let Some(ctx) = c.ctx[pos] else { continue };
            let i = c.net[pos];
            let label = self.stages[i].label.clone();
            let Some(vmi) = self.stages[i].vm else {
                continue;
            };
            let Some(vm) = self.vm(vmi) else { continue };
            for name in ["proxy_on_done", "proxy_on_log", "proxy_on_delete"] {
                if vm.failed.is_some() {
                    break;
                }
                if let Some(info) = vm.store.data_mut().contexts.get_mut(&ctx) {
                    info.access = Access::default();
                }
                let p = ctx as i32;
                let r: Option<Result<(), Failure>> = match name {
                    "proxy_on_done" => vm.ex.on_done.map(|f| vm.invoke(f, p, ctx, name).map(drop)),
                    "proxy_on_log" => vm.ex.on_log.map(|f| vm.invoke(f, p, ctx, name)),
                    _ => vm.ex.on_delete.map(|f| vm.invoke(f, p, ctx, name)),
                };
                let Some(r) = r else { continue };
                c.report.trace.push(TraceEvent {
                    filter: label.clone(),
                    callback: name.into(),
                    result: if r.is_ok() { "done" } else { "trap" }.into(),
                    logs: vm.take_logs(),
                    failure: r.err().map(Box::new),
                    ..Default::default()
                });
                vm.store.data_mut().effects.clear();
            }
            vm.store.data_mut().contexts.remove(&ctx);
        }
    }

    /// Whether VM `vmi` runs one of the connection's filters (a trap there fails it).
    fn filters_conn(&self, c: &Conn, vmi: usize) -> bool {
        c.net.iter().any(|&i| self.stages[i].vm == Some(vmi))
    }

    /// Delivers what the dispatcher has for the connection's filters once an event is done:
    /// gRPC callbacks, then the answers to pending HTTP calls (whose callbacks may make more
    /// of either), until nothing is left.
    fn net_drain(&mut self, c: &mut Conn) {
        for _ in 0..MAX_NET_GRPC_BURSTS {
            self.net_drain_grpc(c);
            let Some((vmi, call)) = c.pending_http.pop_front() else {
                return;
            };
            // A call answered later (`delay`) or timing out waits for `advance`.
            if let Some(r) = self.http_called(vmi, call, &c.http_mocks) {
                self.net_http_answer(c, r);
            }
        }
    }

    /// Runs `proxy_on_http_call_response` for an answer and applies what it asks of the
    /// connection (`continue_stream`, `close_stream`, more calls).
    fn net_http_answer(&mut self, c: &mut Conn, r: Ready) {
        let vmi = r.vmi;
        let more = self.deliver_call(r, &mut c.report.trace);
        if let Some(ev) = c.report.trace.last_mut() {
            for e in &more {
                if let Effect::HttpCall(call) = e {
                    ev.calls.push(call.clone());
                }
            }
            if ev.failure.is_some() && self.filters_conn(c, vmi) {
                self.close(c, ClosedBy::Plugin);
            }
        }
        self.net_apply(c, vmi, more);
    }

    /// Delivers the pending gRPC callbacks of calls made by the connection's filters (their
    /// root contexts; the SDKs dispatch them to the connection's context by token), and
    /// applies what they ask for: `continue_stream(DOWNSTREAM)` resumes reading after that
    /// filter, `close_stream` closes the connection, new gRPC calls are answered in turn.
    fn net_drain_grpc(&mut self, c: &mut Conn) {
        for _ in 0..MAX_NET_GRPC_BURSTS {
            let Some(burst) = self.next_grpc_burst() else {
                return;
            };
            for (vmi, mut ev, effects) in burst {
                for e in &effects {
                    if let Effect::HttpCall(call) = e {
                        ev.calls.push(call.clone());
                    }
                }
                let trapped = ev.failure.is_some();
                c.report.trace.push(ev);
                if trapped && self.filters_conn(c, vmi) {
                    // The VM is gone: the connection it filters fails closed.
                    self.close(c, ClosedBy::Plugin);
                }
                self.net_apply(c, vmi, effects);
            }
        }
    }

    /// Applies what a callback outside the connection's own callbacks (a gRPC answer, a
    /// tick) asked for: `continue_stream(DOWNSTREAM)` of a connection context resumes
    /// reading after its filter, `close_stream` closes the connection, gRPC calls are
    /// answered in turn.
    fn net_apply(&mut self, c: &mut Conn, vmi: usize, effects: Vec<Effect>) {
        let pos_of = |fm: &FilterManager, c: &Conn, ctx: u32| {
            (0..c.net.len()).find(|&p| c.ctx[p] == Some(ctx) && fm.stages[c.net[p]].vm == Some(vmi))
        };
        for e in effects {
            match e {
                e @ (Effect::GrpcCall(_) | Effect::GrpcSend { .. } | Effect::GrpcClose { .. }) => {
                    self.grpc_effect(vmi, &e);
                }
                Effect::NetContinue { ctx } if c.closed.is_none() => {
                    if let Some(pos) = pos_of(self, c, ctx) {
                        self.set_access(vmi, ctx, |a| a.down_data = false);
                        self.read_from(c, pos + 1);
                    }
                }
                Effect::NetClose { ctx } if pos_of(self, c, ctx).is_some() => {
                    self.close(c, ClosedBy::Plugin);
                }
                Effect::HttpCall(call) => {
                    c.report.http_calls.push(call.clone());
                    c.pending_http.push_back((vmi, call));
                }
                _ => {}
            }
        }
    }

    /// `advance` inside a connection: simulated time passes, firing due ticks and gRPC
    /// answers and timeouts in time order; what they ask of the connection applies to it.
    fn net_advance(&mut self, c: &mut Conn, ns: u64) {
        let target = self.shared.borrow().clock.monotonic_ns.saturating_add(ns);
        for _ in 0..max_ticks_per_advance() {
            if c.closed.is_some() {
                break;
            }
            let due = self.shared.borrow().clock.next_due(target);
            // Callout answers and timeouts due first (or at the same instant) come first; at
            // one instant gRPC's before HTTP's, as outside connections.
            if let Some(g) = self.next_callout_due(target) {
                if due.is_none_or(|(_, at)| g <= at) {
                    self.shared.borrow_mut().clock.set_monotonic(g);
                    self.fire_grpc_due(g);
                    let http = self.take_http_due(g);
                    self.net_drain_grpc(c);
                    for r in http {
                        self.net_http_answer(c, r);
                    }
                    self.net_drain(c);
                    continue;
                }
            }
            let Some(((vmi, root), at)) = due else { break };
            if !self.live(vmi, root) {
                self.shared.borrow_mut().clock.ticks.remove(&(vmi, root));
                continue;
            }
            let (mut ev, effects) = self.tick(vmi, root, at, "proxy_on_tick".into());
            for e in &effects {
                if let Effect::HttpCall(call) = e {
                    ev.calls.push(call.clone());
                }
            }
            c.report.trace.push(ev);
            self.net_apply(c, vmi, effects);
            self.net_drain(c);
        }
        self.shared.borrow_mut().clock.set_monotonic(target);
    }

    /// Creates network filter `pos`'s context (`proxy_on_context_create`); false when the
    /// plugin cannot run, which closes the connection (the filter fails closed).
    fn create_net_ctx(&mut self, c: &mut Conn, pos: usize) -> bool {
        let i = c.net[pos];
        let (label, root) = (self.stages[i].label.clone(), self.stages[i].root);
        let vmi = self.stages[i].vm.expect("network filters are Wasm filters");
        let dead = !self.live(vmi, root);
        let st = c.st.clone();
        let failure = match self.vm(vmi) {
            Some(vm) if !dead => {
                let ctx = vm.new_context(root, Some(st));
                c.ctx[pos] = Some(ctx);
                let Some(f) = vm.ex.on_context_create else {
                    return true;
                };
                let Err(fl) =
                    vm.invoke(f, (ctx as i32, root as i32), ctx, "proxy_on_context_create")
                else {
                    return true;
                };
                let logs = vm.take_logs();
                c.report.trace.push(TraceEvent {
                    filter: label,
                    callback: "proxy_on_context_create".into(),
                    result: "trap".into(),
                    logs,
                    failure: Some(Box::new(fl)),
                    ..Default::default()
                });
                self.close(c, ClosedBy::Plugin);
                return false;
            }
            Some(vm) => vm.failed.clone(),
            None => None,
        };
        c.report.trace.push(TraceEvent {
            filter: label,
            callback: "create filter".into(),
            result: "plugin failed to start; failing closed".into(),
            failure: failure.map(Box::new),
            ..Default::default()
        });
        self.close(c, ClosedBy::Plugin);
        false
    }

    /// Runs one network callback of filter `pos` and applies what it asked for (deferred
    /// until it returns, as Envoy's `DeferAfterCallActions`); true when it stopped the
    /// iteration (any non-zero `FilterStatus`). Filters without a context (never reached by
    /// `on_new_connection`) and callbacks the module does not export are skipped (Continue).
    fn net_call(&mut self, c: &mut Conn, pos: usize, cb: NetCb) -> bool {
        let Some(ctx) = c.ctx[pos] else { return false };
        let i = c.net[pos];
        let label = self.stages[i].label.clone();
        let vmi = self.stages[i].vm.expect("network filters are Wasm filters");
        let Some(vm) = self.vm(vmi) else { return false };
        let (down, up) = {
            let st = c.st.borrow();
            (st.req_body.len() as i32, st.resp_body.len() as i32)
        };
        // The buffer of a data callback is the module's while it runs (and while it stops).
        if let Some(info) = vm.store.data_mut().contexts.get_mut(&ctx) {
            match cb {
                NetCb::Down { .. } => info.access.down_data = true,
                NetCb::Up { .. } => info.access.up_data = true,
                _ => {}
            }
        }
        let name = cb.name();
        let p = ctx as i32;
        let r: Option<Result<i32, Failure>> = match cb {
            NetCb::New => vm.ex.on_new_connection.map(|f| vm.invoke(f, p, ctx, name)),
            NetCb::Down { eos } => (vm.ex.on_downstream_data)
                .map(|f| vm.invoke(f, (p, down, i32::from(eos)), ctx, name)),
            NetCb::Up { eos } => {
                (vm.ex.on_upstream_data).map(|f| vm.invoke(f, (p, up, i32::from(eos)), ctx, name))
            }
            NetCb::DownClose(peer) => (vm.ex.on_downstream_connection_close)
                .map(|f| vm.invoke(f, (p, peer), ctx, name).map(|()| 0)),
            NetCb::UpClose => (vm.ex.on_upstream_connection_close)
                .map(|f| vm.invoke(f, (p, PEER_UNKNOWN), ctx, name).map(|()| 0)),
        };
        let Some(r) = r else { return false };
        let data_cb = matches!(cb, NetCb::New | NetCb::Down { .. } | NetCb::Up { .. });
        let stop = matches!(r, Ok(code) if code != 0 && data_cb);
        if !stop {
            if let Some(info) = vm.store.data_mut().contexts.get_mut(&ctx) {
                match cb {
                    NetCb::Down { .. } => info.access.down_data = false,
                    NetCb::Up { .. } => info.access.up_data = false,
                    _ => {}
                }
            }
        }
        let mut ev = TraceEvent {
            filter: label,
            callback: name.into(),
            logs: vm.take_logs(),
            ..Default::default()
        };
        let effects = std::mem::take(&mut vm.store.data_mut().effects);
        ev.result = match (&r, data_cb) {
            (Err(_), _) => "trap".into(),
            (Ok(_), false) => "done".into(),
            (Ok(_), true) if stop => "StopIteration".into(),
            (Ok(_), true) => "Continue".into(),
        };
        if let Err(fl) = r {
            ev.failure = Some(Box::new(fl));
        }
        for e in &effects {
            if let Effect::HttpCall(call) = e {
                ev.calls.push(call.clone());
            }
        }
        let trapped = ev.failure.is_some();
        c.report.trace.push(ev);
        if trapped {
            // Envoy fails the stream: `failStream(Downstream)` closes the connection.
            self.close(c, ClosedBy::Plugin);
            return true;
        }
        for e in effects {
            match e {
                e @ (Effect::GrpcCall(_) | Effect::GrpcSend { .. } | Effect::GrpcClose { .. }) => {
                    self.grpc_effect(vmi, &e);
                }
                Effect::NetContinue { ctx: who } if who == ctx && c.closed.is_none() => {
                    self.set_access(vmi, ctx, |a| a.down_data = false);
                    self.read_from(c, pos + 1);
                }
                Effect::NetClose { ctx: who } if who == ctx => self.close(c, ClosedBy::Plugin),
                Effect::HttpCall(call) => {
                    c.report.http_calls.push(call.clone());
                    c.pending_http.push_back((vmi, call));
                }
                _ => {}
            }
        }
        stop
    }
}
