//! HTTP callouts that take time (`delay:`, the call's timeout) and HTTP calls made while
//! starting (`startup.http_calls`, `startup.http_calls_made`), on a WAT module that calls out
//! from proxy_on_configure and pauses each request behind a call.

use meshext_lint::simulate::{self, parse_scenario, SimFilter, SimOptions};
use std::sync::Arc;

fn chain() -> Vec<SimFilter> {
    chain_with("")
}

/// A non-empty configuration makes the requests' calls use timeout 0 (none).
fn chain_with(configuration: &str) -> Vec<SimFilter> {
    let p = format!(
        "{}/tests/fixtures/wat/sim_http_wait.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let module = Arc::new(wat::parse_file(&p).unwrap());
    vec![SimFilter::Extension(simulate::ExtensionFilter {
        name: "f".into(),
        namespace: "ns".into(),
        module,
        configuration: configuration.into(),
        root_id: "f_root".into(),
        plugin_name: "f".into(),
        ..Default::default()
    })]
}

fn run(yaml: &str) -> simulate::SimReport {
    run_on(&chain(), yaml)
}

fn run_on(chain: &[SimFilter], yaml: &str) -> simulate::SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let r = simulate::run_scenario(chain, &sc, &SimOptions::default());
    eprintln!("{}", simulate::render::human(&r));
    r
}

fn failed(r: &simulate::SimReport) -> Vec<String> {
    (r.startup_checks.iter())
        .chain(r.requests.iter().flat_map(|q| q.checks.iter()))
        .filter(|c| !c.ok)
        .map(|c| format!("{}: expected {}, got {}", c.what, c.expected, c.actual))
        .collect()
}

const TIMED_OUT: &str = "[\"status:504\", \"body:upstream request timeout\"]";

#[test]
fn startup_calls_are_answered_right_after_start_and_checked() {
    let r = run(
        "startup:\n  http_calls: [{cluster: cfg, path: /config, response: {body: v2}}]\n  http_calls_made: [{cluster: cfg, headers: {':path': /config}, count: 1}]\n  logs_exact: [\"status:200\", \"body:v2\"]\nrequests:\n  - http_calls: [{cluster: auth}]\n    expect: {status: 200, http_calls: 1, calls: [{cluster: auth, count: 1}], logs_exact: [\"status:200\"]}\n",
    );
    assert_eq!(failed(&r), Vec::<String>::new());
    assert!((r.startup.iter()).any(|e| e.callback.starts_with("proxy_on_http_call_response(")));
    // The JSON report lists the start-up call.
    assert_eq!(r.startup_http_calls.len(), 1);
    assert_eq!(r.startup_http_calls[0].cluster, "cfg");
    let json = simulate::render::json(&r);
    assert!(json.contains("\"startup_http_calls\""), "{json}");
    // Our pretty-JSON writer writes what serde_json writes.
    assert_eq!(json, serde_json::to_string_pretty(&r).unwrap());
    // The start-up call is not taken up by the first request's callbacks.
    assert!(r.requests[0].http_calls.iter().all(|c| c.cluster == "auth"));

    // Unanswered at start-up: Envoy's 503 "no healthy upstream", as any unmatched call; a
    // wrong description of the calls made fails.
    let r = run(
        "startup:\n  http_calls_made: [{cluster: other, count: 1}]\n  logs_exact: [\"status:503\", \"body:no healthy upstream\"]\nrequests: []\n",
    );
    let f = failed(&r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].contains("other"), "{f:?}");
}

#[test]
fn delayed_answer_resumes_the_paused_request_after_simulated_time() {
    // 40 ms < the call's 100 ms timeout: the answer arrives and resumes the request.
    let r = run(
        "requests:\n  - http_calls: [{cluster: auth, delay: 40ms, response: {body: yes}}]\n    expect: {status: 200, upstream_called: true, logs_exact: [\"status:200\", \"body:yes\"]}\n",
    );
    assert_eq!(failed(&r), Vec::<String>::new());
    assert!(!r.requests[0].stalled);

    // Due at or after the timeout: Envoy's router answers 504 "upstream request timeout"
    // to proxy_on_http_call_response first, which resumes the request.
    for delay in ["100ms", "2s", "never"] {
        let r = run(&format!(
            "requests:\n  - http_calls: [{{cluster: auth, delay: {delay}, response: {{body: yes}}}}]\n    expect: {{status: 200, logs_exact: {TIMED_OUT}}}\n"
        ));
        assert_eq!(failed(&r), Vec::<String>::new(), "delay {delay}");
        let ev = (r.requests[0].trace.iter())
            .find(|e| e.callback.starts_with("proxy_on_http_call_response"))
            .unwrap();
        assert!(
            ev.result.contains("timed out after 100 ms"),
            "{}",
            ev.result
        );
    }

    // No delay: answered at once, nothing waits.
    let r = run(
        "requests:\n  - http_calls: [{cluster: auth, delay: 0s, response: {status: 403}}]\n    expect: {logs_exact: [\"status:403\"]}\n",
    );
    assert_eq!(failed(&r), Vec::<String>::new());
}

#[test]
fn a_call_with_timeout_zero_never_times_out() {
    // Envoy sets no timeout for 0: a 2 s answer still arrives and resumes the request.
    let chain = chain_with("no-timeout");
    let r = run_on(
        &chain,
        "requests:\n  - http_calls: [{cluster: auth, delay: 2s, response: {body: late}}]\n    expect: {status: 200, logs_exact: [\"status:200\", \"body:late\"]}\n",
    );
    assert_eq!(failed(&r), Vec::<String>::new());
    // Never answered and no timeout: the request waits until the stream idle timeout.
    let r = run_on(
        &chain,
        "requests:\n  - http_calls: [{cluster: auth, delay: never}]\n    expect: {no_logs: [status]}\n",
    );
    assert_eq!(failed(&r), Vec::<String>::new());
    assert!(r.requests[0].stalled);
}

#[test]
fn timed_answers_and_timeouts_fire_as_advance_passes_them() {
    // The start-up call (timeout 500 ms) answered 300 ms later: only once time has passed.
    let r = run(
        "startup:\n  http_calls: [{cluster: cfg, delay: 300ms, response: {body: v1}}]\n  http_calls_made: [{cluster: cfg, count: 1}]\n  no_logs: [status]\nrequests:\n  - advance: 299ms\n    expect: {no_logs: [status]}\n  - advance: 1ms\n    expect: {logs_exact: [\"status:200\", \"body:v1\"]}\n",
    );
    assert_eq!(failed(&r), Vec::<String>::new());

    // Never answered: the 500 ms timeout fires during the advance that passes it.
    let r = run(&format!(
        "startup:\n  http_calls: [{{cluster: cfg, delay: never}}]\nrequests:\n  - advance: 499ms\n    expect: {{no_logs: [status]}}\n  - advance: 1s\n    expect: {{logs_exact: {TIMED_OUT}}}\n"
    ));
    assert_eq!(failed(&r), Vec::<String>::new());
}

#[test]
#[rustfmt::skip]
fn bad_http_call_keys_are_located() {
    for (yaml, want) in [
        ("requests: [{http_calls: [{cluster: a, dealy: 1s}]}]\n", "s.yaml:1:39: unknown key \"dealy\" in an http_calls entry (expected one of: cluster, path, response, delay)"),
        ("requests: [{http_calls: [{cluster: a, delay: soon}]}]\n", "s.yaml:1:46: cannot read delay \"soon\" (use a duration such as 50ms or 2s, or never)"),
        ("startup: {http_calls: [{path: /x}]}\nrequests: []\n", "s.yaml:1:24: an http_calls entry needs `cluster`"),
        ("startup: {http_calls_made: [{clster: x}]}\nrequests: []\n", "s.yaml:1:30: unknown key \"clster\" in an http_calls_made entry (expected one of: cluster, headers, body, count)"),
    ] {
        let e = parse_scenario("s.yaml", yaml).unwrap_err().to_string();
        assert_eq!(e, want, "{yaml}");
    }
}
