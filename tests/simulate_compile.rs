//! Compiling lazily must not change the verdict: a module with a broken function body is
//! rejected with wasmi's first validation error, whether or not anything calls that body,
//! for small modules (validated before they start) and large ones (validated on another
//! thread while they start, `simulate::compile`).

mod common;

use meshext_lint::model::MeshVersion;
use meshext_lint::simulate::compile::BACKGROUND_FROM;
use meshext_lint::simulate::startup::{StartFailure, StartFailureKind};
use meshext_lint::simulate::{self};

/// A minimal proxy-wasm module; `extra` goes inside the module, and a data segment of
/// `pad` bytes makes it as large as needed.
fn module(extra: &str, pad: usize) -> Vec<u8> {
    module_with("", extra, pad)
}

/// [`module`] with `imports` first (the text format puts them before any definition).
fn module_with(imports: &str, extra: &str, pad: usize) -> Vec<u8> {
    let data = if pad == 0 {
        String::new()
    } else {
        format!("(data (i32.const 65536) \"{}\")", "a".repeat(pad))
    };
    let wat = format!(
        r#"(module
  {imports}
  (memory (export "memory") 32)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) i32.const 0)
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  {extra}
  {data})"#
    );
    wat::parse_str(wat).expect("WAT encodes (validity is what is tested)")
}

/// What lint reports (MX701) when an eager `wasmi::Module::new` rejects `bytes`.
fn eager_error(bytes: &[u8]) -> String {
    match wasmi::Module::new(&wasmi::Engine::default(), bytes) {
        Ok(_) => panic!("the module was meant to be invalid"),
        Err(e) => format!(
            "the module cannot be loaded by the OpenShift Service Mesh v2.6 proxy: invalid Wasm module: {e}"
        ),
    }
}

fn start(bytes: &[u8]) -> Option<StartFailure> {
    simulate::start_module(bytes, "x", "", MeshVersion::V2_6)
}

const NEVER_CALLED: &str = "(func $broken (result i32) i64.const 0)";

#[test]
fn both_sizes_are_tested() {
    assert!(module(NEVER_CALLED, 0).len() < BACKGROUND_FROM);
    assert!(module(NEVER_CALLED, BACKGROUND_FROM).len() > BACKGROUND_FROM);
}

/// Small and large, the module fails to load (MX701) with the eager compiler's error, which
/// is returned.
fn rejected_like_eager(extra: &str) -> Vec<String> {
    [0, BACKGROUND_FROM]
        .into_iter()
        .map(|pad| {
            let bytes = module(extra, pad);
            let f = start(&bytes).unwrap_or_else(|| panic!("{} bytes: started", bytes.len()));
            assert_eq!(f.kind, StartFailureKind::LoadFailed, "{f:?}");
            assert_eq!(f.message, eager_error(&bytes), "{} bytes", bytes.len());
            f.message
        })
        .collect()
}

#[test]
fn a_broken_body_nobody_calls_is_rejected_small_and_large() {
    rejected_like_eager(NEVER_CALLED);
}

#[test]
fn a_broken_body_called_at_start_up_is_a_compile_error_not_a_trap() {
    rejected_like_eager(
        r#"(func $broken (result i32) i64.const 0)
  (func (export "_initialize") (drop (call $broken)))"#,
    );
}

#[test]
fn the_first_error_is_the_eager_compilers_even_past_the_code_section() {
    // A broken body, then a data segment for a memory that does not exist (the data
    // section follows the code section): sequential validation meets the body first.
    let found = rejected_like_eager(
        r#"(func $broken (result i32) i64.const 0)
  (data (memory 3) (i32.const 0) "x")"#,
    );
    assert!(
        found.iter().all(|m| m.contains("type mismatch")),
        "{found:?}"
    );
    // Without the broken body the data segment is the first error.
    let bytes = module(r#"(data (memory 3) (i32.const 0) "x")"#, BACKGROUND_FROM);
    assert_eq!(
        start(&bytes).expect("rejected").message,
        eager_error(&bytes)
    );
}

#[test]
fn a_broken_module_without_an_abi_marker_is_reported_as_invalid() {
    for pad in [0, BACKGROUND_FROM] {
        let bytes = wat::parse_str(format!(
            r#"(module (memory (export "memory") 32) (func (result i32) i64.const 0)
              (data (i32.const 65536) "{}"))"#,
            "a".repeat(pad)
        ))
        .unwrap();
        let f = start(&bytes).expect("rejected");
        assert_eq!(f.message, eager_error(&bytes), "{} bytes", bytes.len());
    }
}

#[test]
fn valid_modules_of_both_sizes_start() {
    let extra = r#"(func $fine (result i32) i32.const 0)
  (func (export "_initialize") (drop (call $fine)))"#;
    for pad in [0, BACKGROUND_FROM] {
        let bytes = module(extra, pad);
        assert!(start(&bytes).is_none(), "{} bytes", bytes.len());
    }
}

/// `simulate` (one request, extra arguments `args`) over a small and a large build of the
/// same module; the outputs with the file names made equal.
fn simulate_both(imports: &str, extra: &str, args: &[&str]) -> Vec<(i32, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let scenario = common::write(dir.path(), "s.yaml", "requests:\n  - {}\n");
    let mut outputs = Vec::new();
    for (name, pad) in [("small", 0), ("large", BACKGROUND_FROM)] {
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, module_with(imports, extra, pad)).unwrap();
        let mut all = vec![
            "--module",
            path.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let (code, stdout, stderr) = common::simulate(&all);
        outputs.push((code, stdout.replace(name, "m"), stderr));
    }
    assert_eq!(outputs[0], outputs[1]);
    outputs
}

#[test]
fn simulate_reports_a_large_broken_module_like_a_small_one() {
    let (_, text, stderr) = simulate_both("", NEVER_CALLED, &[]).remove(1);
    // A plugin that cannot start fails its requests closed (exit 0 without expectations).
    assert!(
        text.contains("plugin default/m failed to start: invalid Wasm module: type mismatch"),
        "{text}{stderr}"
    );
}

#[test]
fn what_a_broken_module_did_while_it_started_is_undone() {
    // `_initialize` stores shared data, then the whole-module verdict refuses the module:
    // Envoy never ran it, so nothing of it may remain (it did, before the undo).
    let imports = r#"(import "env" "proxy_set_shared_data"
    (func $set (param i32 i32 i32 i32 i32) (result i32)))"#;
    let extra = r#"(data (i32.const 16) "key")
  (data (i32.const 32) "val")
  (func (export "_initialize")
    (drop (call $set (i32.const 16) (i32.const 3) (i32.const 32) (i32.const 3) (i32.const 0))))
  (func $broken (result i32) i64.const 0)"#;
    let (code, json, stderr) = simulate_both(imports, extra, &["--format", "json"]).remove(1);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["shared_data"], serde_json::json!({}), "{json}");
    assert!(json.contains("invalid Wasm module"), "{json}");
    // The same module without the broken body does store it (the test can fail).
    let fine = extra.replace("(func $broken (result i32) i64.const 0)", "");
    let (_, json, _) = simulate_both(imports, &fine, &["--format", "json"]).remove(1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_ne!(v["shared_data"], serde_json::json!({}), "{json}");
}
