//! Benchmark: lint a generated repository of 20,000 resources (5,000 workloads with their
//! Services, 1,000 extensions, policies, namespaces). Prints wall time and peak memory.
//!
//! Run: `cargo bench --bench lint` (figures go to docs/performance.md).

use meshext_lint::lint::{lint, LintOptions};
use std::fmt::Write as _;
use std::time::Instant;

const NAMESPACES: usize = 50;
const WORKLOADS: usize = 5_000;
const EXTENSIONS: usize = 1_000;

/// Writes the repository; returns the number of resources.
fn generate(dir: &std::path::Path) -> usize {
    let mut count = 0;
    let mut cp = String::from(
        "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec:\n  version: v2.1\n  telemetry: {type: Istiod}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {name: default, namespace: istio-system}\nspec:\n  members:\n",
    );
    for n in 0..NAMESPACES {
        writeln!(cp, "  - ns{n}").unwrap();
    }
    count += 2;
    std::fs::create_dir_all(dir.join("istio-system")).unwrap();
    std::fs::write(dir.join("istio-system/control-plane.yaml"), cp).unwrap();
    for n in 0..NAMESPACES {
        let ns = format!("ns{n}");
        let d = dir.join(&ns);
        std::fs::create_dir_all(&d).unwrap();
        let mut text = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n");
        count += 1;
        for w in (0..WORKLOADS).filter(|w| w % NAMESPACES == n) {
            write!(
                text,
                "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{w}\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: app{w}}}\n  template:\n    metadata:\n      labels: {{app: app{w}, tier: t{}, version: v1}}\n      annotations: {{sidecar.istio.io/inject: \"true\"}}\n    spec:\n      containers:\n        - name: main\n          image: quay.io/acme/app{w}:1.0.{w}\n          ports: [{{containerPort: 8080}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: app{w}, namespace: {ns}}}\nspec:\n  selector: {{app: app{w}}}\n  ports: [{{name: http, port: 80, targetPort: 8080}}]\n",
                w % 7
            )
            .unwrap();
            count += 2;
        }
        for e in (0..EXTENSIONS).filter(|e| e % NAMESPACES == n) {
            write!(
                text,
                "---\napiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {{name: ext{e}, namespace: {ns}}}\nspec:\n  image: quay.io/acme/ext{}:1.{e}\n  phase: {}\n  priority: {}\n  workloadSelector:\n    labels: {{tier: t{}}}\n  config:\n    header: x-ext-{e}\n    value: \"é{e}\"\n",
                e % 20,
                ["PreAuthN", "PostAuthN", "PreAuthZ", "PostAuthZ", "PreStats", "PostStats"][e % 6],
                e % 13,
                e % 7
            )
            .unwrap();
            count += 1;
        }
        // Fill up to 20,000 resources with policies.
        let per_ns = (20_000 - 2 - NAMESPACES - 2 * WORKLOADS - EXTENSIONS) / NAMESPACES;
        for p in 0..per_ns {
            write!(
                text,
                "---\napiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata: {{name: pol{p}, namespace: {ns}}}\nspec:\n  selector:\n    matchLabels: {{tier: t{}}}\n  action: {}\n  rules:\n    - from:\n        - source: {{principals: [\"cluster.local/ns/{ns}/sa/p{p}\"]}}\n",
                p % 7,
                ["ALLOW", "DENY", "AUDIT"][p % 3]
            )
            .unwrap();
            count += 1;
        }
        std::fs::write(d.join("resources.yaml"), text).unwrap();
    }
    count
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let resources = generate(dir.path());
    let opts = LintOptions {
        paths: vec![dir.path().to_string_lossy().into_owned()],
        ..Default::default()
    };
    let mut best = f64::MAX;
    let mut findings = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let out = lint(&opts).expect("lint");
        best = best.min(start.elapsed().as_secs_f64());
        findings = out.diagnostics.len();
        assert_eq!(out.documents.len(), resources);
    }
    println!(
        "lint: {resources} resources ({WORKLOADS} workloads, {EXTENSIONS} extensions): best of 3 {:.3} s, {findings} findings, peak RSS {:.0} MiB",
        best,
        peak_rss_mib().unwrap_or(f64::NAN)
    );
}
