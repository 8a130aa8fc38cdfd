//! Benchmark: lint a generated repository of 20,000 resources (5,000 workloads with their
//! Services, 1,000 extensions, policies, namespaces) through every stage, once without images
//! (load, model, checks, chains) and once with a 20-image OCI layout (plus image reading, ABI
//! checks and starting the modules). Prints wall time and peak memory, one line per variant.
//!
//! Run: `cargo bench --bench lint` (figures go to docs/performance.md). Peak RSS is the
//! process high-water mark, so the images variant runs second and its figure includes the
//! first's.

#[path = "support/mod.rs"]
mod support;

use meshext_lint::lint::{lint, LintOptions};
use std::fmt::Write as _;
use std::time::Instant;

const NAMESPACES: usize = 50;
const WORKLOADS: usize = 5_000;
const EXTENSIONS: usize = 1_000;
const RESOURCES: usize = 20_000;
const IMAGES: usize = 20;

/// Writes the repository; returns the number of resources. With `pinned_images`, every
/// SME uses one of the `IMAGES` images `quay.io/acme/ext{i}:1.0` (so a packed layout
/// resolves them all); otherwise each SME names its own tag.
fn generate(dir: &std::path::Path, pinned_images: bool) -> usize {
    generate_with(dir, pinned_images, false)
}

/// [`generate`]; with `wasm_plugins`, an OSSM 2.6 mesh whose extensions are WasmPlugins
/// (same count, selectors and images) instead of SMEs.
fn generate_with(dir: &std::path::Path, pinned_images: bool, wasm_plugins: bool) -> usize {
    let mut count = 0;
    let mut cp = format!(
        "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {{name: basic, namespace: istio-system}}\nspec:\n  version: {}\n  telemetry: {{type: Istiod}}\n---\napiVersion: maistra.io/v1\nkind: ServiceMeshMemberRoll\nmetadata: {{name: default, namespace: istio-system}}\nspec:\n  members:\n",
        if wasm_plugins { "v2.6" } else { "v2.1" }
    );
    for n in 0..NAMESPACES {
        writeln!(cp, "  - ns{n}").unwrap();
    }
    count += 2;
    std::fs::create_dir_all(dir.join("istio-system")).unwrap();
    std::fs::write(dir.join("istio-system/control-plane.yaml"), cp).unwrap();
    // Policies fill up to RESOURCES; the remainder goes to the first namespaces.
    let policies = RESOURCES - 2 - NAMESPACES - 2 * WORKLOADS - EXTENSIONS;
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
            let tag = if pinned_images {
                "1.0".to_string()
            } else {
                format!("1.{e}")
            };
            if wasm_plugins {
                write!(
                    text,
                    "---\napiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: ext{e}, namespace: {ns}}}\nspec:\n  url: oci://quay.io/acme/ext{}:{tag}\n  phase: {}\n  priority: {}\n  selector:\n    matchLabels: {{tier: t{}}}\n  pluginConfig:\n    x-ext-{e}: \"é{e}\"\n    cluster: \"outbound|8080||auth.ns{n}.svc.cluster.local\"\n",
                    e % IMAGES,
                    ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"][e % 4],
                    e % 13,
                    e % 7
                )
                .unwrap();
                count += 1;
                continue;
            }
            write!(
                text,
                "---\napiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {{name: ext{e}, namespace: {ns}}}\nspec:\n  image: quay.io/acme/ext{}:{tag}\n  phase: {}\n  priority: {}\n  workloadSelector:\n    labels: {{tier: t{}}}\n  config:\n    x-ext-{e}: \"é{e}\"\n    cluster: \"outbound|8080||auth.ns{n}.svc.cluster.local\"\n",
                e % IMAGES,
                ["PreAuthN", "PostAuthN", "PreAuthZ", "PostAuthZ", "PreStats", "PostStats"][e % 6],
                e % 13,
                e % 7
            )
            .unwrap();
            count += 1;
        }
        let per_ns = policies / NAMESPACES + usize::from(n < policies % NAMESPACES);
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

fn run(label: &str, opts: &LintOptions, resources: usize) {
    let mut best = f64::MAX;
    let mut findings = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let out = lint(opts).expect("lint");
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(out.documents.len(), resources);
        findings = out.diagnostics.iter().map(|d| d.rule.as_str()).collect();
    }
    let mut by_rule = std::collections::BTreeMap::<&str, usize>::new();
    for r in &findings {
        *by_rule.entry(r).or_default() += 1;
    }
    println!(
        "lint{label}: {resources} resources ({WORKLOADS} workloads, {EXTENSIONS} SMEs): best of 3 {best:.3} s, {} findings {by_rule:?}, peak RSS {:.0} MiB (load {})",
        findings.len(),
        support::peak_rss_mib(),
        support::load_average()
    );
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain");
    let resources = generate(&plain, false);
    assert_eq!(resources, RESOURCES);
    run(
        "",
        &LintOptions {
            paths: vec![plain.to_string_lossy().into_owned()],
            ..Default::default()
        },
        resources,
    );

    let pinned = dir.path().join("pinned");
    generate(&pinned, true);
    let layout = dir.path().join("layout");
    support::pack_images(&layout, "quay.io/acme/ext", IMAGES);
    run(
        &format!(" --images ({IMAGES} images)"),
        &LintOptions {
            paths: vec![pinned.to_string_lossy().into_owned()],
            images: vec![layout],
            ..Default::default()
        },
        resources,
    );

    // The same mesh on OSSM 2.6 with WasmPlugins instead of SMEs.
    let wasm = dir.path().join("wasm");
    assert_eq!(generate_with(&wasm, false, true), RESOURCES);
    run(
        " (v2.6, WasmPlugins instead of SMEs)",
        &LintOptions {
            paths: vec![wasm.to_string_lossy().into_owned()],
            ..Default::default()
        },
        resources,
    );
}
