//! The typed mesh model built from loaded resources: what the control plane would see.
//!
//! Every object keeps a [`Meta`] with its identity and where it was declared, so that checks
//! and the filter-chain builder can point findings at the source.

pub mod build;
pub mod index;
pub mod inject;
pub mod version;

use crate::diag::Location;
use crate::load::Document;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub use version::{IstioVersion, MeshVersion};

pub type Labels = BTreeMap<String, String>;

/// The six phases istiod injects, case-sensitive; any other value is accepted by the API and
/// never injected.
pub const PHASES: [&str; 6] = [
    "PreAuthN",
    "PostAuthN",
    "PreAuthZ",
    "PostAuthZ",
    "PreStats",
    "PostStats",
];

/// Identity and origin of a resource.
#[derive(Debug, Clone)]
pub struct Meta {
    pub kind: String,
    pub api_version: String,
    pub name: String,
    /// Namespace as written, or the default (`default`) for namespaced kinds without one.
    pub namespace: String,
    /// `metadata.creationTimestamp` when present (RFC 3339 text).
    pub creation_timestamp: Option<String>,
    pub annotations: Labels,
    /// The document the resource came from (text, tree and spans).
    pub doc: Arc<Document>,
}

impl Meta {
    /// A resource with no source text, for tests and generated objects.
    pub fn synthetic(kind: &str, namespace: &str, name: &str) -> Meta {
        let source = crate::source::SourceFile::new(format!("<{kind} {namespace}/{name}>"), "");
        let root = crate::load::Node {
            span: Default::default(),
            value: crate::load::Value::Map(Vec::new()),
        };
        Meta {
            kind: kind.into(),
            api_version: String::new(),
            name: name.into(),
            namespace: namespace.into(),
            creation_timestamp: None,
            annotations: Labels::new(),
            doc: Arc::new(Document::new(source, 0, String::new(), root)),
        }
    }

    /// `Kind namespace/name`, the resource label used in findings.
    pub fn display(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The location of the node at JSON pointer `ptr` (e.g. `/spec/phase`); falls back to
    /// the nearest existing ancestor, then to the document start.
    pub fn loc(&self, ptr: &str) -> Location {
        self.doc.location_of(ptr)
    }

    /// The location of the key of the node at `ptr` (`phase` in `phase: x`), or the node.
    pub fn key_loc(&self, ptr: &str) -> Location {
        self.doc.key_location_of(ptr)
    }
}

/// How an SME delivers its configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum ExtensionConfig {
    Absent,
    /// v1alpha1: a string.
    Text(String),
    /// v1: an object (any JSON, as written).
    Object(serde_json::Value),
    /// A value of the wrong type for the API version (reported by the schema check).
    Invalid(serde_json::Value),
}

/// A `ServiceMeshExtension`.
#[derive(Debug, Clone)]
pub struct Extension {
    pub meta: Meta,
    pub image: Option<String>,
    pub image_pull_policy: Option<String>,
    pub phase: Option<String>,
    /// `spec.priority` as the API server stores it: an integer, or a float with no fraction
    /// within ±(2^53 − 1), which the API server's `type: integer` check accepts.
    pub priority: Option<i64>,
    /// `spec.priority` as written when the API server would reject it (a string, a fraction,
    /// a number beyond int64 or 2^53 as a float): the object cannot exist in a cluster.
    pub priority_rejected: Option<String>,
    /// `None` when `workloadSelector` is absent; `Some(labels)` otherwise (possibly empty).
    pub selector: Option<Labels>,
    pub config: ExtensionConfig,
    /// `status.deployment.ready` when a status is supplied.
    pub status_ready: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProxyType {
    Sidecar,
    Gateway,
}

/// A workload: something that runs pods with a proxy.
#[derive(Debug, Clone)]
pub struct Workload {
    pub meta: Meta,
    /// Pod labels (the pod template's labels for controllers).
    pub labels: Labels,
    pub proxy: ProxyType,
    /// What the pod template says about sidecar injection ([`inject::proxy_of`] decides).
    pub injection: PodInjection,
}

/// The pod-template facts the injection webhook reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodInjection {
    /// `sidecar.istio.io/inject` annotation of the pod template.
    pub annotation: Option<String>,
    /// `sidecar.istio.io/inject` label of the pod template.
    pub label: Option<String>,
    /// The template already has an `istio-proxy` container with a real image (the operator's
    /// gateway Deployments): the proxy is there without injection. `image: auto` does not count.
    pub proxy_container: bool,
    /// `spec.hostNetwork: true`: never injected.
    pub host_network: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i64,
    /// Numeric target port, or the port itself when absent; named target ports stay textual.
    pub target_port: String,
    pub protocol: String,
    /// `appProtocol`, when set.
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub meta: Meta,
    /// `None` = no selector (no endpoints from pods).
    pub selector: Option<Labels>,
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthzAction {
    Allow,
    Deny,
    Audit,
    Custom,
}

/// The security and EnvoyFilter resources that shape filter chains.
#[derive(Debug, Clone)]
pub struct AuthorizationPolicy {
    pub meta: Meta,
    /// `spec.selector.matchLabels`; `None` = namespace-wide (or mesh-wide in the root namespace).
    pub selector: Option<Labels>,
    pub action: AuthzAction,
    /// `spec.provider.name` (CUSTOM policies).
    pub provider: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RequestAuthentication {
    pub meta: Meta,
    pub selector: Option<Labels>,
    pub jwt_rules: usize,
}

#[derive(Debug, Clone)]
pub struct PeerAuthentication {
    pub meta: Meta,
    pub selector: Option<Labels>,
    /// `spec.mtls.mode` (STRICT, PERMISSIVE, DISABLE, UNSET).
    pub mode: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EnvoyFilter {
    pub meta: Meta,
    /// `spec.workloadSelector.labels`; `None` = every proxy in scope.
    pub selector: Option<Labels>,
}

/// An Istio `WasmPlugin` (`extensions.istio.io/v1alpha1`). Fields as written; a value of the
/// wrong type reads as absent (the schema reports it). Locations: `meta.loc("/spec/<field>")`.
#[derive(Debug, Clone)]
pub struct WasmPlugin {
    pub meta: Meta,
    /// `spec.selector.matchLabels`; `None` = every workload in scope.
    pub selector: Option<Labels>,
    /// `spec.targetRef` (Istio 1.20+) then `spec.targetRefs` (1.22+), in that order.
    pub target_refs: Vec<PolicyTargetRef>,
    pub url: Option<String>,
    pub sha256: Option<String>,
    pub image_pull_policy: Option<String>,
    pub image_pull_secret: Option<String>,
    pub verification_key: Option<String>,
    /// `spec.pluginConfig` (any JSON value as written; the API type is a Struct).
    pub plugin_config: Option<serde_json::Value>,
    pub plugin_name: Option<String>,
    pub phase: Option<String>,
    pub priority: Option<i64>,
    /// `spec.vmConfig.env`.
    pub vm_env: Vec<WasmPluginEnv>,
    /// `spec.match`: one entry per traffic selector.
    pub matches: Vec<TrafficSelector>,
    /// `spec.failStrategy` (FAIL_CLOSE, FAIL_OPEN; 1.20+ names).
    pub fail_strategy: Option<String>,
    /// `spec.type` (HTTP, NETWORK; Istio 1.20+).
    pub plugin_type: Option<String>,
}

/// `spec.targetRef` / `spec.targetRefs[]` of a WasmPlugin (a Gateway API policy attachment).
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTargetRef {
    pub group: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    /// JSON pointer of this entry (`/spec/targetRef` or `/spec/targetRefs/N`).
    pub pointer: String,
}

/// One `spec.vmConfig.env[]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct WasmPluginEnv {
    pub name: Option<String>,
    /// `valueFrom` (INLINE, HOST); absent means INLINE.
    pub value_from: Option<String>,
    pub value: Option<String>,
    /// JSON pointer of this entry (`/spec/vmConfig/env/N`).
    pub pointer: String,
}

/// One `spec.match[]` traffic selector.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSelector {
    /// `mode` (UNDEFINED, CLIENT, SERVER, CLIENT_AND_SERVER); absent = UNDEFINED.
    pub mode: Option<String>,
    /// `ports[].number`.
    pub ports: Vec<i64>,
    /// JSON pointer of this entry (`/spec/match/N`).
    pub pointer: String,
}

/// `ServiceMeshControlPlane` facts that matter for extensions.
#[derive(Debug, Clone)]
pub struct ControlPlane {
    pub meta: Meta,
    /// `spec.version` as written.
    pub version: Option<String>,
    /// `spec.techPreview.wasmExtensions.enabled` when set to a boolean.
    pub wasm_extensions_enabled: Option<bool>,
    /// `spec.telemetry.type` (Istiod, Mixer, Remote, None).
    pub telemetry_type: Option<String>,
    /// Telemetry switches besides the type.
    pub telemetry: TelemetrySwitches,
    /// `spec.proxy.injection.autoInject` (the injector's policy: enabled / disabled).
    pub auto_inject: Option<bool>,
    /// `spec.techPreview.sidecarInjectorWebhook.objectSelector.enabled`.
    pub injector_object_selector: Option<bool>,
    /// `meshConfig.extensionProviders`: `spec.meshConfig` (v2.3+), else
    /// `spec.techPreview.meshConfig` (v2.1/v2.2, merged into the mesh config by the operator).
    pub extension_providers: Vec<ExtensionProvider>,
    /// `spec.proxy.networking.protocol.autoDetect.inbound` (protocol sniffing on inbound
    /// ports; the OSSM 2.x `base` template sets it to false).
    pub inbound_sniffing: Option<bool>,
}

/// Which resource installs an upstream-Istio control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IstioKind {
    /// `sailoperator.io` `Istio` (OSSM 3.x; cluster-scoped).
    Sail,
    /// `sailoperator.io` `IstioRevision` (one per revision the Sail operator deploys).
    SailRevision,
    /// `install.istio.io` `IstioOperator` (istioctl / the upstream operator).
    Operator,
}

/// An upstream-Istio control plane: the Sail operator's `Istio`/`IstioRevision` or an
/// `IstioOperator`. Fields as written; wrong types read as absent (the schema reports them).
#[derive(Debug, Clone)]
pub struct IstioControlPlane {
    pub meta: Meta,
    pub kind: IstioKind,
    /// `spec.version` (Sail, e.g. `v1.24.3`) or `spec.tag` (IstioOperator), as written.
    pub version: Option<String>,
    /// The JSON pointer `version` was read from (for locations).
    pub version_path: &'static str,
    /// Where istiod runs: Sail `spec.namespace` (default `istio-system`), an IstioOperator's
    /// own namespace.
    pub namespace: String,
    /// `meshConfig.rootNamespace` (Sail `spec.values.meshConfig`, IstioOperator
    /// `spec.meshConfig`); istiod defaults it to its own namespace.
    pub root_namespace: Option<String>,
    /// `meshConfig.discoverySelectors` as written (membership on 3.x: which namespaces istiod
    /// watches; empty = every namespace).
    pub discovery_selectors: Vec<serde_json::Value>,
    /// `meshConfig.extensionProviders`.
    pub extension_providers: Vec<ExtensionProvider>,
    /// `spec.revision` (IstioOperator) or the IstioRevision's name.
    pub revision: Option<String>,
}

/// One `meshConfig.extensionProviders` entry, as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtensionProvider {
    pub name: String,
    /// The provider's key (`envoyExtAuthzHttp`, `envoyExtAuthzGrpc`, `zipkin`, …).
    pub kind: Option<String>,
    pub service: Option<String>,
    pub port: Option<i64>,
    pub path_prefix: Option<String>,
    pub status_on_error: Option<String>,
}

/// SMCP switches that decide which telemetry EnvoyFilters the operator renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelemetrySwitches {
    /// `spec.addons.prometheus.enabled` (→ `telemetry.v2.prometheus.enabled`).
    pub prometheus: Option<bool>,
    /// `spec.addons.stackdriver.telemetry.enabled` (→ `telemetry.v2.stackdriver.enabled`).
    pub stackdriver: Option<bool>,
}

/// One `spec.servers[]` entry of a Gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayServer {
    pub port: Option<i64>,
    /// `port.protocol` as written.
    pub protocol: String,
    /// `tls.mode` when `tls` is present (`Some("")` for a `tls` block without a mode: SIMPLE).
    pub tls_mode: Option<String>,
    /// JSON pointer of the server, for locations.
    pub ptr: String,
}

impl GatewayServer {
    /// Whether istiod builds an HTTP connection manager for this server: an HTTP-family
    /// protocol, or HTTPS with TLS terminated at the gateway (a `tls` block whose mode is not
    /// PASSTHROUGH / AUTO_PASSTHROUGH). TCP, TLS, Mongo … and passthrough HTTPS get a TCP proxy
    /// chain (`pkg/config/gateway/gateway.go` `IsHTTPServer`, maistra-2.0/2.1/2.2).
    pub fn is_http(&self) -> bool {
        let p = self.protocol.to_ascii_uppercase();
        if matches!(
            p.as_str(),
            "HTTP" | "HTTP2" | "HTTP_PROXY" | "GRPC" | "GRPC-WEB"
        ) {
            return true;
        }
        p == "HTTPS"
            && self
                .tls_mode
                .as_deref()
                .is_some_and(|m| !matches!(m, "PASSTHROUGH" | "AUTO_PASSTHROUGH"))
    }
}

/// A `networking.istio.io` Gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    pub meta: Meta,
    /// `spec.selector`; `None` = applies to every gateway proxy.
    pub selector: Option<Labels>,
    pub servers: Vec<GatewayServer>,
}

#[derive(Debug, Clone)]
pub struct MemberRoll {
    pub meta: Meta,
    pub members: Vec<String>,
    pub configured_members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub meta: Meta,
    /// `spec.controlPlaneRef` (namespace, name).
    pub control_plane: Option<(String, String)>,
}

/// Where the mesh version came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSource {
    CommandLine,
    /// `--istio-version`, used when no control plane is in the inputs.
    IstioCommandLine,
    Config,
    ControlPlane,
    Assumed,
}

/// Everything loaded, typed and indexed.
#[derive(Debug, Default)]
pub struct Mesh {
    pub version: MeshVersion,
    pub version_source: Option<VersionSource>,
    pub control_planes: Vec<ControlPlane>,
    /// Upstream-Istio control planes (Sail `Istio`/`IstioRevision`, `IstioOperator`).
    pub istio_control_planes: Vec<IstioControlPlane>,
    /// The Istio release of the mesh: the control plane's, `--istio-version`'s, or the one the
    /// mesh version is built on (`None` when unknown).
    pub istio: Option<IstioVersion>,
    pub member_rolls: Vec<MemberRoll>,
    pub members: Vec<Member>,
    pub extensions: Vec<Extension>,
    pub wasm_plugins: Vec<WasmPlugin>,
    pub workloads: Vec<Workload>,
    pub services: Vec<Service>,
    pub namespaces: Vec<Meta>,
    /// `metadata.labels` of each `Namespace` in the inputs (discovery selectors match them).
    pub namespace_labels: BTreeMap<String, Labels>,
    pub authorization_policies: Vec<AuthorizationPolicy>,
    pub request_authentications: Vec<RequestAuthentication>,
    pub peer_authentications: Vec<PeerAuthentication>,
    pub envoy_filters: Vec<EnvoyFilter>,
    pub gateways: Vec<Gateway>,
}

impl Mesh {
    /// The control-plane (and root) namespace: the first SMCP's namespace, else the upstream
    /// control plane's root namespace (`meshConfig.rootNamespace`, defaulting to istiod's).
    pub fn control_plane_namespace(&self) -> Option<&str> {
        self.control_planes
            .first()
            .map(|c| c.meta.namespace.as_str())
            .or_else(|| {
                self.istio_control_planes
                    .iter()
                    .find(|c| c.kind != IstioKind::SailRevision)
                    .or(self.istio_control_planes.first())
                    .map(|c| c.root_namespace.as_deref().unwrap_or(&c.namespace))
            })
    }

    /// Namespaces in the mesh: the control-plane namespace plus members from the SMMR
    /// (`spec.members` ∪ `status.configuredMembers`) and `ServiceMeshMember` objects. Without an
    /// SMCP but with an upstream control plane (OSSM 3.x, Istio) there is no member roll: istiod
    /// watches every namespace its `meshConfig.discoverySelectors` select, all of them when
    /// there are none ([`Mesh::discovered_namespaces`]).
    pub fn mesh_namespaces(&self) -> BTreeSet<String> {
        let mut set = BTreeSet::new();
        if let Some(cp) = self.control_plane_namespace() {
            set.insert(cp.to_string());
        }
        if self.control_planes.is_empty() && !self.istio_control_planes.is_empty() {
            set.extend(self.discovered_namespaces());
            return set;
        }
        for roll in &self.member_rolls {
            set.extend(roll.members.iter().cloned());
            set.extend(roll.configured_members.iter().cloned());
        }
        for m in &self.members {
            set.insert(m.meta.namespace.clone());
        }
        set
    }
}

impl Mesh {
    /// Every namespace the inputs mention (Namespace objects and the namespaces of namespaced
    /// resources).
    fn known_namespaces(&self) -> BTreeSet<String> {
        let metas = self
            .workloads
            .iter()
            .map(|w| &w.meta)
            .chain(self.services.iter().map(|s| &s.meta))
            .chain(self.wasm_plugins.iter().map(|p| &p.meta))
            .chain(self.extensions.iter().map(|e| &e.meta))
            .chain(self.namespaces.iter());
        metas.map(|m| m.namespace.clone()).collect()
    }

    /// The namespaces the upstream control planes watch: those matching any of their
    /// `discoverySelectors` (Kubernetes label selectors, OR-ed, istiod's
    /// `pkg/kube/namespace/filter.go`), every known one when no control plane sets any. A
    /// namespace without a `Namespace` object in the inputs has no labels to match.
    pub fn discovered_namespaces(&self) -> BTreeSet<String> {
        let selectors: Vec<&serde_json::Value> = self
            .istio_control_planes
            .iter()
            .flat_map(|c| &c.discovery_selectors)
            .collect();
        let known = self.known_namespaces();
        if selectors.is_empty() {
            return known;
        }
        let empty = Labels::new();
        known
            .into_iter()
            .filter(|ns| {
                let labels = self.namespace_labels.get(ns).unwrap_or(&empty);
                selectors.iter().any(|s| label_selector_matches(s, labels))
            })
            .collect()
    }
}

/// A Kubernetes `LabelSelector` (`matchLabels` AND `matchExpressions`) against labels. An
/// empty selector matches everything; an unknown operator matches nothing.
pub fn label_selector_matches(selector: &serde_json::Value, labels: &Labels) -> bool {
    let match_labels = selector
        .get("matchLabels")
        .and_then(|m| m.as_object())
        .is_none_or(|m| {
            m.iter().all(|(k, v)| {
                v.as_str()
                    .is_some_and(|v| labels.get(k).map(String::as_str) == Some(v))
            })
        });
    let exprs = selector
        .get("matchExpressions")
        .and_then(|e| e.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    match_labels
        && exprs.iter().all(|e| {
            let key = e.get("key").and_then(|k| k.as_str()).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(|v| v.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let have = labels.get(key).map(String::as_str);
            match e.get("operator").and_then(|o| o.as_str()) {
                Some("In") => have.is_some_and(|h| values.contains(&h)),
                Some("NotIn") => have.is_none_or(|h| !values.contains(&h)),
                Some("Exists") => have.is_some(),
                Some("DoesNotExist") => have.is_none(),
                _ => false,
            }
        })
}

/// `selector ⊆ labels`, Istio's `SubsetOf` (an empty selector matches everything).
pub fn selector_matches(selector: &Labels, labels: &Labels) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}
