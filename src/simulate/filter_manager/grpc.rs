//! gRPC callouts answered from the scenario's `grpc_calls`, in Envoy's callback order
//! (`Context::GrpcCallClientHandler` / `GrpcStreamClientHandler` in Envoy's
//! `source/extensions/common/wasm/context.h`, `Context::onGrpcReceiveWrapper` and
//! `onGrpcCloseWrapper` in `context.cc`):
//! - a unary call gets `on_grpc_receive` with its message on OK, else only `on_grpc_close`;
//! - a stream gets `on_grpc_receive_initial_metadata`, `on_grpc_receive` per message, then
//!   `on_grpc_receive_trailing_metadata` and `on_grpc_close` when the server closes.
//!
//! A call no entry matches is closed with 14 UNAVAILABLE (as when the cluster is unreachable)
//! and reported as unmatched.

use super::super::headers::HeaderMap;
use super::super::host::{Effect, GrpcCall, GrpcIncoming};
use super::super::trace::{GrpcCallRecord, TraceEvent};
use super::state::Run;
use super::{run_async, FilterManager, GrpcMock};
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
    /// Status code and message; `unmatched`: no `grpc_calls` entry answered the call.
    Close(u32, String, bool),
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
        let push = |q: &mut VecDeque<Delivery>, event| {
            q.push_back(Delivery {
                vmi,
                root,
                token,
                event,
            })
        };
        let Some(m) = found else {
            let text = "no grpc_calls entry matched this call".to_string();
            push(&mut self.grpc.pending, Event::Close(14, text, true));
            return;
        };
        let q = &mut self.grpc.pending;
        if !call.stream {
            // Envoy's `Grpc::AsyncRequestImpl`: OK with a message → onSuccess (the last
            // message received); OK without one → onFailure(INTERNAL); else onFailure.
            match (m.status, m.messages.last()) {
                (0, Some(msg)) => push(q, Event::Message(msg.clone())),
                (0, None) => push(q, Event::Close(13, String::new(), false)),
                (code, _) => push(q, Event::Close(code, m.status_message.clone(), false)),
            }
            return;
        }
        // A trailers-only answer (no headers, no messages) skips the initial metadata.
        let trailers_only =
            m.server_closes && m.messages.is_empty() && m.initial_metadata.is_empty();
        if !trailers_only {
            push(q, Event::InitialMetadata(map(&m.initial_metadata)));
        }
        for msg in &m.messages {
            push(q, Event::Message(msg.clone()));
        }
        if m.server_closes {
            self.push_server_close(vmi, root, token, &m);
        } else {
            self.grpc.held.insert((vmi, token), (root, m));
        }
    }

    fn push_server_close(&mut self, vmi: usize, root: u32, token: u32, m: &GrpcMock) {
        for event in [
            Event::TrailingMetadata(map(&m.trailing_metadata)),
            Event::Close(m.status, m.status_message.clone(), false),
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
            Event::Close(code, text, unmatched) => {
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
                if unmatched {
                    ev.result = "no grpc_calls entry matched: closed with 14 UNAVAILABLE".into();
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
    fn next_grpc_burst(&mut self) -> Option<Vec<(usize, TraceEvent, Vec<Effect>)>> {
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
