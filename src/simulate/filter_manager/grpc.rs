//! gRPC callouts answered from the scenario's `grpc_calls`, in Envoy's callback order
//! (`Context::GrpcCallClientHandler` / `GrpcStreamClientHandler` in Envoy's
//! `source/extensions/common/wasm/context.h`, `Context::onGrpcReceiveWrapper` and
//! `onGrpcCloseWrapper` in `context.cc`):
//! - a unary call gets `on_grpc_receive` with its message on OK, else only `on_grpc_close`;
//! - a stream gets `on_grpc_receive_initial_metadata`, `on_grpc_receive` per message, then
//!   `on_grpc_receive_trailing_metadata` and `on_grpc_close` when the server closes.
//!
//! A call no entry matches is closed with 14 UNAVAILABLE (as when the cluster is unreachable)
//! and reported as unmatched. An entry's `delay:` holds its answer until simulated time has
//! passed; a unary call whose timeout passes first ends as Envoy's async client ends it
//! (`timed_out`).

use super::super::headers::HeaderMap;
use super::super::host::{Effect, GrpcCall, GrpcIncoming};
use super::super::trace::{GrpcCallRecord, TraceEvent};
use super::state::Run;
use super::{run_async, FilterManager, GrpcDelay, GrpcMock};
use std::collections::{HashMap, VecDeque};

/// gRPC deliveries delivered at most in one drain outside a request (a module that opens a
/// new call in every close would otherwise never stop).
const MAX_GRPC_EVENTS: usize = 100_000;

#[derive(Default)]
pub(super) struct GrpcState {
    pending: VecDeque<Delivery>,
    /// Streams whose answer waits for the plugin to close its side.
    held: HashMap<(usize, u32), (u32, GrpcMock)>,
    /// The step's calls, and where each live call's record is.
    records: Vec<GrpcCallRecord>,
    record_at: HashMap<(usize, u32), usize>,
    /// Answers and timeouts waiting for simulated time, by due monotonic time.
    timed: Vec<Timed>,
}

/// Something that happens to a call once the clock reaches `due`.
struct Timed {
    due: u64,
    vmi: usize,
    root: u32,
    token: u32,
    what: Later,
}

enum Later {
    /// The entry's answer (`delay:`).
    Answer(GrpcMock, bool),
    /// The call's timeout: Envoy's async client ends it (`timed_out`).
    Timeout { google: bool, ms: u32 },
}

/// How Envoy ends a unary call whose timeout passed. `envoy_grpc`: the async HTTP stream's
/// router times out (`Filter::onUpstreamTimeoutAbort`, 504 "upstream request timeout") and
/// its local reply to a gRPC request is trailers-only with `grpc-status` mapped from 504
/// (`Grpc::Utility::httpToGrpcStatus`: 14 UNAVAILABLE), which `AsyncRequestImpl` reports as
/// `onFailure` → `proxy_on_grpc_close`. `google_grpc`: the gRPC library's deadline,
/// 4 DEADLINE_EXCEEDED.
fn timed_out(google: bool) -> (u32, &'static str) {
    if google {
        (4, "Deadline Exceeded")
    } else {
        (14, "upstream request timeout")
    }
}

struct Delivery {
    vmi: usize,
    root: u32,
    token: u32,
    event: Event,
}

enum Event {
    InitialMetadata(HeaderMap),
    Message(Vec<u8>),
    TrailingMetadata(HeaderMap),
    /// Status code, message and a note for the trace (why the host closed the call).
    Close(u32, String, Option<String>),
}

fn map(pairs: &[(String, String)]) -> HeaderMap {
    HeaderMap::from_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
}

impl FilterManager {
    /// Handles a gRPC effect; false when `e` is not one.
    pub(super) fn grpc_effect(&mut self, vmi: usize, e: &Effect) -> bool {
        match e {
            Effect::GrpcCall(call) => self.grpc_opened(vmi, call),
            Effect::GrpcSend { token, message } => {
                if let Some(&i) = self.grpc.record_at.get(&(vmi, *token)) {
                    self.grpc.records[i].messages.push(message.clone());
                }
            }
            // The plugin closed its side: a held stream's server now finishes.
            Effect::GrpcClose { token } => {
                if let Some((root, m)) = self.grpc.held.remove(&(vmi, *token)) {
                    self.push_server_close(vmi, root, *token, &m);
                }
            }
            _ => return false,
        }
        true
    }

    /// The step's gRPC calls (records of calls still open stay findable for `grpc_send`
    /// only within the step).
    pub fn take_grpc_calls(&mut self) -> Vec<GrpcCallRecord> {
        self.grpc.record_at.clear();
        std::mem::take(&mut self.grpc.records)
    }

    fn grpc_opened(&mut self, vmi: usize, call: &GrpcCall) {
        let mut patterns = std::mem::take(&mut self.patterns);
        let found = (self.grpc_mocks.iter()).find(|m| {
            patterns.is_match(&m.service, &call.service)
                && (m.method.as_ref()).is_none_or(|p| patterns.is_match(p, &call.method))
                && (m.cluster.as_ref()).is_none_or(|p| patterns.is_match(p, &call.cluster))
        });
        let found = found.cloned();
        self.patterns = patterns;
        self.grpc
            .record_at
            .insert((vmi, call.token), self.grpc.records.len());
        self.grpc.records.push(GrpcCallRecord {
            cluster: call.cluster.clone(),
            service: call.service.clone(),
            method: call.method.clone(),
            stream: call.stream,
            messages: call.message.iter().cloned().collect(),
            matched: found.is_some(),
        });
        let (root, token) = (call.root, call.token);
        let Some(m) = found else {
            let text = "no grpc_calls entry matched this call".to_string();
            let note = "no grpc_calls entry matched: closed with 14 UNAVAILABLE".to_string();
            self.push(vmi, root, token, Event::Close(14, text, Some(note)));
            return;
        };
        let now = self.shared.borrow().clock.monotonic_ns;
        // Envoy's route timeout 0 means none (`RouteEntryImpl::timeout`, router
        // `FilterUtility::finalTimeout`).
        let deadline = (!call.stream && call.timeout_ms > 0)
            .then(|| now.saturating_add(u64::from(call.timeout_ms) * 1_000_000));
        let answer_at = match m.delay {
            GrpcDelay::Now => Some(now),
            GrpcDelay::After(ns) => Some(now.saturating_add(ns)),
            GrpcDelay::Never => None,
        };
        let (due, what) = match (answer_at, deadline) {
            (Some(at), _) if at == now => return self.answer(vmi, root, token, call.stream, m),
            // An answer due at the deadline is too late: the timer fires first.
            (None, Some(d)) => (
                d,
                Later::Timeout {
                    google: call.google,
                    ms: call.timeout_ms,
                },
            ),
            (Some(a), Some(d)) if a >= d => (
                d,
                Later::Timeout {
                    google: call.google,
                    ms: call.timeout_ms,
                },
            ),
            (Some(at), _) => (at, Later::Answer(m, call.stream)),
            (None, None) => return, // never answered, no timeout: the call stays open
        };
        self.grpc.timed.push(Timed {
            due,
            vmi,
            root,
            token,
            what,
        });
    }

    fn push(&mut self, vmi: usize, root: u32, token: u32, event: Event) {
        self.grpc.pending.push_back(Delivery {
            vmi,
            root,
            token,
            event,
        });
    }

    /// Queues the answer of entry `m` for a call.
    fn answer(&mut self, vmi: usize, root: u32, token: u32, stream: bool, m: GrpcMock) {
        if !stream {
            // Envoy's `Grpc::AsyncRequestImpl`: OK with a message → onSuccess (the last
            // message received); OK without one → onFailure(INTERNAL); else onFailure.
            let event = match (m.status, m.messages.last()) {
                (0, Some(msg)) => Event::Message(msg.clone()),
                (0, None) => Event::Close(13, String::new(), None),
                (code, _) => Event::Close(code, m.status_message.clone(), None),
            };
            self.push(vmi, root, token, event);
            return;
        }
        // A trailers-only answer (no headers, no messages) skips the initial metadata.
        let trailers_only =
            m.server_closes && m.messages.is_empty() && m.initial_metadata.is_empty();
        if !trailers_only {
            self.push(
                vmi,
                root,
                token,
                Event::InitialMetadata(map(&m.initial_metadata)),
            );
        }
        for msg in &m.messages {
            self.push(vmi, root, token, Event::Message(msg.clone()));
        }
        if m.server_closes {
            self.push_server_close(vmi, root, token, &m);
        } else {
            self.grpc.held.insert((vmi, token), (root, m));
        }
    }

    /// The monotonic time of the next timed answer or timeout due at or before `until`.
    pub(super) fn next_grpc_due(&self, until: u64) -> Option<u64> {
        (self.grpc.timed.iter().map(|t| t.due))
            .filter(|&d| d <= until)
            .min()
    }

    /// Queues the deliveries of the timed answers and timeouts due at `now` (in due order;
    /// calls the plugin cancelled meanwhile are dropped when delivered).
    pub(super) fn fire_grpc_due(&mut self, now: u64) {
        let (mut due, later): (Vec<Timed>, Vec<Timed>) =
            (std::mem::take(&mut self.grpc.timed).into_iter()).partition(|t| t.due <= now);
        self.grpc.timed = later;
        due.sort_by_key(|t| t.due);
        for t in due {
            match t.what {
                Later::Answer(m, stream) => self.answer(t.vmi, t.root, t.token, stream, m),
                Later::Timeout { google, ms } => {
                    let (code, text) = timed_out(google);
                    let note = format!("timed out after {ms} ms: closed with {code} ({text})");
                    self.push(
                        t.vmi,
                        t.root,
                        t.token,
                        Event::Close(code, text.into(), Some(note)),
                    );
                }
            }
        }
    }

    fn push_server_close(&mut self, vmi: usize, root: u32, token: u32, m: &GrpcMock) {
        for event in [
            Event::TrailingMetadata(map(&m.trailing_metadata)),
            Event::Close(m.status, m.status_message.clone(), None),
        ] {
            self.grpc.pending.push_back(Delivery {
                vmi,
                root,
                token,
                event,
            });
        }
    }

    /// Runs the next pending gRPC callback; None when nothing is pending. Callbacks for a
    /// token the plugin cancelled are dropped (Envoy resets the stream).
    fn next_grpc(&mut self) -> Option<Option<(usize, TraceEvent, Vec<Effect>)>> {
        let d = self.grpc.pending.pop_front()?;
        let label = self.label_of(d.vmi, d.root);
        let Some(vm) = self.vm(d.vmi) else {
            return Some(None);
        };
        let live = vm.store.data().grpc_live.get(&d.token).copied();
        if live.is_none() {
            return Some(None);
        }
        let (root, token) = (d.root as i32, d.token as i32);
        let mut ev = TraceEvent {
            filter: label,
            ..Default::default()
        };
        let ex = vm.ex.clone();
        let effects = match d.event {
            Event::InitialMetadata(h) => {
                ev.callback =
                    format!("proxy_on_grpc_receive_initial_metadata(token {token})").into();
                let n = h.len() as i32;
                vm.store.data_mut().grpc_in = Some(GrpcIncoming {
                    initial: Some(h),
                    ..Default::default()
                });
                let f = ex.on_grpc_receive_initial_metadata;
                run_async(
                    vm,
                    &mut ev,
                    f,
                    (root, token, n),
                    d.root,
                    "proxy_on_grpc_receive_initial_metadata",
                )
            }
            Event::Message(msg) => {
                ev.callback = format!("proxy_on_grpc_receive(token {token})").into();
                let n = msg.len() as i32;
                vm.store.data_mut().grpc_in = Some(GrpcIncoming {
                    message: Some(msg),
                    ..Default::default()
                });
                let f = ex.on_grpc_receive;
                let effects = run_async(
                    vm,
                    &mut ev,
                    f,
                    (root, token, n),
                    d.root,
                    "proxy_on_grpc_receive",
                );
                // A unary call is over once answered.
                if live.is_some_and(|l| !l.stream) {
                    vm.store.data_mut().grpc_live.remove(&d.token);
                }
                effects
            }
            Event::TrailingMetadata(h) => {
                ev.callback =
                    format!("proxy_on_grpc_receive_trailing_metadata(token {token})").into();
                let n = h.len() as i32;
                vm.store.data_mut().grpc_in = Some(GrpcIncoming {
                    trailing: Some(h),
                    ..Default::default()
                });
                let f = ex.on_grpc_receive_trailing_metadata;
                run_async(
                    vm,
                    &mut ev,
                    f,
                    (root, token, n),
                    d.root,
                    "proxy_on_grpc_receive_trailing_metadata",
                )
            }
            Event::Close(code, text, note) => {
                ev.callback = format!("proxy_on_grpc_close(token {token}, {code})").into();
                vm.store.data_mut().last_status = (code, text.into_bytes());
                let f = ex.on_grpc_close;
                let effects = run_async(
                    vm,
                    &mut ev,
                    f,
                    (root, token, code as i32),
                    d.root,
                    "proxy_on_grpc_close",
                );
                vm.store.data_mut().grpc_live.remove(&d.token);
                if let Some(note) = note {
                    ev.result = note.into();
                }
                effects
            }
        };
        let s = vm.store.data_mut();
        s.grpc_in = None;
        Some(Some((d.vmi, ev, effects)))
    }

    /// Runs the pending callbacks of the next call's answer as one burst (what the server
    /// sent arrives together: Envoy runs the trailing metadata and close callbacks in one
    /// dispatch, before the answers of callouts made meanwhile).
    pub(super) fn next_grpc_burst(&mut self) -> Option<Vec<(usize, TraceEvent, Vec<Effect>)>> {
        let first = self.grpc.pending.front().map(|d| (d.vmi, d.token))?;
        let mut out = Vec::new();
        while self.grpc.pending.front().map(|d| (d.vmi, d.token)) == Some(first) {
            if let Some(Some(r)) = self.next_grpc() {
                out.push(r);
            }
        }
        Some(out)
    }

    /// Delivers the next call's pending gRPC callbacks during a request; false when none.
    pub(super) fn deliver_grpc(&mut self, run: &mut Run<'_>) -> bool {
        let Some(burst) = self.next_grpc_burst() else {
            return false;
        };
        for (vmi, ev, effects) in burst {
            let failed = ev.failure.is_some();
            let idx = run.report.trace.len();
            run.report.trace.push(ev);
            self.apply_effects(run, vmi, effects, idx);
            if failed && self.vm_in_stream(run, vmi) && !run.client_done() {
                self.fail_stream(run);
            }
        }
        true
    }

    /// Delivers the pending gRPC callbacks outside a request (ticks); the HTTP calls they
    /// make are answered from `mocks` and listed on their event.
    pub(super) fn drain_grpc(&mut self, mocks: &[super::HttpMock], trace: &mut Vec<TraceEvent>) {
        for _ in 0..MAX_GRPC_EVENTS {
            let Some(burst) = self.next_grpc_burst() else {
                return;
            };
            let mut done = Vec::new();
            for (vmi, ev, effects) in burst {
                trace.push(ev);
                done.push((vmi, effects, trace.len() - 1));
            }
            for (vmi, effects, at) in done {
                self.tick_effects(vmi, effects, mocks, trace, at);
            }
        }
    }
}

impl FilterManager {
    /// The gRPC calls the plugins opened while starting (`proxy_on_vm_start`,
    /// `proxy_on_configure`), answered from `grpc_mocks` right after every plugin started:
    /// Envoy delivers their answers from the dispatcher once start-up returns. The
    /// callbacks' events go to `trace`; other start-up effects stay where they were.
    pub fn answer_startup_grpc(&mut self, http: &[super::HttpMock], trace: &mut Vec<TraceEvent>) {
        for vmi in 0..self.vms.len() {
            let Some(vm) = self.vm(vmi) else { continue };
            let effects = std::mem::take(&mut vm.store.data_mut().effects);
            let (grpc, rest): (Vec<Effect>, Vec<Effect>) = effects.into_iter().partition(|e| {
                matches!(
                    e,
                    Effect::GrpcCall(_) | Effect::GrpcSend { .. } | Effect::GrpcClose { .. }
                )
            });
            if let Some(vm) = self.vm(vmi) {
                vm.store.data_mut().effects = rest;
            }
            for e in grpc {
                // A plugin whose start failed has no root to answer.
                if let Effect::GrpcCall(c) = &e {
                    if self.failed_roots.contains(&(vmi, c.root)) {
                        continue;
                    }
                }
                self.grpc_effect(vmi, &e);
            }
        }
        self.drain_grpc(http, trace);
    }
}
