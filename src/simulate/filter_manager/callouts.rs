//! Callouts: HTTP calls answered from the scenario's mocks (cluster glob + path), and their
//! responses delivered to the root context that made them (gRPC: `grpc.rs`).

use super::super::headers::HeaderMap;
use super::super::host::{properties_url_path, CalloutResponse, Effect, HttpCall};
use super::super::trace::TraceEvent;
use super::super::vm::Vm;
use super::drive::response_headers;
use super::state::Run;
use super::{run_async, FilterManager, GrpcDelay, HttpMock, Response};
use globset::{GlobBuilder, GlobMatcher};
use std::collections::HashMap;

/// Mock cluster patterns: `*` matches any run of characters (`|`, `/` and `.` included);
/// every other character is literal. Compiled once per distinct pattern.
#[derive(Default)]
pub(crate) struct ClusterPatterns {
    compiled: HashMap<String, Option<GlobMatcher>>,
}

impl ClusterPatterns {
    pub(crate) fn is_match(&mut self, pattern: &str, cluster: &str) -> bool {
        if !pattern.contains('*') {
            return pattern == cluster; // the common case needs no matcher
        }
        if !self.compiled.contains_key(pattern) {
            self.compiled.insert(pattern.to_string(), compile(pattern));
        }
        self.compiled[pattern]
            .as_ref()
            .is_some_and(|m| m.is_match(cluster))
    }
}

/// The glob for a cluster pattern: the literal pieces between `*` escaped (so `?`, `[`, `{`
/// and `\` stay literal) and runs of `*` folded into one (no `**` directory semantics).
fn compile(pattern: &str) -> Option<GlobMatcher> {
    let mut glob = String::with_capacity(pattern.len() + 8);
    for (k, piece) in pattern.split('*').enumerate() {
        if k > 0 && !glob.ends_with('*') {
            glob.push('*');
        }
        glob.push_str(&globset::escape(piece));
    }
    let built = GlobBuilder::new(&glob)
        .literal_separator(false)
        .backslash_escape(false)
        .build();
    built.ok().map(|g| g.compile_matcher())
}

/// An HTTP call's response ready for its root context, with a note for the trace (why the
/// host answered it: timeout).
pub(crate) struct Ready {
    pub vmi: usize,
    pub call: HttpCall,
    pub resp: CalloutResponse,
    pub note: Option<String>,
}

/// An HTTP call's response held until the clock reaches `due` (`delay:`, or its timeout).
pub(crate) struct TimedCall {
    due: u64,
    ready: Ready,
}

/// Envoy's router local reply to a request that has no healthy upstream (`Filter::
/// onNoHealthyHost`: 503 "no healthy upstream") or whose timeout passed (`Filter::
/// onResponseTimeout` → `onUpstreamTimeoutAbort`: 504 "upstream request timeout").
fn local_reply(status: u32, body: &str) -> Response {
    Response {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: body.as_bytes().to_vec(),
        chunks: None,
        trailers: Vec::new(),
    }
}

/// The scenario's entry for a callout (cluster glob and path).
fn find<'m>(
    patterns: &mut ClusterPatterns,
    mocks: &'m [HttpMock],
    call: &HttpCall,
) -> Option<&'m HttpMock> {
    let path = call.headers.get(":path").unwrap_or("");
    mocks.iter().find(|m| {
        patterns.is_match(&m.cluster, &call.cluster)
            && m.path
                .as_deref()
                .is_none_or(|p| p == path || p == properties_url_path(path))
    })
}

fn callout_response(r: &Response) -> CalloutResponse {
    let mut headers = response_headers(r);
    // A body answered in chunks is sent without a length (chunked), as by the upstream.
    if !r.body.is_empty() && r.chunks.is_none() && headers.get("content-length").is_none() {
        headers.add("content-length", &r.body.len().to_string());
    }
    CalloutResponse {
        headers,
        trailers: HeaderMap::from_pairs(r.trailers.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
        body: r.body.clone(),
    }
}

/// Delivers a callout's response to the root context that made the call (maps 6/7 and
/// buffer 4 hold the response only during this callback).
pub(super) fn call_response(
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

fn call_event(fm: &FilterManager, vmi: usize, call: &HttpCall) -> TraceEvent {
    let token = call.token;
    TraceEvent {
        filter: fm.label_of(vmi, call.root),
        callback: format!("proxy_on_http_call_response(token {token})").into(),
        ..Default::default()
    }
}

impl FilterManager {
    /// Plans the answer to an HTTP call made at the current simulated time: ready now, held
    /// until its entry's `delay:` or its timeout (whichever comes first), or never (an entry
    /// with `delay: never` and a call without timeout stays open, as in Envoy).
    pub(super) fn http_called(
        &mut self,
        vmi: usize,
        call: HttpCall,
        mocks: &[HttpMock],
    ) -> Option<Ready> {
        let now = self.shared.borrow().clock.monotonic_ns;
        let m = find(&mut self.patterns, mocks, &call);
        let delay = m.map_or(GrpcDelay::Now, |m| m.delay);
        let resp =
            callout_response(m.map_or(&local_reply(503, "no healthy upstream"), |m| &m.response));
        // `Context::httpCall`: a timeout of 0 sets none on the async request.
        let deadline = (call.timeout_ms > 0)
            .then(|| now.saturating_add(u64::from(call.timeout_ms) * 1_000_000));
        let answer_at = match delay {
            GrpcDelay::Now => {
                return Some(Ready {
                    vmi,
                    call,
                    resp,
                    note: None,
                })
            }
            GrpcDelay::After(ns) => Some(now.saturating_add(ns)),
            GrpcDelay::Never => None,
        };
        let ready = match (answer_at, deadline) {
            // An answer due at the deadline is too late: the timer fires first.
            (Some(a), Some(d)) if a >= d => self.timed_out(vmi, call, d),
            (None, Some(d)) => self.timed_out(vmi, call, d),
            (Some(at), _) => TimedCall {
                due: at,
                ready: Ready {
                    vmi,
                    call,
                    resp,
                    note: None,
                },
            },
            (None, None) => return None,
        };
        self.http_timed.push(ready);
        None
    }

    fn timed_out(&self, vmi: usize, call: HttpCall, due: u64) -> TimedCall {
        let ms = call.timeout_ms;
        TimedCall {
            due,
            ready: Ready {
                vmi,
                call,
                resp: callout_response(&local_reply(504, "upstream request timeout")),
                note: Some(format!(
                    "timed out after {ms} ms: 504 upstream request timeout"
                )),
            },
        }
    }

    /// The monotonic time of the next held HTTP answer or timeout due at or before `until`.
    pub(super) fn next_http_due(&self, until: u64) -> Option<u64> {
        (self.http_timed.iter().map(|t| t.due))
            .filter(|&d| d <= until)
            .min()
    }

    /// The held HTTP answers and timeouts due at `now`, in due order.
    pub(super) fn take_http_due(&mut self, now: u64) -> Vec<Ready> {
        let (mut due, later): (Vec<TimedCall>, Vec<TimedCall>) =
            (std::mem::take(&mut self.http_timed).into_iter()).partition(|t| t.due <= now);
        self.http_timed = later;
        due.sort_by_key(|t| t.due);
        due.into_iter().map(|t| t.ready).collect()
    }

    /// Delivers an HTTP call response to the root context outside a request (ticks); returns
    /// what the callback asked for.
    pub(super) fn deliver_call(&mut self, r: Ready, trace: &mut Vec<TraceEvent>) -> Vec<Effect> {
        let mut t = call_event(self, r.vmi, &r.call);
        let Some(vm) = self.vm(r.vmi) else {
            return Vec::new();
        };
        let effects = call_response(vm, &mut t, &r.call, &r.resp);
        if let (Some(note), None) = (r.note, &t.failure) {
            t.result = note.into();
        }
        trace.push(t);
        effects
    }

    /// Delivers an HTTP call response during a request; a trap fails the streams of that
    /// VM that wait on it.
    pub(super) fn deliver_http_response(&mut self, run: &mut Run<'_>, r: Ready) {
        let vmi = r.vmi;
        let mut ev = call_event(self, vmi, &r.call);
        let effects = match self.vm(vmi) {
            Some(vm) => call_response(vm, &mut ev, &r.call, &r.resp),
            None => Vec::new(),
        };
        let failed = ev.failure.is_some();
        if let (Some(note), false) = (r.note, failed) {
            ev.result = note.into();
        }
        let idx = run.report.trace.len();
        run.report.trace.push(ev);
        self.apply_effects(run, vmi, effects, idx);
        if !failed {
            return;
        }
        if self.vm_in_stream(run, vmi) && !run.client_done() {
            self.fail_stream(run);
        }
    }

    /// The HTTP calls the plugins made while starting (`proxy_on_vm_start`,
    /// `proxy_on_configure`), taken out of their VMs' effects before anything else runs
    /// (else the first later callback would take them as its own).
    pub fn take_startup_http(&mut self) -> Vec<(usize, HttpCall)> {
        let mut out = Vec::new();
        for vmi in 0..self.vms.len() {
            let Some(vm) = self.vm(vmi) else { continue };
            let effects = std::mem::take(&mut vm.store.data_mut().effects);
            let (calls, rest): (Vec<Effect>, Vec<Effect>) =
                (effects.into_iter()).partition(|e| matches!(e, Effect::HttpCall(_)));
            if let Some(vm) = self.vm(vmi) {
                vm.store.data_mut().effects = rest;
            }
            for e in calls {
                // A plugin whose start failed has no root to answer.
                if let Effect::HttpCall(c) = e {
                    if !self.failed_roots.contains(&(vmi, c.root)) {
                        out.push((vmi, c));
                    }
                }
            }
        }
        out
    }

    /// Answers the start-up HTTP calls from `mocks` (`startup.http_calls`) once every plugin
    /// started: Envoy delivers their responses from the dispatcher after start-up returns.
    pub fn answer_startup_http(
        &mut self,
        calls: Vec<(usize, HttpCall)>,
        mocks: &[HttpMock],
        trace: &mut Vec<TraceEvent>,
    ) {
        for (vmi, c) in calls {
            if let Some(r) = self.http_called(vmi, c, mocks) {
                let more = self.deliver_call(r, trace);
                let at = trace.len() - 1;
                self.tick_effects(vmi, more, mocks, trace, at);
                self.drain_grpc(mocks, trace);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterPatterns;

    fn m(pattern: &str, text: &str) -> bool {
        ClusterPatterns::default().is_match(pattern, text)
    }

    #[test]
    fn patterns_used_by_scenarios() {
        let auth = "outbound|8080||auth.shop.svc.cluster.local";
        assert!(m("outbound|8080||auth.*", auth));
        assert!(m(auth, auth));
        assert!(!m(
            "outbound|8080||auth.*",
            "outbound|9090||auth.shop.svc.cluster.local"
        ));
        assert!(!m("outbound|8080||auth.*", "outbound|8080||authz.shop"));
        assert!(m("*", "x") && m("*", ""));
        assert!(m("outbound|*||*.svc.cluster.local", auth));
    }

    #[test]
    fn only_star_is_special() {
        assert!(!m("a*c", "abd"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(m("exact", "exact") && !m("exact", "exactly"));
        assert!(m("a/*/b", "a/x/y/b") && !m("a/*/b", "a/b"));
        assert!(m("a**b", "ab") && m("**", "a/b"));
        assert!(m("a?*", "a?x") && !m("a?*", "abx"));
        assert!(m("[ab]*", "[ab]c") && !m("[ab]*", "ac"));
        assert!(m("{a,b}*", "{a,b}") && !m("{a,b}*", "a"));
        assert!(m("a\\*", "a\\x") && !m("a\\*", "a*"));
        assert!(m("*.local", "x\n.local"));
        let mut cached = ClusterPatterns::default();
        assert!(cached.is_match("auth.*", "auth.x") && !cached.is_match("auth.*", "authx"));
    }

    /// The hand-written matcher this replaced, kept as the reference for its semantics.
    fn reference(pattern: &str, text: &str) -> bool {
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

    #[test]
    fn same_as_the_hand_written_matcher() {
        let patterns = [
            "",
            "*",
            "**",
            "a*",
            "*a",
            "a*a",
            "*a*",
            "a*b*c",
            "ab*b",
            "a*bc*c",
            "a/**/b",
            "outbound|8080||auth.*",
            "outbound|*||*.local",
            "*|*",
            "a?[b]{c}\\*",
            "é*ü",
        ];
        let texts = [
            "",
            "a",
            "aa",
            "ab",
            "abb",
            "abc",
            "abcc",
            "a/b",
            "a//b",
            "a/x/b",
            "axbyc",
            "outbound|8080||auth.shop.svc.cluster.local",
            "outbound|9090||x.local",
            "|",
            "a?[b]{c}\\z",
            "éxü",
            "é",
        ];
        let mut cached = ClusterPatterns::default();
        for p in patterns {
            for t in texts {
                assert_eq!(cached.is_match(p, t), reference(p, t), "{p:?} on {t:?}");
            }
        }
    }
}
