//! Issue 16, "guest-driven host growth" and re-entrant hostcalls: a module must not make the
//! simulated host grow without bound, recurse until the native stack overflows, or run for
//! ever through free hostcalls. Each case is a WAT guest; the run must end with a failure
//! that names the budget (docs/limits.md, "Host") and the module's filter, and the binary's
//! peak RSS (`/usr/bin/time`) stays bounded. No timing assertions: a watchdog only turns a
//! hang into a failure.
#![cfg(unix)]

mod common;
use common::*;
use meshext_lint::model::version::MeshVersion;
use meshext_lint::simulate::{
    self, parse_scenario, ExtensionFilter, Limits, SimFilter, SimOptions,
};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

/// Peak RSS allowed to a child run beyond the VM's linear memory (`--memory-mib`), KiB: the
/// host's own caps are a few tens of MiB; without them a hostile module makes it gigabytes.
const RSS_OVER_MEMORY_KIB: u64 = 336 * 1024;

struct Outcome {
    code: i32,
    json: serde_json::Value,
    stderr: String,
    /// Peak RSS in KiB, when `/usr/bin/time` is there.
    rss_kib: Option<u64>,
    memory_mib: u32,
}

/// Runs `simulate --module` on `wat` with `scenario`, `memory_mib` and `args`, under `/usr/bin/time` when
/// present, with a watchdog.
fn simulate_module(wat: &str, scenario: &str, memory_mib: u32, args: &[&str]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("hostile.wasm");
    std::fs::write(&module, wat::parse_str(wat).unwrap()).unwrap();
    let sc = dir.path().join("s.yaml");
    std::fs::write(&sc, scenario).unwrap();
    let rss_file = dir.path().join("rss");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = std::process::Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_file);
        c.arg(env!("CARGO_BIN_EXE_meshext-lint"));
        c.current_dir(root()).env("NO_COLOR", "1");
        c
    } else {
        eprintln!("/usr/bin/time is absent: peak RSS is not checked");
        bin()
    };
    cmd.args(["simulate", "--format", "json", "--memory-mib"])
        .arg(memory_mib.to_string())
        .arg("--module")
        .arg(&module)
        .arg("--scenario")
        .arg(&sc)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let out = match rx.recv_timeout(std::time::Duration::from_secs(300)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            panic!("simulate did not finish");
        }
    };
    let rss_kib = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.lines().last()?.trim().parse().ok());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON ({e}): {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Outcome {
        code: out.status.code().expect("exit code, not a signal"),
        json,
        stderr,
        rss_kib,
        memory_mib,
    }
}

impl Outcome {
    /// Asserts the run reported `needle` (a failure message) for the module's filter and
    /// stayed under the memory bound.
    fn assert_reported(&self, needle: &str) {
        let text = self.json.to_string();
        assert!(
            text.contains(needle),
            "expected {needle:?} in {}\nstderr: {}",
            head(&text),
            self.stderr
        );
        assert!(
            text.contains("hostile"),
            "the module is named: {}",
            head(&text)
        );
        assert_eq!(self.code, 1, "the request fails: {}", head(&text));
        if let Some(kib) = self.rss_kib {
            let bound = self.memory_mib as u64 * 1024 + RSS_OVER_MEMORY_KIB;
            assert!(kib < bound, "peak RSS {kib} KiB, over {bound} KiB");
        }
    }
}

/// One request that expects to pass: a module that fails it makes `simulate` exit 1.
const ONE_REQUEST: &str =
    "requests:\n  - name: one\n    request: {method: GET, path: /}\n    expect: {status: 200}\n";
const BODY_REQUEST: &str = "requests:\n  - name: one\n    request: {method: POST, path: /, body: hello}\n    expect: {status: 200}\n";

/// The start of a long JSON text, for assertion messages.
fn head(v: &impl std::fmt::Display) -> String {
    let s = v.to_string();
    s.chars().take(3000).collect()
}

/// A proxy-wasm module skeleton: a bump allocator, the 0.2.1 marker, context creation,
/// `imports`, `body` (extra functions/exports) and `on_request_headers` doing `headers`.
fn guest(imports: &str, body: &str, headers: &str) -> String {
    format!(
        r#"(module
  {imports}
  (memory (export "memory") 16)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    {headers}
    (i32.const 0))
  {body}
)"#
    )
}

#[test]
fn reentrant_malloc_hits_the_hostcall_depth_limit() {
    let o = simulate_module(REENTRANT, ONE_REQUEST, 64, &["--config", "{}"]);
    o.assert_reported("re-entrant hostcalls nested too deep");
}

/// malloc asks for the plugin configuration, whose copy calls malloc again…
const REENTRANT: &str = r#"(module
  (import "env" "proxy_get_buffer_bytes" (func $get_buf (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 1024))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (drop (call $get_buf (i32.const 7) (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 104)))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $n)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $get_buf (i32.const 7) (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 104)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
)"#;

#[test]
fn reentrant_malloc_at_lint_start_up_is_a_located_finding() {
    // The same module in an image, started by `lint` as the mesh would: a runtime finding at
    // the extension resource, not a stack overflow.
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("reentrant.wasm");
    std::fs::write(&module, wat::parse_str(REENTRANT).unwrap()).unwrap();
    let layout = tmp.path().join("layout");
    let out = run(&[
        "pack",
        "--manifest",
        "samples/extensions/rust/header-append/manifest.yaml",
        "--module",
        module.to_str().unwrap(),
        "--ref",
        "quay.io/acme/reentrant:1.0",
        "--out",
        layout.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sample = std::fs::read_to_string(root().join("samples/broken/MX704.yaml")).unwrap();
    let mesh: String = sample
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.replace(
                "quay.io/meshext-samples/config-panic:1.0",
                "quay.io/acme/reentrant:1.0",
            ) + "\n"
        })
        .collect();
    let mesh_file = write(tmp.path(), "mesh.yaml", &mesh);
    // Located at the extension's `spec` (where its missing `config` would go), 1-based.
    let lines: Vec<&str> = mesh.lines().collect();
    let sme = lines
        .iter()
        .position(|l| l.contains("kind: ServiceMeshExtension"))
        .unwrap();
    let spec_line = sme + lines[sme..].iter().position(|l| *l == "spec:").unwrap() + 1;
    let (code, json) = lint_json(&[
        "--images",
        layout.to_str().unwrap(),
        mesh_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{json:#}");
    let found: Vec<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["rule"].as_str().unwrap().starts_with("MX7")
                && d.to_string()
                    .contains("re-entrant hostcalls nested too deep")
        })
        .collect();
    assert_eq!(found.len(), 1, "{json:#}");
    assert_eq!(found[0]["line"], spec_line, "{json:#}");
    assert!(found[0].to_string().contains("mesh.yaml"), "{json:#}");
}

#[test]
fn header_map_growth_is_capped() {
    // Adds a 1 KiB header value for ever.
    let wat = guest(
        r#"(import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))"#,
        "",
        "(loop $l (drop (call $add (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 1024))) (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("a header map grew past its");
    // The cap is a budget like the others: `--limit` sets it.
    let o = simulate_module(&wat, ONE_REQUEST, 64, &["--limit", "header-map-entries=50"]);
    o.assert_reported("a header map grew past its entry limit (limit 50;");
}

#[test]
fn body_growth_is_capped() {
    let wat = guest(
        r#"(import "env" "proxy_set_buffer_bytes" (func $set (param i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(func (export "proxy_on_request_body") (param i32 i32 i32) (result i32)
    (loop $l (drop (call $set (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 65536))) (br $l))
    (i32.const 0))"#,
        "",
    );
    let o = simulate_module(&wat, BODY_REQUEST, 64, &[]);
    o.assert_reported("a body buffer grew past its byte limit");
}

#[test]
fn properties_are_capped() {
    // A new 4-byte key (a counter) with a 64 KiB value each time.
    let wat = guest(
        r#"(import "env" "proxy_set_property" (func $set (param i32 i32 i32 i32) (result i32)))"#,
        "",
        "(loop $l
           (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
           (drop (call $set (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 65536)))
           (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("properties set on one stream hold too many bytes");
}

#[test]
fn cel_expressions_are_capped() {
    // expr_create of a 60,000-character string literal, for ever: the expressions a VM keeps
    // are bounded (their text, before their count).
    let wat = guest(
        r#"(import "env" "proxy_call_foreign_function" (func $ff (param i32 i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 60200) "expr_create")"#,
        "(i32.store (i32.const 8) (i32.const 16))
         (loop $f
           (i32.store8 (i32.load (i32.const 8)) (i32.const 97))
           (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
           (br_if $f (i32.lt_u (i32.load (i32.const 8)) (i32.const 60016))))
         (i32.store8 (i32.const 15) (i32.const 39))
         (i32.store8 (i32.const 60016) (i32.const 39))
         (loop $l
           (drop (call $ff (i32.const 60200) (i32.const 11) (i32.const 15) (i32.const 60002)
             (i32.const 60100) (i32.const 60104)))
           (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("bytes of CEL expressions");
    // A short expression, for ever: their count.
    let wat = guest(
        r#"(import "env" "proxy_call_foreign_function" (func $ff (param i32 i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 60200) "expr_create") (data (i32.const 60220) "1")"#,
        "(loop $l
           (drop (call $ff (i32.const 60200) (i32.const 11) (i32.const 60220) (i32.const 1)
             (i32.const 60100) (i32.const 60104)))
           (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("simulator limit: CEL expressions");
    // `[1,1,…,1,]` (30,000 elements), for ever: the nodes of their syntax trees.
    let wat = guest(
        r#"(import "env" "proxy_call_foreign_function" (func $ff (param i32 i32 i32 i32 i32 i32) (result i32)))"#,
        r#"(data (i32.const 60200) "expr_create")"#,
        "(i32.store (i32.const 8) (i32.const 16))
         (loop $f
           (i32.store8 (i32.load (i32.const 8))
             (select (i32.const 49) (i32.const 44)
               (i32.eqz (i32.and (i32.load (i32.const 8)) (i32.const 1)))))
           (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
           (br_if $f (i32.lt_u (i32.load (i32.const 8)) (i32.const 60016))))
         (i32.store8 (i32.const 15) (i32.const 91))
         (i32.store8 (i32.const 60016) (i32.const 93))
         (loop $l
           (drop (call $ff (i32.const 60200) (i32.const 11) (i32.const 15) (i32.const 60002)
             (i32.const 60100) (i32.const 60104)))
           (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("nodes of CEL expressions");
}

#[test]
fn one_cel_evaluation_is_bounded() {
    // Nested comprehensions over a 500-element list: 1.25e8 iterations from 3 KB of text. The
    // bytes the inner list literals make (or else the step bound) stop it.
    let r = format!("[{}]", "1,".repeat(500));
    let expr = format!("{r}.all(a, {r}.all(b, {r}.all(c, true)))");
    let wat = guest(
        r#"(import "env" "proxy_call_foreign_function" (func $ff (param i32 i32 i32 i32 i32 i32) (result i32)))"#,
        &format!(
            r#"(data (i32.const 60200) "expr_create") (data (i32.const 60220) "expr_evaluate")
               (data (i32.const 1024) "{expr}")"#
        ),
        &format!(
            "(drop (call $ff (i32.const 60200) (i32.const 11) (i32.const 1024) (i32.const {})
               (i32.const 60100) (i32.const 60104)))
             (drop (call $ff (i32.const 60220) (i32.const 13) (i32.load (i32.const 60100)) (i32.const 4)
               (i32.const 60108) (i32.const 60112)))",
            expr.len()
        ),
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("one CEL evaluation (limit");
}

#[test]
fn pending_local_replies_are_capped() {
    // send_local_response with a 64 KiB body, for ever, in one callback.
    let wat = guest(
        r#"(import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))"#,
        "",
        "(loop $l (drop (call $reply (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 65536) (i32.const 0) (i32.const 0) (i32.const -1))) (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("pending proxy actions of one callback hold too many bytes");
}

#[test]
fn pending_callouts_are_capped() {
    // proxy_http_call with the three required headers, for ever.
    let pairs = pairs_data(&[(":path", "/"), (":method", "GET"), (":authority", "x")]);
    let wat = guest(
        r#"(import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))"#,
        &format!(
            r#"(data (i32.const 1024) "{pairs}")
  (data (i32.const 2048) "cluster")"#
        ),
        &format!(
            "(loop $l (drop (call $call (i32.const 2048) (i32.const 7) (i32.const 1024) (i32.const {}) (i32.const 0) (i32.const 65536) (i32.const 0) (i32.const 0) (i32.const 1000) (i32.const 4000))) (br $l))",
            pairs_len(&[(":path", "/"), (":method", "GET"), (":authority", "x")])
        ),
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("pending proxy actions of one callback hold too many bytes");
}

#[test]
fn metric_definitions_are_capped() {
    let wat = guest(
        r#"(import "env" "proxy_define_metric" (func $def (param i32 i32 i32 i32) (result i32)))"#,
        "",
        "(loop $l
           (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
           (drop (call $def (i32.const 0) (i32.const 0) (i32.const 4) (i32.const 8)))
           (br $l))",
    );
    let o = simulate_module(&wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("too many metrics");
}

#[test]
fn huge_log_lines_do_not_keep_their_size() {
    // 1 MiB log lines until the fuel runs out: each line is cut to 16 KiB and buffered lines
    // are bounded; before, each kept its 1 MiB allocation (gigabytes).
    let wat = r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 17)
  (func (export "malloc") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (loop $l (drop (call $log (i32.const 2) (i32.const 0) (i32.const 1048576))) (br $l))
    (i32.const 0))
)"#;
    let o = simulate_module(wat, ONE_REQUEST, 64, &[]);
    o.assert_reported("exhausted its fuel budget per call");
    o.assert_reported("raise it with `--fuel N` or `simulate.fuel` in the configuration");
    // What the trace kept of the last lines is cut.
    let text = o.json.to_string();
    assert!(text.len() < 64 << 20, "trace of {} bytes", text.len());
}

#[test]
fn fd_write_with_millions_of_iovecs_is_refused() {
    // 60 M zero-length iovecs (a zeroed 480 MB table): EINVAL (28) at once, as Linux answers
    // more than IOV_MAX; the module traps if it gets anything else.
    let wat = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 7400)
  (func (export "malloc") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.ne (call $w (i32.const 1) (i32.const 0) (i32.const 60000000) (i32.const 16)) (i32.const 28))
      (then unreachable))
    ;; then the largest allowed, for ever: bounded by the fuel hostcalls are charged
    (loop $l (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1024) (i32.const 16))) (br $l))
    (i32.const 0))
)"#;
    let o = simulate_module(wat, ONE_REQUEST, 512, &[]);
    o.assert_reported("exhausted its fuel budget per call");
}

/// Proxy-wasm pairs bytes as a WAT data string.
fn pairs_data(pairs: &[(&str, &str)]) -> String {
    let bytes = meshext_lint::simulate::headers::encode_pairs(
        pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
    );
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

fn pairs_len(pairs: &[(&str, &str)]) -> usize {
    meshext_lint::simulate::headers::encode_pairs(
        pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())),
    )
    .len()
}

// ---------------------------------------------------------------------- budgets over calls
// In process with small budgets, so that the debug build spends little time.

fn small() -> Limits {
    Limits {
        fuel_per_call: 2_000_000,
        fuel_per_request: 5_000_000,
        fuel_per_advance: 5_000_000,
        fuel_per_run: 40_000_000,
        memory_bytes: 8 << 20,
        ..Limits::default()
    }
}

fn run_in_process(wat: &str, scenario: &str, limits: Limits) -> simulate::SimReport {
    let chain = [
        SimFilter::Extension(ExtensionFilter {
            name: "hostile".into(),
            namespace: "ns".into(),
            module: Arc::new(wat::parse_str(wat).unwrap()),
            configuration: String::new(),
            root_id: "hostile_root".into(),
            plugin_name: "hostile".into(),
            ..Default::default()
        }),
        SimFilter::Builtin {
            name: "envoy.filters.http.router".into(),
        },
    ];
    let sc = parse_scenario("s.yaml", scenario).unwrap();
    let opts = SimOptions {
        mesh: MeshVersion::V2_1,
        limits,
        ..Default::default()
    };
    simulate::run_scenario(&chain, &sc, &opts)
}

/// Burns a good part of the 2 M fuel per call in `name`.
fn burner(name: &str, params: &str, result: &str) -> String {
    format!(
        r#"(func (export "{name}") {params} {result}
    (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
    {ret})"#,
        ret = if result.is_empty() {
            ""
        } else {
            "(i32.const 0)"
        }
    )
}

#[test]
fn ticks_of_one_advance_share_its_fuel_budget() {
    // A 100 ms tick that works hard each time, and an advance of 1000 s (10,000 ticks).
    let wat = format!(
        r#"(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $tick (i32.const 100))) (i32.const 1))
  {}
)"#,
        burner("proxy_on_tick", "(param i32)", "")
    );
    let scenario =
        "requests:\n  - name: later\n    advance: 1000s\n    request: {method: GET, path: /}\n";
    let r = run_in_process(&wat, scenario, small());
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        text.contains("exhausted its fuel budget per advance (5000000 units")
            && text.contains("raise it with `--limit fuel-per-advance=N`"),
        "{}",
        head(&text)
    );
}

#[test]
fn one_request_has_a_fuel_budget_over_its_callbacks() {
    // Each callback stays under the per-call budget; together they pass the request's.
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  {} {} {} {}
)"#,
        burner(
            "proxy_on_request_headers",
            "(param i32 i32 i32)",
            "(result i32)"
        ),
        burner(
            "proxy_on_request_body",
            "(param i32 i32 i32)",
            "(result i32)"
        ),
        burner(
            "proxy_on_response_headers",
            "(param i32 i32 i32)",
            "(result i32)"
        ),
        burner(
            "proxy_on_response_body",
            "(param i32 i32 i32)",
            "(result i32)"
        ),
    );
    let scenario = "requests:\n  - name: one\n    request: {method: POST, path: /, body: hello}\n    upstream: {status: 200, body: world}\n";
    let limits = Limits {
        fuel_per_request: 2_500_000,
        ..small()
    };
    let r = run_in_process(&wat, scenario, limits);
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        text.contains("exhausted its fuel budget per request (2500000 units")
            && text.contains("raise it with `--limit fuel-per-request=N`"),
        "{}",
        head(&text)
    );
}

#[test]
fn a_run_has_a_fuel_budget_over_its_requests() {
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  {}
)"#,
        burner(
            "proxy_on_request_headers",
            "(param i32 i32 i32)",
            "(result i32)"
        ),
    );
    let mut scenario = String::from("requests:\n");
    for i in 0..40 {
        scenario.push_str(&format!(
            "  - name: r{i}\n    request: {{method: GET, path: /}}\n"
        ));
    }
    let limits = Limits {
        fuel_per_run: 10_000_000,
        ..small()
    };
    let r = run_in_process(&wat, &scenario, limits);
    let text = serde_json::to_string(&r).unwrap();
    assert!(
        text.contains("exhausted its fuel budget per run (10000000 units")
            && text.contains("raise it with `--limit fuel-per-run=N`"),
        "{}",
        head(&text)
    );
}

#[test]
fn many_vms_share_the_total_memory_budget() {
    // Three filters whose modules each take 6 MiB at instantiation, under a 16 MiB total:
    // the third does not load, naming the budget.
    let wat = r#"(module
  (memory (export "memory") 96)
  (func (export "malloc") (param i32) (result i32) (i32.const 0))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
)"#;
    let module = Arc::new(wat::parse_str(wat).unwrap());
    let ext = |i: usize| {
        SimFilter::Extension(ExtensionFilter {
            name: format!("hostile-{i}"),
            namespace: "ns".into(),
            module: module.clone(),
            configuration: String::new(),
            root_id: format!("m{i}_root"),
            plugin_name: format!("hostile-{i}"),
            ..Default::default()
        })
    };
    let chain = [ext(0), ext(1), ext(2)];
    let limits = Limits {
        total_memory_bytes: 16 << 20,
        ..small()
    };
    // The total is per process: other tests of this binary may hold VMs too, so which filter
    // is refused is not asserted, only that one is, naming the budget (3 × 6 MiB > 16 MiB).
    let sc = parse_scenario("s.yaml", ONE_REQUEST).unwrap();
    let opts = SimOptions {
        mesh: MeshVersion::V2_1,
        limits,
        ..Default::default()
    };
    let r = simulate::run_scenario(&chain, &sc, &opts);
    let text = serde_json::to_string(&r.startup_problems).unwrap();
    assert!(text.contains("total memory budget (16 MiB"), "{text}");
    assert!(text.contains("hostile-"), "{text}");
}
