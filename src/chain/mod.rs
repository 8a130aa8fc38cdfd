//! Effective HTTP filter chains: what istiod (OSSM v2.0–v3.x, upstream Istio) puts on each
//! workload's proxy, following `/work/shared/reference/maistra.md` §3, §5 and §7.3.
//!
//! API:
//! - [`build_chains`]`(mesh, defaults) -> Vec<WorkloadChain>`: per in-mesh workload, one entry
//!   per listener class (sidecars: inbound, and outbound from Istio 1.14; gateways: every HTTP
//!   chain), split per port where WasmPlugin `match.ports` makes them differ; in
//!   `Mesh::workloads` order.
//!   A workload whose pods run no proxy ([`crate::model::inject`]) or a gateway without an
//!   HTTP server has an empty chain and [`Gate::NotInjected`] / [`Gate::NoHttpServer`].
//! - the chain rules (MX601–MX619) judge these chains in `crate::rules::chains`.
//! - [`render`]: `human`, `json`, `dot`, `mermaid` (pure functions returning `String`).
//! - [`diff`]`(old, new) -> ChainDiff` and [`diff::render_text`] / [`diff::render_markdown`]
//!   for `chain --diff`.
//!
//! Manifest defaults (phase, priority, digest from pulled images) come in through
//! [`ExtensionDefaults`], keyed by the SME's `namespace/name`.
//!
//! Per workload: built-in filters (§3.6, [`builtins::builtins`]) → the SME anchor walk (§3.5)
//! with SMEs selected and sorted as istiod's `Extensions()` does ([`select`], including the
//! v2.0 comparator and Go's stable sort) → telemetry EnvoyFilters. Where the version's
//! behaviour is surprising (inbound only, first or random port, non-HTTP port, EnvoyFilter
//! gate, push-to-push order, CUSTOM without a provider) the chain records it in
//! [`WorkloadChain::gate`], [`WorkloadChain::ports`], [`WorkloadChain::order_varies`] and
//! [`WorkloadChain::custom_deny_all`]. docs/fidelity.md ("Chain") names the upstream functions.
//!
//! WasmPlugins ([`wasm`]): Istio 1.12 walks the plugin-built filters before the v2.2 SME patch;
//! 1.14+ builds a fixed layout on every HTTP connection manager.
//!
//! Not modelled: `Sidecar` ingress listeners (bound to the pod IP, so patched in v2.1/v2.2) and
//! egress scoping, IPv6-only pods, gRPC filters before 1.17, waypoints.

pub mod builtins;
pub mod diff;
pub mod render;
pub mod select;
pub mod wasm;

pub use diff::{diff, ChainDiff};
pub use select::{ExtInfo, Phase, SkipReason};

use crate::model::index::SelectorIndex;
use crate::model::inject::{self, Injection};
use crate::model::{
    AuthzAction, ControlPlane, Gateway, IstioVersion, Labels, Mesh, MeshVersion, ProxyType,
    Service, Workload,
};
use builtins::{Security, Telemetry};
use rayon::prelude::*;
use select::ExtIndex;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use wasm::{Buckets, InboundOnly, WasmIndex};

/// What an SME's image manifest declares, and the image digest, when the image was pulled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestDefaults {
    pub phase: Option<String>,
    pub priority: Option<i64>,
    pub digest: Option<String>,
}

/// Manifest defaults by SME key (`namespace/name`).
#[derive(Debug, Clone, Default)]
pub struct ExtensionDefaults {
    pub manifests: HashMap<String, ManifestDefaults>,
}

/// Where a built-in filter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Always part of the HTTP connection manager.
    Hcm,
    /// `istio_authn` carrying peer authentication (v2.0/v2.1 sidecars).
    PeerAuthn,
    RequestAuthentication,
    Authz(AuthzAction),
    /// CUSTOM policies without a usable `meshConfig.extensionProviders` entry.
    CustomDenyAll,
    /// Added by the telemetry EnvoyFilters (or the Mixer filter).
    Telemetry,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Hcm => "built-in",
            Origin::PeerAuthn => "built-in (peer authentication)",
            Origin::RequestAuthentication => "RequestAuthentication",
            Origin::Authz(AuthzAction::Allow) => "AuthorizationPolicy ALLOW",
            Origin::Authz(AuthzAction::Deny) => "AuthorizationPolicy DENY",
            Origin::Authz(AuthzAction::Audit) => "AuthorizationPolicy AUDIT",
            Origin::Authz(AuthzAction::Custom) => "AuthorizationPolicy CUSTOM",
            Origin::CustomDenyAll => {
                "AuthorizationPolicy CUSTOM without a usable extension provider: denies every request"
            }
            Origin::Telemetry => "telemetry EnvoyFilter",
        }
    }
}

/// One HTTP filter of a chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Builtin {
        name: &'static str,
        origin: Origin,
    },
    /// An SME (Envoy name `envoy.filters.http.wasm`; shown by its SME name).
    Extension(Arc<ExtInfo>),
    /// A WasmPlugin (shown by the filter name the version emits).
    WasmPlugin(Arc<wasm::WasmInfo>),
}

impl Filter {
    /// The SME name for extensions, the Envoy filter name otherwise.
    pub fn name(&self) -> &str {
        match self {
            Filter::Builtin { name, .. } => name,
            Filter::Extension(e) => &e.name,
            Filter::WasmPlugin(p) => &p.filter_name,
        }
    }

    pub fn builtin_name(&self) -> Option<&'static str> {
        match self {
            Filter::Builtin { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The SME of an SME filter.
    pub fn extension(&self) -> Option<&Arc<ExtInfo>> {
        match self {
            Filter::Extension(e) => Some(e),
            _ => None,
        }
    }

    pub fn wasm_plugin(&self) -> Option<&Arc<wasm::WasmInfo>> {
        match self {
            Filter::WasmPlugin(p) => Some(p),
            _ => None,
        }
    }
}

/// Why the SMEs that select a workload are not on its chain at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gate {
    /// v2.3+: istiod no longer reads ServiceMeshExtensions.
    VersionWithoutSme,
    /// `techPreview.wasmExtensions.enabled` is off.
    Disabled,
    /// v2.1/v2.2: no EnvoyFilter selects the proxy, so the listener patch returns early.
    NoEnvoyFilter,
    /// A sidecar without a Service has no inbound chain that gets extensions.
    NoService,
    /// The pods run no proxy: injection is opt-in and the template does not opt in
    /// ([`WorkloadChain::injection`] says why).
    NotInjected,
    /// A gateway without an HTTP (or TLS-terminating HTTPS) server in the Gateway resources
    /// that select it has no HTTP filter chain ([`WorkloadChain::servers`]).
    NoHttpServer,
    /// Every port istiod patches is not HTTP: its chain has no HTTP connection manager.
    NoHttpPort,
}

impl Gate {
    pub fn describe(self) -> &'static str {
        match self {
            Gate::VersionWithoutSme => "ServiceMeshExtensions are not applied from v2.3 on",
            Gate::Disabled => "extensions are disabled (techPreview.wasmExtensions.enabled)",
            Gate::NoEnvoyFilter => {
                "no EnvoyFilter selects this proxy, so istiod skips the SME patch"
            }
            Gate::NoService => {
                "no Service selects this workload, so no inbound chain gets extensions"
            }
            Gate::NotInjected => "the pods run no proxy, so there is no filter chain",
            Gate::NoHttpServer => {
                "no Gateway resource gives this gateway an HTTP or TLS-terminating HTTPS server, so it has no HTTP filter chain"
            }
            Gate::NoHttpPort => {
                "the inbound port istiod patches is not HTTP, so its chain has no HTTP filters for extensions"
            }
        }
    }
}

/// Which inbound ports of a sidecar carry the extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ports {
    /// Services selecting the workload (`namespace/name`), in `SetServiceInstances` order:
    /// creation time, then hostname.
    pub services: Vec<String>,
    /// Every inbound endpoint port, in service-instance order.
    pub all: Vec<String>,
    /// The ports whose HTTP chains carry the extensions (v2.0: every port with an HTTP chain;
    /// v2.1/v2.2: the first service instance's port, one possible pick when `random`).
    pub patched: Vec<String>,
    /// v2.1/v2.2: the ports istiod can pick as the first service instance: the distinct
    /// target ports of the first Service (v2.0: every port).
    pub candidates: Vec<PortInfo>,
    /// The first Service has several target ports, at least one HTTP, whose order comes from
    /// a Go map (`getProxyServiceInstancesByPod`): the patched port changes from push to push.
    pub random: bool,
}

/// One inbound port and whether its filter chain has an HTTP connection manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub port: String,
    /// The protocol istiod derives (`kube.ConvertProtocol`): `http`, `grpc`, `tcp`, …, or
    /// `auto` when it sniffs the protocol.
    pub protocol: String,
    /// HTTP-family and sniffed ports have an HTTP chain; the others have none, so an
    /// extension patched onto them runs nowhere.
    pub http: bool,
}

/// Istio's well-known ports that default to TCP instead of sniffing (`conversion.go`).
const WELL_KNOWN_TCP: [i64; 4] = [25, 53, 3306, 27017];

/// The protocol of a Service port as `kube.ConvertProtocol` derives it (`appProtocol`, else the
/// port name's prefix before `-`; `grpc-web` as a whole) and whether its inbound chain is HTTP
/// (`networking.ModelProtocolToListenerProtocol`). An unknown protocol is sniffed (`auto`, with
/// an HTTP chain) only when inbound sniffing is on; the OSSM 2.x default is off, so it is TCP.
pub fn port_info(p: &crate::model::ServicePort, sniffing: bool) -> PortInfo {
    let name = p
        .app_protocol
        .as_deref()
        .or(p.name.as_deref())
        .unwrap_or("");
    let lower = name.to_ascii_lowercase();
    let proto = if lower.starts_with("grpc-web") {
        "grpc-web".to_string()
    } else {
        lower.split('-').next().unwrap_or("").to_string()
    };
    let known = [
        "tcp",
        "udp",
        "grpc",
        "http",
        "http_proxy",
        "http2",
        "https",
        "thrift",
        "tls",
        "mongo",
        "redis",
        "mysql",
        "grpc-web",
    ];
    let (protocol, http) = if known.contains(&proto.as_str()) {
        let http = matches!(
            proto.as_str(),
            "http" | "http2" | "http_proxy" | "grpc" | "grpc-web"
        );
        (proto, http)
    } else if WELL_KNOWN_TCP.contains(&p.port) || !sniffing {
        ("tcp".to_string(), false)
    } else {
        ("auto".to_string(), true)
    };
    PortInfo {
        port: p.target_port.clone(),
        protocol,
        http,
    }
}

/// The servers of the Gateway resources that select a gateway (`Kind ns/name` and
/// `port/PROTOCOL[/TLS mode]` each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Servers {
    pub gateways: Vec<String>,
    /// Servers that get an HTTP connection manager (and so the extensions).
    pub http: Vec<String>,
    /// TCP, TLS and passthrough servers: a TCP proxy chain, no HTTP filters.
    pub other: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Listener {
    /// Sidecar `virtualInbound` (SMEs never patch outbound).
    Inbound,
    /// Sidecar outbound HTTP connection managers: listed from Istio 1.14 (OSSM 2.3), where
    /// WasmPlugins first reach them.
    Outbound,
    /// Every HTTP chain of a gateway.
    Gateway,
}

impl Listener {
    pub fn as_str(self) -> &'static str {
        match self {
            Listener::Inbound => "inbound",
            Listener::Outbound => "outbound",
            Listener::Gateway => "gateway",
        }
    }

    fn class(self) -> wasm::Class {
        match self {
            Listener::Inbound => wasm::Class::SidecarInbound,
            Listener::Outbound => wasm::Class::SidecarOutbound,
            Listener::Gateway => wasm::Class::Gateway,
        }
    }
}

/// The effective filter chain of one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadChain {
    /// Index into `Mesh::workloads`.
    pub workload: usize,
    pub namespace: String,
    pub name: String,
    pub kind: String,
    pub proxy: ProxyType,
    pub listener: Listener,
    /// Set when the WasmPlugins of this listener class differ by port (`match.ports`): the
    /// chain of this one port (inbound target port, outbound service port, gateway listener
    /// port).
    pub port: Option<i64>,
    pub version: MeshVersion,
    pub filters: Vec<Filter>,
    /// Sidecars only.
    pub ports: Option<Ports>,
    /// Gateways only.
    pub servers: Option<Servers>,
    /// Whether and why the pods run a proxy.
    pub injection: Injection,
    /// Set when the selected SMEs are not applied at all; they are then in `unapplied`.
    pub gate: Option<Gate>,
    pub unapplied: Vec<Arc<ExtInfo>>,
    /// Selected but never injected (not ready, invalid image, unknown phase).
    pub skipped: Vec<Arc<ExtInfo>>,
    /// Phases whose extensions istiod may order differently from one push to the next
    /// (see [`select::order_varies`]); the chain shows one of the possible orders.
    pub order_varies: Vec<Phase>,
    /// Why the CUSTOM policies got a deny-all RBAC filter instead of ext_authz, when they did.
    pub custom_deny_all: Option<String>,
    /// WasmPlugins (indexes into `Mesh::wasm_plugins`) whose selector or targetRef attaches
    /// them to this workload, in istiod's scan order — placed on this listener or not
    /// (`match`, coverage).
    pub wasm_attached: Vec<usize>,
    /// Attached WasmPlugins this listener does not get, and why.
    pub wasm_left_off: Vec<wasm::LeftOff>,
    /// Istio 1.20+, when a `type: NETWORK` WasmPlugin attaches to the workload: the network
    /// filters of this listener class (TCP chains, and before the HTTP connection manager),
    /// split per port where `match.ports` makes them differ. Listed on the class's first entry.
    pub network: Vec<NetStack>,
}

/// The network filters of one kind of filter chain of a listener class.
#[derive(Debug, Clone, PartialEq)]
pub struct NetStack {
    pub terminal: wasm::Terminal,
    /// Set when NETWORK plugins differ by port: the listener port (inbound target port,
    /// 0 = the passthrough chain; outbound service port; gateway listener port).
    pub port: Option<i64>,
    pub filters: Vec<Filter>,
    /// Attached NETWORK plugins these filters do not get, and why.
    pub left_off: Vec<wasm::LeftOff>,
}

impl NetStack {
    pub fn wasm_plugins(&self) -> impl Iterator<Item = &Arc<wasm::WasmInfo>> {
        self.filters.iter().filter_map(Filter::wasm_plugin)
    }
}

impl WorkloadChain {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn extensions(&self) -> impl Iterator<Item = &Arc<ExtInfo>> {
        self.filters.iter().filter_map(Filter::extension)
    }

    pub fn wasm_plugins(&self) -> impl Iterator<Item = &Arc<wasm::WasmInfo>> {
        self.filters.iter().filter_map(Filter::wasm_plugin)
    }

    /// `Kind namespace/name (listener[ port N])`, how `--diff` and messages name an entry.
    pub fn label(&self) -> String {
        match self.port {
            Some(p) => format!(
                "{} {} ({} port {p})",
                self.kind,
                self.key(),
                self.listener.as_str()
            ),
            None => format!("{} {} ({})", self.kind, self.key(), self.listener.as_str()),
        }
    }
}

/// Resources indexed once for the whole mesh.
struct Context<'m> {
    version: MeshVersion,
    root: &'m str,
    /// `None` = no mesh membership information: every namespace is treated as in the mesh.
    scope: Option<BTreeSet<String>>,
    enabled: bool,
    telemetry: Telemetry,
    exts: ExtIndex<'m>,
    /// Services with a selector by namespace, oldest first.
    services: HashMap<&'m str, SelectorIndex<'m, &'m Service>>,
    /// AuthorizationPolicy actions (and CUSTOM provider names) by namespace.
    authz: HashMap<&'m str, SelectorIndex<'m, (AuthzAction, &'m str)>>,
    /// The ext_authz providers istiod can build, by name; `None` without a control plane
    /// (then every CUSTOM provider is assumed to exist).
    providers: Option<HashMap<&'m str, Result<(), String>>>,
    /// RequestAuthentication JWT rule counts by namespace.
    reqauthn: HashMap<&'m str, SelectorIndex<'m, usize>>,
    envoy_filters: HashMap<&'m str, SelectorIndex<'m, ()>>,
    control_plane: Option<&'m ControlPlane>,
    /// Gateway resources in the mesh's namespaces (istiod merges them across namespaces).
    gateways: SelectorIndex<'m, &'m Gateway>,
    /// Protocol sniffing on inbound ports (`autoDetect.inbound`; off unless the SMCP says so).
    inbound_sniffing: bool,
    /// The Istio release (WasmPlugin behaviour); `None` when unknown (no WasmPlugins).
    istio: Option<IstioVersion>,
    wasm: WasmIndex<'m>,
    /// HTTP service ports of every in-scope Service (outbound listener ports), ascending.
    outbound_ports: Vec<i64>,
    /// The other (TCP) service ports of every in-scope Service, ascending.
    outbound_tcp_ports: Vec<i64>,
    /// Services by namespace, for gateway port translation.
    all_services: HashMap<&'m str, SelectorIndex<'m, &'m Service>>,
}

/// The Services of `w`'s namespace in `index` whose selector matches `w`'s labels.
fn selecting<'a, 'm: 'a>(
    index: &'a HashMap<&'m str, SelectorIndex<'m, &'m Service>>,
    w: &'a Workload,
) -> impl Iterator<Item = &'a &'m Service> + 'a {
    index
        .get(w.meta.namespace.as_str())
        .into_iter()
        .flat_map(|idx| idx.matching(&w.labels))
}

/// Items with an optional selector, indexed by namespace.
fn index_by_ns<'m, T: 'm, V>(
    items: &'m [T],
    ns: impl Fn(&'m T) -> &'m str,
    selector: impl Fn(&'m T) -> Option<&'m Labels>,
    value: impl Fn(&'m T) -> V,
) -> HashMap<&'m str, SelectorIndex<'m, V>> {
    let mut map: HashMap<&str, SelectorIndex<V>> = HashMap::new();
    for i in items {
        map.entry(ns(i)).or_default().push(selector(i), value(i));
    }
    map
}

/// What `processExtensionProvider` (`pilot/pkg/security/authz/builder/extauthz.go`) resolves:
/// every ext_authz provider by name, with the error that makes it unusable. Names must be set
/// and unique; v2.1 also records other provider kinds as errors, v2.2 skips them (both leave
/// a CUSTOM policy naming them without ext_authz). Checked: port range, empty service,
/// `pathPrefix` and `statusOnError` syntax. Not checked: whether the service exists in the
/// registry and whether the status is one Envoy knows.
fn ext_authz_providers(
    version: MeshVersion,
    list: &[crate::model::ExtensionProvider],
) -> HashMap<&str, Result<(), String>> {
    let mut out: HashMap<&str, Result<(), String>> = HashMap::new();
    for p in list {
        let kind = p.kind.as_deref().unwrap_or("");
        let ext_authz = matches!(kind, "envoyExtAuthzHttp" | "envoyExtAuthzGrpc");
        if !ext_authz && version >= MeshVersion::V2_2 {
            continue;
        }
        let mut errs = Vec::new();
        if p.name.is_empty() {
            errs.push("the provider has no name".to_string());
        } else if out.contains_key(p.name.as_str()) {
            errs.push(format!("provider name {:?} is not unique", p.name));
        }
        if !ext_authz {
            errs.push(format!("{:?} is not an ext_authz provider", p.name));
        } else {
            if !p.port.is_some_and(|n| (1..=65535).contains(&n)) {
                errs.push("its port is not in [1, 65535]".into());
            }
            if p.service.as_deref().unwrap_or("").is_empty() {
                errs.push("its service is empty".into());
            }
            if kind == "envoyExtAuthzHttp" {
                if let Some(pp) = p.path_prefix.as_deref().filter(|s| !s.is_empty()) {
                    if !pp.starts_with('/') {
                        errs.push(format!("pathPrefix {pp:?} does not begin with `/`"));
                    }
                }
            }
            if let Some(st) = p.status_on_error.as_deref().filter(|s| !s.is_empty()) {
                if st.parse::<i32>().is_err() {
                    errs.push(format!("statusOnError {st:?} is not a number"));
                }
            }
        }
        let res = if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        };
        out.insert(p.name.as_str(), res);
    }
    out
}

/// Why the CUSTOM policies of a proxy get a deny-all RBAC filter instead of ext_authz
/// (`builder.go` `getExtAuthz`), if they do.
fn custom_problem(providers: &HashMap<&str, Result<(), String>>, used: &[&str]) -> Option<String> {
    let first = *used.first()?;
    if used.iter().any(|p| *p != first) {
        let mut names: Vec<&str> = used.to_vec();
        names.sort_unstable();
        names.dedup();
        return Some(format!(
            "only one provider can be used per workload, found {}",
            names.join(", ")
        ));
    }
    match providers.get(first) {
        None if first.is_empty() => Some("the CUSTOM policy names no provider".into()),
        None => Some(format!(
            "provider {first:?} is not in meshConfig.extensionProviders"
        )),
        Some(Err(e)) => Some(format!("provider {first:?} is invalid: {e}")),
        Some(Ok(())) => None,
    }
}

fn ns_of_svc(s: &Service) -> &str {
    s.meta.namespace.as_str()
}

/// `APPLY_WASM_PLUGINS_TO_INBOUND_ONLY` as the SMCP sets it on istiod
/// (`spec.runtime.components.pilot.container.env`); only OSSM 2.3 and 2.4 have the flag.
fn inbound_only(version: MeshVersion, cp: Option<&ControlPlane>) -> InboundOnly {
    let on = cp.is_some_and(|c| {
        match c.meta.doc.json().pointer(
            "/spec/runtime/components/pilot/container/env/APPLY_WASM_PLUGINS_TO_INBOUND_ONLY",
        ) {
            Some(serde_json::Value::String(s)) => wasm::parse_go_bool(s),
            Some(serde_json::Value::Bool(b)) => *b,
            _ => false,
        }
    });
    match (on, version.major, version.minor) {
        (true, 2, 3) => InboundOnly::AllOutbound,
        (true, 2, 4) => InboundOnly::OutboundWithoutMatch,
        _ => InboundOnly::Off,
    }
}

/// The root namespace when no ServiceMeshControlPlane is given.
const DEFAULT_ROOT: &str = "istio-system";

impl<'m> Context<'m> {
    fn new(mesh: &'m Mesh, defaults: &ExtensionDefaults) -> Self {
        let version = mesh.version;
        let root = mesh.control_plane_namespace().unwrap_or(DEFAULT_ROOT);
        let cp = mesh.control_planes.first();
        let mut scope = mesh.mesh_namespaces();
        let scope = if scope.is_empty() {
            None
        } else {
            scope.insert(root.to_string());
            Some(scope)
        };
        // Without an SMCP the tool assumes extensions are on, to show what they would do.
        let enabled = match cp.and_then(|c| c.wasm_extensions_enabled) {
            Some(on) => on,
            None => version != MeshVersion::V2_0 || cp.is_none(),
        };
        let telemetry = Telemetry::of(version, cp);
        let mut services: Vec<&Service> = mesh
            .services
            .iter()
            // A Service without a selector (or an empty one) has no pod endpoints.
            .filter(|s| s.selector.as_ref().is_some_and(|sel| !sel.is_empty()))
            .collect();
        // Oldest first, then by hostname (`SetServiceInstances`): `web-v2.shop.svc…` sorts
        // before `web.shop.svc…` ('-' < '.'), unlike the names. A Service without
        // `creationTimestamp` (as written in git) has not been created yet, so it is newer than
        // any that has one.
        services.sort_by_cached_key(|s| {
            (
                s.meta.creation_timestamp.is_none(),
                s.meta.creation_timestamp.clone(),
                format!("{}.{}.svc", s.meta.name, s.meta.namespace),
            )
        });
        let mut by_ns: HashMap<&str, SelectorIndex<&Service>> = HashMap::new();
        for svc in services {
            by_ns
                .entry(svc.meta.namespace.as_str())
                .or_default()
                .push(svc.selector.as_ref(), svc);
        }
        let services = by_ns;
        let istio = wasm::mesh_istio(mesh);
        // The service ports of the scope that outbound HTTP chains (`http`) or TCP chains
        // (the rest but UDP and SCTP) are built for, sorted and distinct.
        let outbound = |http: bool| -> Vec<i64> {
            let mut v: Vec<i64> = (mesh.services.iter())
                .filter(|s| {
                    scope
                        .as_ref()
                        .is_none_or(|sc| sc.contains(&s.meta.namespace))
                })
                .flat_map(|s| s.ports.iter())
                .filter(|p| {
                    !p.protocol.eq_ignore_ascii_case("udp")
                        && (http || !p.protocol.eq_ignore_ascii_case("sctp"))
                        && port_info(p, true).http == http
                })
                .map(|p| p.port)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let outbound_ports = outbound(true);
        let outbound_tcp_ports = outbound(false);
        let all_services = index_by_ns(
            &mesh.services,
            |s| ns_of_svc(s),
            |s| s.selector.as_ref().filter(|l| !l.is_empty()),
            |s| s,
        );
        let ns_of = |m: &'m crate::model::Meta| m.namespace.as_str();
        let authz = index_by_ns(
            &mesh.authorization_policies,
            |p| ns_of(&p.meta),
            |p| p.selector.as_ref(),
            |p| (p.action, p.provider.as_deref().unwrap_or("")),
        );
        let reqauthn = index_by_ns(
            &mesh.request_authentications,
            |r| ns_of(&r.meta),
            |r| r.selector.as_ref(),
            |r| r.jwt_rules,
        );
        let envoy_filters = index_by_ns(
            &mesh.envoy_filters,
            |f| ns_of(&f.meta),
            |f| f.selector.as_ref(),
            |_| (),
        );
        let mut gateways = SelectorIndex::default();
        for g in &mesh.gateways {
            if scope.as_ref().is_none_or(|s| s.contains(&g.meta.namespace)) {
                gateways.push(g.selector.as_ref(), g);
            }
        }
        Context {
            version,
            root,
            control_plane: cp,
            gateways,
            scope,
            enabled,
            telemetry,
            exts: ExtIndex::new(&mesh.extensions, version, root, defaults),
            services,
            authz,
            reqauthn,
            envoy_filters,
            providers: cp.map(|c| ext_authz_providers(version, &c.extension_providers)),
            inbound_sniffing: cp.and_then(|c| c.inbound_sniffing).unwrap_or(false),
            wasm: WasmIndex::new(
                istio.unwrap_or(IstioVersion::WASM_PLUGIN),
                if istio.is_some() {
                    &mesh.wasm_plugins
                } else {
                    &[]
                },
                inbound_only(version, cp),
            ),
            istio,
            outbound_ports,
            outbound_tcp_ports,
            all_services,
        }
    }

    /// Entries of `map` from the root namespace and `ns` whose selector selects `labels`
    /// (no selector: mesh-wide in the root namespace, namespace-wide elsewhere).
    fn applying<'a, T: Copy>(
        &self,
        map: &'a HashMap<&'m str, SelectorIndex<'m, T>>,
        ns: &'a str,
        labels: &'a Labels,
    ) -> impl Iterator<Item = T> + 'a {
        let local = if ns == self.root { None } else { map.get(ns) };
        map.get(self.root)
            .into_iter()
            .chain(local)
            .flat_map(move |idx| idx.matching(labels).copied())
    }

    fn security(&self, w: &Workload) -> Security {
        let ns = w.meta.namespace.as_str();
        let mut sec = Security::default();
        for rules in self.applying(&self.reqauthn, ns, &w.labels) {
            sec.request_authn = true;
            sec.jwt |= rules > 0;
        }
        let mut custom: Vec<&str> = Vec::new();
        for (action, provider) in self.applying(&self.authz, ns, &w.labels) {
            if !sec.actions.contains(&action) {
                sec.actions.push(action);
            }
            if action == AuthzAction::Custom {
                custom.push(provider);
            }
        }
        if let Some(providers) = &self.providers {
            sec.custom_deny_all = custom_problem(providers, &custom);
        }
        // Approximated: the gateway chain stands for every server, so one ISTIO_MUTUAL server
        // of a Gateway that selects the pod puts istio_authn on it.
        sec.istio_mutual_gateway = w.proxy == ProxyType::Gateway
            && self.gateways.matching(&w.labels).any(|g| {
                g.servers
                    .iter()
                    .any(|s| s.tls_mode.as_deref() == Some("ISTIO_MUTUAL"))
            });
        sec
    }

    fn envoy_filter_selects(&self, w: &Workload) -> bool {
        if self.telemetry.selects_every_proxy() {
            return true; // the telemetry EnvoyFilters live in the root namespace, no selector
        }
        self.applying(&self.envoy_filters, &w.meta.namespace, &w.labels)
            .next()
            .is_some()
    }

    /// Service instances of a sidecar (`SetServiceInstances`: Service creation time, then
    /// hostname) and the ports `ApplyListenerPatches` patches (§3.3).
    fn ports(&self, w: &Workload) -> Ports {
        let mut ports = Ports::default();
        let selecting = selecting(&self.services, w);
        let mut every: Vec<PortInfo> = Vec::new();
        for (n, svc) in selecting.enumerate() {
            ports.services.push(svc.meta.key());
            for p in &svc.ports {
                // Istio ignores UDP (and SCTP) service ports for inbound listeners.
                if p.protocol.eq_ignore_ascii_case("udp") || p.protocol.eq_ignore_ascii_case("sctp")
                {
                    continue;
                }
                let info = port_info(p, self.inbound_sniffing);
                if n == 0 && !ports.candidates.iter().any(|c| c.port == info.port) {
                    ports.candidates.push(info.clone());
                }
                if !every.iter().any(|c| c.port == info.port) {
                    every.push(info);
                }
            }
        }
        ports.all = every.iter().map(|p| p.port.clone()).collect();
        if self.version == MeshVersion::V2_0 {
            // Every instance's `<ip>_<port>` chain matches (1.6 binds inbound listeners to the IP).
            ports.candidates = every;
            ports.patched = ports
                .candidates
                .iter()
                .filter(|p| p.http)
                .map(|p| p.port.clone())
                .collect();
        } else {
            // Random in effect: several ports, at least one of which runs the extensions.
            ports.random = ports.candidates.len() > 1 && ports.candidates.iter().any(|p| p.http);
            // Shown: an HTTP candidate when there is one (the pick that runs the extensions).
            ports.patched = ports
                .candidates
                .iter()
                .find(|p| p.http)
                .map(|p| p.port.clone())
                .into_iter()
                .collect();
        }
        ports
    }

    /// The servers of the Gateway resources selecting a gateway (`mergeGateways`).
    fn servers(&self, w: &Workload) -> Servers {
        let mut out = Servers::default();
        for g in self.gateways.matching(&w.labels) {
            out.gateways.push(g.meta.display());
            for s in &g.servers {
                let mut text = format!(
                    "{}/{}",
                    s.port.map_or("?".into(), |p| p.to_string()),
                    s.protocol
                );
                if let Some(m) = &s.tls_mode {
                    text = format!("{text}/{m}");
                }
                if s.is_http() {
                    &mut out.http
                } else {
                    &mut out.other
                }
                .push(text);
            }
        }
        out
    }

    fn in_scope(&self, w: &Workload) -> bool {
        self.scope
            .as_ref()
            .is_none_or(|s| s.contains(&w.meta.namespace))
    }

    /// The ports of the HTTP (or the other) servers of the Gateways selecting `w`, after the
    /// Service port → targetPort translation a gateway listener gets.
    fn gateway_server_ports(&self, w: &Workload, http: bool) -> Vec<i64> {
        let svc_ports: Vec<&crate::model::ServicePort> = selecting(&self.all_services, w)
            .flat_map(|s| s.ports.iter())
            .collect();
        self.gateways
            .matching(&w.labels)
            .flat_map(|g| g.servers.iter())
            .filter(|s| s.is_http() == http)
            .filter_map(|s| s.port)
            .map(|p| {
                svc_ports
                    .iter()
                    .find(|sp| sp.port == p)
                    .and_then(|sp| sp.target_port.parse().ok())
                    .unwrap_or(p)
            })
            .collect()
    }

    /// The listener ports a port-dependent `match` is evaluated on (§5.2): the workload's
    /// HTTP target ports (inbound), every HTTP service port (outbound), the HTTP server ports
    /// of the Gateways selecting it after the Service port → targetPort translation (gateway).
    fn class_ports(&self, w: &Workload, listener: Listener) -> Vec<i64> {
        let mut out: Vec<i64> = match listener {
            Listener::Inbound => selecting(&self.services, w)
                .flat_map(|s| s.ports.iter())
                .filter(|p| {
                    !p.protocol.eq_ignore_ascii_case("udp")
                        && port_info(p, self.inbound_sniffing).http
                })
                .filter_map(|p| p.target_port.parse().ok())
                .collect(),
            Listener::Outbound => self.outbound_ports.clone(),
            Listener::Gateway => self.gateway_server_ports(w, true),
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The WasmPlugins of one listener class, per port when `match.ports` makes them differ:
    /// `[(None, buckets)]` when every port gets the same plugins.
    fn wasm_variants(
        &self,
        w: &Workload,
        listener: Listener,
        attached: &[usize],
    ) -> Vec<(Option<i64>, Buckets)> {
        let class = listener.class();
        if !self.wasm.port_dependent(attached, false) {
            return vec![(None, self.wasm.buckets(attached, class, 0))];
        }
        let ports = self.class_ports(w, listener);
        let per: Vec<(Option<i64>, Buckets)> = ports
            .iter()
            .map(|&p| (Some(p), self.wasm.buckets(attached, class, p)))
            .collect();
        match per.first() {
            // No listener port known: the plugins that name ports apply nowhere.
            None => vec![(None, self.wasm.buckets(attached, class, 0))],
            Some((_, first)) if per.iter().all(|(_, b)| b.phases == first.phases) => {
                vec![(None, first.clone())]
            }
            Some(_) => per,
        }
    }

    /// Every listener-class entry of one workload: the inbound (sidecar) or gateway chain,
    /// and from Istio 1.14 the sidecar outbound chain; each split per port where `match`
    /// decides.
    fn chains(&self, index: usize, w: &Workload) -> Vec<WorkloadChain> {
        let main = self.chain(index, w);
        let minor = self.istio.map(wasm::minor);
        let attached = if main.gate == Some(Gate::NotInjected) || minor.is_none() {
            Vec::new()
        } else {
            self.wasm.attached(self.root, w)
        };
        let mut out = Vec::new();
        let http = main.gate != Some(Gate::NotInjected) && main.gate != Some(Gate::NoHttpServer);
        if !http || minor.is_none() {
            // A gateway with only TCP/TLS servers still has network filters.
            let network = if main.gate == Some(Gate::NoHttpServer) {
                self.net_stacks(w, main.listener, &self.security(w), &attached)
            } else {
                Vec::new()
            };
            out.push(WorkloadChain {
                wasm_attached: attached,
                network,
                ..main
            });
            return out;
        }
        let sec = self.security(w);
        let mut classes = vec![main.listener];
        if w.proxy == ProxyType::Sidecar && minor >= Some(14) {
            classes.push(Listener::Outbound);
        }
        for listener in classes {
            let mut network = self.net_stacks(w, listener, &sec, &attached);
            for (port, buckets) in self.wasm_variants(w, listener, &attached) {
                let mut c = if listener == main.listener {
                    main.clone()
                } else {
                    WorkloadChain {
                        listener,
                        ports: None,
                        gate: None,
                        unapplied: Vec::new(),
                        skipped: Vec::new(),
                        order_varies: Vec::new(),
                        custom_deny_all: None,
                        ..main.clone()
                    }
                };
                c.port = port;
                c.network = std::mem::take(&mut network);
                c.wasm_attached = attached.clone();
                c.wasm_left_off = buckets.left_off.clone();
                // No plugin on a v2.0–v2.2-style chain: the SME chain as built.
                if !(buckets.is_empty() && listener == main.listener && minor < Some(14)) {
                    c.filters = self.place(w, listener, &sec, buckets, &c);
                }
                out.push(c);
            }
        }
        out
    }

    /// The filters of one listener with its WasmPlugins: 1.12 walks the plugin-built filters
    /// and the SMEs are patched after (v2.2); 1.14+ builds the fixed layout.
    fn place(
        &self,
        w: &Workload,
        listener: Listener,
        sec: &Security,
        buckets: Buckets,
        c: &WorkloadChain,
    ) -> Vec<Filter> {
        let version = self.version;
        let istio = self.istio.unwrap_or(IstioVersion::WASM_PLUGIN);
        let filters = if wasm::minor(istio) < 14 {
            let base = wasm::walk_1_12(
                builtins::builtins(version, w.proxy, sec, self.telemetry),
                buckets,
            );
            if c.gate.is_none() {
                let selected = self.exts.select(version, &w.meta.namespace, &w.labels);
                builtins::anchor_walk(version, base, &selected)
            } else {
                base
            }
        } else {
            wasm::fixed_layout(istio, listener.class(), sec, buckets)
        };
        builtins::apply_telemetry(version, filters, self.telemetry)
    }

    fn chain(&self, index: usize, w: &Workload) -> WorkloadChain {
        let version = self.version;
        let sec = self.security(w);
        let base = builtins::builtins(version, w.proxy, &sec, self.telemetry);
        let selected = self.exts.select(version, &w.meta.namespace, &w.labels);
        let ports = (w.proxy == ProxyType::Sidecar).then(|| self.ports(w));
        let servers = (w.proxy == ProxyType::Gateway).then(|| self.servers(w));
        let injection = inject::proxy_of(version, self.control_plane, w);
        let gate = if !injection.has_proxy() {
            Some(Gate::NotInjected)
        } else if servers.as_ref().is_some_and(|s| s.http.is_empty()) {
            Some(Gate::NoHttpServer)
        } else if !version.has_sme() {
            Some(Gate::VersionWithoutSme)
        } else if !self.enabled {
            Some(Gate::Disabled)
        } else if version != MeshVersion::V2_0 && !self.envoy_filter_selects(w) {
            Some(Gate::NoEnvoyFilter)
        } else if ports.as_ref().is_some_and(|p| p.services.is_empty()) {
            Some(Gate::NoService)
        } else if ports.as_ref().is_some_and(|p| p.patched.is_empty()) {
            Some(Gate::NoHttpPort)
        } else {
            None
        };
        let order_varies = Phase::ALL
            .into_iter()
            .filter(|p| gate.is_none() && selected.varies[*p as usize])
            .collect();
        let (filters, unapplied) = match gate {
            None => (builtins::anchor_walk(version, base, &selected), Vec::new()),
            // No proxy, or no HTTP connection manager: no HTTP filters at all.
            Some(Gate::NotInjected | Gate::NoHttpServer) => {
                (Vec::new(), selected.all().cloned().collect())
            }
            Some(_) => (base, selected.all().cloned().collect()),
        };
        WorkloadChain {
            workload: index,
            namespace: w.meta.namespace.clone(),
            name: w.meta.name.clone(),
            kind: w.meta.kind.clone(),
            proxy: w.proxy,
            listener: match w.proxy {
                ProxyType::Sidecar => Listener::Inbound,
                ProxyType::Gateway => Listener::Gateway,
            },
            version,
            filters: builtins::apply_telemetry(version, filters, self.telemetry),
            ports,
            servers,
            injection,
            gate,
            unapplied,
            skipped: selected.skipped,
            order_varies,
            custom_deny_all: if version == MeshVersion::V2_0 {
                None
            } else {
                sec.custom_deny_all.clone()
            },
            port: None,
            wasm_attached: Vec::new(),
            wasm_left_off: Vec::new(),
            network: Vec::new(),
        }
    }

    /// Whether a CUSTOM provider of `w` builds a TCP ext_authz (`envoyExtAuthzGrpc`).
    fn custom_tcp(&self, w: &Workload) -> bool {
        let Some(cp) = self.control_plane else {
            return false;
        };
        self.applying(&self.authz, &w.meta.namespace, &w.labels)
            .filter(|(a, _)| *a == AuthzAction::Custom)
            .any(|(_, name)| {
                cp.extension_providers
                    .iter()
                    .any(|p| p.name == name && p.kind.as_deref() == Some("envoyExtAuthzGrpc"))
            })
    }

    /// The ports NETWORK plugins' `match` sees on the TCP filter chains of a class: inbound,
    /// the *Service* port of each non-HTTP port (`buildInboundNetworkFilters` passes
    /// `fcc.port.Port`, where HTTP chains pass the targetPort) and the passthrough chain (0);
    /// outbound, the non-HTTP service ports; gateway, the TCP/TLS server ports after the
    /// Service port → targetPort translation.
    fn tcp_ports(&self, w: &Workload, listener: Listener) -> Vec<i64> {
        let mut out: Vec<i64> = match listener {
            Listener::Inbound => {
                let mut v: Vec<i64> = selecting(&self.services, w)
                    .flat_map(|s| s.ports.iter())
                    .filter(|p| {
                        !p.protocol.eq_ignore_ascii_case("udp")
                            && !p.protocol.eq_ignore_ascii_case("sctp")
                            && !port_info(p, self.inbound_sniffing).http
                    })
                    .map(|p| p.port)
                    .collect();
                v.push(0);
                v
            }
            Listener::Outbound => self.outbound_tcp_ports.clone(),
            Listener::Gateway => self.gateway_server_ports(w, false),
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The network filters of one listener class (Istio 1.20+, only when a NETWORK plugin
    /// attaches): one stack per kind of filter chain the class has, per port where `match`
    /// decides.
    fn net_stacks(
        &self,
        w: &Workload,
        listener: Listener,
        sec: &Security,
        attached: &[usize],
    ) -> Vec<NetStack> {
        use wasm::Terminal;
        if self.istio.map(wasm::minor) < Some(20)
            || !attached.iter().any(|&i| self.wasm.is_network(i))
        {
            return Vec::new();
        }
        let class = listener.class();
        let dependent = self.wasm.port_dependent(attached, true);
        let custom_tcp = self.custom_tcp(w);
        let mut out = Vec::new();
        for terminal in [Terminal::TcpProxy, Terminal::Hcm] {
            let ports = match terminal {
                Terminal::TcpProxy => self.tcp_ports(w, listener),
                Terminal::Hcm => self.class_ports(w, listener),
            };
            let Some(&first) = ports.first() else {
                continue;
            };
            let on = wasm::NetBuiltins {
                mx: match (listener, terminal) {
                    (Listener::Inbound, _) => true,
                    (Listener::Gateway, Terminal::TcpProxy) => sec.istio_mutual_gateway,
                    _ => false,
                },
                stats: self.telemetry.stats,
                custom_tcp,
            };
            let build = |port: Option<i64>, b: Buckets| NetStack {
                terminal,
                port,
                left_off: b.left_off.clone(),
                filters: wasm::network_layout(terminal, class, sec, on, b),
            };
            if !dependent {
                out.push(build(None, self.wasm.net_buckets(attached, class, first)));
                continue;
            }
            let per: Vec<(i64, Buckets)> = ports
                .iter()
                .map(|&p| (p, self.wasm.net_buckets(attached, class, p)))
                .collect();
            if per.iter().all(|(_, b)| b.phases == per[0].1.phases) {
                let b = per.into_iter().next().map(|(_, b)| b).unwrap_or_default();
                out.push(build(None, b));
            } else {
                out.extend(per.into_iter().map(|(p, b)| build(Some(p), b)));
            }
        }
        out
    }
}

/// The effective HTTP filter chain of every in-mesh workload, in `mesh.workloads` order.
pub fn build_chains(mesh: &Mesh, defaults: &ExtensionDefaults) -> Vec<WorkloadChain> {
    let ctx = Context::new(mesh, defaults);
    mesh.workloads
        .par_iter()
        .enumerate()
        .filter(|(_, w)| ctx.in_scope(w))
        .flat_map_iter(|(i, w)| ctx.chains(i, w))
        .collect()
}

/// Every SME resolved (effective phase, priority, digest, skip reason), in model order.
pub fn resolve_extensions(mesh: &Mesh, defaults: &ExtensionDefaults) -> Vec<ExtInfo> {
    let root = mesh.control_plane_namespace().unwrap_or(DEFAULT_ROOT);
    mesh.extensions
        .iter()
        .enumerate()
        .map(|(i, e)| select::resolve(i, e, mesh.version, root, defaults))
        .collect()
}
