//! Host profiles per Envoy version (`rules/abi/host_profiles.tsv`): behaviours that changed
//! between versions, shown by WAT guests.

use meshext_lint::simulate::{
    self, parse_scenario, ExtensionFilter, Profile, SimFilter, SimOptions,
};
use std::sync::Arc;

fn wat(name: &str) -> Arc<Vec<u8>> {
    let p = format!(
        "{}/tests/fixtures/wat/{name}.wat",
        env!("CARGO_MANIFEST_DIR")
    );
    Arc::new(wat::parse_file(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
}

fn chain(module: &str) -> Vec<SimFilter> {
    vec![
        SimFilter::Extension(ExtensionFilter {
            name: "f".into(),
            namespace: "ns".into(),
            module: wat(module),
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

fn run(module: &str, yaml: &str, profile: Profile) -> simulate::SimReport {
    let sc = parse_scenario("s.yaml", yaml).unwrap();
    let opts = SimOptions {
        profile: Some(profile),
        ..Default::default()
    };
    let r = simulate::run_scenario(&chain(module), &sc, &opts);
    eprintln!("{}", simulate::render::human(&r));
    r
}

/// (callback label, log lines) of the module's events in the first request.
fn events(r: &simulate::SimReport) -> Vec<(String, Vec<String>)> {
    r.requests[0]
        .trace
        .iter()
        .filter(|e| e.callback.starts_with("proxy_on_request_body"))
        .map(|e| {
            (
                e.callback.to_string(),
                e.logs.iter().map(|l| l.message.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn every_envoy_version_the_meshes_ship_has_a_profile() {
    let v = Profile::envoy_versions();
    assert_eq!(
        v,
        ["1.14", "1.17", "1.20", "1.22", "1.24", "1.26", "1.28", "current"]
    );
    for e in v {
        let p = Profile::for_envoy(e).unwrap();
        assert_eq!(p.host.envoy, e);
    }
    assert!(Profile::for_envoy("1.15").is_none());
}

const CHUNKS: &str =
    "requests:\n  - name: chunks\n    request:\n      method: POST\n      chunks: [aa, bb, cc]\n";

#[test]
fn buffered_body_excludes_the_current_chunk_before_envoy_pr_36411() {
    for e in ["1.14", "1.17", "1.20", "1.22", "1.24", "1.26", "1.28"] {
        let r = run("sim_body_buffer", CHUNKS, Profile::for_envoy(e).unwrap());
        let ev = events(&r);
        let bodies: Vec<_> = ev.iter().filter(|(c, _)| c.contains("body")).collect();
        let got: Vec<(String, String)> = bodies
            .iter()
            .map(|(c, l)| (c.clone(), l.join("|")))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "proxy_on_request_body(2 bytes, end_of_stream=false)".into(),
                    "[aa]".into()
                ),
                (
                    "proxy_on_request_body(2 bytes, end_of_stream=false)".into(),
                    "[aa]".into()
                ),
                (
                    "proxy_on_request_body(4 bytes, end_of_stream=true)".into(),
                    "[aabb]".into()
                ),
            ],
            "Envoy {e}"
        );
        // Nothing is lost: the upstream still gets the whole body.
        let up = r.requests[0].upstream_request.as_ref().expect("upstream");
        assert_eq!(up.body, b"aabbcc", "Envoy {e}");
    }
}

#[test]
fn current_envoy_adds_the_chunk_to_the_buffer_before_the_callback() {
    let r = run("sim_body_buffer", CHUNKS, Profile::latest());
    let got: Vec<(String, String)> = events(&r)
        .into_iter()
        .filter(|(c, _)| c.contains("body"))
        .map(|(c, l)| (c, l.join("|")))
        .collect();
    assert_eq!(
        got,
        [
            (
                "proxy_on_request_body(2 bytes, end_of_stream=false)".into(),
                "[aa]".into()
            ),
            (
                "proxy_on_request_body(4 bytes, end_of_stream=false)".into(),
                "[aabb]".into()
            ),
            (
                "proxy_on_request_body(6 bytes, end_of_stream=true)".into(),
                "[aabbcc]".into()
            ),
        ]
    );
    let up = r.requests[0].upstream_request.as_ref().expect("upstream");
    assert_eq!(up.body, b"aabbcc");
}

/// Each foreign function's status per Envoy version (`sim_foreign.wat`).
#[test]
fn foreign_functions_answer_per_envoy_version() {
    let yaml = "requests:\n  - name: foreign\n";
    for e in Profile::envoy_versions() {
        let r = run("sim_foreign", yaml, Profile::for_envoy(e).unwrap());
        let up = r.requests[0].upstream_request.as_ref().expect("upstream");
        let got = |k: &str| up.headers.get(k).unwrap_or("?").to_string();
        let filter_state = if matches!(e, "1.28" | "current") {
            "0"
        } else {
            "1"
        };
        let route_cache = if e == "current" { "0" } else { "1" };
        let big_uncompress = if matches!(e, "1.14" | "1.17") {
            "3"
        } else {
            "0"
        };
        let expected = [
            ("fa", "0"), // compress
            ("fb", "0"), // uncompress of its output
            ("fc", "hello hello hello hello hello"),
            ("fd", "3"),            // uncompress of garbage → SERIALIZATION_FAILURE
            ("fe", "0"),            // declare_property
            ("ff", "2"),            // the same name again → BAD_ARGUMENT
            ("fg", filter_state),   // set_envoy_filter_state (1.28+), in a stream
            ("fh", "1"),            // … a name without object factory → NOT_FOUND
            ("fi", route_cache),    // clear_route_cache (current Envoy only)
            ("fj", "1"),            // unknown name → NOT_FOUND
            ("fk", big_uncompress), // output > 2n+2: Envoy ≤ 1.17 did not grow its buffer
            ("fl", "1"),            // set_envoy_filter_state from the root context → NOT_FOUND
        ];
        for (k, v) in expected {
            assert_eq!(got(k), v, "Envoy {e}: {k}");
        }
    }
}

/// Envoy's CEL foreign functions (`sim_cel.wat`), the same in every Envoy version: a token
/// (4 bytes, counting from 0 per root context, shared by its streams; a plan failure burns
/// one) from `expr_create`, the `serializeValue` bytes from `expr_evaluate` against the
/// calling stream, and Envoy's statuses for a parse error, an unknown function, a missing key,
/// a short token, an unknown or deleted token, a `null` result and a root context without a
/// stream; `proxy_set_effective_context` does not change the context evaluated against. A second request with another `x-id` makes the expression false. Envoy 1.14
/// (envoy-wasm) answers an evaluation error with SERIALIZATION_FAILURE and encodes maps as
/// `google.protobuf.Struct`; `null` is OK and empty up to 1.17 (`cel_*` columns).
#[test]
fn cel_expressions_evaluate_against_the_stream() {
    let yaml = r#"requests:
  - name: matching
    request: {method: GET, path: /, headers: {x-id: "7"}}
    expect:
      upstream_request_headers: {cm: "1", mt: GET}
  - name: other id
    request: {method: GET, path: /, headers: {x-id: "8"}}
    expect:
      upstream_request_headers: {cm: "0", cb: "0"}
"#;
    for e in Profile::envoy_versions() {
        let r = run("sim_cel", yaml, Profile::for_envoy(e).unwrap());
        let failed: Vec<_> = (r.requests.iter().flat_map(|q| q.checks.iter()))
            .filter(|c| !c.ok)
            .map(|c| format!("{}: expected {}, got {}", c.what, c.expected, c.actual))
            .collect();
        assert!(failed.is_empty(), "Envoy {e}: {failed:#?}");
        let up = r.requests[0].upstream_request.as_ref().expect("upstream");
        let got = |k: &str| up.headers.get(k).unwrap_or("?").to_string();
        let envoy_wasm = e == "1.14";
        let error = if envoy_wasm { "3" } else { "10" };
        let null = if matches!(e, "1.14" | "1.17") {
            "0"
        } else {
            "3"
        };
        // {'a': 'b'}: Struct {fields {key "a" value {string_value "b"}}} = 10 bytes; pairs:
        // count, two sizes, "a\0b\0" = 16 bytes.
        let map_size = if envoy_wasm { "10" } else { "16" };
        let expected = [
            ("ca", "0"),   // expr_create → OK
            ("cb", "0"),   // expr_evaluate → OK
            ("cm", "1"),   // … true
            ("cc", "2"),   // a parse error → BAD_ARGUMENT
            ("cd", "2"),   // an unknown function → BAD_ARGUMENT (token 2 burnt)
            ("ce", "3"),   // the next token: 0 (on_configure), 1, 2 burnt, 3
            ("cf", error), // a missing header → INTERNAL_FAILURE
            ("cg", "0"),   // the root's token evaluated in the stream
            ("mt", "GET"), // … its value
            ("ch", "2"),   // a 3-byte token → BAD_ARGUMENT
            ("ci", "1"),   // token 99 → NOT_FOUND
            ("cj", "0"),   // expr_delete → OK
            ("ck", "1"),   // … then NOT_FOUND
            ("cl", null),  // `null` → SERIALIZATION_FAILURE (OK, empty, up to 1.17)
            ("cr", error), // `request.method` in the root context → INTERNAL_FAILURE
            ("cs", map_size),
            ("cx", "0"), // after proxy_set_effective_context(root): still the stream
        ];
        for (k, v) in expected {
            assert_eq!(got(k), v, "Envoy {e}: {k}");
        }
    }
}

/// `route_name` / `cluster_name` at the top level before Envoy 1.33, under `xds.` in current
/// Envoy; a scenario override still wins.
#[test]
fn route_and_cluster_names_follow_the_profile() {
    let yaml = "requests:\n  - name: props\n";
    let heads = |r: &simulate::SimReport| {
        let up = r.requests[0].upstream_request.as_ref().expect("upstream");
        ["pa", "pb", "pc", "pd"].map(|k| up.headers.get(k).unwrap_or("?").to_string())
    };
    let old = run("sim_route_props", yaml, Profile::for_envoy("1.20").unwrap());
    let cluster = heads(&old)[1].clone();
    assert!(cluster.starts_with("inbound|"), "{cluster}");
    assert_eq!(heads(&old), ["default", &cluster, "!1", "!1"]);
    let new = run("sim_route_props", yaml, Profile::latest());
    assert_eq!(heads(&new), ["!1", "!1", "default", &cluster]);
    let overridden = run(
        "sim_route_props",
        "properties:\n  xds.route_name: mine\nrequests:\n  - name: props\n",
        Profile::latest(),
    );
    assert_eq!(heads(&overridden)[2], "mine");
}

/// The log lines of the start-up trace.
fn startup_logs(r: &simulate::SimReport) -> Vec<String> {
    r.startup
        .iter()
        .flat_map(|e| e.logs.iter().map(|l| l.message.clone()))
        .collect()
}

const ONE_GET: &str = "requests:\n  - name: one\n    request: {method: GET, path: /}\n";

#[test]
fn an_empty_buffer_read_writes_null_only_from_cpp_host_303() {
    // (Envoy 1.14 takes only ABI 0.1.0, whose configuration comes from proxy_get_configuration.)
    for e in ["1.17", "1.20", "1.22"] {
        let r = run("sim_empty_read", ONE_GET, Profile::for_envoy(e).unwrap());
        assert_eq!(startup_logs(&r), ["slots untouched"], "Envoy {e}");
    }
    for e in ["1.24", "1.26", "1.28", "current"] {
        let r = run("sim_empty_read", ONE_GET, Profile::for_envoy(e).unwrap());
        assert_eq!(startup_logs(&r), ["slots zeroed"], "Envoy {e}");
    }
}

/// `@solo-io/proxy-runtime` 0.1.8 reads the plugin configuration in `onConfigure` and decodes
/// whatever its out slots hold. With an empty configuration, hosts before cpp-host #303 leave
/// the slots of an earlier call there (the module starts, with garbage as its configuration);
/// from Envoy 1.24 the null pointer makes it read out of bounds, so the plugin fails to start.
#[test]
fn assemblyscript_0_1_8_with_an_empty_configuration_fails_to_start_from_envoy_1_24() {
    let module = Arc::new(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/extensions/build/as-add-header.wasm"
        ))
        .unwrap(),
    );
    let chain = vec![
        SimFilter::Extension(ExtensionFilter {
            name: "as".into(),
            namespace: "ns".into(),
            module,
            configuration: String::new(),
            root_id: "add_header".into(),
            plugin_name: "as".into(),
            ..Default::default()
        }),
        SimFilter::Builtin {
            name: "router".into(),
        },
    ];
    let sc = parse_scenario("s.yaml", ONE_GET).unwrap();
    let start = |e: &str| {
        let opts = SimOptions {
            profile: Some(Profile::for_envoy(e).unwrap()),
            ..Default::default()
        };
        simulate::run_scenario(&chain, &sc, &opts)
    };
    for e in ["1.17", "1.20", "1.22"] {
        let r = start(e);
        assert!(
            r.startup_problems.is_empty(),
            "Envoy {e}: {:?}",
            r.startup_problems
        );
    }
    for e in ["1.24", "1.28", "current"] {
        let r = start(e);
        assert_eq!(r.startup_problems.len(), 1, "Envoy {e}");
        assert!(
            r.startup_problems[0].message.contains("out of bounds"),
            "Envoy {e}: {}",
            r.startup_problems[0].message
        );
    }
}

/// A module that calls an unsupported feature (CEL message construction) on every tick gets
/// the simulator's warning once per module, not once per tick.
#[test]
fn an_unsupported_foreign_function_is_reported_once_per_module() {
    let r = run(
        "sim_tick_cel",
        r#"requests:
  - name: three ticks
    advance: 3s
    expect:
      logs_exact: [{level: warn, regex: "CEL message construction is not supported by the simulator"}, tick, tick, tick]
  - name: two more
    advance: 2s
    expect:
      logs_exact: [tick, tick]
"#,
        Profile::latest(),
    );
    let failed: Vec<_> = (r.requests.iter().flat_map(|q| q.checks.iter()))
        .filter(|c| !c.ok)
        .map(|c| format!("{}: expected {}, got {}", c.what, c.expected, c.actual))
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

/// `xds.*` per Envoy version (`xds_props`): none before the attributes existed (1.14–1.22);
/// cluster/route/upstream-host/filter-chain attributes from 1.24 (envoyproxy/envoy PR #24302,
/// backported to release/v1.24); `xds.node` and the listener attributes (1.29) only in
/// current Envoy. `filter_chain_name` and `virtual_host_name` exist but are not modelled.
#[test]
fn xds_attributes_follow_the_envoy_version() {
    let statuses = |p: Profile| -> Vec<String> {
        let r = run("sim_xds_props", "requests:\n  - name: x\n", p);
        (r.requests[0].trace.iter())
            .flat_map(|e| e.logs.iter().map(|l| l.message.clone()))
            .collect()
    };
    // node, cluster_name, cluster_metadata, route_name, route_metadata,
    // upstream_host_metadata, filter_chain_name, listener_direction, listener_metadata,
    // virtual_host_name
    let none = ["1"; 10];
    let v125 = ["1", "0", "0", "0", "0", "0", "1", "1", "1", "1"];
    let current = ["0", "0", "0", "0", "0", "0", "1", "0", "0", "1"];
    for (envoy, want) in [
        ("1.14", none),
        ("1.17", none),
        ("1.20", none),
        ("1.22", none),
        ("1.24", v125),
        ("1.26", v125),
        ("1.28", v125),
    ] {
        let p = Profile::for_envoy(envoy).unwrap();
        assert_eq!(statuses(p), want, "Envoy {envoy}");
    }
    assert_eq!(statuses(Profile::latest()), current);
}
