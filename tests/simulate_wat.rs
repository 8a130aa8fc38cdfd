//! WAT modules: host-function statuses and hostile modules (loops, recursion, memory, traps).

use meshext_lint::model::MeshVersion;
use meshext_lint::simulate::startup::start_module_with;
use meshext_lint::simulate::{
    self, parse_scenario, ExtensionFilter, Limits, Profile, SimFilter, SimOptions,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn wat(name: &str) -> Arc<Vec<u8>> {
    let p = format!(
        "{}/tests/fixtures/wat/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(wat::parse_file(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
}

fn ext(module: Arc<Vec<u8>>, config: &str) -> SimFilter {
    SimFilter::Extension(ExtensionFilter {
        name: "f".into(),
        namespace: "ns".into(),
        module,
        configuration: config.into(),
        root_id: "f_root".into(),
        plugin_name: "f".into(),
        ..Default::default()
    })
}

fn small_limits() -> Limits {
    Limits {
        fuel_per_call: 5_000_000,
        memory_bytes: 8 << 20,
        max_recursion_depth: 200,
        ..Limits::default()
    }
}

fn run(chain: &[SimFilter], yaml: &str, mesh: MeshVersion) -> simulate::SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let opts = SimOptions {
        mesh,
        limits: small_limits(),
        ..Default::default()
    };
    let r = simulate::run_scenario(chain, &sc, &opts);
    eprintln!("{}", simulate::render::human(&r));
    r
}

#[test]
fn host_function_statuses_match_envoy() {
    let chain = [
        ext(wat("sim_hostcalls"), ""),
        SimFilter::Builtin {
            name: "router".into(),
        },
    ];
    let r = run(&chain, "requests:\n  - name: statuses\n", MeshVersion::V2_2);
    let up = r.requests[0]
        .upstream_request
        .as_ref()
        .expect("upstream called");
    let got = |k: &str| up.headers.get(k).unwrap_or("?").to_string();
    // (header, expected status digit)
    let expected = [
        ("sa", "2"), // unavailable map → BAD_ARGUMENT
        ("sb", "1"), // missing header (0.2.x) → NOT_FOUND
        ("sc", "2"), // map type > 7
        ("sd", "1"), // plugin configuration outside on_configure → NOT_FOUND
        ("se", "2"), // buffer type > 8
        ("sf", "2"), // log level > 5
        ("sg", "6"), // out-of-bounds memory
        ("sh", "0"), // set_shared_data cas 0
        ("si", "8"), // wrong cas → CAS_MISMATCH
        ("sj", "1"), // missing shared key
        ("sk", "2"), // metric type > 2
        ("sl", "2"), // counter increment by 0
        ("sm", "1"), // unknown metric id
        ("sn", "2"), // unknown effective context
        ("so", "1"), // unknown queue
        ("sp", "1"), // unknown property
        ("sq", "0"), // plugin_name
        ("sr", "2"), // continue_stream(9)
        ("ss", "2"), // http_call without :path/:method/:authority
        ("st", "1"), // body buffer unavailable in headers callback
        ("su", "0"), // header map size
    ];
    for (k, v) in expected {
        assert_eq!(got(k), v, "status recorded in {k}");
    }
    let resp = r.requests[0].response.as_ref().expect("response");
    assert_eq!(
        resp.headers.get("r"),
        Some("2"),
        "request headers unavailable in on_response_headers"
    );
}

#[test]
fn hostile_modules_fail_the_filter_not_the_tool() {
    for (mode, needle) in [
        ("L", "fuel"),
        ("R", "recursion"),
        ("G", "memory limit"),
        ("T", "unreachable"),
    ] {
        let chain = [
            ext(wat("sim_hostile"), mode),
            SimFilter::Builtin {
                name: "router".into(),
            },
        ];
        let started = Instant::now();
        // v2.2 answers a failed filter with 503 wasm_fail_stream; v2.1 resets the stream.
        let r = run(&chain, "requests:\n  - expect: {status: 503}\n  - name: after failure\n    expect: {status: 503}\n", MeshVersion::V2_2);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "mode {mode} took too long"
        );
        assert_eq!(r.exit_code(), 0, "mode {mode}");
        let failure = r.requests[0]
            .trace
            .iter()
            .find_map(|e| e.failure.clone())
            .expect("failure reported");
        assert!(
            failure.message.to_lowercase().contains(needle),
            "mode {mode}: {}",
            failure.message
        );
        assert!(
            !failure.last_logs.is_empty() || mode == "T",
            "last logs kept for {mode}"
        );
        let r21 = run(&chain, "requests:\n  - name: x\n", MeshVersion::V2_1);
        assert!(
            r21.requests[0]
                .reset
                .as_deref()
                .unwrap_or("")
                .contains("wasm_fail_stream"),
            "mode {mode} on v2.1"
        );
    }
}

#[test]
fn lint_checks_fire_on_wat_modules() {
    let p = Profile::for_mesh(MeshVersion::V2_2);
    let rules = |m: &str, cfg: &str, p: Profile| -> Vec<&'static str> {
        start_module_with(&wat(m), "f", cfg, p, small_limits())
            .iter()
            .map(|f| meshext_lint::rules::runtime::rule(f.kind).as_str())
            .collect()
    };
    assert_eq!(rules("sim_bad_start", "", p), ["MX701"]);
    assert_eq!(rules("sim_vm_start_false", "", p), ["MX702"]);
    assert_eq!(rules("sim_missing_import", "", p), ["MX701"]);
    assert!(rules("sim_missing_import", "", Profile::latest()).is_empty());
    assert!(
        rules("sim_hostile", "L", p).is_empty(),
        "misbehaviour only per request"
    );
    assert_eq!(rules("sim_hostile", "C", p), ["MX704"]);
    assert_eq!(rules("sim_hostile", "F", p), ["MX703"]);
}

#[test]
fn a_request_paused_until_a_tick_resumes_when_the_timer_fires() {
    let chain = |cfg: &str| {
        [
            ext(wat("sim_resume_on_tick"), cfg),
            SimFilter::Builtin {
                name: "router".into(),
            },
        ]
    };
    // Envoy resumes the postponed stream on the next tick; nothing needs `advance`.
    // `callbacks` counts the tick the request waited for (the trace notes the wait).
    let yaml = "requests:\n  - name: a\n    expect: {status: 200, upstream_called: true, callbacks: [{callback: on_request_headers, result: Pause, count: 1}, {callback: on_tick, count: 1}]}\n  - name: b\n    expect: {status: 200}\n";
    for mesh in [MeshVersion::V2_1, MeshVersion::V2_2] {
        let r = run(&chain(""), yaml, mesh);
        assert_eq!(r.exit_code(), 0, "{mesh:?}");
        for q in &r.requests {
            assert!(!q.stalled, "{mesh:?} {}", q.name);
            assert!(
                q.trace
                    .iter()
                    .any(|e| e.callback.starts_with("proxy_on_tick")),
                "tick shown in the trace"
            );
        }
    }
    // A timer that never resumes: bounded waiting, then the request is reported stalled.
    let started = Instant::now();
    let r = run(
        &chain("never"),
        "requests:\n  - name: x\n",
        MeshVersion::V2_2,
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let q = &r.requests[0];
    assert!(q.stalled && q.response.is_none());
    let ticks = q
        .trace
        .iter()
        .filter(|e| e.callback.starts_with("proxy_on_tick"))
        .count();
    assert!((1..=1000).contains(&ticks), "{ticks} ticks");
}

/// A status Envoy does not know (77 from a headers callback, 9 from a body callback) continues
/// the stream, as Envoy's conversions do; the trace says so instead of stalling.
#[test]
fn unknown_filter_statuses_continue_like_envoy() {
    let chain = [
        ext(wat("sim_unknown_status"), ""),
        SimFilter::Builtin {
            name: "router".into(),
        },
    ];
    let r = run(
        &chain,
        "requests:\n  - name: r\n    upstream: {status: 200, body: hello}\n    expect: {status: 200, response_body: hello, upstream_called: true}\n",
        MeshVersion::V2_1,
    );
    assert_eq!(r.exit_code(), 0, "{}", simulate::render::human(&r));
    let human = simulate::render::human(&r);
    assert!(
        human.contains("77 (not a FilterHeadersStatus) → Continue"),
        "{human}"
    );
    assert!(
        human.contains("9 (not a FilterDataStatus) → Continue"),
        "{human}"
    );
}

/// A WasmPlugin's inline `vmConfig.env` reaches the module through WASI `environ_get`, as
/// `KEY=VALUE` strings, on the proxies whose host serves them (cpp-host #126, 2021); the
/// OSSM 2.1 proxy (Envoy 1.17) predates it and serves none.
#[test]
fn environment_variables_reach_the_module() {
    let module = wat("sim_environ");
    let chain = [SimFilter::Extension(ExtensionFilter {
        name: "f".into(),
        namespace: "ns".into(),
        module,
        root_id: "f_root".into(),
        plugin_name: "ns.f".into(),
        env: vec![
            ("A".into(), "1".into()),
            ("GREETING".into(), "hello world".into()),
        ],
        ..Default::default()
    })];
    let logs = |mesh| -> Vec<String> {
        let r = run(&chain, "requests: []\n", mesh);
        r.startup
            .iter()
            .flat_map(|e| e.logs.iter().map(|l| l.message.clone()))
            .collect()
    };
    assert_eq!(
        logs(MeshVersion::V2_6),
        ["env count 2", "A=1", "GREETING=hello world"]
    );
    assert_eq!(logs(MeshVersion::V2_1), ["env count 0"]);
}

/// `fail_open` (a WasmPlugin's `failStrategy: FAIL_OPEN`): a plugin whose start failed is
/// left out of the stream; without it the stream fails with 503 (fail closed).
#[test]
fn a_failed_plugin_fails_open_or_closed() {
    let scenario = "requests:\n  - request: {path: /}\n    upstream: {status: 200, body: ok}\n";
    let status = |fail_open: bool| {
        let chain = [
            SimFilter::Extension(ExtensionFilter {
                name: "f".into(),
                namespace: "ns".into(),
                module: wat("sim_vm_start_false"),
                root_id: "f_root".into(),
                plugin_name: "ns.f".into(),
                fail_open,
                ..Default::default()
            }),
            SimFilter::Builtin {
                name: "router".into(),
            },
        ];
        let r = run(&chain, scenario, MeshVersion::V2_6);
        r.requests[0].response.as_ref().map(|x| x.status)
    };
    assert_eq!(status(true), Some(200));
    assert_eq!(status(false), Some(503));
}
