//! Compiling lazily must not change the verdict: a module with a broken function body is
//! rejected with wasmi's first validation error, whether or not anything calls that body,
//! for small modules (validated before they start) and large ones (validated on another
//! thread while they start, `simulate::compile`).

mod common;

use meshext_lint::model::MeshVersion;
use meshext_lint::simulate::compile::{Validation, BACKGROUND_FROM};
use meshext_lint::simulate::startup::{StartFailure, StartFailureKind};
use meshext_lint::simulate::{self};
use std::sync::Arc;

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

/// Our whole-module validation (`compile::Validation`, two threads sharing the bodies) and
/// wasmi's `Module::validate` with its default `Config`, as `(accepted, error text)`.
fn verdicts(bytes: &[u8]) -> (Result<(), String>, Result<(), String>) {
    let ours = Validation::start(&Arc::from(bytes)).wait();
    let wasmi =
        wasmi::Module::validate(&wasmi::Engine::default(), bytes).map_err(|e| e.to_string());
    (ours, wasmi)
}

#[test]
fn the_verdict_enables_the_proposals_wasmi_enables() {
    let probes = [
        ("simd", "(func (result v128) v128.const i64x2 0 0)"),
        ("relaxed simd", "(func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)"),
        ("memory64", "(memory i64 1)"),
        ("multi-memory", "(memory 1) (memory 1)"),
        ("tail calls", "(func $f) (func return_call $f)"),
        ("extended const", "(global i32 (i32.add (i32.const 1) (i32.const 2)))"),
        ("custom page sizes", "(memory 1 (pagesize 1))"),
        ("wide arithmetic", "(func (param i64 i64 i64 i64) (result i64 i64) local.get 0 local.get 1 local.get 2 local.get 3 i64.add128)"),
        ("threads", "(memory 1 1 shared)"),
        ("exceptions", "(tag)"),
        ("gc", "(type (struct))"),
        ("function references", "(func (param (ref func)))"),
        ("reference types", "(table 1 externref)"),
        ("bulk memory", "(memory 1) (func (memory.copy (i32.const 0) (i32.const 0) (i32.const 0)))"),
        ("multi-value", "(func (result i32 i32) i32.const 1 i32.const 2)"),
        ("saturating conversions", "(func (param f32) (result i32) local.get 0 i32.trunc_sat_f32_s)"),
        ("sign extension", "(func (param i32) (result i32) local.get 0 i32.extend8_s)"),
        ("mutable globals", r#"(import "a" "g" (global (mut i32)))"#),
        ("floats", "(func (param f64) (result f64) local.get 0 f64.sqrt)"),
    ];
    let (mut accepted, mut refused) = (0, 0);
    for (name, wat) in probes {
        let bytes =
            wat::parse_str(format!("(module {wat})")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (ours, wasmi) = verdicts(&bytes);
        assert_eq!(ours, wasmi, "{name}");
        if wasmi.is_ok() {
            accepted += 1
        } else {
            refused += 1
        }
    }
    // Both verdicts occur, so the comparison can fail.
    assert!(
        accepted >= 10 && refused >= 6,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn of_many_broken_bodies_the_first_is_reported() {
    // 400 bodies, two of them broken differently, validated by two threads in any order:
    // the first broken one is long (its error at its end), so the second is usually found
    // first, and must not be what is reported.
    let long = "(drop (i32.const 0))\n".repeat(20_000);
    let mut funcs = String::new();
    for i in 0..400 {
        funcs += &match i {
            123 => format!("(func (result i32) {long} i64.const 0)\n"),
            321 => "(func (result i64) i32.const 0)\n".to_string(),
            _ => "(func (result i32) (i32.add (i32.const 1) (i32.const 2)))\n".to_string(),
        };
    }
    let bytes = module(&funcs, BACKGROUND_FROM);
    for _ in 0..20 {
        let (ours, wasmi) = verdicts(&bytes);
        assert!(
            wasmi
                .as_ref()
                .is_err_and(|e| e.contains("expected i32, found i64")),
            "{wasmi:?}"
        );
        assert_eq!(ours, wasmi);
    }
    assert_eq!(
        start(&bytes).expect("rejected").message,
        eager_error(&bytes)
    );
}

#[test]
fn a_data_segment_out_of_bounds_fails_large_and_small_alike() {
    // The large build has its data section written by us (`compile::Detached`).
    let extra = r#"(data (i32.const 2097150) "four")"#;
    let failures: Vec<String> = [0, BACKGROUND_FROM]
        .into_iter()
        .map(|pad| start(&module(extra, pad)).expect("refused").message)
        .collect();
    assert!(
        failures[0].contains("out of bounds memory access"),
        "{failures:?}"
    );
    assert_eq!(failures[0], failures[1]);
}

/// `bytes` with its data section (id 11) moved in front of its code section (id 10).
fn data_before_code(bytes: &[u8]) -> Vec<u8> {
    let mut sections = Vec::new();
    let mut at = 8;
    while at < bytes.len() {
        let (mut size, mut shift, mut i) = (0usize, 0, at + 1);
        loop {
            let b = bytes[i];
            size |= usize::from(b & 0x7f) << shift;
            shift += 7;
            i += 1;
            if b < 0x80 {
                break;
            }
        }
        sections.push((bytes[at], &bytes[at..i + size]));
        at = i + size;
    }
    let code = sections.iter().position(|s| s.0 == 10).unwrap();
    let data = sections.iter().position(|s| s.0 == 11).unwrap();
    let moved = sections.remove(data);
    sections.insert(code, moved);
    let mut out = bytes[..8].to_vec();
    for (_, s) in sections {
        out.extend_from_slice(s);
    }
    out
}

#[test]
fn a_data_section_out_of_order_is_refused_although_wasmi_never_parses_it() {
    let bytes = data_before_code(&module("", BACKGROUND_FROM));
    let f = start(&bytes).expect("refused");
    assert_eq!(f.message, eager_error(&bytes));
    assert!(f.message.contains("out of order"), "{}", f.message);
}

#[test]
fn a_large_file_whose_code_section_claims_more_bytes_than_it_has_is_refused() {
    // 512 KiB of custom section, then a code section declaring 4 GiB: wasmparser's
    // top-level parser does not check that size; reading past the end must not panic.
    let mut bytes = wat::parse_str(format!(
        r#"(module (@custom "pad" "{}"))"#,
        "a".repeat(BACKGROUND_FROM)
    ))
    .unwrap();
    bytes.extend_from_slice(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
    let f = start(&bytes).expect("refused");
    assert_eq!(f.message, eager_error(&bytes));
}
