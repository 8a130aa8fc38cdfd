//! Typing loaded documents into a [`Mesh`]. Only facts are extracted here; judging them is
//! the checks' job. Wrong types are tolerated (a schema finding reports them), so a field
//! that is not what it should be reads as absent.

use super::*;
use crate::load::Document;
use serde_json::Value as J;

/// The API group of `apiVersion` (`apps/v1` → `apps`, `v1` → ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

fn labels(v: Option<&J>) -> Labels {
    v.and_then(J::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn opt_labels(v: Option<&J>) -> Option<Labels> {
    v.filter(|v| v.is_object()).map(|v| labels(Some(v)))
}

fn strings(v: Option<&J>) -> Vec<String> {
    v.and_then(J::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn meta(doc: &Arc<Document>, j: &J, kind: &str, api_version: &str) -> Meta {
    Meta {
        kind: kind.to_string(),
        api_version: api_version.to_string(),
        name: j
            .pointer("/metadata/name")
            .and_then(J::as_str)
            .unwrap_or("")
            .to_string(),
        namespace: j
            .pointer("/metadata/namespace")
            .and_then(J::as_str)
            .unwrap_or("default")
            .to_string(),
        creation_timestamp: j
            .pointer("/metadata/creationTimestamp")
            .and_then(J::as_str)
            .map(str::to_string),
        annotations: labels(j.pointer("/metadata/annotations")),
        doc: doc.clone(),
    }
}

/// Where a workload kind keeps its pod template.
const WORKLOAD_TEMPLATES: &[(&str, &str)] = &[
    ("Deployment", "/spec/template"),
    ("StatefulSet", "/spec/template"),
    ("DaemonSet", "/spec/template"),
    ("ReplicaSet", "/spec/template"),
    ("Job", "/spec/template"),
    ("CronJob", "/spec/jobTemplate/spec/template"),
    ("DeploymentConfig", "/spec/template"),
    ("Pod", ""),
];

/// Istio's gateway deployments are recognised by their `istio` label or their name.
fn is_gateway(name: &str, labels: &Labels) -> bool {
    labels.get("istio").is_some_and(|v| v.ends_with("gateway"))
        || name.starts_with("istio-ingressgateway")
        || name.starts_with("istio-egressgateway")
}

fn text(v: &J) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

fn workload(j: &J, m: Meta, template: &str) -> Workload {
    let pod_labels = labels(j.pointer(&format!("{template}/metadata/labels")));
    let at = |p: &str| j.pointer(&format!("{template}{p}"));
    let injection = PodInjection {
        annotation: at("/metadata/annotations/sidecar.istio.io~1inject").map(text),
        label: at("/metadata/labels/sidecar.istio.io~1inject").map(text),
        proxy_container: at("/spec/containers")
            .and_then(J::as_array)
            .is_some_and(|cs| {
                cs.iter().any(|c| {
                    c.get("name").and_then(J::as_str) == Some("istio-proxy")
                        && c.get("image")
                            .and_then(J::as_str)
                            .is_some_and(|i| i != "auto")
                })
            }),
        host_network: at("/spec/hostNetwork").and_then(J::as_bool) == Some(true),
    };
    let proxy = if is_gateway(&m.name, &pod_labels) {
        ProxyType::Gateway
    } else {
        ProxyType::Sidecar
    };
    Workload {
        meta: m,
        labels: pod_labels,
        proxy,
        injection,
    }
}

fn gateway(j: &J, m: Meta) -> Gateway {
    let servers = j
        .pointer("/spec/servers")
        .and_then(J::as_array)
        .map(|ss| {
            ss.iter()
                .enumerate()
                .map(|(i, s)| GatewayServer {
                    port: s.pointer("/port/number").and_then(J::as_i64),
                    protocol: s
                        .pointer("/port/protocol")
                        .and_then(J::as_str)
                        .unwrap_or("")
                        .to_string(),
                    tls_mode: s.get("tls").filter(|t| t.is_object()).map(|t| {
                        t.get("mode")
                            .and_then(J::as_str)
                            .unwrap_or("SIMPLE")
                            .to_string()
                    }),
                    ptr: format!("/spec/servers/{i}"),
                })
                .collect()
        })
        .unwrap_or_default();
    Gateway {
        selector: opt_labels(j.pointer("/spec/selector")).filter(|s| !s.is_empty()),
        servers,
        meta: m,
    }
}

/// A JSON number the API server accepts for `type: integer` (kube-openapi's
/// `IsFloat64AJSONInteger` for floats: whole and within ±(2^53 − 1)), as Go's `int`.
fn api_integer(v: &J) -> Option<i64> {
    const MAX: f64 = 9_007_199_254_740_991.0;
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() <= MAX)
            .map(|f| f as i64)
    })
}

fn extension(j: &J, m: Meta) -> Extension {
    let spec = j.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let config = match get("config") {
        None | Some(J::Null) => ExtensionConfig::Absent,
        Some(J::String(s)) if m.api_version.ends_with("v1alpha1") => {
            ExtensionConfig::Text(s.clone())
        }
        Some(v @ J::Object(_)) if m.api_version.ends_with("/v1") => {
            ExtensionConfig::Object(v.clone())
        }
        Some(v) => ExtensionConfig::Invalid(v.clone()),
    };
    Extension {
        image: get("image").and_then(J::as_str).map(str::to_string),
        image_pull_policy: get("imagePullPolicy")
            .and_then(J::as_str)
            .map(str::to_string),
        phase: get("phase").and_then(J::as_str).map(str::to_string),
        priority: get("priority").and_then(api_integer),
        priority_rejected: get("priority")
            .filter(|v| !v.is_null() && api_integer(v).is_none())
            .map(|v| v.to_string()),
        selector: get("workloadSelector").map(|ws| labels(ws.get("labels"))),
        config,
        status_ready: j.pointer("/status/deployment/ready").and_then(J::as_bool),
        meta: m,
    }
}

fn wasm_plugin(j: &J, m: Meta) -> WasmPlugin {
    let spec = j.get("spec");
    let get = |k: &str| spec.and_then(|s| s.get(k));
    let text = |k: &str| get(k).and_then(J::as_str).map(str::to_string);
    let field = |v: &J, k: &str| v.get(k).and_then(J::as_str).map(str::to_string);
    let target_ref = |v: &J, pointer: String| PolicyTargetRef {
        group: field(v, "group"),
        kind: field(v, "kind"),
        name: field(v, "name"),
        namespace: field(v, "namespace"),
        pointer,
    };
    let mut target_refs = Vec::new();
    if let Some(v) = get("targetRef").filter(|v| v.is_object()) {
        target_refs.push(target_ref(v, "/spec/targetRef".to_string()));
    }
    if let Some(a) = get("targetRefs").and_then(J::as_array) {
        for (i, v) in a.iter().enumerate().filter(|(_, v)| v.is_object()) {
            target_refs.push(target_ref(v, format!("/spec/targetRefs/{i}")));
        }
    }
    let vm_env = j
        .pointer("/spec/vmConfig/env")
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .filter(|(_, v)| v.is_object())
                .map(|(i, v)| WasmPluginEnv {
                    name: field(v, "name"),
                    value_from: field(v, "valueFrom"),
                    value: field(v, "value"),
                    pointer: format!("/spec/vmConfig/env/{i}"),
                })
                .collect()
        })
        .unwrap_or_default();
    let matches = get("match")
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .filter(|(_, v)| v.is_object())
                .map(|(i, v)| TrafficSelector {
                    mode: field(v, "mode"),
                    ports: v
                        .get("ports")
                        .and_then(J::as_array)
                        .map(|ps| {
                            ps.iter()
                                .filter_map(|p| p.get("number").and_then(J::as_i64))
                                .collect()
                        })
                        .unwrap_or_default(),
                    pointer: format!("/spec/match/{i}"),
                })
                .collect()
        })
        .unwrap_or_default();
    WasmPlugin {
        selector: opt_labels(j.pointer("/spec/selector/matchLabels")),
        target_refs,
        url: text("url"),
        sha256: text("sha256"),
        image_pull_policy: text("imagePullPolicy"),
        image_pull_secret: text("imagePullSecret"),
        verification_key: text("verificationKey"),
        plugin_config: get("pluginConfig").cloned(),
        plugin_name: text("pluginName"),
        phase: text("phase"),
        priority: get("priority").and_then(J::as_i64),
        vm_env,
        matches,
        fail_strategy: text("failStrategy"),
        plugin_type: text("type"),
        meta: m,
    }
}

fn service(j: &J, m: Meta) -> Service {
    let ports = j
        .pointer("/spec/ports")
        .and_then(J::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| {
                    let port = p.get("port")?.as_i64()?;
                    let target_port = match p.get("targetPort") {
                        Some(J::Number(n)) => n.to_string(),
                        Some(J::String(s)) => s.clone(),
                        _ => port.to_string(),
                    };
                    Some(ServicePort {
                        name: p.get("name").and_then(J::as_str).map(str::to_string),
                        port,
                        target_port,
                        protocol: p
                            .get("protocol")
                            .and_then(J::as_str)
                            .unwrap_or("TCP")
                            .to_string(),
                        app_protocol: p.get("appProtocol").and_then(J::as_str).map(str::to_string),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Service {
        selector: opt_labels(j.pointer("/spec/selector")),
        ports,
        meta: m,
    }
}

/// `meshConfig.extensionProviders` of an SMCP: `spec.meshConfig` wins over `spec.techPreview`
/// (the operator applies techPreview first and real settings over it).
fn extension_providers(j: &J) -> Vec<ExtensionProvider> {
    providers_in(
        j.pointer("/spec/meshConfig/extensionProviders")
            .or_else(|| j.pointer("/spec/techPreview/meshConfig/extensionProviders")),
    )
}

/// A `meshConfig.extensionProviders` list, as written.
fn providers_in(list: Option<&J>) -> Vec<ExtensionProvider> {
    let list = list.and_then(J::as_array);
    let provider = |p: &J| {
        let s = |v: Option<&J>, k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(J::as_str)
                .map(str::to_string)
        };
        let obj = p.as_object();
        let (kind, body) = obj
            .and_then(|o| o.iter().find(|(k, _)| k.as_str() != "name"))
            .map_or((None, None), |(k, v)| (Some(k.clone()), Some(v)));
        ExtensionProvider {
            name: s(Some(p), "name").unwrap_or_default(),
            kind,
            service: s(body, "service"),
            port: body.and_then(|b| b.get("port")).and_then(J::as_i64),
            path_prefix: s(body, "pathPrefix"),
            status_on_error: s(body, "statusOnError"),
        }
    };
    list.map(|l| l.iter().map(provider).collect())
        .unwrap_or_default()
}

fn authz_action(s: Option<&str>) -> AuthzAction {
    match s {
        Some("DENY") => AuthzAction::Deny,
        Some("AUDIT") => AuthzAction::Audit,
        Some("CUSTOM") => AuthzAction::Custom,
        _ => AuthzAction::Allow,
    }
}

/// An upstream-Istio control plane. Sail keeps the mesh config under `spec.values.meshConfig`
/// (sail-operator `api/v1/values_types.gen.go` `Values.MeshConfig`), an IstioOperator under
/// `spec.meshConfig`; Sail's `Istio` is cluster-scoped and names istiod's namespace in
/// `spec.namespace` (default `istio-system`, `api/v1/istio_types.go`).
fn istio_control_plane(j: &J, m: Meta, kind: IstioKind) -> IstioControlPlane {
    let (mesh_config, version_path) = match kind {
        IstioKind::Operator => ("/spec/meshConfig", "/spec/tag"),
        _ => ("/spec/values/meshConfig", "/spec/version"),
    };
    let at = |p: &str| j.pointer(&format!("{mesh_config}{p}"));
    let namespace = match kind {
        IstioKind::Operator => m.namespace.clone(),
        _ => j
            .pointer("/spec/namespace")
            .and_then(J::as_str)
            .unwrap_or("istio-system")
            .to_string(),
    };
    let revision = match kind {
        IstioKind::Operator => j.pointer("/spec/revision").and_then(J::as_str),
        IstioKind::SailRevision => Some(m.name.as_str()),
        IstioKind::Sail => None,
    }
    .map(str::to_string);
    IstioControlPlane {
        kind,
        version: j.pointer(version_path).map(text),
        version_path,
        namespace,
        root_namespace: at("/rootNamespace").and_then(J::as_str).map(str::to_string),
        discovery_selectors: at("/discoverySelectors")
            .and_then(J::as_array)
            .cloned()
            .unwrap_or_default(),
        extension_providers: providers_in(at("/extensionProviders")),
        revision,
        meta: m,
    }
}

/// Adds one document to the mesh, if it is a kind the tool understands.
pub fn add(mesh: &mut Mesh, doc: &Arc<Document>) {
    let (Some(kind), Some(api)) = (doc.str_at("/kind"), doc.str_at("/apiVersion")) else {
        return;
    };
    let (kind, api) = (kind.to_string(), api.to_string());
    let group = group_of(&api);
    let j = &doc.json();
    let m = meta(doc, j, &kind, &api);
    match (group, kind.as_str()) {
        ("maistra.io", "ServiceMeshControlPlane") => mesh.control_planes.push(ControlPlane {
            version: j
                .pointer("/spec/version")
                .and_then(J::as_str)
                .map(str::to_string),
            wasm_extensions_enabled: j
                .pointer("/spec/techPreview/wasmExtensions/enabled")
                .and_then(J::as_bool),
            telemetry_type: j
                .pointer("/spec/telemetry/type")
                .and_then(J::as_str)
                .map(str::to_string),
            telemetry: TelemetrySwitches {
                prometheus: j
                    .pointer("/spec/addons/prometheus/enabled")
                    .and_then(J::as_bool),
                stackdriver: j
                    .pointer("/spec/addons/stackdriver/telemetry/enabled")
                    .and_then(J::as_bool),
            },
            auto_inject: j
                .pointer("/spec/proxy/injection/autoInject")
                .and_then(J::as_bool),
            injector_object_selector: j
                .pointer("/spec/techPreview/sidecarInjectorWebhook/objectSelector/enabled")
                .and_then(J::as_bool),
            extension_providers: extension_providers(j),
            inbound_sniffing: j
                .pointer("/spec/proxy/networking/protocol/autoDetect/inbound")
                .and_then(J::as_bool),
            meta: m,
        }),
        ("maistra.io", "ServiceMeshMemberRoll") => mesh.member_rolls.push(MemberRoll {
            members: strings(j.pointer("/spec/members")),
            configured_members: strings(j.pointer("/status/configuredMembers")),
            meta: m,
        }),
        ("maistra.io", "ServiceMeshMember") => {
            let cp = j.pointer("/spec/controlPlaneRef").map(|r| {
                let s = |k: &str| r.get(k).and_then(J::as_str).unwrap_or("").to_string();
                (s("namespace"), s("name"))
            });
            mesh.members.push(Member {
                control_plane: cp,
                meta: m,
            })
        }
        ("sailoperator.io", "Istio") => {
            mesh.istio_control_planes
                .push(istio_control_plane(j, m, IstioKind::Sail))
        }
        ("sailoperator.io", "IstioRevision") => mesh
            .istio_control_planes
            .push(istio_control_plane(j, m, IstioKind::SailRevision)),
        ("install.istio.io", "IstioOperator") => mesh
            .istio_control_planes
            .push(istio_control_plane(j, m, IstioKind::Operator)),
        // Only `maistra.io` SMEs reach istiod; other groups are reported by MX105.
        ("maistra.io", "ServiceMeshExtension") => mesh.extensions.push(extension(j, m)),
        ("extensions.istio.io", "WasmPlugin") => mesh.wasm_plugins.push(wasm_plugin(j, m)),
        ("", "Service") => mesh.services.push(service(j, m)),
        ("", "Namespace") => {
            mesh.namespace_labels
                .insert(m.name.clone(), labels(j.pointer("/metadata/labels")));
            mesh.namespaces.push(Meta {
                namespace: m.name.clone(),
                ..m
            })
        }
        ("security.istio.io", "AuthorizationPolicy") => {
            mesh.authorization_policies.push(AuthorizationPolicy {
                selector: opt_labels(j.pointer("/spec/selector/matchLabels")),
                action: authz_action(j.pointer("/spec/action").and_then(J::as_str)),
                provider: j
                    .pointer("/spec/provider/name")
                    .and_then(J::as_str)
                    .map(str::to_string),
                meta: m,
            })
        }
        ("security.istio.io", "RequestAuthentication") => {
            mesh.request_authentications.push(RequestAuthentication {
                selector: opt_labels(j.pointer("/spec/selector/matchLabels")),
                jwt_rules: j
                    .pointer("/spec/jwtRules")
                    .and_then(J::as_array)
                    .map_or(0, Vec::len),
                meta: m,
            })
        }
        ("security.istio.io", "PeerAuthentication") => {
            mesh.peer_authentications.push(PeerAuthentication {
                selector: opt_labels(j.pointer("/spec/selector/matchLabels")),
                mode: j
                    .pointer("/spec/mtls/mode")
                    .and_then(J::as_str)
                    .map(str::to_string),
                meta: m,
            })
        }
        ("networking.istio.io", "Gateway") => mesh.gateways.push(gateway(j, m)),
        ("networking.istio.io", "EnvoyFilter") => mesh.envoy_filters.push(EnvoyFilter {
            selector: opt_labels(j.pointer("/spec/workloadSelector/labels")),
            meta: m,
        }),
        (_, k) => {
            if let Some((_, template)) = WORKLOAD_TEMPLATES.iter().find(|(wk, _)| *wk == k) {
                mesh.workloads.push(workload(j, m, template));
            }
        }
    }
}

/// Builds the mesh from documents. The version: `override_version` if given, else the
/// first SMCP's `spec.version`, else v2.1 (assumed).
pub fn build(
    docs: &[Arc<Document>],
    override_version: Option<(MeshVersion, VersionSource)>,
) -> Mesh {
    build_with(docs, override_version, None)
}

/// [`build`] with `--istio-version`: the version is `override_version` if given, else the first
/// SMCP's `spec.version`, else the upstream control plane's Istio release (Sail `Istio`, then
/// `IstioRevision`, then `IstioOperator`), else `istio_version`, else v2.1 (assumed). An Istio
/// release behaves as [`IstioVersion::mesh_equivalent`]; `mesh.istio` keeps the release itself.
pub fn build_with(
    docs: &[Arc<Document>],
    override_version: Option<(MeshVersion, VersionSource)>,
    istio_version: Option<(IstioVersion, VersionSource)>,
) -> Mesh {
    let mut mesh = Mesh::default();
    for d in docs {
        add(&mut mesh, d);
    }
    let from_smcp = mesh
        .control_planes
        .iter()
        .find_map(|c| c.version.as_deref().and_then(MeshVersion::parse));
    let from_istio = [
        IstioKind::Sail,
        IstioKind::SailRevision,
        IstioKind::Operator,
    ]
    .iter()
    .flat_map(|k| {
        mesh.istio_control_planes
            .iter()
            .filter(move |c| c.kind == *k)
    })
    .find_map(|c| c.version.as_deref().and_then(IstioVersion::parse_release))
    .map(|v| (v, VersionSource::ControlPlane))
    .or(istio_version);
    let as_mesh =
        |(i, src): (IstioVersion, VersionSource)| i.mesh_equivalent().map(|m| (m, src, Some(i)));
    let (version, source, istio) = match (override_version, from_smcp) {
        (Some((v, src)), _) => (v, src, None),
        (None, Some(v)) => (v, VersionSource::ControlPlane, None),
        (None, None) => from_istio.and_then(as_mesh).unwrap_or((
            MeshVersion::default(),
            VersionSource::Assumed,
            None,
        )),
    };
    mesh.version = version;
    mesh.version_source = Some(source);
    mesh.istio = istio.or_else(|| version.istio());
    mesh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::inputs::{add_source, Loaded};

    fn mesh_of(text: &str) -> Mesh {
        let mut l = Loaded::default();
        add_source(&mut l, "t.yaml".into(), text.as_bytes().to_vec());
        assert!(l.problems.is_empty(), "{:?}", l.problems);
        build(&l.documents, None)
    }

    #[test]
    fn types_every_wasm_plugin_field() {
        let m = mesh_of(
            "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: {name: wp, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}\n  targetRefs: [{kind: Service, name: s}, 7]\n  url: oci://quay.io/a/b:1\n  sha256: abc\n  imagePullPolicy: Always\n  imagePullSecret: pull\n  verificationKey: k\n  pluginConfig: {a: [1]}\n  pluginName: root\n  phase: AUTHN\n  priority: 10\n  vmConfig: {env: [{name: A, value: x}, {name: POD_NAME, valueFrom: HOST}]}\n  match: [{mode: SERVER, ports: [{number: 8080}, {number: x}]}, {}]\n  failStrategy: FAIL_OPEN\n  type: HTTP\n",
        );
        let p = &m.wasm_plugins[0];
        assert_eq!(p.selector.as_ref().map(|l| l.len()), Some(1));
        let refs: Vec<_> = p
            .target_refs
            .iter()
            .map(|r| (r.kind.as_deref(), r.name.as_deref(), r.pointer.as_str()))
            .collect();
        assert_eq!(
            refs,
            [
                (Some("Gateway"), Some("gw"), "/spec/targetRef"),
                (Some("Service"), Some("s"), "/spec/targetRefs/0")
            ]
        );
        assert_eq!(p.url.as_deref(), Some("oci://quay.io/a/b:1"));
        assert_eq!(
            (
                p.sha256.as_deref(),
                p.image_pull_policy.as_deref(),
                p.image_pull_secret.as_deref(),
                p.verification_key.as_deref()
            ),
            (Some("abc"), Some("Always"), Some("pull"), Some("k"))
        );
        assert_eq!(p.plugin_config, Some(serde_json::json!({"a": [1]})));
        assert_eq!(
            (p.plugin_name.as_deref(), p.phase.as_deref(), p.priority),
            (Some("root"), Some("AUTHN"), Some(10))
        );
        assert_eq!(p.vm_env.len(), 2);
        assert_eq!(p.vm_env[1].value_from.as_deref(), Some("HOST"));
        assert_eq!(p.vm_env[1].pointer, "/spec/vmConfig/env/1");
        assert_eq!(p.matches.len(), 2);
        assert_eq!(
            (p.matches[0].mode.as_deref(), p.matches[0].ports.clone()),
            (Some("SERVER"), vec![8080])
        );
        assert_eq!(p.matches[1].mode, None);
        assert_eq!(
            (p.fail_strategy.as_deref(), p.plugin_type.as_deref()),
            (Some("FAIL_OPEN"), Some("HTTP"))
        );
    }

    #[test]
    fn types_the_kinds_that_matter() {
        let m = mesh_of(
            "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {version: v2.2, telemetry: {type: Istiod}}\n---\n\
apiVersion: maistra.io/v1\nkind: ServiceMeshExtension\nmetadata: {name: ext, namespace: shop}\nspec: {image: quay.io/a/b:1, phase: PostAuthZ, priority: 5, workloadSelector: {labels: {app: web}}, config: {a: 1}}\n---\n\
apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {metadata: {labels: {app: web}}}}\n---\n\
apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: web, namespace: shop}\n  spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
        );
        assert_eq!(m.version, MeshVersion::V2_2);
        assert_eq!(m.control_plane_namespace(), Some("istio-system"));
        let e = &m.extensions[0];
        assert_eq!(
            (e.phase.as_deref(), e.priority),
            (Some("PostAuthZ"), Some(5))
        );
        assert!(matches!(e.config, ExtensionConfig::Object(_)));
        assert_eq!(
            m.workloads[0].labels.get("app").map(String::as_str),
            Some("web")
        );
        assert_eq!(m.services[0].ports[0].target_port, "8080");
        assert_eq!(m.services[0].meta.doc.base, "/items/0");
    }

    #[test]
    fn reads_injection_telemetry_and_gateway_servers() {
        let m = mesh_of(
            "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\nspec: {addons: {prometheus: {enabled: false}, stackdriver: {telemetry: {enabled: true}}}, proxy: {injection: {autoInject: true}}, techPreview: {sidecarInjectorWebhook: {objectSelector: {enabled: true}}}}\n---\n\
apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {metadata: {annotations: {sidecar.istio.io/inject: 'true'}, labels: {sidecar.istio.io/inject: 'false'}}, spec: {hostNetwork: true, containers: [{name: istio-proxy, image: auto}]}}}\n---\n\
apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: gw, namespace: shop}\nspec: {selector: {istio: ingressgateway}, servers: [{port: {number: 443, protocol: HTTPS}, tls: {mode: PASSTHROUGH}}, {port: {number: 8443, protocol: HTTPS}, tls: {credentialName: x}}]}\n",
        );
        let cp = &m.control_planes[0];
        assert_eq!(
            (cp.telemetry.prometheus, cp.telemetry.stackdriver),
            (Some(false), Some(true))
        );
        assert_eq!(
            (cp.auto_inject, cp.injector_object_selector),
            (Some(true), Some(true))
        );
        let i = &m.workloads[0].injection;
        assert_eq!(
            (i.annotation.as_deref(), i.label.as_deref()),
            (Some("true"), Some("false"))
        );
        // `image: auto` is a placeholder for injection, not a proxy.
        assert!(i.host_network && !i.proxy_container);
        let g = &m.gateways[0];
        assert_eq!(g.selector.as_ref().map(|s| s.len()), Some(1));
        // A tls block without a mode is SIMPLE (the API default).
        let modes: Vec<_> = g
            .servers
            .iter()
            .map(|s| (s.tls_mode.as_deref(), s.is_http()))
            .collect();
        assert_eq!(
            modes,
            [(Some("PASSTHROUGH"), false), (Some("SIMPLE"), true)]
        );
    }

    #[test]
    fn gateways_are_recognised() {
        let m = mesh_of("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: istio-ingressgateway, namespace: istio-system}\nspec: {template: {metadata: {labels: {istio: ingressgateway}}}}\n");
        assert_eq!(m.workloads[0].proxy, ProxyType::Gateway);
        assert_eq!(m.version_source, Some(VersionSource::Assumed));
    }

    #[test]
    fn sail_istio_gives_the_version_namespaces_and_providers() {
        let m = mesh_of(
            "apiVersion: sailoperator.io/v1\nkind: Istio\nmetadata: {name: default}\nspec:\n  version: v1.24.3\n  namespace: istio-cp\n  values:\n    meshConfig:\n      rootNamespace: istio-config\n      discoverySelectors: [{matchLabels: {mesh: on}}]\n      extensionProviders: [{name: authz, envoyExtAuthzHttp: {service: a.b, port: 80}}]\n---\n\
apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {mesh: on}}\n---\n\
apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n---\n\
apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: unlabelled}\nspec: {template: {metadata: {labels: {app: web}}}}\n",
        );
        assert_eq!(m.version, MeshVersion::V3_0);
        assert_eq!(m.version_source, Some(VersionSource::ControlPlane));
        assert_eq!(m.istio.unwrap().to_string(), "1.24.3");
        let cp = &m.istio_control_planes[0];
        assert_eq!(
            (cp.kind, cp.namespace.as_str()),
            (IstioKind::Sail, "istio-cp")
        );
        assert_eq!(cp.extension_providers[0].name, "authz");
        assert_eq!(m.control_plane_namespace(), Some("istio-config"));
        // No member roll on 3.x: the discovery selectors pick the namespaces.
        let ns: Vec<String> = m.mesh_namespaces().into_iter().collect();
        assert_eq!(ns, ["istio-config", "shop"]);
    }

    #[test]
    fn without_discovery_selectors_every_namespace_is_watched() {
        let m = mesh_of(
            "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata: {name: cp, namespace: istio-system}\nspec: {tag: 1.26.2, revision: canary}\n---\n\
apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {template: {metadata: {labels: {app: web}}}}\n",
        );
        assert_eq!(m.version, MeshVersion::parse("v3.1").unwrap());
        assert_eq!(m.istio.unwrap().to_string(), "1.26.2");
        assert_eq!(
            m.istio_control_planes[0].revision.as_deref(),
            Some("canary")
        );
        let ns: Vec<String> = m.mesh_namespaces().into_iter().collect();
        assert_eq!(ns, ["istio-system", "shop"]);
    }

    #[test]
    fn version_precedence() {
        let mut l = Loaded::default();
        let sail = "apiVersion: sailoperator.io/v1alpha1\nkind: Istio\nmetadata: {name: default}\nspec: {version: v1.27.1}\n";
        add_source(&mut l, "t.yaml".into(), sail.as_bytes().to_vec());
        let flag = Some((
            IstioVersion::parse("1.20").unwrap(),
            VersionSource::CommandLine,
        ));
        // The control plane wins over --istio-version; --mesh-version over both.
        let m = build_with(&l.documents, None, flag.clone());
        assert_eq!(m.version.to_string(), "v3.2");
        let m = build_with(
            &l.documents,
            Some((MeshVersion::V2_2, VersionSource::CommandLine)),
            flag,
        );
        assert_eq!(m.version, MeshVersion::V2_2);
        assert_eq!(m.istio.unwrap().to_string(), "1.12");
        // --istio-version alone: a release without OSSM behaves as the OSSM version below it.
        let m = build_with(
            &[],
            None,
            Some((
                IstioVersion::parse("1.25").unwrap(),
                VersionSource::CommandLine,
            )),
        );
        assert_eq!((m.version, m.istio.unwrap().minor), (MeshVersion::V3_0, 25));
        // master: the newest release the tool knows.
        let mut l = Loaded::default();
        add_source(
            &mut l,
            "t.yaml".into(),
            sail.replace("v1.27.1", "master").into_bytes(),
        );
        assert!(build(&l.documents, None).version.is_sail());
    }
}
