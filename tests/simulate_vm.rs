//! VM configuration, vm_id and shared VMs, chains of several modules (a shared-queue sender
//! and receiver), and the body framing of scenarios: empty end-of-stream frames, chunked
//! upstream responses, trailers both ways.

mod common;

use common::{failed_checks, router, simulate, standalone_ext, startup_logs, wat_module, write};
use meshext_lint::simulate::{
    self, parse_scenario, ExtensionFilter, SimFilter, SimOptions, SimReport,
};
use std::sync::Arc;

/// A standalone plugin (`--module`): it may share a VM by key.
fn plugin(name: &str, module: &Arc<Vec<u8>>, vm_id: Option<&str>) -> SimFilter {
    SimFilter::Extension(standalone_ext(name, module, vm_id))
}

fn run(chain: &[SimFilter], yaml: &str) -> SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let r = simulate::run_scenario(chain, &sc, &SimOptions::default());
    eprintln!("{}", simulate::render::human(&r));
    r
}

fn request_logs(r: &SimReport, i: usize) -> Vec<String> {
    (r.requests[i].trace.iter())
        .flat_map(|e| e.logs.iter().map(|l| l.message.clone()))
        .collect()
}

#[test]
fn the_vm_configuration_reaches_on_vm_start_as_text_or_json() {
    let rx = wat_module("sim_queue_receiver");
    let chain = [plugin("rx", &rx, None), router()];
    let r = run(&chain, "requests: []\n");
    assert_eq!(startup_logs(&r), ["first start", "no vm config"]);
    let r = run(&chain, "vm_config: plain text\nrequests: []\n");
    assert_eq!(startup_logs(&r), ["first start", "plain text"]);
    // A mapping travels as JSON with its keys sorted, numbers kept as numbers.
    let r = run(
        &chain,
        "vm_config: {z: [1, true], a: \"x<y\"}\nstartup:\n  logs_exact: [first start, '{\"a\":\"x\\u003cy\",\"z\":[1,true]}']\nrequests: []\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    assert_eq!(r.startup_checks.len(), 1);
    // A plugin's own VM configuration wins over the scenario's.
    let mut own = plugin("rx", &rx, None);
    if let SimFilter::Extension(e) = &mut own {
        e.vm_configuration = Some("mine".into());
    }
    let r = run(&[own, router()], "vm_config: theirs\nrequests: []\n");
    assert_eq!(startup_logs(&r), ["first start", "mine"]);
}

#[test]
fn plugins_with_one_vm_key_share_a_vm_and_others_do_not() {
    let rx = wat_module("sim_queue_receiver");
    // Same vm_id, configuration and code: one VM, started once per plugin.
    let same = [
        plugin("a", &rx, Some("q")),
        plugin("b", &rx, Some("q")),
        router(),
    ];
    let r = run(&same, "requests: []\n");
    assert_eq!(
        startup_logs(&r),
        ["first start", "no vm config", "start again", "no vm config"]
    );
    assert_eq!(r.startup.len(), 2, "each plugin's start is reported");
    // Different vm_ids: two VMs.
    let apart = [
        plugin("a", &rx, Some("a")),
        plugin("b", &rx, Some("b")),
        router(),
    ];
    let r = run(&apart, "requests: []\n");
    assert_eq!(
        startup_logs(&r),
        ["first start", "no vm config", "first start", "no vm config"]
    );
    // Same vm_id, another VM configuration: another VM (Envoy's key includes it).
    let mut other_cfg = plugin("b", &rx, Some("q"));
    if let SimFilter::Extension(e) = &mut other_cfg {
        e.vm_configuration = Some("v2".into());
    }
    let r = run(
        &[plugin("a", &rx, Some("q")), other_cfg, router()],
        "requests: []\n",
    );
    assert_eq!(
        startup_logs(&r),
        ["first start", "no vm config", "first start", "v2"]
    );
    // Mesh chains keep a VM per extension unless the scenario sets a vm_id.
    let mesh = |name: &str| {
        SimFilter::Extension(ExtensionFilter {
            name: name.into(),
            namespace: "ns".into(),
            module: rx.clone(),
            root_id: format!("{name}_root"),
            plugin_name: name.into(),
            ..Default::default()
        })
    };
    let chain = [mesh("a"), mesh("b"), router()];
    let r = run(&chain, "requests: []\n");
    assert_eq!(startup_logs(&r)[2], "first start");
    let r = run(&chain, "vm_id: shared\nrequests: []\n");
    assert_eq!(startup_logs(&r)[2], "start again");
}

#[test]
fn a_queue_sender_and_receiver_work_within_one_vm_id_only() {
    let (tx, rx) = (
        wat_module("sim_queue_sender"),
        wat_module("sim_queue_receiver"),
    );
    let scenario = "requests:\n  - name: send\n    expect:\n      status: 200\n      logs_exact: [enqueued, from-sender, job-1]\n";
    let chain = [
        plugin("tx", &tx, Some("q")),
        plugin("rx", &rx, Some("q")),
        router(),
    ];
    let r = run(&chain, scenario);
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    let ready = r.requests[0]
        .trace
        .iter()
        .find(|e| e.callback.starts_with("proxy_on_queue_ready"))
        .expect("the receiver's on_queue_ready ran");
    assert_eq!(&*ready.filter, "default/rx");
    assert_eq!(
        r.shared_data.get("last").map(String::as_str),
        Some("from-sender")
    );
    // The scenario's vm_id puts both in one VM id too.
    let chain = [plugin("tx", &tx, None), plugin("rx", &rx, None), router()];
    let r = run(&chain, &format!("vm_id: q\n{scenario}"));
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    // Different vm_ids: neither the queue nor the shared data is visible.
    let chain = [
        plugin("tx", &tx, Some("a")),
        plugin("rx", &rx, Some("b")),
        router(),
    ];
    let r = run(&chain, "requests: [{name: send}]\n");
    assert_eq!(request_logs(&r, 0), ["no queue", "no shared data"]);
}

/// An empty data frame that does not end the stream exists only in HTTP/2, so a request that
/// sends one is an HTTP/2 request for `request.protocol`; every other is HTTP/1.1.
#[test]
fn request_protocol_follows_the_frames_the_client_sent() {
    let m = wat_module("sim_protocol");
    let chain = [plugin("p", &m, None), router()];
    let r = run(
        &chain,
        "requests:
  - request: {method: POST, chunks: [a, b]}
    expect: {upstream_request_headers: {x-protocol: HTTP/1.1}}
  - request: {method: POST, chunks: [a, '']}
    expect: {upstream_request_headers: {x-protocol: HTTP/1.1}}
  - request: {method: POST, chunks: ['', a]}
    expect: {upstream_request_headers: {x-protocol: HTTP/2}}
  - request: {method: POST, chunks: [a, ''], trailers: {t: x}}
    expect: {upstream_request_headers: {x-protocol: HTTP/2}}
",
    );
    assert_eq!(r.requests.len(), 4);
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    // A scenario's `properties:` still wins.
    let r = run(
        &chain,
        "properties: {request.protocol: HTTP/3}
requests:
  - request: {method: POST, chunks: ['', a]}
    expect: {upstream_request_headers: {x-protocol: HTTP/3}}
",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
}

#[test]
fn body_frames_and_trailers_both_ways() {
    let body = wat_module("sim_body_buffer");
    let chain = [plugin("b", &body, None), router()];
    // `chunks: [a, ""]`: an empty end-of-stream data frame after "a".
    let r = run(
        &chain,
        "requests:\n  - request: {method: POST, chunks: [a, '']}\n    expect: {upstream_request_body: a, upstream_request_headers: {content-length: null}}\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    let calls: Vec<String> = (r.requests[0].trace.iter())
        .filter(|e| e.callback.starts_with("proxy_on_request_body"))
        .map(|e| e.callback.to_string())
        .collect();
    // The module buffers, so the last call sees "a" again, now at end of stream.
    assert_eq!(
        calls,
        [
            "proxy_on_request_body(1 bytes, end_of_stream=false)",
            "proxy_on_request_body(1 bytes, end_of_stream=true)"
        ]
    );
    // Headers then only an empty end-of-stream frame; `body: ""` sends none.
    let r = run(
        &chain,
        "requests:\n  - request: {chunks: ['']}\n  - request: {body: ''}\n",
    );
    let body_calls = |i: usize| {
        (r.requests[i].trace.iter())
            .filter(|e| e.callback.starts_with("proxy_on_request_body"))
            .map(|e| e.callback.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        body_calls(0),
        ["proxy_on_request_body(0 bytes, end_of_stream=true)"]
    );
    assert!(body_calls(1).is_empty());
    // Empty frames that do not end the stream (HTTP/2 delivers them): one callback each.
    let r = run(
        &chain,
        "requests:\n  - request: {method: POST, chunks: [a, '', b]}\n    expect: {upstream_request_body: ab}\n  - request: {method: POST, chunks: [a, ''], trailers: {t: x}}\n    upstream: {chunks: ['', b]}\n    expect: {upstream_request_body: a, upstream_request_trailers: {t: x}, response_body: b}\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    let calls = |i: usize, prefix: &str| {
        (r.requests[i].trace.iter())
            .filter(|e| e.callback.starts_with(prefix))
            .map(|e| e.callback.to_string())
            .collect::<Vec<_>>()
    };
    // The module buffers; the empty frame's callback sees what was buffered before it.
    assert_eq!(
        calls(0, "proxy_on_request_body"),
        [
            "proxy_on_request_body(1 bytes, end_of_stream=false)",
            "proxy_on_request_body(1 bytes, end_of_stream=false)",
            "proxy_on_request_body(1 bytes, end_of_stream=true)"
        ]
    );
    // An empty frame before the trailers; an upstream answering with an empty frame first.
    assert_eq!(
        calls(1, "proxy_on_"),
        [
            "proxy_on_request_headers",
            "proxy_on_request_body(1 bytes, end_of_stream=false)",
            "proxy_on_request_body(1 bytes, end_of_stream=false)",
            "proxy_on_request_trailers",
            "proxy_on_response_headers",
            "proxy_on_response_body(0 bytes, end_of_stream=false)",
            "proxy_on_response_body(1 bytes, end_of_stream=true)"
        ]
    );

    // An upstream answering in chunks, with trailers; request trailers reach the upstream.
    let r = run(
        &chain,
        "requests:\n  - request: {body: x, trailers: {x-sum: '1'}}\n    upstream: {chunks: [he, llo], trailers: {grpc-status: '0'}}\n    expect:\n      response_body: hello\n      response_trailers: {grpc-status: '0', x-absent: null}\n      response_headers: {content-length: null}\n      upstream_request_trailers: {x-sum: '1'}\n",
    );
    assert!(failed_checks(&r).is_empty(), "{:?}", failed_checks(&r));
    let response_calls: Vec<String> = (r.requests[0].trace.iter())
        .filter(|e| e.callback.starts_with("proxy_on_response_"))
        .map(|e| e.callback.to_string())
        .collect();
    assert_eq!(
        response_calls,
        [
            "proxy_on_response_headers",
            "proxy_on_response_body(2 bytes, end_of_stream=false)",
            "proxy_on_response_body(3 bytes, end_of_stream=false)",
            "proxy_on_response_trailers"
        ]
    );
    let r = run(
        &chain,
        "requests:\n  - upstream: {chunks: [a, b]}\n    expect: {response_trailers: {grpc-status: '0'}, upstream_request_trailers: {x-sum: '1'}}\n",
    );
    assert_eq!(
        failed_checks(&r),
        [
            "response trailer grpc-status: expected \"0\", got (absent)",
            "upstream request trailer x-sum: expected \"1\", got (absent)"
        ]
    );
}

/// The two queue modules compiled into `dir`, and a scenario that expects the pair to work.
fn queue_files(dir: &std::path::Path) -> (String, String, String) {
    let put = |name: &str| {
        let p = dir.join(format!("{name}.wasm"));
        std::fs::write(&p, &*wat_module(name)).unwrap();
        p.display().to_string()
    };
    let sc = write(
        dir,
        "pair.yaml",
        "startup:\n  logs_exact: [first start, \"{\\\"k\\\":1}\"]\nrequests:\n  - name: send\n    expect:\n      logs_exact: [enqueued, from-sender, job-1]\n",
    );
    (
        put("sim_queue_sender"),
        put("sim_queue_receiver"),
        sc.display().to_string(),
    )
}

#[test]
fn repeated_modules_form_a_chain_with_their_own_options() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx, sc) = queue_files(dir.path());
    let cfg = write(dir.path(), "vm.json", "{\"k\":1}");
    let vm_cfg = format!("@{}", cfg.display());
    // Options follow the module they belong to.
    let (code, out, err) = simulate(&[
        "--scenario",
        &sc,
        "--module",
        &tx,
        "--vm-id",
        "q",
        "--name",
        "send",
        "--module",
        &rx,
        "--vm-id",
        "q",
        "--vm-config",
        &vm_cfg,
        "--name",
        "recv",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("default/send") && out.contains("default/recv"),
        "{out}"
    );
    // Options before the first --module apply to it (one module: any order).
    let (code, out, err) = simulate(&[
        "--scenario",
        &sc,
        "--vm-id",
        "q",
        "--name",
        "send",
        "--module",
        &tx,
        "--module",
        &rx,
        "--vm-id",
        "q",
        "--vm-config",
        "{\"k\":1}",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // Different vm_ids: the pair cannot see each other and the expectation fails.
    let (code, out, _) = simulate(&[
        "--scenario",
        &sc,
        "--module",
        &tx,
        "--vm-id",
        "a",
        "--module",
        &rx,
        "--vm-id",
        "b",
        "--vm-config",
        "{\"k\":1}",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no queue"), "{out}");
}

#[test]
fn per_module_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, rx, sc) = queue_files(dir.path());
    let (code, _, err) = simulate(&[
        "--scenario",
        &sc,
        "--module",
        &tx,
        "--config",
        "a",
        "--config",
        "b",
        "--module",
        &rx,
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("--config given twice for --module {tx} (per-module options apply to the --module, --service or --image before them)")),
        "{err}"
    );
    let (code, _, err) = simulate(&["--scenario", &sc, "--workload", "a/b", "--vm-id", "x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--vm-id is an option of --module/--service/--image"),
        "{err}"
    );
    // --vm-config @FILE is read within the plugin-config-bytes budget.
    let big = write(dir.path(), "big.json", &"x".repeat(100));
    let (code, _, err) = simulate(&[
        "--limit",
        "plugin-config-bytes=10",
        "--scenario",
        &sc,
        "--module",
        &rx,
        "--vm-config",
        &format!("@{}", big.display()),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("big.json") && err.contains("10"), "{err}");
    let (code, _, err) = simulate(&[
        "--scenario",
        &sc,
        "--module",
        &rx,
        "--vm-config",
        "@/nonexistent/vm.json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/vm.json"), "{err}");
}

#[test]
fn new_scenario_keys_have_located_errors() {
    let err = |text: &str| parse_scenario("s.yaml", text).unwrap_err().to_string();
    let cases = [
        ("vm_config: ~\nrequests: []\n", "s.yaml:1:12: vm_config must be a string or a mapping"),
        ("vm_id: [a]\nrequests: []\n", "s.yaml:1:8: vm_id must be a string"),
        ("requests: [{request: {chunks: [a, '', '', b]}}]\n", "s.yaml:1:39: a second empty data frame in a row that does not end the stream: Envoy's HTTP/2 codec closes the connection here (max_consecutive_inbound_frames_with_empty_payload is 1)"),
        ("requests: [{request: {chunks: ['', ''], trailers: {t: x}}}]\n", "s.yaml:1:36: a second empty data frame in a row that does not end the stream: Envoy's HTTP/2 codec closes the connection here (max_consecutive_inbound_frames_with_empty_payload is 1)"),
        ("requests: [{upstream: {body: a, chunks: [b]}}]\n", "s.yaml:1:30: give either body or chunks, not both"),
        ("requests: [{upstream: {chunks: ['', '', b]}}]\n", "s.yaml:1:37: a second empty data frame in a row that does not end the stream: Envoy's HTTP/2 codec closes the connection here (max_consecutive_inbound_frames_with_empty_payload is 1)"),
        ("requests: [{http_calls: [{cluster: c, response: {body: a, chunks: [b]}}]}]\n", "s.yaml:1:56: give either body or chunks, not both"),
        ("requests: [{expect: {response_trailers: {a: [1]}}}]\n", "s.yaml:1:45: response_trailers must be a string"),
        ("requests: [{advance: 1s, expect: {upstream_request_trailers: {a: b}}}]\n", "s.yaml:1:62: `upstream_request_trailers` needs a request: this step only advances time (add `request:`)"),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want, "{text}");
    }
}

#[test]
fn a_failed_start_fails_only_that_plugin_of_a_shared_vm() {
    // on_configure logs its plugin's configuration (buffer 7) and succeeds only with one;
    // requests log "ran".
    let module = Arc::new(
        wat::parse_str(
            r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $buf (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "ran")
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $buf (i32.const 7) (i32.const 0) (local.get 1) (i32.const 0) (i32.const 4)))
    (drop (call $log (i32.const 2) (i32.load (i32.const 0)) (i32.load (i32.const 4))))
    (i32.ne (local.get 1) (i32.const 0)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $log (i32.const 2) (i32.const 64) (i32.const 3)))
    (i32.const 0)))"#,
        )
        .unwrap(),
    );
    let with_config = |name: &str, config: &str| {
        let mut p = plugin(name, &module, Some("one"));
        if let SimFilter::Extension(e) = &mut p {
            e.configuration = config.into();
        }
        p
    };
    let chain = [with_config("good", "x"), with_config("bad", ""), router()];
    let r = run(&chain, "requests: [{name: r}]\n");
    // One VM, each root context with its own plugin configuration. The default (OSSM 2.1)
    // host predates cpp-host #303: the empty read leaves the out slots as the first plugin's
    // read set them, so the second root logs "x" again, though its configuration is empty.
    assert_eq!(startup_logs(&r), ["x", "x"]);
    let problems: Vec<&str> = r
        .startup_problems
        .iter()
        .map(|p| p.filter.as_str())
        .collect();
    assert_eq!(problems, ["default/bad"]);
    assert_eq!(request_logs(&r, 0), ["ran"]);
    let closed = r.requests[0]
        .trace
        .iter()
        .find(|e| &*e.filter == "default/bad")
        .expect("the failed plugin is in the trace");
    assert_eq!(closed.result, "plugin failed to start; failing closed");
    assert!(r.requests[0].upstream_request.is_none());
}
