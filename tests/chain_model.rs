//! What the model reads from the control plane, the pod templates and the Gateway resources,
//! and how it shapes the chains (issue 11, points 4–6). Each case follows the upstream source
//! named in its comment; docs/fidelity.md "Chain" cites the same functions.

mod common;

use meshext_lint::chain::{build_chains, ExtensionDefaults, Gate, WorkloadChain};
use meshext_lint::load::inputs::{add_source, Loaded};
use meshext_lint::model::build::build;
use meshext_lint::model::inject::Injection;
use meshext_lint::model::Mesh;

fn mesh(text: &str) -> Mesh {
    let mut l = Loaded::default();
    add_source(&mut l, "t.yaml".into(), text.as_bytes().to_vec());
    assert!(l.problems.is_empty(), "{:?}", l.problems);
    build(&l.documents, None)
}

fn chains(text: &str) -> Vec<WorkloadChain> {
    build_chains(&mesh(text), &ExtensionDefaults::default())
}

fn names(c: &WorkloadChain) -> Vec<&str> {
    c.filters
        .iter()
        .map(|f| match f.name() {
            "istio.metadata_exchange" => "mx",
            "istio_authn" => "authn",
            "envoy.filters.http.cors" | "envoy.cors" => "cors",
            "envoy.filters.http.fault" | "envoy.fault" => "fault",
            "istio.stats" => "stats",
            "istio.stackdriver" => "stackdriver",
            "envoy.filters.http.router" | "envoy.router" => "router",
            other => other,
        })
        .collect()
}

/// An SMCP with `spec` (flow YAML inside `spec: {…}`), member `shop`, one opted-in `web`
/// Deployment with a Service, and one SME on it (`maistra.io/v1alpha1` on v2.0, which does not
/// serve `v1`).
fn app(version: &str, spec: &str) -> String {
    let sme_api = if version == "v2.0" { "v1alpha1" } else { "v1" };
    common::injected_mesh(
        &format!("version: {version}, techPreview: {{wasmExtensions: {{enabled: true}}}}{spec}"),
        "web",
        &format!(
            "apiVersion: v1
kind: Service
metadata: {{name: web, namespace: shop}}
spec: {{selector: {{app: web}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}
---
apiVersion: maistra.io/{sme_api}
kind: ServiceMeshExtension
metadata: {{name: ext, namespace: shop}}
spec: {{image: quay.io/acme/ext:1.0, phase: PostStats, workloadSelector: {{labels: {{app: web}}}}}}
"
        ),
    )
}

// ---- point 4: telemetry settings decide the EnvoyFilters -------------------------------------

/// operator `conversion/prometheus.go` `populatePrometheusTelemetryValues` maps
/// `addons.prometheus.enabled: false` to `telemetry.v2.prometheus.enabled=false`; the
/// `stats-filter-*` templates are inside `{{- if .Values.telemetry.v2.prometheus.enabled }}`.
/// The metadata-exchange templates are not, so v2.0/v2.1 keep `istio.metadata_exchange` and
/// every version keeps an EnvoyFilter that selects the proxy: SMEs still apply.
#[test]
fn prometheus_off_removes_istio_stats_only() {
    let off = ", addons: {prometheus: {enabled: false}}";
    for (version, want) in [
        (
            "v2.0",
            vec!["mx", "authn", "cors", "fault", "ext", "router"],
        ),
        (
            "v2.1",
            vec!["mx", "authn", "cors", "fault", "ext", "router"],
        ),
        // 1.12 has metadata exchange built in; no authn without a RequestAuthentication.
        ("v2.2", vec!["mx", "cors", "fault", "ext", "router"]),
    ] {
        let c = chains(&app(version, off));
        assert_eq!(c[0].gate, None, "{version}");
        assert_eq!(names(&c[0]), want, "{version}");
    }
    // With the defaults the stats filter is there, right before the router.
    let c = chains(&app("v2.2", ""));
    assert_eq!(
        names(&c[0]),
        ["mx", "cors", "fault", "ext", "stats", "router"]
    );
}

/// v2.2 still renders `telemetryv2_1.6.yaml` (metadata-exchange-1.6, no workload selector);
/// `PushContext.EnvoyFilters` matches EnvoyFilters by workload selector, not by the patches'
/// `proxyVersion`, so the gate in `patchListeners` stays open on a 1.12 proxy.
#[test]
fn v2_2_keeps_an_envoy_filter_without_prometheus() {
    use meshext_lint::chain::builtins::Telemetry;
    use meshext_lint::model::MeshVersion;
    let m = mesh(&app("v2.2", ", addons: {prometheus: {enabled: false}}"));
    let t = Telemetry::of(MeshVersion::V2_2, m.control_planes.first());
    assert!(!t.stats && t.selects_every_proxy());
    assert_eq!(
        t.envoy_filters(MeshVersion::V2_2),
        ["metadata-exchange-1.6", "tcp-metadata-exchange-1.6"]
    );
}

/// `telemetry.go` `populateTelemetryValues`: None and Remote set `telemetry.v2.enabled=false`
/// (no telemetry EnvoyFilter at all): v2.1/v2.2 skip the SME patch; v2.0 has no gate and, for
/// Mixer/Remote, keeps the `mixer` filter.
#[test]
fn telemetry_type_gates() {
    for ty in ["None", "Remote"] {
        for version in ["v2.1", "v2.2"] {
            let c = chains(&app(version, &format!(", telemetry: {{type: {ty}}}")));
            assert_eq!(c[0].gate, Some(Gate::NoEnvoyFilter), "{ty} {version}");
            assert!(!names(&c[0]).contains(&"stats"));
        }
    }
    let c = chains(&app("v2.0", ", telemetry: {type: Mixer}"));
    assert_eq!(c[0].gate, None);
    assert_eq!(
        names(&c[0]),
        [
            "authn",
            "mixer",
            "envoy.cors",
            "envoy.fault",
            "ext",
            "router"
        ]
        .map(|n| n.trim_start_matches("envoy."))
    );
    // Telemetry off: a user EnvoyFilter in the workload's namespace opens the gate again.
    let mut text = app("v2.1", ", telemetry: {type: None}");
    text.push_str("---\napiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: any, namespace: shop}\nspec: {workloadSelector: {labels: {app: web}}}\n");
    assert_eq!(chains(&text)[0].gate, None);
}

/// `stackdriver.go` `populateStackDriverAddonValues` → `telemetry.v2.stackdriver.enabled`: the
/// `stackdriver-filter-*` EnvoyFilter inserts `istio.stackdriver` before the router too.
#[test]
fn stackdriver_adds_its_filter() {
    let c = chains(&app(
        "v2.1",
        ", addons: {stackdriver: {telemetry: {enabled: true}}}",
    ));
    assert_eq!(
        names(&c[0]),
        [
            "mx",
            "authn",
            "cors",
            "fault",
            "ext",
            "stackdriver",
            "stats",
            "router"
        ]
    );
}

// ---- point 5: injection is opt-in --------------------------------------------------------------

/// `pkg/kube/inject/inject.go` `injectRequired` with the `base` template's policy `disabled`.
#[test]
fn workloads_without_opt_in_have_no_chain() {
    let opted = app("v2.1", "");
    // Label only: v2.1 reads the annotation, so no proxy; v2.2 reads the label.
    let label_only = opted.replace(
        "annotations: {sidecar.istio.io/inject: \"true\"}\n      labels: {app: web}",
        "labels: {sidecar.istio.io/inject: \"true\", app: web}",
    );
    let c = chains(&label_only);
    assert_eq!(c[0].gate, Some(Gate::NotInjected));
    assert!(c[0].filters.is_empty());
    assert_eq!(c[0].unapplied.len(), 1, "the SME is listed as not applied");
    assert!(
        matches!(&c[0].injection, Injection::NotInjected(why) if why.contains("annotation, not the label"))
    );
    let c = chains(&label_only.replace("version: v2.1", "version: v2.2"));
    assert_eq!(c[0].gate, None);
    assert!(matches!(&c[0].injection, Injection::Injected(why) if why.starts_with("label")));
    // autoInject: true turns the policy on: no opt-in needed, an opt-out still counts.
    let none = opted.replace("annotations: {sidecar.istio.io/inject: \"true\"}", "x: {}");
    assert_eq!(chains(&none)[0].gate, Some(Gate::NotInjected));
    let auto = none.replace(
        "version: v2.1,",
        "version: v2.1, proxy: {injection: {autoInject: true}},",
    );
    assert_eq!(chains(&auto)[0].gate, None);
    let out = opted
        .replace(
            "version: v2.1,",
            "version: v2.1, proxy: {injection: {autoInject: true}},",
        )
        .replace("inject: \"true\"", "inject: \"false\"");
    assert_eq!(chains(&out)[0].gate, Some(Gate::NotInjected));
}

/// The operator's gateway Deployments carry an `istio-proxy` container: no injection needed.
/// Gateways made for injection (`image: auto`) need the opt-in like any pod.
#[test]
fn gateway_proxy_from_the_template_or_injection() {
    let gw = |container_image: &str, annotations: &str| {
        format!(
            "apiVersion: maistra.io/v2
kind: ServiceMeshControlPlane
metadata: {{name: basic, namespace: istio-system}}
spec: {{version: v2.1}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istio-ingressgateway, namespace: istio-system}}
spec:
  template:
    metadata:
      annotations: {annotations}
      labels: {{istio: ingressgateway}}
    spec:
      containers: [{{name: istio-proxy, image: {container_image}}}]
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {{name: web, namespace: istio-system}}
spec:
  selector: {{istio: ingressgateway}}
  servers: [{{port: {{number: 80, name: http, protocol: HTTP}}, hosts: ['*']}}]
"
        )
    };
    let c = chains(&gw("registry.redhat.io/proxyv2:2.1", "{}"));
    assert_eq!((c[0].gate, &c[0].injection), (None, &Injection::Template));
    let c = chains(&gw("auto", "{}"));
    assert_eq!(c[0].gate, Some(Gate::NotInjected));
    let c = chains(&gw("auto", "{sidecar.istio.io/inject: 'true'}"));
    assert_eq!(c[0].gate, None);
}

// ---- point 6: gateways get HTTP chains from Gateway resources ------------------------------------

fn gateway_mesh(servers: &str, selector: &str) -> String {
    format!(
        "apiVersion: maistra.io/v2
kind: ServiceMeshControlPlane
metadata: {{name: basic, namespace: istio-system}}
spec: {{version: v2.1}}
---
apiVersion: maistra.io/v1
kind: ServiceMeshMemberRoll
metadata: {{name: default, namespace: istio-system}}
spec: {{members: [shop, elsewhere]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: istio-ingressgateway, namespace: istio-system}}
spec:
  template:
    metadata:
      labels: {{istio: ingressgateway}}
    spec:
      containers: [{{name: istio-proxy, image: registry.redhat.io/proxyv2:2.1}}]
---
apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {{name: gw, namespace: shop}}
spec:
  selector: {selector}
  servers: {servers}
---
apiVersion: maistra.io/v1
kind: ServiceMeshExtension
metadata: {{name: edge, namespace: istio-system}}
spec: {{image: quay.io/acme/edge:1.0, phase: PostAuthZ}}
"
    )
}

/// `pkg/config/gateway/gateway.go` `IsHTTPServer` as used by `gateway.go`
/// `buildGatewayListeners`: HTTP-family protocols, and HTTPS with a `tls` block whose mode is
/// not PASSTHROUGH/AUTO_PASSTHROUGH, get an HTTP connection manager; TCP/TLS/passthrough not.
#[test]
fn only_http_and_terminated_https_servers_get_http_chains() {
    let sel = "{istio: ingressgateway}";
    for (server, http) in [
        ("{port: {number: 80, name: h, protocol: HTTP}}", true),
        ("{port: {number: 80, name: h, protocol: http2}}", true),
        ("{port: {number: 80, name: g, protocol: GRPC}}", true),
        (
            "{port: {number: 443, name: s, protocol: HTTPS}, tls: {mode: SIMPLE}}",
            true,
        ),
        (
            "{port: {number: 443, name: s, protocol: HTTPS}, tls: {mode: MUTUAL}}",
            true,
        ),
        (
            "{port: {number: 443, name: s, protocol: HTTPS}, tls: {mode: ISTIO_MUTUAL}}",
            true,
        ),
        (
            "{port: {number: 443, name: s, protocol: HTTPS}, tls: {credentialName: x}}",
            true,
        ),
        (
            "{port: {number: 443, name: s, protocol: HTTPS}, tls: {mode: PASSTHROUGH}}",
            false,
        ),
        (
            "{port: {number: 443, name: s, protocol: HTTPS}, tls: {mode: AUTO_PASSTHROUGH}}",
            false,
        ),
        // HTTPS without a tls block is not a TLS server: TCP proxy.
        ("{port: {number: 443, name: s, protocol: HTTPS}}", false),
        (
            "{port: {number: 443, name: t, protocol: TLS}, tls: {mode: SIMPLE}}",
            false,
        ),
        ("{port: {number: 5432, name: p, protocol: TCP}}", false),
        ("{port: {number: 27017, name: m, protocol: MONGO}}", false),
    ] {
        let c = chains(&gateway_mesh(&format!("[{server}]"), sel));
        let gate = c[0].gate;
        if http {
            assert_eq!(gate, None, "{server}");
            assert!(names(&c[0]).contains(&"edge"), "{server}");
        } else {
            assert_eq!(gate, Some(Gate::NoHttpServer), "{server}");
            assert!(c[0].filters.is_empty(), "{server}");
        }
    }
}

/// `push_context.go` `mergeGateways`: every Gateway whose selector is a subset of the pod's
/// labels, from any namespace istiod watches (ScopeGatewayToNamespace is off by default).
#[test]
fn gateway_resources_select_by_labels_across_namespaces() {
    let http = "[{port: {number: 80, name: h, protocol: HTTP}}]";
    // Selected from another member namespace.
    let c = chains(&gateway_mesh(http, "{istio: ingressgateway}"));
    assert_eq!(c[0].gate, None);
    let s = c[0].servers.as_ref().unwrap();
    assert_eq!(
        (s.gateways.as_slice(), s.http.as_slice()),
        (
            &["Gateway shop/gw".to_string()][..],
            &["80/HTTP".to_string()][..]
        )
    );
    // A selector that does not match: no Gateway, no HTTP chain.
    let c = chains(&gateway_mesh(http, "{istio: egressgateway}"));
    assert_eq!(c[0].gate, Some(Gate::NoHttpServer));
    assert!(c[0].servers.as_ref().unwrap().gateways.is_empty());
    // A Gateway in a namespace outside the mesh is not seen by istiod.
    let outside = gateway_mesh(http, "{istio: ingressgateway}").replace(
        "{name: gw, namespace: shop}",
        "{name: gw, namespace: outside}",
    );
    assert_eq!(chains(&outside)[0].gate, Some(Gate::NoHttpServer));
    // Mixed servers: the HTTP one gives the chain, the passthrough one is listed as other.
    let mixed = "[{port: {number: 80, name: h, protocol: HTTP}}, {port: {number: 443, name: s, protocol: HTTPS}, tls: {mode: PASSTHROUGH}}]";
    let c = chains(&gateway_mesh(mixed, "{istio: ingressgateway}"));
    let s = c[0].servers.as_ref().unwrap();
    assert_eq!(
        (c[0].gate, s.other.as_slice()),
        (None, &["443/HTTPS/PASSTHROUGH".to_string()][..])
    );
}

/// `simulate` refuses a workload that has no HTTP chain, and says why.
#[test]
fn simulate_refuses_a_workload_without_a_proxy() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meshext-lint"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "simulate",
            "samples/broken/MX613.yaml",
            "--workload",
            "shop/web",
            "--scenario",
            "samples/scenarios/header-append.yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shop/web has no HTTP filter chain")
            && err.contains("annotation, not the label"),
        "{err}"
    );
}
