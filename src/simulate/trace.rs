//! What a simulated request did: one event per filter callback, and the outcome.

use super::headers::HeaderMap;
use super::host::{HttpCall, LocalReply, LogLine};
use super::vm::Failure;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::rc::Rc;

pub fn ser_bytes<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(b))
}

/// One filter callback (or async event) in order.
#[derive(Debug, Clone, Serialize)]
pub struct TraceEvent {
    /// Shared with the chain (one allocation per filter, not per event).
    pub filter: Rc<str>,
    /// Callback names and results are mostly fixed strings: borrowed, not allocated.
    pub callback: Cow<'static, str>,
    /// What it returned, in Envoy's terms (`Continue`, `StopAllIterationAndWatermark`, …).
    pub result: Cow<'static, str>,
    /// Edits: `+name: value`, `-name`, `~name: value`, `body: …`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<HttpCall>,
    /// Rare, so boxed: every request allocates its trace, and a smaller event is cheaper to
    /// allocate and move.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_reply: Option<Box<LocalReply>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Box<Failure>>,
}

/// By hand, not derived: `Rc<str>::default()` allocates an empty string each time (unlike
/// `Arc<str>`'s), and events are built with `..Default::default()` on the hot path.
impl Default for TraceEvent {
    fn default() -> Self {
        thread_local! {
            static NO_FILTER: Rc<str> = Rc::from("");
        }
        TraceEvent {
            filter: NO_FILTER.with(Rc::clone),
            callback: Cow::Borrowed(""),
            result: Cow::Borrowed(""),
            changes: Vec::new(),
            logs: Vec::new(),
            calls: Vec::new(),
            local_reply: None,
            failure: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Message {
    pub headers: HeaderMap,
    #[serde(serialize_with = "ser_bytes")]
    pub body: Vec<u8>,
    #[serde(skip_serializing_if = "HeaderMap::is_empty")]
    pub trailers: HeaderMap,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct ClientResponse {
    pub status: u32,
    pub headers: HeaderMap,
    #[serde(serialize_with = "ser_bytes")]
    pub body: Vec<u8>,
    #[serde(skip_serializing_if = "HeaderMap::is_empty")]
    pub trailers: HeaderMap,
    /// Envoy's response code details (`via_upstream`, `wasm_fail_stream`, a local-reply detail).
    pub details: String,
}

/// One checked expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub ok: bool,
}

impl Check {
    /// A check that holds when the two renderings are equal.
    pub fn new(what: String, expected: String, actual: String) -> Check {
        let ok = expected == actual;
        Check {
            what,
            expected,
            actual,
            ok,
        }
    }

    /// A description that matched `n` times: exactly `want` times, or at least once without
    /// a count; `miss` words the actual value of a failed check (what there was instead).
    pub fn count(
        what: String,
        want: Option<usize>,
        n: usize,
        miss: impl FnOnce() -> String,
    ) -> Check {
        let (expected, ok) = match want {
            Some(c) => (c.to_string(), n == c),
            None => ("at least 1".to_string(), n > 0),
        };
        let actual = if ok { n.to_string() } else { miss() };
        Check {
            what,
            expected,
            actual,
            ok,
        }
    }
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct RequestReport {
    pub name: String,
    /// A step that only let time pass (no request was sent).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub time_only: bool,
    pub trace: Vec<TraceEvent>,
    /// The request as the upstream received it (absent when it never got there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_request: Option<Message>,
    /// The response the client received (absent on reset or stall).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<ClientResponse>,
    /// Set when the stream was reset instead of answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset: Option<String>,
    /// A filter paused and nothing resumed it (the client would time out).
    pub stalled: bool,
    pub http_calls: Vec<HttpCall>,
    /// gRPC calls opened during the step (timers' included).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grpc_calls: Vec<GrpcCallRecord>,
    pub checks: Vec<Check>,
    /// Metric values after this request.
    #[serde(skip)]
    pub metrics_after: BTreeMap<String, i64>,
}

impl RequestReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// A plugin that failed to load or start (the filter fails closed for every request).
/// What happened on one TCP connection (`connections:`).
#[derive(Debug, Clone, Serialize, Default)]
pub struct ConnectionReport {
    pub name: String,
    pub trace: Vec<TraceEvent>,
    /// Every byte the upstream / the client received.
    #[serde(serialize_with = "ser_bytes")]
    pub upstream_received: Vec<u8>,
    #[serde(serialize_with = "ser_bytes")]
    pub downstream_received: Vec<u8>,
    /// `downstream`, `upstream` or `plugin`.
    pub closed_by: String,
    /// The HTTP calls the connection's filters (and their answers' callbacks) dispatched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub http_calls: Vec<HttpCall>,
    /// The gRPC calls and streams the connection's filters opened.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grpc_calls: Vec<GrpcCallRecord>,
    pub checks: Vec<Check>,
    #[serde(skip)]
    pub metrics_after: BTreeMap<String, i64>,
}

impl ConnectionReport {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StartupProblem {
    pub filter: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogLine>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct SimReport {
    pub proxy: String,
    pub chain: Vec<String>,
    /// The singleton Wasm services (`--service`), beside the chain.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// What the simulation leaves out of this run, said once (e.g. network filters in front
    /// of the HTTP connection manager that `requests:` do not run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Events while plugins started (logs of on_vm_start / on_configure).
    pub startup: Vec<TraceEvent>,
    pub startup_problems: Vec<StartupProblem>,
    /// The scenario's `startup:` expectations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup_checks: Vec<Check>,
    /// The gRPC calls and streams the plugins opened while starting.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup_grpc_calls: Vec<GrpcCallRecord>,
    /// The HTTP calls dispatched while starting, and by the answers' callbacks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub startup_http_calls: Vec<HttpCall>,
    pub requests: Vec<RequestReport>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionReport>,
    pub metrics: BTreeMap<String, i64>,
    pub shared_data: BTreeMap<String, String>,
    /// Problems that stop the scenario (bad scenario, unknown workload, …).
    pub errors: Vec<String>,
}

impl SimReport {
    /// 0 = every expectation holds, 1 = one failed, 2 = the scenario could not run.
    pub fn exit_code(&self) -> i32 {
        self.exit_code_given(self.requests.iter().all(RequestReport::passed))
    }

    /// [`SimReport::exit_code`] with the requests' verdict given: their reports were handed
    /// out one by one (`run_scenario_into`) instead of kept in `requests`.
    pub fn exit_code_given(&self, requests_passed: bool) -> i32 {
        if !self.errors.is_empty() {
            2
        } else if self.startup_checks.iter().all(|c| c.ok)
            && requests_passed
            && self.connections.iter().all(ConnectionReport::passed)
        {
            0
        } else {
            1
        }
    }
}

/// Header edits between two snapshots, for the trace.
pub fn diff_headers(prefix: &str, before: &HeaderMap, after: &HeaderMap, out: &mut Vec<String>) {
    if before == after {
        return; // most callbacks change nothing: skip the per-name comparison
    }
    if let Some(tail) = after.appended_to(before) {
        // Only appends: what the general walk below reports, without its per-name lookups.
        // Names already present change (`~`, in their first-seen order, as the walk over
        // `after` meets them first), then the new names (`+`, in the order added).
        for (i, (k, _)) in before.iter().enumerate() {
            let first = !before.iter().take(i).any(|(p, _)| p == k);
            if first && tail.iter().any(|(t, _)| **t == *k) {
                out.push(edit_line(prefix, '~', k, after));
            }
        }
        for (i, (k, _)) in tail.iter().enumerate() {
            let first = !tail[..i].iter().any(|(p, _)| p == k);
            if first && before.get(k).is_none() {
                out.push(edit_line(prefix, '+', k, after));
            }
        }
        return;
    }
    diff_walk(prefix, before, after, out);
}

/// The general comparison: removed names, then each name of `after` added or changed.
fn diff_walk(prefix: &str, before: &HeaderMap, after: &HeaderMap, out: &mut Vec<String>) {
    let (b, a) = (before.names(), after.names());
    for k in &b {
        if !a.contains(k) {
            out.push(format!("{prefix}-{k}"));
        }
    }
    for k in &a {
        match before.get(k) {
            None => out.push(format!(
                "{prefix}+{k}: {}",
                after.get_joined(k).unwrap_or_default()
            )),
            Some(_) if !same_values(before, after, k) => out.push(format!(
                "{prefix}~{k}: {}",
                after.get_joined(k).unwrap_or_default()
            )),
            _ => {}
        }
    }
}

/// `{prefix}{sign}{key}: {values joined by ,}` in one allocation.
fn edit_line(prefix: &str, sign: char, key: &str, after: &HeaderMap) -> String {
    let mut line = String::with_capacity(prefix.len() + key.len() + 16);
    line.push_str(prefix);
    line.push(sign);
    line.push_str(key);
    line.push_str(": ");
    for (n, v) in after.get_all(key).enumerate() {
        if n > 0 {
            line.push(',');
        }
        line.push_str(v);
    }
    line
}

/// Whether `key` has the same values, joined by `,`, in both maps; joins (allocates) only
/// when the value lists differ.
fn same_values(x: &HeaderMap, y: &HeaderMap, key: &str) -> bool {
    x.get_all(key).eq(y.get_all(key)) || x.get_joined(key) == y.get_joined(key)
}

pub fn diff_body(prefix: &str, before: &[u8], after: &[u8], out: &mut Vec<String>) {
    if before != after {
        out.push(format!(
            "{prefix}body: {:?} -> {:?}",
            preview(before),
            preview(after)
        ));
    }
}

pub fn preview(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    if s.chars().count() > 80 {
        format!(
            "{}… ({} bytes)",
            s.chars().take(80).collect::<String>(),
            b.len()
        )
    } else {
        s.into_owned()
    }
}

/// A gRPC call or stream a module opened during a step.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct GrpcCallRecord {
    pub cluster: String,
    pub service: String,
    pub method: String,
    pub stream: bool,
    /// The request message of a call, or the messages sent on a stream during the step.
    #[serde(serialize_with = "ser_bytes_list")]
    pub messages: Vec<Vec<u8>>,
    /// Whether a `grpc_calls` entry answered it (else it was closed with 14 UNAVAILABLE).
    pub matched: bool,
}

fn ser_bytes_list<S: serde::Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|b| String::from_utf8_lossy(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A default event shares one empty label: building events with `..Default::default()`
    /// allocates nothing for the label it then replaces.
    #[test]
    fn default_events_share_their_empty_label() {
        let (a, b) = (TraceEvent::default(), TraceEvent::default());
        assert!(Rc::ptr_eq(&a.filter, &b.filter));
        assert_eq!(&*a.filter, "");
    }

    /// The appends-only shortcut reports what the general comparison reports.
    #[test]
    fn appended_headers_diff_like_the_general_walk() {
        let base = HeaderMap::from_pairs([("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")]);
        let tails: &[&[(&str, &str)]] = &[
            &[("x", "1")],
            &[("c", "5")],
            &[("x", "1"), ("a", "9"), ("x", "2"), ("y", "")],
            &[("b", ""), ("b", "7")],
        ];
        for tail in tails {
            let mut after = base.clone();
            for (k, v) in *tail {
                after.add(k, v);
            }
            let (mut fast, mut walk) = (Vec::new(), Vec::new());
            diff_headers("p ", &base, &after, &mut fast);
            diff_walk("p ", &base, &after, &mut walk);
            assert!(!fast.is_empty());
            assert_eq!(fast, walk, "{tail:?}");
        }
    }
}
