//! No input makes the tool panic, hang or blow up: every hostile file gets a finding with a
//! location (or a clean run) and an exit code of 0 or 1 — never a crash.

mod common;
use common::*;
use std::time::{Duration, Instant};

/// Runs lint on one file and checks the process ended normally, within `limit`.
fn survives(path: &std::path::Path, limit: Duration) -> serde_json::Value {
    let start = Instant::now();
    let (code, json) = lint_json(&[path.to_str().unwrap()]);
    assert!(code == 0 || code == 1, "{}: exit {code}", path.display());
    // Generous: this guards against hangs, not a performance target (see benches/).
    assert!(
        start.elapsed() < limit,
        "{}: took {:?}",
        path.display(),
        start.elapsed()
    );
    json
}

fn has_rule_with_location(json: &serde_json::Value, rule: &str) -> bool {
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["rule"] == rule && d["line"].as_u64().is_some())
}

#[test]
fn binary_junk_is_mx101() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    bytes[0] = 0xff;
    let p = dir.path().join("junk.yaml");
    std::fs::write(&p, &bytes).unwrap();
    assert!(has_rule_with_location(
        &survives(&p, Duration::from_secs(20)),
        "MX101"
    ));
    let p = dir.path().join("nul.yaml");
    std::fs::write(&p, b"a: 1\n\0\0\0").unwrap();
    assert!(has_rule_with_location(
        &survives(&p, Duration::from_secs(20)),
        "MX101"
    ));
}

#[test]
fn alias_bomb_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..12 {
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 10].join(",")
        ));
    }
    let p = write(dir.path(), "bomb.yaml", &text);
    let json = survives(&p, Duration::from_secs(20));
    assert!(has_rule_with_location(&json, "MX101"), "{json}");
}

#[test]
fn deep_nesting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("flow.yaml", "[".repeat(100_000)),
        (
            "block.yaml",
            (0..5000)
                .map(|i| format!("{}k:\n", " ".repeat(i)))
                .collect(),
        ),
    ] {
        let p = write(dir.path(), name, &text);
        assert!(
            has_rule_with_location(&survives(&p, Duration::from_secs(30)), "MX101"),
            "{name}"
        );
    }
}

#[test]
fn a_ten_megabyte_file_is_linted() {
    let dir = tempfile::tempdir().unwrap();
    let sme = "apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: e, namespace: shop}\nspec: {image: quay.io/a/b:1, phase: PostAuthZ, config: {k: v}}\n---\n";
    let text = sme.repeat(10 * 1024 * 1024 / sme.len() + 1);
    let p = write(dir.path(), "big.yaml", &text);
    let json = survives(&p, Duration::from_secs(120));
    assert_eq!(json["summary"]["files"], 1);
}

#[test]
fn mutated_samples_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read(root().join("samples/mesh/shop/web.yaml")).unwrap();
    // Deterministic pseudo-random mutations: truncations, byte flips, inserted structure.
    let mut seed = 0x2545F4914F6CDD1Du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let inserts: [&[u8]; 8] = [b"&a ", b"*a", b"{", b"]", b": ", b"\n- ", b"'", b"\t"];
    for i in 0..60 {
        let mut m = base.clone();
        match i % 3 {
            0 => m.truncate((next() as usize) % m.len()),
            1 => {
                for _ in 0..4 {
                    let at = (next() as usize) % m.len();
                    m[at] = next() as u8;
                }
            }
            _ => {
                let at = (next() as usize) % m.len();
                let ins = inserts[(next() as usize) % inserts.len()];
                m.splice(at..at, ins.iter().copied());
            }
        }
        std::fs::write(dir.path().join(format!("m{i}.yaml")), &m).unwrap();
    }
    let out = run(&["lint", "--format", "json", dir.path().to_str().unwrap()]);
    let code = out.status.code().expect("no signal");
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .expect("valid JSON even for mutated input");
}

#[test]
fn missing_paths_are_usage_errors() {
    let out = run(&["lint", "does/not/exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does/not/exist.yaml"));
    let out = run(&["lint", "nothing-matches-*.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["lint", "--mesh-version", "banana", "samples/mesh"]);
    assert_eq!(out.status.code(), Some(2));
    // A directory without manifests is worth a warning, but its report is an empty one
    // (valid in every format: tests/cli_conventions.rs), not a usage error.
    let empty = tempfile::tempdir().unwrap();
    let out = run(&["lint", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: no .yaml, .yml or .json files"));
}

#[test]
fn a_v1_control_plane_version_is_not_an_api_problem() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "cp.yaml", "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: b, namespace: istio-system}\nspec: {version: v1.1}\n");
    let (code, json) = lint_json(&[p.to_str().unwrap()]);
    assert_eq!(json["diagnostics"], serde_json::json!([]), "{json:#}");
    assert_eq!((code, json["mesh_version"].as_str()), (0, Some("v1.1")));
}

#[test]
fn stdin_and_globs_are_inputs() {
    use std::io::Write;
    let mut child = bin()
        .args(["lint", "--format", "json", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            std::fs::read(root().join("samples/broken/MX301.yaml"))
                .unwrap()
                .as_slice(),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["diagnostics"][0]["file"], "<stdin>");
    assert_eq!(out.status.code(), Some(1));
    let (_, json) = lint_json(&["samples/broken/MX30*.yaml"]);
    let files: std::collections::BTreeSet<_> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["file"].as_str().unwrap().to_string())
        .collect();
    assert!(
        files.contains("samples/broken/MX301.yaml")
            && files.contains("samples/broken/MX308.yaml")
            && files.len() >= 6,
        "{files:?}"
    );
}

#[test]
fn exit_code_follows_fail_on_not_format() {
    for format in ["human", "json"] {
        let code = |fail_on: &str| {
            run(&[
                "lint",
                "--format",
                format,
                "--fail-on",
                fail_on,
                "samples/broken/MX304.yaml",
            ])
            .status
            .code()
        };
        assert_eq!(code("error"), Some(0), "{format}");
        assert_eq!(code("warning"), Some(1), "{format}");
        assert_eq!(code("none"), Some(0), "{format}");
    }
}
