//! Callouts: HTTP calls answered from the scenario's mocks (cluster glob + path), and their
//! responses delivered to the root context that made them (gRPC: `grpc.rs`).

use super::super::headers::HeaderMap;
use super::super::host::{properties_url_path, CalloutResponse, Effect, HttpCall};
use super::super::trace::TraceEvent;
use super::super::vm::Vm;
use super::drive::response_headers;
use super::state::Run;
use super::{run_async, FilterManager, HttpMock, Response};
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

/// The scenario's answer for a callout, or what Envoy's router synthesizes when the cluster
/// has no healthy upstream (503).
pub(super) fn answer(
    patterns: &mut ClusterPatterns,
    mocks: &[HttpMock],
    call: &HttpCall,
) -> CalloutResponse {
    let path = call.headers.get(":path").unwrap_or("");
    let m = mocks.iter().find(|m| {
        patterns.is_match(&m.cluster, &call.cluster)
            && m.path
                .as_deref()
                .is_none_or(|p| p == path || p == properties_url_path(path))
    });
    let r = match m {
        Some(m) => m.response.clone(),
        None => Response {
            status: 503,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: b"no healthy upstream".to_vec(),
            chunks: None,
            trailers: Vec::new(),
        },
    };
    let mut headers = response_headers(&r);
    // A body answered in chunks is sent without a length (chunked), as by the upstream.
    if !r.body.is_empty() && r.chunks.is_none() && headers.get("content-length").is_none() {
        headers.add("content-length", &r.body.len().to_string());
    }
    CalloutResponse {
        headers,
        trailers: HeaderMap::from_pairs(r.trailers.iter().map(|(a, b)| (a.as_str(), b.as_str()))),
        body: r.body,
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
    /// Delivers an HTTP call response to the root context outside a request (ticks); returns
    /// what the callback asked for.
    pub(super) fn deliver_call(
        &mut self,
        vmi: usize,
        call: &HttpCall,
        resp: &CalloutResponse,
        trace: &mut Vec<TraceEvent>,
    ) -> Vec<Effect> {
        let mut t = call_event(self, vmi, call);
        let Some(vm) = self.vm(vmi) else {
            return Vec::new();
        };
        let effects = call_response(vm, &mut t, call, resp);
        trace.push(t);
        effects
    }

    /// Delivers an HTTP call response during a request; a trap fails the streams of that
    /// VM that wait on it.
    pub(super) fn deliver_http_response(
        &mut self,
        run: &mut Run<'_>,
        vmi: usize,
        call: &HttpCall,
        resp: &CalloutResponse,
    ) {
        let mut ev = call_event(self, vmi, call);
        let effects = match self.vm(vmi) {
            Some(vm) => call_response(vm, &mut ev, call, resp),
            None => Vec::new(),
        };
        let failed = ev.failure.is_some();
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
