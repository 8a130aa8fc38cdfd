//! The scheduler: which frame runs next, where a frame goes after a filter, the two sinks
//! (upstream, client), and stream context creation.

use super::super::headers::HeaderMap;
use super::super::trace::{ClientResponse, Message, TraceEvent};
use super::state::{At, ClientProgress, Dir, Frame, Run, Upstream};
use super::{FilterManager, Response, MAX_STEPS_PER_REQUEST};

impl FilterManager {
    pub(super) fn drive(&mut self, run: &mut Run<'_>) {
        for _ in 0..MAX_STEPS_PER_REQUEST {
            if run.finished() {
                // Late callouts still get their answers (owned by the root context).
                if !self.deliver_pending(run) {
                    return;
                }
                continue;
            }
            if let Some((dir, i)) = self.next_runnable(run) {
                let frame = run.queue(dir, i).pop_front().expect("non-empty");
                self.process(run, dir, i, frame);
                continue;
            }
            if run.upstream_state != Upstream::Bypassed {
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

    /// Depth first: the deepest runnable frame, encoder side first.
    fn next_runnable(&self, run: &Run<'_>) -> Option<(Dir, usize)> {
        let lanes = &run.lanes;
        if let Some(&i) = lanes
            .enc_order
            .iter()
            .rev()
            .find(|&&i| !lanes.eq[i].is_empty())
        {
            return Some((Dir::Enc, i));
        }
        (0..self.stages.len())
            .rev()
            .find(|&i| !lanes.dq[i].is_empty())
            .map(|i| (Dir::Dec, i))
    }

    /// Delivers one pending async event; false when there is none.
    fn deliver_pending(&mut self, run: &mut Run<'_>) -> bool {
        if let Some(r) = run.pending_calls.pop_front() {
            self.deliver_http_response(run, r);
            return true;
        }
        if self.deliver_grpc(run) {
            return true;
        }
        let ev = self.shared.borrow_mut().ready.pop_front();
        if let Some((vmi, root, token)) = ev {
            self.deliver_queue_ready(run, vmi, root, token);
            return true;
        }
        self.tick_while_waiting(run)
    }

    /// Pushes a frame to the stage after `from` (None = the first) in direction `dir`, or to
    /// the sink (upstream / client).
    pub(super) fn push_next(&mut self, run: &mut Run<'_>, dir: Dir, from: Option<usize>, f: Frame) {
        match dir {
            Dir::Dec => {
                let next = match from {
                    None => 0,
                    Some(i) if self.stages[i].builtin_router => self.stages.len(),
                    Some(i) => i + 1,
                };
                if next < self.stages.len() {
                    run.lanes.dq[next].push_back(f);
                } else {
                    self.upstream_frame(run, f);
                }
            }
            Dir::Enc => {
                let order = &run.lanes.enc_order;
                let pos = match from {
                    None => 0,
                    Some(i) => order
                        .iter()
                        .position(|&x| x == i)
                        .map(|p| p + 1)
                        .unwrap_or(usize::MAX),
                };
                match order.get(pos) {
                    Some(&i) => run.lanes.eq[i].push_back(f),
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
        if eos && !run.upstream_done() {
            run.upstream_state = Upstream::Reached;
            run.st.borrow_mut().upstream_reached = true;
            // The router: the upstream answers once the whole request arrived.
            let r = run.upstream_resp;
            self.start_response(run, r, "via_upstream");
        }
    }

    /// Sends a response (upstream's or a local reply) into the encoder side.
    pub(super) fn start_response(&mut self, run: &mut Run<'_>, r: &Response, details: &str) {
        let mut h = response_headers(r);
        // A body sent in chunks goes without a length (chunked transfer encoding).
        if !r.body.is_empty() && r.chunks.is_none() && h.get("content-length").is_none() {
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
        // The data frames: the chunks as given (empty ones are empty frames; the last ends the
        // stream unless trailers follow), else the body in one frame.
        let frames: Vec<Vec<u8>> = match &r.chunks {
            Some(c) => c.clone(),
            None if r.body.is_empty() => Vec::new(),
            None => vec![r.body.clone()],
        };
        let has_trailers = !r.trailers.is_empty();
        run.client = Some(ClientResponse {
            details: details.to_string(),
            ..Default::default()
        });
        let eos = frames.is_empty() && !has_trailers;
        self.push_next(run, Dir::Enc, None, Frame::Headers { eos });
        let n = frames.len();
        for (k, bytes) in frames.into_iter().enumerate() {
            let eos = k + 1 == n && !has_trailers;
            self.push_next(run, Dir::Enc, None, Frame::Data { bytes, eos });
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
                run.client_progress = ClientProgress::HeadersSent;
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
            run.client_progress = ClientProgress::Done;
        }
    }

    /// One frame at stage `i`: built-ins pass it on; a Wasm filter gets its context created,
    /// holds the frame while its headers are stopped, or runs the callback.
    fn process(&mut self, run: &mut Run<'_>, dir: Dir, i: usize, frame: Frame) {
        let Some(vmi) = self.stages[i].vm else {
            return self.builtin(run, dir, i, frame);
        };
        if run.lanes.ctx[i].is_none() {
            // Context creation / skipping rules.
            let create = match (dir, &frame) {
                (Dir::Dec, Frame::Headers { .. }) => true,
                (Dir::Enc, Frame::Headers { .. }) => self.profile.response_without_request(),
                _ => false,
            };
            if !create {
                return self.push_next(run, dir, Some(i), frame);
            }
            if self.stages[i].fail_open && self.vm_unusable(i, vmi) {
                run.report.trace.push(TraceEvent {
                    filter: self.stages[i].label.clone(),
                    callback: "create filter".into(),
                    result: "plugin failed; fail open: the stream goes on without it".into(),
                    ..Default::default()
                });
                return self.push_next(run, dir, Some(i), frame);
            }
            if !self.create_ctx(run, i, vmi) {
                return;
            }
        }
        let Some(frame) = run.ds(dir, i).hold(frame) else {
            return;
        };
        let ctx = run.lanes.ctx[i].expect("created");
        let at = At { i, vmi, ctx, dir };
        match frame {
            Frame::Headers { eos } => self.on_headers(run, at, eos),
            Frame::Data { bytes, eos } => self.on_data(run, at, bytes, eos),
            Frame::Trailers => self.on_trailers(run, at),
        }
    }

    /// Built-in filters pass everything through; headers show up in the trace. The one
    /// exception is the deny-all RBAC filter istio-agent puts in place of a WasmPlugin whose
    /// module it cannot fetch (FAIL_CLOSE, Istio 1.25+): it answers every request with 403.
    fn builtin(&mut self, run: &mut Run<'_>, dir: Dir, i: usize, frame: Frame) {
        if dir == Dir::Dec && matches!(frame, Frame::Headers { .. }) && self.stages[i].deny_all {
            run.report.trace.push(TraceEvent {
                filter: self.stages[i].label.clone(),
                callback: "decodeHeaders".into(),
                result: "403 (RBAC: access denied)".into(),
                ..Default::default()
            });
            let reply = crate::simulate::host::LocalReply {
                status: 403,
                details: "rbac_access_denied_matched_policy[wasm-default-deny]".into(),
                body: b"RBAC: access denied".to_vec(),
                headers: Default::default(),
                grpc_status: None,
            };
            return self.local_reply(run, &reply);
        }
        if let Frame::Headers { .. } = frame {
            let cb = match dir {
                Dir::Dec => "decodeHeaders",
                Dir::Enc => "encodeHeaders",
            };
            run.report.trace.push(TraceEvent {
                filter: self.stages[i].label.clone(),
                callback: cb.into(),
                result: "Continue".into(),
                ..Default::default()
            });
        }
        self.push_next(run, dir, Some(i), frame);
    }

    /// Whether stage `i`'s plugin cannot take streams: its start failed, its VM could not be
    /// loaded, or the VM trapped earlier.
    fn vm_unusable(&mut self, i: usize, vmi: usize) -> bool {
        self.failed_roots.contains(&(vmi, self.stages[i].root))
            || self.vm(vmi).is_none_or(|vm| vm.failed.is_some())
    }

    /// Creates stage `i`'s stream context; false (stream failed) when the VM cannot.
    fn create_ctx(&mut self, run: &mut Run<'_>, i: usize, vmi: usize) -> bool {
        let label = self.stages[i].label.clone();
        let root = self.stages[i].root;
        let st = run.st.clone();
        let dead = self.failed_roots.contains(&(vmi, root));
        let (result, failure) = match self.vm(vmi) {
            Some(_) if dead => ("plugin failed to start; failing closed", None),
            // Failed plugin: fail closed.
            None => ("plugin failed to start; failing closed", None),
            Some(vm) if vm.failed.is_some() => {
                ("VM failed earlier; failing closed", vm.failed.clone())
            }
            Some(vm) => {
                let ctx = vm.new_context(root, Some(st));
                run.lanes.ctx[i] = Some(ctx);
                let Some(f) = vm.ex.on_context_create else {
                    return true;
                };
                let params = (ctx as i32, root as i32);
                let Err(fl) = vm.invoke(f, params, ctx, "proxy_on_context_create") else {
                    return true;
                };
                let logs = vm.take_logs();
                run.report.trace.push(TraceEvent {
                    filter: label,
                    callback: "proxy_on_context_create".into(),
                    result: "trap".into(),
                    logs,
                    failure: Some(Box::new(fl)),
                    ..Default::default()
                });
                self.fail_stream(run);
                return false;
            }
        };
        run.report.trace.push(TraceEvent {
            filter: label,
            callback: "create filter".into(),
            result: result.into(),
            failure: failure.map(Box::new),
            ..Default::default()
        });
        self.fail_stream(run);
        false
    }
}

/// The label of the deny-all stand-in for an unfetchable WasmPlugin module (see
/// `simulate::from_mesh`).
pub const DENY_ALL: &str = "wasm-default-deny";

/// `:status` then the response's headers.
pub(super) fn response_headers(r: &Response) -> HeaderMap {
    // Room for the length and a header or two the filters add, so the map is allocated once.
    let mut h = HeaderMap::with_capacity(r.headers.len() + 3);
    h.add(":status", itoa::Buffer::new().format(r.status));
    for (k, v) in &r.headers {
        h.add(k, v);
    }
    h
}
