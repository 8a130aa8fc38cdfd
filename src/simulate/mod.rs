//! Simulation: requests through the real proxy-wasm modules of a filter chain, on a
//! proxy-wasm host that behaves like the mesh version's Envoy (see `docs/fidelity.md`).
//!
//! Public entry points: [`run_scenario`] (scenario → [`SimReport`]), [`render::human`] /
//! [`render::json`], [`start_module`] (the start-up facts MX701–MX705 are judged on) and [`configuration_for`].

pub mod budget;
pub mod cel;
pub mod compile;
pub mod config;
mod expect_callbacks;
pub mod filter_manager;
pub mod from_mesh;
pub mod headers;
pub mod host;
pub mod limits;
pub mod render;
pub mod scenario;
pub mod startup;
pub mod trace;
pub mod vm;

pub use config::configuration_for;
pub use filter_manager::{ExtensionFilter, FilterManager, HttpMock, Response, SimFilter};
pub use host::profile::Profile;
pub use host::WorkloadInfo;
pub use scenario::{parse_scenario, parse_scenario_for_exit, Direction, Scenario, ScenarioError};
pub use startup::start_module;
pub use trace::SimReport;
pub use vm::Limits;

use crate::model::MeshVersion;
use filter_manager::ClusterPatterns;
use host::{HttpCall, LogLine, MetricKind};
use scenario::{CallWant, GrpcWant, LogPattern, MetricWant};
use std::collections::BTreeMap;
use std::fmt::Write;
use trace::{Check, GrpcCallRecord, RequestReport};

/// How to simulate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub mesh: MeshVersion,
    /// Emulate this host instead of the mesh version's proxy (e.g. [`Profile::latest`] to
    /// run modules that need newer WASI imports).
    pub profile: Option<Profile>,
    pub limits: Limits,
    /// The workload the chain belongs to (node metadata, default authority, addresses).
    pub workload: WorkloadInfo,
    /// Seed for `random_get`.
    pub seed: u64,
    /// What the caller knows the run leaves out (the report's `notes`).
    pub notes: Vec<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            mesh: MeshVersion::default(),
            profile: None,
            limits: Limits::default(),
            workload: WorkloadInfo::default(),
            seed: 0x5eed,
            notes: Vec::new(),
        }
    }
}

impl SimOptions {
    pub fn profile(&self) -> Profile {
        self.profile.unwrap_or_else(|| Profile::for_mesh(self.mesh))
    }
}

/// Runs every request of a scenario through `chain`. VMs start once and keep their state
/// across the scenario's requests.
pub fn run_scenario(chain: &[SimFilter], scenario: &Scenario, opts: &SimOptions) -> SimReport {
    struct Collect(Vec<RequestReport>);
    impl RequestSink for Collect {
        fn begin(&mut self, _: &SimReport) {}
        fn request(&mut self, r: RequestReport) {
            self.0.push(r);
        }
    }
    let mut all = Collect(Vec::with_capacity(scenario.requests.len()));
    let mut report = run_scenario_into(chain, scenario, opts, &mut all);
    report.requests = all.0;
    report
}

/// Where [`run_scenario_into`] hands each request's report as soon as it is complete, so that
/// a long scenario's traces need not all be held at once (`simulate --format json` writes each
/// one out and drops it).
pub trait RequestSink {
    /// The report so far (start-up done, no request run yet), before the first request.
    fn begin(&mut self, head: &SimReport);
    /// One finished request or time step, in scenario order.
    fn request(&mut self, r: RequestReport);
}

/// [`run_scenario`] with each request's report given to `sink` instead of kept: the returned
/// report has no `requests`.
pub fn run_scenario_into(
    chain: &[SimFilter],
    scenario: &Scenario,
    opts: &SimOptions,
    sink: &mut dyn RequestSink,
) -> SimReport {
    let profile = opts.profile();
    let mut workload = opts.workload.clone();
    for (k, v) in &scenario.properties {
        workload.overrides.insert(k.clone(), v.clone().into_bytes());
    }
    let authority = workload.service_host.clone();
    let chain = with_scenario_vm(chain, scenario);
    let mut fm = FilterManager::new(&chain, workload, profile, opts.limits, opts.seed);
    // gRPC calls opened while starting are answered from `startup.grpc_calls` once every
    // plugin has started; their callbacks belong to the start-up trace.
    // HTTP calls likewise, from `startup.http_calls`.
    let mut startup = std::mem::take(&mut fm.startup);
    let http_answers = (scenario.startup.as_ref()).map_or(&[][..], |x| &x.http_answers[..]);
    if let Some(x) = &scenario.startup {
        fm.grpc_mocks.clone_from(&x.grpc_answers);
    }
    let http_calls = fm.take_startup_http();
    // Start-up events carry no calls: those listed are made by the answers' callbacks.
    let mut startup_http_calls: Vec<HttpCall> = http_calls.iter().map(|c| c.1.clone()).collect();
    fm.answer_startup_grpc(http_answers, &mut startup);
    fm.answer_startup_http(http_calls, http_answers, &mut startup);
    startup_http_calls.extend(startup.iter().flat_map(|e| e.calls.iter().cloned()));
    let mut report = SimReport {
        proxy: profile.label(),
        chain: fm.chain_labels(),
        services: fm.service_names(),
        notes: opts.notes.clone(),
        startup,
        startup_problems: fm.startup_problems.clone(),
        startup_grpc_calls: fm.take_grpc_calls(),
        ..Default::default()
    };
    if let Some(x) = &scenario.startup {
        report.startup_checks = check_startup(x, &report, &fm, &startup_http_calls);
    }
    report.startup_http_calls = startup_http_calls;
    // Envoy did not start: a note when `startup.result` states it, else an error (said once).
    let envoy_down = fm.service_failure().map(|why| not_started(why, scenario));
    if let Some(Ok(note)) = &envoy_down {
        report.notes.push(note.clone());
    }
    sink.begin(&report);
    if let Some(down) = envoy_down {
        if let Err(e) = down {
            report.errors.push(e);
        }
        report.metrics = fm.metrics();
        report.shared_data = fm.shared_data();
        return report;
    }
    // The trace's filter labels, for `expect.callbacks` to check its `filter`s against.
    let labels = fm.trace_labels();
    for spec in &scenario.requests {
        let mut pre = Vec::new();
        fm.grpc_mocks.clone_from(&spec.grpc_calls);
        if spec.advance_ns > 0 {
            fm.advance(spec.advance_ns, &spec.http_calls, &mut pre);
        }
        // Callouts made by timers while time passed count with the step's own.
        let mut calls: Vec<_> = pre.iter().flat_map(|e| e.calls.iter().cloned()).collect();
        let mut r = if spec.time_only {
            RequestReport {
                name: spec.name.clone(),
                time_only: true,
                metrics_after: fm.metrics(),
                ..Default::default()
            }
        } else {
            fm.run_request(
                &spec.name,
                &spec.input(&authority),
                spec.upstream.as_ref(),
                &spec.http_calls,
            )
        };
        // Timers' events and calls go first (moved only when there are any).
        if !pre.is_empty() {
            pre.append(&mut r.trace);
            r.trace = pre;
        }
        if !calls.is_empty() {
            calls.append(&mut r.http_calls);
            r.http_calls = calls;
        }
        r.grpc_calls = fm.take_grpc_calls();
        r.checks = check(&spec.expect, &r, &fm.metric_kinds(), &labels);
        sink.request(r);
    }
    for spec in &scenario.connections {
        match fm.run_connection(spec) {
            Ok(mut r) => {
                r.checks = check_connection(&spec.expect, &r, &fm.metric_kinds(), &labels);
                report.connections.push(r);
            }
            Err(e) => report.errors.push(e),
        }
    }
    report.metrics = fm.metrics();
    report.shared_data = fm.shared_data();
    report
}

/// A scenario whose Envoy did not start (a failed Wasm service): its requests and
/// connections cannot run, which is an error unless it has none and states the failure in
/// `startup.result` (then a note).
fn not_started(why: String, scenario: &Scenario) -> Result<String, String> {
    let (r, c) = (scenario.requests.len(), scenario.connections.len());
    if r + c > 0 {
        return Err(format!(
            "{why}: the scenario's {r} request step(s) and {c} connection(s) were not run"
        ));
    }
    match scenario.startup.as_ref().and_then(|x| x.result.as_ref()) {
        // `startup.result` is checked against the failure like any start-up failure.
        Some(_) => Ok(why),
        None => Err(format!(
            "{why} (state it with `startup: {{result: …}}` if it is expected)"
        )),
    }
}

/// Compares a connection's outcome with its expectations.
fn check_connection(
    x: &scenario::ConnectionExpect,
    r: &trace::ConnectionReport,
    kinds: &BTreeMap<String, MetricKind>,
    labels: &[String],
) -> Vec<Check> {
    let mut out = Vec::new();
    let text = |b: &[u8]| format!("{:?}", String::from_utf8_lossy(b));
    if let Some(want) = &x.upstream_received {
        out.push(Check::new(
            "upstream received".into(),
            format!("{want:?}"),
            text(&r.upstream_received),
        ));
    }
    if let Some(want) = &x.downstream_received {
        out.push(Check::new(
            "downstream received".into(),
            format!("{want:?}"),
            text(&r.downstream_received),
        ));
    }
    if let Some(by) = x.closed_by {
        out.push(Check::new(
            "closed by".into(),
            by.as_str().into(),
            r.closed_by.clone(),
        ));
    }
    check_logs(
        &x.logs,
        &x.no_logs,
        x.logs_exact.as_deref(),
        &r.trace,
        &mut out,
    );
    check_metrics(&x.metrics, &r.metrics_after, kinds, &mut out);
    if let Some(n) = x.http_calls {
        out.push(Check::new(
            "http calls".into(),
            n.to_string(),
            r.http_calls.len().to_string(),
        ));
    }
    check_calls(&x.calls, &r.http_calls, &mut out);
    check_grpc_calls(&x.grpc_calls, &r.grpc_calls, &mut out);
    expect_callbacks::check(&x.callbacks, &r.trace, labels, &mut out);
    out
}

/// The chain with the scenario's `vm_id` and `vm_config` for the plugins not given their own.
/// A scenario `vm_id` lets plugins share VMs by key, mesh chains' too.
fn with_scenario_vm(chain: &[SimFilter], scenario: &Scenario) -> Vec<SimFilter> {
    let mut out = chain.to_vec();
    for f in &mut out {
        if let SimFilter::Extension(e) | SimFilter::Service(e) = f {
            if e.vm_id.is_none() && scenario.vm_id.is_some() {
                e.vm_id = scenario.vm_id.clone();
                e.share_vm = true;
            }
            if e.vm_configuration.is_none() {
                e.vm_configuration = scenario.vm_config.clone();
            }
        }
    }
    out
}

fn show(v: Option<&str>) -> String {
    match v {
        Some(s) => debug_str(s),
        None => "(absent)".into(),
    }
}

/// `format!("{s:?}")`, without the formatting machinery for the usual text that needs no
/// escapes (three of these per checked header, on every request).
fn debug_str(s: &str) -> String {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
        out
    } else {
        format!("{s:?}")
    }
}

/// `prefix` followed by `name`: a check's label.
fn label(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len());
    out.push_str(prefix);
    out.push_str(name);
    out
}

/// Compares a request's outcome with its expectations.
fn check(
    x: &scenario::Expect,
    r: &RequestReport,
    kinds: &BTreeMap<String, MetricKind>,
    labels: &[String],
) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |what: String, expected: String, actual: String| {
        let ok = expected == actual;
        out.push(Check {
            what,
            expected,
            actual,
            ok,
        });
    };
    let status = match (&r.response, &r.reset) {
        (Some(resp), _) => resp.status.to_string(),
        (None, Some(reset)) => format!("no response ({reset})"),
        (None, None) => "no response (stalled: a filter paused and nothing resumed it)".into(),
    };
    if let Some(s) = x.status {
        push("status".into(), s.to_string(), status);
    }
    for (name, want) in &x.response_headers {
        let have = r
            .response
            .as_ref()
            .and_then(|resp| resp.headers.get_joined(name));
        push(
            label("response header ", name),
            show(want.as_deref()),
            show(have.as_deref()),
        );
    }
    if let Some(b) = &x.response_body {
        let have = r
            .response
            .as_ref()
            .map(|resp| String::from_utf8_lossy(&resp.body).into_owned());
        push("response body".into(), show(Some(b)), show(have.as_deref()));
    }
    for (name, want) in &x.response_trailers {
        let have = (r.response.as_ref()).and_then(|resp| resp.trailers.get_joined(name));
        push(
            label("response trailer ", name),
            show(want.as_deref()),
            show(have.as_deref()),
        );
    }
    if let Some(c) = x.upstream_called {
        push(
            "upstream called".into(),
            c.to_string(),
            r.upstream_request.is_some().to_string(),
        );
    }
    for (name, want) in &x.upstream_request_headers {
        let have = r
            .upstream_request
            .as_ref()
            .and_then(|m| m.headers.get_joined(name));
        push(
            label("upstream request header ", name),
            show(want.as_deref()),
            show(have.as_deref()),
        );
    }
    if let Some(b) = &x.upstream_request_body {
        let have = r
            .upstream_request
            .as_ref()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned());
        push(
            "upstream request body".into(),
            show(Some(b)),
            show(have.as_deref()),
        );
    }
    for (name, want) in &x.upstream_request_trailers {
        let have = (r.upstream_request.as_ref()).and_then(|m| m.trailers.get_joined(name));
        push(
            label("upstream request trailer ", name),
            show(want.as_deref()),
            show(have.as_deref()),
        );
    }
    if let Some(n) = x.http_calls {
        push(
            "http calls".into(),
            n.to_string(),
            r.http_calls.len().to_string(),
        );
    }
    check_logs(
        &x.logs,
        &x.no_logs,
        x.logs_exact.as_deref(),
        &r.trace,
        &mut out,
    );
    check_metrics(&x.metrics, &r.metrics_after, kinds, &mut out);
    check_calls(&x.calls, &r.http_calls, &mut out);
    check_grpc_calls(&x.grpc_calls, &r.grpc_calls, &mut out);
    expect_callbacks::check(&x.callbacks, &r.trace, labels, &mut out);
    out
}

fn check_metrics(
    want: &[(String, MetricWant)],
    have: &BTreeMap<String, i64>,
    kinds: &BTreeMap<String, MetricKind>,
    out: &mut Vec<Check>,
) {
    for (name, want) in want {
        if let Some(k) = want.kind {
            let have = kinds.get(name).map_or("(undefined)", |k| metric_kind(*k));
            out.push(Check::new(
                format!("metric {name} type"),
                k.as_str().into(),
                have.into(),
            ));
        }
        if let Some(v) = want.value {
            let have = have
                .get(name)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(undefined)".into());
            out.push(Check::new(format!("metric {name}"), v.to_string(), have));
        }
    }
}

fn metric_kind(k: MetricKind) -> &'static str {
    match k {
        MetricKind::Counter => "counter",
        MetricKind::Gauge => "gauge",
        MetricKind::Histogram => "histogram",
    }
}

/// `calls`: how many of the step's dispatched calls match each description.
fn check_calls(want: &[CallWant], calls: &[HttpCall], out: &mut Vec<Check>) {
    let mut patterns = ClusterPatterns::default();
    for w in want {
        let n = calls
            .iter()
            .filter(|c| {
                w.cluster
                    .as_ref()
                    .is_none_or(|p| patterns.is_match(p, &c.cluster))
                    && (w.headers.iter()).all(|(k, v)| c.headers.get_joined(k) == *v)
                    && w.body
                        .as_ref()
                        .is_none_or(|b| b.as_bytes() == c.body.as_slice())
            })
            .count();
        let mut what = String::from("calls");
        if let Some(p) = &w.cluster {
            let _ = write!(what, " to {p:?}");
        }
        for (k, v) in &w.headers {
            let _ = write!(what, " with {k}: {}", show(v.as_deref()));
        }
        if let Some(b) = &w.body {
            let _ = write!(what, " with body {b:?}");
        }
        let made = || {
            let v: Vec<String> = (calls.iter())
                .map(|c| format!("{} {}", c.cluster, c.headers.get(":path").unwrap_or("")))
                .collect();
            format!(
                "{n} (calls made: {})",
                if v.is_empty() {
                    "none".into()
                } else {
                    v.join(", ")
                }
            )
        };
        out.push(Check::count(what, w.count, n, made));
    }
}

/// `grpc_calls`: how many of the step's gRPC calls and streams match each description.
fn check_grpc_calls(want: &[GrpcWant], calls: &[GrpcCallRecord], out: &mut Vec<Check>) {
    let mut patterns = ClusterPatterns::default();
    for w in want {
        let mut is =
            |p: &Option<String>, v: &str| p.as_ref().is_none_or(|p| patterns.is_match(p, v));
        let n = (calls.iter())
            .filter(|c| {
                is(&w.service, &c.service)
                    && is(&w.method, &c.method)
                    && is(&w.cluster, &c.cluster)
                    && (w.message.as_ref()).is_none_or(|m| c.messages.contains(m))
            })
            .count();
        let mut what = String::from("gRPC calls");
        for (k, v) in [
            ("service", &w.service),
            ("method", &w.method),
            ("cluster", &w.cluster),
        ] {
            if let Some(v) = v {
                let _ = write!(what, " {k} {v:?}");
            }
        }
        if let Some(m) = &w.message {
            let _ = write!(what, " with message {:?}", String::from_utf8_lossy(m));
        }
        let made = || {
            let v: Vec<String> = (calls.iter())
                .map(|c| format!("{}/{} on {:?}", c.service, c.method, c.cluster))
                .collect();
            let v = if v.is_empty() {
                "none".into()
            } else {
                v.join(", ")
            };
            format!("{n} (gRPC calls made: {v})")
        };
        out.push(Check::count(what, w.count, n, made));
    }
}

/// `logs` (each must match a line of the trace), `no_logs` (none may) and `logs_exact` (the
/// lines, one pattern each, in order).
fn check_logs(
    logs: &[LogPattern],
    no_logs: &[LogPattern],
    exact: Option<&[LogPattern]>,
    trace: &[trace::TraceEvent],
    out: &mut Vec<Check>,
) {
    let lines: Vec<&LogLine> = trace.iter().flat_map(|e| e.logs.iter()).collect();
    let presence = |p: &LogPattern| lines.iter().any(|l| p.matches(l, false));
    for p in logs {
        let found = presence(p);
        out.push(Check::new(
            format!("log {}", p.verb()),
            "present".into(),
            if found { "present" } else { "absent" }.into(),
        ));
    }
    for p in no_logs {
        let found = lines.iter().find(|l| p.matches(l, false));
        out.push(Check::new(
            format!("no log {}", p.verb()),
            "absent".into(),
            match found {
                Some(l) => format!("present: [{}] {:?}", l.level.as_str(), l.message),
                None => "absent".into(),
            },
        ));
    }
    if let Some(want) = exact {
        let show_line = |l: &LogLine| format!("[{}] {:?}", l.level.as_str(), l.message);
        let all = || {
            let v: Vec<String> = lines.iter().map(|l| show_line(l)).collect();
            format!("{} lines: {}", v.len(), v.join(", "))
        };
        let mismatch = (0..want.len().max(lines.len())).find(
            |&i| !matches!((want.get(i), lines.get(i)), (Some(p), Some(l)) if p.matches(l, true)),
        );
        let wanted = {
            let v: Vec<String> = want.iter().map(ToString::to_string).collect();
            format!("{} lines: {}", v.len(), v.join(", "))
        };
        let actual = match mismatch {
            None => wanted.clone(),
            Some(i) => format!("{} (line {} differs)", all(), i + 1),
        };
        out.push(Check::new("exact log lines".into(), wanted, actual));
    }
}

/// Checks the scenario's `startup:` expectations against the plugins' start.
fn check_startup(
    x: &scenario::StartupExpect,
    report: &SimReport,
    fm: &FilterManager,
    http_calls: &[HttpCall],
) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(want) = &x.result {
        let problems: Vec<String> = (report.startup_problems.iter())
            .map(|p| format!("{}: {}", p.filter, p.message))
            .collect();
        let actual = if problems.is_empty() {
            "ok".to_string()
        } else {
            problems.join("; ")
        };
        // `ok`, or a substring of the failure.
        let ok = if want == "ok" {
            actual == "ok"
        } else {
            !problems.is_empty() && actual.contains(want.as_str())
        };
        out.push(Check {
            what: "start-up result".into(),
            expected: want.clone(),
            actual,
            ok,
        });
    }
    check_logs(
        &x.logs,
        &x.no_logs,
        x.logs_exact.as_deref(),
        &report.startup,
        &mut out,
    );
    check_metrics(&x.metrics, &fm.metrics(), &fm.metric_kinds(), &mut out);
    check_grpc_calls(&x.grpc_calls, &report.startup_grpc_calls, &mut out);
    check_calls(&x.http_calls, http_calls, &mut out);
    if let Some(want) = x.tick_period_ns {
        let periods: Vec<String> = (fm.shared.borrow().clock.ticks.values())
            .map(|(period, _)| show_duration(*period))
            .collect();
        let actual = if periods.is_empty() {
            "none".to_string()
        } else {
            periods.join(", ")
        };
        out.push(Check::new(
            "tick period".into(),
            show_duration(want),
            actual,
        ));
    }
    out
}

/// `5s`, `250ms`, `7ns`: the largest unit that divides the value.
fn show_duration(ns: u64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let units = [
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    let (div, unit) = units
        .iter()
        .find(|(d, _)| ns % d == 0)
        .copied()
        .unwrap_or((1, "ns"));
    format!("{}{unit}", ns / div)
}

#[cfg(test)]
mod tests {
    #[test]
    fn debug_str_is_rusts_debug_rendering() {
        for s in [
            "",
            "payments",
            "a b/c:d",
            "quote\"d",
            "back\\slash",
            "tab\tnew\nline",
            "\u{7f}del",
            "é ünïcode",
            "\u{0}",
            "it's",
        ] {
            assert_eq!(super::debug_str(s), format!("{s:?}"), "{s:?}");
        }
    }
}
