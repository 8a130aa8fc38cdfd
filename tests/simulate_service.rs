//! Singleton Wasm services (`simulate --service`, Envoy's `envoy.bootstrap.wasm`): root-only
//! modules that start with Envoy and never get a stream; their ticks, queue events and
//! callouts count in the scenario's steps like filters' root-context work.

mod common;

use common::{failed_checks, router, simulate, standalone_ext, startup_logs, wat_module, write};
use meshext_lint::simulate::{self, parse_scenario, Profile, SimFilter, SimOptions, SimReport};
use std::sync::Arc;

fn filter(name: &str, module: &Arc<Vec<u8>>, vm_id: Option<&str>) -> SimFilter {
    SimFilter::Extension(standalone_ext(name, module, vm_id))
}

fn service(name: &str, module: &Arc<Vec<u8>>, vm_id: Option<&str>) -> SimFilter {
    SimFilter::Service(standalone_ext(name, module, vm_id))
}

fn run(chain: &[SimFilter], yaml: &str) -> SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    // As `--module`/`--service` without a mesh: the newest Envoy.
    let opts = SimOptions {
        profile: Some(Profile::latest()),
        ..SimOptions::default()
    };
    let r = simulate::run_scenario(chain, &sc, &opts);
    eprintln!("{}", simulate::render::human(&r));
    r
}

#[test]
fn a_root_only_module_fails_as_a_filter_and_runs_as_a_service() {
    let rx = wat_module("sim_service_root_only");
    // In the HTTP chain its stream context creation traps: the request fails (as in Envoy).
    let r = run(
        &[filter("rx", &rx, None), router()],
        "requests:\n  - expect: {status: 200}\n",
    );
    assert_eq!(
        failed_checks(&r),
        ["status: expected 200, got 503"],
        "the trap fails the stream"
    );
    // As a service it starts (on_context_create with parent 0) and the request goes through
    // the router alone.
    let r = run(
        &[service("rx", &rx, None), router()],
        "startup: {result: ok, logs_exact: [service started]}\nrequests:\n  - expect: {status: 200, upstream_called: true, logs_exact: []}\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    assert_eq!(r.chain, ["router"], "a service is not in the filter chain");
    assert_eq!(r.services, ["default/rx"]);
    assert!(simulate::render::human(&r).contains("\nWasm services: default/rx\n"));
    assert!(simulate::render::json(&r).contains("\"services\": [\n    \"default/rx\"\n  ]"));
    assert_eq!(&*r.startup[0].filter, "service default/rx");
    assert!(
        (r.requests[0].trace.iter()).all(|e| !e.filter.contains("rx")),
        "no stream callback reaches the service"
    );
}

#[test]
fn a_filter_enqueues_and_the_service_dequeues_within_the_step() {
    let (tx, rx) = (
        wat_module("sim_queue_sender"),
        wat_module("sim_service_root_only"),
    );
    let chain = [
        service("rx", &rx, Some("q")),
        filter("tx", &tx, Some("q")),
        router(),
    ];
    let r = run(
        &chain,
        "requests:\n  - name: send\n    expect:\n      status: 200\n      logs: [enqueued, dequeued job-1]\n      no_logs: [no queue, queue empty]\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    let ready = (r.requests[0].trace.iter())
        .find(|e| e.callback.starts_with("proxy_on_queue_ready"))
        .expect("the service's on_queue_ready ran");
    assert_eq!(&*ready.filter, "service default/rx");
    // Queues are keyed by vm_id: another vm_id does not see the service's queue.
    let chain = [
        service("rx", &rx, Some("other")),
        filter("tx", &tx, Some("q")),
        router(),
    ];
    let r = run(
        &chain,
        "requests:\n  - expect: {logs: [no queue], no_logs: [{regex: dequeued}]}\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
}

#[test]
fn a_service_ticks_while_time_passes_and_its_callouts_count_in_the_step() {
    let rx = wat_module("sim_service_root_only");
    let r = run(
        &[service("rx", &rx, None), router()],
        "startup: {tick_period: 1s}\nrequests:\n  - advance: 2s\n    http_calls: [{cluster: stats, response: {status: 200}}]\n    expect:\n      logs_exact: [service tick, service answered, service tick, service answered]\n      metrics: {service_ticks: 2}\n      http_calls: 2\n      calls: [{cluster: stats, count: 2}]\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    let ticks: Vec<&str> = (r.requests[0].trace.iter())
        .filter(|e| e.callback == "proxy_on_tick")
        .map(|e| &*e.filter)
        .collect();
    assert_eq!(ticks, ["service default/rx", "service default/rx"]);
    assert_eq!(r.metrics.get("service_ticks"), Some(&2));
}

#[test]
fn services_share_a_vm_with_services_only() {
    let rx = wat_module("sim_queue_receiver");
    // Two services with one VM key: one VM on the main thread, started once per plugin.
    let r = run(
        &[
            service("a", &rx, Some("q")),
            service("b", &rx, Some("q")),
            router(),
        ],
        "requests: []\n",
    );
    assert_eq!(
        startup_logs(&r),
        ["first start", "no vm config", "start again", "no vm config"]
    );
    // A service and a filter with that key: the main thread's VM and the worker's.
    let r = run(
        &[
            filter("f", &rx, Some("q")),
            service("s", &rx, Some("q")),
            router(),
        ],
        "requests: []\n",
    );
    assert_eq!(
        startup_logs(&r),
        ["first start", "no vm config", "first start", "no vm config"]
    );
    // Services start first, whatever their place in the chain.
    assert_eq!(&*r.startup[0].filter, "service default/s");
    assert_eq!(&*r.startup[1].filter, "default/f");
}

#[test]
fn a_service_that_fails_to_start_keeps_envoy_from_starting() {
    let bad = wat_module("sim_vm_start_false");
    let chain = [service("bad", &bad, None), router()];
    // A start-up-only scenario states the failure.
    let r = run(
        &chain,
        "startup: {result: proxy_on_vm_start returned false}\nrequests: []\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    assert_eq!(r.startup_problems[0].filter, "service default/bad");
    assert_eq!(r.exit_code(), 0);
    assert!(r.notes.iter().any(|n| n.contains("Envoy does not start")));
    // Requests cannot run without Envoy: an error, not a pass.
    let r = run(&chain, "requests:\n  - expect: {status: 200}\n");
    assert!(r.requests.is_empty());
    assert_eq!(r.exit_code(), 2);
    assert!(
        r.errors[0].contains("the Wasm service default/bad failed to start")
            && r.errors[0].contains("1 request step(s)"),
        "{:?}",
        r.errors
    );
    // Nothing to run and nothing stating the failure: an error too, said once.
    let r = run(&chain, "requests: []\n");
    assert_eq!(r.exit_code(), 2);
    assert!(
        r.errors[0].contains("startup: {result: …}"),
        "{:?}",
        r.errors
    );
    assert!(r.notes.iter().all(|n| !n.contains("Envoy does not start")));
}

#[test]
fn the_cli_runs_services_with_their_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str| {
        let p = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&p, &*wat_module(name)).unwrap();
        p.display().to_string()
    };
    let (tx, rx) = (put("sim_queue_sender"), put("sim_service_root_only"));
    let sc = write(
        dir.path(),
        "s.yaml",
        "startup: {result: ok, logs: [service started]}\nrequests:\n  - expect: {status: 200, logs: [enqueued, dequeued job-1]}\n",
    );
    let sc = sc.display().to_string();
    // Options follow the --service / --module before them; those before the first apply
    // to the first (here the service).
    let (code, out, err) = simulate(&[
        "--scenario",
        &sc,
        "--vm-id",
        "q",
        "--service",
        &rx,
        "--name",
        "recv",
        "--module",
        &tx,
        "--vm-id",
        "q",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("Wasm services: default/recv\n"), "{out}");
    assert!(out.contains("service default/recv"), "{out}");
    assert!(
        out.contains("Chain: default/sim_queue_sender → router"),
        "{out}"
    );
    // A service alone: requests go to the router (the sender is missing, so nothing is
    // enqueued and that expectation fails).
    let (code, out, _) = simulate(&["--scenario", &sc, "--service", &rx]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Chain: router"), "{out}");
    // An option given twice for one service is a usage error.
    let (code, _, err) = simulate(&[
        "--scenario",
        &sc,
        "--service",
        &rx,
        "--config",
        "a",
        "--config",
        "b",
        "--module",
        &tx,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("--config given twice for --service {rx}")),
        "{err}"
    );
    // Options before the first anchor go to the first: here the module, which has one.
    let (code, _, err) = simulate(&[
        "--scenario",
        &sc,
        "--name",
        "x",
        "--module",
        &tx,
        "--name",
        "y",
        "--service",
        &rx,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("--name given twice for --module {tx}")),
        "{err}"
    );
}

#[test]
fn the_counter_sample_as_a_service_reads_its_own_queue_as_time_passes() {
    let p = format!(
        "{}/samples/extensions/build/counter.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let counter = Arc::new(std::fs::read(&p).unwrap());
    // A WasmService without root_id has "" (the Rust SDK ignores it).
    let mut e = standalone_ext("counter", &counter, None);
    e.root_id = String::new();
    let r = run(
        &[SimFilter::Service(e), router()],
        "startup: {result: ok, tick_period: 1s}\nrequests:\n  - advance: 2s\n    expect:\n      logs: ['counter: queue 1 says tick 1', 'counter: queue 1 says tick 2']\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    assert_eq!(r.shared_data.get("ticks").map(String::as_str), Some("2"));
}

#[test]
fn a_service_whose_module_cannot_load_keeps_envoy_from_starting() {
    let missing = Arc::new(
        wat::parse_str(
            r#"(module (import "env" "proxy_no_such_call" (func)) (memory (export "memory") 1)
                 (func (export "malloc") (param i32) (result i32) (i32.const 1024))
                 (func (export "proxy_abi_version_0_2_1")))"#,
        )
        .unwrap(),
    );
    let r = run(
        &[service("m", &missing, None), router()],
        "startup: {result: proxy_no_such_call}\nconnections: [{name: c}]\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    assert!(r.connections.is_empty());
    assert_eq!(r.exit_code(), 2);
    assert!(
        r.errors[0].contains("the Wasm service default/m failed to start")
            && r.errors[0].contains("1 connection(s)"),
        "{:?}",
        r.errors
    );
}

/// Without a mesh, mesh inputs and `--workload` would be ignored: a usage error says so (a
/// second `.wasm` after `--service` is read as a mesh path).
#[test]
fn mesh_inputs_beside_modules_are_usage_errors() {
    let m = format!(
        "{}/samples/extensions/build/counter.wasm",
        env!("CARGO_MANIFEST_DIR")
    );
    let sc = format!(
        "{}/samples/scenarios/header-append.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, _, err) = simulate(&["--service", &m, "other.wasm", "--scenario", &sc]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("other.wasm: --module/--service/--image run modules without a mesh"),
        "{err}"
    );
    let (code, _, err) = simulate(&["--module", &m, "--workload", "shop/web", "--scenario", &sc]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--workload picks a chain from mesh inputs"),
        "{err}"
    );
}
