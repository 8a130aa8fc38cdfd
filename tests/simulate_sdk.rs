//! End-to-end: real SDK-built modules (samples/extensions/build) through the simulator.

use meshext_lint::diag::Diagnostic;
use meshext_lint::model::MeshVersion;
use meshext_lint::rules;
use meshext_lint::simulate::{self, parse_scenario, ExtensionFilter, SimFilter, SimOptions};
use std::sync::Arc;

fn module(name: &str) -> Arc<Vec<u8>> {
    let p = format!(
        "{}/samples/extensions/build/{name}.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e} (build the samples first)")))
}

fn ext(name: &str, module_name: &str, config: &str) -> SimFilter {
    SimFilter::Extension(ExtensionFilter {
        name: name.into(),
        namespace: "shop".into(),
        module: module(module_name),
        configuration: config.into(),
        root_id: format!("{name}_root"),
        plugin_name: name.into(),
        ..Default::default()
    })
}

fn builtin(n: &str) -> SimFilter {
    SimFilter::Builtin { name: n.into() }
}

fn run(chain: &[SimFilter], yaml: &str) -> simulate::SimReport {
    let sc = parse_scenario("scenario.yaml", yaml).expect("scenario parses");
    let r = simulate::run_scenario(chain, &sc, &SimOptions::default());
    eprintln!("{}", simulate::render::human(&r));
    r
}

/// A report of several 64 KiB chunks (with escapes in its strings) streams out as the same
/// bytes serde_json writes, in more than one hand-over; a failing writer's error comes back.
#[test]
fn a_report_larger_than_a_chunk_streams_as_serde_json_writes_it() {
    struct Chunks(Vec<u8>, usize);
    impl std::io::Write for Chunks {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.1 += 1;
            self.0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let chain = [
        ext(
            "hdr",
            "header-append",
            r#"{"custom-header":"v\"q\\\u0001"}"#,
        ),
        builtin("router"),
    ];
    let one =
        "  - {request: {path: \"/a\\\"b\", headers: {x-tab: \"a\\tb\"}}, expect: {status: 200}}\n";
    let r = run(&chain, &format!("requests:\n{}", one.repeat(150)));
    let expected = serde_json::to_vec_pretty(&r).unwrap();
    assert!(expected.len() > 3 * 65536, "{}", expected.len());
    let mut w = Chunks(Vec::new(), 0);
    simulate::render::write_json(&r, &mut w).unwrap();
    assert!(w.1 >= 3, "{} hand-overs", w.1);
    assert!(w.0 == expected, "not serde_json's bytes");

    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let e = simulate::render::write_json(&r, Closed).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
}

/// `simulate --format json` streams each request's report as it completes
/// (`run_scenario_into` + `render::JsonStream`): the bytes are those of the whole report
/// written at once, with and without requests, past several chunks, with failing
/// expectations, time steps, start-up checks, connections and errors; the verdict is the same.
#[test]
fn streamed_json_is_the_whole_reports_json() {
    let chain = [
        ext("hdr", "header-append", r#"{"x-team":"pay\"ments"}"#),
        builtin("router"),
    ];
    let one = "  - {request: {path: \"/a\\\"b\"}, expect: {status: 200, response_headers: {x-team: \"pay\\\"ments\"}}}\n";
    let scenarios = [
        "requests: []\n".to_string(),
        "startup: {logs: [configured]}\nrequests: []\n".to_string(),
        format!("requests:\n{one}"),
        format!("requests:\n{}", one.repeat(200)),
        "requests:\n  - {request: {path: /}, expect: {status: 503}}\n  - {advance: 5s}\n  - {request: {path: /b}}\n".to_string(),
        "requests:\n  - {request: {path: /}}\nconnections:\n  - {events: [{downstream: hi}]}\n".to_string(),
    ];
    for yaml in &scenarios {
        let sc = parse_scenario("scenario.yaml", yaml).expect("scenario parses");
        let whole = simulate::run_scenario(&chain, &sc, &SimOptions::default());
        let mut expected = Vec::new();
        simulate::render::write_json(&whole, &mut expected).unwrap();

        let mut stream = simulate::render::JsonStream::new(Vec::new());
        let head = simulate::run_scenario_into(&chain, &sc, &SimOptions::default(), &mut stream);
        assert!(head.requests.is_empty());
        let code = head.exit_code_given(stream.passed());
        let got = stream.finish(&head).unwrap();
        assert!(
            got == expected,
            "{yaml}: streamed\n{}\nwhole\n{}",
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(code, whole.exit_code(), "{yaml}");
    }
}

#[test]
fn header_append_adds_configured_headers() {
    let chain = [
        builtin("istio_authn"),
        ext("hdr", "header-append", r#"{"custom-header":"v"}"#),
        builtin("router"),
    ];
    let r = run(&chain, "requests:\n  - name: one\n    expect: {status: 200, response_headers: {custom-header: v, missing: null}}\n");
    assert_eq!(r.exit_code(), 0);
    let r = run(
        &chain,
        "requests:\n  - expect: {response_headers: {custom-header: other}}\n",
    );
    assert_eq!(r.exit_code(), 1, "a wrong expectation fails");
}

#[test]
fn oob_auth_allows_and_denies() {
    let cfg = r#"{"cluster":"outbound|8080||auth.shop.svc.cluster.local"}"#;
    let chain = [ext("auth", "oob-auth", cfg), builtin("router")];
    let r = run(
        &chain,
        r#"
requests:
  - name: allowed
    request: {path: /hello, headers: {x-user: alice}}
    http_calls:
      - cluster: "outbound|8080||auth.*"
        response: {status: 200, body: alice}
    upstream: {status: 200, body: hello}
    expect: {status: 200, response_body: hello, upstream_called: true, upstream_request_headers: {x-auth: ok, x-auth-user: alice}, http_calls: 1}
  - name: denied
    http_calls:
      - cluster: "outbound|8080||auth.*"
        response: {status: 403}
    expect: {status: 403, response_body: denied, upstream_called: false, http_calls: 1}
"#,
    );
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn body_rewrite_and_counter_state() {
    let chain = [
        ext("rw", "body-rewrite", r#"{"from":"hello","to":"goodbye"}"#),
        ext("count", "counter", r#"{"tick_ms": 1000}"#),
        builtin("router"),
    ];
    let r = run(
        &chain,
        r#"
requests:
  - name: first
    upstream: {status: 200, body: "hello world"}
    expect: {status: 200, response_body: "goodbye world", response_headers: {x-request-count: "1", content-length: null}, metrics: {requests_total: 1}}
  - name: second after ticks
    advance: 3s
    upstream: {status: 200, body: "hello"}
    expect: {response_headers: {x-request-count: "2"}, metrics: {requests_total: 2}, logs: ["says tick 3"]}
"#,
    );
    assert_eq!(r.exit_code(), 0);
    assert_eq!(r.shared_data.get("ticks").map(String::as_str), Some("3"));
    // The trace shows each filter's own edits, and nothing for callbacks that only read.
    let changes = |filter: &str, callback: &str| -> Vec<String> {
        let ev = r.requests[0]
            .trace
            .iter()
            .find(|e| &*e.filter == filter && e.callback.starts_with(callback))
            .unwrap_or_else(|| panic!("no {filter} {callback} in {:#?}", r.requests[0].trace));
        ev.changes.clone()
    };
    assert_eq!(
        changes("shop/rw", "proxy_on_response_body"),
        [r#"body: "hello world" -> "goodbye world""#]
    );
    assert_eq!(
        changes("shop/count", "proxy_on_response_body"),
        Vec::<String>::new()
    );
    assert_eq!(
        changes("shop/count", "proxy_on_response_headers"),
        ["+x-request-count: 1"]
    );
    assert_eq!(
        changes("shop/rw", "proxy_on_response_headers"),
        ["-content-length"]
    );
    assert_eq!(
        changes("shop/rw", "proxy_on_request_headers"),
        Vec::<String>::new()
    );
}

#[test]
fn wasi_logger_logs_through_fd_write() {
    let chain = [ext("wl", "wasi-logger", "{}"), builtin("router")];
    let r = run(&chain, "requests:\n  - request: {path: /p}\n    expect: {logs: [\"saw /p at 1704067200\", \"stderr works too\"], upstream_request_headers: {x-seen-at: \"1704067200\"}}\n");
    assert_eq!(r.exit_code(), 0);
}

#[test]
fn runtime_checks_on_real_modules() {
    // The findings the runtime rules raise for one start.
    let checks = |m: &[u8], name: &str, cfg: &str, v: MeshVersion| -> Vec<Diagnostic> {
        simulate::start_module(m, name, cfg, v)
            .iter()
            .map(rules::runtime::diagnostic)
            .collect()
    };
    let ok = checks(&module("header-append"), "hdr", "null", MeshVersion::V2_1);
    assert!(ok.is_empty(), "{ok:?}");
    let panic = checks(&module("config-panic"), "cp", "null", MeshVersion::V2_1);
    assert_eq!(
        panic.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>(),
        ["MX704"],
        "{panic:?}"
    );
    let fine = checks(
        &module("config-panic"),
        "cp",
        r#"{"a":"b"}"#,
        MeshVersion::V2_1,
    );
    assert!(fine.is_empty(), "{fine:?}");
    let rejected = checks(&module("oob-auth"), "auth", "null", MeshVersion::V2_2);
    assert_eq!(
        rejected.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>(),
        ["MX703"],
        "{rejected:?}"
    );
    assert!(
        rejected[0].message.contains("oob-auth"),
        "shows the module's error log: {}",
        rejected[0].message
    );
    let as_wrong = checks(&module("as-add-header"), "greet", "", MeshVersion::V2_1);
    assert_eq!(
        as_wrong.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>(),
        ["MX705"],
        "{as_wrong:?}"
    );
    assert!(
        as_wrong[0].message.contains("Missing root context factory"),
        "{}",
        as_wrong[0].message
    );
    // OSSM 2.0 accepts only ABI 0.1.0: the 0.2.1 Rust modules fail to load there.
    let v20 = checks(&module("header-append"), "hdr", "", MeshVersion::V2_0);
    assert_eq!(
        v20.iter().map(|d| d.rule.as_str()).collect::<Vec<_>>(),
        ["MX701"],
        "{v20:?}"
    );
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn local_reply_skips_filters_whose_request_never_ran() {
    let cfg = r#"{"cluster":"outbound|8080||auth.shop.svc.cluster.local"}"#;
    let chain = [
        ext("auth", "oob-auth", cfg),
        ext("hdr", "header-append", r#"{"custom-header":"v"}"#),
        builtin("router"),
    ];
    let r = run(&chain, &fixture("sim_auth_chain.yaml"));
    assert_eq!(r.exit_code(), 0);
    // The denied request still ends with the log phase for header-append (context created there).
    let tail: Vec<_> = r.requests[1]
        .trace
        .iter()
        .filter(|e| &*e.filter == "shop/hdr")
        .map(|e| e.callback.clone())
        .collect();
    assert!(tail.iter().any(|c| c.contains("log phase")), "{tail:?}");
    assert!(
        !tail.iter().any(|c| c == "proxy_on_response_headers"),
        "{tail:?}"
    );
    let json = simulate::render::json(&r);
    assert!(json.contains("\"upstream_request\"") && json.contains("\"metrics\""));
    // Our pretty-JSON writer writes what serde_json writes.
    assert_eq!(json, serde_json::to_string_pretty(&r).unwrap());
}

#[test]
fn chunked_bodies() {
    let chain = [
        ext("rw", "body-rewrite", r#"{"from":"hello","to":"goodbye"}"#),
        builtin("router"),
    ];
    let r = run(&chain, &fixture("sim_chunked_body.yaml"));
    assert_eq!(r.exit_code(), 0);
}

/// `expect.callbacks` states what SDK unit tests assert with a callback's return value: here
/// oob-auth pauses the request headers until its callout answers, body-rewrite buffers the
/// response body, and the counter's timer runs during a time-only step. A wrong result, filter
/// or count fails the step, and the report names what the callback returned instead.
#[test]
fn callback_expectations_state_what_each_filter_returned() {
    let cfg = r#"{"cluster":"outbound|8080||auth.shop.svc.cluster.local"}"#;
    let chain = [
        ext("auth", "oob-auth", cfg),
        ext("rw", "body-rewrite", r#"{"from":"hello","to":"goodbye"}"#),
        ext("count", "counter", r#"{"tick_ms": 1000}"#),
        builtin("router"),
    ];
    let scenario = |expect: &str| {
        format!(
            r#"
requests:
  - name: allowed
    request: {{path: /hello, headers: {{x-user: alice}}}}
    http_calls:
      - cluster: "outbound|8080||auth.*"
        response: {{status: 200, body: alice}}
    upstream: {{status: 200, body: "hello world"}}
    expect:
      status: 200
      callbacks:
{expect}
  - name: time passes
    advance: 2s
    expect:
      callbacks:
        - {{callback: on_tick, filter: count, count: 2}}
        - {{callback: on_request_headers, count: 0}}
"#
        )
    };
    let passing = "        - {callback: on_request_headers, filter: auth, result: Pause, count: 1}
        - {callback: proxy_on_request_headers, filter: auth, result: StopAllIterationAndWatermark}
        - {callback: on_http_call_response, filter: shop/auth, result: done, count: 1}
        - {callback: on_request_headers, filter: \"shop/c*\", result: Continue, count: 1}
        - {callback: on_request_headers, filter: \"shop/*\", result: Continue, count: 2}
        - {callback: on_response_body, filter: rw, result: Continue, count: 1}
        - {callback: on_response_headers, filter: rw, result: Continue}
        - {callback: on_delete, count: 3}
";
    let r = run(&chain, &scenario(passing));
    let checks: Vec<_> = (r.requests.iter())
        .flat_map(|q| q.checks.iter())
        .filter(|c| c.what.starts_with("callback "))
        .collect();
    assert_eq!(checks.len(), 10, "{checks:#?}");
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
    assert_eq!(r.exit_code(), 0);

    let failing = "        - {callback: on_request_headers, filter: auth, result: Continue}
        - {callback: on_request_headers, filter: rw, result: Pause, count: 1}
        - {callback: on_request_trailers, filter: auth}
        - {callback: on_delete, count: 4}
";
    let r = run(&chain, &scenario(failing));
    let failed: Vec<_> = (r.requests[0].checks.iter())
        .filter(|c| !c.ok)
        .map(|c| format!("{}: {}", c.what, c.actual))
        .collect();
    assert_eq!(
        failed,
        [
            "callback proxy_on_request_headers of \"auth\" returning Continue: 0 (other results: shop/auth: StopIteration → StopAllIterationAndWatermark)",
            "callback proxy_on_request_headers of \"rw\" returning Pause: 0 (other results: shop/rw: Continue)",
            "callback proxy_on_request_trailers of \"auth\": 0",
            "callback proxy_on_delete: 3",
        ]
    );
    assert_ne!(r.exit_code(), 0);
}
