//! Local replies (`send_local_response`, failed filters): through the encoder side when the
//! response has not started, replacing it when encoding started, a reset once headers left.

use super::super::headers::HeaderMap;
use super::super::host::LocalReply;
use super::super::trace::ClientResponse;
use super::drive::response_headers;
use super::state::{ClientProgress, Run, Upstream};
use super::{FilterManager, Response};

impl FilterManager {
    pub(super) fn local_reply(&mut self, run: &mut Run<'_>, reply: &LocalReply) {
        if run.finished() {
            return;
        }
        if run.client_headers_sent() {
            run.reset = Some("local reply after the response started: stream reset".into());
            return;
        }
        let r = reply_response(reply);
        for q in run.lanes.dq.iter_mut() {
            q.clear();
        }
        run.downstream.clear();
        let details = if reply.details.is_empty() {
            "wasm_local_reply".to_string()
        } else {
            reply.details.clone()
        };
        if run.upstream_done() || run.client.is_some() {
            return replace_response(run, r, details);
        }
        run.upstream_state = Upstream::Bypassed;
        self.start_response(run, &r, &details);
    }

    /// A filter failed (trap, failed VM): 503 `wasm_fail_stream` or a reset, per proxy.
    pub(super) fn fail_stream(&mut self, run: &mut Run<'_>) {
        if self.profile.fail_with_local_reply() && !run.client_headers_sent() {
            let reply = LocalReply {
                status: 503,
                details: "wasm_fail_stream".into(),
                body: Vec::new(),
                headers: HeaderMap::new(),
                grpc_status: None,
            };
            self.local_reply(run, &reply);
        } else if !run.client_done() {
            run.reset = Some("stream reset: wasm_fail_stream".into());
        }
    }
}

/// The response a local reply sends: a text body gets its content type.
fn reply_response(reply: &LocalReply) -> Response {
    let mut r = Response {
        status: reply.status,
        headers: Vec::new(),
        body: reply.body.clone(),
        chunks: None,
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
    r
}

/// Encoding started: the reply replaces the response without re-entering filters.
fn replace_response(run: &mut Run<'_>, r: Response, details: String) {
    for q in run.lanes.eq.iter_mut() {
        q.clear();
    }
    let mut h = response_headers(&r);
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
    run.client_progress = ClientProgress::Done;
}
