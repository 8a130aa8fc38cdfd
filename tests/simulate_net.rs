//! Network (TCP) filters: `connections:` scenarios run `proxy_on_new_connection`,
//! downstream/upstream data and the close callbacks in Envoy's order, with the
//! DownstreamData/UpstreamData buffers, StopIteration buffering, continue and close
//! (WAT module `sim_tcp_upper`).

mod common;

use common::{bin, wat_module};
use meshext_lint::simulate::{
    self, parse_scenario, ExtensionFilter, SimFilter, SimOptions, SimReport,
};
use std::sync::Arc;

fn plugin(name: &str, module: &Arc<Vec<u8>>) -> SimFilter {
    SimFilter::Extension(ExtensionFilter {
        name: name.into(),
        namespace: "default".into(),
        module: module.clone(),
        root_id: format!("{name}_root"),
        plugin_name: name.into(),
        share_vm: true,
        ..Default::default()
    })
}

fn run(chain: &[SimFilter], yaml: &str) -> SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let r = simulate::run_scenario(chain, &sc, &SimOptions::default());
    eprintln!("{}", simulate::render::human(&r));
    r
}

/// `filter callback result` per event, then the logs, of connection `i`.
fn calls(r: &SimReport, i: usize) -> Vec<String> {
    (r.connections[i].trace.iter())
        .map(|e| format!("{} {} {}", e.filter, e.callback, e.result))
        .collect()
}

fn logs(r: &SimReport, i: usize) -> Vec<String> {
    (r.connections[i].trace.iter())
        .flat_map(|e| e.logs.iter().map(|l| l.message.clone()))
        .collect()
}

#[test]
fn callbacks_run_in_envoys_order_and_paused_data_accumulates() {
    let m = wat_module("sim_tcp_upper");
    let r = run(
        &[plugin("up", &m)],
        "connections:\n  - name: lines\n    events:\n      - downstream: \"hel\"\n      - downstream: \"lo\\n\"\n      - upstream: \"ok\"\n      - close: upstream\n",
    );
    assert_eq!(r.errors, Vec::<String>::new());
    let c = &r.connections[0];
    assert_eq!(
        calls(&r, 0),
        [
            "default/up proxy_on_new_connection Continue",
            "default/up proxy_on_downstream_data StopIteration",
            "default/up proxy_on_downstream_data Continue",
            "default/up proxy_on_upstream_data Continue",
            "default/up proxy_on_upstream_data Continue",
            "default/up proxy_on_upstream_connection_close done",
            "default/up proxy_on_downstream_connection_close done",
            "default/up proxy_on_done done",
            "default/up proxy_on_log done",
        ]
    );
    // The held "hel" is offered again with "lo\n": the buffer grows while the filter stops.
    assert_eq!(
        logs(&r, 0),
        [
            "new connection",
            "down:hel",
            "down:hello\n",
            "up:ok",
            "down buffer=1",
            "up:",
            "down buffer=1",
            "upstream closed",
            "closed peer=1",
            "log"
        ]
    );
    assert_eq!(c.upstream_received, b"HELLO\n");
    assert_eq!(c.downstream_received, b"ok");
    assert_eq!(c.closed_by, "upstream");
    assert_eq!(r.metrics.get("tcp_bytes_total"), Some(&6));
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn close_stream_closes_and_continue_stream_resumes() {
    let m = wat_module("sim_tcp_upper");
    let r = run(
        &[plugin("up", &m)],
        "connections:\n  - name: resumed\n    events: [{downstream: \"resume\\n\"}]\n    expect: {upstream_received: \"resume\\n\", closed_by: downstream, logs: [closed peer=2]}\n  - name: quit\n    events: [{downstream: \"quit\\n\"}, {downstream: \"late\\n\"}, {upstream: x}]\n    expect:\n      upstream_received: \"\"\n      downstream_received: \"\"\n      closed_by: plugin\n      logs_exact: [new connection, \"down:quit\\n\", closed peer=1, log]\n",
    );
    assert!(
        r.connections.iter().all(|c| c.passed()),
        "{:?}",
        r.connections
    );
    // The resumed line passed although the callback returned StopIteration.
    assert_eq!(r.connections[0].upstream_received, b"resume\n");
    // Nothing after the close is delivered.
    assert_eq!(r.connections[1].closed_by, "plugin");
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn two_filters_read_in_order_and_write_in_reverse() {
    let m = wat_module("sim_tcp_upper");
    let r = run(
        &[plugin("a", &m), plugin("b", &m)],
        "connections:\n  - events: [{downstream: \"x\\n\"}, {upstream: \"y\"}]\n",
    );
    let order: Vec<String> = calls(&r, 0).into_iter().take(7).collect();
    assert_eq!(
        order,
        [
            "default/a proxy_on_new_connection Continue",
            "default/b proxy_on_new_connection Continue",
            "default/a proxy_on_downstream_data Continue",
            "default/b proxy_on_downstream_data Continue",
            "default/b proxy_on_upstream_data Continue",
            "default/a proxy_on_upstream_data Continue",
            "default/a proxy_on_downstream_connection_close done",
        ]
    );
    assert_eq!(r.connections[0].name, "connection 1");
    assert_eq!(r.connections[0].closed_by, "downstream");
}

#[test]
fn failed_expectations_fail_the_run() {
    let m = wat_module("sim_tcp_upper");
    let r = run(
        &[plugin("up", &m)],
        "connections:\n  - events: [{downstream: \"a\\n\"}]\n    expect: {upstream_received: \"a\\n\", closed_by: upstream, metrics: {tcp_bytes_total: 5}}\n",
    );
    let failed: Vec<String> = (r.connections[0].checks.iter())
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {} / {}", c.what, c.expected, c.actual))
        .collect();
    assert_eq!(
        failed,
        [
            "upstream received: \"a\\n\" / \"A\\n\"",
            "closed by: upstream / downstream",
            "metric tcp_bytes_total: 5 / 2",
        ]
    );
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn an_http_module_run_as_a_connection_is_a_located_error() {
    let http = wat_module("sim_body_buffer");
    let r = run(
        &[plugin("body", &http)],
        "requests: []\nconnections:\n  - name: tcp\n    events: [{downstream: a}]\n",
    );
    assert_eq!(
        r.errors,
        ["s.yaml:3:5: connection \"tcp\": the module of `default/body` exports no network callback (proxy_on_new_connection, proxy_on_downstream_data, proxy_on_upstream_data): it is an HTTP filter, run it with `requests:`"]
    );
    assert_eq!(r.exit_code(), 2);
}

#[test]
fn bad_connection_entries_are_located_errors() {
    let cases = [
        ("workload: x\n", "s.yaml:1:1: the scenario needs a `requests` list (or `connections`)"),
        ("connections: [{events: [{}]}]\n", "s.yaml:1:25: an event needs one of `downstream`, `upstream`, `close` or `advance`"),
        ("connections: [{events: [{downstream: a, close: upstream}]}]\n", "s.yaml:1:48: an event has one of `downstream`, `upstream`, `close` or `advance`, not several (make it two events)"),
        ("connections: [{events: [{close: left}]}]\n", "s.yaml:1:33: expected downstream or upstream, not \"left\""),
        ("connections: [{events: [{send: a}]}]\n", "s.yaml:1:26: unknown key \"send\" in an event (expected one of: downstream, upstream, close, advance, end_stream)"),
        ("connections: [{expect: {closed_by: me}}]\n", "s.yaml:1:36: expected downstream, upstream or plugin, not \"me\""),
        ("connections: [{expect: {status: 200}}]\n", "s.yaml:1:25: unknown key \"status\" in expect (expected one of: upstream_received, downstream_received, closed_by, logs, no_logs, logs_exact, metrics, http_calls, calls, grpc_calls, callbacks)"),
        ("connections: [{bogus: 1}]\n", "s.yaml:1:16: unknown key \"bogus\" in a connection entry (expected one of: name, events, http_calls, grpc_calls, expect)"),
        ("connections: [{expect: {logs: [{regex: '('}]}}]\n", "s.yaml:1:40: invalid regex: unclosed group"),
        ("connections: [{events: a}]\n", "s.yaml:1:24: events must be a list"),
        ("connections: [{events: [{downstream: a, end_stream: true}, {downstream: b}]}]\n", "s.yaml:1:73: the downstream already ended its side (`end_stream: true` in an earlier event): it sends nothing more"),
        ("connections: [{events: [{upstream: a, end_stream: true}, {upstream: b}]}]\n", "s.yaml:1:69: the upstream already ended its side (`end_stream: true` in an earlier event): it sends nothing more"),
        ("connections: [{events: [{close: upstream, end_stream: true}]}]\n", "s.yaml:1:55: `end_stream` goes with `downstream` or `upstream` bytes, not `close`"),
        ("connections: [{events: [{advance: soon}]}]\n", "s.yaml:1:35: cannot read duration \"soon\" (use e.g. 5s, 250ms, 1m)"),
    ];
    for (text, want) in cases {
        let e = parse_scenario("s.yaml", text).unwrap_err().to_string();
        assert_eq!(e, want, "{text}");
    }
}

#[test]
fn connections_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("tcp.wasm");
    std::fs::write(&module, &*wat_module("sim_tcp_upper")).unwrap();
    let sc = format!(
        "{}/tests/fixtures/scenarios/sim_tcp_upper.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = bin()
        .args(["simulate", "--scenario"])
        .arg(&sc)
        .arg("--module")
        .arg(&module)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("connection: shout [pass]"), "{stdout}");
    assert!(stdout.contains("connection: quit [pass]"), "{stdout}");
    assert!(
        stdout
            .contains("upstream received \"HI\\n\", client received \"ho\", closed by downstream"),
        "{stdout}"
    );
    let json = bin()
        .args(["simulate", "--format", "json", "--scenario"])
        .arg(&sc)
        .arg("--module")
        .arg(&module)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["connections"][0]["upstream_received"], "HI\n");
    assert_eq!(v["connections"][0]["closed_by"], "downstream");

    // An HTTP module as a connection: the error points at the entry, exit 2.
    let http = dir.path().join("http.wasm");
    std::fs::write(&http, &*wat_module("sim_body_buffer")).unwrap();
    let out = bin()
        .args(["simulate", "--scenario"])
        .arg(&sc)
        .arg("--module")
        .arg(&http)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("sim_tcp_upper.yaml:5:5: connection \"shout\": the module of"),
        "{text}"
    );
}

#[test]
fn nothing_is_delivered_after_the_client_closes() {
    let m = wat_module("sim_tcp_upper");
    let r = run(
        &[plugin("up", &m)],
        "connections:\n  - events: [{downstream: \"a\\n\"}, {close: downstream}, {downstream: \"b\\n\"}, {upstream: c}]\n    expect: {upstream_received: \"A\\n\", downstream_received: \"\", closed_by: downstream, logs_exact: [new connection, \"down:a\\n\", closed peer=2, log]}\n",
    );
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn the_read_buffer_stays_available_while_a_filter_holds_it() {
    let m = wat_module("sim_tcp_upper");
    // "wait" has no newline: the filter stops and keeps DownstreamData (Envoy keeps
    // `network_downstream_data_buffer_` unless the result is Continue).
    let r = run(
        &[plugin("up", &m)],
        "connections:\n  - events: [{downstream: wait}, {upstream: x}, {downstream: \"\\n\"}, {upstream: y}]\n    expect: {upstream_received: \"WAIT\\n\", downstream_received: xy}\n",
    );
    let l = logs(&r, 0);
    let status: Vec<&String> = l.iter().filter(|m| m.starts_with("down buffer=")).collect();
    assert_eq!(status, ["down buffer=0", "down buffer=1"]);
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
}

/// `sim_grpc_wait`: logs "down"/"down end" and "up"/"up end" by end_of_stream, and waits for a
/// gRPC answer in on_new_connection (answered at once here).
const HALF: &str = "    grpc_calls: [{service: auth.v1.Auth, response: {messages: [yes]}}]\n";

fn net_logs(r: &SimReport) -> Vec<String> {
    logs(r, 0)
        .into_iter()
        .filter(|l| l != "msg:yes" && l != "new")
        .collect()
}

#[test]
fn half_closes_carry_end_of_stream_and_keep_the_other_direction_open() {
    let m = wat_module("sim_grpc_wait");
    // The client ends its side with its last bytes: on_downstream_data(end_of_stream = 1); the
    // upstream still answers; once it ends too, Envoy closes the connection (REMOTE).
    let r = run(
        &[plugin("w", &m)],
        &format!("connections:\n  - events: [{{downstream: hi, end_stream: true}}, {{upstream: ok}}, {{upstream: \"!\", end_stream: true}}]\n{HALF}    expect: {{upstream_received: hi, downstream_received: ok!, closed_by: upstream}}\n"),
    );
    assert_eq!(r.errors, Vec::<String>::new());
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
    assert_eq!(
        net_logs(&r),
        [
            "down end",
            "up",
            "up end",
            "upstream closed",
            "closed peer=2"
        ]
    );

    // The upstream ends first (on_upstream_data with end_of_stream, then
    // on_upstream_connection_close as Envoy's `Context::onWrite` does); the client keeps
    // sending, then closes.
    let r = run(
        &[plugin("w", &m)],
        &format!("connections:\n  - events: [{{upstream: a, end_stream: true}}, {{downstream: b}}, {{downstream: \"\", end_stream: true}}]\n{HALF}    expect: {{upstream_received: b, downstream_received: a, closed_by: downstream}}\n"),
    );
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
    assert_eq!(
        net_logs(&r),
        [
            "up end",
            "upstream closed",
            "down",
            "down end",
            "closed peer=2"
        ]
    );

    // A half-close alone leaves the connection open; the client's full close ends it, and a
    // later `close: upstream` is not delivered (the connection is gone).
    let r = run(
        &[plugin("w", &m)],
        &format!("connections:\n  - events: [{{downstream: \"\", end_stream: true}}, {{upstream: x}}, {{close: downstream}}, {{close: upstream}}]\n{HALF}    expect: {{downstream_received: x, closed_by: downstream}}\n"),
    );
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
    assert_eq!(net_logs(&r), ["down end", "up", "closed peer=2"]);

    // A write filter that stops the upstream's end holds the client's side open: the
    // client's half-close then does not close the connection, the upstream's full close
    // does (LOCAL).
    let r = run(
        &[plugin("w", &m)],
        &format!("connections:\n  - events: [{{upstream: hold, end_stream: true}}, {{downstream: \"\", end_stream: true}}, {{close: upstream}}]\n{HALF}    expect: {{downstream_received: \"\", closed_by: upstream}}\n"),
    );
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
    assert_eq!(
        net_logs(&r),
        ["up end", "upstream closed", "down end", "closed peer=1"]
    );
    let held = (r.connections[0].trace.iter())
        .find(|e| e.callback == "proxy_on_upstream_data")
        .unwrap();
    assert_eq!(held.result, "StopIteration");

    // `close: upstream` after the upstream's half-close: no second end_of_stream.
    let r = run(
        &[plugin("w", &m)],
        &format!("connections:\n  - events: [{{upstream: x, end_stream: true}}, {{close: upstream}}]\n{HALF}    expect: {{closed_by: upstream}}\n"),
    );
    assert!(r.connections[0].passed(), "{:?}", r.connections[0].checks);
    assert_eq!(net_logs(&r), ["up end", "upstream closed", "closed peer=1"]);
}

/// A network filter's HTTP callout is answered from the connection's `http_calls` after the
/// callback that made it returns; the answer's callback resumes the held read path (or closes
/// the connection), a delayed answer waits for `advance`, and a call past its timeout gets
/// Envoy's 504. `expect.calls` / `expect.http_calls` see the calls.
#[test]
fn network_filters_get_http_callout_answers() {
    let m = wat_module("sim_tcp_auth");
    let chain = [plugin("auth", &m)];
    let r = run(
        &chain,
        r#"connections:
  - name: allowed
    http_calls: [{cluster: auth, path: /check, response: {status: 200}}]
    events:
      - downstream: "hi"
    expect:
      upstream_received: hi
      http_calls: 1
      calls: [{cluster: auth, headers: {":path": /check}, count: 1}]
      logs_exact: ["answer:200"]
  - name: denied
    http_calls: [{cluster: auth, response: {status: 403}}]
    events:
      - downstream: "hi"
    expect: {upstream_received: "", closed_by: plugin, logs_exact: ["answer:403"]}
  - name: late
    http_calls: [{cluster: auth, delay: 100ms, response: {status: 200}}]
    events:
      - downstream: "a"
      - advance: 50ms
      - downstream: "b"
      - advance: 50ms
      - downstream: "c"
    expect: {upstream_received: abc, logs_exact: ["answer:200"]}
  - name: too late
    http_calls: [{cluster: auth, delay: 2s, response: {status: 200}}]
    events:
      - downstream: "a"
      - advance: 1s
    expect: {upstream_received: "", closed_by: plugin, logs_exact: ["answer:504"]}
"#,
    );
    for (i, c) in r.connections.iter().enumerate() {
        let failed: Vec<_> = (c.checks.iter().filter(|c| !c.ok))
            .map(|c| format!("{}: expected {}, got {}", c.what, c.expected, c.actual))
            .collect();
        assert!(failed.is_empty(), "connection {i}: {failed:#?}");
    }
    // The first connection's data passed only after the answer: the data callback held it.
    assert!(
        calls(&r, 2)
            .iter()
            .any(|c| c.contains("proxy_on_http_call_response")),
        "{:#?}",
        calls(&r, 2)
    );
    assert_eq!(r.connections[0].http_calls.len(), 1);
    // A wrong count fails.
    let r = run(
        &chain,
        "connections:\n  - http_calls: [{cluster: auth}]\n    events: [{downstream: x}]\n    expect: {http_calls: 2}\n",
    );
    assert!(!r.connections[0].passed());
}

/// The deny-all stand-in istio-agent puts in place of an unfetchable FAIL_CLOSE NETWORK
/// plugin (Istio 1.25+) is a network RBAC filter with empty rules: the first bytes that reach
/// it close the connection; filters before it still see them, filters after it do not.
#[test]
fn the_deny_all_stand_in_closes_a_connection_at_its_first_bytes() {
    let m = wat_module("sim_tcp_upper");
    let deny = SimFilter::Builtin {
        name: "wasm-default-deny (default/x: module not fetched, FAIL_CLOSE)".into(),
    };
    let scenario = "connections:\n  - events: [{downstream: \"hi\\n\"}, {upstream: \"ok\"}]\n";
    let r = run(&[plugin("up", &m), deny.clone()], scenario);
    let c = &r.connections[0];
    assert_eq!(c.closed_by, "plugin");
    assert!(c.upstream_received.is_empty() && c.downstream_received.is_empty());
    assert!(
        logs(&r, 0).iter().any(|l| l == "down:hi\n"),
        "{:?}",
        logs(&r, 0)
    );
    assert!(calls(&r, 0)
        .iter()
        .any(|e| e.contains("denied: connection closed")));
    // In front of the plugin: the plugin starts but never sees the bytes.
    let r = run(&[deny, plugin("up", &m)], scenario);
    assert_eq!(r.connections[0].closed_by, "plugin");
    assert!(
        !logs(&r, 0).iter().any(|l| l.starts_with("down:")),
        "{:?}",
        logs(&r, 0)
    );
    // Another built-in passes the bytes on.
    let other = SimFilter::Builtin {
        name: "istio.stats".into(),
    };
    let r = run(&[plugin("up", &m), other], scenario);
    assert_eq!(r.connections[0].upstream_received, b"HI\n");
}

/// A connection's `expect.callbacks`: the filter stops on a partial line and continues on a
/// whole one; a wrong expectation fails the connection.
#[test]
fn connection_callback_expectations() {
    let m = wat_module("sim_tcp_upper");
    let scenario = |want: &str| {
        format!(
            "connections:\n  - name: lines\n    events: [{{downstream: \"hel\"}}, {{downstream: \"lo\\n\"}}, {{close: upstream}}]\n    expect:\n      callbacks:\n{want}"
        )
    };
    let ok = "        - {callback: on_new_connection, filter: up, result: Continue, count: 1}\n        - {callback: on_downstream_data, result: StopIteration, count: 1}\n        - {callback: on_downstream_data, result: Pause, count: 1}\n        - {callback: on_downstream_data, result: Continue, count: 1}\n        - {callback: on_upstream_connection_close, result: done}\n";
    let r = run(&[plugin("up", &m)], &scenario(ok));
    assert!(r.connections[0].passed(), "{:#?}", r.connections[0].checks);
    assert_eq!(r.connections[0].checks.len(), 5);
    let bad = "        - {callback: on_downstream_data, result: Continue, count: 2}\n";
    let r = run(&[plugin("up", &m)], &scenario(bad));
    let c = &r.connections[0].checks[0];
    assert!(!c.ok);
    assert_eq!(
        c.actual, "1 (other results: default/up: StopIteration)",
        "{c:?}"
    );
    assert_ne!(r.exit_code(), 0);
}
