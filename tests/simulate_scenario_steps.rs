//! Scenario language: time-only steps, callouts made by timers, log expectations (absent,
//! exact, per level, regex) and start-up expectations, on a WAT module that ticks.

use meshext_lint::simulate::{self, parse_scenario, ExtensionFilter, SimFilter, SimOptions};
use std::sync::Arc;

fn chain() -> Vec<SimFilter> {
    let p = format!(
        "{}/tests/fixtures/wat/sim_tick_callout.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    let module = Arc::new(wat::parse_file(&p).unwrap());
    vec![
        SimFilter::Extension(ExtensionFilter {
            name: "f".into(),
            namespace: "ns".into(),
            module,
            configuration: String::new(),
            root_id: "f_root".into(),
            plugin_name: "f".into(),
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
    r
}

fn failed(r: &simulate::SimReport) -> Vec<String> {
    (r.startup_checks.iter())
        .chain(r.requests.iter().flat_map(|q| q.checks.iter()))
        .filter(|c| !c.ok)
        .map(|c| c.what.clone())
        .collect()
}

#[test]
fn time_only_steps_interleave_with_requests_and_count_timer_callouts() {
    let r = run(r#"requests:
  - name: first
    expect: {status: 200, http_calls: 0, logs: [{level: debug, message: request}]}
  - name: three ticks
    advance: 3s
    http_calls: [{cluster: stats, response: {status: 200, body: ok}}]
    expect: {http_calls: 3, metrics: {ticks_total: 3}, logs: [answered]}
  - name: second
    advance: 1s
    request: {path: /later}
    expect: {status: 200, http_calls: 1, metrics: {ticks_total: 4}}
"#);
    assert_eq!(failed(&r), Vec::<String>::new());
    assert_eq!(r.exit_code(), 0);
    let step = &r.requests[1];
    assert!(step.time_only && step.response.is_none() && step.upstream_request.is_none());
    assert_eq!(step.http_calls.len(), 3);
    assert!(step.http_calls.iter().all(|c| c.cluster == "stats"));
    // The entry with `advance` and no request stays a step in the output, not a stalled request.
    let text = simulate::render::human(&r);
    assert!(text.contains("step: three ticks [pass]"), "{text}");
    assert!(!r.requests[2].time_only);

    // A wrong count fails.
    let r = run("requests:\n  - advance: 2s\n    expect: {http_calls: 3}\n");
    assert_eq!(failed(&r), ["http calls"]);
    assert_eq!(r.exit_code(), 1);
}

#[test]
fn log_expectations_absent_exact_per_level_and_regex() {
    let ok = run(r#"requests:
  - advance: 1s
    expect:
      logs: [{level: info, regex: "^t.c[k]$"}, tick]
      no_logs: [request, {level: warn}, {regex: "answer(s|ing)"}]
      logs_exact: [tick, {level: info, regex: "^answ"}]
"#);
    assert_eq!(failed(&ok), Vec::<String>::new());
    let bad = run(r#"requests:
  - advance: 1s
    expect:
      logs: [{level: error, message: tick}, {regex: "tock"}]
      no_logs: [{level: info, message: answ}]
      logs_exact: [tick]
"#);
    assert_eq!(
        failed(&bad),
        [
            "log matching [error] \"tick\"",
            "log matching /tock/",
            "no log matching [info] \"answ\"",
            "exact log lines"
        ]
    );
    let exact = &bad.requests[0].checks[3];
    assert!(exact.actual.contains("line 2 differs"), "{}", exact.actual);
}

#[test]
fn start_up_expectations() {
    let ok = run(r#"startup:
  result: ok
  logs: [{level: warn, message: configured}]
  no_logs: [tick]
  logs_exact: ["vm started", configured]
  metrics: {ticks_total: 0}
  tick_period: 1s
requests: []
"#);
    assert_eq!(failed(&ok), Vec::<String>::new());
    assert_eq!(ok.startup_checks.len(), 6);
    let bad = run(r#"startup:
  result: failed
  logs: [{level: error}]
  metrics: {ticks_total: 1}
  tick_period: 250ms
requests: []
"#);
    assert_eq!(
        failed(&bad),
        [
            "start-up result",
            "log matching [error] any line",
            "metric ticks_total",
            "tick period"
        ]
    );
    assert_eq!(bad.startup_checks[3].actual, "1s");
    assert_eq!(bad.exit_code(), 1);
}

#[test]
fn callout_and_metric_type_assertions() {
    let ok = run(r#"startup:
  metrics: {ticks_total: {type: counter, value: 0}}
requests:
  - advance: 2s
    expect:
      calls:
        - {cluster: stats, headers: {":path": /stats, ":method": GET, x-missing: null}, body: ping, count: 2}
        - {cluster: "st*"}
        - {count: 2}
        - {cluster: other, count: 0}
      metrics: {ticks_total: {type: counter}}
"#);
    assert_eq!(failed(&ok), Vec::<String>::new());
    let bad = run(r#"requests:
  - advance: 2s
    expect:
      calls:
        - {cluster: stats, count: 1}
        - {cluster: auth}
        - {body: pong}
        - {headers: {":path": /other}, count: 2}
      metrics: {ticks_total: {type: gauge, value: 2}, nothing: {type: counter}}
"#);
    assert_eq!(
        failed(&bad),
        [
            "metric ticks_total type",
            "metric nothing type",
            "calls to \"stats\"",
            "calls to \"auth\"",
            "calls with body \"pong\"",
            "calls with :path: \"/other\""
        ]
    );
    let checks = &bad.requests[0].checks;
    let c = checks
        .iter()
        .find(|c| c.what == "calls to \"auth\"")
        .unwrap();
    assert_eq!(c.actual, "0 (calls made: stats /stats, stats /stats)");
}

/// `request.authority` sets `:authority`; without it the request goes to the workload's
/// service host. The upstream sees what the chain passed on.
#[test]
fn request_authority_reaches_the_upstream() {
    let r = run(r#"requests:
  - name: named host
    request: {path: /a, authority: shop.example.com}
    expect: {status: 200, upstream_request_headers: {":authority": shop.example.com}}
  - name: default host
    expect: {upstream_request_headers: {":authority": shop.example.com}}
"#);
    // The first request passes; the second keeps the default authority, so its check fails.
    assert_eq!(failed(&r), ["upstream request header :authority"]);
    let sent = |i: usize| {
        r.requests[i]
            .upstream_request
            .as_ref()
            .and_then(|u| u.headers.get(":authority").map(str::to_string))
    };
    assert_eq!(sent(0).as_deref(), Some("shop.example.com"));
    assert_ne!(sent(1).as_deref(), Some("shop.example.com"));
    assert!(sent(1).is_some_and(|a| !a.is_empty()));
}
