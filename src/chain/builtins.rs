//! The HTTP filters istiod puts on a chain before the SME patch (reference §3.6), the anchor
//! walk that places SMEs among them (§3.5), and the telemetry EnvoyFilters applied after it.

use super::select::{Phase, Selected};
use super::{Filter, Origin};
use crate::model::{AuthzAction, ControlPlane, MeshVersion, ProxyType};

/// Filter names that differ between Envoy API generations.
struct Names {
    router: &'static str,
    cors: &'static str,
    fault: &'static str,
}

const NAMES_V2_0: Names = Names {
    router: "envoy.router",
    cors: "envoy.cors",
    fault: "envoy.fault",
};
const NAMES_V2_1: Names = Names {
    router: "envoy.filters.http.router",
    cors: "envoy.filters.http.cors",
    fault: "envoy.filters.http.fault",
};

fn names(version: MeshVersion) -> &'static Names {
    if version == MeshVersion::V2_0 {
        &NAMES_V2_0
    } else {
        &NAMES_V2_1
    }
}

pub const JWT: &str = "envoy.filters.http.jwt_authn";
pub const AUTHN: &str = "istio_authn";
pub const RBAC: &str = "envoy.filters.http.rbac";
pub const EXT_AUTHZ: &str = "envoy.filters.http.ext_authz";
pub const STATS: &str = "istio.stats";
pub const MX: &str = "istio.metadata_exchange";
pub const MIXER: &str = "mixer";
pub const STACKDRIVER: &str = "istio.stackdriver";

/// The router filter name of a version.
pub fn router(version: MeshVersion) -> &'static str {
    names(version).router
}

/// Whether `name` is the CORS or fault filter of any version (the filters an un-anchored SME
/// lands after).
pub fn is_cors_or_fault(name: &str) -> bool {
    [&NAMES_V2_0, &NAMES_V2_1]
        .iter()
        .any(|n| name == n.cors || name == n.fault)
}

/// The security resources that select one workload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Security {
    /// A RequestAuthentication selects the workload.
    pub request_authn: bool,
    /// … and at least one of them has JWT rules.
    pub jwt: bool,
    /// AuthorizationPolicy actions that apply.
    pub actions: Vec<AuthzAction>,
    /// A gateway with an ISTIO_MUTUAL server (v2.1 validates the peer in `istio_authn`).
    pub istio_mutual_gateway: bool,
    /// CUSTOM policies apply but istiod cannot build their ext_authz (several providers,
    /// unknown or invalid provider): why; one deny-all RBAC filter replaces it.
    pub custom_deny_all: Option<String>,
}

impl Security {
    fn has(&self, a: AuthzAction) -> bool {
        self.actions.contains(&a)
    }
}

/// The telemetry filters and EnvoyFilters the operator sets up for a control plane, from its
/// charts (maistra/istio-operator `resources/helm/v2.x/mesh-config/templates/telemetryv2_*.yaml`)
/// and the SMCP → Helm value conversion (`pkg/apis/maistra/conversion/telemetry.go`
/// `populateTelemetryValues`, `prometheus.go` `populatePrometheusTelemetryValues`,
/// `stackdriver.go` `populateStackDriverAddonValues`), branches maistra-2.0/2.1/2.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Telemetry {
    /// v2.0 `telemetry.type: Mixer` (or Remote): the `mixer` HTTP filter, no EnvoyFilters.
    pub mixer: bool,
    /// `telemetry.enabled && telemetry.v2.enabled` (type Istiod, the default): the charts render
    /// the metadata-exchange EnvoyFilters, without a workload selector, in the root namespace.
    /// v2.2 keeps rendering `metadata-exchange-1.6` (`telemetryv2_1.6.yaml`): its patches only
    /// match 1.6 proxies, but the EnvoyFilter still selects every proxy.
    pub v2: bool,
    /// `v2` and `telemetry.v2.prometheus.enabled` (`spec.addons.prometheus.enabled`, default
    /// true): the `stats-filter-*` EnvoyFilters add `istio.stats` before the router.
    pub stats: bool,
    /// `v2` and `telemetry.v2.stackdriver.enabled` (`spec.addons.stackdriver.telemetry.enabled`,
    /// default false): `istio.stackdriver` before the router.
    pub stackdriver: bool,
    /// Which setting turned telemetry v2 off, for messages (`None` when it is on).
    pub off_because: Option<&'static str>,
}

impl Telemetry {
    /// Telemetry v2 with the chart defaults (Prometheus on, Stackdriver off).
    pub const DEFAULT: Telemetry = Telemetry {
        mixer: false,
        v2: true,
        stats: true,
        stackdriver: false,
        off_because: None,
    };

    /// What the first control plane's settings render; the `base` template's `telemetry.type:
    /// Istiod` and `addons.prometheus.enabled: true` when unset or when there is none.
    pub fn of(version: MeshVersion, cp: Option<&ControlPlane>) -> Telemetry {
        let ty = cp
            .and_then(|c| c.telemetry_type.as_deref())
            .unwrap_or("Istiod");
        let sw = cp.map(|c| c.telemetry.clone()).unwrap_or_default();
        let (v2, mixer, off_because) = if ty.eq_ignore_ascii_case("istiod") {
            (true, false, None)
        } else if ty.eq_ignore_ascii_case("none") {
            (false, false, Some("spec.telemetry.type: None"))
        } else if ty.eq_ignore_ascii_case("mixer") {
            // Mixer telemetry exists in v2.0 only; v2.1+ reject the SMCP (strategy_v2_1.go).
            (
                false,
                version == MeshVersion::V2_0,
                Some("spec.telemetry.type: Mixer"),
            )
        } else if ty.eq_ignore_ascii_case("remote") {
            // telemetry.v1 with a remote Mixer: v2.0 proxies keep the mixer filter.
            (
                false,
                version == MeshVersion::V2_0,
                Some("spec.telemetry.type: Remote"),
            )
        } else {
            // An unknown type is rejected by the API; keep the defaults.
            (true, false, None)
        };
        Telemetry {
            mixer,
            v2,
            stats: v2 && sw.prometheus != Some(false),
            stackdriver: v2 && sw.stackdriver == Some(true),
            off_because,
        }
    }

    /// Whether the telemetry EnvoyFilters select every proxy (the v2.1/v2.2 SME gate).
    pub fn selects_every_proxy(&self) -> bool {
        self.v2
    }

    /// The telemetry EnvoyFilters that exist, by chart name (without the revision suffix).
    pub fn envoy_filters(&self, version: MeshVersion) -> Vec<String> {
        if !self.v2 {
            return Vec::new();
        }
        // Istio versions whose templates each chart renders.
        let istio: &[&str] = match (version.major, version.minor) {
            (2, 0) => &["1.4", "1.5", "1.6"],
            (2, 1) => &["1.6", "1.8", "1.9"],
            _ => &["1.6", "1.10", "1.11", "1.12"],
        };
        let mut out = Vec::new();
        for v in istio {
            // 1.10+ proxies get metadata exchange from istiod itself (features.MetadataExchange).
            if matches!(*v, "1.4" | "1.5" | "1.6" | "1.8" | "1.9") {
                out.push(format!("metadata-exchange-{v}"));
                out.push(format!("tcp-metadata-exchange-{v}"));
            }
            if self.stats {
                out.push(format!("stats-filter-{v}"));
                out.push(format!("tcp-stats-filter-{v}"));
            }
            if self.stackdriver {
                out.push(format!("stackdriver-filter-{v}"));
                out.push(format!("tcp-stackdriver-filter-{v}"));
            }
        }
        out
    }
}

fn b(name: &'static str, origin: Origin) -> Filter {
    Filter::Builtin { name, origin }
}

/// The built-in HTTP filters before the SME patch (§3.6). Not modelled: `grpc_web`/`grpc_stats`
/// (gRPC ports) and Telemetry-API filters.
pub fn builtins(
    version: MeshVersion,
    proxy: ProxyType,
    sec: &Security,
    telemetry: Telemetry,
) -> Vec<Filter> {
    let n = names(version);
    let mut out = Vec::with_capacity(10);
    let v20 = version == MeshVersion::V2_0;
    // CUSTOM exists from Istio 1.9 (v2.1): a shadow RBAC, then ext_authz, before authn.
    if !v20 && sec.has(AuthzAction::Custom) {
        // `builder.go` `buildHTTP`: without a usable provider, `getExtAuthz` fails and the
        // CUSTOM builder emits a single enforcing deny-all RBAC filter.
        if sec.custom_deny_all.is_some() {
            out.push(b(RBAC, Origin::CustomDenyAll));
        } else {
            out.push(b(RBAC, Origin::Authz(AuthzAction::Custom)));
            out.push(b(EXT_AUTHZ, Origin::Authz(AuthzAction::Custom)));
        }
    }
    if sec.jwt {
        out.push(b(JWT, Origin::RequestAuthentication));
    }
    // `policy_applier.go` `AuthNFilter`: the filter exists when peer authentication sets it
    // (v2.0/v2.1 sidecars always; v2.1 gateways for an ISTIO_MUTUAL server) or when
    // `setAuthnFilterForRequestAuthn` has JWT rules; a RequestAuthentication without
    // `jwtRules` adds nothing. v2.2 (Istio 1.12) dropped the peer part.
    let peer = match version {
        v if v >= MeshVersion::V2_2 => false,
        MeshVersion::V2_0 => proxy == ProxyType::Sidecar,
        _ => proxy == ProxyType::Sidecar || sec.istio_mutual_gateway,
    };
    if peer || sec.jwt {
        let origin = if sec.jwt {
            Origin::RequestAuthentication
        } else {
            Origin::PeerAuthn
        };
        out.push(b(AUTHN, origin));
    }
    // One RBAC filter per action, AUDIT, DENY, ALLOW (Istio's builder order); AUDIT came
    // with Istio 1.7, so v2.0 (1.6) only knows DENY and ALLOW.
    for action in [AuthzAction::Audit, AuthzAction::Deny, AuthzAction::Allow] {
        if sec.has(action) && !(v20 && action == AuthzAction::Audit) {
            out.push(b(RBAC, Origin::Authz(action)));
        }
    }
    if v20 && telemetry.mixer {
        out.push(b(MIXER, Origin::Telemetry));
    }
    if version >= MeshVersion::V2_2 {
        out.push(b(MX, Origin::Hcm));
    }
    out.push(b(n.cors, Origin::Hcm));
    out.push(b(n.fault, Origin::Hcm));
    out.push(b(n.router, Origin::Hcm));
    out
}

/// Places the selected SMEs among `base` (§3.5). Leftovers without a router are dropped.
pub fn anchor_walk(version: MeshVersion, base: Vec<Filter>, selected: &Selected) -> Vec<Filter> {
    let router = names(version).router;
    let mut popped = [false; 6];
    let mut out = Vec::with_capacity(base.len() + selected.all().count());
    let mut pop = |out: &mut Vec<Filter>, phases: &[Phase]| {
        for &p in phases {
            if !popped[p as usize] {
                popped[p as usize] = true;
                out.extend(
                    selected.buckets[p as usize]
                        .iter()
                        .cloned()
                        .map(Filter::Extension),
                );
            }
        }
    };
    use Phase::*;
    for f in base {
        let name = f.builtin_name().unwrap_or("");
        if name == JWT {
            pop(&mut out, &[PreAuthN]);
            out.push(f);
        } else if name == AUTHN {
            pop(&mut out, &[PreAuthN]);
            out.push(f);
            pop(&mut out, &[PostAuthN]);
        } else if name == RBAC {
            pop(&mut out, &[PreAuthN, PostAuthN, PreAuthZ]);
            out.push(f);
            pop(&mut out, &[PostAuthZ]);
        } else if name == STATS {
            pop(
                &mut out,
                &[PreAuthN, PostAuthN, PreAuthZ, PostAuthZ, PreStats],
            );
            out.push(f);
            pop(&mut out, &[PostStats]);
        } else if name == router {
            pop(&mut out, &Phase::ALL);
            out.push(f);
        } else {
            out.push(f);
        }
    }
    out
}

/// The telemetry EnvoyFilters, applied after the SME patch: metadata exchange first
/// (v2.0/v2.1; v2.2 has it natively), then `istio.stackdriver` and `istio.stats`, each
/// `INSERT_BEFORE` the router. The two share the anchor; istiod applies EnvoyFilters oldest
/// first, then by name, so `stackdriver-filter-*` (same chart, same second) goes first
/// and `istio.stats` ends up next to the router (approximated: creation times are not known).
pub fn apply_telemetry(
    version: MeshVersion,
    mut chain: Vec<Filter>,
    telemetry: Telemetry,
) -> Vec<Filter> {
    // No proxy or no HTTP connection manager: nothing to patch.
    if !telemetry.v2 || chain.is_empty() {
        return chain;
    }
    if version < MeshVersion::V2_2 {
        chain.insert(0, b(MX, Origin::Telemetry));
    }
    let router = names(version).router;
    for (on, name) in [
        (telemetry.stackdriver, STACKDRIVER),
        (telemetry.stats, STATS),
    ] {
        if let (true, Some(i)) = (
            on,
            chain.iter().position(|f| f.builtin_name() == Some(router)),
        ) {
            chain.insert(i, b(name, Origin::Telemetry));
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The templates under `resources/helm/v2.x/mesh-config/templates/` per operator branch.
    #[test]
    fn envoy_filters_per_chart() {
        let t = Telemetry::DEFAULT;
        let v21 = t.envoy_filters(MeshVersion::V2_1);
        assert!(v21.contains(&"metadata-exchange-1.9".to_string()));
        assert!(v21.contains(&"stats-filter-1.9".to_string()));
        assert_eq!(v21.len(), 12);
        let v22 = t.envoy_filters(MeshVersion::V2_2);
        // 1.10–1.12 templates have no metadata exchange; the 1.6 one is still rendered.
        assert!(!v22.iter().any(|n| n == "metadata-exchange-1.12"));
        assert!(v22.contains(&"metadata-exchange-1.6".to_string()));
        let none = Telemetry {
            v2: false,
            stats: false,
            ..t
        };
        assert!(none.envoy_filters(MeshVersion::V2_0).is_empty());
        assert!(!none.selects_every_proxy());
    }
}
