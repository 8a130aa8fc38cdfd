//! Timers and queues: ticks fired as simulated time passes (between requests, or while a
//! paused request waits for a timer to resume it) and `proxy_on_queue_ready` events.

use super::super::host::Effect;
use super::super::trace::TraceEvent;
use super::state::Run;
use super::{run_async, FilterManager, HttpMock};
use std::borrow::Cow;
use std::collections::VecDeque;

use super::super::budget::Scope;
use super::super::limits::max_ticks_per_advance;
/// How long a paused request may wait for a root's timer to resume it: Envoy's default
/// `stream_idle_timeout` (5 minutes). Past it the request is reported as stalled.
const MAX_WAIT_NS: u64 = 300_000_000_000;
/// Ticks fired while one request waits (a 1 ms timer would otherwise run 300 000 times).
const MAX_TICKS_PER_WAIT: usize = 1_000;
/// Queue events delivered at most in one drain between requests.
const MAX_QUEUE_EVENTS: usize = 100_000;

impl FilterManager {
    /// Moves the simulated clock forward, firing due ticks (and the queue events and
    /// callouts they cause) in time order.
    pub fn advance(&mut self, ns: u64, mocks: &[HttpMock], trace: &mut Vec<TraceEvent>) {
        let target = self.shared.borrow().clock.monotonic_ns.saturating_add(ns);
        // One fuel budget for everything this advance fires (`budget::Scope::Advance`).
        let budget = self.shared.borrow().budget.clone();
        budget.begin(Scope::Advance);
        let mut fired = 0;
        loop {
            let due = self.shared.borrow().clock.next_due(target);
            // Callout answers and timeouts due first (or at the same instant) come first.
            if let Some(g) = self.next_callout_due(target) {
                if due.is_none_or(|(_, at)| g <= at) {
                    // A module that opens a new short-deadline call in every close would
                    // otherwise keep one advance busy for as long as its fuel lasts.
                    fired += 1;
                    if fired > max_ticks_per_advance() {
                        trace.push(TraceEvent {
                            callback: "callout answers and timeouts".into(),
                            result: format!(
                                "stopped after {} timer and callout events in one advance",
                                max_ticks_per_advance()
                            )
                            .into(),
                            ..Default::default()
                        });
                        break;
                    }
                    self.shared.borrow_mut().clock.set_monotonic(g);
                    self.fire_grpc_due(g);
                    let http = self.take_http_due(g);
                    self.drain_grpc(mocks, trace);
                    for r in http {
                        let vmi = r.vmi;
                        let more = self.deliver_call(r, trace);
                        let at = trace.len() - 1;
                        self.tick_effects(vmi, more, mocks, trace, at);
                        self.drain_grpc(mocks, trace);
                    }
                    self.drain_queue_events(trace);
                    continue;
                }
            }
            let Some(((vmi, root), at)) = due else { break };
            // A failed VM runs no more callbacks (as for new streams, which fail closed): its
            // timers stop instead of repeating the same failure up to 10,000 times.
            if self.vm(vmi).is_none_or(|vm| vm.failed.is_some()) {
                self.shared
                    .borrow_mut()
                    .clock
                    .ticks
                    .retain(|(v, _), _| *v != vmi);
                continue;
            }
            fired += 1;
            if fired > max_ticks_per_advance() {
                trace.push(TraceEvent {
                    filter: self.label_of(vmi, root),
                    callback: "proxy_on_tick".into(),
                    result: format!(
                        "stopped after {} ticks (tick period too short for this advance)",
                        max_ticks_per_advance()
                    )
                    .into(),
                    ..Default::default()
                });
                break;
            }
            let (ev, effects) = self.tick(vmi, root, at, "proxy_on_tick".into());
            trace.push(ev);
            let idx = trace.len() - 1;
            self.tick_effects(vmi, effects, mocks, trace, idx);
            self.drain_grpc(mocks, trace);
            self.drain_queue_events(trace);
        }
        budget.end();
        self.shared.borrow_mut().clock.set_monotonic(target);
    }

    /// Effects of a callback outside a request: HTTP calls are answered from `mocks` (and
    /// listed on the event at `idx`), gRPC calls go to the scenario's `grpc_calls`; the calls
    /// that answers make in turn are handled the same way, so they count in the step too.
    pub(super) fn tick_effects(
        &mut self,
        vmi: usize,
        effects: Vec<Effect>,
        mocks: &[HttpMock],
        trace: &mut Vec<TraceEvent>,
        idx: usize,
    ) {
        let mut work = VecDeque::from([(effects, idx)]);
        for _ in 0..MAX_QUEUE_EVENTS {
            let Some((effects, idx)) = work.pop_front() else {
                return;
            };
            let mut calls = Vec::new();
            for e in effects {
                match e {
                    Effect::HttpCall(c) => calls.push(c),
                    e => {
                        self.grpc_effect(vmi, &e);
                    }
                }
            }
            if let Some(ev) = trace.get_mut(idx) {
                ev.calls.extend(calls.iter().cloned());
            }
            for c in calls {
                if let Some(r) = self.http_called(vmi, c, mocks) {
                    let more = self.deliver_call(r, trace);
                    work.push_back((more, trace.len() - 1));
                }
            }
        }
    }

    /// The next gRPC or HTTP callout answer or timeout due at or before `until`.
    pub(super) fn next_callout_due(&self, until: u64) -> Option<u64> {
        match (self.next_grpc_due(until), self.next_http_due(until)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sets the clock to `at`, re-arms the root's timer and runs its `proxy_on_tick`.
    pub(super) fn tick(
        &mut self,
        vmi: usize,
        root: u32,
        at: u64,
        callback: Cow<'static, str>,
    ) -> (TraceEvent, Vec<Effect>) {
        {
            let mut sh = self.shared.borrow_mut();
            sh.clock.set_monotonic(at);
            if let Some(t) = sh.clock.ticks.get_mut(&(vmi, root)) {
                t.1 = at.saturating_add(t.0.max(1));
            }
        }
        let mut ev = TraceEvent {
            filter: self.label_of(vmi, root),
            callback,
            ..Default::default()
        };
        let effects = match self.vm(vmi) {
            Some(vm) => {
                let f = vm.ex.on_tick;
                run_async(vm, &mut ev, f, root as i32, root, "proxy_on_tick")
            }
            None => Vec::new(),
        };
        (ev, effects)
    }

    fn drain_queue_events(&mut self, trace: &mut Vec<TraceEvent>) {
        for _ in 0..MAX_QUEUE_EVENTS {
            let ev = self.shared.borrow_mut().ready.pop_front();
            let Some((vmi, root, token)) = ev else { return };
            if let Some((t, _)) = self.queue_ready(vmi, root, token) {
                trace.push(t);
            }
        }
    }

    /// Runs `proxy_on_queue_ready` on VM `vmi`'s root (None when the VM is gone).
    fn queue_ready(
        &mut self,
        vmi: usize,
        root: u32,
        token: u32,
    ) -> Option<(TraceEvent, Vec<Effect>)> {
        if self.failed_roots.contains(&(vmi, root)) {
            return None;
        }
        let label = self.label_of(vmi, root);
        let vm = self.vm(vmi)?;
        let mut t = TraceEvent {
            filter: label,
            callback: format!("proxy_on_queue_ready(token {token})").into(),
            ..Default::default()
        };
        let f = vm.ex.on_queue_ready;
        let params = (root as i32, token as i32);
        let effects = run_async(vm, &mut t, f, params, root, "proxy_on_queue_ready");
        Some((t, effects))
    }

    /// A queue event during a request: its actions apply to the request.
    pub(super) fn deliver_queue_ready(
        &mut self,
        run: &mut Run<'_>,
        vmi: usize,
        root: u32,
        token: u32,
    ) {
        if let Some((t, effects)) = self.queue_ready(vmi, root, token) {
            let idx = run.report.trace.len();
            run.report.trace.push(t);
            self.apply_effects(run, vmi, effects, idx);
        }
    }

    /// A paused request with nothing else to run waits in real Envoy until a root's timer
    /// resumes it (e.g. a plugin that postpones requests and continues them in `on_tick`):
    /// let simulated time pass to the next due tick, within Envoy's stream idle timeout.
    pub(super) fn tick_while_waiting(&mut self, run: &mut Run<'_>) -> bool {
        if run.finished() || run.waited_ticks >= MAX_TICKS_PER_WAIT {
            return false;
        }
        let (now, until, due) = {
            let sh = self.shared.borrow();
            let now = sh.clock.monotonic_ns;
            let until = now.saturating_add(MAX_WAIT_NS - run.waited_ns);
            (now, until, sh.clock.next_due(until))
        };
        // A callout answer or timeout due before the next tick ends the wait instead (e.g. a
        // request paused until a delayed authorization answer arrives).
        if let Some(g) = self.next_callout_due(until) {
            if due.is_none_or(|(_, at)| g <= at) {
                run.waited_ticks += 1;
                run.waited_ns += g.saturating_sub(now);
                self.shared.borrow_mut().clock.set_monotonic(g);
                self.fire_grpc_due(g);
                let http = self.take_http_due(g);
                run.pending_calls.extend(http);
                return true;
            }
        }
        let Some(((vmi, root), at)) = due else {
            return false;
        };
        run.waited_ticks += 1;
        run.waited_ns += at.saturating_sub(now);
        let waited_ms = run.waited_ns / 1_000_000;
        let callback = format!("proxy_on_tick (request waiting, +{waited_ms} ms)").into();
        let (ev, effects) = self.tick(vmi, root, at, callback);
        let failed = ev.failure.is_some();
        let idx = run.report.trace.len();
        run.report.trace.push(ev);
        self.apply_effects(run, vmi, effects, idx);
        if failed && !run.client_done() {
            // The VM is gone: the request it holds fails like any other trap.
            if self.vm_in_stream(run, vmi) {
                self.fail_stream(run);
            }
        }
        true
    }
}
