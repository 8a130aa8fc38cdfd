//! The HTTP filters istiod puts on a chain before the SME patch (reference §3.6), the anchor
//! walk that places SMEs among them (§3.5), and the telemetry EnvoyFilters applied after it.

use super::select::{Phase, Selected};
use super::{Filter, Origin};
use crate::model::{AuthzAction, MeshVersion, ProxyType};

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

/// How telemetry is configured (`spec.telemetry.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Telemetry {
    /// Telemetry v2: the stats and metadata-exchange EnvoyFilters exist.
    V2,
    /// Mixer/Remote (v2.0 only): the `mixer` filter, no telemetry EnvoyFilters.
    Mixer,
    /// `None`: no telemetry filters at all.
    Off,
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
    if v20 && telemetry == Telemetry::Mixer {
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
/// (v2.0/v2.1; v2.2 has it natively) and `istio.stats` right before the router.
pub fn apply_telemetry(
    version: MeshVersion,
    mut chain: Vec<Filter>,
    telemetry: Telemetry,
) -> Vec<Filter> {
    if telemetry != Telemetry::V2 {
        return chain;
    }
    if version < MeshVersion::V2_2 {
        chain.insert(0, b(MX, Origin::Telemetry));
    }
    let router = names(version).router;
    if let Some(i) = chain.iter().position(|f| f.builtin_name() == Some(router)) {
        chain.insert(i, b(STATS, Origin::Telemetry));
    }
    chain
}
