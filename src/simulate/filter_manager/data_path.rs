//! The data path: headers, body and trailers callbacks all go through one shared step
//! (`invoke_stream`: invoke → record logs and edits → take effects → trap),
//! then settle their status (`settle`: trace, state transition, effects).

use super::super::headers::HeaderMap;
use super::super::host::{Access, Effect, HttpState};
use super::super::trace::{diff_body, diff_headers, TraceEvent};
use super::super::vm::{Failure, HeadersFn, Vm};
use super::state::{At, Body, Dir, DirState, Frame, Run, Upstream};
use super::status::{DataStatus, HeadersStatus, TrailersStatus};
use super::FilterManager;
use std::borrow::Cow;

/// What a stream callback that did not trap left for its caller to settle.
pub(super) struct Returned {
    code: i32,
    /// The callback sent a local reply (it counts as a stop).
    local: bool,
    ev: TraceEvent,
    effects: Vec<Effect>,
}

fn headers(st: &HttpState, dir: Dir) -> &HeaderMap {
    match dir {
        Dir::Dec => &st.req_headers,
        Dir::Enc => &st.resp_headers,
    }
}

fn trailers(st: &HttpState, dir: Dir) -> &HeaderMap {
    match dir {
        Dir::Dec => &st.req_trailers,
        Dir::Enc => &st.resp_trailers,
    }
}

fn body_mut(st: &mut HttpState, dir: Dir) -> &mut Vec<u8> {
    match dir {
        Dir::Dec => &mut st.req_body,
        Dir::Enc => &mut st.resp_body,
    }
}

/// Changes what a context may touch (Envoy's per-map pointers).
fn access(vm: &mut Vm, ctx: u32, f: impl FnOnce(&mut Access)) {
    if let Some(c) = vm.store.data_mut().contexts.get_mut(&ctx) {
        f(&mut c.access);
    }
}

impl FilterManager {
    /// The shared step of every stream callback: runs `call` on the stage's VM, records an
    /// event with its logs and the edits `edits` finds, and takes the actions it asked for.
    /// A trap is recorded and fails the stream (None); otherwise the caller settles it.
    fn invoke_stream<T>(
        &mut self,
        run: &mut Run<'_>,
        at: At,
        callback: Cow<'static, str>,
        call: impl FnOnce(&mut Vm) -> Result<i32, Failure>,
        edits: impl FnOnce(&mut HttpState, &mut Vec<String>) -> T,
    ) -> Option<(T, Returned)> {
        let filter = self.stages[at.i].label.clone();
        let vm = self.vm(at.vmi).expect("ready");
        let r = call(vm);
        let mut ev = TraceEvent {
            filter,
            callback,
            logs: vm.take_logs(),
            ..Default::default()
        };
        let edited = edits(&mut run.st.borrow_mut(), &mut ev.changes);
        let effects = std::mem::take(&mut vm.store.data_mut().effects);
        let local = effects
            .iter()
            .any(|e| matches!(e, Effect::LocalReply { .. }));
        match r {
            Ok(code) => Some((
                edited,
                Returned {
                    code,
                    local,
                    ev,
                    effects,
                },
            )),
            Err(fl) => {
                ev.result = "trap".into();
                ev.failure = Some(Box::new(fl));
                run.report.trace.push(ev);
                self.fail_stream(run);
                None
            }
        }
    }

    /// Records the callback's event with its status, moves the stream on (`then`), and
    /// applies the callback's actions afterwards, as Envoy defers them.
    fn settle(
        &mut self,
        run: &mut Run<'_>,
        at: At,
        ret: Returned,
        result: Cow<'static, str>,
        then: impl FnOnce(&mut Self, &mut Run<'_>),
    ) {
        let Returned {
            mut ev, effects, ..
        } = ret;
        ev.result = result;
        let idx = run.report.trace.len();
        run.report.trace.push(ev);
        then(self, run);
        self.apply_effects(run, at.vmi, effects, idx);
    }

    pub(super) fn on_headers(&mut self, run: &mut Run<'_>, at: At, eos: bool) {
        let (slot, resp, ctx) = (
            usize::from(at.dir.is_response()),
            at.dir.is_response(),
            at.ctx,
        );
        let n = {
            let mut st = run.st.borrow_mut();
            // The host snapshots the map on the callback's first write (for the trace diff).
            st.headers_before_write[slot] = None;
            headers(&st, at.dir).len() as i32
        };
        self.set_access(at.vmi, ctx, |a| *a.headers_mut(resp) = true);
        let name = match at.dir {
            Dir::Dec => "proxy_on_request_headers",
            Dir::Enc => "proxy_on_response_headers",
        };
        let call = |vm: &mut Vm| {
            let f = if resp {
                vm.ex.on_response_headers
            } else {
                vm.ex.on_request_headers
            };
            match f {
                None => Ok(0),
                Some(HeadersFn::V1(f)) => vm.invoke(f, (ctx as i32, n), ctx, name),
                Some(HeadersFn::V2(f)) => vm.invoke(f, (ctx as i32, n, eos as i32), ctx, name),
            }
        };
        let edits = |st: &mut HttpState, changes: &mut Vec<String>| {
            if let Some(before) = st.headers_before_write[slot].take() {
                diff_headers("", &before, headers(st, at.dir), changes);
            }
        };
        let Some(((), ret)) = self.invoke_stream(run, at, name.into(), call, edits) else {
            return;
        };
        let status = HeadersStatus::from_code(ret.code, ret.local);
        self.settle(run, at, ret, status.label(), |fm, run| {
            if status.stops() {
                *run.ds(at.dir, at.i) = DirState::HeadersStopped {
                    eos,
                    held: None,
                    held_trailers: false,
                };
            } else {
                fm.set_access(at.vmi, ctx, |a| *a.headers_mut(resp) = false);
                fm.push_next(run, at.dir, Some(at.i), Frame::Headers { eos });
            }
        });
    }

    pub(super) fn on_data(&mut self, run: &mut Run<'_>, at: At, chunk: Vec<u8>, eos: bool) {
        let (slot, resp, ctx) = (
            usize::from(at.dir.is_response()),
            at.dir.is_response(),
            at.ctx,
        );
        // While buffering, Envoy before PR #36411 (every mesh profile) shows the callback the
        // data buffered so far and appends the current chunk after it returns; current Envoy
        // adds the chunk first, so `body_size` and the buffer include it.
        let chunk_first = self.profile.body_chunk_before_callback();
        let (visible, chunk, was_buffering) = match run.ds(at.dir, at.i).buffered() {
            Some(b) if chunk_first => {
                let mut all = Vec::with_capacity(b.bytes.len() + chunk.len());
                all.extend_from_slice(&b.bytes);
                all.extend(chunk);
                (all, Vec::new(), true)
            }
            Some(b) => (b.bytes.clone(), chunk, true),
            // Not buffering: the chunk itself is what the callback sees.
            None => (chunk, Vec::new(), false),
        };
        let visible_len = visible.len();
        {
            // The callback sees `visible`; the host keeps a copy only if the module edits it.
            let mut st = run.st.borrow_mut();
            st.body_before_write[slot] = None;
            *body_mut(&mut st, at.dir) = visible;
        }
        self.set_access(at.vmi, ctx, |a| *a.body_mut(resp) = true);
        let name = match at.dir {
            Dir::Dec => "proxy_on_request_body",
            Dir::Enc => "proxy_on_response_body",
        };
        let call = |vm: &mut Vm| {
            let f = if resp {
                vm.ex.on_response_body
            } else {
                vm.ex.on_request_body
            };
            let params = (ctx as i32, visible_len as i32, eos as i32);
            let r = f.map_or(Ok(0), |f| vm.invoke(f, params, ctx, name));
            access(vm, ctx, |a| *a.body_mut(resp) = false);
            r
        };
        let edits = |st: &mut HttpState, changes: &mut Vec<String>| {
            // Nothing reads the buffer once the callback returned (access is withdrawn).
            let before = st.body_before_write[slot].take();
            let edited = std::mem::take(body_mut(st, at.dir));
            if let Some(before) = before {
                diff_body("", &before, &edited, changes);
            }
            edited
        };
        // "{name}({visible_len} bytes, end_of_stream={eos})", built without `format!`: one per
        // body callback.
        let mut callback = String::with_capacity(name.len() + 40);
        callback.push_str(name);
        callback.push('(');
        callback.push_str(itoa::Buffer::new().format(visible_len));
        callback.push_str(" bytes, end_of_stream=");
        callback.push_str(if eos { "true)" } else { "false)" });
        let callback = callback.into();
        let Some((edited, ret)) = self.invoke_stream(run, at, callback, call, edits) else {
            return;
        };
        let status = DataStatus::from_code(ret.code, ret.local);
        let (buffered, current) = if was_buffering {
            (Some(edited), chunk)
        } else {
            (None, edited)
        };
        self.settle(run, at, ret, status.label(), |fm, run| {
            fm.after_data(run, at, status, buffered, current, eos)
        });
    }

    /// Passes on, buffers or keeps the body after a data callback.
    fn after_data(
        &mut self,
        run: &mut Run<'_>,
        at: At,
        status: DataStatus,
        buffered: Option<Vec<u8>>,
        current: Vec<u8>,
        eos: bool,
    ) {
        // The buffer so far followed by the current chunk (moved, not copied, when alone).
        let joined = |buffered: Option<Vec<u8>>| match buffered {
            Some(mut b) => {
                b.extend(current);
                b
            }
            None => current,
        };
        let ds = run.ds(at.dir, at.i);
        match status {
            DataStatus::Continue | DataStatus::Unknown(_) => {
                ds.set_buffered(None);
                let bytes = joined(buffered);
                self.push_next(run, at.dir, Some(at.i), Frame::Data { bytes, eos });
            }
            DataStatus::StopIterationAndBuffer | DataStatus::StopIterationAndWatermark => {
                let bytes = joined(buffered);
                ds.set_buffered(Some(Body { bytes, eos }));
            }
            DataStatus::StopIterationNoBuffer => {
                ds.set_buffered(buffered.map(|bytes| Body { bytes, eos }));
            }
        }
    }

    pub(super) fn on_trailers(&mut self, run: &mut Run<'_>, at: At) {
        let (resp, ctx) = (at.dir.is_response(), at.ctx);
        let before = trailers(&run.st.borrow(), at.dir).clone();
        self.set_access(at.vmi, ctx, |a| *a.trailers_mut(resp) = true);
        let name = match at.dir {
            Dir::Dec => "proxy_on_request_trailers",
            Dir::Enc => "proxy_on_response_trailers",
        };
        let n = before.len() as i32;
        let call = |vm: &mut Vm| {
            let f = if resp {
                vm.ex.on_response_trailers
            } else {
                vm.ex.on_request_trailers
            };
            f.map_or(Ok(0), |f| vm.invoke(f, (ctx as i32, n), ctx, name))
        };
        let edits = |st: &mut HttpState, changes: &mut Vec<String>| {
            diff_headers("trailer ", &before, trailers(st, at.dir), changes);
        };
        let Some(((), ret)) = self.invoke_stream(run, at, name.into(), call, edits) else {
            return;
        };
        let status = TrailersStatus::from_code(ret.code, ret.local);
        self.settle(run, at, ret, status.label(), |fm, run| match status {
            TrailersStatus::StopIteration => run.ds(at.dir, at.i).stop_trailers(),
            TrailersStatus::Continue => {
                fm.set_access(at.vmi, ctx, |a| *a.trailers_mut(resp) = false);
                if let Some(b) = run.ds(at.dir, at.i).take_buffered() {
                    let data = Frame::Data {
                        bytes: b.bytes,
                        eos: false,
                    };
                    fm.push_next(run, at.dir, Some(at.i), data);
                }
                fm.push_next(run, at.dir, Some(at.i), Frame::Trailers);
            }
        });
    }

    /// Applies what the module asked for during a callback (deferred, as Envoy does).
    pub(super) fn apply_effects(
        &mut self,
        run: &mut Run<'_>,
        vmi: usize,
        effects: Vec<Effect>,
        trace_idx: usize,
    ) {
        for e in effects {
            // The stage whose stream context `ctx` is, in this VM.
            // Context ids are per VM: two VMs both number their first stream context 2, so
            // the lane must match on the id and the VM together.
            let stage_of = |run: &Run<'_>, ctx: u32| {
                run.lanes
                    .ctx
                    .iter()
                    .enumerate()
                    .position(|(i, c)| *c == Some(ctx) && self.stages[i].vm == Some(vmi))
            };
            match e {
                Effect::HttpCall(call) => {
                    if let Some(ev) = run.report.trace.get_mut(trace_idx) {
                        ev.calls.push(call.clone());
                    }
                    run.report.http_calls.push(call.clone());
                    if let Some(r) = self.http_called(vmi, call, run.mocks) {
                        run.pending_calls.push_back(r);
                    }
                }
                e @ (Effect::GrpcCall(_) | Effect::GrpcSend { .. } | Effect::GrpcClose { .. }) => {
                    self.grpc_effect(vmi, &e);
                }
                Effect::Continue { ctx, response } => {
                    if let Some(i) = stage_of(run, ctx) {
                        let dir = if response { Dir::Enc } else { Dir::Dec };
                        self.resume(run, At { i, vmi, ctx, dir });
                    }
                }
                Effect::Close { ctx, .. } => {
                    if stage_of(run, ctx).is_some() && !run.client_done() {
                        run.reset =
                            Some("stream reset by proxy_close_stream (wasm_close_stream)".into());
                    }
                }
                Effect::LocalReply { ctx, reply } => {
                    if let Some(ev) = run.report.trace.get_mut(trace_idx) {
                        ev.local_reply = Some(Box::new(reply.clone()));
                    }
                    if stage_of(run, ctx).is_some() {
                        self.local_reply(run, &reply);
                    }
                }
                // Network effects from an HTTP context: Envoy has no network callbacks there.
                Effect::Done { .. } | Effect::NetContinue { .. } | Effect::NetClose { .. } => {}
            }
        }
    }

    /// `continue_request` / `continue_response`: what the filter stopped goes on.
    fn resume(&mut self, run: &mut Run<'_>, at: At) {
        let bypassed = run.upstream_state == Upstream::Bypassed;
        if run.finished() || (at.dir == Dir::Dec && bypassed) {
            return;
        }
        // Envoy drops its pointers to this direction's maps and buffers on continue.
        let resp = at.dir.is_response();
        self.set_access(at.vmi, at.ctx, |a| {
            *a.headers_mut(resp) = false;
            *a.body_mut(resp) = false;
            *a.trailers_mut(resp) = false;
        });
        match std::mem::take(run.ds(at.dir, at.i)) {
            DirState::HeadersStopped {
                eos,
                held,
                held_trailers,
            } => {
                // Held frames go back to this same filter (Envoy iterates from the current filter).
                let q = run.queue(at.dir, at.i);
                if held_trailers {
                    q.push_front(Frame::Trailers);
                }
                if let Some(b) = held {
                    q.push_front(Frame::Data {
                        bytes: b.bytes,
                        eos: b.eos,
                    });
                }
                self.push_next(run, at.dir, Some(at.i), Frame::Headers { eos });
            }
            DirState::Open {
                buffered,
                trailers_stopped,
            } => {
                if let Some(b) = buffered {
                    let eos = b.eos && !trailers_stopped;
                    self.push_next(
                        run,
                        at.dir,
                        Some(at.i),
                        Frame::Data {
                            bytes: b.bytes,
                            eos,
                        },
                    );
                }
                if trailers_stopped {
                    self.push_next(run, at.dir, Some(at.i), Frame::Trailers);
                }
            }
        }
    }
}
