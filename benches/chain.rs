//! `cargo bench --bench chain`: builds chains for 10,000 workloads × 1,000 SMEs (v2.1), then
//! for the same workloads × 1,000 WasmPlugins (v2.6: inbound, outbound, `match`), and prints
//! the best of three times for building and for checking them (target: under 1 s each).

#[path = "support/mod.rs"]
mod support;

use meshext_lint::chain::{build_chains, ExtensionDefaults};
use meshext_lint::model::PHASES;
use meshext_lint::model::*;
use meshext_lint::rules::chains::check;
use std::time::Instant;

fn labels(pairs: &[(&str, String)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn main() {
    const NAMESPACES: usize = 100;
    const WORKLOADS: usize = 10_000;
    const SMES: usize = 1_000;
    let mut mesh = Mesh {
        version: MeshVersion::V2_1,
        ..Mesh::default()
    };
    mesh.control_planes.push(ControlPlane {
        meta: Meta::synthetic("ServiceMeshControlPlane", "istio-system", "basic"),
        version: Some("v2.1".into()),
        wasm_extensions_enabled: Some(true),
        telemetry_type: None,
        telemetry: Default::default(),
        auto_inject: None,
        injector_object_selector: None,
        inbound_sniffing: None,
        extension_providers: vec![],
    });
    mesh.member_rolls.push(MemberRoll {
        meta: Meta::synthetic("ServiceMeshMemberRoll", "istio-system", "default"),
        members: (0..NAMESPACES).map(|n| format!("ns{n}")).collect(),
        configured_members: vec![],
    });
    for i in 0..WORKLOADS {
        let ns = format!("ns{}", i % NAMESPACES);
        let app = format!("app{}", i / NAMESPACES);
        mesh.workloads.push(Workload {
            meta: Meta::synthetic("Deployment", &ns, &app),
            labels: labels(&[("app", app.clone()), ("tier", format!("t{}", i % 3))]),
            proxy: ProxyType::Sidecar,
            injection: PodInjection {
                annotation: Some("true".into()),
                ..PodInjection::default()
            },
        });
        mesh.services.push(Service {
            meta: Meta::synthetic("Service", &ns, &app),
            selector: Some(labels(&[("app", app.clone())])),
            ports: vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: "8080".into(),
                protocol: "TCP".into(),
                app_protocol: None,
            }],
        });
    }
    for i in 0..SMES {
        // 5% mesh-wide in the root namespace (by tier), the rest per namespace (half by app).
        let (ns, selector) = if i % 20 == 0 {
            (
                "istio-system".to_string(),
                Some(labels(&[("tier", format!("t{}", i % 3))])),
            )
        } else if i % 2 == 0 {
            (
                format!("ns{}", i % NAMESPACES),
                Some(labels(&[("app", format!("app{}", i % 100))])),
            )
        } else {
            (format!("ns{}", i % NAMESPACES), None)
        };
        mesh.extensions.push(Extension {
            meta: Meta::synthetic("ServiceMeshExtension", &ns, &format!("ext{i}")),
            image: Some(format!("quay.io/acme/ext{}:1.0", i % 50)),
            image_pull_policy: None,
            phase: Some(PHASES[i % 6].into()),
            priority: Some((i % 7) as i64),
            priority_rejected: None,
            selector,
            config: ExtensionConfig::Absent,
            status_ready: None,
        });
    }
    for n in 0..NAMESPACES {
        mesh.authorization_policies.push(AuthorizationPolicy {
            meta: Meta::synthetic("AuthorizationPolicy", &format!("ns{n}"), "allow"),
            selector: None,
            action: AuthzAction::Allow,
            provider: None,
        });
    }
    let defaults = ExtensionDefaults::default();
    run(
        &mesh,
        &defaults,
        &format!("{WORKLOADS} workloads × {SMES} SMEs"),
    );
    // The same workloads on OSSM 2.6 with WasmPlugins instead: 5% mesh-wide, a tenth with
    // `match` (mode SERVER, some on a port), a third without priority (ties).
    mesh.version = MeshVersion::V2_6;
    mesh.extensions.clear();
    for i in 0..SMES {
        let (ns, selector) = if i % 20 == 0 {
            (
                "istio-system".to_string(),
                Some(labels(&[("tier", format!("t{}", i % 3))])),
            )
        } else if i % 2 == 0 {
            (
                format!("ns{}", i % NAMESPACES),
                Some(labels(&[("app", format!("app{}", i % 100))])),
            )
        } else {
            (format!("ns{}", i % NAMESPACES), None)
        };
        let mut meta = Meta::synthetic("WasmPlugin", &ns, &format!("wp{i}"));
        meta.creation_timestamp = Some(format!("2024-01-{:02}T00:00:00Z", 1 + i % 28));
        let matches = if i % 10 == 3 {
            vec![TrafficSelector {
                mode: Some("SERVER".into()),
                ports: if i % 20 == 3 { vec![8080] } else { vec![] },
                pointer: "/spec/match/0".into(),
            }]
        } else {
            vec![]
        };
        mesh.wasm_plugins.push(WasmPlugin {
            meta,
            selector,
            target_refs: vec![],
            url: Some(format!("oci://quay.io/acme/wp{}:1.0", i % 50)),
            sha256: None,
            image_pull_policy: None,
            image_pull_secret: None,
            verification_key: None,
            plugin_config: None,
            plugin_name: None,
            phase: [Some("AUTHN"), Some("AUTHZ"), Some("STATS"), None][i % 4].map(str::to_string),
            priority: (i % 3 != 0).then_some((i % 7) as i64),
            vm_env: vec![],
            matches,
            fail_strategy: None,
            plugin_type: None,
        });
    }
    let plugins = mesh.wasm_plugins.len();
    run(
        &mesh,
        &defaults,
        &format!("{WORKLOADS} workloads × {plugins} WasmPlugins"),
    );
}

fn run(mesh: &Mesh, defaults: &ExtensionDefaults, what: &str) {
    let (mut built, mut checked) = (f64::MAX, f64::MAX);
    let (mut chains, mut diags) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let start = Instant::now();
        chains = build_chains(mesh, defaults);
        built = built.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        diags = check(mesh, &chains, defaults);
        checked = checked.min(start.elapsed().as_secs_f64());
    }
    let filters: usize = chains.iter().map(|c| c.filters.len()).sum();
    println!(
        "chain build: {what} → {} chains, {filters} filters: best of 3 {built:.3} s",
        chains.len(),
    );
    println!(
        "chain check (MX6xx): {} findings: best of 3 {checked:.3} s; build + check {:.3} s, peak RSS {:.0} MiB (load {})",
        diags.len(),
        built + checked,
        support::peak_rss_mib(),
        support::load_average()
    );
}
