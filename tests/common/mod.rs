//! Helpers shared by the integration tests: run the built binary, read its JSON.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_meshext-lint"));
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run meshext-lint")
}

/// A WAT fixture of `tests/fixtures/wat/`, compiled.
pub fn wat_module(name: &str) -> std::sync::Arc<Vec<u8>> {
    let p = root()
        .join("tests/fixtures/wat")
        .join(format!("{name}.wat"));
    let bytes = wat::parse_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    std::sync::Arc::new(bytes)
}

/// A plugin as `--module`/`--service` give it: namespace `default`, root id `NAME_root`, in a
/// VM it may share by key.
pub fn standalone_ext(
    name: &str,
    module: &std::sync::Arc<Vec<u8>>,
    vm_id: Option<&str>,
) -> meshext_lint::simulate::ExtensionFilter {
    meshext_lint::simulate::ExtensionFilter {
        name: name.into(),
        namespace: "default".into(),
        module: module.clone(),
        root_id: format!("{name}_root"),
        plugin_name: name.into(),
        vm_id: vm_id.map(Into::into),
        share_vm: true,
        ..Default::default()
    }
}

/// The router, last in a chain.
pub fn router() -> meshext_lint::simulate::SimFilter {
    meshext_lint::simulate::SimFilter::Builtin {
        name: "router".into(),
    }
}

/// The start-up log messages of a simulation, in order.
pub fn startup_logs(r: &meshext_lint::simulate::SimReport) -> Vec<String> {
    (r.startup.iter())
        .flat_map(|e| e.logs.iter().map(|l| l.message.clone()))
        .collect()
}

/// The start-up and request checks that failed, worded for an assertion message.
pub fn failed_checks(r: &meshext_lint::simulate::SimReport) -> Vec<String> {
    (r.startup_checks.iter())
        .chain(r.requests.iter().flat_map(|q| &q.checks))
        .filter(|c| !c.ok)
        .map(|c| format!("{}: expected {}, got {}", c.what, c.expected, c.actual))
        .collect()
}

/// Runs `simulate ARGS`: (exit code, stdout, stderr).
pub fn simulate(args: &[&str]) -> (i32, String, String) {
    let out = bin().arg("simulate").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `lint --format json` and returns (exit code, parsed JSON).
pub fn lint_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["lint", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(&all);
    let code = out.status.code().expect("exit code, not a signal");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "JSON output ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, json)
}

/// `RULE LINE:COL` for every diagnostic, sorted.
pub fn rule_positions(json: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}:{}",
                d["rule"].as_str().unwrap(),
                d["line"],
                d["column"]
            )
        })
        .collect();
    v.sort();
    v
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Where `.ci/format-schemas.sh` puts the third-party schemas the output formats are validated
/// against (they are not committed); `MESHEXT_FORMAT_SCHEMAS` names another directory.
#[allow(dead_code)]
pub fn format_schema_dir() -> PathBuf {
    std::env::var_os("MESHEXT_FORMAT_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/format-schemas"))
}

/// The OASIS SARIF 2.1.0 JSON Schema compiled, or `None` (with a note on stderr naming `test`)
/// when `.ci/format-schemas.sh` has not fetched it.
#[allow(dead_code)]
pub fn sarif_schema_validator(test: &str) -> Option<jsonschema::Validator> {
    let path = format_schema_dir().join("sarif-schema-2.1.0.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!(
            "skipped the SARIF schema check of {test}: {} not found (run .ci/format-schemas.sh)",
            path.display()
        );
        return None;
    };
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles"),
    )
}

/// A mesh around one injected workload, `shop/db`: a control plane at `version`, the member
/// roll (`shop`) and the Deployment, followed by `rest` (its Service and what a test adds).
pub fn shop_db_mesh(version: &str, rest: &str) -> String {
    injected_mesh(&format!("version: {version}"), "db", rest)
}

/// A control plane with `spec: {cp_spec}` (flow YAML), the member roll (`shop`) and one
/// injected Deployment `shop/<workload>` (`app: <workload>`), followed by `rest`.
pub fn injected_mesh(cp_spec: &str, workload: &str, rest: &str) -> String {
    format!(
        "apiVersion: maistra.io/v2
kind: ServiceMeshControlPlane
metadata: {{name: basic, namespace: istio-system}}
spec: {{{cp_spec}}}
---
apiVersion: maistra.io/v1
kind: ServiceMeshMemberRoll
metadata: {{name: default, namespace: istio-system}}
spec: {{members: [shop]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {workload}, namespace: shop}}
spec:
  template:
    metadata:
      annotations: {{sidecar.istio.io/inject: \"true\"}}
      labels: {{app: {workload}}}
---
{rest}"
    )
}
