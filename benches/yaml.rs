//! `cargo bench --bench yaml`: the YAML loader (`load::yaml::parse`: its fast path, which
//! handles both inputs) in MB/s on two generated inputs, each compared with the saphyr path
//! (`parse_events`: saphyr-parser events → span tree, what `parse` falls back to) and with
//! saphyr-parser's event stream alone:
//! - a manifest stream of 20,000 resources (what `lint` reads), ~7 MB;
//! - a scenario of 10,000 requests (what `simulate --scenario` reads), ~3 MB.
//!
//! `BENCH_ONCE=1` parses each input once (for `valgrind --tool=callgrind`, whose instruction
//! counts are stable on a shared machine where wall time is not); with `BENCH_PATH=events`
//! it parses them with the saphyr path instead, and with `BENCH_ONLY=resources` (or
//! `scenario`) only that input. Timed figures are the best thread CPU time of the runs.

use meshext_lint::load::yaml::{parse, parse_events, Limits};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const RESOURCES: usize = 20_000;
const REQUESTS: usize = 10_000;

/// Deployments, Services, extensions and policies in the proportions of `benches/lint.rs`,
/// as one multi-document stream (with a few non-ASCII scalars, as real configs have).
pub fn manifests() -> String {
    let mut t = String::new();
    let mut n = 0;
    let mut w = 0;
    while n < RESOURCES {
        let ns = format!("ns{}", w % 50);
        write!(
            t,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{w}\n  namespace: {ns}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: app{w}}}\n  template:\n    metadata:\n      labels: {{app: app{w}, tier: t{}, version: v1}}\n      annotations: {{sidecar.istio.io/inject: \"true\"}}\n    spec:\n      containers:\n        - name: main\n          image: quay.io/acme/app{w}:1.0.{w}\n          ports: [{{containerPort: 8080}}]\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: app{w}, namespace: {ns}}}\nspec:\n  selector: {{app: app{w}}}\n  ports: [{{name: http, port: 80, targetPort: 8080}}]\n",
            w % 7
        )
        .unwrap();
        n += 2;
        if w % 5 == 0 {
            write!(
                t,
                "---\napiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {{name: ext{w}, namespace: {ns}}}\nspec:\n  image: quay.io/acme/ext{}:1.{w}\n  phase: PostAuthZ\n  priority: {}\n  workloadSelector:\n    labels: {{tier: t{}}}\n  config:\n    x-ext-{w}: \"é{w}\"\n    cluster: \"outbound|8080||auth.{ns}.svc.cluster.local\"\n",
                w % 20,
                w % 13,
                w % 7
            )
            .unwrap();
            n += 1;
        }
        if w % 2 == 0 {
            write!(
                t,
                "---\napiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\nmetadata: {{name: pol{w}, namespace: {ns}}}\nspec:\n  selector:\n    matchLabels: {{tier: t{}}}\n  action: ALLOW\n  rules:\n    - from:\n        - source: {{principals: [\"cluster.local/ns/{ns}/sa/p{w}\"]}}\n",
                w % 7
            )
            .unwrap();
            n += 1;
        }
        w += 1;
    }
    t
}

/// Requests shaped like `samples/scenarios/header-append.yaml`, block and flow style mixed.
pub fn scenario() -> String {
    let mut t = String::from("requests:\n");
    for i in 0..REQUESTS {
        write!(
            t,
            "  - name: request {i} gets the configured header\n    request:\n      method: GET\n      path: /orders/{i}\n      headers: {{x-user: user{}, accept: application/json}}\n    upstream: {{status: 200, headers: {{content-type: application/json}}, body: \"[{i}]\"}}\n    expect:\n      status: 200\n      response_headers: {{x-team: payments, content-type: application/json}}\n      response_body: \"[{i}]\"\n      upstream_called: true\n",
            i % 97
        )
        .unwrap();
    }
    t
}

/// CPU time of this thread: on the shared machine wall time measures the other users' load.
fn cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the call.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Best of the timed runs (thread CPU time; the best is the least disturbed by cache sharing
/// with the other users), at least `min` runs and about two seconds.
fn best(mut f: impl FnMut(), min: usize) -> Duration {
    let mut best = Duration::MAX;
    let start = Instant::now();
    let mut runs = 0;
    while runs < min || start.elapsed() < Duration::from_secs(2) {
        let t = cpu();
        f();
        best = best.min(cpu() - t);
        runs += 1;
    }
    best
}

fn measure(label: &str, text: &str, once: bool) {
    let limits = Limits::default();
    let mb = text.len() as f64 / 1e6;
    if once {
        if std::env::var("BENCH_ONLY").is_ok_and(|only| !label.contains(&only)) {
            return;
        }
        let events = std::env::var("BENCH_PATH").as_deref() == Ok("events");
        let p = if events {
            parse_events(text, limits)
        } else {
            parse(text, limits)
        };
        assert!(p.error.is_none(), "{:?}", p.error);
        println!("yaml: {label}: {:.2} MB, {} documents", mb, p.docs.len());
        return;
    }
    assert!(
        meshext_lint::load::yaml::parse_fast(text, limits).is_some(),
        "the fast path declines {label}"
    );
    let docs = parse(text, limits).docs.len();
    let events = best(
        || {
            let n = saphyr_parser::Parser::new_from_str(text).count();
            std::hint::black_box(n);
        },
        3,
    );
    let tree = best(
        || {
            let p = parse(text, limits);
            assert!(p.error.is_none());
            std::hint::black_box(p);
        },
        3,
    );
    let slow = best(
        || {
            let p = parse_events(text, limits);
            assert!(p.error.is_none());
            std::hint::black_box(p);
        },
        3,
    );
    println!(
        "yaml: {label}: {:.2} MB, {docs} documents: loader (fast path) {:.1} MB/s, saphyr path {:.1} MB/s, saphyr-parser events alone {:.1} MB/s (best CPU time of the runs)",
        mb,
        mb / tree.as_secs_f64(),
        mb / slow.as_secs_f64(),
        mb / events.as_secs_f64()
    );
}

fn main() {
    let once = std::env::var_os("BENCH_ONCE").is_some();
    measure(&format!("{RESOURCES} resources"), &manifests(), once);
    measure(
        &format!("scenario of {REQUESTS} requests"),
        &scenario(),
        once,
    );
}
