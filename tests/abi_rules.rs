//! MX405 and MX501–MX508 on hand-written modules.
//!
//! Each `tests/fixtures/wat/*.wat` states its expectations in header comments:
//! `;; v2.1: MX503,MX506!warning` (rules in finding order; `!warning` = severity), `;; v2.1: -`
//! for no findings. Versions not listed are not checked for that file.

use meshext_lint::abi::{self, AbiVersion, ImportGroup};
use meshext_lint::diag::{Diagnostic, Location, Severity};
use meshext_lint::model::MeshVersion;
use meshext_lint::rules;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wat");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wat"))
        // `sim_*.wat` belong to the simulator's tests and state no ABI expectations.
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("sim_"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wat")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

fn run(wat_text: &str, version: MeshVersion) -> Vec<Diagnostic> {
    let bytes = wat::parse_str(wat_text).unwrap();
    let info = abi::analyze(&bytes).unwrap();
    rules::abi::judge(
        &info,
        version,
        &Location::file_only("fixture.wasm"),
        "fixture",
    )
}

fn label(d: &Diagnostic) -> String {
    match d.severity {
        Severity::Error => d.rule.to_string(),
        s => format!("{}!{s}", d.rule),
    }
}

#[test]
fn fixtures_match_their_expectations() {
    let mut checked = 0;
    for (name, text) in fixtures() {
        let mut expectations = 0;
        for line in text.lines() {
            let Some(rest) = line.strip_prefix(";; v") else {
                continue;
            };
            let (version, want) = rest.split_once(':').unwrap();
            let version = MeshVersion::parse(version).unwrap();
            let want: Vec<String> = match want.trim() {
                "-" => Vec::new(),
                w => w.split(',').map(str::to_string).collect(),
            };
            let found = run(&text, version);
            let got: Vec<String> = found.iter().map(label).collect();
            assert_eq!(got, want, "{name} on {version}:\n{found:#?}");
            for d in &found {
                assert!(
                    d.message.contains(&format!("mesh {version}")),
                    "{name}: message must name the mesh version: {}",
                    d.message
                );
                assert_eq!(d.location.as_ref().unwrap().file, "fixture.wasm");
            }
            expectations += 1;
        }
        assert!(expectations > 0, "{name} states no expectations");
        checked += 1;
    }
    assert!(checked >= 10);
}

#[test]
fn every_rule_fires_somewhere_and_has_a_catalogue_entry() {
    let mut fired = std::collections::BTreeSet::new();
    for (_, text) in fixtures() {
        for v in MeshVersion::WITH_SME {
            for d in run(&text, v) {
                fired.insert(d.rule.as_str());
            }
        }
    }
    for id in [
        "MX501", "MX502", "MX503", "MX504", "MX505", "MX506", "MX507", "MX508",
    ] {
        assert!(fired.contains(id), "{id} never fires");
        let rule = meshext_lint::rules::get(id).unwrap_or_else(|| panic!("{id} not in catalogue"));
        assert_eq!(rule.id, id);
    }
    assert_eq!(
        meshext_lint::rules::get("MX506")
            .unwrap()
            .default_severity(),
        Severity::Error
    );
    assert!(meshext_lint::rules::get("MX405").is_some());
}

#[test]
fn messages_name_both_signatures_and_positions() {
    let text = fixture("mx504_signatures.wat");
    let found = run(&text, MeshVersion::V2_1);
    let m = &found[0].message;
    assert!(m.contains("`env.proxy_continue_request`"), "{m}");
    assert!(m.contains("as () -> ()"), "{m}");
    assert!(m.contains("as () -> i32"), "{m}");
    assert!(m.contains("import #0 at offset 0x"), "{m}");
    assert!(m.contains("Envoy 1.17"), "{m}");

    let found = run(&fixture("mx508_callbacks.wat"), MeshVersion::V2_0);
    let m = &found
        .iter()
        .find(|d| d.message.contains("proxy_on_request_headers"))
        .expect("MX508 for the headers callback")
        .message;
    assert!(m.contains("`proxy_on_request_headers`"), "{m}");
    assert!(m.contains("(i32, i32, i32) -> i32"), "{m}");
    assert!(m.contains("expects (i32, i32) -> i32"), "{m}");
    assert!(m.contains("ABI 0.2.0/0.2.1 form"), "{m}");
}

#[test]
fn assemblyscript_abort_gets_the_build_flag_hint() {
    let text = fixture("mx503_assemblyscript_abort.wat");
    let found = run(&text, MeshVersion::V2_2);
    assert!(found[0]
        .help
        .as_deref()
        .unwrap()
        .contains("abort_proc_exit"));
}

#[test]
fn later_proxies_are_named() {
    let text = fixture("mx503_unknown_and_later.wat");
    let found = run(&text, MeshVersion::V2_2);
    let m = &found[1].message;
    assert!(
        m.contains("emscripten_notify_memory_growth") && m.contains("first in mesh v2.4"),
        "{m}"
    );
}

#[test]
fn analysis_collects_what_inspect_shows() {
    let bytes = wat::parse_str(fixture("ok_0_2_1_reactor.wat")).unwrap();
    let info = abi::analyze(&bytes).unwrap();
    assert_eq!(info.abi, Some(AbiVersion::V0_2_1));
    assert_eq!(info.markers, ["proxy_abi_version_0_2_1"]);
    assert_eq!(info.entry_points, ["_initialize"]);
    assert_eq!(info.allocators, ["proxy_on_memory_allocate"]);
    assert!(info.memory);
    assert_eq!(info.imports_in(ImportGroup::ProxyWasm).count(), 3);
    assert_eq!(info.imports_in(ImportGroup::Wasi).count(), 2);
    assert_eq!(info.imports_in(ImportGroup::Other).count(), 0);
    let text = abi::inspect::render(&info, MeshVersion::V2_2);
    assert!(text.contains("ABI:         0.2.1"), "{text}");
    assert!(text.contains("proxy-wasm imports (3):"), "{text}");
    assert!(
        text.contains("  wasi_snapshot_preview1.fd_write (i32, i32, i32, i32) -> i32"),
        "{text}"
    );
    assert!(
        text.contains("  proxy_on_request_headers (i32, i32, i32) -> i32"),
        "{text}"
    );
    assert!(text.contains("start-up on v2.2: _initialize"), "{text}");
}

#[test]
fn invalid_modules_are_mx405_with_an_offset() {
    let at = Location::file_only("quay.io/x/y:1.0!/plugin.wasm");
    for (bytes, needle) in [
        (&b""[..], "offset 0x0"),
        (&b"<html>not wasm</html>"[..], "offset 0x0"),
        (&b"\0asm\x01\0\0\0\x01\x05"[..], "offset 0x"),
        // A component (layer 1) is rejected with a clear message.
        (&b"\0asm\x0d\0\x01\0"[..], "component"),
    ] {
        let err = abi::analyze(bytes).unwrap_err();
        let d = rules::images::invalid_module(&err, &at, "quay.io/x/y:1.0");
        assert_eq!(d.rule, "MX405");
        assert_eq!(d.severity, Severity::Error);
        assert!(d.message.contains(needle), "{}", d.message);
        assert_eq!(
            d.location.as_ref().unwrap().file,
            "quay.io/x/y:1.0!/plugin.wasm"
        );
    }
    // A function body that does not type-check is caught too (full validation).
    let bad = wat::parse_str(r#"(module (func (result i32) i64.const 0))"#);
    assert!(bad.is_err() || abi::analyze(&bad.unwrap()).is_err());
    let bytes =
        b"\0asm\x01\0\0\0\x01\x05\x01\x60\0\x01\x7f\x03\x02\x01\0\x0a\x06\x01\x04\0\x42\0\x0b";
    let err = abi::analyze(bytes).unwrap_err();
    assert!(err.offset > 8, "{err}");
}
