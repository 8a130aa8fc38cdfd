//! gRPC callouts answered from the scenario (`grpc_calls:`) in Envoy's callback order, and
//! `expect.grpc_calls`, on a WAT module that opens a unary call per request and a stream per
//! tick (tests/fixtures/wat/sim_grpc.wat).

use meshext_lint::simulate::{self, parse_scenario, ExtensionFilter, SimFilter, SimOptions};
use std::sync::Arc;

fn chain() -> Vec<SimFilter> {
    let p = format!(
        "{}/tests/fixtures/wat/sim_grpc.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let module = Arc::new(wat::parse_file(&p).unwrap());
    vec![
        SimFilter::Extension(ExtensionFilter {
            name: "g".into(),
            namespace: "ns".into(),
            module,
            root_id: "g_root".into(),
            plugin_name: "g".into(),
            ..Default::default()
        }),
        SimFilter::Builtin {
            name: "router".into(),
        },
    ]
}

fn run(yaml: &str) -> simulate::SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let r = simulate::run_scenario(&chain(), &sc, &SimOptions::default());
    eprintln!("{}", simulate::render::human(&r));
    // Every report these tests make (gRPC calls, streams, failures) is written as serde_json
    // writes it.
    let json = simulate::render::json(&r);
    assert_eq!(json, serde_json::to_string_pretty(&r).unwrap());
    r
}

fn failed(r: &simulate::SimReport) -> Vec<String> {
    (r.requests.iter().flat_map(|q| q.checks.iter()))
        .filter(|c| !c.ok)
        .map(|c| c.what.clone())
        .collect()
}

/// Callback names and log messages of a step, in order.
fn events(r: &simulate::SimReport, step: usize) -> Vec<String> {
    let mut out = Vec::new();
    for e in &r.requests[step].trace {
        if e.callback.contains("grpc") {
            out.push(e.callback.split('(').next().unwrap().to_string());
            out.extend(e.logs.iter().map(|l| format!("  {}", l.message)));
        }
    }
    out
}

#[test]
fn unary_call_answered_by_service_method_and_cluster() {
    let r = run(r#"requests:
  - grpc_calls:
      - service: auth.v1.Auth
        method: Check
        cluster: authz
        response: {messages: [{base64: "b2s="}]}
    expect:
      status: 200
      grpc_calls: [{service: auth.v1.Auth, method: Check, cluster: authz, message: req, count: 1}]
      logs_exact: [ok]
"#);
    assert_eq!(failed(&r), Vec::<String>::new());
    assert_eq!(events(&r, 0), ["proxy_on_grpc_receive", "  ok"]);
    let call = &r.requests[0].grpc_calls[0];
    assert!(call.matched && !call.stream && call.cluster == "authz");

    // A failure status: only on_grpc_close, with the status message; no receive.
    let r = run(r#"requests:
  - grpc_calls: [{service: "auth.*", response: {status: 7, message: denied}}]
    expect: {metrics: {grpc_status: 7}}
"#);
    assert_eq!(failed(&r), Vec::<String>::new());
    assert_eq!(events(&r, 0), ["proxy_on_grpc_close", "  denied"]);

    // OK without a message is INTERNAL (13), as Envoy's async client reports it.
    let r = run("requests:\n  - grpc_calls: [{service: auth.v1.Auth}]\n    expect: {metrics: {grpc_status: 13}}\n");
    assert_eq!(failed(&r), Vec::<String>::new());
}

#[test]
fn unmatched_call_is_closed_unavailable_and_reported() {
    let r = run(r#"requests:
  - grpc_calls: [{service: auth.v1.Auth, method: Other}]
    expect: {metrics: {grpc_status: 14}, grpc_calls: [{service: auth.v1.Auth, count: 1}]}
"#);
    assert_eq!(failed(&r), Vec::<String>::new());
    let q = &r.requests[0];
    assert!(!q.grpc_calls[0].matched);
    let close = q
        .trace
        .iter()
        .find(|e| e.callback.contains("grpc_close"))
        .unwrap();
    assert!(
        close.result.contains("no grpc_calls entry matched"),
        "{}",
        close.result
    );

    // Wrong expectations fail and list the calls made.
    let r = run("requests:\n  - expect: {grpc_calls: [{method: Nope}, {service: auth.v1.Auth, count: 2}, {message: zzz}]}\n");
    assert_eq!(failed(&r).len(), 3);
    let c = &r.requests[0].checks[0];
    assert!(
        c.actual.contains("auth.v1.Auth/Check on \"authz\""),
        "{}",
        c.actual
    );
}

#[test]
fn streams_from_ticks_in_envoys_order_closed_by_either_side() {
    // The server closes after its messages.
    let r = run(r#"requests:
  - advance: 1s
    grpc_calls:
      - service: chat.v1.Chat
        method: Talk
        cluster: chat-cluster
        response:
          initial_metadata: {x-init: i1}
          messages: [m1, m2]
          trailing_metadata: {x-trail: t1}
          status: 0
          message: bye
    expect:
      grpc_calls: [{service: chat.v1.Chat, method: Talk, message: hello, count: 1}]
      http_calls: 2
      calls: [{cluster: audit, headers: {":path": /stats}, count: 2}]
      metrics: {grpc_status: 0}
"#);
    assert_eq!(failed(&r), Vec::<String>::new());
    assert_eq!(
        events(&r, 0),
        [
            "proxy_on_grpc_receive_initial_metadata",
            "  i1",
            "proxy_on_grpc_receive",
            "  m1",
            "proxy_on_grpc_receive",
            "  m2",
            "proxy_on_grpc_receive_trailing_metadata",
            "  t1",
            "proxy_on_grpc_close",
            "  bye",
        ]
    );
    // The HTTP calls made meanwhile are answered after the close (one burst from the server).
    let names: Vec<&str> = (r.requests[0].trace.iter())
        .map(|e| e.callback.as_ref())
        .collect();
    let close = names
        .iter()
        .position(|n| n.starts_with("proxy_on_grpc_close"))
        .unwrap();
    let answer = names
        .iter()
        .position(|n| n.starts_with("proxy_on_http_call_response"))
        .unwrap();
    assert!(close < answer, "{names:?}");
    assert!(r.requests[0].grpc_calls[0].stream);

    // The server waits for the plugin to close its side (it does on the first message), then
    // finishes: the messages already sent still arrive first.
    let r = run(r#"requests:
  - advance: 1s
    grpc_calls:
      - service: chat.v1.Chat
        response: {messages: [m1, m2], trailing_metadata: {x-trail: t2}, status: 2, close: plugin}
    expect: {metrics: {grpc_status: 2}}
"#);
    assert_eq!(failed(&r), Vec::<String>::new());
    let ev = events(&r, 0);
    let tail = [
        "  m2",
        "proxy_on_grpc_receive_trailing_metadata",
        "  t2",
        "proxy_on_grpc_close",
        "  ",
    ];
    assert_eq!(ev[0], "proxy_on_grpc_receive_initial_metadata");
    assert_eq!(&ev[ev.len() - 5..], tail);

    // Held open and never closed by the plugin: no close is delivered.
    let r = run("requests:\n  - advance: 1s\n    grpc_calls: [{service: chat.v1.Chat, response: {close: plugin}}]\n");
    assert!(
        !events(&r, 0).iter().any(|e| e.contains("close")),
        "{:?}",
        events(&r, 0)
    );
}

#[test]
fn bad_grpc_values_are_located() {
    let err = |t: &str| parse_scenario("s.yaml", t).unwrap_err().to_string();
    let cases = [
        ("requests: [{grpc_calls: [{method: x}]}]\n", "s.yaml:1:26: a grpc_calls entry needs `service`"),
        ("requests: [{grpc_calls: [{service: x, response: {status: 17}}]}]\n", "s.yaml:1:58: a gRPC status must be between 0 and 16"),
        ("requests: [{grpc_calls: [{service: x, response: {messages: [{base64: '!!'}]}}]}]\n", "s.yaml:1:61: invalid base64 (standard alphabet, padding optional)"),
        ("requests: [{grpc_calls: [{service: x, response: {close: later}}]}]\n", "s.yaml:1:57: expected server or plugin, not \"later\""),
        ("requests: [{grpc_calls: [{service: x, response: {trailers: {}}}]}]\n", "s.yaml:1:50: unknown key \"trailers\" in response (expected one of: initial_metadata, messages, status, message, trailing_metadata, close)"),
        ("requests: [{expect: {grpc_calls: [{svc: x}]}}]\n", "s.yaml:1:36: unknown key \"svc\" in an expect.grpc_calls entry (expected one of: service, method, cluster, message, count)"),
        ("requests: [{expect: {grpc_calls: [{count: -2}]}}]\n", "s.yaml:1:43: count must be 0 or more"),
        ("requests: [{grpc_calls: [{service: x, delay: later}]}]\n", "s.yaml:1:46: cannot read delay \"later\" (use a duration such as 50ms or 2s, or never)"),
        ("startup: {grpc_calls_made: [{svc: x}]}\n", "s.yaml:1:30: unknown key \"svc\" in a grpc_calls_made entry (expected one of: service, method, cluster, message, count)"),
    ];
    let got: Vec<String> = cases.iter().map(|(t, _)| err(t)).collect();
    let want: Vec<&str> = cases.iter().map(|(_, w)| *w).collect();
    assert_eq!(got, want);
}

/// The chain of `sim_grpc_wait`: calls at start-up, from paused requests and connections.
fn wait_chain() -> Vec<SimFilter> {
    let p = format!(
        "{}/tests/fixtures/wat/sim_grpc_wait.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    vec![SimFilter::Extension(ExtensionFilter {
        name: "w".into(),
        namespace: "ns".into(),
        module: Arc::new(wat::parse_file(&p).unwrap()),
        root_id: "w_root".into(),
        plugin_name: "w".into(),
        ..Default::default()
    })]
}

fn run_wait(yaml: &str) -> simulate::SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let r = simulate::run_scenario(&wait_chain(), &sc, &SimOptions::default());
    eprintln!("{}", simulate::render::human(&r));
    r
}

fn all_failed(r: &simulate::SimReport) -> Vec<String> {
    (r.startup_checks.iter())
        .chain(r.requests.iter().flat_map(|q| q.checks.iter()))
        .chain(r.connections.iter().flat_map(|c| c.checks.iter()))
        .filter(|c| !c.ok)
        .map(|c| format!("{}: expected {}, got {}", c.what, c.expected, c.actual))
        .collect()
}

const AUTH_OK: &str = "{service: auth.v1.Auth, response: {messages: [yes]}";

#[test]
fn delayed_answer_resumes_the_paused_request_after_simulated_time() {
    // 40 ms < the call's 100 ms timeout: the answer arrives, the request goes on.
    let r = run_wait(&format!(
        "requests:\n  - grpc_calls: [{AUTH_OK}, delay: 40ms}}]\n    expect: {{status: 200, upstream_called: true, logs_exact: [\"msg:yes\"]}}\n"
    ));
    assert_eq!(all_failed(&r), Vec::<String>::new());
    assert!(!r.requests[0].stalled);

    // The answer is due after the timeout: Envoy's router times the call out first (envoy_grpc:
    // 14 UNAVAILABLE "upstream request timeout"), and that close resumes the request.
    for delay in ["100ms", "2s", "never"] {
        let r = run_wait(&format!(
            "requests:\n  - grpc_calls: [{AUTH_OK}, delay: {delay}}}]\n    expect: {{status: 200, logs_exact: [\"close:upstream request timeout\"], metrics: {{grpc_status: 14}}}}\n"
        ));
        assert_eq!(all_failed(&r), Vec::<String>::new(), "delay {delay}");
        let close = (r.requests[0].trace.iter())
            .find(|e| e.callback.starts_with("proxy_on_grpc_close"))
            .unwrap();
        assert!(close.callback.ends_with(", 14)"), "{}", close.callback);
        assert!(
            close.result.contains("timed out after 100 ms"),
            "{}",
            close.result
        );
    }

    // Without delay the answer is immediate; a still-pending answer is delivered by a later
    // `advance` (a request that does not wait for it is not held).
    let r = run_wait(&format!(
        "requests:\n  - grpc_calls: [{AUTH_OK}}}]\n    expect: {{logs_exact: [\"msg:yes\"]}}\n"
    ));
    assert_eq!(all_failed(&r), Vec::<String>::new());
}

#[test]
fn timed_answers_and_timeouts_fire_as_advance_passes_them() {
    // The start-up call (timeout 500 ms) answered 300 ms later: only once time has passed.
    let r = run_wait(
        "startup:\n  grpc_calls: [{service: cfg.v1.Config, method: Get, delay: 300ms, response: {messages: [v1]}}]\n  grpc_calls_made: [{service: cfg.v1.Config, cluster: cfg, message: req, count: 1}]\n  no_logs: [\"cfg:\"]\nrequests:\n  - advance: 299ms\n    expect: {no_logs: [\"cfg:\"]}\n  - advance: 1ms\n    expect: {logs_exact: [\"cfg:v1\"]}\n",
    );
    assert_eq!(all_failed(&r), Vec::<String>::new());
    assert!(r.startup_grpc_calls[0].matched);

    // Never answered: the 500 ms timeout closes it during the advance that passes it.
    let r = run_wait(
        "startup:\n  grpc_calls: [{service: cfg.v1.Config, delay: never}]\nrequests:\n  - advance: 499ms\n    expect: {no_logs: [close]}\n  - advance: 1s\n    expect: {logs_exact: [\"close:upstream request timeout\"], metrics: {grpc_status: 14}}\n",
    );
    assert_eq!(all_failed(&r), Vec::<String>::new());
}

#[test]
fn startup_calls_are_answered_right_after_start_and_checked() {
    let r = run_wait(
        "startup:\n  grpc_calls: [{service: cfg.v1.Config, response: {messages: [v2]}}]\n  grpc_calls_made: [{service: cfg.v1.Config, method: Get, count: 1}]\n  logs_exact: [\"cfg:v2\"]\nrequests: []\n",
    );
    assert_eq!(all_failed(&r), Vec::<String>::new());
    assert!(r
        .startup
        .iter()
        .any(|e| e.callback.starts_with("proxy_on_grpc_receive(")));
    // Unanswered at start-up: closed 14 as any unmatched call; a wrong description fails.
    let r = run_wait(
        "startup:\n  grpc_calls_made: [{service: other, count: 1}]\n  logs_exact: [\"close:no grpc_calls entry matched this call\"]\nrequests: []\n",
    );
    assert_eq!(all_failed(&r).len(), 1, "{:?}", all_failed(&r));
}

#[test]
fn network_filters_get_grpc_answers_and_google_grpc_times_out_deadline_exceeded() {
    // on_new_connection stops behind the call; the answer resumes reading.
    let r = run_wait(&format!(
        "connections:\n  - grpc_calls: [{AUTH_OK}}}]\n    events: [{{downstream: hi}}]\n    expect:\n      upstream_received: hi\n      grpc_calls: [{{service: auth.v1.Auth, cluster: \"\", count: 1}}]\n      logs: [\"msg:yes\", down]\n"
    ));
    assert_eq!(all_failed(&r), Vec::<String>::new());
    let names: Vec<&str> = (r.connections[0].trace.iter())
        .map(|e| e.callback.as_ref())
        .collect();
    assert_eq!(
        &names[..3],
        [
            "proxy_on_new_connection",
            "proxy_on_grpc_receive(token 9)",
            "proxy_on_downstream_data"
        ]
    );
    // A google_grpc service's deadline is the gRPC library's: 4 DEADLINE_EXCEEDED, once the
    // connection's `advance` passes the 100 ms timeout. (Bytes that arrive meanwhile reach
    // the filter that stopped in on_new_connection, as Envoy's `onContinueReading` offers
    // them: this module lets them pass.)
    let r = run_wait(
        "connections:\n  - grpc_calls: [{service: auth.v1.Auth, delay: never}]\n    events: [{downstream: hi}, {advance: 99ms}, {downstream: \"!\"}, {advance: 1ms}]\n    expect:\n      upstream_received: hi!\n      logs_exact: [new, down, down, \"close:Deadline Exceeded\", \"closed peer=2\"]\n      metrics: {grpc_status: 4}\n",
    );
    assert_eq!(all_failed(&r), Vec::<String>::new());
    assert!(r.connections[0].grpc_calls[0].matched);
    // A delayed answer within the timeout arrives during the advance.
    let r = run_wait(&format!(
        "connections:\n  - grpc_calls: [{AUTH_OK}, delay: 50ms}}]\n    events: [{{downstream: hi}}, {{advance: 1s}}]\n    expect: {{upstream_received: hi, logs_exact: [new, down, \"msg:yes\", \"closed peer=2\"]}}\n"
    ));
    assert_eq!(all_failed(&r), Vec::<String>::new());
}

/// A module that opens a new 1 ms call in every close: one advance stops after the run's
/// `ticks-per-advance` timer and gRPC events instead of running for as long as fuel lasts.
#[test]
fn a_timeout_loop_is_bounded_per_advance() {
    let p = format!(
        "{}/tests/fixtures/wat/sim_grpc_loop.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let chain = vec![SimFilter::Extension(ExtensionFilter {
        name: "l".into(),
        namespace: "ns".into(),
        module: Arc::new(wat::parse_file(&p).unwrap()),
        root_id: "l_root".into(),
        plugin_name: "l".into(),
        ..Default::default()
    })];
    let sc = parse_scenario(
        "s.yaml",
        "startup:\n  grpc_calls: [{service: loop.v1.Loop, delay: never}]\nrequests:\n  - advance: 1h\n    grpc_calls: [{service: loop.v1.Loop, delay: never}]\n  - advance: 5ms\n    grpc_calls: [{service: loop.v1.Loop, delay: never}]\n",
    )
    .unwrap();
    let r = simulate::run_scenario(&chain, &sc, &SimOptions::default());
    let first = &r.requests[0].trace;
    let closes = first
        .iter()
        .filter(|e| e.callback.starts_with("proxy_on_grpc_close"))
        .count();
    assert_eq!(closes, 10_000);
    assert!(
        first.last().unwrap().result.contains("stopped after 10000"),
        "{:?}",
        first.last()
    );
    // The next advance goes on from where the clock is.
    assert!(r.requests[1]
        .trace
        .iter()
        .any(|e| e.callback.starts_with("proxy_on_grpc_close")));
}
