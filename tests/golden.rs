//! Golden outputs: every command shown in the README and docs, run on the bundled samples,
//! compared byte for byte with `tests/golden/<case>.txt` (stdout, stderr and exit code).
//! One case per file, so a failure names the command that changed.
//!
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the files; review the diff.

mod common;
use common::*;
use std::fmt::Write as _;

/// (case name, arguments). Broken samples are added by `cases()` from their `# args:` lines.
const FIXED: &[(&str, &str)] = &[
    ("lint-mesh-human", "lint samples/mesh --images samples/images"),
    ("lint-mesh-json", "lint samples/mesh --images samples/images --format json"),
    ("lint-mesh-sarif", "lint samples/mesh --images samples/images --format sarif"),
    ("lint-mesh-no-images", "lint samples/mesh"),
    ("lint-mesh-context", "lint --context samples/mesh samples/mesh/shop/extensions.yaml"),
    ("lint-broken-human", "lint samples/broken"),
    ("lint-broken-json", "lint samples/broken --format json"),
    ("lint-broken-sarif", "lint samples/broken --format sarif"),
    ("lint-broken-rdjson", "lint samples/broken --format rdjson"),
    ("lint-broken-rdjsonl", "lint samples/broken --format rdjsonl"),
    ("lint-broken-github", "lint samples/broken --format github"),
    ("lint-broken-junit", "lint samples/broken --format junit"),
    ("lint-broken-markdown", "lint samples/broken --format markdown"),
    ("lint-broken-gitlab", "lint samples/broken --format gitlab"),
    ("lint-broken-warning", "lint samples/broken --fail-on warning --output-threshold warning"),
    ("lint-suppress", "lint samples/broken --suppress MX306=ServiceMeshExtension*shop/* --suppress MX304"),
    ("chain-human", "chain samples/mesh --images samples/images"),
    ("chain-json", "chain samples/mesh --images samples/images --format json"),
    ("chain-dot", "chain samples/mesh --format dot"),
    ("chain-mermaid-shop", "chain samples/mesh --workload shop/* --format mermaid"),
    ("chain-worked-example", "chain tests/fixtures/chain/worked-example.yaml"),
    ("chain-worked-example-v20", "chain tests/fixtures/chain/worked-example-v20.yaml"),
    ("chain-worked-example-v22", "chain tests/fixtures/chain/worked-example.yaml --mesh-version v2.2 --format json"),
    ("chain-custom-authz", "chain tests/fixtures/chain/custom-authz.yaml"),
    ("chain-gateway-jwt", "chain tests/fixtures/chain/gateway-jwt.yaml"),
    ("chain-telemetry-none", "chain tests/fixtures/chain/telemetry-none.yaml"),
    ("chain-wasm-v26", "chain tests/fixtures/chain/wasm-v26.yaml"),
    ("chain-wasm-v26-json", "chain tests/fixtures/chain/wasm-v26.yaml --format json"),
    ("chain-wasm-v26-mermaid", "chain tests/fixtures/chain/wasm-v26.yaml --workload shop/* --format mermaid"),
    ("chain-wasm-v22-mixed", "chain tests/fixtures/chain/wasm-v22-mixed.yaml"),
    ("chain-wasm-diff", "chain tests/fixtures/chain/wasm-v26.yaml --diff tests/fixtures/chain/wasm-v22-mixed.yaml"),
    ("chain-diff-text", "chain samples/mesh --diff tests/fixtures/chain/worked-example.yaml"),
    ("chain-diff-markdown", "chain samples/mesh --diff tests/fixtures/chain/worked-example.yaml --format markdown"),
    ("chain-diff-json", "chain samples/mesh --diff tests/fixtures/chain/worked-example.yaml --format json"),
    ("simulate-shop-web", "simulate samples/mesh --images samples/images --scenario samples/scenarios/shop-web.yaml"),
    ("simulate-shop-web-json", "simulate samples/mesh --images samples/images --scenario samples/scenarios/shop-web.yaml --format json"),
    ("simulate-header-append", "simulate --module samples/extensions/build/header-append.wasm --config {\"x-team\":\"payments\"} --scenario samples/scenarios/header-append.yaml"),
    ("simulate-header-append-json", "simulate --module samples/extensions/build/header-append.wasm --config {\"x-team\":\"payments\"} --scenario samples/scenarios/header-append.yaml --format json"),
    ("simulate-auth-chain", "simulate samples/mesh --images samples/images --scenario tests/fixtures/scenarios/sim_auth_chain.yaml"),
    ("simulate-chunked-body", "simulate samples/mesh --images samples/images --scenario tests/fixtures/scenarios/sim_chunked_body.yaml --format json"),
    ("inspect-image", "inspect quay.io/meshext-samples/oob-auth:1.0 --images samples/images"),
    ("inspect-image-json", "inspect quay.io/meshext-samples/oob-auth:1.0 --images samples/images --format json"),
    ("inspect-c-v20", "inspect samples/extensions/build/c-add-header.wasm --mesh-version v2.0"),
    ("inspect-as", "inspect samples/extensions/build/as-add-header.wasm"),
    ("inspect-wasi-json", "inspect samples/extensions/build/wasi-logger.wasm --format json"),
    ("inspect-docker-archive", "inspect tests/fixtures/images/header-append.docker.tar"),
    ("inspect-wasmplugin-layered", "inspect quay.io/meshext-samples/c-add-header-wasmplugin-layered:1.0 --images samples/images"),
    ("lint-mesh-v3.0", "lint samples/mesh-v3.0 --images samples/images"),
    ("chain-mesh-v2.6-web", "chain samples/mesh-v2.6 --images samples/images --workload shop/web"),
    ("simulate-mesh-v3.0", "simulate samples/mesh-v3.0 --images samples/images --scenario samples/scenarios/shop-web.yaml"),
    ("chain-mesh-v2.2-mixed-web", "chain samples/mesh-v2.2-mixed --images samples/images --workload shop/web"),
    ("migrate-markdown", "migrate samples/mesh --to v2.6 --format markdown"),
    ("migrate-v2.3", "migrate samples/mesh --images samples/images --to v2.3"),
    ("rules", "rules"),
    ("rules-json", "rules --json"),
    ("help", "--help"),
    ("lint-help", "lint --help"),
    ("chain-help", "chain --help"),
    ("simulate-help", "simulate --help"),
    ("inspect-help", "inspect --help"),
    ("pack-help", "pack --help"),
];

fn cases() -> Vec<(String, Vec<String>)> {
    let split = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
    let mut out: Vec<(String, Vec<String>)> = FIXED
        .iter()
        .map(|(n, a)| (n.to_string(), split(a)))
        .collect();
    let mut broken: Vec<_> = std::fs::read_dir(root().join("samples/broken"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    broken.sort();
    for f in broken {
        let text = std::fs::read_to_string(&f).unwrap();
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let mut args = vec!["lint".to_string()];
        for l in text.lines().filter_map(|l| l.strip_prefix("# args: ")) {
            args.extend(l.split_whitespace().map(str::to_string));
        }
        args.push(format!("samples/broken/{stem}.yaml"));
        out.push((format!("broken-{stem}"), args.clone()));
        args.extend(["--format".to_string(), "json".to_string()]);
        out.push((format!("broken-{stem}-json"), args));
    }
    let rules = run(&["rules", "--json"]);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&rules.stdout) {
        for r in v.as_array().into_iter().flatten() {
            if let Some(id) = r["id"].as_str() {
                out.push((format!("explain-{id}"), vec!["explain".into(), id.into()]));
            }
        }
    }
    out
}

fn render(args: &[String]) -> String {
    let out = bin().args(args).output().expect("run meshext-lint");
    let mut s = format!("$ meshext-lint {}\n", args.join(" "));
    s.push_str(&String::from_utf8_lossy(&out.stdout));
    if !out.stderr.is_empty() {
        s.push_str("--- stderr\n");
        s.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    let _ = writeln!(s, "--- exit {}", out.status.code().unwrap_or(-1));
    s
}

#[test]
fn outputs_match_golden_files() {
    let dir = root().join("tests/golden");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() > 100, "golden cases missing: {}", cases.len());
    for (name, args) in &cases {
        let actual = render(args);
        let path = dir.join(format!("{name}.txt"));
        if update {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => {
                let line = expected
                    .lines()
                    .zip(actual.lines())
                    .position(|(a, b)| a != b)
                    .map_or(expected.lines().count().min(actual.lines().count()), |i| i);
                failures.push(format!(
                    "{name}: differs from line {}:\n  expected: {:?}\n  actual:   {:?}",
                    line + 1,
                    expected.lines().nth(line).unwrap_or("<end>"),
                    actual.lines().nth(line).unwrap_or("<end>")
                ));
            }
            Err(_) => failures.push(format!("{name}: no golden file {}", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden outputs differ (UPDATE_GOLDEN=1 to accept):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
