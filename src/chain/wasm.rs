//! WasmPlugins (`extensions.istio.io/v1alpha1`) on the chains istiod builds, Istio 1.12 →
//! current (reference §5.2–§5.5, §7.3). docs/fidelity.md ("Chain") names the upstream
//! functions each step follows.
//!
//! - [`WasmIndex`]: every WasmPlugin resolved once (phase, effective priority, filter name) and
//!   ordered as `initWasmPlugins` orders them (creation time, then the version's tie-break),
//!   grouped by namespace.
//! - [`WasmIndex::buckets`]: the plugins of one proxy, listener class and port, by phase,
//!   as `WasmPlugins` / `WasmPluginsByListenerInfo` return them.
//! - [`walk_1_12`]: Istio 1.12's `injectExtensions` walk over the plugin-built filters;
//!   [`fixed_layout`]: the 1.14+ `buildHTTPConnectionManager` layout.

use super::builtins::{self, Security};
use super::{Filter, Origin};
use crate::model::index::SelectorIndex;
use crate::model::{AuthzAction, IstioVersion, WasmPlugin, Workload};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// The phases of `extensions.istio.io/v1alpha1` `PluginPhase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WasmPhase {
    Authn,
    Authz,
    Stats,
    Unspecified,
}

impl WasmPhase {
    pub const ALL: [WasmPhase; 4] = [
        WasmPhase::Authn,
        WasmPhase::Authz,
        WasmPhase::Stats,
        WasmPhase::Unspecified,
    ];

    /// The enum values the CRD accepts; absent is `UNSPECIFIED_PHASE`.
    pub fn parse(s: Option<&str>) -> Option<WasmPhase> {
        match s {
            None | Some("UNSPECIFIED_PHASE") => Some(WasmPhase::Unspecified),
            Some("AUTHN") => Some(WasmPhase::Authn),
            Some("AUTHZ") => Some(WasmPhase::Authz),
            Some("STATS") => Some(WasmPhase::Stats),
            Some(_) => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WasmPhase::Authn => "AUTHN",
            WasmPhase::Authz => "AUTHZ",
            WasmPhase::Stats => "STATS",
            WasmPhase::Unspecified => "UNSPECIFIED_PHASE",
        }
    }
}

impl fmt::Display for WasmPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A listener class of `WasmPluginListenerInfo` (`pilot/pkg/networking` `ListenerClass`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    SidecarInbound,
    SidecarOutbound,
    Gateway,
}

impl Class {
    /// `workloadModeForListenerClass`: inbound is the SERVER side, outbound and gateways
    /// the CLIENT side (so `mode: SERVER` never reaches a gateway).
    pub fn mode(self) -> &'static str {
        match self {
            Class::SidecarInbound => "SERVER",
            Class::SidecarOutbound | Class::Gateway => "CLIENT",
        }
    }
}

/// One WasmPlugin as istiod sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WasmInfo {
    /// Index into `Mesh::wasm_plugins`.
    pub index: usize,
    pub namespace: String,
    pub name: String,
    pub phase: WasmPhase,
    /// `spec.priority` as written.
    pub priority: Option<i64>,
    /// What the sort compares: the priority, or MinInt64 (≤1.18) / MinInt32 (≥1.19) unset.
    pub effective_priority: i64,
    /// The HTTP filter name the version emits.
    pub filter_name: String,
    pub url: String,
    /// Position in `initWasmPlugins`' creation-time order (0 = first).
    pub order: usize,
    /// `type: NETWORK` on Istio 1.20+: a network filter (`PopAppendNetwork`), never an HTTP one.
    pub network: bool,
}

impl WasmInfo {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The Gateway API label istiod reads (`constants.GatewayNameLabel`).
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// The Istio release whose WasmPlugin behaviour the mesh has: the control plane's,
/// `--istio-version`'s, or the one the mesh version is built on; `None` before 1.12 (no
/// WasmPlugin) or when unknown.
pub fn mesh_istio(mesh: &crate::model::Mesh) -> Option<IstioVersion> {
    mesh.istio
        .or(mesh.version.istio())
        .filter(|v| (v.major, v.minor) >= (1, 12))
}

/// The minor release (`u8::MAX` for a 2.x that does not exist yet).
pub fn minor(v: IstioVersion) -> u8 {
    if v.major > 1 {
        u8::MAX
    } else {
        v.minor
    }
}

/// The HTTP filter name of a WasmPlugin (`convertToWasmPluginWrapper`): `<ns>.<name>`;
/// 1.21–1.25 prefix `extenstions.istio.io/wasmplugin/` (sic); 1.26 fixes the spelling.
pub fn filter_name(istio: IstioVersion, ns: &str, name: &str) -> String {
    match minor(istio) {
        ..=20 => format!("{ns}.{name}"),
        21..=25 => format!("extenstions.istio.io/wasmplugin/{ns}.{name}"),
        _ => format!("extensions.istio.io/wasmplugin/{ns}.{name}"),
    }
}

/// Whether the version's CRD keeps `spec.match` (1.16+; older API servers prune it).
pub fn has_match(istio: IstioVersion) -> bool {
    minor(istio) >= 16
}

/// Whether the version reads `targetRef` (1.20+) / `targetRefs` (1.22+).
fn target_refs(istio: IstioVersion, p: &WasmPlugin) -> Vec<&crate::model::PolicyTargetRef> {
    let m = minor(istio);
    p.target_refs
        .iter()
        .filter(|r| {
            if r.pointer == "/spec/targetRef" {
                m >= 20
            } else {
                m >= 22
            }
        })
        .collect()
}

/// How a plugin relates to a workload (`getPolicyMatcher`, release-1.20+ `policyattachment.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// The selector (or its absence) selects the workload.
    Selector,
    /// A targetRef names the workload's Gateway API Gateway.
    Direct,
    /// The selector or targetRef does not select it.
    No,
    /// targetRef(s) on a workload that is not a Gateway API gateway: ignored entirely.
    IgnoredTargetRef,
}

/// Whether WasmPlugin `p` attaches to `w` on Istio `istio`.
pub fn attach(istio: IstioVersion, p: &WasmPlugin, w: &Workload) -> Attach {
    let refs = target_refs(istio, p);
    if !refs.is_empty() {
        let Some(gw) = w.labels.get(GATEWAY_NAME_LABEL) else {
            return Attach::IgnoredTargetRef;
        };
        let hit = refs.iter().any(|r| {
            r.group.as_deref() == Some("gateway.networking.k8s.io")
                && r.kind.as_deref() == Some("Gateway")
                && r.name.as_deref() == Some(gw.as_str())
                && r.namespace
                    .as_deref()
                    .is_none_or(|n| n.is_empty() || n == w.meta.namespace)
        });
        return if hit { Attach::Direct } else { Attach::No };
    }
    match &p.selector {
        Some(sel) if !crate::model::selector_matches(sel, &w.labels) => Attach::No,
        _ => Attach::Selector,
    }
}

/// `matchMode`: UNDEFINED and CLIENT_AND_SERVER match every class.
fn mode_matches(m: &crate::model::TrafficSelector, class: Class) -> bool {
    match m.mode.as_deref() {
        None | Some("UNDEFINED") | Some("CLIENT_AND_SERVER") => true,
        Some(x) => x == class.mode(),
    }
}

/// `matchTrafficSelectors`: empty = every listener; otherwise an entry whose mode and ports
/// both match. `port` 0 = a listener without a port (inbound passthrough).
pub fn matches(istio: IstioVersion, p: &WasmPlugin, class: Class, port: i64) -> bool {
    if !has_match(istio) || p.matches.is_empty() {
        return true;
    }
    p.matches
        .iter()
        .any(|m| mode_matches(m, class) && (m.ports.is_empty() || m.ports.contains(&port)))
}

/// Whether a plugin's `match` depends on the port (some entry lists ports).
pub fn port_dependent(istio: IstioVersion, p: &WasmPlugin) -> bool {
    has_match(istio) && p.matches.iter().any(|m| !m.ports.is_empty())
}

/// The OSSM 2.3/2.4 istiod flag `APPLY_WASM_PLUGINS_TO_INBOUND_ONLY` (maistra/istio
/// `pilot/pkg/features/pilot.go`), set through the SMCP's
/// `spec.runtime.components.pilot.container.env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOnly {
    Off,
    /// maistra-2.3 `buildHTTPConnectionManager`: no WasmPlugin on sidecar outbound.
    AllOutbound,
    /// maistra-2.4 `MatchListener`: no WasmPlugin without `match` on sidecar outbound.
    OutboundWithoutMatch,
}

/// Go's `strconv.ParseBool` as `env.RegisterBoolVar` reads it (invalid = the default, false).
pub fn parse_go_bool(s: &str) -> bool {
    matches!(s, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// Every WasmPlugin in `initWasmPlugins` order, grouped by namespace.
pub struct WasmIndex<'m> {
    istio: IstioVersion,
    plugins: &'m [WasmPlugin],
    /// Resolved plugins (`None`: a phase the CRD rejects).
    infos: Vec<Option<Arc<WasmInfo>>>,
    /// Per namespace: plugins with a selector by selector (values: model indexes), and the
    /// ones with targetRefs, both in creation order.
    by_ns: HashMap<&'m str, (SelectorIndex<'m, usize>, Vec<usize>)>,
    pub inbound_only: InboundOnly,
}

impl<'m> WasmIndex<'m> {
    pub fn new(istio: IstioVersion, plugins: &'m [WasmPlugin], inbound_only: InboundOnly) -> Self {
        let m = minor(istio);
        let mut order: Vec<usize> = (0..plugins.len()).collect();
        // `sortConfigByCreationTime`: oldest first (a plugin without a timestamp is not created
        // yet, so newer than any that has one); ties by "name.namespace" up to 1.22, by name
        // then namespace from 1.23 (`cmp.Compare`).
        order.sort_by(|&a, &b| {
            let (pa, pb) = (&plugins[a].meta, &plugins[b].meta);
            let ts = |m: &crate::model::Meta| {
                (m.creation_timestamp.is_none(), m.creation_timestamp.clone())
            };
            ts(pa).cmp(&ts(pb)).then_with(|| {
                if m <= 22 {
                    format!("{}.{}", pa.name, pa.namespace)
                        .cmp(&format!("{}.{}", pb.name, pb.namespace))
                } else {
                    pa.name
                        .cmp(&pb.name)
                        .then_with(|| pa.namespace.cmp(&pb.namespace))
                }
            })
        });
        let mut infos: Vec<Option<Arc<WasmInfo>>> = vec![None; plugins.len()];
        let mut by_ns: HashMap<&str, (SelectorIndex<usize>, Vec<usize>)> = HashMap::new();
        let unset = if m >= 19 {
            i64::from(i32::MIN)
        } else {
            i64::MIN
        };
        for (pos, &i) in order.iter().enumerate() {
            let p = &plugins[i];
            // Before 1.20 the CRD has no `type`: the API server prunes it, so the plugin is HTTP.
            let network = m >= 20 && p.plugin_type.as_deref() == Some("NETWORK");
            let Some(phase) = WasmPhase::parse(p.phase.as_deref()) else {
                continue;
            };
            infos[i] = Some(Arc::new(WasmInfo {
                index: i,
                namespace: p.meta.namespace.clone(),
                name: p.meta.name.clone(),
                phase,
                priority: p.priority,
                effective_priority: p.priority.unwrap_or(unset),
                filter_name: filter_name(istio, &p.meta.namespace, &p.meta.name),
                url: p.url.clone().unwrap_or_default(),
                order: pos,
                network,
            }));
            let entry = by_ns.entry(p.meta.namespace.as_str()).or_default();
            if target_refs(istio, p).is_empty() {
                entry.0.push(p.selector.as_ref(), i);
            } else {
                entry.1.push(i);
            }
        }
        WasmIndex {
            istio,
            plugins,
            infos,
            by_ns,
            inbound_only,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_ns.is_empty()
    }

    /// The plugins that attach to `w` (selector or targetRef), in the order istiod scans
    /// them: root namespace then the proxy's before 1.20, the proxy's then root from 1.20
    /// (`WasmPluginsByListenerInfo`); creation order within a namespace.
    pub fn attached(&self, root: &str, w: &Workload) -> Vec<usize> {
        let ns = w.meta.namespace.as_str();
        let nss: Vec<&str> = if ns == root {
            vec![ns]
        } else if minor(self.istio) >= 20 {
            vec![ns, root]
        } else {
            vec![root, ns]
        };
        let mut out = Vec::new();
        for n in nss {
            let Some((sel, refs)) = self.by_ns.get(n) else {
                continue;
            };
            let mut hits: Vec<usize> = sel.matching(&w.labels).copied().collect();
            hits.extend(
                refs.iter()
                    .copied()
                    .filter(|&i| attach(self.istio, &self.plugins[i], w) == Attach::Direct),
            );
            hits.sort_by_key(|&i| self.infos[i].as_ref().map_or(usize::MAX, |x| x.order));
            out.extend(hits);
        }
        out
    }

    /// Whether a resolved plugin is `type: NETWORK` (1.20+).
    pub fn is_network(&self, i: usize) -> bool {
        self.infos
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|x| x.network)
    }

    /// Whether any of `attached` of the kind (`network`: NETWORK plugins, else HTTP ones)
    /// has a port-dependent `match`.
    pub fn port_dependent(&self, attached: &[usize], network: bool) -> bool {
        attached
            .iter()
            .any(|&i| self.is_network(i) == network && port_dependent(self.istio, &self.plugins[i]))
    }

    /// The HTTP plugins of one listener, by phase, each sorted by priority (descending,
    /// stable), and the attached plugins left off it with the reason (NETWORK ones among them).
    pub fn buckets(&self, attached: &[usize], class: Class, port: i64) -> Buckets {
        self.buckets_of(attached, class, port, false)
    }

    /// The NETWORK plugins of one listener's network filters (`WasmPluginsByListenerInfo`
    /// with `WasmPluginTypeNetwork`), as [`Self::buckets`]; HTTP plugins are not listed.
    pub fn net_buckets(&self, attached: &[usize], class: Class, port: i64) -> Buckets {
        self.buckets_of(attached, class, port, true)
    }

    fn buckets_of(&self, attached: &[usize], class: Class, port: i64, network: bool) -> Buckets {
        let mut b = Buckets::default();
        for &i in attached {
            if network && !self.is_network(i) {
                continue;
            }
            let p = &self.plugins[i];
            let mut off = |why: OffReason| {
                b.left_off.push(LeftOff {
                    index: i,
                    key: format!("{}/{}", p.meta.namespace, p.meta.name),
                    why,
                })
            };
            let Some(info) = &self.infos[i] else {
                off(OffReason::Phase);
                continue;
            };
            if info.network != network {
                off(OffReason::Network);
                continue;
            }
            if class == Class::SidecarOutbound
                && match self.inbound_only {
                    InboundOnly::AllOutbound => true,
                    InboundOnly::OutboundWithoutMatch => p.matches.is_empty(),
                    InboundOnly::Off => false,
                }
            {
                off(OffReason::InboundOnly);
                continue;
            }
            if !matches(self.istio, p, class, port) {
                off(if p.matches.iter().any(|m| mode_matches(m, class)) {
                    OffReason::MatchPorts(class)
                } else {
                    OffReason::MatchMode(class)
                });
                continue;
            }
            b.phases[info.phase as usize].push(info.clone());
        }
        for list in &mut b.phases {
            list.sort_by_key(|p| std::cmp::Reverse(p.effective_priority));
        }
        b
    }
}

/// Why an attached WasmPlugin is not on a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffReason {
    /// `match` selects no traffic of the class's mode.
    MatchMode(Class),
    /// `match` selects the mode, but not on this listener's ports.
    MatchPorts(Class),
    /// OSSM 2.3/2.4 `APPLY_WASM_PLUGINS_TO_INBOUND_ONLY`.
    InboundOnly,
    /// `type: NETWORK` (1.20+).
    Network,
    /// A phase the CRD rejects.
    Phase,
}

impl OffReason {
    pub fn is_match(self) -> bool {
        matches!(self, OffReason::MatchMode(_) | OffReason::MatchPorts(_))
    }

    pub fn describe(self) -> String {
        match self {
            OffReason::MatchMode(c) => format!("its match does not select {} traffic", c.mode()),
            OffReason::MatchPorts(c) => format!(
                "its match selects no {} traffic on this listener's ports",
                c.mode()
            ),
            OffReason::InboundOnly => {
                "APPLY_WASM_PLUGINS_TO_INBOUND_ONLY keeps it off sidecar outbound".into()
            }
            OffReason::Network => {
                "type NETWORK: it runs among the listener's network filters (see `network`), not the HTTP ones".into()
            }
            OffReason::Phase => "its phase is not one the CRD accepts".into(),
        }
    }
}

/// An attached WasmPlugin a listener does not get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOff {
    /// Index into `Mesh::wasm_plugins`.
    pub index: usize,
    /// `namespace/name`.
    pub key: String,
    pub why: OffReason,
}

/// WasmPlugins of one listener by phase (index = `WasmPhase as usize`), and the attached
/// ones left off (`namespace/name`, why).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub phases: [Vec<Arc<WasmInfo>>; 4],
    pub left_off: Vec<LeftOff>,
}

impl Buckets {
    fn pop(&mut self, out: &mut Vec<Filter>, phase: WasmPhase) {
        out.extend(
            std::mem::take(&mut self.phases[phase as usize])
                .into_iter()
                .map(Filter::WasmPlugin),
        );
    }

    pub fn is_empty(&self) -> bool {
        self.phases.iter().all(Vec::is_empty)
    }
}

/// Istio 1.12 (`maistra-2.2` `extension/wasmplugin.go` `injectExtensions`): the walk runs
/// over the filters the plugins built (CUSTOM, jwt, authn, rbac — everything before
/// `istio.metadata_exchange` in `base`); leftovers are appended after them, and the HCM's own
/// filters (metadata exchange, cors, fault, router) follow.
pub fn walk_1_12(base: Vec<Filter>, mut b: Buckets) -> Vec<Filter> {
    use WasmPhase::*;
    let split = base
        .iter()
        .position(|f| f.builtin_name() == Some(builtins::MX))
        .unwrap_or(base.len());
    let mut head = base;
    let tail = head.split_off(split);
    let mut out = Vec::with_capacity(head.len() + tail.len() + 8);
    for f in head {
        match f.builtin_name() {
            Some(builtins::JWT) | Some(builtins::AUTHN) => b.pop(&mut out, Authn),
            Some(builtins::RBAC) => {
                b.pop(&mut out, Authn);
                b.pop(&mut out, Authz);
            }
            Some(builtins::STATS) => {
                b.pop(&mut out, Authn);
                b.pop(&mut out, Authz);
                b.pop(&mut out, Stats);
            }
            _ => {}
        }
        out.push(f);
    }
    for p in WasmPhase::ALL {
        b.pop(&mut out, p);
    }
    out.extend(tail);
    out
}

pub const GRPC_STATS: &str = "envoy.filters.http.grpc_stats";
pub const ALPN: &str = "istio.alpn";

fn b(name: &'static str, origin: Origin) -> Filter {
    Filter::Builtin { name, origin }
}

/// Istio ≥1.14 `buildHTTPConnectionManager` (release-1.14 `listener.go`, 1.16+
/// `listener_builder.go`), before the telemetry filters (added by the caller before the
/// router): `[MX (1.16+)] CUSTOM, AUTHN, jwt/authn, AUTHZ, rbac, STATS, UNSPECIFIED,
/// [MX (1.14–1.15)], grpc_stats (1.17+, always), alpn (not inbound), fault, cors, router`.
/// Authn and authz builders return nothing for sidecar outbound. `istio_authn` carries JWT
/// only for proxies without extended JWT support (< 1.21, `SupportsEnvoyExtendedJwt`); the
/// proxies are assumed to run the control plane's release.
pub fn fixed_layout(
    istio: IstioVersion,
    class: Class,
    sec: &Security,
    mut w: Buckets,
) -> Vec<Filter> {
    use WasmPhase::*;
    let m = minor(istio);
    let mut out = Vec::with_capacity(16);
    if m >= 16 {
        out.push(b(builtins::MX, Origin::Hcm));
    }
    let secured = class != Class::SidecarOutbound;
    if secured && sec.actions.contains(&AuthzAction::Custom) {
        if sec.custom_deny_all.is_some() {
            out.push(b(builtins::RBAC, Origin::CustomDenyAll));
        } else {
            out.push(b(builtins::RBAC, Origin::Authz(AuthzAction::Custom)));
            out.push(b(builtins::EXT_AUTHZ, Origin::Authz(AuthzAction::Custom)));
        }
    }
    w.pop(&mut out, Authn);
    if secured && sec.jwt {
        out.push(b(builtins::JWT, Origin::RequestAuthentication));
        if m < 21 {
            out.push(b(builtins::AUTHN, Origin::RequestAuthentication));
        }
    }
    w.pop(&mut out, Authz);
    if secured {
        for action in [AuthzAction::Audit, AuthzAction::Deny, AuthzAction::Allow] {
            if sec.actions.contains(&action) {
                out.push(b(builtins::RBAC, Origin::Authz(action)));
            }
        }
    }
    w.pop(&mut out, Stats);
    w.pop(&mut out, Unspecified);
    if m < 16 {
        out.push(b(builtins::MX, Origin::Hcm));
    }
    if m >= 17 {
        out.push(b(GRPC_STATS, Origin::Hcm));
    }
    if class != Class::SidecarInbound {
        out.push(b(ALPN, Origin::Hcm));
    }
    out.push(b("envoy.filters.http.fault", Origin::Hcm));
    out.push(b("envoy.filters.http.cors", Origin::Hcm));
    out.push(b("envoy.filters.http.router", Origin::Hcm));
    out
}

/// Envoy's network filter names (`pkg/wellknown`).
pub const NET_RBAC: &str = "envoy.filters.network.rbac";
pub const NET_EXT_AUTHZ: &str = "envoy.filters.network.ext_authz";
pub const TCP_PROXY: &str = "envoy.filters.network.tcp_proxy";
pub const HCM: &str = "envoy.filters.network.http_connection_manager";

/// What ends a listener's network filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Terminal {
    /// TCP filter chains (`tcp_proxy`): TCP service ports, inbound passthrough, gateway TCP
    /// and TLS servers.
    TcpProxy,
    /// HTTP filter chains: the network filters before the HTTP connection manager.
    Hcm,
}

impl Terminal {
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::TcpProxy => "tcp_proxy",
            Terminal::Hcm => "http_connection_manager",
        }
    }
}

/// The built-in network filters a listener class gets besides the NETWORK plugins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetBuiltins {
    /// `istio.metadata_exchange` first (inbound; gateway TCP servers with ISTIO_MUTUAL).
    pub mx: bool,
    /// `istio.stats` before `tcp_proxy` (telemetry with Prometheus stats).
    pub stats: bool,
    /// A CUSTOM provider with a TCP ext_authz (`envoyExtAuthzGrpc`); HTTP providers build
    /// nothing on TCP chains (`buildTCP`).
    pub custom_tcp: bool,
}

/// The network filters of one listener, Istio 1.20+ (the layout is the same through 1.28):
///
/// - TCP chains (`buildCompleteNetworkFilters`, reached from `buildInboundNetworkFilters` and
///   `buildOutboundNetworkFilters`): `[MX] [CUSTOM rbac, ext_authz] AUTHN AUTHZ [rbac per
///   AUDIT/DENY/ALLOW] STATS UNSPECIFIED [istio.stats] tcp_proxy`; authorization only where
///   policies apply (not sidecar outbound).
/// - HTTP chains (`buildInboundNetworkFiltersForHTTP`, the outbound `buildSidecarOutboundListener`
///   loop, gateway `buildGatewayTCPBasedFilterChains`): `[MX inbound] AUTHN AUTHZ STATS
///   UNSPECIFIED http_connection_manager` — no TCP RBAC or stats there.
pub fn network_layout(
    terminal: Terminal,
    class: Class,
    sec: &Security,
    on: NetBuiltins,
    mut w: Buckets,
) -> Vec<Filter> {
    use WasmPhase::*;
    let mut out = Vec::with_capacity(10);
    if on.mx {
        out.push(b(builtins::MX, Origin::Hcm));
    }
    let tcp = terminal == Terminal::TcpProxy;
    let secured = tcp && class != Class::SidecarOutbound;
    if secured && sec.actions.contains(&AuthzAction::Custom) {
        if sec.custom_deny_all.is_some() {
            out.push(b(NET_RBAC, Origin::CustomDenyAll));
        } else if on.custom_tcp {
            out.push(b(NET_RBAC, Origin::Authz(AuthzAction::Custom)));
            out.push(b(NET_EXT_AUTHZ, Origin::Authz(AuthzAction::Custom)));
        }
    }
    w.pop(&mut out, Authn);
    w.pop(&mut out, Authz);
    if secured {
        for action in [AuthzAction::Audit, AuthzAction::Deny, AuthzAction::Allow] {
            if sec.actions.contains(&action) {
                out.push(b(NET_RBAC, Origin::Authz(action)));
            }
        }
    }
    w.pop(&mut out, Stats);
    w.pop(&mut out, Unspecified);
    if tcp {
        if on.stats {
            out.push(b(builtins::STATS, Origin::Telemetry));
        }
        out.push(b(TCP_PROXY, Origin::Hcm));
    } else {
        out.push(b(HCM, Origin::Hcm));
    }
    out
}
