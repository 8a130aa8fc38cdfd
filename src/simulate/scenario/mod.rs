//! Scenario files (YAML): requests to send, answers for callouts and the upstream, and
//! expectations. Read as serde structs (`file.rs`) straight from the text where possible
//! (`load::direct`, no tree: most of a large scenario's parse was the tree), else from the
//! span-carrying YAML tree, which words every error with its position in the file.

#[cfg(test)]
mod differential;
mod file;

use super::filter_manager::{GrpcMock, HttpMock, RequestInput, Response};
use super::host::{LogLevel, LogLine};
pub use crate::load::typed::InputError;
use crate::load::{direct, typed, yaml};
use crate::source::SourceFile;
use file::{describe, ScenarioFile, DIALECT};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// `namespace/name` of a workload from the inputs; absent with `--module`.
    pub workload: Option<String>,
    /// Which sidecar listener class runs (`direction:`); default inbound (a gateway has one).
    pub direction: Option<Direction>,
    /// Which port's chain, where a listener class is split per port (`port:`).
    pub port: Option<u16>,
    /// Property overrides (dotted path → string value) for every VM.
    pub properties: BTreeMap<String, String>,
    /// `vm_config.vm_id` of every plugin that is not given one (`--vm-id`); set, plugins with
    /// the same VM key share a VM, mesh chains' included.
    pub vm_id: Option<String>,
    /// The VM configuration of every plugin that is not given one (`--vm-config`).
    pub vm_config: Option<String>,
    /// What must hold once the plugins have started.
    pub startup: Option<StartupExpect>,
    pub requests: Vec<RequestSpec>,
    /// TCP connections through network filters, run after the requests.
    pub connections: Vec<ConnectionSpec>,
}

/// A sidecar's listener class: `inbound` (the server side, the default) or `outbound` (the
/// client side, where WasmPlugins run from Istio 1.14 / OSSM 2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

/// One TCP connection (`connections:`): its events in order and what to expect.
#[derive(Debug, Clone, Default)]
pub struct ConnectionSpec {
    pub name: String,
    /// `file:line:col` of the entry, for errors found when it runs.
    pub location: String,
    pub events: Vec<NetEvent>,
    /// Answers to the HTTP calls the connection's filters dispatch.
    pub http_calls: Vec<HttpMock>,
    /// Answers to the gRPC calls the connection's filters open.
    pub grpc_calls: Vec<GrpcMock>,
    pub expect: ConnectionExpect,
}

/// Something the connection's peers do.
#[derive(Debug, Clone, PartialEq)]
pub enum NetEvent {
    /// The client sends bytes (read by the proxy: `on_downstream_data`); `true`: then ends
    /// its side (a half-close, TCP FIN: `end_of_stream`).
    Downstream(Vec<u8>, bool),
    /// The upstream sends bytes (written to the client: `on_upstream_data`); `true`: then
    /// ends its side.
    Upstream(Vec<u8>, bool),
    /// A peer closes the connection.
    Close(Peer),
    /// Simulated time passes (nanoseconds): ticks, gRPC answers and timeouts fire.
    Advance(u64),
}

/// A side of a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Peer {
    Downstream,
    Upstream,
}

/// Who closed a connection (`expect.closed_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClosedBy {
    Downstream,
    Upstream,
    Plugin,
}

impl ClosedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedBy::Downstream => "downstream",
            ClosedBy::Upstream => "upstream",
            ClosedBy::Plugin => "plugin",
        }
    }
}

/// What must hold once a connection has run.
#[derive(Debug, Clone, Default)]
pub struct ConnectionExpect {
    /// All the bytes the upstream / the client received.
    pub upstream_received: Option<String>,
    pub downstream_received: Option<String>,
    pub closed_by: Option<ClosedBy>,
    pub logs: Vec<LogPattern>,
    pub no_logs: Vec<LogPattern>,
    pub logs_exact: Option<Vec<LogPattern>>,
    pub metrics: Vec<(String, MetricWant)>,
    /// How many HTTP calls the connection's filters dispatched (`http_calls`).
    pub http_calls: Option<usize>,
    /// HTTP calls the connection's filters must have dispatched.
    pub calls: Vec<CallWant>,
    /// gRPC calls the connection's filters must have opened.
    pub grpc_calls: Vec<GrpcWant>,
    /// Callbacks to look for in the connection's trace.
    pub callbacks: Vec<CallbackWant>,
}

/// Expectations about plugin start-up (`on_vm_start`, `on_configure`).
#[derive(Debug, Clone, Default)]
pub struct StartupExpect {
    /// Answers to the gRPC calls opened while starting (`grpc_calls`).
    pub grpc_answers: Vec<GrpcMock>,
    /// gRPC calls that must have been opened while starting (`grpc_calls_made`).
    pub grpc_calls: Vec<GrpcWant>,
    /// Answers to the HTTP calls made while starting (`http_calls`).
    pub http_answers: Vec<HttpMock>,
    /// HTTP calls that must have been made while starting (`http_calls_made`).
    pub http_calls: Vec<CallWant>,
    /// `ok`, or a substring of the start failure, for every plugin.
    pub result: Option<String>,
    pub logs: Vec<LogPattern>,
    pub no_logs: Vec<LogPattern>,
    pub logs_exact: Option<Vec<LogPattern>>,
    pub metrics: Vec<(String, MetricWant)>,
    /// The tick period set during start-up (`proxy_set_tick_period_milliseconds`).
    pub tick_period_ns: Option<u64>,
}

/// A log level in a log expectation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevelSel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Critical,
}

impl LogLevelSel {
    fn level(self) -> LogLevel {
        match self {
            LogLevelSel::Trace => LogLevel::Trace,
            LogLevelSel::Debug => LogLevel::Debug,
            LogLevelSel::Info => LogLevel::Info,
            LogLevelSel::Warn => LogLevel::Warn,
            LogLevelSel::Error => LogLevel::Error,
            LogLevelSel::Critical => LogLevel::Critical,
        }
    }
}

/// How a log expectation matches a line's message.
#[derive(Debug, Clone)]
pub enum LogText {
    /// A substring (`logs`, `no_logs`) or the whole message (`logs_exact`).
    Plain(String),
    /// Found anywhere in the message (anchor with `^…$` for a whole line).
    Regex(regex::Regex),
    /// Any message (a level alone).
    Any,
}

#[derive(Debug, Clone)]
pub struct LogPattern {
    pub level: Option<LogLevelSel>,
    pub text: LogText,
}

impl LogPattern {
    /// Whether `line` matches; `whole`: plain text must be the whole message.
    pub fn matches(&self, line: &LogLine, whole: bool) -> bool {
        if self.level.is_some_and(|l| l.level() != line.level) {
            return false;
        }
        match &self.text {
            LogText::Plain(t) if whole => line.message == *t,
            LogText::Plain(t) => line.message.contains(t.as_str()),
            LogText::Regex(re) => re.is_match(&line.message),
            LogText::Any => true,
        }
    }
}

impl LogPattern {
    /// `containing "x"` for a substring, `matching …` otherwise (check labels).
    pub fn verb(&self) -> String {
        match (&self.text, self.level) {
            (LogText::Plain(t), None) => format!("containing {t:?}"),
            _ => format!("matching {self}"),
        }
    }
}

impl std::fmt::Display for LogPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = self.level {
            write!(f, "[{}] ", l.level().as_str())?;
        }
        match &self.text {
            LogText::Plain(t) => write!(f, "{t:?}"),
            LogText::Regex(re) => write!(f, "/{}/", re.as_str()),
            LogText::Any => f.write_str("any line"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RequestSpec {
    pub name: String,
    /// `advance` with no request: only time passes (timers, and the callouts they make).
    pub time_only: bool,
    /// Nanoseconds to move the clock before the request.
    pub advance_ns: u64,
    pub method: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub headers: Vec<(String, String)>,
    pub chunks: Vec<Vec<u8>>,
    pub trailers: Vec<(String, String)>,
    pub http_calls: Vec<HttpMock>,
    /// Answers to the modules' gRPC calls and streams.
    pub grpc_calls: Vec<GrpcMock>,
    pub upstream: Option<Response>,
    pub expect: Expect,
}

impl RequestSpec {
    /// The request with defaults: GET, `/`, the workload's service host.
    pub fn input<'a>(&'a self, default_authority: &'a str) -> RequestInput<'a> {
        RequestInput {
            method: self.method.as_deref().unwrap_or("GET"),
            path: self.path.as_deref().unwrap_or("/"),
            authority: self.authority.as_deref().unwrap_or(default_authority),
            headers: &self.headers,
            chunks: &self.chunks,
            trailers: &self.trailers,
        }
    }
}

/// `None` value in a header expectation = the header must be absent.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    pub status: Option<u32>,
    pub response_headers: Vec<(String, Option<String>)>,
    pub response_body: Option<String>,
    pub response_trailers: Vec<(String, Option<String>)>,
    pub upstream_called: Option<bool>,
    pub upstream_request_headers: Vec<(String, Option<String>)>,
    pub upstream_request_body: Option<String>,
    pub upstream_request_trailers: Vec<(String, Option<String>)>,
    pub http_calls: Option<usize>,
    /// Lines that must appear (`logs`), must not (`no_logs`), or the whole list in order.
    pub logs: Vec<LogPattern>,
    pub no_logs: Vec<LogPattern>,
    pub logs_exact: Option<Vec<LogPattern>>,
    pub metrics: Vec<(String, MetricWant)>,
    /// Dispatched HTTP calls that must have been made (timers' included).
    pub calls: Vec<CallWant>,
    /// gRPC calls that must have been opened (timers' included).
    pub grpc_calls: Vec<GrpcWant>,
    /// Callbacks to look for in the step's trace, with what they returned.
    pub callbacks: Vec<CallbackWant>,
}

/// A callback to look for in a trace (`expect.callbacks`).
#[derive(Debug, Clone, Default)]
pub struct CallbackWant {
    /// The export's name, e.g. `proxy_on_request_headers`.
    pub callback: String,
    /// The filter: its label (`default/auth`), its name after the `/`, or a pattern (`*`).
    pub filter: Option<String>,
    /// What it returned as the trace says it (either side of a `→`), or `Pause`: any
    /// result that stops the filter chain there.
    pub result: Option<String>,
    /// How many events must match (default: at least one).
    pub count: Option<usize>,
}

/// gRPC calls to look for among a step's calls and streams.
#[derive(Debug, Clone, Default)]
pub struct GrpcWant {
    /// Service, method and cluster names or patterns (`*` = any run of characters).
    pub service: Option<String>,
    pub method: Option<String>,
    pub cluster: Option<String>,
    /// A message the plugin sent on the call (the request, or any `grpc_send`).
    pub message: Option<Vec<u8>>,
    /// How many calls must match (default: at least one).
    pub count: Option<usize>,
}

/// An expected metric: its value, and optionally its type.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricWant {
    pub kind: Option<MetricKindSel>,
    pub value: Option<i64>,
}

/// A metric type in an expectation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricKindSel {
    Counter,
    Gauge,
    Histogram,
}

impl MetricKindSel {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKindSel::Counter => "counter",
            MetricKindSel::Gauge => "gauge",
            MetricKindSel::Histogram => "histogram",
        }
    }
}

/// Calls to look for among a step's dispatched HTTP calls.
#[derive(Debug, Clone, Default)]
pub struct CallWant {
    /// Cluster name or pattern (`*` = any run of characters, as in `http_calls`).
    pub cluster: Option<String>,
    /// `None` value: the header must be absent.
    pub headers: Vec<(String, Option<String>)>,
    pub body: Option<String>,
    /// How many calls must match (default: at least one).
    pub count: Option<usize>,
}

/// An invalid scenario file (the error type of every input file).
pub type ScenarioError = InputError;

/// Parses `5s`, `250ms`, `1m`, `2h`, `1.5s` or a number of seconds into nanoseconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = [
        ("ms", 1e6),
        ("us", 1e3),
        ("ns", 1.0),
        ("s", 1e9),
        ("m", 60e9),
        ("h", 3600e9),
    ]
    .iter()
    .find_map(|(suf, m)| s.strip_suffix(suf).map(|n| (n, *m)))
    .unwrap_or((s, 1e9));
    let v: f64 = num.trim().parse().ok()?;
    if !(0.0..=1e7 * 3600.0).contains(&v) {
        return None;
    }
    Some((v * mult) as u64)
}

/// Parses a scenario file. `name` is used in locations.
pub fn parse_scenario(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    parse(name, text, false)
}

/// [`parse_scenario`] for a process that ends after the run (`simulate`): the YAML span tree
/// the scenario was typed from is not freed (freeing a 10,000-request tree node by node is
/// ~3 % of such a run; the memory is at its peak while typing anyway).
pub fn parse_scenario_for_exit(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    parse(name, text, true)
}

fn parse(name: &str, text: &str, leak_tree: bool) -> Result<Scenario, ScenarioError> {
    let limits = scenario_limits();
    if let Some(scenario) = parse_direct(text, limits) {
        #[cfg(test)]
        tests::DIRECT.with(|n| n.set(n.get() + 1));
        return Ok(scenario);
    }
    parse_tree(name, text, limits, leak_tree)
}

/// For the `scenario_differential` fuzz target: wherever the direct path reads `text`, the
/// tree path must read it to the same `Scenario`; panics otherwise. (The unit tests in
/// `differential.rs` check the same on the repository's scenarios and their mutations.)
#[doc(hidden)]
pub fn assert_paths_agree(text: &str) {
    let limits = scenario_limits();
    let Some(direct) = parse_direct(text, limits) else {
        return;
    };
    match parse_tree("fuzz.yaml", text, limits, false) {
        Ok(tree) => assert_eq!(
            format!("{direct:#?}"),
            format!("{tree:#?}"),
            "the direct path differs from the tree path"
        ),
        Err(e) => panic!("the direct path read a scenario the tree path refuses: {e}"),
    }
}

/// The scenario's YAML budgets.
fn scenario_limits() -> yaml::Limits {
    use crate::limits::{get_usize, Limit};
    let nodes = get_usize(Limit::ScenarioNodes);
    yaml::Limits {
        max_depth: get_usize(Limit::ScenarioDepth),
        max_nodes: nodes,
        max_file_nodes: nodes,
        ..yaml::Limits::default()
    }
}

/// The scenario typed straight from the text (`load::direct`), or `None` on anything the
/// direct path does not read or any problem at all: the tree path then reads the file and
/// words the problem with its position. A connection's location (`ConnectionSpec::location`)
/// needs the tree, so a scenario with connections declines too.
fn parse_direct(text: &str, limits: yaml::Limits) -> Option<Scenario> {
    let (file, cost) = direct::from_text::<ScenarioFile>(text, limits, DIALECT)?;
    let declined = std::cell::Cell::new(false);
    let scenario = file.resolve(|_, _| {
        declined.set(true);
        ScenarioError::file("", "")
    });
    let scenario = scenario.ok().filter(|_| !declined.get())?;
    // Last, so that a declined file is charged once (by the tree path).
    cost.commit().then_some(scenario)
}

/// The tree path: the YAML span tree, typed (`typed::from_node`), then resolved; every
/// error is located in the file.
fn parse_tree(
    name: &str,
    text: &str,
    limits: yaml::Limits,
    leak_tree: bool,
) -> Result<Scenario, ScenarioError> {
    let src = SourceFile::new(name, text);
    let Some(doc) = typed::parse_yaml(&src, limits)?.into_iter().next() else {
        return Err(ScenarioError::file(name, "the scenario file is empty"));
    };
    typed::reject_duplicates(&src, &doc)?;
    let Some(root) = doc.root else {
        return Err(ScenarioError::file(name, "the scenario file is empty"));
    };
    let file: ScenarioFile = typed::from_node(&src, &root, DIALECT, describe)?;
    let scenario = file.resolve(|ptr, msg| ScenarioError::at_pointer(&src, &root, ptr, msg));
    if leak_tree {
        std::mem::forget(root);
    }
    scenario
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// Scenarios `parse` read by the direct path (on this test's thread).
        pub(super) static DIRECT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The fuzz target's hook: quiet on a file both paths read alike (the direct path does
    /// read it, so the comparison ran), on one the direct path declines (it has connections)
    /// and on a broken one.
    #[test]
    fn the_fuzz_hook_compares_the_paths() {
        let text = "requests:\n  - name: a\n    request: {path: /x, headers: {k: v}}\n    expect: {status: 200}\n";
        assert_paths_agree(text);
        assert!(parse_direct(text, scenario_limits()).is_some());
        assert_paths_agree("connections:\n  - name: c\n    events: [{downstream: hi}]\n");
        assert_paths_agree("requests: [");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Some(5_000_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("1m"), Some(60_000_000_000));
        assert_eq!(parse_duration("2"), Some(2_000_000_000));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_scenario("s.yaml", "requests:\n  - name: a\n    bogus: 1\n").unwrap_err();
        assert_eq!(e.location.line, 3);
        assert!(e.message.contains("bogus"));
        let e = parse_scenario("s.yaml", "requests:\n  - advance: later\n").unwrap_err();
        assert!(e.message.contains("duration"));
    }

    fn err(text: &str) -> String {
        parse_scenario("s.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn messages_and_positions_are_those_of_the_hand_written_reader() {
        let cases = [
            ("~\n", "s.yaml:1:1: the scenario must be a mapping"),
            ("\n", "s.yaml:1:1: the scenario file is empty"),
            ("workload: x\n", "s.yaml:1:1: the scenario needs a `requests` list (or `connections`)"),
            ("properties: {a: [1]}\nrequests: []\n", "s.yaml:1:17: property value must be a string"),
            ("requests: [1]\n", "s.yaml:1:12: a request entry must be a mapping"),
            ("requests: [{request: {headers: {A: [x]}}}]\n", "s.yaml:1:36: headers value must be a string"),
            ("requests: [{request: {chunks: a}}]\n", "s.yaml:1:31: chunks must be a list of strings"),
            ("requests: [{request: {body: a, chunks: [b]}}]\n", "s.yaml:1:29: give either body or chunks, not both"),
            ("requests: [{http_calls: [{path: x}]}]\n", "s.yaml:1:26: an http_calls entry needs `cluster`"),
            ("requests: [{upstream: {status: 1000}}]\n", "s.yaml:1:32: status must be between 100 and 999"),
            ("requests: [{upstream: {bogus: 1}}]\n", "s.yaml:1:24: unknown key \"bogus\" in upstream (expected one of: status, headers, body, chunks, trailers)"),
            ("requests: [{expect: {upstream_called: yes}}]\n", "s.yaml:1:39: upstream_called must be true or false"),
            ("requests: [{expect: {response_headers: {a: [1]}}}]\n", "s.yaml:1:44: response_headers must be a string"),
            ("requests: [{expect: {logs: [[a]]}}]\n", "s.yaml:1:29: log entry must be a string or a mapping of level, message, regex"),
            ("requests: [{expect: {metrics: {chunks: x}}}]\n", "s.yaml:1:40: metric value must be an integer"),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text}");
        }
    }

    #[test]
    fn errors_of_steps_logs_and_startup_are_located() {
        let cases = [
            ("requests: [{advance: 1s, expect: {status: 200}}]\n", "s.yaml:1:43: `status` needs a request: this step only advances time (add `request:`)"),
            ("requests: [{advance: 1s, expect: {response_body: x}}]\n", "s.yaml:1:50: `response_body` needs a request: this step only advances time (add `request:`)"),
            ("requests: [{expect: {logs: [{regex: '('}]}}]\n", "s.yaml:1:37: invalid regex: unclosed group"),
            ("requests: [{expect: {no_logs: [{message: a, regex: b}]}}]\n", "s.yaml:1:52: give either message or regex, not both"),
            ("requests: [{expect: {logs_exact: [{level: loud}]}}]\n", "s.yaml:1:43: expected trace, debug, info, warn, error or critical, not \"loud\""),
            ("requests: [{expect: {logs: [{lvl: info}]}}]\n", "s.yaml:1:30: unknown key \"lvl\" in log entry (expected one of: level, message, regex)"),
            ("requests: [{expect: {logs_exact: a}}]\n", "s.yaml:1:34: logs_exact must be a list of log lines"),
            ("startup: {zzz: 1}\nrequests: []\n", "s.yaml:1:11: unknown key \"zzz\" in startup (expected one of: result, logs, no_logs, logs_exact, metrics, tick_period, grpc_calls, grpc_calls_made, http_calls, http_calls_made)"),
            ("startup: {tick_period: soon}\nrequests: []\n", "s.yaml:1:24: cannot read duration \"soon\" (use e.g. 5s, 250ms, 1m)"),
            ("startup: {logs: [{regex: '[a'}]}\nrequests: []\n", "s.yaml:1:26: invalid regex: unclosed character class"),
            ("requests: [{expect: {calls: [{count: -1}]}}]\n", "s.yaml:1:38: count must be 0 or more"),
            ("requests: [{expect: {calls: [{clutser: a}]}}]\n", "s.yaml:1:31: unknown key \"clutser\" in a calls entry (expected one of: cluster, headers, body, count)"),
            ("requests: [{expect: {calls: [{headers: {a: [1]}}]}}]\n", "s.yaml:1:44: headers value must be a string"),
            ("requests: [{expect: {metrics: {m: {type: meter}}}}]\n", "s.yaml:1:42: expected counter, gauge or histogram, not \"meter\""),
            ("requests: [{expect: {metrics: {m: {value: x}}}}]\n", "s.yaml:1:43: value must be an integer"),
            ("requests: [{expect: {metrics: {m: {kind: x}}}}]\n", "s.yaml:1:36: unknown key \"kind\" in metric value (expected one of: type, value)"),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text}");
        }
    }

    /// Entries are resolved as they are read: still, a later entry's typing error wins over
    /// an earlier entry's resolve error, the first entry's error over a later one's, and
    /// `startup`'s over any entry's (the order when all entries were read first).
    #[test]
    fn request_errors_keep_their_order() {
        let cases = [
            ("requests: [{request: {body: a, chunks: [b]}}, {upstream: {status: 1000}}]\n", "s.yaml:1:67: status must be between 100 and 999"),
            ("requests: [{request: {body: a, chunks: [b]}}, {request: {body: c, chunks: [d]}}]\n", "s.yaml:1:29: give either body or chunks, not both"),
            ("startup: {logs: [{regex: '[a'}]}\nrequests: [{request: {body: a, chunks: [b]}}]\n", "s.yaml:1:26: invalid regex: unclosed character class"),
            ("requests:\n  - name: a\n  - request: {body: a, chunks: [b]}\n  - advance: soon\n", "s.yaml:4:14: cannot read duration \"soon\" (use e.g. 5s, 250ms, 1m)"),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "{text}");
        }
    }

    #[test]
    fn advance_alone_is_a_time_only_step() {
        let sc = parse_scenario(
            "s.yaml",
            "requests:\n  - advance: 1s\n    expect: {http_calls: 1}\n  - advance: 1s\n    request: {}\n  - advance: 1s\n    upstream: {status: 503}\n  - name: plain\n",
        )
        .unwrap();
        let kinds: Vec<bool> = sc.requests.iter().map(|r| r.time_only).collect();
        assert_eq!(kinds, [true, false, false, false]);
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_scenario("s.yaml", "requests:\n  - name: a\n    name: b\n").unwrap_err();
        assert_eq!(e.message, "duplicate key `name`");
        assert_eq!((e.location.line, e.location.column), (3, 5));
        assert!(e.help.unwrap().contains("line 2, column 5"));
    }

    #[test]
    fn reads_a_full_request() {
        let sc = parse_scenario(
            "s.yaml",
            "workload: shop/web\nproperties: {a.b: 1}\nrequests:\n  - advance: 1s\n    request: {path: /x, headers: {X-A: 1}, chunks: [a, b]}\n    http_calls: [{cluster: 'auth*'}]\n    upstream: {status: '404'}\n    expect: {status: 404, response_headers: {X-Gone: ~}, metrics: {m: '2'}}\n",
        )
        .unwrap();
        let r = &sc.requests[0];
        assert_eq!(sc.properties["a.b"], "1");
        assert_eq!(
            (r.name.as_str(), r.advance_ns),
            ("request 1", 1_000_000_000)
        );
        assert_eq!(r.headers, vec![("x-a".to_string(), "1".to_string())]);
        assert_eq!(r.chunks, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(r.http_calls[0].response.status, 200);
        assert_eq!(r.upstream.as_ref().unwrap().status, 404);
        assert_eq!(
            r.expect.response_headers,
            vec![("x-gone".to_string(), None)]
        );
        let want = MetricWant {
            kind: None,
            value: Some(2),
        };
        assert_eq!(r.expect.metrics, vec![("m".to_string(), want)]);
    }
}
