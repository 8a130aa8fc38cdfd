//! The bundled samples: `samples/mesh` lints clean, and every file in `samples/broken`
//! produces exactly the findings its `# expect: RULE LINE:COL` comments list.

mod common;
use common::*;

#[test]
fn sample_mesh_is_clean() {
    let (code, json) = lint_json(&["samples/mesh"]);
    assert_eq!(json["diagnostics"], serde_json::json!([]), "{json:#}");
    assert_eq!(code, 0);
    assert_eq!(json["mesh_version"], "v2.1");
}

/// The sample mesh after its upgrade (`samples/extensions/build.sh meshes`): WasmPlugins over
/// images in both fetcher formats lint clean, with their images, on OSSM 2.6 and 3.0, and the
/// storefront scenario passes on both as it does on the SME mesh.
#[test]
fn upgraded_sample_meshes_are_clean_and_run_the_scenario() {
    for (dir, version, plugins) in [
        ("samples/mesh-v2.6", "v2.6", 4),
        ("samples/mesh-v3.0", "v3.0", 4),
    ] {
        let (code, json) = lint_json(&[dir, "--images", "samples/images"]);
        assert_eq!(
            json["diagnostics"],
            serde_json::json!([]),
            "{dir}: {json:#}"
        );
        assert_eq!(code, 0);
        assert_eq!(json["mesh_version"], version);
        let text: String = [
            "istio-system/extensions.yaml",
            "shop/extensions.yaml",
            "payments/api.yaml",
        ]
        .iter()
        .map(|f| std::fs::read_to_string(root().join(dir).join(f)).unwrap())
        .collect();
        assert_eq!(text.matches("kind: WasmPlugin").count(), plugins, "{dir}");
        assert!(!text.contains("kind: ServiceMeshExtension"), "{dir}");
        let out = bin()
            .args(["simulate", dir, "--images", "samples/images", "--scenario"])
            .arg("samples/scenarios/shop-web.yaml")
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{dir}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

/// OSSM 2.2 halfway through the migration: SMEs (deprecated: MX203 only) next to a WasmPlugin,
/// which runs first; its scenario and the storefront's pass.
#[test]
fn mixed_v2_2_sample_runs_smes_and_a_wasm_plugin() {
    let (code, json) = lint_json(&["samples/mesh-v2.2-mixed", "--images", "samples/images"]);
    let rules: Vec<&str> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["MX203"; 4], "{json:#}");
    assert_eq!(code, 0);
    for scenario in [
        "samples/scenarios/shop-web-v2.2-mixed.yaml",
        "samples/scenarios/shop-web.yaml",
    ] {
        let out = bin()
            .args([
                "simulate",
                "samples/mesh-v2.2-mixed",
                "--images",
                "samples/images",
                "--scenario",
                scenario,
            ])
            .current_dir(root())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn every_broken_sample_fires_exactly_what_it_expects() {
    let dir = root().join("samples/broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 18, "broken samples missing");
    let mut failures = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        let mut expected: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(|s| s.trim().to_string())
            .collect();
        expected.sort();
        let args: Vec<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# args: "))
            .flat_map(|s| s.split_whitespace().map(str::to_string))
            .collect();
        let rel = f
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.push(&rel);
        let (code, json) = lint_json(&all);
        let actual = rule_positions(&json);
        if actual != expected {
            failures.push(format!("{rel}: expected {expected:?}, got {actual:?}"));
        }
        let has_error = json["summary"]["errors"].as_u64().unwrap() > 0;
        assert_eq!(code, if has_error { 1 } else { 0 }, "{rel}: exit code");
        // The file named after a rule must fire that rule.
        let stem = f.file_stem().unwrap().to_string_lossy();
        let stem = &stem[..stem.len().min(5)];
        if stem.starts_with("MX") {
            assert!(
                actual.iter().any(|a| a.starts_with(&*stem)),
                "{rel} does not fire {stem}"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_carry_resource_and_help() {
    let (_, json) = lint_json(&["samples/broken/MX301.yaml"]);
    let d = &json["diagnostics"][0];
    assert_eq!(d["resource"], "ServiceMeshExtension shop/auth");
    assert!(d["help"].as_str().unwrap().contains("PostAuthZ"), "{d}");
    assert_eq!(d["end_column"], 19);
}
