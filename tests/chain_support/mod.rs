//! Builders for `Mesh` values used by the chain tests.
#![allow(dead_code)]

use meshext_lint::chain::{build_chains, ExtensionDefaults, Filter, WorkloadChain};
use meshext_lint::model::*;

pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A mesh with an SMCP in `istio-system` and `shop` as member.
pub fn mesh(version: MeshVersion) -> Mesh {
    Mesh {
        version,
        control_planes: vec![ControlPlane {
            meta: Meta::synthetic("ServiceMeshControlPlane", "istio-system", "basic"),
            version: Some(version.to_string()),
            wasm_extensions_enabled: Some(true),
            telemetry_type: None,
            telemetry: Default::default(),
            auto_inject: None,
            injector_object_selector: None,
            inbound_sniffing: None,
            extension_providers: vec![ExtensionProvider {
                name: "ext-authz".into(),
                kind: Some("envoyExtAuthzGrpc".into()),
                service: Some("ext-authz.auth.svc.cluster.local".into()),
                port: Some(9000),
                ..ExtensionProvider::default()
            }],
        }],
        member_rolls: vec![MemberRoll {
            meta: Meta::synthetic("ServiceMeshMemberRoll", "istio-system", "default"),
            members: vec!["shop".into()],
            configured_members: vec![],
        }],
        // The ingress gateways of these tests serve plain HTTP.
        gateways: vec![gateway_resource(
            "istio-system",
            "http",
            &[(80, "HTTP", None)],
        )],
        ..Mesh::default()
    }
}

/// A Gateway selecting `istio: ingressgateway`, one server per `(port, protocol, tls mode)`.
pub fn gateway_resource(ns: &str, name: &str, servers: &[(i64, &str, Option<&str>)]) -> Gateway {
    Gateway {
        meta: Meta::synthetic("Gateway", ns, name),
        selector: Some(labels(&[("istio", "ingressgateway")])),
        servers: servers
            .iter()
            .enumerate()
            .map(|(i, (port, protocol, tls))| GatewayServer {
                port: Some(*port),
                protocol: protocol.to_string(),
                tls_mode: tls.map(str::to_string),
                ptr: format!("/spec/servers/{i}"),
            })
            .collect(),
    }
}

pub fn sme(ns: &str, name: &str, phase: &str, priority: Option<i64>) -> Extension {
    Extension {
        meta: Meta::synthetic("ServiceMeshExtension", ns, name),
        image: Some(format!("quay.io/acme/{name}:1.0")),
        image_pull_policy: None,
        phase: Some(phase.into()),
        priority,
        priority_rejected: None,
        selector: None,
        config: ExtensionConfig::Absent,
        status_ready: None,
    }
}

pub fn sme_sel(
    ns: &str,
    name: &str,
    phase: &str,
    priority: Option<i64>,
    sel: &[(&str, &str)],
) -> Extension {
    Extension {
        selector: Some(labels(sel)),
        ..sme(ns, name, phase, priority)
    }
}

pub fn sidecar(ns: &str, name: &str) -> Workload {
    Workload {
        meta: Meta::synthetic("Deployment", ns, name),
        labels: labels(&[("app", name)]),
        proxy: ProxyType::Sidecar,
        // OSSM injection is opt-in (model::inject).
        injection: PodInjection {
            annotation: Some("true".into()),
            ..PodInjection::default()
        },
    }
}

pub fn gateway(ns: &str, name: &str) -> Workload {
    Workload {
        meta: Meta::synthetic("Deployment", ns, name),
        labels: labels(&[("app", name), ("istio", "ingressgateway")]),
        proxy: ProxyType::Gateway,
        // The operator's gateway Deployments carry the proxy container themselves.
        injection: PodInjection {
            proxy_container: true,
            ..PodInjection::default()
        },
    }
}

pub fn service(ns: &str, name: &str, app: &str, ports: &[i64], created: &str) -> Service {
    let mut meta = Meta::synthetic("Service", ns, name);
    meta.creation_timestamp = Some(created.into());
    Service {
        meta,
        selector: Some(labels(&[("app", app)])),
        ports: ports
            .iter()
            .map(|p| ServicePort {
                name: Some(format!("http-{p}")),
                port: *p,
                target_port: p.to_string(),
                protocol: "TCP".into(),
                app_protocol: None,
            })
            .collect(),
    }
}

/// A sidecar plus a one-port Service for it.
pub fn add_app(mesh: &mut Mesh, ns: &str, name: &str) {
    mesh.workloads.push(sidecar(ns, name));
    mesh.services
        .push(service(ns, name, name, &[8080], "2024-01-01T00:00:00Z"));
}

pub fn authz(
    ns: &str,
    name: &str,
    action: AuthzAction,
    sel: Option<&[(&str, &str)]>,
) -> AuthorizationPolicy {
    AuthorizationPolicy {
        meta: Meta::synthetic("AuthorizationPolicy", ns, name),
        selector: sel.map(labels),
        action,
        provider: (action == AuthzAction::Custom).then(|| "ext-authz".to_string()),
    }
}

pub fn reqauthn(ns: &str, name: &str, jwt_rules: usize) -> RequestAuthentication {
    RequestAuthentication {
        meta: Meta::synthetic("RequestAuthentication", ns, name),
        selector: None,
        jwt_rules,
    }
}

pub fn chains(mesh: &Mesh) -> Vec<WorkloadChain> {
    build_chains(mesh, &ExtensionDefaults::default())
}

/// Short names: SME names as is, built-ins with the Envoy prefixes stripped.
pub fn names(c: &WorkloadChain) -> Vec<String> {
    c.filters
        .iter()
        .map(|f| match f {
            Filter::Builtin { name, .. } => {
                let n = name
                    .trim_start_matches("envoy.filters.http.")
                    .trim_start_matches("envoy.");
                match n {
                    "istio.metadata_exchange" => "mx".into(),
                    "istio.stats" => "stats".into(),
                    other => other.into(),
                }
            }
            Filter::Extension(e) => e.name.clone(),
            // WasmPlugins by `namespace/name`, whatever filter name the version emits.
            Filter::WasmPlugin(p) => format!("wp:{}", p.key()),
        })
        .collect()
}

pub fn chain_of<'a>(chains: &'a [WorkloadChain], ns: &str, name: &str) -> &'a WorkloadChain {
    chains
        .iter()
        .find(|c| c.namespace == ns && c.name == name)
        .unwrap_or_else(|| panic!("no chain for {ns}/{name}"))
}

pub fn rules(diags: &[meshext_lint::diag::Diagnostic]) -> Vec<&'static str> {
    let mut r: Vec<_> = diags.iter().map(|d| d.rule.as_str()).collect();
    r.sort();
    r
}

/// A WasmPlugin selecting `app: <app>` (`None`: namespace- or mesh-wide).
pub fn wasm_plugin(
    ns: &str,
    name: &str,
    phase: Option<&str>,
    priority: Option<i64>,
    app: Option<&str>,
    created: Option<&str>,
) -> WasmPlugin {
    let mut meta = Meta::synthetic("WasmPlugin", ns, name);
    meta.creation_timestamp = created.map(str::to_string);
    WasmPlugin {
        meta,
        selector: app.map(|a| labels(&[("app", a)])),
        target_refs: Vec::new(),
        url: Some(format!("oci://quay.io/acme/{name}:1.0")),
        sha256: None,
        image_pull_policy: None,
        image_pull_secret: None,
        verification_key: None,
        plugin_config: None,
        plugin_name: None,
        phase: phase.map(str::to_string),
        priority,
        vm_env: Vec::new(),
        matches: Vec::new(),
        fail_strategy: None,
        plugin_type: None,
    }
}

/// Every entry of one workload: (listener, port, names).
pub fn entries(
    chains: &[WorkloadChain],
    ns: &str,
    name: &str,
) -> Vec<(String, Option<i64>, Vec<String>)> {
    chains
        .iter()
        .filter(|c| c.namespace == ns && c.name == name)
        .map(|c| (c.listener.as_str().to_string(), c.port, names(c)))
        .collect()
}
